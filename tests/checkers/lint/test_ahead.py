"""With nothing cached, ruff starts on the tracked Python files beside the listing; what the check
reports is still exactly what ruff by hand, and a check without that early run, report."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from gatekeeper import process
from gatekeeper.checkers.lint import LintChecker, _binary, ahead
from tests.checkers.lint.test_checker import keys, ruff_by_hand
from tests.checkers.lint.test_runs import route_runs
from tests.helpers.projects import git_init, section, write

#: tracked files the listing leaves out (an exclude, a lint.exclude, ruff's default excludes), a file
#: git ignores, and, added after ``git add``, a file ruff lists that git does not track
PROJECT = {
    "pyproject.toml": (
        '[project]\nname = "demo"\nversion = "0"\n[tool.ruff]\nextend-exclude = ["legacy"]\n'
        '[tool.ruff.lint]\nselect = ["F", "E"]\nexclude = ["skipped.py"]\n'
    ),
    ".gitignore": "ignored.py\n",
    "app.py": "import os  # noqa: F401\nimport sys\n\nprint(undefined)\n",
    "clean.py": "x = 1\n",
    "legacy/old.py": "import json\n",
    "skipped.py": "import re\n",
    "ignored.py": "import abc\n",
    "dist/gen.py": "import glob\n",
}
#: the one file only the early run is named on: tracked, left out by ruff's default excludes alone
EARLY = "dist/gen.py"


def comparable(result: Any) -> tuple[Any, ...]:
    metrics = {k: v for k, v in result.metrics.items() if k not in ("cached_files", "cache_rejected")}
    return result.status, result.summary, result.findings, result.narrowing, metrics


def test_a_cold_check_starts_ruff_on_the_tracked_files_beside_the_listing(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", PROJECT)
    git_init(root)
    write(root, {"scratch.py": "import glob\n"})  # listed by ruff, not tracked: checked by name after the listing
    ctx = make_ctx(root, cache_dir=tmp_path / "cold")
    early = str(root / EARLY)  # only the early run is named on a file the listing leaves out
    meeting = threading.Barrier(2, timeout=60)  # the early run and the listing: run one after the other, they never meet
    runs: list[list[str]] = []

    def before(kind: str) -> None:
        if kind == "listing":
            meeting.wait()

    def change(kind: str, args: list[str]) -> list[str]:
        runs.append(args)
        if kind == "run" and early in args:
            meeting.wait()
        return args

    route_runs(ctx, before, change)
    result = LintChecker().run(section(LintChecker), ctx)
    assert not meeting.broken and not process._LIVE
    checked = [a for a in runs if not {"--show-files", "--version", "ls-files", "--force-exclude"} & set(a)]
    first, *later = [a for a in checked if "--ignore-noqa" not in a]
    assert early in first and str(root / "scratch.py") not in first
    # nor on those the project's excludes leave out: ruff lints them for nothing
    assert str(root / "skipped.py") not in first and str(root / "legacy" / "old.py") not in first
    assert [a[a.index("--") + 1 :] for a in later] == [[str(root / "scratch.py")]]
    assert keys(result) == ruff_by_hand(root) == {("F401", "app.py", 2), ("F821", "app.py", 4), ("F401", "scratch.py", 1)}
    assert result.metrics["files_checked"] == 4  # app, clean, scratch, pyproject.toml: never legacy, skipped or ignored

    # a check whose cache says it ran before starts no early run, and reports the same
    marked, probe = make_ctx(root, cache_dir=tmp_path / "marked"), make_ctx(root)
    ahead.say_ran(marked, probe.tool("ruff", "ruff", "", binary=lambda found: _binary(probe, found)), [])
    again: list[list[str]] = []
    route_runs(marked, lambda _: None, lambda _, args: again.append(args) or args)
    reference = LintChecker().run(section(LintChecker), marked)
    assert not any(early in a for a in again)
    assert comparable(reference) == comparable(result)


def test_a_check_that_stored_its_results_starts_no_early_run_and_checks_only_what_changed(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", PROJECT)
    git_init(root)
    cold = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=tmp_path / "cache"))
    (root / "clean.py").write_text("import os\n", encoding="utf-8")
    ctx = make_ctx(root, cache_dir=tmp_path / "cache")
    runs: list[list[str]] = []
    route_runs(ctx, lambda _: None, lambda _, args: runs.append(args) or args)
    changed = LintChecker().run(section(LintChecker), ctx)
    checked = [a for a in runs if not {"--show-files", "--version", "ls-files", "--force-exclude"} & set(a)]
    assert [a[a.index("--") + 1 :] for a in checked] == [[str(root / "clean.py")]]
    assert changed.metrics["cached_files"] == cold.metrics["files_checked"] - 1
    assert keys(changed) == ruff_by_hand(root) == keys(cold) | {("F401", "clean.py", 1)}


def test_an_early_run_that_fails_serves_nothing_and_the_files_are_checked_by_name(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", PROJECT)
    git_init(root)
    reference = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=tmp_path / "reference"))
    early = str(root / EARLY)
    runs: list[list[str]] = []

    def broken(kind: str, args: list[str]) -> list[str]:
        """ruff refuses an option it does not know (exit 2): only the early run is given one."""
        runs.append(args)
        return [*args[:2], "--no-such-option", *args[2:]] if kind == "run" and early in args else args

    ctx = make_ctx(root, cache_dir=tmp_path / "cache")
    route_runs(ctx, lambda _: None, broken)
    result = LintChecker().run(section(LintChecker), ctx)
    by_name = [a for a in runs if not {"--show-files", "--version", "ls-files", "--force-exclude"} & set(a) and early not in a]
    listed = [a for a in by_name if "--ignore-noqa" not in a]
    assert [sorted(a[a.index("--") + 1 :]) for a in listed] == [
        sorted(str(root / f) for f in ("app.py", "clean.py", "pyproject.toml"))
    ]
    assert comparable(result) == comparable(reference) and keys(result) == ruff_by_hand(root)
    assert not process._LIVE


def test_git_lists_the_tracked_files_while_ruff_is_located(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", PROJECT)
    git_init(root)
    ctx = make_ctx(root, cache_dir=tmp_path / "cache")
    locate = ctx.tool
    running: list[list[str]] = []

    def tool(*args: Any, **kwargs: Any) -> Any:
        with process._LIVE_LOCK:
            running.extend([str(a) for a in p.args] for p in process._LIVE)
        return locate(*args, **kwargs)

    object.__setattr__(ctx, "tool", tool)
    result = LintChecker().run(section(LintChecker), ctx)
    assert [a for a in running if "ls-files" in a]  # started before ruff was located
    assert keys(result) == ruff_by_hand(root) and not process._LIVE


def test_a_file_wrongly_guessed_excluded_is_checked_by_name_after_the_listing(tmp_path: Path, make_ctx: Any) -> None:
    """The early run leaves out the files the project's exclude patterns look to leave out, a guess:
    here the root's ``exclude = []`` replaces the extended file's, so ruff lints ``legacy/`` after all.
    The file is checked by name once the listing names it, and the check reports what ruff by hand does."""
    root = write(
        tmp_path / "p",
        {
            "configs/base.toml": 'exclude = ["legacy"]\n',
            "ruff.toml": 'extend = "configs/base.toml"\nexclude = []\n[lint]\nselect = ["F"]\n',
            "app.py": "import os\n",
            "legacy/old.py": "import json\n",
        },
    )
    git_init(root)
    ctx = make_ctx(root, cache_dir=tmp_path / "cache")
    runs: list[list[str]] = []
    route_runs(ctx, lambda _: None, lambda _, args: runs.append(args) or args)
    result = LintChecker().run(section(LintChecker), ctx)
    checked = [a for a in runs if not {"--show-files", "--version", "ls-files", "--force-exclude", "--ignore-noqa"} & set(a)]
    first, *later = [a[a.index("--") + 1 :] for a in checked]
    assert str(root / "app.py") in first and str(root / "legacy" / "old.py") not in first
    assert later == [[str(root / "legacy" / "old.py")]]
    assert keys(result) == ruff_by_hand(root) == {("F401", "app.py", 1), ("F401", "legacy/old.py", 1)}
    assert not process._LIVE


def test_a_cold_check_starts_the_ignore_noqa_run_beside_the_listing_too(tmp_path: Path, make_ctx: Any) -> None:
    """The tracked files with a suppression comment are checked with ``--ignore-noqa`` beside the
    listing (for a small project that run ended last, started only once the listing had); what the
    comments hid is what ruff by hand reports with ``--ignore-noqa`` and not without."""
    root = write(tmp_path / "p", PROJECT)
    git_init(root)
    reference = LintChecker().run(section(LintChecker), make_ctx(root))  # no cache: no early run
    ctx = make_ctx(root, cache_dir=tmp_path / "cold")
    meeting = threading.Barrier(2, timeout=20)  # the listing waits for the --ignore-noqa run to start
    runs: list[list[str]] = []

    def before(kind: str) -> None:
        if kind in ("listing", "--ignore-noqa run"):
            meeting.wait()

    route_runs(ctx, before, lambda _, args: runs.append(args) or args)
    result = LintChecker().run(section(LintChecker), ctx)
    assert not meeting.broken and not process._LIVE
    (noqa,) = [a[a.index("--") + 1 :] for a in runs if "--ignore-noqa" in a]
    assert noqa == [str(root / "app.py")]
    hidden = ruff_by_hand(root, "--ignore-noqa") - ruff_by_hand(root)
    assert result.metrics["suppressed"] == len(hidden) == 1
    assert comparable(result) == comparable(reference)
