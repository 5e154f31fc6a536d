"""The process layer: what a user reads when a tool outlives its time."""

from __future__ import annotations

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
