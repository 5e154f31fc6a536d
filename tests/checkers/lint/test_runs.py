"""The ruff runs of one lint check that need nothing of each other run at once, give what they
give one after the other, and each of them still fails the check on its own."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import process
from gatekeeper.checkers.lint import LintChecker
from gatekeeper.errors import ToolError
from tests.checkers.lint.test_checker import keys, ruff_by_hand
from tests.helpers.narrowing import find
from tests.helpers.projects import git_init, section, write

#: a configuration in force, a tracked file it excludes, and suppression comments: every run a check makes
PROJECT = {
    "ruff.toml": 'extend-exclude = ["legacy"]\n[lint]\nselect = ["F", "E"]\n',
    "app.py": "import os  # noqa: F401\nimport sys\n\nprint(undefined)\n",
    "lib.py": "# ruff: noqa: F401\nimport json\nimport re\n",
    "clean.py": "x = 1\n",
    "legacy/old.py": "import os\n",
}


def what(args: Sequence[str]) -> str:
    """Which of the check's runs a command line is."""
    if "--version" in args:
        return "version"
    if "--show-files" in args:
        return "second listing" if "--isolated" in args else "listing"
    if "ls-files" in args:
        return "git"
    return "--ignore-noqa run" if "--ignore-noqa" in args else "run"


def route_runs(ctx: Any, before: Callable[[str], None], change: Callable[[str, list[str]], list[str]]) -> list[str]:
    """Every command ``ctx.run`` is given from now on goes through ``before(its kind)`` and is run as
    ``change(kind, args)`` gives it; the kinds of those that ended are returned, in order."""
    ended: list[str] = []
    run = ctx.run

    def routed(args: Any, **kwargs: Any) -> Any:
        kind = what([str(a) for a in args])
        before(kind)
        try:
            return run(change(kind, [str(a) for a in args]), **kwargs)
        finally:
            ended.append(kind)

    object.__setattr__(ctx, "run", routed)
    return ended


def test_the_runs_that_need_nothing_of_each_other_run_at_once_and_give_what_ruff_gives(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", PROJECT)
    git_init(root)
    reference = LintChecker().run(section(LintChecker), make_ctx(root))  # nothing held back
    # each run waits until the others of its group have started: run one after the other, they never would
    groups = {"version": 2, "listing": 2, "run": 3, "--ignore-noqa run": 3, "second listing": 3}
    meeting = {2: threading.Barrier(2, timeout=60), 3: threading.Barrier(3, timeout=60)}
    ctx = make_ctx(root, cache_dir=tmp_path / "cache")
    ended = route_runs(ctx, lambda kind: meeting[groups[kind]].wait() if kind in groups else None, lambda _, a: a)
    result = LintChecker().run(section(LintChecker), ctx)
    assert sorted(ended) == sorted(groups)  # git lists the tracked files beside locating ruff: not through ctx.run
    assert not any(b.broken for b in meeting.values())
    assert keys(result) == ruff_by_hand(root) == {("F401", "app.py", 2), ("F821", "app.py", 4)}
    hidden = ruff_by_hand(root, "--ignore-noqa") - ruff_by_hand(root)
    assert result.metrics["suppressed"] == len(hidden) == 3
    assert find(result, "line-comments", source="app.py").suppressed == 1
    assert find(result, "file-comment", source="lib.py").suppressed == 2
    (dropped,) = [n for n in result.narrowing if n.kind == "exclude" and not n.source]
    assert dropped.files == ("legacy/old.py",)
    assert (result.findings, result.narrowing, result.metrics) == (reference.findings, reference.narrowing, reference.metrics)


@pytest.mark.parametrize("failing", ["version", "listing", "run", "--ignore-noqa run", "second listing"])
def test_a_failure_of_any_run_fails_the_check_after_every_other_run_ended(tmp_path: Path, make_ctx: Any, failing: str) -> None:
    root = write(tmp_path / "p", PROJECT)
    git_init(root)
    ctx = make_ctx(root, cache_dir=tmp_path / "cache")

    def broken(kind: str, args: list[str]) -> list[str]:
        """The failing run is given an option ruff does not know: ruff itself refuses it (exit 2)."""
        if kind != failing:
            return args
        return [args[0], "--no-such-option"] if kind == "version" else [*args[:2], "--no-such-option", *args[2:]]

    started: list[str] = []
    ended = route_runs(ctx, started.append, broken)
    with pytest.raises(ToolError, match=r"exit 2"):
        LintChecker().run(section(LintChecker), ctx)
    assert failing in ended and sorted(ended) == sorted(started)  # nothing it started was left running
    assert not process._LIVE
    again = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=tmp_path / "cache"))
    # a failed ruff run stores no half result: only the second listing fails after the check's results are complete
    assert again.metrics["cached_files"] == (again.metrics["files_checked"] if failing == "second listing" else 0)
