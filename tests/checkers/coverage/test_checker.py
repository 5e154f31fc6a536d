"""The coverage checker against coverage.py run by hand on small projects built here."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.coverage import CoverageChecker
from gatekeeper.checkers.coverage.patch import line_ranges, parse_diff
from gatekeeper.console import Console
from gatekeeper.errors import ToolError
from gatekeeper.findings import GateResult, Status, Verdict
from tests.helpers.dists import bare_venv
from tests.helpers.env import clean_env
from tests.helpers.narrowing import assert_reported
from tests.helpers.projects import PYTHON, git_init, run_tool, section

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = pytest.mark.usefixtures("own_coverage_settings")

CALC = """\
def add(a, b):
    return a + b


def sign(x):
    if x > 0:
        return 1
    elif x < 0:
        return -1
    return 0


def clamp(x, low, high):
    if x < low:
        x = low
    if x > high:
        x = high
    return x


def unused():
    y = 1
    return y
"""

TEXT = """\
def shout(s):
    return s.upper()


def whisper(s):
    return s.lower()
"""

TESTS = """\
from pkg.calc import add, clamp, sign
from pkg.text import shout


def test_calc():
    assert add(1, 2) == 3
    assert sign(5) == 1
    assert clamp(5, 0, 10) == 5
    assert clamp(-1, 0, 3) == 0


def test_text():
    assert shout("a") == "A"
"""


def write_project(root: Path, config: str) -> Path:
    """A package with partly covered modules, its tests, and a coverage configuration."""
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "calc.py").write_text(CALC)
    (root / "pkg" / "text.py").write_text(TEXT)
    (root / "pkg" / "generated.py").write_text("def g():\n    return 1\n")
    (root / "test_pkg.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(config)
    return root


def measure(root: Path) -> None:
    run_tool([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], root)


def report_total(root: Path) -> str:
    """The TOTAL of ``coverage report``, as it prints it."""
    return run_tool([PYTHON, "-m", "coverage", "report", "--format=total"], root).stdout.strip()


def report_json(root: Path) -> dict[str, Any]:
    run_tool([PYTHON, "-m", "coverage", "json", "-q", "-o", "reference.json"], root)
    data: dict[str, Any] = json.loads((root / "reference.json").read_text())
    (root / "reference.json").unlink()
    return data


BRANCHY = """\
[tool.coverage.run]
branch = true
source = ["pkg"]
omit = ["pkg/generated.py"]

[tool.coverage.report]
precision = 2
"""


@pytest.fixture(scope="module")
def branchy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("branchy"), BRANCHY)
    measure(root)
    return root


def test_total_and_files_equal_coverage_report_with_branches_precision_and_omit(branchy: Path, make_ctx: Any) -> None:
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(branchy))
    reference = report_json(branchy)
    assert result.status is Status.PASS
    assert result.metrics["branch"] is True
    assert result.metrics["precision"] == 2
    # the same number `coverage report` prints, to its configured precision
    assert f"{result.metrics['total']:.2f}" == report_total(branchy)
    assert result.metrics["total"] == float(reference["totals"]["percent_covered_display"])
    assert result.metrics["branches"] == reference["totals"]["num_branches"] > 0
    files = {f["path"]: f["percent"] for f in result.metrics["files"]}
    assert files == {name: float(entry["summary"]["percent_covered_display"]) for name, entry in reference["files"].items()}
    assert "pkg/generated.py" not in files  # omitted by the project's configuration
    assert result.summary.startswith(f"total {report_total(branchy)}%")


def test_thresholds_block_with_findings_that_name_the_numbers(branchy: Path, make_ctx: Any) -> None:
    checker = CoverageChecker()
    total = report_total(branchy)
    reference = report_json(branchy)
    result = checker.run(section(checker, min_total=99.0, min_file=90.0), make_ctx(branchy))
    assert result.status is Status.FAIL
    by_rule = {}
    for finding in result.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    (total_finding,) = by_rule["coverage.min_total"]
    assert total_finding.blocking
    assert total_finding.message == f"total coverage {total}% is below the minimum 99%"
    below = sorted(
        name for name, entry in reference["files"].items() if float(entry["summary"]["percent_covered_display"]) < 90.0
    )
    assert sorted(f.location.path for f in by_rule["coverage.min_file"] if f.location) == below
    assert below  # the project is built so that some files are below 90%

    ok = checker.run(section(checker, min_total=float(total) - 1, min_file=1.0), make_ctx(branchy))
    assert ok.status is Status.PASS and not ok.findings


def test_json_and_xml_reports_give_the_same_numbers(branchy: Path, make_ctx: Any, tmp_path: Path) -> None:
    checker = CoverageChecker()
    from_data = checker.run(section(checker, min_total=0.0), make_ctx(branchy))
    run_tool([PYTHON, "-m", "coverage", "json", "-q", "-o", str(tmp_path / "cov.json")], branchy)
    run_tool([PYTHON, "-m", "coverage", "xml", "-q", "-o", str(tmp_path / "cov.xml")], branchy)
    for name, source in (("cov.json", "coverage-json"), ("cov.xml", "cobertura")):
        shutil.copy(tmp_path / name, branchy / name)
        try:
            result = checker.run(section(checker, min_total=0.0, data_file=name), make_ctx(branchy))
        finally:
            (branchy / name).unlink()
        assert result.metrics["source"] == source
        assert result.metrics["total"] == from_data.metrics["total"], name
        assert result.metrics["branch"] is True
        assert [f["path"] for f in result.metrics["files"]] == [f["path"] for f in from_data.metrics["files"]]
        assert [f["percent"] for f in result.metrics["files"]] == [f["percent"] for f in from_data.metrics["files"]], name


def test_discovery_falls_back_to_coverage_json(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "p", "[tool.coverage.run]\nsource = ['pkg']\n")
    measure(root)
    run_tool([PYTHON, "-m", "coverage", "json", "-q"], root)  # writes coverage.json
    expected = report_total(root)
    (root / ".coverage").unlink()
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert result.metrics["source"] == "coverage-json"
    assert result.metrics["data_file"] == "coverage.json"
    assert result.metrics["total"] == float(expected)
    assert result.metrics["branch"] is False


def test_default_precision_and_statement_coverage(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "p", "[tool.coverage.run]\nsource = ['pkg']\n")
    measure(root)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert result.metrics["precision"] == 0
    assert result.metrics["branch"] is False
    assert f"{result.metrics['total']:.0f}" == report_total(root)
    # generated.py is not omitted here, and is never imported: 0%, as coverage reports it
    files = {f["path"]: f["percent"] for f in result.metrics["files"]}
    assert files["pkg/generated.py"] == 0.0


def test_missing_corrupt_and_foreign_data_are_errors_that_say_what_to_do(tmp_path: Path, make_ctx: Any) -> None:
    checker = CoverageChecker()
    root = write_project(tmp_path / "p", "[tool.coverage.run]\nsource = ['pkg']\n")
    with pytest.raises(ToolError, match=r"run the tests under coverage first"):
        checker.run(section(checker), make_ctx(root))
    with pytest.raises(ToolError, match=r"coverage data file nothere.json not found"):
        checker.run(section(checker, data_file="nothere.json"), make_ctx(root))

    (root / ".coverage").write_bytes(b"this is not a coverage database\n" * 10)
    with pytest.raises(ToolError, match=r"cannot read coverage data .*delete it and run the tests under coverage again"):
        checker.run(section(checker), make_ctx(root))
    (root / "coverage.json").write_text("{not json")
    with pytest.raises(ToolError, match=r"coverage.json is not a readable coverage.py JSON report"):
        checker.run(section(checker, data_file="coverage.json"), make_ctx(root))
    (root / "coverage.xml").write_text("<coverage><unclosed></coverage>")
    with pytest.raises(ToolError, match=r"coverage.xml is not a readable Cobertura coverage report"):
        checker.run(section(checker, data_file="coverage.xml"), make_ctx(root))

    # data measured in one checkout, read in another one that has different files
    other = write_project(tmp_path / "other", "[tool.coverage.run]\nsource = ['pkg']\n")
    measure(other)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pyproject.toml").write_text("[tool.coverage.run]\nsource = ['pkg']\n")
    shutil.copy(other / ".coverage", elsewhere / ".coverage")
    shutil.rmtree(other)
    with pytest.raises(ToolError, match=r"measured in another source tree"):
        checker.run(section(checker), make_ctx(elsewhere))


def test_run_option_runs_the_tests_under_coverage(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "p", BRANCHY)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["pytest", "-q", "-p", "no:cacheprovider"]), make_ctx(root))
    assert not list(root.glob(".coverage*"))  # the data went to a private folder, not into the checkout
    assert result.status is Status.PASS
    assert result.metrics["data_file"] == "checks.coverage.run"
    measure(root)
    assert f"{result.metrics['total']:.2f}" == report_total(root)

    (root / "test_pkg.py").write_text(TESTS + "\n\ndef test_broken():\n    assert add(2, 2) == 5\n")
    (root / ".coverage").unlink()
    failed = checker.run(section(checker, min_total=0.0, run=["pytest", "-q", "-p", "no:cacheprovider"]), make_ctx(root))
    assert failed.status is Status.FAIL
    (finding,) = [f for f in failed.findings if f.rule_id == "coverage.tests_failed"]
    assert finding.blocking and "exited with 1" in finding.message
    # pytest's FAILED line comes first, on a line of its own (not after a literal "\n")
    assert finding.message.splitlines()[1].startswith("FAILED test_pkg.py::test_broken")
    assert "passed" in finding.properties["output_tail"].splitlines()[-1]
    run_tool([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], root, check=False)
    assert f"{failed.metrics['total']:.2f}" == report_total(root)  # the data of the failed run is still read


def test_run_option_names_the_unittest_tests_that_failed(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_pkg.py").write_text(
        "import unittest\n\nfrom pkg.calc import add, sign\n\n\nclass CalcTest(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(2, 2), 5)\n\n"
        "    def test_sign(self):\n        self.assertEqual(sign(1), 1)\n\n"
        "    def test_broken(self):\n        raise RuntimeError('boom')\n"
    )
    by_hand = run_tool([PYTHON, "-m", "unittest"], root, check=False)
    assert by_hand.returncode == 1 and "FAILED (failures=1, errors=1)" in by_hand.stderr
    checker = CoverageChecker()
    failed = checker.run(section(checker, min_total=0.0, run=["python", "-m", "unittest"]), make_ctx(root))
    (finding,) = [f for f in failed.findings if f.rule_id == "coverage.tests_failed"]
    assert finding.blocking and failed.status is Status.FAIL
    # unittest's heading of each failed test, then its verdict: the reader sees which tests failed
    lines = finding.message.splitlines()[1:]
    assert [line.lstrip("| ").split(" (")[0] for line in lines] == ["ERROR: test_broken", "FAIL: test_add", "FAILED"]
    assert lines[-1].endswith("FAILED (failures=1, errors=1)")


def test_run_option_fails_a_unittest_run_that_found_no_test(tmp_path: Path, make_ctx: Any) -> None:
    # unittest's default pattern is test*.py: calc_test.py is never found, and unittest says OK
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_pkg.py").unlink()
    (root / "pkg" / "calc_test.py").write_text(
        "import unittest\n\nfrom pkg.calc import add\n\n\nclass CalcTest(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(2, 2), 4)\n"
    )
    by_hand = run_tool([PYTHON, "-m", "coverage", "run", "-m", "unittest"], root)
    assert by_hand.returncode == 0 and "Ran 0 tests" in by_hand.stderr
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["python", "-m", "unittest"]), make_ctx(root))
    # by hand, coverage report lists [run] source's files unexecuted, at 0%: the data measured no line,
    # an error that keeps the test run's own finding
    assert report_total(root) == "0.00"
    assert result.status is Status.ERROR and result.error is not None and "has no measured line" in result.error
    (finding,) = [f for f in result.findings if f.rule_id == "coverage.tests_failed"]
    assert finding.blocking and "ran no test" in finding.message
    assert result.metrics["tests"]["passed"] is False and result.metrics["tests"]["returncode"] == 0
    found = checker.run(
        section(checker, min_total=0.0, run=["python", "-m", "unittest", "discover", "-p", "*_test.py"]), make_ctx(root)
    )
    assert found.status is Status.PASS and found.metrics["tests"]["passed"] is True


def test_run_option_fails_a_unittest_run_that_skipped_every_test(tmp_path: Path, make_ctx: Any) -> None:
    # a skip on the only test class: unittest runs 2 tests, skips both and says OK
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_pkg.py").write_text(
        "import unittest\n\nfrom pkg.calc import add\n\n\n@unittest.skip('later')\nclass CalcTest(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(2, 2), 5)\n\n    def test_more(self):\n        assert False\n"
    )
    by_hand = run_tool([PYTHON, "-m", "coverage", "run", "-m", "unittest"], root)
    assert by_hand.returncode == 0 and "Ran 2 tests" in by_hand.stderr and "OK (skipped=2)" in by_hand.stderr
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["python", "-m", "unittest"]), make_ctx(root))
    assert f"{result.metrics['total']:.2f}" == report_total(root)
    (finding,) = [f for f in result.findings if f.rule_id == "coverage.tests_failed"]
    assert finding.blocking and result.status is Status.FAIL and "ran no test (unittest skipped all 2)" in finding.message


def test_run_option_reports_the_tests_unittest_skipped(tmp_path: Path, make_ctx: Any) -> None:
    """A unittest run that passes with a skipped test says so, as a pytest run's skips are: the skipped
    test's failure cannot fail the check, and the code only it reaches counts as not covered."""
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_pkg.py").write_text(
        "import unittest\n\nfrom pkg.calc import add, sign\n\n\nclass CalcTest(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(2, 2), 4)\n\n"
        "    @unittest.skipIf(True, 'not on this platform')\n"
        "    def test_sign(self):\n        self.assertEqual(sign(1), 2)\n"
    )
    by_hand = run_tool([PYTHON, "-m", "coverage", "run", "-m", "unittest"], root)
    assert "Ran 2 tests" in by_hand.stderr and "OK (skipped=1)" in by_hand.stderr
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["python", "-m", "unittest"]), make_ctx(root))
    assert result.status is Status.PASS and f"{result.metrics['total']:.2f}" == report_total(root)
    (record,) = [n for n in result.narrowing if n.kind == "option"]
    assert record.detail == "unittest skipped 1 of the 2 tests it ran"
    assert "a failure in them cannot fail the check" in record.effect
    (root / "test_pkg.py").write_text(
        (root / "test_pkg.py").read_text().replace("    @unittest.skipIf(True, 'not on this platform')\n", "")
    )
    failed = checker.run(section(checker, min_total=0.0, run=["python", "-m", "unittest"]), make_ctx(root))
    assert failed.status is Status.FAIL and not [n for n in failed.narrowing if n.kind == "option"]


@pytest.mark.parametrize("named", [False, True], ids=["discovered", "data_file"])
def test_a_data_file_with_parallel_files_beside_it_is_read_as_coverage_report_reads_them(
    tmp_path: Path, make_ctx: Any, named: bool
) -> None:
    """A .coverage combined from an earlier run of one test, then parallel files from a run of them
    all: coverage report (7.14 and later) combines the parallel files into the data file before it
    reports, so the figures are those of both, never those of the .coverage alone."""
    root = write_project(tmp_path / "p", BRANCHY.replace("branch = true", "branch = true\nparallel = true"))
    run_tool([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "test_text"], root)
    run_tool([PYTHON, "-m", "coverage", "combine", "-q"], root)
    measure(root)
    files = {p.name: p.read_bytes() for p in root.glob(".coverage*")}
    assert len(files) == 2  # .coverage and one parallel file
    by_hand = tmp_path / "by-hand"
    shutil.copytree(root, by_hand)
    stale = tmp_path / "stale"
    shutil.copytree(root, stale)
    for path in stale.glob(".coverage.*"):
        path.unlink()
    assert report_total(stale) == "24.14"  # the earlier run's .coverage alone
    expected = report_total(by_hand)  # combines the parallel file into .coverage, then reports

    checker = CoverageChecker()
    options = {"data_file": ".coverage"} if named else {}
    result = checker.run(section(checker, min_total=0.0, **options), make_ctx(root))

    assert (f"{result.metrics['total']:.2f}", expected) == ("62.07", "62.07")
    label = ".coverage and 1 parallel data files (.coverage.*), combined as coverage report 7."
    assert result.metrics["data_file"].startswith(label)
    assert {p.name: p.read_bytes() for p in root.glob(".coverage*")} == files  # the user's files stay as they were


def test_only_coverage_report_7_14_and_later_reads_the_parallel_files_beside_the_data_file() -> None:
    from gatekeeper.checkers.coverage.data import report_combines

    assert [report_combines(v) for v in ("7.4.0", "7.13.5", "7.14.0", "7.18.0", "8.0")] == [False, False, True, True, True]


@pytest.mark.parametrize("patched", [False, True], ids=["workers-unmeasured", "patch-subprocess"])
def test_a_run_whose_xdist_workers_were_not_measured_says_so(tmp_path: Path, make_ctx: Any, patched: bool) -> None:
    """``coverage run -m pytest -n 2`` measures the controller alone, which runs no test: by hand,
    coverage report lists ``source``'s files unexecuted, at 0%; the check is an error saying that the
    workers ran the tests unmeasured. With ``patch = ["subprocess"]`` the workers are measured, the
    figure is coverage.py's and nothing is said."""
    config = BRANCHY
    if patched:
        config = config.replace("branch = true", 'branch = true\npatch = ["subprocess"]')
    root = write_project(tmp_path / "p", config)
    command = ["pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=command), make_ctx(root))
    run_tool([PYTHON, "-m", "coverage", "run", "-m", *command], root)
    run_tool([PYTHON, "-m", "coverage", "combine", "-q"], root, check=False)  # patched: the workers' files
    assert result.metrics["tests"]["pytest"]["workers"] == 2 and result.metrics["tests"]["passed"]
    note = "2 of the 2 pytest-xdist workers that ran the tests wrote no coverage data (coverage run measures its own process"
    if patched:
        assert f"{result.metrics['total']:.2f}" == report_total(root)
        assert note not in result.summary and result.metrics["total"] > 50
    else:
        assert report_total(root) == "0.00"
        assert result.status is Status.ERROR and result.error is not None
        assert "has no measured line" in result.error and note in result.error


def test_data_that_measured_only_an_installed_copy_is_an_error_until_paths_maps_it(tmp_path: Path, make_ctx: Any) -> None:
    """Tests run against a copy of the code outside the checkout (a virtualenv that installed the
    project with ``pip install .``): coverage report totals the copy's files, none of them the
    checkout's. That is an error naming the cure; once ``[paths]`` maps the copy onto the sources,
    the figures are coverage report's, on the checkout's files."""
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "calc.py").write_text(CALC)
    copy = tmp_path / "venv" / "site-packages"
    shutil.copytree(root / "pkg", copy / "pkg")
    (root / "run_tests.py").write_text(
        "import os, sys\nsys.path.insert(0, os.environ['SITE'])\nfrom pkg.calc import add, sign\n"
        "assert add(1, 2) == 3 and sign(5) == 1\n"
    )
    (root / "pyproject.toml").write_text('[tool.coverage.run]\nomit = ["run_tests.py"]\n')
    env = clean_env({"SITE": str(copy)}, coverage=False)
    subprocess.run([PYTHON, "-m", "coverage", "run", "run_tests.py"], cwd=root, env=env, check=True, capture_output=True)
    files = report_json(root)["files"]
    assert sorted(files) == [str(copy / "pkg" / "__init__.py"), str(copy / "pkg" / "calc.py")]  # the copy's, by hand too
    checker = CoverageChecker()
    with pytest.raises(ToolError) as refused:
        checker.run(section(checker, min_total=0.0), make_ctx(root))
    said = str(refused.value)
    assert said.startswith("the coverage data measured no file of this checkout: all 2 files it reports lie outside")
    assert "or map the copy onto the sources with a [paths] section" in said
    with (root / "pyproject.toml").open("a") as config:
        config.write('[tool.coverage.paths]\nsource = ["pkg/", "*/site-packages/pkg/"]\n')
    mapped = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert [f["path"] for f in mapped.metrics["files"]] == ["pkg/__init__.py", "pkg/calc.py"]
    assert f"{mapped.metrics['total']:.0f}" == report_total(root)


@pytest.mark.slow
def test_data_that_measured_only_the_tests_of_an_installed_copy_is_an_error(tmp_path: Path, make_ctx: Any) -> None:
    """humanize's shape: a tests/ package run against ``pip install .`` (a copy in the environment's
    site-packages, which coverage.py leaves out as third-party). coverage report totals the test
    modules alone (100% here, none of the code under test); the check is an error naming the cure,
    and once ``[run] source`` names the package and ``[paths]`` maps the copy onto src/, the figures
    are coverage report's, the code's files among them."""
    python, site = bare_venv(tmp_path / "env")
    root = tmp_path / "proj"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "calc.py").write_text(CALC)
    (root / "tests").mkdir()
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "run_calc.py").write_text("from pkg.calc import add, sign\nassert add(1, 2) == 3 and sign(5) == 1\n")
    shutil.copytree(root / "src" / "pkg", site / "pkg")
    (root / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    git_init(root)
    own = Path(run_tool([PYTHON, "-c", "import coverage, os; print(os.path.dirname(coverage.__path__[0]))"], root).stdout.strip())
    env = clean_env({"PYTHONPATH": str(own)}, coverage=False)  # coverage.py for the bare venv's interpreter
    subprocess.run([python, "-m", "coverage", "run", "-m", "tests.run_calc"], cwd=root, env=env, check=True, capture_output=True)
    assert sorted(report_json(root)["files"]) == ["tests/__init__.py", "tests/run_calc.py"]  # by hand: the tests alone
    assert report_total(root) == "100"
    checker = CoverageChecker()
    with pytest.raises(ToolError) as refused:
        checker.run(section(checker, min_total=0.0), make_ctx(root))
    said = str(refused.value)
    assert said.startswith("the coverage data measured only test modules of this checkout (2: tests/__init__.py")
    assert "none of its 2 package modules (e.g. src/pkg/__init__.py)" in said and "pip install -e ." in said
    with (root / "pyproject.toml").open("a") as config:
        config.write(
            '[tool.coverage.run]\nsource_pkgs = ["pkg", "tests"]\n[tool.coverage.paths]\nsource = ["src/", "*/site-packages/"]\n'
        )
    subprocess.run([python, "-m", "coverage", "run", "-m", "tests.run_calc"], cwd=root, env=env, check=True, capture_output=True)
    mapped = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert [f["path"] for f in mapped.metrics["files"]] == [
        "src/pkg/__init__.py",
        "src/pkg/calc.py",
        "tests/__init__.py",
        "tests/run_calc.py",
    ]
    assert f"{mapped.metrics['total']:.0f}" == report_total(root)


def test_files_paths_maps_into_the_report_are_not_said_to_be_left_out_by_source(tmp_path: Path, make_ctx: Any) -> None:
    """exceptiongroup's layout tested against a ``pip install .`` copy: ``[run] source`` names the
    package (no folder of that name at the root), whose copy is imported from outside the checkout,
    and ``[paths]`` maps the copy onto src/. coverage report lists src/pkg's files; the record of
    what ``source`` leaves out must not name them."""
    root = tmp_path / "proj"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "calc.py").write_text(CALC)
    copy = tmp_path / "venv" / "site-packages"
    shutil.copytree(root / "src" / "pkg", copy / "pkg")
    (root / "run_tests.py").write_text(
        "import os, sys\nsys.path.insert(0, os.environ['SITE'])\nfrom pkg.calc import add, sign\n"
        "assert add(1, 2) == 3 and sign(5) == 1\n"
    )
    (root / "pyproject.toml").write_text(
        '[tool.coverage.run]\nsource = ["pkg"]\nrelative_files = true\n'
        '[tool.coverage.paths]\nsource = ["src/", "*/site-packages/"]\n'
    )
    git_init(root)
    env = clean_env({"SITE": str(copy)}, coverage=False)
    subprocess.run([PYTHON, "-m", "coverage", "run", "run_tests.py"], cwd=root, env=env, check=True, capture_output=True)
    reported = sorted(report_json(root)["files"])
    assert reported == ["src/pkg/__init__.py", "src/pkg/calc.py"]  # by hand
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert [f["path"] for f in result.metrics["files"]] == reported
    (source,) = [n for n in result.narrowing if n.kind == "exclude"]
    assert source.detail == "[run] source = pkg"
    assert source.files == ("run_tests.py",)


def test_run_option_combines_parallel_data(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "p", BRANCHY.replace("branch = true", "branch = true\nparallel = true"))
    checker = CoverageChecker()
    result = checker.run(
        section(checker, min_total=0.0, run=["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]), make_ctx(root)
    )
    assert not list(root.glob(".coverage*"))  # combined in its private folder
    assert result.metrics["data_file"] == "checks.coverage.run (1 parallel data files combined)"
    measure(root)
    run_tool([PYTHON, "-m", "coverage", "combine"], root)
    assert f"{result.metrics['total']:.2f}" == report_total(root)
    assert result.metrics["statements"] > 0


def test_pytest_cov_in_addopts_is_named_when_coverage_run_saved_nothing(tmp_path: Path, make_ctx: Any) -> None:
    """pytest-cov (``--cov`` in the project's addopts) measures in place of ``coverage run``, which then
    saves an empty data file over pytest-cov's: the error says so, and what it advises works."""
    root = write_project(tmp_path / "p", "")
    (root / "pyproject.toml").unlink()
    (root / "setup.cfg").write_text("[tool:pytest]\naddopts = -q --cov=pkg\n")
    where = "setup.cfg [tool:pytest] addopts"
    checker = CoverageChecker()
    tests = ["pytest", "-p", "no:cacheprovider"]
    ran = checker.run(section(checker, min_total=0.0, run=tests), make_ctx(root))
    assert ran.status is Status.ERROR and ran.error is not None
    assert re.search(rf"has no measured files \(the project's pytest configuration \({re.escape(where)}\) adds --cov", ran.error)
    assert "Leave checks.coverage.run empty" in ran.error
    measure(root)  # README's own recipe, by hand: coverage.py agrees that nothing was measured
    nothing = run_tool([PYTHON, "-m", "coverage", "report"], root, check=False)
    assert "No data to report" in nothing.stdout + nothing.stderr
    with pytest.raises(ToolError, match=re.escape(where)) as found:
        checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert "Run the tests as the project does (`python -m pytest`" in str(found.value)
    # what the error advises: pytest alone (pytest-cov writes .coverage), or coverage run with --no-cov
    run_tool([PYTHON, "-m", *tests], root)
    alone = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert alone.status is Status.PASS and f"{alone.metrics['total']:.0f}" == report_total(root)
    no_cov = checker.run(section(checker, min_total=0.0, run=[*tests, "--no-cov"]), make_ctx(root))
    assert no_cov.status is Status.PASS and no_cov.metrics["statements"] > 0


def test_the_pytest_cov_options_no_cov_drops_are_named_with_the_settings_that_carry_them(tmp_path: Path, make_ctx: Any) -> None:
    """arrow's addopts say --cov=arrow --cov-branch: under the advised --no-cov the total followed
    coverage.py's own configuration (99% of 7,397 statements, tests included, no branches) while the
    project's pytest-cov says 100% of arrow's 2,298 with branches. The error names what --no-cov drops
    and the [run] settings that carry it; set, the figures are pytest-cov's own."""
    root = write_project(tmp_path / "p", "")
    (root / "setup.cfg").write_text("[tool:pytest]\naddopts = -q --cov=pkg --cov-branch\n")
    checker = CoverageChecker()
    tests = ["pytest", "-p", "no:cacheprovider"]
    ran = checker.run(section(checker, min_total=0.0, run=tests), make_ctx(root))
    assert ran.error is not None
    assert "(--no-cov also drops --cov=pkg --cov-branch: the figures then follow coverage.py" in ran.error
    assert 'set source = ["pkg"] and branch = true under [run] in it)' in ran.error
    run_tool([PYTHON, "-m", *tests], root)  # pytest-cov's own figures, by hand
    by_pytest_cov = report_total(root)
    (root / ".coverage").unlink()
    (root / "pyproject.toml").write_text('[tool.coverage.run]\nsource = ["pkg"]\nbranch = true\n')  # as advised
    no_cov = checker.run(section(checker, min_total=0.0, run=[*tests, "--no-cov"]), make_ctx(root))
    assert no_cov.metrics["branch"] and f"{no_cov.metrics['total']:.0f}" == by_pytest_cov


def test_the_interpreter_s_options_of_a_python_command_go_to_the_interpreter(tmp_path: Path, make_ctx: Any) -> None:
    """django-debug-toolbar's tox.ini runs ``python -b -W always -m coverage run -m django test``: the
    same command in checks.coverage.run handed -b to coverage run, which refused it ("no such option")."""
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "run_tests.py").write_text(
        "import sys\nassert sys.flags.bytes_warning == 1 and 'always' in sys.warnoptions, (sys.flags, sys.warnoptions)\n"
        "from pkg.calc import add, sign\nassert add(1, 2) == 3 and sign(5) == 1\n"
    )
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["python", "-b", "-W", "always", "run_tests.py"]), make_ctx(root))
    assert result.status is Status.PASS, result.error or result.findings
    run_tool([PYTHON, "-b", "-W", "always", "-m", "coverage", "run", "run_tests.py"], root)  # tox's command, by hand
    assert f"{result.metrics['total']:.2f}" == report_total(root)


def test_a_test_command_that_stops_before_the_tests_names_what_tox_ini_sets_for_them(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """django-debug-toolbar's tests need DJANGO_SETTINGS_MODULE, which its tox.ini sets: run by
    checks.coverage.run without it, django stopped before any test and the error blamed the
    source/omit/include settings. It now names the variables tox.ini sets that the job lacks."""
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "run_tests.py").write_text(
        "import os, sys\nif 'APP_SETTINGS_MODULE' not in os.environ:\n"
        "    sys.exit('ImproperlyConfigured: define the environment variable APP_SETTINGS_MODULE')\n"
        "from pkg.calc import add\nassert add(1, 2) == 3\n"
    )
    (root / "tox.ini").write_text(
        "[testenv]\nsetenv =\n    PYTHONPATH = {toxinidir}\n    APP_SETTINGS_MODULE = tests.settings\n"
        "    py311-pg: DB_BACKEND = postgresql\ncommands = python run_tests.py\n"
    )
    monkeypatch.delenv("APP_SETTINGS_MODULE", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(root))  # set in the job: not named
    checker = CoverageChecker()
    tests = ["python", "run_tests.py"]
    result = checker.run(section(checker, min_total=0.0, run=tests), make_ctx(root))
    assert result.status is Status.ERROR and result.error is not None
    assert "exited with 1 and measured no line of the project" in result.error
    assert "tox.ini's [testenv] setenv sets APP_SETTINGS_MODULE for the tests" in result.error
    assert "e.g. APP_SETTINGS_MODULE=... gatekeeper check" in result.error
    assert "DB_BACKEND" not in result.error and "PYTHONPATH" not in result.error
    (failed,) = [f for f in result.findings if f.rule_id == "coverage.tests_failed"]
    assert "ImproperlyConfigured" in failed.message
    monkeypatch.setenv("APP_SETTINGS_MODULE", "tests.settings")  # what the error says to do
    result = checker.run(section(checker, min_total=0.0, run=tests), make_ctx(root))
    assert result.status is Status.PASS and result.metrics["statements"] > 0


def test_pytest_cov_in_a_configuration_the_run_names_with_c_is_named(tmp_path: Path, make_ctx: Any) -> None:
    """griffe keeps its pytest settings, ``--cov`` among them, in ``config/pytest.ini`` and runs
    ``pytest -c config/pytest.ini``: the error blamed the source/omit/include settings, as no file
    pytest reads by itself adds --cov."""
    root = write_project(tmp_path / "p", "")
    (root / "config").mkdir()
    (root / "config" / "pytest.ini").write_text("[pytest]\naddopts = -q --cov=pkg\n")
    tests = ["pytest", "-c", "config/pytest.ini", "--rootdir", ".", "-p", "no:cacheprovider"]
    checker = CoverageChecker()
    ran = checker.run(section(checker, min_total=0.0, run=tests), make_ctx(root))
    assert ran.status is Status.ERROR and ran.error is not None
    assert "(the project's pytest configuration (config/pytest.ini [pytest] addopts) adds --cov" in ran.error
    assert "check its source/omit/include settings" not in ran.error
    run_tool([PYTHON, "-m", "coverage", "run", "-m", *tests], root)  # by hand: nothing measured either
    nothing = run_tool([PYTHON, "-m", "coverage", "report"], root, check=False)
    assert "No data to report" in nothing.stdout + nothing.stderr
    no_cov = checker.run(section(checker, min_total=0.0, run=[*tests, "--no-cov"]), make_ctx(root))
    assert no_cov.status is Status.PASS and no_cov.metrics["statements"] > 0


@pytest.mark.parametrize(
    "command",
    [
        ["pytest", "-c", "ci/pytest.ini"],
        ["pytest", "-cci/pytest.ini"],
        ["python", "-m", "pytest", "--config-file", "ci/pytest.ini"],
        ["pytest", "-q", "--config-file=ci/pytest.ini"],
    ],
)
def test_the_configuration_a_pytest_command_names_is_the_one_read(tmp_path: Path, command: list[str]) -> None:
    from gatekeeper.checkers.coverage.hints import pytest_cov_addopts

    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "pytest.ini").write_text("[pytest]\naddopts = --cov=pkg\n")
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\naddopts = -q\n")  # what pytest reads without -c
    assert pytest_cov_addopts(tmp_path, command) == "ci/pytest.ini [pytest] addopts"
    assert pytest_cov_addopts(tmp_path) == ""
    assert pytest_cov_addopts(tmp_path, ["python", "-c", "ci/pytest.ini"]) == ""  # not pytest: python's -c


def test_pytest_cov_under_a_source_setting_is_an_error_not_zero_percent(tmp_path: Path, make_ctx: Any) -> None:
    """With ``[run] source`` set, the empty file ``coverage run`` saves over pytest-cov's still lists the
    source files, unexecuted: `coverage report` shows 0% ("No data was collected"). The check says why
    (here from ``.pytest.ini``, the hidden file pytest 8.1 reads) instead of failing the total."""
    root = write_project(tmp_path / "p", "")
    (root / "pyproject.toml").unlink()
    (root / ".coveragerc").write_text("[run]\nsource = pkg\nbranch = true\n")
    (root / ".pytest.ini").write_text("[pytest]\naddopts = -q --cov=pkg\n")
    where = ".pytest.ini [pytest] addopts"
    checker = CoverageChecker()
    tests = ["pytest", "-p", "no:cacheprovider"]
    ran = checker.run(section(checker, min_total=0.0, run=tests), make_ctx(root))
    assert ran.status is Status.ERROR and ran.error is not None, ran.summary
    said = rf"has no measured line: .* \(the project's pytest configuration \({re.escape(where)}\) adds --cov"
    assert re.search(said, ran.error) and ran.error.startswith("the coverage data of the test run has no measured line")
    measure(root)  # by hand: coverage.py reports the listed files at 0%, having collected nothing
    by_hand = run_tool([PYTHON, "-m", "coverage", "report"], root, check=False)
    assert by_hand.stdout.splitlines()[-1].endswith(" 0%")
    with pytest.raises(ToolError, match=re.escape(where)) as found:
        checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert "Run the tests as the project does (`python -m pytest`" in str(found.value)
    no_cov = checker.run(section(checker, min_total=0.0, run=[*tests, "--no-cov"]), make_ctx(root))
    assert no_cov.status is Status.PASS and no_cov.metrics["total"] > 0
    run_tool([PYTHON, "-m", *tests], root)  # pytest-cov writes the data: read as it is
    alone = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert alone.status is Status.PASS and f"{alone.metrics['total']:.0f}" == report_total(root)


@pytest.mark.parametrize(
    ("files", "where"),
    [
        (
            {"pyproject.toml": '[tool.pytest.ini_options]\naddopts = ["-q", "--cov", "pkg"]\n'},
            "pyproject.toml [tool.pytest.ini_options] addopts",
        ),
        ({"tox.ini": "[pytest]\naddopts = --cov\n", "setup.cfg": "[tool:pytest]\naddopts = -q\n"}, "tox.ini [pytest] addopts"),
        # pytest reads the first file that is a pytest configuration, and only that one
        ({"pytest.ini": "[pytest]\naddopts = -q\n", "setup.cfg": "[tool:pytest]\naddopts = --cov=pkg\n"}, ""),
        (
            {"pyproject.toml": "[tool.black]\n", "setup.cfg": "[tool:pytest]\naddopts = --cov=pkg\n"},
            "setup.cfg [tool:pytest] addopts",
        ),
        ({"setup.cfg": "[tool:pytest]\naddopts = --cov-report=xml --covfefe\n"}, ""),
        ({"pyproject.toml": '[tool.pytest]\naddopts = ["--cov=pkg"]\n'}, "pyproject.toml [tool.pytest] addopts"),
        # pytest 9 reads (.)pytest.toml first, and such a file counts even without a [pytest] table
        ({"pytest.toml": '[pytest]\naddopts = ["--cov=pkg"]\n', "setup.cfg": "[tool:pytest]\n"}, "pytest.toml [pytest] addopts"),
        ({".pytest.toml": "", "pyproject.toml": '[tool.pytest]\naddopts = ["--cov=pkg"]\n'}, ""),
    ],
)
def test_the_pytest_configuration_pytest_reads_decides(tmp_path: Path, files: dict[str, str], where: str) -> None:
    from gatekeeper.checkers.coverage.hints import pytest_cov_addopts

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert pytest_cov_addopts(tmp_path) == where


def test_pytest_cov_a_plugin_turns_on_is_an_error_not_the_figures_of_before_it_started(tmp_path: Path, make_ctx: Any) -> None:
    """backports.tarfile's pytest-enabler adds --cov to every pytest run with no addopts saying so: under
    checks.coverage.run, the data coverage run saved over pytest-cov's held only what ran before pytest-cov
    started, and the check reported 15% of the module pytest-cov measures at 74%. A plugin doing the same
    here (its own module the one line measured) is now an error naming --no-cov, which then measures."""
    root = write_project(tmp_path / "p", "")
    (root / "enabler.py").write_text(
        "import pytest_cov.plugin\n\n\ndef pytest_load_initial_conftests(early_config, parser, args):\n"
        "    args.append('--cov')  # then runs pytest-cov's hook again, as pytest-enabler does\n"
        "    parser.parse_known_and_unknown_args(args, early_config.known_args_namespace)\n"
        "    pytest_cov.plugin.pytest_load_initial_conftests(early_config, parser, args)\n"
    )
    (root / "setup.cfg").write_text("[tool:pytest]\naddopts = -p enabler\n")
    tests = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    checker = CoverageChecker()
    ran = checker.run(section(checker, min_total=0.0, run=tests), make_ctx(root))
    assert ran.status is Status.ERROR and ran.error is not None, (ran.summary, ran.metrics.get("files"))
    assert ran.error.startswith(f"pytest-cov measured the test command {' '.join(tests)} (checks.coverage.run)")
    assert "a plugin such as pytest-enabler" in ran.error and "Pass --no-cov" in ran.error
    run_tool([PYTHON, "-m", "coverage", "run", "-m", *tests[2:]], root)  # by hand: what coverage run saved
    saved = report_json(root)["totals"]["num_statements"]
    (root / ".coverage").unlink()
    run_tool([PYTHON, *tests[1:]], root)  # pytest alone: pytest-cov writes the data
    assert report_json(root)["totals"]["num_statements"] > saved
    (root / ".coverage").unlink()
    no_cov = checker.run(section(checker, min_total=0.0, run=[*tests, "--no-cov"]), make_ctx(root))
    run_tool([PYTHON, "-m", "coverage", "run", "-m", *tests[2:], "--no-cov"], root)
    assert no_cov.status is Status.PASS and f"{no_cov.metrics['total']:.0f}" == report_total(root)


def test_an_empty_data_file_without_pytest_cov_keeps_the_plain_hint(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "p", "[tool.coverage.run]\nsource = ['nothing_here']\n")
    (root / "setup.cfg").write_text("[tool:pytest]\naddopts = -q --cov-report=term\n")  # a report option alone runs nothing
    measure(root)
    with pytest.raises(ToolError, match=r"has no measured files \(run the tests under coverage again") as found:
        CoverageChecker().run(section(CoverageChecker(), min_total=0.0), make_ctx(root))
    assert "pytest-cov" not in str(found.value)


# --------------------------------------------------------------------------- patch coverage

NEW_CODE = """\


def ratio(a, b):
    if b == 0:
        return None
    return a / b
"""


def git(root: Path, *args: str) -> str:
    return run_tool(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], root).stdout


@pytest.fixture(scope="module")
def patched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repo: main has the package; the branch adds ratio() to calc.py, tested for b != 0 only."""
    root = write_project(tmp_path_factory.mktemp("patched"), "[tool.coverage.run]\nsource = ['pkg']\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    with (root / "pkg" / "calc.py").open("a") as fh:
        fh.write(NEW_CODE)
    (root / "test_pkg.py").write_text(
        TESTS.replace("import add,", "import add, ratio,") + "\n\ndef test_ratio():\n    assert ratio(4, 2) == 2\n"
    )
    (root / "NOTES.md").write_text("not code\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "ratio")
    measure(root)
    return root


def test_patch_coverage_names_a_submodule_whose_commit_moved(tmp_path: Path, make_ctx: Any) -> None:
    """git diff shows a submodule moved to a commit with untested code as one "Subproject commit" line:
    min_diff passed saying nothing of it. The metrics and the summary name it, as not measured, even
    where .gitmodules says ignore = all and diff.submodule = log lists commits in place of that line."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "vendored.py").write_text("def old():\n    return 1\n")
    git(lib, "init", "-q", "-b", "main")
    git(lib, "add", ".")
    git(lib, "commit", "-q", "-m", "one")
    first = git(lib, "rev-parse", "HEAD").strip()
    root = write_project(tmp_path / "proj", "[tool.coverage.run]\nsource = ['pkg']\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor")
    git(root, "config", "-f", ".gitmodules", "submodule.vendor.ignore", "all")
    git(root, "config", "diff.submodule", "log")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    with (root / "vendor" / "vendored.py").open("a") as fh:
        fh.write("\n\ndef untested(x):\n    return x * 2\n")
    git(root / "vendor", "commit", "-q", "-am", "two")
    second = git(root / "vendor", "rev-parse", "HEAD").strip()
    git(root, "add", "vendor")
    git(root, "commit", "-q", "-m", "move vendor")
    assert "Subproject commit" in git(root, "diff", "--submodule=short", "--ignore-submodules=none", "main")
    measure(root)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, min_diff=80.0, diff_base="main"), make_ctx(root))
    diff = result.metrics["diff"]
    assert diff["submodules"] == [{"path": "vendor", "from": first, "to": second}]
    assert diff["changed_lines"] == 0
    assert f"not measured: submodule vendor moved {first[:12]}..{second[:12]}" in result.summary
    # a note, as the compiled sources coverage.py cannot measure are: the record says what was left out
    (record,) = [n for n in result.narrowing if n.files == ("vendor",)]
    assert record.kind == "not-scanned" and record.detail == f"submodule vendor moved {first[:12]}..{second[:12]}"


def test_patch_coverage_counts_changed_measurable_lines(patched: Path, make_ctx: Any) -> None:
    first = CALC.count("\n") + 1  # ratio() starts after the old end of calc.py
    lines = {n: text for n, text in enumerate((patched / "pkg" / "calc.py").read_text().splitlines(), 1)}
    assert lines[first + 2] == "def ratio(a, b):"
    assert lines[first + 4] == "        return None"
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, min_diff=80.0, diff_base="main"), make_ctx(patched))
    diff = result.metrics["diff"]
    # def, if, return None, return a / b are measurable; "return None" never ran; blank lines and
    # NOTES.md do not count; test_pkg.py is outside coverage's source
    assert diff["changed_lines"] == 4
    assert diff["covered_lines"] == 3
    assert diff["percent"] == 75.0
    assert result.status is Status.FAIL
    (uncovered,) = [f for f in result.findings if f.rule_id == "coverage.diff_uncovered"]
    assert uncovered.location is not None
    assert (uncovered.location.path, uncovered.location.line) == ("pkg/calc.py", first + 4)
    assert uncovered.message == f"1 changed line not covered by tests: {first + 4}"
    assert uncovered.blocking
    (gate,) = [f for f in result.findings if f.rule_id == "coverage.min_diff"]
    assert gate.message == "patch coverage 75% (3 of 4 changed lines since main) is below the minimum 80%"

    lenient = checker.run(section(checker, min_total=0.0, min_diff=70.0, diff_base="main"), make_ctx(patched))
    assert lenient.status is Status.PASS
    assert [f.blocking for f in lenient.findings if f.rule_id == "coverage.diff_uncovered"] == [False]


def test_patch_coverage_without_history_is_an_error(patched: Path, make_ctx: Any, tmp_path: Path) -> None:
    checker = CoverageChecker()
    with pytest.raises(ToolError, match=r"cannot find the merge base of HEAD and 'origin/nope'.*fetch the base branch"):
        checker.run(section(checker, min_total=0.0, min_diff=80.0, diff_base="origin/nope"), make_ctx(patched))
    copy = tmp_path / "nogit"
    shutil.copytree(patched, copy, ignore=shutil.ignore_patterns(".git", ".coverage"))
    measure(copy)  # the data of the copy's own files
    with pytest.raises(ToolError, match=r"needs git history"):
        checker.run(section(checker, min_total=0.0, min_diff=80.0, diff_base="main"), make_ctx(copy))


@pytest.mark.parametrize("attributes", ["*.py -diff\n", "pkg/** binary\n", "*.py diff=hidden\n"])
def test_patch_coverage_reads_the_changes_whatever_the_checkouts_attributes_say(
    patched: Path, make_ctx: Any, tmp_path: Path, attributes: str
) -> None:
    """A .gitattributes the branch adds that marks the code binary (or -diff, or names a diff
    driver) had git diff print "Binary files differ" and no line: "no measurable changed lines", and
    min_diff passed over the uncovered ratio()."""
    copy = tmp_path / "attributes"
    shutil.copytree(patched, copy, ignore=shutil.ignore_patterns(".coverage"))
    (copy / ".gitattributes").write_text(attributes)
    git(copy, "config", "diff.hidden.textconv", "true")  # a driver the runner's git knows, that shows nothing
    git(copy, "add", ".gitattributes")
    git(copy, "commit", "-q", "-m", "attributes")
    measure(copy)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, min_diff=80.0, diff_base="main"), make_ctx(copy))
    diff = result.metrics["diff"]
    assert (diff["changed_lines"], diff["covered_lines"], result.status) == (4, 3, Status.FAIL)


@pytest.mark.parametrize("how", ["quoted", "mnemonic"])
def test_patch_coverage_reads_the_changes_of_a_file_git_names_in_quotes_or_with_other_prefixes(
    patched: Path, make_ctx: Any, tmp_path: Path, how: str
) -> None:
    """git quotes a name that holds a double quote (``+++ "b/pkg/we\\"ird.py"``), and diff.mnemonicPrefix
    names the work tree's side ``w/``: read as written, the changed lines were no measured file's, and
    min_diff = 80 passed over the uncovered new code (patch 100% of 2 lines, or no measurable changed line)."""
    copy = tmp_path / how
    shutil.copytree(patched, copy, ignore=shutil.ignore_patterns(".coverage"))
    expected = (4, 3)
    if how == "quoted":
        (copy / "pkg" / 'we"ird.py').write_text("def risky(x):\n    y = x * 2\n    return y\n")
        with (copy / "test_pkg.py").open("a") as fh:
            fh.write("\n\nimport importlib\n\nimportlib.import_module('pkg.we\"ird')\n")
        git(copy, "add", ".")
        git(copy, "commit", "-q", "-m", "weird")
        expected = (7, 4)  # risky()'s body is not run
    else:
        git(copy, "config", "diff.mnemonicPrefix", "true")
    measure(copy)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, min_diff=80.0, diff_base="main"), make_ctx(copy))
    diff = result.metrics["diff"]
    assert (diff["changed_lines"], diff["covered_lines"], result.status) == (*expected, Status.FAIL)


@pytest.mark.parametrize("how", ["string", "form feed"])
def test_patch_coverage_reads_no_header_within_a_hunk(patched: Path, make_ctx: Any, tmp_path: Path, how: str) -> None:
    """An added line holding ``++ /dev/null`` (in a string) is ``+++ /dev/null`` in the diff, and one holding
    a form feed began a line of its own where str.splitlines split: read as the next file's header, it
    left the uncovered ratio() below no file's change, and min_diff passed (patch 100% of 1 line, or no
    measurable changed line)."""
    copy = tmp_path / "header"
    shutil.copytree(patched, copy, ignore=shutil.ignore_patterns(".coverage"))
    calc = copy / "pkg" / "calc.py"
    top = 'NOTE = """\n++ /dev/null\n"""\n' if how == "string" else "# page\x0c+++ /dev/null\n"
    calc.write_text(top + calc.read_text())
    git(copy, "commit", "-q", "-am", "note")
    measure(copy)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, min_diff=90.0, diff_base="main"), make_ctx(copy))
    diff = result.metrics["diff"]
    expected = (5, 4) if how == "string" else (4, 3)  # NOTE = ... is a measured line, run on import
    assert (diff["changed_lines"], diff["covered_lines"], result.status) == (*expected, Status.FAIL)


def test_patch_coverage_reads_a_file_that_was_a_link(patched: Path, make_ctx: Any, tmp_path: Path) -> None:
    """A committed link replaced by a regular file is a type change (T), which --diff-filter=AMRC left
    out: the new module's untested risky() was no file's change, and min_diff = 90 passed over it
    ("no measurable changed lines"; with a tested file beside it, 100% of that file's lines)."""
    copy = tmp_path / "typechange"
    shutil.copytree(patched, copy, ignore=shutil.ignore_patterns(".coverage"))
    (copy / "pkg" / "alias.py").symlink_to("calc.py")
    git(copy, "add", ".")
    git(copy, "commit", "-q", "-m", "alias")
    git(copy, "tag", "linked")
    (copy / "pkg" / "alias.py").unlink()
    (copy / "pkg" / "alias.py").write_text("def risky(x):\n    y = x * 2\n    return y\n")
    git(copy, "add", ".")
    git(copy, "commit", "-q", "-m", "alias is a module of its own")
    assert git(copy, "diff", "--name-status", "linked").split() == ["T", "pkg/alias.py"]
    measure(copy)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, min_diff=90.0, diff_base="linked"), make_ctx(copy))
    diff = result.metrics["diff"]
    assert (diff["changed_lines"], diff["covered_lines"], result.status) == (3, 0, Status.FAIL)
    assert diff["files"] == {"pkg/alias.py": "1-3"}


def test_patch_coverage_counts_a_copied_module_whole_whatever_the_configuration_says(
    patched: Path, make_ctx: Any, tmp_path: Path
) -> None:
    """diff.renames = copies in the checkout's git configuration had git diff call a new module a copy
    of a module the branch also touched, and list only the lines that differ from it: pkg/calc2.py,
    calc.py's code with an untested risky() below, was 7 changed lines where it adds 24, and min_diff =
    20 passed (27% of 11 lines; now 11% of 28). Copies are not looked for, as git diff does by default;
    renames still are."""
    copy = tmp_path / "copies"
    shutil.copytree(patched, copy, ignore=shutil.ignore_patterns(".coverage"))
    git(copy, "config", "diff.renames", "copies")
    calc = (copy / "pkg" / "calc.py").read_text()
    (copy / "pkg" / "calc2.py").write_text(calc + "\n\ndef risky(x):\n    y = x * 2\n    return y\n")
    git(copy, "add", ".")
    git(copy, "commit", "-q", "-m", "calc2")
    assert "copy from pkg/calc.py" in git(copy, "diff", "main")  # what the configuration makes of it
    measure(copy)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, min_diff=20.0, diff_base="main"), make_ctx(copy))
    diff = result.metrics["diff"]
    assert (diff["changed_lines"], diff["covered_lines"], result.status) == (28, 3, Status.FAIL)
    assert set(diff["files"]) == {"pkg/calc.py", "pkg/calc2.py"}


def test_parse_diff_reads_added_lines_of_new_paths() -> None:
    text = textwrap.dedent(
        """\
        diff --git a/a.py b/a.py
        --- a/a.py
        +++ b/a.py
        @@ -3,0 +4,2 @@ def f():
        +x
        +y
        @@ -10 +12 @@
        -old
        +new
        @@ -20,3 +21,0 @@
        -gone
        diff --git a/old.py b/new name.py
        similarity index 90%
        rename from old.py
        rename to new name.py
        --- a/old.py
        +++ b/new name.py\t
        @@ -1 +1 @@
        -a
        +b
        diff --git a/del.py b/del.py
        --- a/del.py
        +++ /dev/null
        @@ -1,2 +0,0 @@
        -a
        -b
        """
    )
    assert parse_diff(text) == {"a.py": {4, 5, 12}, "new name.py": {1}}
    assert line_ranges([9, 3, 4, 5, 12, 11]) == "3-5, 9, 11-12"


def test_analysis_is_cached_until_data_sources_or_config_change(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "proj", BRANCHY)
    measure(root)
    cache_dir = tmp_path / "cache"
    checker = CoverageChecker()

    def run() -> Any:
        return checker.run(section(checker, min_total=0), make_ctx(root, cache_dir=cache_dir))

    first = run()
    assert first.metrics["cached"] is False
    second = run()
    assert second.metrics["cached"] is True
    assert second.metrics["total"] == first.metrics["total"] == float(report_total(root))
    # a source file changes: the cached analysis no longer describes this tree
    calc = root / "pkg" / "calc.py"
    calc.write_text(CALC.replace("def unused():\n    y = 1\n    return y\n", "def unused():\n    return 2\n"))
    third = run()
    assert third.metrics["cached"] is False
    assert third.metrics["total"] == float(report_total(root))
    assert run().metrics["cached"] is True
    # the configuration changes (precision): recomputed
    (root / "pyproject.toml").write_text(BRANCHY.replace("precision = 2", "precision = 1"))
    fourth = run()
    assert fourth.metrics["cached"] is False and fourth.metrics["precision"] == 1
    # a corrupt entry is ignored, never trusted
    for entry in (cache_dir / "coverage").rglob("*.json"):
        entry.write_text(entry.read_text().replace('"missing_lines":[', '"missing_lines":[0,'))
    fifth = run()
    assert fifth.metrics["cached"] is False and fifth.metrics["total"] == float(report_total(root))
    # without a cache folder (--no-cache) nothing is read or written
    uncached = checker.run(section(checker, min_total=0), make_ctx(root))
    assert uncached.metrics["cached"] is False


def test_an_entity_bomb_coverage_xml_is_refused_not_expanded(tmp_path: Path, make_ctx: Any) -> None:
    # "billion laughs": ten levels of entities, each ten copies of the one below (10**9 "lol"s)
    levels = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE coverage [{"".join(levels)}]>\n<coverage>&l9;</coverage>\n'
    (tmp_path / "coverage.xml").write_text(bomb)
    checker = CoverageChecker()
    with pytest.raises(ToolError) as err:
        checker.run(section(checker, data_file="coverage.xml"), make_ctx(tmp_path))
    assert "coverage.xml" in str(err.value) and "Entit" in str(err.value)


# --------------------------------------------------------------------------- hints, failing runs, plugins

DATA = Path(__file__).resolve().parents[2] / "data"


def test_a_tool_python_without_coverage_names_a_command_for_an_environment_without_pip(
    tmp_path: Path, make_ctx: Any, bare_python: str
) -> None:
    """gate.tool_python a venv uv or PDM made (no pip, no coverage.py): the cure named was pip's only."""
    root = write_project(tmp_path / "p", "[tool.coverage.run]\nsource = ['pkg']\n")
    run_tool([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], root)
    checker = CoverageChecker()
    with pytest.raises(ToolError) as missing:
        checker.run(section(checker), make_ctx(root, tool_python=bare_python))
    assert str(missing.value) == (
        f"coverage.py is not installed in {bare_python} (install it there: {bare_python} -m pip install coverage, "
        f"or in an environment without pip, as uv and PDM create them, uv pip install --python {bare_python} "
        "coverage; or set gate.tool_python)"
    )


def test_a_file_coverage_cannot_parse_after_run_keeps_the_failing_tests_and_hints_the_cure(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "p", "[tool.coverage.run]\nsource = ['pkg']\n")
    # a module the tests never import, in syntax the analysing interpreter cannot parse (as 3.12's
    # `type X = ...` is for a 3.11 interpreter): coverage report reports the source files it finds
    (root / "pkg" / "newer.py").write_text("type Pair = tuple[int, int] if\n")
    (root / "test_pkg.py").write_text(TESTS + "\n\ndef test_broken():\n    assert add(2, 2) == 5\n")
    run_tool([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], root, check=False)
    by_hand = run_tool([PYTHON, "-m", "coverage", "report"], root, check=False)
    assert by_hand.returncode != 0 and "Couldn't parse" in by_hand.stdout + by_hand.stderr
    (root / ".coverage").unlink()

    checker = CoverageChecker()
    result = checker.run(section(checker, run=["pytest", "-q", "-p", "no:cacheprovider"]), make_ctx(root))
    assert result.status is Status.ERROR and result.error is not None
    assert "Couldn't parse" in result.error and "pkg/newer.py" in result.error
    # the tests ran just now: the cure is to leave the file out, skip it, or use another interpreter
    assert "run the tests under coverage again" not in result.error
    assert "omit" in result.error and "ignore_errors = true" in result.error and "gate.tool_python" in result.error
    assert f"Python {sys.version.split()[0]}" in result.error
    # the failing test run is still reported: its blocking finding and its outcome
    (failed,) = result.findings
    assert failed.rule_id == "coverage.tests_failed" and failed.blocking
    assert "FAILED test_pkg.py::test_broken" in failed.message
    tests = dict(result.metrics["tests"])
    assert tests.pop("duration_s") > 0
    counted = {"collected": 3, "ran": 3, "skipped": 0, "deselected": 0, "workers": 0, "exitstatus": 1}
    assert tests == {"command": ["pytest", "-q", "-p", "no:cacheprovider"], "returncode": 1, "passed": False, "pytest": counted}
    # the console shows the tool's lines as lines, not after a literal "\n"
    shown = io.StringIO()
    Console(shown, live=False).summary(
        GateResult(Verdict.ERROR, (result,), "0", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", 1.0)
    )
    lines = shown.getvalue().splitlines()
    assert "\\n" not in shown.getvalue()
    assert any(line.startswith("        no:cacheprovider exited with 1:") or line.endswith("exited with 1:") for line in lines)
    assert "    | FAILED test_pkg.py::test_broken - assert 4 == 5" in lines
    assert max(len(line) for line in lines if not line.startswith("error in")) <= 80

    # with ignore_errors, as coverage report itself then does, the file is skipped and the run is read
    (root / "pyproject.toml").write_text("[tool.coverage.run]\nsource = ['pkg']\n[tool.coverage.report]\nignore_errors = true\n")
    read = checker.run(section(checker, min_total=0.0, run=["pytest", "-q", "-p", "no:cacheprovider"]), make_ctx(root))
    assert read.status is Status.FAIL and "pkg/newer.py" not in {f["path"] for f in read.metrics["files"]}
    assert read.metrics["tests"]["passed"] is False


COVDEFAULTS_CONFIG = """\
[tool.coverage.run]
plugins = ["covdefaults"]
source = ["pkg"]
"""


@pytest.fixture(scope="module")
def covdefaults_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """(interpreter, site-packages) of a real venv with the real covdefaults 2.3.0 installed,
    standing for the project's environment: gatekeeper's own environment does not have it."""
    python, site = bare_venv(tmp_path_factory.mktemp("covdefaults") / "venv")
    shutil.copyfile(DATA / "covdefaults" / "covdefaults.py.txt", site / "covdefaults.py")
    info = site / "covdefaults-2.3.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: covdefaults\nVersion: 2.3.0\nLicense: MIT\n")
    (info / "RECORD").write_text("")
    return str(python), site


@pytest.mark.slow  # builds a virtualenv
def test_start_up_code_of_the_environment_cannot_point_an_allowed_plugin_into_the_checkout(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy allows covdefaults, which the project's environment lacks; a .pth file there (any
    installed package can ship one) points sysconfig's site-packages at a folder of the checkout with
    a covdefaults.py of its own. The plugins' folders are asked without site: that file never runs."""
    python, site = bare_venv(tmp_path / "env")
    root = write_project(tmp_path / "p", COVDEFAULTS_CONFIG)
    (root / "vendor").mkdir()
    (root / "vendor" / "covdefaults.py").write_text(
        "import os, pathlib\npathlib.Path(os.environ['GK_TEST_MARK']).write_text('ran')\n"
    )
    vendor = str(root / "vendor")
    (site / "zz_redirect.pth").write_text(
        "import sysconfig; sysconfig.get_paths = (lambda f: lambda *a, **k: "
        f"{{**f(*a, **k), 'purelib': {vendor!r}, 'platlib': {vendor!r}}})(sysconfig.get_paths)\n"
    )
    (root / "gatekeeper.toml").write_text(f'[environment]\npython = "{python}"\n')
    real = tmp_path / "real-plugin"
    real.mkdir()
    shutil.copyfile(DATA / "covdefaults" / "covdefaults.py.txt", real / "covdefaults.py")
    by_hand = {**clean_env(coverage=False), "PYTHONPATH": str(real)}  # measured with the real plugin
    subprocess.run([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=by_hand,
                   capture_output=True, timeout=300)  # fmt: skip
    mark = tmp_path / "mark"
    monkeypatch.setenv("GK_TEST_MARK", str(mark))
    checker = CoverageChecker()
    with pytest.raises(ToolError, match=r"plugins cannot be loaded \(covdefaults: No module named"):
        checker.run(section(checker, min_total=0.0, plugins=["covdefaults"]), make_ctx(root))
    assert not mark.exists()


@pytest.mark.slow  # pip installs covdefaults into a virtualenv
def test_coverage_plugins_load_only_when_the_policy_allows_them(
    tmp_path: Path, make_ctx: Any, covdefaults_env: tuple[str, Path], bare_python: str
) -> None:
    python, site = covdefaults_env
    with pytest.raises(ModuleNotFoundError):
        __import__("covdefaults")  # gatekeeper's own environment does not have it
    root = write_project(tmp_path / "p", COVDEFAULTS_CONFIG)
    (root / "pkg" / "calc.py").write_text(CALC + "\n\ndef todo():\n    raise NotImplementedError\n")
    (root / "gatekeeper.toml").write_text(f'[environment]\npython = "{python}"\n')
    by_hand = {**clean_env(coverage=False), "PYTHONPATH": str(site)}  # the plugin where coverage.py finds it
    subprocess.run([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=by_hand,
                   capture_output=True, check=True, timeout=300)  # fmt: skip
    report = subprocess.run([PYTHON, "-m", "coverage", "report", "--format=total"], cwd=root, env=by_hand,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    failing = subprocess.run([PYTHON, "-m", "coverage", "report"], cwd=root, env=by_hand, capture_output=True, text=True)
    assert "less than fail-under=100" in failing.stdout + failing.stderr  # covdefaults' own fail_under

    checker = CoverageChecker()
    with pytest.raises(ToolError) as refused:
        checker.run(section(checker, min_total=0.0), make_ctx(root))
    message = str(refused.value)
    assert "loads the coverage.py plugin covdefaults, which the policy does not allow" in message
    assert 'add plugins = ["covdefaults"] under [checks.coverage]' in message and python in message

    allowed = checker.run(section(checker, min_total=0.0, plugins=["covdefaults"]), make_ctx(root))
    # coverage.py's numbers with the plugin's settings: branch coverage on, NotImplementedError excluded
    assert allowed.metrics["plugins"] == ["covdefaults"] and allowed.metrics["branch"] is True
    assert f"{allowed.metrics['total']:.0f}" == report.stdout.splitlines()[0]
    assert allowed.metrics["fail_under"] == 100.0
    (below,) = [f for f in allowed.findings if f.rule_id == "coverage.fail_under"]
    assert below.blocking and "below the project's own fail_under 100%" in below.message and "covdefaults" in below.message
    assert allowed.status is Status.FAIL
    # a policy minimum at or above the project's own fail_under is the one finding, not two
    strict = checker.run(section(checker, min_total=100.0, plugins=["covdefaults"]), make_ctx(root))
    assert [f.rule_id for f in strict.findings] == ["coverage.min_total"]

    # allowed, but not installed in the project's environment
    (root / "gatekeeper.toml").write_text(f'[environment]\npython = "{bare_python}"\n')
    with pytest.raises(ToolError, match=r"plugin allowed by checks.coverage.plugins cannot be loaded .*covdefaults"):
        checker.run(section(checker, min_total=0.0, plugins=["covdefaults"]), make_ctx(root))


def test_data_written_by_another_coverage_version_is_named_beside_the_total(tmp_path: Path, make_ctx: Any) -> None:
    # coverage.py's defaults change between versions (7.10 excludes `if TYPE_CHECKING:` blocks), so
    # data a project's older coverage.py wrote can show another total to its own `coverage report`
    import sqlite3
    from contextlib import closing

    import coverage

    root = write_project(tmp_path, '[tool.coverage.run]\nsource = ["pkg"]\n')
    measure(root)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert result.metrics["data_version"] == coverage.__version__ and "data written by" not in result.summary
    with closing(sqlite3.connect(root / ".coverage")) as db, db:
        db.execute("update meta set value = '7.6.1' where key = 'version'")  # what coverage.py 7.6.1 writes
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert result.status is Status.PASS and result.metrics["data_version"] == "7.6.1"
    assert (
        result.summary
        == f"total {report_total(root)}% (min 0%); data written by coverage.py 7.6.1, analysed with {coverage.__version__}"
    )


def test_files_coverage_opened_without_finding_its_settings_are_not_named_its_configuration(
    tmp_path: Path, make_ctx: Any
) -> None:
    # setup.cfg and tox.ini hold no coverage settings: coverage.py opens them, then takes pyproject.toml's
    root = write_project(tmp_path / "proj", BRANCHY)
    (root / "setup.cfg").write_text("[metadata]\nname = pkg\n")
    (root / "tox.ini").write_text("[tox]\nenvlist = py311\n")
    measure(root)
    used = run_tool([PYTHON, "-c", "import coverage; print(coverage.Coverage().config.config_file)"], root).stdout
    assert Path(used.strip()).name == "pyproject.toml"
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert [n.source for n in result.narrowing if n.kind == "config-file"] == ["pyproject.toml"]
    (root / "pyproject.toml").write_text("[project]\nname = 'pkg'\nversion = '0'\n")  # no settings anywhere
    measure(root)
    bare = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert f"{bare.metrics['total']:.0f}" == report_total(root)
    assert [n for n in bare.narrowing if n.kind == "config-file"] == []


NARROWED_CALC = CALC.replace("def unused():", "def unused():  # pragma: no cover").replace(
    "def clamp(x, low, high):", "def clamp(x, low, high):  # untested clamp"
)


def test_what_the_coverage_configuration_and_comments_narrow_is_reported(tmp_path: Path, make_ctx: Any) -> None:
    # pyproject.toml would omit nothing, but coverage.py reads .coveragerc first: that one is named
    root = write_project(tmp_path / "proj", "[tool.coverage.run]\nsource = ['pkg']\n")
    (root / "pkg" / "calc.py").write_text(NARROWED_CALC)
    (root / ".coveragerc").write_text(
        "[run]\nsource = pkg\nomit = pkg/generated.py\n[report]\nomit = pkg/text.py\nexclude_also =\n    untested clamp\n"
    )
    git(root, "init", "-q")
    git(root, "add", ".")
    measure(root)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert f"{result.metrics['total']:.0f}" == report_total(root)  # the numbers stay coverage.py's
    records = {(n.kind, n.source): n for n in result.narrowing}
    assert ("config-file", ".coveragerc") in records and ("config-file", "pyproject.toml") not in records
    scope = records[("exclude", ".coveragerc")]
    assert scope.detail == "[run] source = pkg; [run] omit = pkg/generated.py; [report] omit = pkg/text.py"
    # the measured file the report omits, the tracked file never measured, and the one outside source
    assert scope.files == ("pkg/generated.py", "pkg/text.py", "test_pkg.py")
    assert records[("option", ".coveragerc")].detail == "[report] exclude_lines = untested clamp"
    calc = records[("line-comments", "pkg/calc.py")]
    excluded = report_json(root)["files"]["pkg/calc.py"]["excluded_lines"]
    assert calc.line == excluded[0] and calc.detail.startswith(f"{len(excluded)} lines excluded")
    assert calc.files == ("pkg/calc.py",)
    assert_reported(result, scope)  # JSON, console, HTML, Markdown, SARIF and the audit record
    assert_reported(result, calc)
    assert ("line-comments", "pkg/__init__.py") not in records  # nothing excluded there: no record
    # a coverage.json report lists each file's excluded lines, not which pattern excluded them
    run_tool([PYTHON, "-m", "coverage", "json", "-q", "-o", "cov.json"], root)
    from_json = checker.run(section(checker, min_total=0.0, data_file="cov.json"), make_ctx(root))
    (unnamed,) = [n for n in from_json.narrowing if n.kind == "line-comments"]
    assert (unnamed.source, unnamed.line, unnamed.files) == (calc.source, calc.line, calc.files)
    assert calc.detail.startswith(unnamed.detail + ": ") and "coverage.py's defaults included" in unnamed.effect


STUBS = """\
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from os import PathLike


class Base:
    def hook(self) -> None: ...

    def run(self):
        return 1
"""

MIXED = (
    STUBS
    + """\

def legacy():  # pragma: no cover
    return 2


def fallback():
    raise NotImplementedError
"""
)


def test_excluded_lines_name_the_pattern_and_leave_coverage_defaults_out(tmp_path: Path, make_ctx: Any) -> None:
    """``...`` bodies and ``if TYPE_CHECKING:`` blocks are coverage.py's own exclusions, not the
    project's narrowing; a pragma and the project's exclude_also are, each named."""
    root = write_project(tmp_path / "proj", '[tool.coverage.report]\nexclude_also = ["raise NotImplementedError"]\n')
    (root / "pkg" / "stubs.py").write_text(STUBS)
    (root / "pkg" / "mixed.py").write_text(MIXED)
    (root / "test_pkg.py").write_text(TESTS + "\nimport pkg.stubs\nimport pkg.mixed\n")
    measure(root)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert f"{result.metrics['total']:.0f}" == report_total(root)  # the figures stay coverage.py's
    reference = report_json(root)["files"]
    records = {n.source: n for n in result.narrowing if n.kind == "line-comments"}
    # coverage.py excludes them (its `^\\s*` may span a blank line)...
    assert reference["pkg/stubs.py"]["excluded_lines"] == [2, 3, 4, 8, 9]
    assert "pkg/stubs.py" not in records  # ...on its own: nothing the project did
    mixed = records["pkg/mixed.py"]
    assert mixed.line == 13 and mixed.detail == (
        "3 lines excluded (line 13, 14, 18): 2 by # pragma: no cover; "
        "1 by exclude pattern 'raise NotImplementedError'; "
        "coverage.py's own defaults (... bodies, if TYPE_CHECKING:) exclude 5 more"
    )
    assert reference["pkg/mixed.py"]["excluded_lines"] == [2, 3, 4, 8, 9, 13, 14, 18]  # coverage json's, split
    assert_reported(result, mixed)


def test_a_file_several_exclusion_patterns_match_is_parsed_once_for_them(tmp_path: Path) -> None:
    """Which pattern excludes which line is found by parsing the file with each matching pattern
    alone: the text's AST, tokens and compiled statements, which no pattern changes, are made once
    for the file's analysis and all of them (pkg/mixed.py, four patterns: five compilations and parses
    were made, then two: the patterns' own after the analysis's), and the lines each pattern excludes
    are those of a parser of its own. The probe runs in a process of its
    own, as the check runs it (coverage.py's objects here would disturb the suite's own measurement)."""
    root = write_project(tmp_path / "proj", '[tool.coverage.report]\nexclude_also = ["raise NotImplementedError"]\n')
    (root / "pkg" / "mixed.py").write_text(MIXED)
    (root / "test_pkg.py").write_text(TESTS + "\nimport pkg.mixed\n")
    measure(root)
    done = subprocess.run(
        [sys.executable, "-c", _COUNTING, str(root / ".coverage")],
        cwd=root, env=clean_env(coverage=False), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer, made, alone = json.loads(done.stdout)
    (mixed,) = [f for f in answer["files"] if f["name"] == "pkg/mixed.py"]
    assert [p for p, _, _ in mixed["excluded_by"]] == [p for p, _ in alone] and len(alone) == 4
    assert [lines for _, _, lines in mixed["excluded_by"]] == [lines for _, lines in alone]
    # one of each for the analysis and the four patterns (each pattern: one of each before)
    assert made == {"ByteParser": 1, "parse": 1, "generate_tokens": 1, "restored": True}


#: the probe's analysis of a data file, counting the compilations (``ByteParser``), ``ast.parse``
#: calls and tokenizations of pkg/mixed.py; then each matching pattern's excluded lines, parsed alone
_COUNTING = """
import io, json, re, sys
import coverage.parser
from coverage.parser import PythonParser
from gatekeeper.checkers.coverage import probe

made = {"ByteParser": 0, "parse": 0, "generate_tokens": 0}
real_byte_parser, real_tokens, real_parse = coverage.parser.ByteParser, coverage.parser.generate_tokens, coverage.parser.ast.parse
mixed = lambda text: "def legacy()" in text

class Counted(real_byte_parser):
    def __init__(self, text=None, code=None, filename=None):
        made["ByteParser"] += mixed(text or "")
        super().__init__(text=text, code=code, filename=filename)

def tokens(text):
    made["generate_tokens"] += mixed(text)
    return real_tokens(text)

def parse(text, *args, **kwargs):
    made["parse"] += mixed(text) if isinstance(text, str) else 0
    return real_parse(text, *args, **kwargs)

coverage.parser.ByteParser, coverage.parser.generate_tokens, coverage.parser.ast.parse = Counted, tokens, parse
sys.stdin = io.StringIO("{}")
answer = probe.analyse({"data_file": sys.argv[1]})
made["restored"] = coverage.parser.ByteParser is Counted and coverage.parser.generate_tokens is tokens
made = dict(made)  # the parses below, each pattern's alone, are not counted
coverage.parser.ByteParser, coverage.parser.generate_tokens, coverage.parser.ast.parse = real_byte_parser, real_tokens, real_parse
text = open("pkg/mixed.py").read()
cov = __import__("coverage").Coverage()
alone = []
for pattern in cov.config.exclude_list:
    if re.search(pattern, text, flags=re.MULTILINE):
        parser = PythonParser(text=text, filename="pkg/mixed.py", exclude=pattern)
        parser.parse_source()
        alone.append([pattern, sorted(parser.excluded)])
print(json.dumps([answer, made, alone]))
"""


#: pkg/core.py is imported and never called; shadow/core.py, whose lines are all statements at the
#: same places, is run by the tests
SHADOWED = {
    "pkg/__init__.py": "",
    "pkg/core.py": "def f(x):\n    if x > 0:\n        return 1\n    return 2\n",
    "shadow/__init__.py": "",
    "shadow/core.py": "def f(x):\n    a = 1\n    b = 2\n    return a + b\n",
    "test_core.py": (
        "import unittest\nimport pkg.core\nimport shadow.core\n\n\n"
        "class T(unittest.TestCase):\n    def test_f(self):\n        shadow.core.f(1)\n"
    ),
}


@pytest.mark.parametrize("parallel", [False, True])
def test_paths_folding_other_files_measurements_into_a_file_is_reported(tmp_path: Path, make_ctx: Any, parallel: bool) -> None:
    """``[paths]`` maps shadow/ onto pkg/: what shadow/core.py ran is counted as pkg/core.py's lines,
    100 % by coverage report, and shadow/core.py is not listed. The number stays coverage.py's; the
    setting and the file it folded in are reported (from the analysis, or from the combine of a
    parallel run, after which the combined data no longer shows it)."""
    root = tmp_path / "proj"
    for name, text in SHADOWED.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    run = "[run]\nsource = pkg, shadow\n" + ("parallel = true\n" if parallel else "")
    (root / ".coveragerc").write_text(run + "[paths]\nsource =\n    pkg/\n    shadow/\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    run_tool([PYTHON, "-m", "coverage", "run", "-m", "unittest", "-q"], root)
    if parallel:
        run_tool([PYTHON, "-m", "coverage", "combine", "-q"], root)
    assert list(report_json(root)["files"]) == ["pkg/__init__.py", "pkg/core.py"] and report_total(root) == "100"
    for name in [*root.glob(".coverage"), *root.glob(".coverage.*")]:  # the gate's run measures afresh
        name.unlink()
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=90.0, run=["python", "-m", "unittest", "-q"]), make_ctx(root))
    assert result.metrics["total"] == 100.0 and result.status is Status.PASS  # coverage.py's figure
    (paths,) = [n for n in result.narrowing if n.detail.startswith("[paths]")]
    assert (paths.kind, paths.source, paths.detail) == ("option", ".coveragerc", "[paths] source = pkg/, shadow/")
    assert paths.files == ("shadow/__init__.py", "shadow/core.py")
    assert "shadow/core.py -> pkg/core.py" in paths.effect
    assert_reported(result, paths)


def test_paths_with_an_unreadable_parallel_file_is_combined_as_coverage_combine_does(tmp_path: Path, make_ctx: Any) -> None:
    """A parallel data file coverage.py cannot read is skipped by ``coverage combine`` with a warning;
    telling what ``[paths]`` folds in reads the same files and skips it too, rather than failing."""
    root = tmp_path / "proj"
    for name, text in SHADOWED.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / ".coveragerc").write_text("[run]\nsource = pkg, shadow\nparallel = true\n[paths]\nsource =\n    pkg/\n    shadow/\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    run_tool([PYTHON, "-m", "coverage", "run", "-m", "unittest", "-q"], root)
    (root / ".coverage.junk.1.2").write_bytes(b"not a database")
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))  # parallel files combined in a private copy
    combined = run_tool([PYTHON, "-m", "coverage", "combine"], root)
    assert "Couldn't use data file" in combined.stdout + combined.stderr and report_total(root) == "100"
    assert result.metrics["total"] == 100.0
    (paths,) = [n for n in result.narrowing if n.detail.startswith("[paths]")]
    assert paths.files == ("shadow/__init__.py", "shadow/core.py")


@pytest.mark.parametrize(
    ("addopts", "said"),
    [("--collect-only -q", "3 tests collected"), ("--setup-only -q", "no tests ran"), ("--collect-only -p no:terminal", "")],
)
def test_a_pytest_run_that_ran_no_test_fails_whatever_it_prints(tmp_path: Path, make_ctx: Any, addopts: str, said: str) -> None:
    """The project's pytest configuration can have pytest exit 0 having run nothing (addopts): by
    hand, the failing test goes unseen. The figures stay coverage.py's; the run is a blocking finding."""
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_pkg.py").write_text(TESTS + "\n\ndef test_broken():\n    assert add(2, 2) == 5\n")
    (root / "pytest.ini").write_text(f"[pytest]\naddopts = {addopts}\n")
    by_hand = run_tool([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-p", "no:cacheprovider"], root)
    assert said in by_hand.stdout and (said or not by_hand.stdout)  # exit 0, and without a terminal, not a word
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["pytest", "-p", "no:cacheprovider"]), make_ctx(root))
    assert f"{result.metrics['total']:.2f}" == report_total(root)  # the counting is not measured
    (finding,) = [f for f in result.findings if f.rule_id == "coverage.tests_failed"]
    assert finding.blocking and result.status is Status.FAIL and result.metrics["tests"]["passed"] is False
    assert "ran no test (pytest collected 3, skipped 0, deselected 0" in finding.message
    assert result.metrics["tests"]["pytest"] == {
        "collected": 3,
        "ran": 0,
        "skipped": 0,
        "deselected": 0,
        "workers": 0,
        "exitstatus": 0,
    }


def test_a_pytest_run_counts_its_tests_and_a_pytest_it_starts_is_left_alone(tmp_path: Path, make_ctx: Any) -> None:
    """The counting plugin is this process's pytest's alone: a pytest the tests start in a subprocess
    (as pytester's runpytest_subprocess does) does not look for it; and it raises no warning (pytest
    warns of a plugin imported before it could rewrite its asserts, unless told not to)."""
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "inner").mkdir()
    (root / "inner" / "test_inner.py").write_text("def test_inner():\n    pass\n")
    # a conftest.py is loaded before pytest configures: the variable is restored already
    (root / "conftest.py").write_text("import os\n\nassert 'gatekeeper' not in os.environ.get('PYTEST_PLUGINS', '')\n")
    (root / "test_nested.py").write_text(
        "import os, subprocess, sys\n\n\ndef test_nested():\n"
        "    done = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'inner'],\n"
        "                          capture_output=True, text=True)\n"
        "    assert done.returncode == 0, done.stdout + done.stderr\n"
    )
    # warnings are errors, as in many projects: the counting plugin must not cause one
    ini = "[pytest]\ntestpaths = test_pkg.py test_nested.py\nfilterwarnings = error\n"
    ini += "addopts = -W error::pytest.PytestAssertRewriteWarning\n"
    (root / "pytest.ini").write_text(ini)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["pytest", "-q", "-p", "no:cacheprovider"]), make_ctx(root))
    assert result.status is Status.PASS, result.findings
    tests = result.metrics["tests"]
    assert tests["passed"] is True
    assert tests["pytest"] == {"collected": 3, "ran": 3, "skipped": 0, "deselected": 0, "workers": 0, "exitstatus": 0}


PACKAGED = {
    "pkg/__init__.py": "",
    "pkg/calc.py": "def add(a, b):\n    return a + b\n",
    "pkg/text.py": "def shout(s):\n    return s.upper()\n",
    "pkg/sub/__init__.py": "",
    "pkg/sub/deep.py": "def deep():\n    return 1\n",
    "pkg/sub/idle.py": "def idle():\n    return 2\n",  # never imported: coverage.py still reports it, unexecuted
    "tools/gen.py": "print('generate')\n",
    "test_pkg.py": "from pkg.calc import add\nfrom pkg.sub.deep import deep\nfrom pkg.text import shout\n\n\n"
    "def test_all():\n    assert add(1, 2) == 3 and deep() == 1 and shout('a') == 'A'\n",
}


@pytest.mark.parametrize(
    "config",
    [
        '[tool.coverage.run]\nsource = ["pkg.sub"]\nsource_pkgs = ["pkg.calc"]\n',  # a dotted package, a module
        '[tool.coverage.run]\nsource_pkgs = ["pkg.sub", "pkg.calc", "no_such_package"]\n',
    ],
)
def test_packages_source_names_are_located_and_the_files_outside_them_listed(tmp_path: Path, make_ctx: Any, config: str) -> None:
    root = tmp_path / "proj"
    for name, text in {**PACKAGED, "pyproject.toml": config}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", ".")
    measure(root)
    reported = set(report_json(root)["files"])  # what coverage.py measured, unexecuted files of the packages included
    assert reported == {"pkg/calc.py", "pkg/sub/__init__.py", "pkg/sub/deep.py", "pkg/sub/idle.py"}
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    (scope,) = [n for n in result.narrowing if n.kind == "exclude"]
    tracked = {name for name in PACKAGED if name.endswith(".py")}
    assert set(scope.files) == tracked - reported  # every tracked file coverage.py left out, and none it measured
    assert scope.effect == "coverage.py leaves these files out of the report and the total"


@pytest.mark.parametrize("setting", ['source = ["pkg"]', 'source_pkgs = ["pkg"]'], ids=["folder", "package"])
def test_files_of_a_source_folder_coverage_py_never_finds_are_listed(tmp_path: Path, make_ctx: Any, setting: str) -> None:
    """coverage.py reports an unexecuted file of a ``[run] source`` folder only when each folder below
    the source folder has an ``__init__.py``: 50 lines that never ran in ``pkg/plugins/`` (a folder
    without one) and in ``pkg/helpers.v2.py`` (a name Python does not import) left the total at 100%."""
    root = tmp_path / "proj"
    idle = "".join(f"def idle{i}():\n    return {i}\n" for i in range(25))
    files = {
        **{k: v for k, v in PACKAGED.items() if k.startswith("pkg/") or k == "test_pkg.py"},
        "pkg/plugins/extra.py": idle,
        "pkg/helpers.v2.py": idle,
        "pyproject.toml": f"[tool.coverage.run]\n{setting}\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", ".")
    measure(root)
    reported = set(report_json(root)["files"])
    assert "pkg/sub/idle.py" in reported and not {"pkg/plugins/extra.py", "pkg/helpers.v2.py"} & reported
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert f"{result.metrics['total']:.0f}" == report_total(root)
    (record,) = [n for n in result.narrowing if n.kind == "not-scanned"]
    assert record.files == ("pkg/helpers.v2.py", "pkg/plugins/extra.py")
    assert "has an __init__.py" in record.effect and record.source == "pyproject.toml"
    assert_reported(result, record)


def test_the_analysis_never_writes_the_debug_file_the_configuration_names(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """coverage.py expands environment variables in its settings and appends its debug output to
    ``debug_file``: a configuration naming ``${GITHUB_ENV}`` would have the gate's analysis write a
    line the checkout chose (a title over two lines) into the file that sets the job's environment."""
    outside = tmp_path / "github_env"
    monkeypatch.setenv("GK_TEST_TARGET", str(outside))
    root = write_project(tmp_path / "p", "[tool.coverage.run]\nsource = ['pkg']\n")
    (root / ".coveragerc").write_text(
        "[run]\nsource = pkg\ndebug = config\ndebug_file = ${GK_TEST_TARGET}\n"
        "[html]\ntitle = x\n  NODE_OPTIONS=--require=./evil.js\n"
    )
    measure(root)
    total = report_total(root)
    assert "\nNODE_OPTIONS=--require=./evil.js\n" in outside.read_text()  # by hand, coverage.py writes it
    outside.unlink()
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert f"{result.metrics['total']:.0f}" == total and result.status is Status.PASS
    assert not outside.exists()


def test_tests_the_run_deselected_or_skipped_are_reported(tmp_path: Path, make_ctx: Any) -> None:
    """``addopts = --deselect`` takes the failing test out of the run: pytest exits 0, as by hand; the
    tests that did not run are a narrowing record (an xfail test ran: it is not among them)."""
    root = write_project(tmp_path / "p", BRANCHY)
    tests = TESTS + "\n\ndef test_broken():\n    assert add(2, 2) == 5\n"
    tests += "\n\nimport pytest\n\n\n@pytest.mark.skip\ndef test_later():\n    pass\n"
    tests += "\n\n@pytest.mark.xfail\ndef test_known():\n    assert False\n"
    (root / "test_pkg.py").write_text(tests)
    (root / "pytest.ini").write_text("[pytest]\naddopts = --deselect test_pkg.py::test_broken\n")
    by_hand = run_tool([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root)
    assert "1 deselected" in by_hand.stdout and "1 skipped" in by_hand.stdout and "1 xfailed" in by_hand.stdout
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["pytest", "-q", "-p", "no:cacheprovider"]), make_ctx(root))
    assert result.status is Status.PASS and result.metrics["tests"]["pytest"]["ran"] == 3
    (record,) = [n for n in result.narrowing if n.detail.startswith("pytest deselected")]
    assert (record.kind, record.detail) == ("option", "pytest deselected 1 test and skipped 1")
    assert_reported(result, record)


@pytest.mark.slow
def test_run_option_runs_the_tests_in_the_environment_as_activated(tmp_path: Path, make_ctx: Any) -> None:
    """python-dotenv's shape: a test runs the project's console script by name. Run by hand in the
    activated environment (or by tox, ``uv run``, ``poetry run``), it finds the environment's
    script; the tests gatekeeper runs in the project's ``.venv/`` find it too, with ``VIRTUAL_ENV``
    naming that environment, while gatekeeper's own scripts folder is not put first."""
    root = tmp_path / "proj"
    root.mkdir()
    python, site = bare_venv(root / ".venv")
    own = run_tool([PYTHON, "-c", "import coverage, os; print(os.path.dirname(coverage.__path__[0]))"], root).stdout.strip()
    (site / "gatekeeper_own.pth").write_text(own + "\n")  # coverage.py for the venv's interpreter
    script = root / ".venv" / "bin" / "hello-cli"
    script.write_text("#!/bin/sh\necho hello from the project script\n")
    script.chmod(0o755)
    (root / "run_cli.py").write_text(
        "import os, subprocess, sys\n"
        "said = subprocess.run(['hello-cli'], capture_output=True, text=True, check=True).stdout\n"
        "assert said == 'hello from the project script\\n', said\n"
        "assert os.environ['VIRTUAL_ENV'] == os.path.dirname(os.path.dirname(sys.executable))\n"
    )
    (root / ".gitignore").write_text(".venv/\n")
    git_init(root)
    activated = {**clean_env(coverage=False), "VIRTUAL_ENV": str(root / ".venv")}
    activated["PATH"] = f"{python.parent}:{activated['PATH']}"
    subprocess.run([python, "-m", "coverage", "run", "run_cli.py"], cwd=root, env=activated, check=True, capture_output=True)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["run_cli.py"]), make_ctx(root))
    assert not [f.message for f in result.findings if f.rule_id == "coverage.tests_failed"]
    assert result.status is Status.PASS and f"{result.metrics['total']:.0f}" == report_total(root) == "100"


def test_run_option_without_coverage_in_a_pipless_environment_says_how_to_install_it(tmp_path: Path, make_ctx: Any) -> None:
    """findpython 0.9.0 installed by pdm install: PDM's .venv (as uv's) has no pip, and the error's cure,
    pip install coverage, was one that environment cannot run. It names a command for each kind."""
    root = tmp_path / "proj"
    root.mkdir()
    python, _ = bare_venv(root / ".venv")
    (root / "test_it.py").write_text("def test_it():\n    pass\n")
    (root / ".gitignore").write_text(".venv/\n")
    git_init(root)
    assert subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode != 0  # no pip there
    checker = CoverageChecker()
    with pytest.raises(ToolError) as missing:
        checker.run(section(checker, run=["pytest"]), make_ctx(root))
    assert str(missing.value) == (
        f"coverage.py is not installed in {python} (install it there to use checks.coverage.run: {python} -m pip "
        f"install coverage, or in an environment without pip, as uv and PDM create them, uv pip install --python "
        f"{python} coverage)"
    )


@pytest.mark.parametrize("name", [".coveragerc", "setup.cfg"])
def test_a_coverage_configuration_linking_outside_the_project_is_refused(tmp_path: Path, make_ctx: Any, name: str) -> None:
    # coverage.py follows the link: the file outside omits the module the tests leave uncovered
    root = write_project(tmp_path / "proj", "[tool.coverage.run]\nsource = ['pkg']\n")
    outside = tmp_path / "shared" / "coverage.cfg"
    outside.parent.mkdir()
    header = "[report]" if name == ".coveragerc" else "[coverage:report]"
    outside.write_text(f"{header}\nomit = pkg/calc.py\n")
    (root / name).symlink_to(outside)
    git(root, "init", "-q")
    git(root, "add", ".")
    measure(root)
    followed = report_total(root)  # coverage report by hand reads the file outside
    outside.unlink()
    unfollowed = report_total(root)
    assert int(followed) > int(unfollowed)
    outside.write_text(f"{header}\nomit = pkg/calc.py\n")
    checker = CoverageChecker()
    with pytest.raises(ToolError, match=rf"{re.escape(name)} leads outside the project \(through a link\)"):
        checker.run(section(checker, min_total=0.0), make_ctx(root))
    outside.unlink()  # dangling: the tests could create it while they run
    with pytest.raises(ToolError, match="leads outside the project"):
        checker.run(section(checker, min_total=0.0), make_ctx(root))


def test_a_coverage_configuration_linking_inside_the_project_is_read(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "proj", "[tool.coverage.run]\nsource = ['pkg']\n")
    (root / "config").mkdir()
    (root / "config" / "coverage.cfg").write_text("[report]\nomit = pkg/calc.py\n")
    (root / ".coveragerc").symlink_to("config/coverage.cfg")
    git(root, "init", "-q")
    git(root, "add", ".")
    measure(root)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert f"{result.metrics['total']:.0f}" == report_total(root)
    assert ("config-file", "config/coverage.cfg") in {(n.kind, n.source) for n in result.narrowing}  # where it leads


def test_measured_files_of_a_virtualenv_in_the_checkout_are_named_in_the_summary(tmp_path: Path, make_ctx: Any) -> None:
    """hatch 1.18.2's ``source_pkgs`` names hatchling, installed in the checkout's ``.venv``: coverage
    report counts its 67 files in the total, and the summary gave no hint the figure was not the
    project's code alone. The total stays coverage report's; the summary says how much is the venv's."""
    root = tmp_path / "proj"
    (root / "mypkg").mkdir(parents=True)
    (root / "mypkg" / "__init__.py").write_text("from helperdep import helper\n\n\ndef f():\n    return helper(1)\n")
    site = root / ".venv" / "lib" / "python3" / "site-packages"
    (site / "helperdep").mkdir(parents=True)
    (site / "helperdep" / "__init__.py").write_text(
        "def helper(x):\n    if x:\n        return 1\n    return 2\n\n\ndef unused():\n    return 3\n"
    )
    (root / ".venv" / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\n")
    (root / ".gitignore").write_text(".venv/\n")
    (root / "run_tests.py").write_text(
        "import os, sys\nsys.path.insert(0, os.environ['SITE'])\nfrom mypkg import f\nassert f() == 1\n"
    )
    (root / "pyproject.toml").write_text('[tool.coverage.run]\nsource_pkgs = ["mypkg", "helperdep"]\n')
    git_init(root)
    env = clean_env({"SITE": str(site)}, coverage=False)
    subprocess.run([PYTHON, "-m", "coverage", "run", "run_tests.py"], cwd=root, env=env, check=True, capture_output=True)
    reported = sorted(report_json(root)["files"])
    assert reported == [".venv/lib/python3/site-packages/helperdep/__init__.py", "mypkg/__init__.py"]  # by hand
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0), make_ctx(root))
    assert f"{result.metrics['total']:.0f}" == report_total(root) == "78"
    assert result.summary == (
        "total 78% (min 0%); 1 file (6 statements) in .venv/, a virtualenv in the checkout: the coverage configuration"
        " measures a package installed there ([run] source or source_pkgs names it), and the total counts it as"
        " coverage report does"
    )
    (site.parents[2] / "pyvenv.cfg").unlink()  # a folder that is no virtualenv: nothing to say
    assert checker.run(section(checker, min_total=0.0), make_ctx(root)).summary == "total 78% (min 0%)"
