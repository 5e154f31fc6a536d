"""The tests a pytest run under ``checks.coverage.run`` ran, as pytest itself counts them: with subtests
and with pytest-xdist's workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.coverage import CoverageChecker
from gatekeeper.findings import Status
from tests.checkers.coverage.test_checker import BRANCHY, TESTS, report_json, report_total, write_project
from tests.helpers.narrowing import assert_reported
from tests.helpers.projects import PYTHON, run_tool, section

pytestmark = pytest.mark.usefixtures("own_coverage_settings")

SUBTESTS = """

import unittest


class TestSigns(unittest.TestCase):
    def test_each(self):
        for value in (1, 2, 3):
            with self.subTest(value=value):
                self.assertEqual(sign(value), 1)
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["in-process", "xdist"])
def test_subtests_are_counted_with_their_test_not_as_tests(tmp_path: Path, make_ctx: Any, workers: list[str]) -> None:
    """pytest reports each ``subTest`` beside its test ("3 passed, 3 subtests passed"): the run ran
    three tests, not six."""
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_pkg.py").write_text(TESTS + SUBTESTS)
    command = ["pytest", "-q", "-p", "no:cacheprovider", *workers]
    by_hand = run_tool([PYTHON, "-m", *command], root)
    assert "3 passed" in by_hand.stdout and "3 subtests passed" in by_hand.stdout
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=command), make_ctx(root))
    counts = result.metrics["tests"]["pytest"]
    assert (counts["collected"], counts["ran"], counts["skipped"]) == (3, 3, 0)
    assert counts["workers"] == (2 if workers else 0)


def test_modules_skipped_as_they_are_collected_count_as_pytest_counts_them(tmp_path: Path, make_ctx: Any) -> None:
    """A test package whose ``__init__`` raises ``unittest.SkipTest`` (an optional dependency missing)
    skips each of its modules at collection: pytest's summary counts every one ("3 skipped" with a
    skip mark), and so do the figures and the narrowing record."""
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_pkg.py").write_text(TESTS + "\n\n@pytest.mark.skip\ndef test_later():\n    pass\n")
    (root / "test_pkg.py").write_text("import pytest\n" + (root / "test_pkg.py").read_text())
    (root / "tests_optional").mkdir()
    (root / "tests_optional" / "__init__.py").write_text("import unittest\n\nraise unittest.SkipTest('no such parser')\n")
    for name in ("test_a.py", "test_b.py"):
        (root / "tests_optional" / name).write_text("def test_x():\n    pass\n")
    command = ["pytest", "-p", "no:cacheprovider", ".", "tests_optional/test_a.py", "tests_optional/test_b.py"]
    by_hand = run_tool([PYTHON, "-m", *command], root)
    assert "2 passed, 3 skipped" in by_hand.stdout
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=command), make_ctx(root))
    counts = result.metrics["tests"]["pytest"]
    assert (counts["ran"], counts["skipped"], counts["deselected"]) == (2, 3, 0)
    (record,) = [n for n in result.narrowing if "skipped" in n.detail]
    assert record.detail == "pytest deselected 0 tests and skipped 3"
    assert result.status is Status.PASS


def test_tests_xdist_workers_deselected_are_reported_though_not_counted(tmp_path: Path, make_ctx: Any) -> None:
    """With ``-n 2`` the workers deselect (``addopts = --deselect``) and tell no one: pytest's summary
    no longer says "1 deselected", yet the failing test did not run; the narrowing record names the
    option that took it out."""
    root = write_project(tmp_path / "p", BRANCHY.replace("branch = true", 'branch = true\npatch = ["subprocess"]'))
    (root / "test_pkg.py").write_text(TESTS + "\n\ndef test_broken():\n    assert add(2, 2) == 5\n")
    (root / "pytest.ini").write_text("[pytest]\naddopts = --deselect test_pkg.py::test_broken\n")
    command = ["pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
    by_hand = run_tool([PYTHON, "-m", *command], root)
    assert "2 passed" in by_hand.stdout and "deselected" not in by_hand.stdout
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=command), make_ctx(root))
    assert result.metrics["tests"]["passed"] and result.metrics["tests"]["pytest"]["ran"] == 2
    (record,) = [n for n in result.narrowing if "deselected" in n.detail]
    assert record.kind == "option"
    assert record.detail == (
        "pytest-xdist's workers deselected the tests --deselect test_pkg.py::test_broken leaves out (not counted) and skipped 0"
    )
    assert_reported(result, record)
    assert result.status is Status.PASS


def test_a_run_whose_xdist_workers_measured_nothing_says_why_it_has_no_data(tmp_path: Path, make_ctx: Any) -> None:
    """``coverage run -m pytest -n 2`` without a ``source`` setting: the controller runs no test and
    the workers are not measured, so the data has no measured file; the error says that the workers
    ran the tests unmeasured and what to do, and doing it measures them."""
    root = write_project(tmp_path / "p", "")
    command = ["pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=command), make_ctx(root))
    assert result.status is Status.ERROR and result.error is not None
    said = "the coverage data of the test run has no measured files: 2 of the 2 pytest-xdist workers that ran the tests"
    assert result.error.startswith(said)
    assert 'set [run] patch = ["subprocess"]' in result.error
    (root / "pyproject.toml").write_text('[tool.coverage.run]\npatch = ["subprocess"]\n')
    result = checker.run(section(checker, min_total=0.0, run=command), make_ctx(root))
    assert result.status is Status.PASS and result.metrics["statements"] > 0
    run_tool([PYTHON, "-m", "coverage", "run", "-m", *command], root)
    run_tool([PYTHON, "-m", "coverage", "combine", "-q"], root, check=False)
    assert f"{result.metrics['total']:.0f}" == report_total(root)


def test_counting_the_tests_leaves_the_figures_as_coverage_run_gives_them_by_hand(tmp_path: Path, make_ctx: Any) -> None:
    """A project that measures a standard library package (``source`` names it, or ``cover_pylib``)
    gets the figures ``coverage run -m pytest`` gives: the counting plugin runs no code of it while
    coverage.py measures (it wrote its line with ``json``, whose encoder then counted as run)."""
    root = write_project(tmp_path / "p", '[tool.coverage.run]\nsource = ["pkg", "json"]\n')
    command = ["pytest", "-q", "-p", "no:cacheprovider"]
    run_tool([PYTHON, "-m", "coverage", "run", "-m", *command], root)
    by_hand = report_json(root)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=command), make_ctx(root))
    assert result.metrics["tests"]["pytest"]["ran"] == 2
    measured = {f["path"].rsplit("python3", 1)[-1]: (f["statements"], f["missing"]) for f in result.metrics["files"]}
    expected = {
        path.rsplit("python3", 1)[-1]: (f["summary"]["num_statements"], f["summary"]["missing_lines"])
        for path, f in by_hand["files"].items()
    }
    assert any("json/encoder.py" in path for path in expected)
    assert measured == expected
    assert result.metrics["total_exact"] == by_hand["totals"]["percent_covered"]


FLAKY = """

ATTEMPTS = []


def test_flaky():
    ATTEMPTS.append(1)
    assert len(ATTEMPTS) > 1, "the first attempt fails"
"""


def test_a_test_pytest_rerunfailures_ran_again_counts_once(tmp_path: Path, make_ctx: Any) -> None:
    """pytest-rerunfailures (``--reruns 2``) runs a failed test again and reports each failed attempt
    as a "rerun": pytest says "3 passed, 1 rerun", and the run ran three tests, not four."""
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_pkg.py").write_text(TESTS + FLAKY)
    command = ["pytest", "-q", "-p", "no:cacheprovider", "--reruns", "2"]
    by_hand = run_tool([PYTHON, "-m", *command], root)
    assert "3 passed, 1 rerun" in by_hand.stdout
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=command), make_ctx(root))
    assert result.metrics["tests"]["passed"] is True
    counts = result.metrics["tests"]["pytest"]
    assert (counts["collected"], counts["ran"], counts["skipped"]) == (3, 3, 0)


GENERATES = """\
import importlib
import pathlib


def test_generates():
    path = pathlib.Path(__file__).parent / "pkg" / "_gen_big.py"
    path.write_text("".join(f"v{i} = {i}\\n" for i in range(2000)))
    importlib.import_module("pkg._gen_big")
"""


def test_code_the_tests_write_and_run_is_not_counted_in_the_figures(tmp_path: Path, make_ctx: Any) -> None:
    """A test writes a module under a ``.gitignore``d name and imports it: its 2,000 run lines lifted
    the total from about half to 99% (as ``coverage report`` by hand says of that run), and no
    comparison of the checkout saw the file (git ignores it). The figures over it are an error naming it."""
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_gen.py").write_text(GENERATES)
    (root / ".gitignore").write_text("pkg/_gen*.py\n")
    command = ["pytest", "-q", "-p", "no:cacheprovider"]
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=90.0, run=command), make_ctx(root))
    assert result.status is Status.ERROR and result.error is not None
    assert "the test run wrote 1 file(s) of the checkout that the coverage figures count: pkg/_gen_big.py" in result.error
    assert result.metrics["tests"]["passed"]
    # by hand, the same run's total counts the generated module
    run_tool([PYTHON, "-m", "coverage", "run", "-m", *command], root)
    assert float(report_total(root)) >= 95
    (root / "pkg" / "_gen_big.py").unlink()
    (root / "test_gen.py").unlink()
    result = checker.run(section(checker, min_total=0.0, run=command), make_ctx(root))
    assert result.status is Status.PASS
