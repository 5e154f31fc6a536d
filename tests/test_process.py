"""The process layer: what a user reads when a tool outlives its time."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gatekeeper import process
from gatekeeper.errors import ToolTimeout

#: a probe's source, as the checkers pass theirs with ``-c``: its text is no name for it
PROGRAM = '"""A probe whose docstring runs for lines."""\nimport time\n\ntime.sleep(30)\n'


def test_a_timed_out_program_is_named_by_its_interpreter_not_by_its_source() -> None:
    with pytest.raises(ToolTimeout) as timed_out:
        process.run([sys.executable, "-I", "-c", PROGRAM, '{"mode": "analyse"}'], timeout=0.5)
    message = str(timed_out.value)
    assert message == f"{sys.executable} -I -c did not finish within 0s and was killed"
    with pytest.raises(ToolTimeout) as timed_out:
        process.run([sys.executable, "-c", PROGRAM], timeout=0.5)
    assert str(timed_out.value) == f"{sys.executable} -c <program> did not finish within 0s and was killed"
    assert "docstring" not in str(timed_out.value)


def test_what_runs_once_a_tool_has_started_sees_it_running_and_a_failure_there_leaves_nothing_behind() -> None:
    """``on_start`` (a check starting its probe beside its tests) runs while the tool runs; when it
    raises, the tool is killed and reaped before the error reaches the caller."""
    seen: list[subprocess.Popen[bytes]] = []

    def running() -> None:
        (proc,) = process._LIVE
        assert proc.poll() is None  # started, not finished
        seen.append(proc)

    done = process.run([sys.executable, "-c", "import time; time.sleep(0.5); print('ran')"], timeout=30, on_start=running)
    assert done.stdout.strip() == "ran" and len(seen) == 1

    def fails() -> None:
        seen[:] = list(process._LIVE)
        raise RuntimeError("the probe could not start")

    with pytest.raises(RuntimeError, match="the probe could not start"):
        process.run([sys.executable, "-c", PROGRAM], timeout=30, on_start=fails)
    (proc,) = seen
    assert proc.returncode == -9 and proc not in process._LIVE  # killed with its group and reaped
