"""``runmain``: a module run through it behaves as under ``python -m``: the same arguments, input,
output and exit status, its exit handlers run; only the interpreter's teardown is left out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper import runmain

TOOL = """\
import atexit, json, sys

def goodbye():
    with open(sys.argv[1], "a") as fh:
        fh.write("exit handler ran\\n")

atexit.register(goodbye)
data = sys.stdin.read()
print(json.dumps({"argv0": sys.argv[0], "args": sys.argv[1:], "stdin": data, "name": __name__}))
sys.stderr.write("a warning\\n")
if "--fail" in sys.argv:
    raise SystemExit(3)
if "--message" in sys.argv:
    raise SystemExit("it went wrong")
if "--crash" in sys.argv:
    raise RuntimeError("a bug")
"""


def _run(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # not -I here: the tool module lives in tmp_path, on PYTHONPATH (the runner itself is the same either way)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(args, input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)


@pytest.fixture
def tool(tmp_path: Path) -> Path:
    package = tmp_path / "fakecli"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(TOOL)
    return package


def _through_runner(module: str, *args: str) -> list[str]:
    command = runmain.command([sys.executable, "-I", "-m", module, *args])
    assert command[:3] == [sys.executable, "-I", "-c"] and command[4:] == [module, *args]
    return [sys.executable, *command[2:]]  # without -I: the test's module is found on PYTHONPATH


@pytest.mark.parametrize("flag", ["", "--fail", "--message", "--crash"])
def test_a_module_runs_as_under_python_m(tool: Path, tmp_path: Path, flag: str) -> None:
    log_m, log_r = tmp_path / "m.log", tmp_path / "r.log"
    extra = [flag] if flag else []
    by_m = _run([sys.executable, "-m", "fakecli", str(log_m), "-o", "-", *extra], tmp_path, stdin="input text")
    by_runner = _run(_through_runner("fakecli", str(log_r), "-o", "-", *extra), tmp_path, stdin="input text")
    assert by_runner.returncode == by_m.returncode == {"": 0, "--fail": 3, "--message": 1, "--crash": 1}[flag]
    assert by_runner.stdout.replace(str(log_r), "LOG") == by_m.stdout.replace(str(log_m), "LOG")
    assert '"argv0": "' + str(tool / "__main__.py") in by_runner.stdout and '"name": "__main__"' in by_runner.stdout
    assert by_runner.stderr.startswith("a warning\n") and by_m.stderr.startswith("a warning\n")
    if flag == "--message":
        assert by_runner.stderr.endswith("it went wrong\n") and by_m.stderr.endswith("it went wrong\n")
    if flag == "--crash":
        assert "RuntimeError: a bug" in by_runner.stderr and "RuntimeError: a bug" in by_m.stderr
    assert log_r.read_text() == log_m.read_text() == "exit handler ran\n"


def test_a_missing_module_is_said_as_python_m_says_it(tmp_path: Path) -> None:
    done = _run(_through_runner("no_such_tool_here"), tmp_path)
    assert done.returncode == 1 and "No module named no_such_tool_here" in done.stderr  # what process.require_module looks for


def test_only_a_python_m_command_is_rewritten() -> None:
    assert runmain.command(["ruff", "check", "."]) == ["ruff", "check", "."]
    assert runmain.command([sys.executable, "-I", "script.py"]) == [sys.executable, "-I", "script.py"]


def test_code_given_to_run_before_the_module_runs_first_in_its_process(tmp_path: Path) -> None:
    (tmp_path / "fake_tool.py").write_text(TOOL, encoding="utf-8")
    marker = tmp_path / "marker"
    before = f"import json as _j; _j.dump(sys.argv, open({str(marker)!r}, 'w'))\n"
    command = runmain.command([sys.executable, "-I", "-m", "fake_tool", "x"], before)
    done = _run([sys.executable, *command[2:]], tmp_path)  # without -I: the test's module is found on PYTHONPATH
    plain = _run([sys.executable, "-m", "fake_tool", "x"], tmp_path)
    assert done.returncode == plain.returncode == 0 and done.stdout == plain.stdout
    assert marker.read_text(encoding="utf-8").startswith('["-c", "fake_tool", "x"]')  # before the module was run
