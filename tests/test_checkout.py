"""The checkout is read-only to the gate: a run after which a tracked file differs is an error
(exit 3) naming the file, whichever checker's tool wrote it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekeeper import checkout
from gatekeeper.checkers.base import CheckContext
from gatekeeper.console import Console, github_annotations
from gatekeeper.findings import CheckResult, Status, Verdict
from tests.helpers.projects import write
from tests.test_engine import Fixed, run


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)


def repo(root: Path, files: Mapping[str, str]) -> Path:
    write(root, files)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    return root


class Writes(Fixed):
    """A checker whose 'tool' writes into the checkout, as ruff with ``fix = true`` did."""

    def __init__(self, name: str, edits: Mapping[str, str | None]) -> None:
        super().__init__(name)
        self.edits = edits

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        for path, text in self.edits.items():
            target = ctx.root / path
            if text is None:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        return CheckResult(name=self.name, status=Status.PASS, summary="clean")


def test_a_checker_that_rewrites_a_tracked_file_makes_the_run_an_error(tmp_path: Path, capsys: Any) -> None:
    root = repo(tmp_path, {"app.py": "import os\n", "lib.py": "x = 1\n", "gatekeeper.toml": ""})
    writer = Writes("fixer", {"app.py": "\n", "lib.py": None, "out/report.txt": "mine\n", "new_untracked.py": "y\n"})
    result = run(root, {"fixer": writer, "good": Fixed("good")})
    assert all(c.status is Status.PASS for c in result.checks)  # every check said "clean"...
    assert result.verdict is Verdict.ERROR and result.exit_code == 3  # ...but the tree was rewritten
    assert result.extra["checkout"]["changed"] == ["app.py", "lib.py"]
    assert result.to_dict()["checkout"]["compared"] is True
    Console().summary(result)
    out = capsys.readouterr().out
    assert "the run changed 2 tracked file(s) of the checkout it judged: app.py, lib.py" in out
    assert "verdict: ERROR (a tool wrote into the checkout" in out
    assert any("::error title=gatekeeper checkout::" in a and "app.py" in a for a in github_annotations(result))


def test_an_untouched_tree_passes_even_when_files_were_dirty_before_the_run(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": "import os\n", "gatekeeper.toml": "", "sub/b.py": "b\n"})
    write(root, {"app.py": "edited before the run\n"})  # the user's own uncommitted change
    os.utime(root / "sub/b.py", (1, 1))  # stat data that no longer matches the index: hashed, found equal
    result = run(root, {"good": Fixed("good")})
    assert result.verdict is Verdict.PASS and result.extra["checkout"]["changed"] == []
    assert result.extra["checkout"]["tracked_files"] == 3


def test_a_file_dirty_before_the_run_and_changed_during_it_is_caught(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": "v1\n", "gatekeeper.toml": ""})
    write(root, {"app.py": "v2, uncommitted\n"})
    result = run(root, {"w": Writes("w", {"app.py": "v3\n"})})
    assert result.extra["checkout"]["changed"] == ["app.py"] and result.exit_code == 3
    # and a file restored to the committed text during the run is a change too
    write(root, {"app.py": "v2, uncommitted\n"})
    result = run(root, {"w": Writes("w", {"app.py": "v1\n"})})
    assert result.extra["checkout"]["changed"] == ["app.py"]


def test_a_tree_git_will_not_read_is_an_error_that_says_so_and_names_no_change(tmp_path: Path, capsys: Any) -> None:
    root = repo(tmp_path, {"app.py": "x\n", "gatekeeper.toml": ""})
    (root / ".git" / "index").write_bytes(b"not an index")  # git refuses it, as it refuses a tree it does not trust
    result = run(root, {"good": Fixed("good")})
    assert all(c.status is Status.PASS for c in result.checks)
    assert result.verdict is Verdict.ERROR and result.exit_code == 3  # nothing vouches for the tree
    tree = result.to_dict()["checkout"]
    assert tree["compared"] is False and tree["changed"] == []
    assert "git ls-files failed" in tree["error"] and "index" in tree["error"]
    Console().summary(result)
    out = capsys.readouterr().out
    assert "error: the tracked files of the checkout could not be compared before and after the run: git" in out
    assert "verdict: ERROR (the checkout could not be compared" in out
    assert "changed" not in out and "wrote into the checkout" not in out
    (annotation,) = [a for a in github_annotations(result) if "gatekeeper checkout" in a]
    assert "could not be compared" in annotation and "changed" not in annotation


def test_outside_git_the_result_says_nothing_was_compared(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "x\n"})
    result = run(tmp_path, {"w": Writes("w", {"app.py": "y\n"})})
    assert result.extra["checkout"] == {
        "compared": False,
        "tracked_files": 0,
        "changed": [],
        "note": "not a git work tree: no tracked files to compare",
    }


def test_the_snapshot_is_cheap_it_hashes_only_files_git_sees_as_touched(tmp_path: Path) -> None:
    root = repo(tmp_path, {f"pkg/m{i}.py": f"x = {i}\n" for i in range(200)})
    before = checkout.snapshot(root)
    assert len(before.index) == 200 and before.dirty == {}
    write(root, {"pkg/m7.py": "changed\n"})
    assert checkout.changes(before) == ["pkg/m7.py"]
