"""The process layer: what a user reads when a tool outlives its time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

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
        (proc,) = [p for p in process._LIVE if "time.sleep(0.5)" in str(p.args)]
        assert proc.poll() is None  # started, not finished
        seen.append(proc)

    done = process.run([sys.executable, "-c", "import time; time.sleep(0.5); print('ran')"], timeout=30, on_start=running)
    assert done.stdout.strip() == "ran" and len(seen) == 1

    def fails() -> None:
        seen[:] = [p for p in process._LIVE if PROGRAM in p.args]
        raise RuntimeError("the probe could not start")

    with pytest.raises(RuntimeError, match="the probe could not start"):
        process.run([sys.executable, "-c", PROGRAM], timeout=30, on_start=fails)
    (proc,) = seen
    assert proc.returncode == -9 and proc not in process._LIVE  # killed with its group and reaped


#: a tool that reads all of its input, says so on a first line, waits for the caller to act on that
#: line (a file appears), then answers with the size of what it read
TALKER = (
    "import os, sys, time\n"
    "data = sys.stdin.buffer.read()\n"
    "sys.stdout.write(f'read {len(data)}\\n'); sys.stdout.flush()\n"
    "deadline = time.monotonic() + 20\n"
    "while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:\n"
    "    time.sleep(0.01)\n"
    "sys.stdout.write('answer ' + str(sum(data) % 251))\n"
)


def test_a_started_tools_first_line_reaches_the_caller_while_it_runs(tmp_path: Path) -> None:
    """``first_line`` is handed the tool's first line as soon as it is complete, while the tool goes
    on (here it waits for what the caller does with that line); the rest is the tool's output. An
    input far larger than a pipe holds is written while the output is read."""
    marker = tmp_path / "acted"
    data = bytes(range(256)) * 2048  # 512 KiB
    lines: list[str] = []

    def act(line: str) -> None:
        lines.append(line)
        marker.write_text("yes")

    tool = process.Started([sys.executable, "-c", TALKER, str(marker)], cwd=tmp_path, prefix="gatekeeper-test-")
    done = tool.finish(30, "the talker", data, act)
    assert lines == [f"read {len(data)}"]
    assert done.returncode == 0 and done.stdout == f"answer {sum(data) % 251}"
    assert tool._proc not in process._LIVE


def test_a_started_tool_that_says_no_first_line_in_time_is_killed(tmp_path: Path) -> None:
    marker = tmp_path / "never"
    tool = process.Started(
        [sys.executable, "-c", "import time; time.sleep(30)", str(marker)], cwd=tmp_path, prefix="gatekeeper-test-"
    )
    with pytest.raises(ToolTimeout, match="the sleeper did not finish within 0s and was killed"):
        tool.finish(0.5, "the sleeper", b"x" * 200_000, lambda line: None)
    assert tool._proc.returncode == -9 and tool._proc not in process._LIVE


#: a tool that leaves a process behind in its group (its output not the tool's pipes, so the tool's
#: end is not waited on): once the tool has ended, that process writes the file ``sys.argv[1]``
LEAVES = (
    "import os, subprocess, sys\n"
    "later = (\n"
    "    'import os, sys, time\\n'\n"
    "    'while os.getppid() == int(sys.argv[2]): time.sleep(0.01)\\n'\n"
    "    'time.sleep(0.2)\\n'\n"
    '    \'open(sys.argv[1], "w").write("written after the tool ended")\\n\'\n'
    ")\n"
    "subprocess.Popen([sys.executable, '-c', later, sys.argv[1], str(os.getpid())],\n"
    "                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print('left')\n"
)


def _never_written(path: Path) -> bool:
    """Whether ``path`` is still missing a second after the tool ended (its leftover writes at 0.2 s)."""
    time.sleep(1.0)
    return not path.exists()


def test_what_a_tool_leaves_running_in_its_group_is_killed_once_it_ends(tmp_path: Path) -> None:
    """A process a tool leaves behind (the tests of checks.coverage.run) never writes once the tool
    has ended: the checkout is compared as soon as the tests end, and it would write after that."""
    done = process.run([sys.executable, "-c", LEAVES, str(tmp_path / "ran")], timeout=30)
    assert done.stdout.strip() == "left" and _never_written(tmp_path / "ran")
    started = process.Started([sys.executable, "-c", LEAVES, str(tmp_path / "started")], cwd=tmp_path, prefix="t-")
    assert started.finish(30, "the tool").stdout.strip() == "left" and _never_written(tmp_path / "started")


#: run in a process of its own: once stopped, the process layer stays stopped for good
STOPPING = r"""
import subprocess, sys, time
from gatekeeper import process
from gatekeeper.errors import ToolError

real = subprocess.Popen

def signal_lands_now(*args, **kwargs):  # Ctrl-C arrives after the tool exists, before it is tracked
    proc = real(*args, **kwargs)
    process.kill_all(stop=True)
    return proc

subprocess.Popen = signal_lands_now
started = time.monotonic()
done = process.run(["sleep", "30"], timeout=60)
print("racing tool:", done.returncode, round(time.monotonic() - started))
subprocess.Popen = real
try:
    process.run(["sleep", "30"], timeout=60)
except ToolError as exc:
    print("later tool:", exc)
"""


def test_once_gatekeeper_is_stopping_no_tool_starts_and_one_starting_at_that_moment_is_killed() -> None:
    """After Ctrl-C or SIGTERM a check's thread may still be starting a tool: that tool must not run
    on after gatekeeper has gone (nothing would wait for it or kill it)."""
    done = subprocess.run([sys.executable, "-c", STOPPING], capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "racing tool: -9 0",  # killed at once, not left to sleep its 30 s
        "later tool: sleep was not started: gatekeeper is stopping",
    ]
