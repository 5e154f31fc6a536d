"""Per-file coverage analyses reused from the cache: only changed files are analysed again, and the
result is the one an uncached analysis gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.coverage import CoverageChecker
from gatekeeper.findings import CheckResult
from tests.checkers.coverage.test_checker import BRANCHY, CALC, TESTS, write_project
from tests.helpers.projects import section

pytestmark = pytest.mark.usefixtures("own_coverage_settings")

RUN = ["pytest", "-q", "-p", "no:cacheprovider"]
#: metrics that say how the figures were obtained, not what they are
HOW = ("cached", "cache_rejected", "files_reused", "tests")


def figures(result: CheckResult) -> tuple[Any, ...]:
    """Everything the check reports except how it got there: status, summary, findings, metrics."""
    metrics = {k: v for k, v in result.metrics.items() if k not in HOW}
    return result.status, result.summary, result.findings, metrics


def test_a_new_test_run_reanalyses_only_the_files_that_changed(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "proj", BRANCHY)
    cache_dir = tmp_path / "cache"
    checker = CoverageChecker()

    def cached() -> CheckResult:
        return checker.run(section(checker, min_total=0, min_file=50, run=RUN), make_ctx(root, cache_dir=cache_dir))

    def uncached() -> CheckResult:
        return checker.run(section(checker, min_total=0, min_file=50, run=RUN), make_ctx(root))

    first = cached()
    assert first.metrics["files_reused"] == 0
    measured = len(first.metrics["files"])
    assert measured == 3  # pkg/__init__.py, calc.py, text.py (generated.py is omitted)
    # a new run of the same tests: new data file, the same lines recorded, nothing parsed again
    second = cached()
    assert second.metrics["files_reused"] == measured
    assert figures(second) == figures(first) == figures(uncached())
    # each test run writes new data: only the per-file analyses are kept, one entry, not one per run
    assert len(list((cache_dir / "coverage").rglob("*.json"))) == 1

    # one source file changes: only that one is analysed again, and the figures are an uncached run's
    calc = root / "pkg" / "calc.py"
    calc.write_text(CALC.replace("def unused():\n    y = 1\n    return y\n", "def unused():\n    return 2\n"))
    third = cached()
    assert third.metrics["files_reused"] == measured - 1
    assert figures(third) == figures(uncached())
    assert figures(third) != figures(first)

    # the tests change what runs in calc.py (its source is the same): its recorded lines differ, so it is analysed again
    (root / "test_pkg.py").write_text(TESTS + "\n\ndef test_more():\n    assert sign(-3) == -1\n    assert sign(0) == 0\n")
    fourth = cached()
    assert fourth.metrics["files_reused"] == measured - 1
    assert figures(fourth) == figures(uncached())
    assert fourth.metrics["missing"] < third.metrics["missing"]

    # the configuration changes (precision): nothing is reused
    (root / "pyproject.toml").write_text(BRANCHY.replace("precision = 2", "precision = 1"))
    fifth = cached()
    assert fifth.metrics["files_reused"] == 0 and fifth.metrics["precision"] == 1
    assert figures(fifth) == figures(uncached())


def test_a_tampered_entry_is_rejected_and_recomputed(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "proj", BRANCHY)
    cache_dir = tmp_path / "cache"
    checker = CoverageChecker()

    def cached() -> CheckResult:
        return checker.run(section(checker, min_total=0, run=RUN), make_ctx(root, cache_dir=cache_dir))

    honest = cached()
    # someone rewrites the kept analyses to claim every statement of every file ran
    entries = [p for p in (cache_dir / "coverage").rglob("*.json") if '"numbers"' in p.read_text()]
    assert entries
    for entry in entries:
        entry.write_text(entry.read_text().replace('"missing_lines":[', '"missing_lines":[0,'))
    again = cached()
    assert again.metrics["files_reused"] == 0 and again.metrics["cache_rejected"] >= 1
    assert figures(again) == figures(honest)
