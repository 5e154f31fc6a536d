"""Tracked C, C++ and Cython sources are in no coverage figure (coverage.py measures Python): the
check says so, and its total stays the one ``coverage report`` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from gatekeeper.checkers.coverage import CoverageChecker
from gatekeeper.checkers.coverage.narrowing import compiled_records
from tests.checkers.coverage.test_checker import BRANCHY, measure, report_json, report_total, write_project
from tests.helpers.narrowing import assert_reported, reported
from tests.helpers.projects import git_init, section

pytestmark = pytest.mark.usefixtures("own_coverage_settings")

SPEEDUPS = "#include <Python.h>\nstatic PyObject *add(PyObject *self, PyObject *args) { return NULL; }\n"


def test_tracked_compiled_sources_are_named_and_the_total_is_coverage_reports(tmp_path: Path, make_ctx: Any) -> None:
    """simplejson's ``_speedups.c``, frozenlist's ``.pyx`` without a Cython plugin: coverage.py
    measures neither; the summary and a ``not-scanned`` record name them, the total is unchanged."""
    root = write_project(tmp_path / "p", BRANCHY)
    extra = {"pkg/_speedups.c": SPEEDUPS, "pkg/_fast.pyx": "def f(int x):\n    return x\n", "pkg/_fast.pxd": "cdef int g\n"}
    for name, text in {**extra, "pkg/_speedups.h": "int add(void);\n", "src/ext.cpp": "int main() { return 0; }\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git_init(root)
    measure(root)
    assert all(not f.endswith((".c", ".pyx", ".cpp")) for f in report_json(root)["files"])  # coverage.py measured none
    result = CoverageChecker().run(section(CoverageChecker(), min_total=0.0), make_ctx(root))
    assert f"{result.metrics['total']:.2f}" == report_total(root)
    note = "3 tracked C/C++/Cython source files not measured by coverage.py"
    assert result.summary.endswith(f"; {note}")
    (record,) = [n for n in result.narrowing if n.kind == "not-scanned"]
    assert record.detail == note and record.files == ("pkg/_fast.pyx", "pkg/_speedups.c", "src/ext.cpp")
    assert_reported(result, record)
    shown = reported(result)
    assert note in " ".join(shown["console"].split()) and str(escape(note)) in shown["html"]


def test_a_pure_python_project_has_no_such_record(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "p", BRANCHY)
    git_init(root)
    measure(root)
    result = CoverageChecker().run(section(CoverageChecker(), min_total=0.0), make_ctx(root))
    assert "not measured" not in result.summary and not [n for n in result.narrowing if n.kind == "not-scanned"]


def test_a_cython_file_the_report_lists_is_measured() -> None:
    """With a Cython coverage plugin configured the report lists the .pyx files it measured: those are not named."""
    (record,) = compiled_records(["pkg/a.pyx", "pkg/b.pyx", "pkg/c.py"], {"pkg/a.pyx", "pkg/c.py"})
    assert record.files == ("pkg/b.pyx",) and record.detail.startswith("1 tracked C/C++/Cython source file not")
    assert compiled_records(["pkg/a.pyx"], {"pkg/a.pyx"}) == ()
