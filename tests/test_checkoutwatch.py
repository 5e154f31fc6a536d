"""A tool configuration file that came and went during a run, unseen by the comparison before and
after it, makes the run an error (on Linux, where the checkout's folders are watched)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import checkoutwatch
from gatekeeper.checkers.lint import LintChecker
from gatekeeper.console import tree_lines
from gatekeeper.findings import Status, Verdict
from tests.test_checkout import repo
from tests.test_engine import run

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the checkout's folders are watched on Linux")


_lock = threading.Lock()
_running = [0]


@contextlib.contextmanager
def present(args: Any, files: dict[Path, str]) -> Iterator[None]:
    """``files`` exist while any ruff run that checks (not a listing) runs, and are gone once none
    does: runs that overlap share them (one ending never removes them under another)."""
    checking = "--output-format" in args and "--show-files" not in args
    if checking:
        with _lock:
            _running[0] += 1
            for path, text in files.items():
                path.write_text(text, encoding="utf-8")
    try:
        yield
    finally:
        if checking:
            with _lock:
                _running[0] -= 1
                if not _running[0]:
                    for path in files:
                        path.unlink(missing_ok=True)


def test_a_ruff_configuration_that_came_and_went_while_ruff_ran_is_an_error_and_caches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``sub/ruff.toml`` selecting no rule, written while ruff checks and removed before the run
    ends (as a test of the project may), took sub/a.py's F401 away: the comparison before and after
    found the tree as it was (PASS), the result was cached, and later runs were served it. ruff by
    hand flags the file. A file of another name coming and going is no change."""
    from gatekeeper.checkers.base import CheckContext

    root = repo(tmp_path / "p", {"ruff.toml": '[lint]\nselect = ["F"]\n', "sub/a.py": "import os\n"})
    transient = root / "sub" / "ruff.toml"
    real_run = CheckContext.run

    def run_with_config(self: CheckContext, args: Any, **kw: Any) -> Any:
        with present(args, {transient: "[lint]\nselect = []\n", root / "sub" / "notes.txt": "scratch\n"}):
            return real_run(self, args, **kw)

    monkeypatch.setattr(CheckContext, "run", run_with_config)
    policy = "[checks.lint]\nenabled = true\n"
    raced = run(root, {"lint": LintChecker()}, policy, cache_dir=tmp_path / "cache")
    monkeypatch.undo()
    # ruff read the configuration that came and went (PASS), or gatekeeper's own look at the
    # configurations found it there and then gone (ERROR): never the FAIL ruff gives by hand
    assert raced.checks[0].status is not Status.FAIL
    assert raced.verdict is Verdict.ERROR and raced.extra["checkout"]["transient"] == ["sub/ruff.toml"]
    said = "the run created and removed again 1 file(s) of a tool configuration's name in the checkout it judged: sub/ruff.toml"
    assert any(line.startswith(said) for line in tree_lines(raced.extra["checkout"]))
    by_hand = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "sub/a.py"], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert by_hand.returncode == 1 and "F401" in by_hand.stdout
    later = run(root, {"lint": LintChecker()}, policy, cache_dir=tmp_path / "cache")
    assert later.checks[0].status is Status.FAIL and "transient" not in later.extra["checkout"]
    assert later.verdict is Verdict.FAIL


def _watches() -> int:
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd).endswith("anon_inode:inotify"))


def test_a_run_leaves_no_watch_open(tmp_path: Path) -> None:
    """The watch is closed however the run ends: a process that runs gatekeeper again and again (a
    server, a test suite) would run out of inotify instances (128 a user by default) otherwise. Its
    instance is closed in a thread of its own (``settle`` waits for it; ``gate.check`` does)."""
    root = repo(tmp_path / "p", {"a.py": "x = 1\n"})
    run(root, {"lint": LintChecker()}, "[checks.lint]\nenabled = true\n")
    checkoutwatch.settle()
    before = _watches()  # inotify instances: only a watch opens one (a count of every file would race other threads)
    for _ in range(3):
        result = run(root, {"lint": LintChecker()}, "[checks.lint]\nenabled = true\n")
        assert result.verdict is Verdict.PASS and "transient" not in result.extra["checkout"]
    checkoutwatch.settle()
    assert _watches() == before


def test_the_run_does_not_wait_for_the_kernel_to_retire_the_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing an inotify instance waits for the kernel to retire its watches (6-13 ms): once its
    last events are read, which the result is made of, the run goes on (to its reports) while a
    thread of its own closes it; a configuration that came and went is still found."""
    from gatekeeper import checkout

    root = repo(tmp_path / "p", {"a.py": "x = 1\n"})
    before = checkout.snapshot(root)
    watch = checkoutwatch.start(before)
    assert watch is not None
    instance = watch._fd
    closed: list[str] = []
    real_close = os.close

    def close(fd: int) -> None:
        if fd == instance:
            closed.append(threading.current_thread().name)
        real_close(fd)

    monkeypatch.setattr(os, "close", close)
    (root / "ruff.toml").write_text("select = []\n", encoding="utf-8")
    (root / "ruff.toml").unlink()
    assert watch.transient(before) == (["ruff.toml"], "")
    checkoutwatch.settle()
    assert closed == ["gatekeeper-watch-close"]


def test_a_test_run_that_creates_many_files_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The events are read as they come: 10,000 files created and removed in a watched folder while a
    check runs (20,000 events, more than the kernel queues by default) are no reason for an error."""
    from gatekeeper.checkers.base import CheckContext

    root = repo(tmp_path / "p", {"a.py": "x = 1\n"})
    real_run = CheckContext.run

    def run_with_scratch(self: CheckContext, args: Any, **kw: Any) -> Any:
        if "--show-files" in args:
            for i in range(10_000):
                scratch = root / f"scratch-{i}.tmp"
                scratch.write_bytes(b"")
                scratch.unlink()
        return real_run(self, args, **kw)

    monkeypatch.setattr(CheckContext, "run", run_with_scratch)
    result = run(root, {"lint": LintChecker()}, "[checks.lint]\nenabled = true\n")
    assert "error" not in result.extra["checkout"] and result.verdict is Verdict.PASS


def test_a_configuration_that_came_and_went_beside_an_ignored_file_ruff_lints_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``respect-gitignore = false`` ruff lints the files git ignores: a ``gen/ruff.toml`` that
    came and went while ruff checked took gen/m.py's F401 away, in a folder holding no compared file
    (PASS). The folders of the files a check names as read are watched too."""
    from gatekeeper.checkers.base import CheckContext

    files = {"ruff.toml": 'respect-gitignore = false\n[lint]\nselect = ["F"]\n', "a.py": "x = 1\n", ".gitignore": "gen/\n"}
    root = repo(tmp_path / "p", files)
    (root / "gen").mkdir()
    (root / "gen" / "m.py").write_text("import os\n", encoding="utf-8")
    transient = root / "gen" / "ruff.toml"
    real_run = CheckContext.run

    def run_with_config(self: CheckContext, args: Any, **kw: Any) -> Any:
        with present(args, {transient: "[lint]\nselect = []\n"}):
            return real_run(self, args, **kw)

    monkeypatch.setattr(CheckContext, "run", run_with_config)
    raced = run(root, {"lint": LintChecker()}, "[checks.lint]\nenabled = true\n", cache_dir=tmp_path / "cache")
    monkeypatch.undo()
    assert raced.checks[0].status is not Status.FAIL
    assert raced.verdict is Verdict.ERROR and raced.extra["checkout"]["transient"] == ["gen/ruff.toml"]
    later = run(root, {"lint": LintChecker()}, "[checks.lint]\nenabled = true\n", cache_dir=tmp_path / "cache")
    assert later.checks[0].status is Status.FAIL and later.verdict is Verdict.FAIL
