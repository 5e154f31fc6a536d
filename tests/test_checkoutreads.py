"""The files a check reads beyond the checkout's comparison (those git ignores) are compared too: one
rewritten between the read that keys a check's cached result and the tool's own read makes the
run an error and poisons no cache entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers import cache, source
from gatekeeper.checkers.lint import LintChecker
from gatekeeper.checkers.security import SecurityChecker
from gatekeeper.console import tree_lines
from gatekeeper.findings import Status, Verdict
from tests.checkers.lint.test_checker import ruff_by_hand
from tests.helpers.projects import bandit_json
from tests.test_checkout import repo
from tests.test_engine import run

LINTED = "import os\n"  # F401
LINTED_CLEAN = "x = 11111\n"
SCANNED = 'import subprocess\nsubprocess.call("x", shell=True)\n'  # B404, B602, B607
SCANNED_CLEAN = "y = 1\n"
POLICY = '[checks.lint]\nenabled = true\n[checks.security]\nfail_on_severity = "low"\n'


def project(root: Path) -> Path:
    """ruff lints, and bandit scans, the files git ignores under ``gen/``."""
    files = {"app.py": "x = 1\n", "ruff.toml": "respect-gitignore = false\n", ".gitignore": "gen/\n"}
    repo(root, files)
    (root / "gen").mkdir()
    (root / "gen/lint_me.py").write_text(LINTED, encoding="utf-8")
    (root / "gen/scan_me.py").write_text(SCANNED, encoding="utf-8")
    return root


def gate(root: Path, cache_dir: Path) -> Any:
    return run(root, {"lint": LintChecker(), "security": SecurityChecker()}, POLICY, cache_dir=cache_dir)


def test_an_ignored_file_rewritten_between_the_keys_read_and_the_tools_is_an_error_and_caches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process the run leaves running (the tests of ``checks.coverage.run``, say) puts clean bytes
    in an ignored file right after gatekeeper read its flagged bytes for the cache key, before ruff
    and bandit read it, then puts the flagged bytes back: both tools judge the clean bytes, and their
    clean result would be stored under the flagged bytes' key and served to every later run."""
    root = project(tmp_path / "p")
    cache_dir = tmp_path / "cache"
    swaps = {"gen/lint_me.py": LINTED_CLEAN, "gen/scan_me.py": SCANNED_CLEAN}
    digest, file_digest = source.Sources.digest, cache.file_digest

    def swap(name: str) -> None:
        if name in swaps:
            (root / name).write_text(swaps.pop(name), encoding="utf-8")

    def read_then_swap(self: source.Sources, path: str) -> str:
        out = digest(self, path)
        swap(path)
        return out

    def file_read_then_swap(path: Path) -> str:
        out = file_digest(path)
        swap(path.relative_to(root).as_posix())
        return out

    monkeypatch.setattr(source.Sources, "digest", read_then_swap)
    monkeypatch.setattr(cache, "file_digest", file_read_then_swap)
    raced = gate(root, cache_dir)
    monkeypatch.undo()
    assert swaps == {}  # both files were swapped after their key's read
    assert {c.name: c.status for c in raced.checks} == {"lint": Status.PASS, "security": Status.PASS}  # clean bytes judged
    assert raced.verdict is Verdict.ERROR and raced.exit_code == 3
    assert raced.extra["checkout"]["read_written"] == ["gen/lint_me.py", "gen/scan_me.py"]
    assert tree_lines(raced.extra["checkout"]) == [
        "the run wrote or removed 2 file(s) a check read that the checkout's comparison does not cover (git ignores "
        "them, or the root is no git work tree): gen/lint_me.py, gen/scan_me.py (the tool and the cache key may have "
        "read other bytes)"
    ]

    (root / "gen/lint_me.py").write_text(LINTED, encoding="utf-8")  # the flagged bytes, as the keys read them
    (root / "gen/scan_me.py").write_text(SCANNED, encoding="utf-8")
    later = gate(root, cache_dir)
    checks = {c.name: c for c in later.checks}
    linted = {(f.rule_id, f.location.path, f.location.line) for f in checks["lint"].findings if f.location}
    assert ("F401", "gen/lint_me.py", 1) in linted and linted == ruff_by_hand(root)
    assert sorted(r["test_id"] for r in bandit_json(root, "-r", ".")["results"]) == ["B404", "B602", "B607"]
    assert sorted(f.rule_id for f in checks["security"].findings) == ["B404", "B602", "B607"]
    assert later.verdict is Verdict.FAIL and later.extra["checkout"].get("read_written") is None


def test_an_ignored_module_mypy_read_and_the_run_rewrote_is_an_error_and_never_served_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mypy's incremental cache takes a module for unchanged while its size and modification time
    (in whole seconds) are: an ignored module it followed an import into, rewritten right after
    mypy read it with bytes of the same size and its modification time put back, was served from
    that cache by every later run, clean, though mypy by hand flags it."""
    from gatekeeper.checkers.base import CheckContext
    from gatekeeper.checkers.types import TypesChecker

    root = repo(tmp_path / "p", {"app.py": "from gen.m import f\n\nx: int = f()\n", ".gitignore": "gen/\n"})
    (root / "gen").mkdir()
    (root / "gen" / "__init__.py").write_text("")
    module = root / "gen" / "m.py"
    module.write_text("def f() -> int:\n    return 1\n")
    flagged = "def f() -> str:\n    return 1\n"  # as long as the clean text
    assert len(flagged) == len(module.read_text())
    policy = '[checks.types]\nenabled = true\npaths = ["app.py"]\n'
    real_run = CheckContext.run

    def run_then_rewrite(self: CheckContext, args: Any, **kw: Any) -> Any:
        done = real_run(self, args, **kw)
        if "mypy" in args and module.read_text() != flagged:  # right after mypy read it
            mtime = module.stat().st_mtime_ns
            module.write_text(flagged)
            os.utime(module, ns=(mtime, mtime))
        return done

    monkeypatch.setattr(CheckContext, "run", run_then_rewrite)
    raced = run(root, {"types": TypesChecker()}, policy, cache_dir=tmp_path / "cache")
    monkeypatch.undo()
    assert module.read_text() == flagged and "mypy read gen/m.py, written while it ran" in (raced.checks[0].error or "")
    assert raced.verdict is Verdict.ERROR and raced.extra["checkout"]["read_written"] == ["gen/m.py"]
    later = run(root, {"types": TypesChecker()}, policy, cache_dir=tmp_path / "cache")
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "app.py"], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert by_hand.returncode == 1 and "gen/m.py:2: error" in by_hand.stdout
    found = sorted(f.location.path for f in later.checks[0].findings if f.location)
    assert later.checks[0].status is Status.FAIL and found == ["app.py", "gen/m.py"]


def test_an_ignored_bandit_baseline_rewritten_after_the_keys_read_is_an_error_and_caches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``.bandit`` file's baseline keys every file's cached scan; one git ignores, rewritten right
    after the key read it (an empty report) with a report listing the file's issues, which bandit
    then leaves out, stored the scan without them under the empty baseline's key: every later run
    with the empty baseline was served "0 findings" where bandit reports three."""
    from gatekeeper.checkers import security

    root = repo(tmp_path / "p", {"app.py": SCANNED, ".bandit": "[bandit]\nbaseline = gen/base.json\n", ".gitignore": "gen/\n"})
    (root / "gen").mkdir()
    empty = json.dumps({"results": []})
    listing = json.dumps(bandit_json(root, "app.py"))  # the issues, as bandit reports them by hand
    (root / "gen/base.json").write_text(empty, encoding="utf-8")
    assert sorted(r["test_id"] for r in bandit_json(root, "-r", ".", "--ini", ".bandit")["results"]) == ["B404", "B602", "B607"]
    policy = '[checks.security]\nfail_on_severity = "low"\n'
    real_digest = security._options_digest

    def digest_then_rewrite(plan: Any, where: Path) -> str:
        out = real_digest(plan, where)
        (root / "gen/base.json").write_text(listing, encoding="utf-8")  # after the key's read, before bandit's
        return out

    monkeypatch.setattr(security, "_options_digest", digest_then_rewrite)
    raced = run(root, {"security": SecurityChecker()}, policy, cache_dir=tmp_path / "cache")
    monkeypatch.undo()
    assert raced.checks[0].findings == () and raced.checks[0].metrics["baseline_hidden"] == 3  # bandit read the listing
    assert raced.verdict is Verdict.ERROR and raced.extra["checkout"]["read_written"] == ["gen/base.json"]
    (root / "gen/base.json").write_text(empty, encoding="utf-8")  # the bytes the key read
    later = run(root, {"security": SecurityChecker()}, policy, cache_dir=tmp_path / "cache")
    assert sorted(f.rule_id for f in later.checks[0].findings) == ["B404", "B602", "B607"]
    assert later.verdict is Verdict.FAIL and later.checks[0].metrics["baseline_hidden"] == 0


def test_an_ignored_linked_module_mypy_read_and_the_run_rewrote_is_an_error_and_never_served_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mypy reads a module that is a link as any other (its search lists links to files): the one a
    folder git ignores holds, leading to a file in another ignored folder rewritten right after
    mypy read it (same size, modification time put back), was served clean from mypy's incremental
    cache by every later run, though mypy by hand flags it."""
    from gatekeeper.checkers.base import CheckContext
    from gatekeeper.checkers.types import TypesChecker

    root = repo(tmp_path / "p", {"app.py": "from gen.m import f\n\nx: int = f()\n", ".gitignore": "gen/\nimpl/\n"})
    (root / "gen").mkdir()
    (root / "impl").mkdir()
    (root / "gen" / "__init__.py").write_text("")
    target = root / "impl" / "m.txt"
    target.write_text("def f() -> int:\n    return 1\n")
    (root / "gen" / "m.py").symlink_to("../impl/m.txt")
    flagged = "def f() -> str:\n    return 1\n"  # as long as the clean text
    policy = '[checks.types]\nenabled = true\npaths = ["app.py"]\n'
    real_run = CheckContext.run

    def run_then_rewrite(self: CheckContext, args: Any, **kw: Any) -> Any:
        done = real_run(self, args, **kw)
        if "mypy" in args and target.read_text() != flagged:  # right after mypy read it
            mtime = target.stat().st_mtime_ns
            target.write_text(flagged)
            os.utime(target, ns=(mtime, mtime))
        return done

    monkeypatch.setattr(CheckContext, "run", run_then_rewrite)
    raced = run(root, {"types": TypesChecker()}, policy, cache_dir=tmp_path / "cache")
    monkeypatch.undo()
    assert target.read_text() == flagged and "mypy read gen/m.py, written while it ran" in (raced.checks[0].error or "")
    assert raced.verdict is Verdict.ERROR and raced.extra["checkout"]["read_written"] == ["gen/m.py"]
    later = run(root, {"types": TypesChecker()}, policy, cache_dir=tmp_path / "cache")
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "app.py"], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert by_hand.returncode == 1 and "gen/m.py:2: error" in by_hand.stdout
    assert later.checks[0].status is Status.FAIL


@pytest.mark.parametrize("layout", ["build", "stub"])
def test_a_module_mypy_read_that_the_run_rewrote_or_removed_is_an_error_and_never_served_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """mypy follows ``import build.m`` into a folder git ignores (never compared), and reads a
    ``lib.pyi`` stub before the ``lib.py`` beside it: build/m.py rewritten right after mypy read it
    (same size, modification time put back) was served clean from mypy's incremental cache by every
    later run; a stub the run created and removed again made mypy judge it in lib.py's place, and
    the comparison before and after saw nothing (PASS). mypy by hand flags both."""
    from gatekeeper.checkers.base import CheckContext
    from gatekeeper.checkers.types import TypesChecker

    flagged = "def f() -> str:\n    return 1\n"
    if layout == "build":
        root = repo(tmp_path / "p", {"app.py": "from build.m import f\n\nx: int = f()\n", ".gitignore": "build/\n"})
        (root / "build").mkdir()
        (root / "build" / "__init__.py").write_text("")
        target = root / "build" / "m.py"
        target.write_text("def f() -> int:\n    return 1\n")  # as long as the flagged text
    else:
        root = repo(tmp_path / "p", {"app.py": "from lib import f\n\nx: int = f()\n", "lib.py": flagged})
        target = root / "lib.pyi"
    policy = '[checks.types]\nenabled = true\npaths = ["app.py"]\n'
    real_run = CheckContext.run

    def run_and_change(self: CheckContext, args: Any, **kw: Any) -> Any:
        if "mypy" in args and layout == "stub":
            target.write_text("def f() -> int: ...\n")
        done = real_run(self, args, **kw)
        if "mypy" in args and layout == "stub":
            target.unlink()
        elif "mypy" in args and target.read_text() != flagged:  # right after mypy read it
            mtime = target.stat().st_mtime_ns
            target.write_text(flagged)
            os.utime(target, ns=(mtime, mtime))
        return done

    monkeypatch.setattr(CheckContext, "run", run_and_change)
    raced = run(root, {"types": TypesChecker()}, policy, cache_dir=tmp_path / "cache")
    monkeypatch.undo()
    named = "build/m.py, written while it ran" if layout == "build" else "lib.pyi, which no longer exists"
    assert raced.verdict is Verdict.ERROR and raced.checks[0].status is Status.ERROR
    assert f"mypy read {named}" in (raced.checks[0].error or "")
    later = run(root, {"types": TypesChecker()}, policy, cache_dir=tmp_path / "cache")
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "app.py"], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert by_hand.returncode == 1 and "app.py:3: error" in by_hand.stdout
    assert later.checks[0].status is Status.FAIL and later.verdict is Verdict.FAIL


def test_a_module_mypy_read_is_held_to_the_run_when_the_root_is_named_through_a_link(tmp_path: Path) -> None:
    """mypy names a module it followed an import to by its search path, built from its working
    folder as the system gives it (links resolved): for a root named through a link, build/m.py,
    removed right after mypy read it, went unseen."""
    from gatekeeper.checkers.types import reads

    real = repo(tmp_path / "real", {"app.py": "from build.m import f\n\nx: int = f()\n", ".gitignore": "build/\n"})
    (real / "build").mkdir()
    (real / "build" / "__init__.py").write_text("")
    (real / "build" / "m.py").write_text("def f() -> int:\n    return 1\n")
    (tmp_path / "link").symlink_to(real)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "-v", "--no-incremental", "app.py"],
        cwd=tmp_path / "link", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0 and f"{real}/build/m.py" in done.stderr
    assert reads.in_project(tmp_path / "link", done.stderr) == ["app.py", "build/__init__.py", "build/m.py"]
