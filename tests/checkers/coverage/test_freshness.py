"""Coverage data older than the code it is judged against: named when a measured file changed after
the data was written, an error when the data's run lines cannot be lines of the files as they are.
Real coverage.py runs of real pytest suites, and ``coverage report`` by hand on the same data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.coverage import CoverageChecker
from gatekeeper.errors import ToolError
from gatekeeper.findings import Status
from tests.checkers.coverage.test_checker import measure, report_total, write_project
from tests.helpers.projects import PYTHON, run_tool, section

pytestmark = pytest.mark.usefixtures("own_coverage_settings")

#: a module whose docstrings run (fresh data records their lines, which are not statements)
DOCUMENTED = '''"""Text helpers."""


class Loud:
    """Says things loudly."""

    def say(self, s):
        return s.upper()


def shout(s):
    return Loud().say(s)


def whisper(s):
    return s.lower()
'''


def _later(path: Path, than: Path) -> None:
    """Date ``path``'s modification 10 s after ``than``'s, as an edit after the test run would."""
    written = than.stat().st_mtime
    os.utime(path, (written + 10, written + 10))


def _run(root: Path, make_ctx: Any, **options: Any) -> Any:
    checker = CoverageChecker()
    return checker.run(section(checker, min_total=0.0, **options), make_ctx(root))


def test_data_older_than_an_edited_file_is_named_and_the_figures_stay_coverage_reports(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path, "")
    (root / "pkg" / "text.py").write_text(DOCUMENTED)
    measure(root)
    # checkout, then tests, then the gate: nothing to say, docstrings and all
    fresh = _run(root, make_ctx)
    assert fresh.status is Status.PASS and fresh.metrics["stale"] is None and "changed after" not in fresh.summary
    # an edit after the run that leaves the old lines where they were (a function added at the end):
    # the data still fits, and coverage report by hand judges it silently
    text = root / "pkg" / "text.py"
    text.write_text(DOCUMENTED + "\n\ndef mumble(s):\n    return s[:1]\n")
    _later(text, root / ".coverage")
    stale = _run(root, make_ctx)
    assert stale.status is Status.PASS and f"{stale.metrics['total']:.0f}" == report_total(root)
    assert stale.metrics["stale"]["newer_files"] == ["pkg/text.py"]
    assert stale.metrics["stale"]["data_written"].endswith("Z")
    said = "1 measured file changed after the coverage data was written (pkg/text.py): the figures may not fit the code"
    assert said in stale.summary
    rows = {row.label: row.value for row in CoverageChecker().display(stale).rows}  # the HTML report's table
    assert rows["Files changed after the data was written"].startswith("pkg/text.py (data written ")


def test_data_whose_run_lines_are_not_code_now_is_an_error_naming_the_lines(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path, "")
    measure(root)
    calc = root / "pkg" / "calc.py"
    original = calc.read_text()
    # two lines inserted at the top: run lines 1-2 (a def and its body), 5-6 (a def and its if), ...
    # now fall on a comment and blank lines, while coverage report by hand still prints a total
    calc.write_text("# calculator\n\n" + original)
    assert report_total(root)
    with pytest.raises(ToolError, match="the coverage data does not fit the source") as said:
        _run(root, make_ctx)
    assert "pkg/calc.py lines 1-2, 5-6, 13-14, 21;" in str(said.value) and "Run the tests under coverage again" in str(said.value)
    # a file cut short: run lines past its end
    calc.write_text(original.split("def clamp")[0])
    with pytest.raises(ToolError, match=r"pkg/calc\.py lines 13-16, 18, 21;"):
        _run(root, make_ctx)
    # put back as it was when measured: the figures are coverage report's again
    calc.write_text(original)
    assert f"{_run(root, make_ctx).metrics['total']:.0f}" == report_total(root)


def test_a_coverage_json_reporting_lines_past_the_end_of_a_file_is_an_error(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path, "")
    measure(root)
    run_tool([PYTHON, "-m", "coverage", "json", "-q"], root)
    (root / ".coverage").unlink()
    calc = root / "pkg" / "calc.py"
    calc.write_text(calc.read_text().split("def clamp")[0])
    with pytest.raises(
        ToolError, match=r"coverage\.json reports lines past the end of pkg/calc\.py \(lines 13-18, 21-23; it has 12\)"
    ):
        _run(root, make_ctx)
