"""``gatekeeper check`` read without typer asks the gate for exactly what typer's command line
asks, and leaves every other command line to typer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import checkline, gate
from tests.helpers.cli import invoke_gatekeeper
from tests.helpers.projects import git_init, write

PLAIN = [
    [],
    ["proj"],
    ["proj", "--no-audit", "--no-cache", "--strict-waivers"],
    ["--only", "lint,types", "--only=secrets", "--skip", "coverage", "--format", "json", "--format=sarif,html"],
    ["--policy", "strict.toml", "--output-dir=out", "--baseline", "b.json", "."],
    ["--new-code-since", "origin/main", "--new-code-result", "ref.json", "--shard=2/3", "--results-out", "part.json"],
    ["--bundle", "e.zip", "--subject", "dist/*.whl", "--subject=dist/*.tar.gz", "sub dir/with space"],
    ["--only", "a=b"],  # only the first = separates option and value
]

NOT_PLAIN = [
    ["--help"],
    ["-h"],
    ["--version"],
    ["--only"],  # a value is missing
    ["--only", "--no-audit"],  # a value that looks like an option
    ["--only="],
    ["--policy", ""],
    ["a", "b"],
    [""],
    ["--no-audit=1"],
    ["--onl", "lint"],  # misspelt
    ["--", "proj"],
    ["-"],
]


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[gate.CheckRequest]:
    """The requests the gate is given (it runs nothing and passes)."""
    requests: list[gate.CheckRequest] = []

    def check(request: gate.CheckRequest, checkers: Any, options: Any) -> int:
        requests.append(request)
        return 0

    monkeypatch.setattr(gate, "check", check)
    return requests


@pytest.mark.parametrize("args", PLAIN)
def test_a_plain_command_line_asks_what_typers_asks(args: list[str], asked: list[gate.CheckRequest], tmp_path: Path) -> None:
    by_typer = invoke_gatekeeper(["check", *args], tmp_path)
    assert by_typer.returncode == 0, by_typer.stderr
    assert checkline.run_check(args) == 0
    assert len(asked) == 2 and asked[0] == asked[1]


@pytest.mark.parametrize("args", NOT_PLAIN)
def test_any_other_command_line_is_left_to_typer(args: list[str]) -> None:
    assert checkline.read_check(args) is None


def test_shell_completion_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_GATEKEEPER_COMPLETE", "bash_complete")
    assert checkline.read_check([]) is None


def test_every_option_of_typers_check_is_read_and_no_other() -> None:
    import typer.main

    from gatekeeper.cli import app

    command = typer.main.get_command(app).commands["check"]  # type: ignore[attr-defined]
    options = {opt: (p.name, bool(getattr(p, "is_flag", False)), p.multiple) for p in command.params for opt in p.opts}
    ours = {o: (name, False, False) for o, (name, _) in checkline.VALUES.items()}
    ours |= {o: (name, False, True) for o, name in checkline.LISTS.items()}
    ours |= {o: (name, True, False) for o, name in checkline.FLAGS.items()}
    ours["path"] = ("path", False, False)
    assert options == ours


def test_an_error_is_one_line_and_the_same_exit_code_either_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_typer = invoke_gatekeeper(["check", "no-such-folder"], tmp_path)
    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = checkline.run_check(["no-such-folder"])
    finally:
        os.chdir(here)
    err = capsys.readouterr().err
    assert code == by_typer.returncode == 2
    assert err == by_typer.stderr == "gatekeeper: error: project folder not found: no-such-folder\n"


@pytest.mark.slow
def test_a_check_imports_neither_typer_nor_pydantic_nor_what_it_does_not_use(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"a.py": "import os\n", "gatekeeper.toml": "[checks.lint]\nenabled = true\n"})
    git_init(root)
    probe = (
        "import sys; sys.argv = ['gatekeeper', 'check', '--only', 'lint', '--no-audit', '--format', 'json']\n"
        "from gatekeeper.entry import run\n"
        "try:\n    run()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('MODULES', code, ' '.join(sorted(sys.modules)))"
    )
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-I", "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES"))
    _, code, *modules = line.split()
    assert code == "1", done.stdout + done.stderr  # ruff's F401 blocks
    tops = {m.split(".")[0] for m in modules}
    assert not tops & {"typer", "click", "pydantic", "rich", "jinja2", "cryptography", "yaml"}
    assert "urllib.request" not in modules
    assert "packaging.markers" not in modules and "packaging.requirements" not in modules
    assert "gatekeeper.cli" not in modules and not [m for m in modules if m.startswith("gatekeeper.commands")]
    # the other checks did not run: their run paths were never imported
    others = ("coverage", "dependencies", "licenses", "sbom", "security", "types")
    prefixes = tuple(f"gatekeeper.checkers.{c}." for c in others)
    assert [m for m in modules if m.startswith(prefixes) and not m.endswith(".presentation")] == []
    assert not tops & {"license_expression", "packageurl", "defusedxml"}
    assert "packaging.utils" not in modules and "packaging.tags" not in modules  # no waiver names a package
