"""A relative entry of PATH (``PATH=bin:$PATH``, ``.venv/bin``, an empty entry) is never searched:
it would be looked up from the folder a tool runs in, the checkout, and run the checkout's own
``git`` (or any tool) with the job's rights. gatekeeper warns, looks programs up in PATH's absolute
folders alone, and gives its tools PATH without the relative entries."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from gatekeeper import process
from gatekeeper.errors import ToolMissing
from tests.helpers.cli import run_gatekeeper
from tests.helpers.projects import git_init, only, write

#: the checkout's own git: notes that it ran, then does what git does (so a run that used it still works)
PLANTED = '#!/bin/sh\necho "$0 $*" >> "$PLANTED_LOG"\nexec {git} "$@"\n'


def _project(root: Path) -> Path:
    git = shutil.which("git")
    assert git is not None
    policy = only(extra="[checks.lint]\nenabled = true\n")
    write(root, {"app.py": "import os\n", "gatekeeper.toml": policy, ".gitignore": "gatekeeper-reports/\n"})
    for folder in ("bin", ".venv/bin"):
        write(root, {f"{folder}/git": PLANTED.format(git=git)})
        (root / folder / "git").chmod(0o755)
    git_init(root)
    return root


@pytest.mark.parametrize(("entry", "inside"), [("bin", True), (".venv/bin", False), ("", True)])
def test_the_checkouts_program_never_runs_through_a_relative_path_entry(tmp_path: Path, entry: str, inside: bool) -> None:
    root = _project(tmp_path / "project")
    log = tmp_path / "planted.log"
    path = f"{entry}{os.pathsep}{os.environ['PATH']}"
    if entry == "":  # an empty entry is the current folder: the planted git sits in the root itself
        write(root, {"git": PLANTED.format(git=shutil.which("git"))})
        (root / "git").chmod(0o755)
    where = root if inside else tmp_path  # run in the checkout, or from outside it (the tools still run in it)
    done = run_gatekeeper(["check", str(root)], where, {"PATH": path, "PLANTED_LOG": str(log)})
    assert done.returncode == 1, done.stdout + done.stderr  # ruff's F401 on app.py: the check ran
    assert not log.exists(), log.read_text()
    shown = repr(entry) if entry else "'' (the current folder)"
    assert f"gatekeeper: warning: PATH holds relative entries ({shown}): ignored." in done.stderr
    # the advice names no folder of the checkout, whose absolute entries are not searched either
    assert "absolute folders outside the checkout" in done.stderr and "$PWD" not in done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert report["checkout"]["compared"] is True  # git answered: the installed one


def test_a_program_found_only_through_a_relative_entry_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "project", {"tools/acme-lint": "#!/bin/sh\ntouch ran\n"})
    (root / "tools" / "acme-lint").chmod(0o755)
    monkeypatch.setenv("PATH", f"tools{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(root)
    with pytest.raises(ToolMissing, match="acme-lint is not installed or not on PATH"):
        process.run(["acme-lint"], timeout=30, cwd=root)
    # the child's PATH holds no relative entry either: a tool that looks a program up finds none there
    done = process.run(["sh", "-c", 'echo "$PATH"'], timeout=30, cwd=root)
    assert "tools" not in done.stdout.strip().split(os.pathsep)
    assert not (root / "ran").exists()


@pytest.mark.parametrize("entry", ["bin", "sub/../bin"])
def test_the_checkouts_program_never_runs_through_an_absolute_path_entry_inside_it(tmp_path: Path, entry: str) -> None:
    """A CI step that puts the workspace's ``bin/`` on PATH (``$PWD/bin``, absolute) had the pull
    request's ``bin/git`` run for each of the snapshot's and the comparison's git calls."""
    root = _project(tmp_path / "project")
    (root / "sub").mkdir()
    log = tmp_path / "planted.log"
    path = f"{root / entry}{os.pathsep}{os.environ['PATH']}"
    done = run_gatekeeper(["check", str(root)], tmp_path, {"PATH": path, "PLANTED_LOG": str(log)})
    assert done.returncode == 1, done.stdout + done.stderr  # ruff's F401 on app.py: the check ran
    assert not log.exists(), log.read_text()
    assert f"gatekeeper: warning: PATH holds folders inside the checkout ('{root / entry}')" in done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert report["checkout"]["compared"] is True
    # a folder of the checkout judged alone: the git work tree holding it is the checkout all the same
    log.unlink(missing_ok=True)
    done = run_gatekeeper(["check", str(root / "sub")], tmp_path, {"PATH": path, "PLANTED_LOG": str(log)})
    assert not log.exists(), log.read_text()
