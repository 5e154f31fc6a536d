"""The checkout is read-only to the gate: a run after which a tracked file differs is an error
(exit 3) naming the file, whichever checker's tool wrote it."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import checkout
from gatekeeper.checkers.base import CheckContext
from gatekeeper.console import Console, github_annotations, tree_lines
from gatekeeper.findings import CheckResult, Status, Verdict
from tests.helpers.projects import write
from tests.test_engine import Fixed, run


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)


def vars_of(changes: checkout.Changes) -> dict[str, list[str]]:
    return {name: getattr(changes, name) for name in ("changed", "created", "removed", "rewritten")}


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
    assert "verdict: ERROR (the checkout changed during the run (a tool, or the tests the policy runs, wrote into it)" in out
    assert any("::error title=gatekeeper checkout::" in a and "app.py" in a for a in github_annotations(result))


def test_an_untouched_tree_passes_even_when_files_were_dirty_before_the_run(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": "import os\n", "gatekeeper.toml": "", "sub/b.py": "b\n"})
    write(root, {"app.py": "edited before the run\n"})  # the user's own uncommitted change
    os.utime(root / "sub/b.py", (1, 1))  # stat data that no longer matches the index: hashed, found equal
    result = run(root, {"good": Fixed("good")})
    assert result.verdict is Verdict.PASS and result.extra["checkout"]["changed"] == []
    assert result.extra["checkout"]["tracked_files"] == 3


class Touches(Fixed):
    """A checker whose 'tool' rewrites files with the bytes they had (their stat data changes)."""

    def __init__(self, name: str, paths: tuple[str, ...]) -> None:
        super().__init__(name)
        self.paths = paths

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        for path in self.paths:
            target = ctx.root / path
            target.write_bytes(target.read_bytes())
            os.utime(target, (2, 2))
        return CheckResult(name=self.name, status=Status.PASS, summary="clean")


def test_files_written_with_their_bytes_put_back_are_no_change_of_content_but_are_restored(tmp_path: Path) -> None:
    """The files git sees as touched at the end but not at the start are hashed then, beside those
    touched at the start: the same bytes are no change of content, in either set; but they were
    written during the run (a check that read them meanwhile may have read other bytes), which
    makes it an error naming them as restored."""
    root = repo(tmp_path, {"app.py": "import os\n", "lib.py": "x = 1\n", "gatekeeper.toml": ""})
    write(root, {"app.py": "edited before the run\n"})
    result = run(root, {"t": Touches("t", ("app.py", "lib.py"))})
    tree = result.extra["checkout"]
    assert tree["changed"] == [] and tree["restored"] == ["app.py", "lib.py"] and result.exit_code == 3
    result = run(root, {"t": Touches("t", ("lib.py",)), "w": Writes("w", {"app.py": "rewritten\n"})})
    tree = result.extra["checkout"]
    assert tree["changed"] == ["app.py"] and tree["restored"] == ["lib.py"] and result.exit_code == 3
    result = run(root, {"good": Fixed("good")})  # read, not written: no change
    assert result.verdict is Verdict.PASS and result.extra["checkout"]["restored"] == []


class Sanitizes(Fixed):
    """A checker whose 'tool' empties a module, as a test could while another check scans it, then
    puts its bytes and modification time back and refreshes git's index, so git's own stat check
    sees nothing."""

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        target = ctx.root / "app.py"
        original, st = target.read_bytes(), target.stat()
        target.write_bytes(b"")
        time.sleep(0.05)
        target.write_bytes(original)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        git(ctx.root, "update-index", "-q", "--refresh")
        seen = subprocess.run(["git", "diff-files", "--name-only"], cwd=ctx.root, capture_output=True, text=True, check=True)
        assert seen.stdout == ""  # git's index, refreshed, sees no change
        return CheckResult(name=self.name, status=Status.PASS, summary="clean")


def test_a_tracked_file_emptied_and_put_back_during_the_run_is_an_error(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": "import subprocess\nsubprocess.call('x', shell=True)\n", "gatekeeper.toml": ""})
    result = run(root, {"s": Sanitizes("s")})
    assert result.extra["checkout"]["changed"] == [] and result.extra["checkout"]["restored"] == ["app.py"]
    assert result.verdict is Verdict.ERROR and result.exit_code == 3
    (line,) = tree_lines(result.extra["checkout"])
    assert line.startswith("the run wrote 1 tracked file(s) of the checkout it judged and put their bytes back: app.py")


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
    assert checkout.changes(before).changed == ["pkg/m7.py"]


@pytest.mark.skipif(os.stat not in os.supports_dir_fd, reason="the platform looks each file up by its whole path")
def test_each_file_is_looked_up_from_the_roots_open_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The thousands of files of an unignored ``.venv`` are looked up from the root's open folder, not
    by their whole path each time, and give the same stat data: a file, a link (not what it leads
    to), and a file gone since it was listed (left out)."""
    root = repo(tmp_path, {"a.py": "x = 1\n", "pkg/b.py": "y = 2\n"})
    (root / "link").symlink_to("a.py")
    real = os.lstat
    asked: list[tuple[str, int | None]] = []

    def lstat(path: str, *, dir_fd: int | None = None) -> os.stat_result:
        asked.append((path, dir_fd))
        return real(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "lstat", lstat)
    found = checkout._stats(root, ["a.py", "pkg/b.py", "link", "gone.py"])
    monkeypatch.undo()
    assert found == {p: checkout._data(os.lstat(root / p)) for p in ("a.py", "pkg/b.py", "link")}
    assert found["link"] != found["a.py"]
    assert [path for path, _ in asked] == ["a.py", "pkg/b.py", "link", "gone.py"]
    assert None not in [folder for _, folder in asked]


def test_files_dirty_at_the_start_and_files_dirtied_during_the_run_are_all_compared(tmp_path: Path) -> None:
    """The files dirty at the start are hashed again beside the stat check that names those dirtied
    since, which are hashed once it has: a file of either kind that changed is named, one written
    with its bytes is only restored."""
    root = repo(tmp_path, {f"m{i}.py": f"x = {i}\n" for i in range(6)})
    write(root, {"m0.py": "mine\n", "m1.py": "mine too\n", "m2.py": "kept\n"})  # the user's uncommitted edits
    before = checkout.snapshot(root)
    assert sorted(before.dirty) == ["m0.py", "m1.py", "m2.py"]
    write(root, {"m0.py": "x = 0\n", "m3.py": "changed\n"})  # back to the committed text; newly dirty
    (root / "m1.py").unlink()
    (root / "m4.py").write_bytes((root / "m4.py").read_bytes())  # its bytes, written again
    os.utime(root / "m4.py", (2, 2))
    (root / "m2.py").write_bytes(b"kept\n")
    os.utime(root / "m2.py", (3, 3))
    now = checkout.changes(before)
    assert now.changed == ["m0.py", "m1.py", "m3.py"] and now.restored == ["m2.py", "m4.py"]


def test_the_git_commands_of_a_snapshot_and_of_a_comparison_run_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The listing, the stat check and the hashing each read the tree as it is: none waits for the
    listing (made to take 0.6 s more here, the others 0.2 s: one after another they could not overlap)."""
    root = repo(tmp_path, {"a.py": "a\n", "b.py": "b\n"})
    write(root, {"a.py": "edited\n"})
    spans: list[tuple[str, float, float]] = []
    real = checkout.process.run

    def slow(args: list[str], **kwargs: Any) -> Any:
        started = time.monotonic()
        time.sleep(0.6 if "ls-files" in args else 0.2)
        try:
            return real(args, **kwargs)
        finally:
            spans.append((args[4] + (" (attr)" if any(":(exclude,attr:" in a for a in args) else ""), started, time.monotonic()))

    monkeypatch.setattr(checkout.process, "run", slow)

    def overlapped() -> list[str]:
        (listing,) = [s for s in spans if s[0] == "ls-files"]
        assert all(s[1] < listing[2] for s in spans)  # each began while the listing ran
        names = sorted(s[0] for s in spans)
        spans.clear()
        return names

    before = checkout.snapshot(root)
    # and where git's ignore rules outside the tree lie (``info/exclude``, ``core.excludesFile``)
    # and which files git checks out re-encoded, whatever the tree holds (``.git/info/attributes``)
    names = ["config", "diff-files", "hash-object", "ls-files", "ls-files (attr)", "rev-parse"]
    assert overlapped() == names and list(before.dirty) == ["a.py"]
    write(root, {"b.py": "changed\n"})
    assert checkout.changes(before).changed == ["b.py"]
    assert overlapped() == ["diff-files", "hash-object", "hash-object", "ls-files"]  # a.py at once, then b.py


def test_a_snapshot_begun_early_is_the_tree_as_it_was_then(tmp_path: Path) -> None:
    """``begin`` reads the tree while gatekeeper starts: what changed after it is the run's change,
    its own folders are left out as a snapshot taken then would leave them, and a configuration
    file there is still compared."""
    root = repo(tmp_path, {"app.py": "v1\n", "lib.py": "x\n", "reports/README": "tracked\n"})
    write(root, {"app.py": "v2, uncommitted\n", "reports/old.html": "old\n", "reports/.coveragerc": "[run]\n"})
    checkout.begin(root)
    (_, read), *_ = checkout._EARLY
    read()  # git has read the tree
    write(root, {"lib.py": "changed after begin\n", "reports/new.html": "written by the run\n"})
    before = checkout.snapshot(root, skip=[root / "reports"])
    assert list(before.untracked) == ["reports/.coveragerc"] and list(before.dirty) == ["app.py"]
    now = checkout.changes(before)
    assert now.changed == ["lib.py"] and now.created == [] and now.rewritten == []
    write(root, {"reports/.coveragerc": "[run]\nomit = *\n"})
    assert checkout.changes(before).rewritten == ["reports/.coveragerc"]
    assert checkout.snapshot(root).index == before.index  # the early read was taken once


def test_an_early_read_of_another_folder_or_one_that_failed_is_not_used(tmp_path: Path) -> None:
    root = repo(tmp_path / "project", {"app.py": "v1\n"})
    other = repo(tmp_path / "other", {"other.py": "o\n"})
    checkout.begin(other)
    assert list(checkout.snapshot(root).index) == ["app.py"]
    later = tmp_path / "later"
    later.mkdir()
    checkout.begin(later)  # not yet a git work tree
    repo(later, {"new.py": "n\n"})
    snap = checkout.snapshot(later)
    assert snap.git and list(snap.index) == ["new.py"]
    checkout.begin(root)
    checkout.settle_early()  # the command ended before its snapshot: the read is dropped
    write(root, {"app.py": "v2\n"})
    assert list(checkout.snapshot(root).dirty) == ["app.py"]


def test_a_submodule_git_will_not_read_stops_the_snapshot_even_when_begun_early(tmp_path: Path) -> None:
    inner = repo(tmp_path / "inner", {"m.py": "m\n"})
    root = repo(tmp_path / "outer", {"app.py": "a\n"})
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "sub")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "sub")
    (root / "sub" / "m.py").write_text("m\n", encoding="utf-8")
    assert sorted(checkout.snapshot(root).modules) == ["sub"]
    (root / ".git" / "modules" / "sub" / "index").write_bytes(b"not an index")
    checkout.begin(root)
    with pytest.raises(checkout.ToolError, match="git ls-files failed"):
        checkout.snapshot(root)


def test_a_tracked_file_made_executable_or_turned_into_a_link_is_a_change(tmp_path: Path) -> None:
    root = repo(tmp_path, {"run.sh": "echo hi\n", "target": "x\n", "link_me": "target", "gatekeeper.toml": ""})

    class Modes(Fixed):
        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            os.chmod(ctx.root / "run.sh", 0o744)  # same bytes, another mode (git reads the owner's x bit)
            (ctx.root / "link_me").unlink()
            os.symlink("target", ctx.root / "link_me")  # a link whose target's name is the file's old text
            return CheckResult(name=self.name, status=Status.PASS, summary="clean")

    result = run(root, {"modes": Modes("modes")})
    assert result.verdict is Verdict.ERROR and result.exit_code == 3
    assert result.extra["checkout"]["changed"] == ["link_me", "run.sh"]
    # a mode changed before the run and kept as it was is no change
    result = run(root, {"good": Fixed("good")})
    assert result.verdict is Verdict.PASS and result.extra["checkout"]["changed"] == []


def test_an_untracked_file_the_run_creates_or_removes_is_an_error_naming_it(tmp_path: Path, capsys: Any) -> None:
    root = repo(tmp_path, {"app.py": "x = 1\n", ".gitignore": "*.log\n", "gatekeeper.toml": ""})
    write(root, {"notes.txt": "the user's own untracked file\n", "scratch.py": "y\n", "local.cfg": "[x]\n"})
    edits: dict[str, str | None] = {
        "conftest.py": "import os\n",  # new, untracked, not ignored: the next tool would run it
        "scratch.py": None,  # an untracked file the run removed
        "local.cfg": "[x]\nnarrow = yes\n",  # an untracked file the run rewrote
        "tool.log": "ignored by the project\n",
        "pkg/__pycache__/app.cpython-311.pyc": "bytecode\n",  # Python's cache beside an imported module
        "out/report.txt": "gatekeeper's own output folder\n",
    }
    result = run(root, {"writer": Writes("writer", edits)})
    tree = result.to_dict()["checkout"]
    assert result.verdict is Verdict.ERROR and result.exit_code == 3
    assert tree["changed"] == [] and tree["created"] == ["conftest.py"] and tree["removed"] == ["scratch.py"]
    assert tree["rewritten"] == ["local.cfg"]
    assert tree["untracked_files"] == 3  # notes.txt, scratch.py and local.cfg before the run
    Console().summary(result)
    out = capsys.readouterr().out
    assert "error: the run created 1 untracked file(s) that git does not ignore in the checkout it judged: conftest.py" in out
    # each kind of change a test run can make to an untracked file says what to do about it
    advice = "(if the tests {} them on purpose, list them in .gitignore)"
    assert f"error: the run removed 1 untracked file(s) from the checkout it judged: scratch.py {advice.format('remove')}" in out
    rewrote = "error: the run rewrote 1 untracked file(s) that git does not ignore in the checkout it judged: local.cfg"
    assert f"{rewrote} {advice.format('write')}" in out
    assert "verdict: ERROR (the checkout changed during the run (a tool, or the tests the policy runs, wrote into it)" in out
    annotations = [a for a in github_annotations(result) if "gatekeeper checkout" in a]
    assert len(annotations) == 3 and "conftest.py" in annotations[0] and "local.cfg" in annotations[2]


def test_untracked_files_present_before_the_run_and_left_alone_pass(tmp_path: Path) -> None:
    root = repo(tmp_path, {"app.py": "x = 1\n", "gatekeeper.toml": ""})
    write(root, {".venv/lib/site.py": "z\n", "draft.py": "d\n"})
    result = run(root, {"good": Fixed("good")})
    assert result.verdict is Verdict.PASS
    tree = result.extra["checkout"]
    assert (tree["untracked_files"], tree["created"], tree["removed"], tree["rewritten"]) == (2, [], [], [])


@pytest.mark.slow
@pytest.mark.usefixtures("own_coverage_settings")
def test_the_real_test_command_may_write_caches_but_not_files_git_would_see(tmp_path: Path, monkeypatch: Any) -> None:
    from gatekeeper.checkers.coverage import CoverageChecker

    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # Python writes its bytecode caches, as in CI
    test = "from app import half\n\n\ndef test_half():\n    assert half(4) == 2\n"
    root = repo(tmp_path, {"app.py": "def half(x):\n    return x // 2\n", "test_app.py": test, "gatekeeper.toml": ""})
    policy = '[checks.coverage]\nrun = ["pytest", "-q"]\nmin_total = 0\n'
    result = run(root, {"coverage": CoverageChecker()}, policy)
    # pytest wrote its own cache (which ignores itself) and Python its bytecode: nothing git would see
    assert (root / ".pytest_cache").is_dir() and list(root.glob("__pycache__/*.pyc"))
    assert result.checks[0].status is Status.PASS and result.verdict is Verdict.PASS
    assert result.extra["checkout"]["created"] == []
    # a test that leaves a file in the tree: the gate no longer vouches for the checkout it judged
    write(root, {"test_app.py": test + "\n\ndef test_writes():\n    open('snapshot.json', 'w').write('{}')\n"})
    git(root, "commit", "-qam", "a test that writes", "--author", "t <t@example.com>")
    result = run(root, {"coverage": CoverageChecker()}, policy)
    assert result.checks[0].status is Status.PASS
    assert result.verdict is Verdict.ERROR and result.extra["checkout"]["created"] == ["snapshot.json"]
    # once the project says the file is its tests' output, the run passes again
    write(root, {".gitignore": "snapshot.json\n"})
    git(root, "add", ".gitignore")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "ignore it")
    result = run(root, {"coverage": CoverageChecker()}, policy)
    assert result.verdict is Verdict.PASS and result.extra["checkout"]["created"] == []


def test_a_file_a_run_writes_inside_a_checked_out_submodule_is_a_change(tmp_path: Path) -> None:
    lib = repo(tmp_path / "lib", {"mod.py": "x = 1\n", "conf.toml": "", ".gitignore": "*.log\n"})
    root = repo(tmp_path / "app", {"app.py": "x\n", "gatekeeper.toml": ""})
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "vendor lib")
    write(root, {"vendor/lib/draft.py": "d\n", "vendor/lib/old.py": "o\n"})  # the submodule's own untracked files
    result = run(root, {"good": Fixed("good")})
    tree = result.extra["checkout"]
    assert result.verdict is Verdict.PASS
    # .gitmodules, app.py, gatekeeper.toml and the submodule's three files; its two untracked ones
    assert (tree["tracked_files"], tree["untracked_files"]) == (6, 2)
    edits: dict[str, str | None] = {
        "vendor/lib/mod.py": "x = 2\n",  # a tracked file of the submodule, which the secrets check reads
        "vendor/lib/ruff.toml": "[lint]\nignore = ['ALL']\n",  # created: the submodule's git does not ignore it
        "vendor/lib/old.py": None,
        "vendor/lib/draft.py": "rewritten\n",
        "vendor/lib/tool.log": "ignored by the submodule\n",
    }
    result = run(root, {"writer": Writes("writer", edits)})
    tree = result.extra["checkout"]
    assert result.verdict is Verdict.ERROR and result.exit_code == 3
    assert tree["changed"] == ["vendor/lib/mod.py"] and tree["created"] == ["vendor/lib/ruff.toml"]
    assert tree["removed"] == ["vendor/lib/old.py"] and tree["rewritten"] == ["vendor/lib/draft.py"]


def test_a_submodule_checked_out_or_moved_to_another_commit_during_the_run_is_a_change(tmp_path: Path) -> None:
    lib = repo(tmp_path / "lib", {"mod.py": "x = 1\n"})
    root = repo(tmp_path / "app", {"app.py": "x\n"})
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "lib")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "lib")
    write(lib, {"mod.py": "x = 2\n"})
    git(lib, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "two")

    def moves(ctx: CheckContext) -> None:  # what a test's `git -C lib pull` does
        git(ctx.root / "lib", "-c", "protocol.file.allow=always", "pull", "-q", "--ff-only")

    class Runs(Fixed):
        def __init__(self, name: str, act: Any) -> None:
            super().__init__(name)
            self.act = act

        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            self.act(ctx)
            return CheckResult(name=self.name, status=Status.PASS, summary="clean")

    result = run(root, {"mover": Runs("mover", moves)})
    assert result.verdict is Verdict.ERROR and result.extra["checkout"]["changed"] == ["lib/mod.py"]
    git(root, "submodule", "deinit", "-f", "--", "lib")  # not checked out: no files, nothing to compare
    assert checkout.tracked_count(checkout.snapshot(root)) == 2

    def checks_out(ctx: CheckContext) -> None:
        git(ctx.root, "-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init")

    result = run(root, {"init": Runs("init", checks_out)})
    assert result.verdict is Verdict.ERROR and result.extra["checkout"]["changed"] == ["lib"]


@pytest.mark.usefixtures("own_coverage_settings")
def test_an_ignored_coverage_configuration_the_tests_write_is_a_change(tmp_path: Path) -> None:
    """The tests write a ``.coveragerc`` the project's ``.gitignore`` lists; coverage.py's analysis,
    which reads its configuration after the tests, left the badly covered module out and passed the
    threshold, while the comparison saw nothing: git does not list an ignored file."""
    from gatekeeper.checkers.coverage import CoverageChecker

    policy = '[checks.coverage]\nrun = ["pytest", "-q", "-p", "no:cacheprovider"]\nmin_total = 90\n'
    conftest = "import pathlib\npathlib.Path(__file__).with_name('.coveragerc').write_text('[report]\\nomit = bad.py\\n')\n"
    files = {
        "app.py": "def half(x):\n    return x // 2\n",
        "bad.py": "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\ndef c():\n    return 3\n",
        "test_app.py": "import bad\nfrom app import half\n\n\ndef test_half():\n    assert half(4) == 2\n",
        "conftest.py": conftest,
        ".gitignore": ".coveragerc\nlocal/\n",
        "gatekeeper.toml": policy,
    }
    root = repo(tmp_path, files)
    write(root, {"local/ruff.toml": "not above a tracked file: no tool reads it for this tree\n"})
    result = run(root, {"coverage": CoverageChecker()}, policy)
    assert result.checks[0].status is Status.PASS  # the total left bad.py out, as coverage report did
    assert (root / ".coveragerc").is_file()
    assert result.verdict is Verdict.ERROR and result.exit_code == 3
    assert result.extra["checkout"]["created"] == [".coveragerc"]
    # present before the run and left alone, an ignored configuration file passes (and is compared)
    before = checkout.snapshot(root)
    assert checkout.untracked_count(before) == 1 and checkout.touched(vars_of(checkout.changes(before))) == []
    os.utime(root / ".coveragerc", (1, 1))  # and rewritten, it is named
    assert checkout.changes(before).rewritten == [".coveragerc"]


def test_a_run_whose_checkout_changed_keeps_nothing_it_stored_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ruff read a file, then (the tests of the run, say) it was rewritten before the check read the
    bytes that key ruff's result: that run is an error, and it must not leave ruff's verdict on the
    old bytes cached under the new ones for the next run to serve."""
    from gatekeeper.checkers.lint import LintChecker, ahead

    root = repo(tmp_path / "p", {"app.py": "x = 1\n", "pyproject.toml": '[tool.ruff.lint]\nselect = ["F"]\n'})
    policy = "[checks.lint]\nenabled = true\n"
    started = ahead.FilesRun.__init__

    def rewritten_once_read(self: Any, *args: Any) -> None:
        started(self, *args)
        self._wait()  # ruff has read app.py (clean) ...
        (root / "app.py").write_text("import os\n", encoding="utf-8")  # ... and now it is not

    monkeypatch.setattr(ahead.FilesRun, "__init__", rewritten_once_read)
    cache_dir = tmp_path / "cache"
    result = run(root, {"lint": LintChecker()}, policy, cache_dir=cache_dir)
    assert result.verdict is Verdict.ERROR and result.extra["checkout"]["changed"] == ["app.py"]
    monkeypatch.setattr(ahead.FilesRun, "__init__", started)
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "the rewritten file")
    result = run(root, {"lint": LintChecker()}, policy, cache_dir=cache_dir)
    lint = result.checks[0]
    assert result.extra["checkout"]["changed"] == []
    assert lint.status is Status.FAIL and [f.rule_id for f in lint.findings] == ["F401"]  # what ruff says of it
    assert lint.metrics["cached_files"] == 0


def test_a_tracked_file_in_the_folder_the_policy_names_as_gatekeepers_cache_is_still_compared(tmp_path: Path) -> None:
    """``cache.dir = "pkg"`` in the checkout's policy once took every file of ``pkg/`` out of the
    comparison; only the untracked files gatekeeper writes there are left out now."""
    root = repo(tmp_path, {"pkg/mod.py": "x = 1\n", "gatekeeper.toml": '[cache]\ndir = "pkg"\n'})
    writer = Writes("writer", {"pkg/mod.py": "x = 2\n", "pkg/entry.bin": "a cache entry\n"})
    result = run(root, {"writer": writer}, '[cache]\ndir = "pkg"\n')
    assert result.verdict is Verdict.ERROR and result.extra["checkout"]["changed"] == ["pkg/mod.py"]
    assert result.extra["checkout"]["created"] == []


@pytest.mark.usefixtures("own_coverage_settings")
def test_what_a_tracked_link_points_to_is_compared_wherever_it_lies(tmp_path: Path) -> None:
    """A tracked ``.coveragerc`` that is a link to an ignored file (or one outside the tree): the
    tests wrote the file it names and coverage.py read it through the link, the link itself unchanged."""
    from gatekeeper.checkers.coverage import CoverageChecker

    policy = '[checks.coverage]\nrun = ["pytest", "-q", "-p", "no:cacheprovider"]\nmin_total = 90\n'
    conftest = "import pathlib\npathlib.Path(__file__).parent.joinpath('cfg').mkdir(exist_ok=True)\n"
    conftest += "pathlib.Path(__file__).parent.joinpath('cfg', 'rc').write_text('[report]\\nomit = bad.py\\n')\n"
    files = {
        "app.py": "def half(x):\n    return x // 2\n",
        "bad.py": "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\ndef c():\n    return 3\n",
        "test_app.py": "import bad\nfrom app import half\n\n\ndef test_half():\n    assert half(4) == 2\n",
        "conftest.py": conftest,
        ".gitignore": "cfg/\n",
        "gatekeeper.toml": policy,
    }
    write(tmp_path, files)
    os.symlink("cfg/rc", tmp_path / ".coveragerc")
    root = repo(tmp_path, {})
    result = run(root, {"coverage": CoverageChecker()}, policy)
    assert result.checks[0].status is Status.PASS and (root / "cfg" / "rc").is_file()
    assert result.verdict is Verdict.ERROR and result.exit_code == 3
    assert result.extra["checkout"]["created"] == [".coveragerc"]
    # a target there before the run and rewritten during it is named too
    before = checkout.snapshot(root)
    assert checkout.changes(before).rewritten == []
    write(root, {"cfg/rc": "[report]\nomit = app.py\n"})
    assert checkout.changes(before).rewritten == [".coveragerc"]


class Settles(Fixed):
    """A checker that says at once that nothing it still runs writes into the checkout, then waits
    (at most 10 s) for the comparison of the checkout to start before it ends."""

    def __init__(self, name: str, compared: threading.Event) -> None:
        super().__init__(name)
        self.compared = compared
        self.saw_comparison = False

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        ctx.settled()
        self.saw_comparison = self.compared.wait(10)
        return CheckResult(name=self.name, status=Status.PASS, summary="clean")


class WritesLate(Writes):
    """``Writes``, a while after it started, never saying that it has settled."""

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        time.sleep(0.3)
        return super().run(section, ctx)


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set when the engine starts comparing the checkout with its snapshot."""
    started = threading.Event()
    real = checkout.changes

    def changes(before: checkout.Snapshot, timeout: float = 300.0) -> checkout.Changes:
        started.set()
        return real(before, timeout)

    monkeypatch.setattr(checkout, "changes", changes)
    return started


def test_the_checkout_is_compared_while_a_settled_check_finishes(tmp_path: Path, comparisons: threading.Event) -> None:
    root = repo(tmp_path, {"app.py": "import os\n", "gatekeeper.toml": ""})
    settles = Settles("settles", comparisons)
    result = run(root, {"settles": settles, "good": Fixed("good")})
    assert settles.saw_comparison  # compared before the check ended
    assert result.verdict is Verdict.PASS and result.extra["checkout"]["compared"] is True


def test_a_check_that_has_not_said_it_writes_no_more_is_waited_for(tmp_path: Path, comparisons: threading.Event) -> None:
    """The comparison starts once every check has ended or settled: what a check still running
    writes, however late, is caught."""
    root = repo(tmp_path, {"app.py": "import os\n", "gatekeeper.toml": ""})
    settles = Settles("settles", comparisons)
    result = run(root, {"settles": settles, "late": WritesLate("late", {"app.py": "rewritten\n"})})
    assert settles.saw_comparison
    assert result.verdict is Verdict.ERROR and result.extra["checkout"]["changed"] == ["app.py"]


class RemovesAfterComparison(Fixed):
    """A check that says it only reads from now on; once the comparison that this lets start has
    ended, a file of the checkout is removed (as by a process its tests left running outside their
    process group) before the check ends, as a coverage.py analysis still reading the tree would."""

    def __init__(self, name: str, compared: threading.Event, path: str) -> None:
        super().__init__(name)
        self.compared, self.path = compared, path

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        ctx.settled()
        assert self.compared.wait(10)
        (ctx.root / self.path).unlink()
        return CheckResult(name=self.name, status=Status.PASS, summary="clean")


def test_a_file_removed_after_an_early_comparison_while_a_check_still_reads_is_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = repo(tmp_path, {"app.py": "x = 1\n", "unused.py": "y = 2\n", "gatekeeper.toml": ""})
    ended = threading.Event()
    real = checkout.changes

    def changes(before: checkout.Snapshot, timeout: float = 300.0) -> checkout.Changes:
        out = real(before, timeout)
        ended.set()
        return out

    monkeypatch.setattr(checkout, "changes", changes)
    result = run(root, {"reads": RemovesAfterComparison("reads", ended, "unused.py"), "good": Fixed("good")})
    assert result.verdict is Verdict.ERROR and result.extra["checkout"]["changed"] == ["unused.py"]
    # nothing written after the comparison: it stands, and is not made again
    calls: list[int] = []
    monkeypatch.setattr(checkout, "changes", lambda before, timeout=300.0: calls.append(1) or real(before, timeout))
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "removed")
    result = run(root, {"settles": Settles("settles", ended), "good": Fixed("good")})
    assert result.verdict is Verdict.PASS and calls == [1]


def test_git_ignore_rules_written_during_the_run_are_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """ruff leaves out a tracked file git's ignore rules match: a test that adds it to
    ``.git/info/exclude``, or to the user's global ignore file, before the lint check lists the
    files hides it, and writes no file of the tree."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    root = repo(tmp_path / "p", {"app.py": "import os\n", "gatekeeper.toml": ""})
    result = run(root, {"hides": Writes("hides", {".git/info/exclude": "app.py\n"})})
    assert result.verdict is Verdict.ERROR and result.exit_code == 3
    tree = result.extra["checkout"]
    assert tree["git_settings"] == [str(root / ".git" / "info" / "exclude")]
    assert (tree["changed"], tree["created"], tree["rewritten"]) == ([], [], [])
    Console().summary(result)
    assert "the run wrote 1 file(s) of git's ignore rules or configuration" in capsys.readouterr().out
    before = checkout.snapshot(root)
    write(tmp_path / "config", {"git/ignore": "app.py\n"})  # created where git looks for the user's rules
    assert checkout.changes(before).git_settings == [str(tmp_path / "config" / "git" / "ignore")]
    assert checkout.moved_since(before)
    # left alone, nothing is said
    before = checkout.snapshot(root)
    assert checkout.changes(before).git_settings == [] and not checkout.moved_since(before)


@pytest.mark.usefixtures("own_coverage_settings")
@pytest.mark.parametrize(
    ("created", "ignored"),
    [("conftest.py", ""), (".coveragerc", ".coveragerc\n"), ("pkg/setup.cfg", "setup.cfg\n"), ("notes.txt", "")],
)
def test_a_file_created_after_an_early_comparison_is_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, created: str, ignored: str
) -> None:
    """The coverage check with ``run`` lets the checkout be compared once its tests have ended and
    its analysis only reads; a process the tests left running outside their process group then
    creates a file (a configuration file git ignores, in a folder a tool reads it from, included)
    before the checks end: the look at the tree once every check has ended sees it."""
    from gatekeeper.checkers.coverage import CoverageChecker

    policy = '[checks.coverage]\nrun = ["pytest", "-q", "-p", "no:cacheprovider"]\nmin_total = 50\n'
    files = {
        "pkg/__init__.py": "",
        "pkg/app.py": "def half(x):\n    return x // 2\n",
        "test_app.py": "from pkg.app import half\n\n\ndef test_half():\n    assert half(4) == 2\n",
        ".gitignore": ignored,
        "gatekeeper.toml": policy,
    }
    root = repo(tmp_path, files)
    real = checkout.changes
    early: list[bool] = []

    def changes(before: checkout.Snapshot, timeout: float = 300.0) -> checkout.Changes:
        out = real(before, timeout)
        if not early:  # the first comparison: made while the coverage analysis still runs
            early.append(threading.current_thread().name == "gatekeeper-checkout")
            # what it holds changes no figure, whenever the analysis reads it: only its creation is judged
            write(root, {created: "# left by a process the tests started\n"})
        return out

    monkeypatch.setattr(checkout, "changes", changes)
    result = run(root, {"coverage": CoverageChecker()}, policy)
    assert early == [True] and result.checks[0].status is Status.PASS
    assert result.verdict is Verdict.ERROR and result.exit_code == 3
    assert result.extra["checkout"]["created"] == [created]


@pytest.mark.parametrize("folder", ["", "pkg/"])
def test_an_ignored_dot_ignore_file_the_run_writes_is_a_change(tmp_path: Path, folder: str) -> None:
    """ruff leaves out the files a ``.ignore`` lists, as it does those ``.gitignore`` lists: one the
    tests write where git ignores it narrows the lint check that follows, so it is compared."""
    root = repo(tmp_path, {"app.py": "x = 1\n", "pkg/mod.py": "y = 2\n", ".gitignore": ".ignore\n"})
    before = checkout.snapshot(root)
    write(root, {f"{folder}.ignore": "*.py\n"})
    assert checkout.changes(before).created == [f"{folder}.ignore"]


def test_an_untracked_file_whose_name_is_not_utf8_is_compared_and_named_by_its_bytes(tmp_path: Path) -> None:
    """git lists names as bytes; read as UTF-8 with replacement, ``pkg/un\\xfe.py`` could not be
    looked up, so a run that rewrote it (or a tracked one of such a name, once the checks had ended)
    left the comparison saying nothing."""
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    tracked = Path(os.fsdecode(os.fsencode(root) + b"/pkg/odd\xff.py"))
    untracked = Path(os.fsdecode(os.fsencode(root) + b"/pkg/un\xfe.py"))
    tracked.write_bytes(b"x = 1\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "i"], cwd=root, check=True)
    untracked.write_bytes(b"y = 1\n")
    before = checkout.snapshot(root)
    untracked.write_bytes(b"import os; os.system('x')\n")
    assert checkout.changes(before).rewritten == ["pkg/un\\xfe.py"]
    assert checkout.moved_since(before)
    before = checkout.snapshot(root)
    assert not checkout.moved_since(before) and checkout.changes(before).changed == []
    tracked.write_bytes(b"x = 2\n")
    assert checkout.moved_since(before)
    assert checkout.changes(before).changed == ["pkg/odd\\xff.py"]
