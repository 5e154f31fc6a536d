"""A notebook's lint findings are fingerprinted by the code they are on: ruff numbers rows per code
cell, and the notebook's JSON line of that number is not the code (a baseline matched every cell's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatekeeper.checkers.lint import LintChecker
from tests.checkers.lint.test_checker import ruff_by_hand
from tests.helpers.projects import section, write

ISORT = '[lint]\nextend-select = ["I"]\n'
UNSORTED = "import sys\nimport os\n\nprint(os, sys)\n"


def _notebook(*cells: tuple[str, str]) -> str:
    out = [
        {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": text}
        | ({"execution_count": None, "outputs": []} if kind == "code" else {})
        for i, (kind, text) in enumerate(cells)
    ]
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    return json.dumps({"cells": out, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def _prints(tmp_path: Path, make_ctx: Any, name: str, text: str) -> dict[tuple[str, int | None], str]:
    root = write(tmp_path / name, {"ruff.toml": ISORT, "a.ipynb": text})
    assert {rule for rule, _, _ in ruff_by_hand(root)} == {"I001"}
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    return {(f.rule_id, f.location.line): f.fingerprint for f in result.findings}


def test_a_new_finding_in_another_cell_is_not_the_old_one(tmp_path: Path, make_ctx: Any) -> None:
    before = _prints(tmp_path, make_ctx, "before", _notebook(("code", UNSORTED), ("code", "x = 1\n")))
    # the first cell's imports sorted, a third cell's (other imports) unsorted: ruff reports it at row 1 too
    other = UNSORTED.replace("sys", "re").replace("os", "abc")
    after_text = _notebook(("code", "import os\nimport sys\n\nprint(os, sys)\n"), ("code", "x = 1\n"), ("code", other))
    after = _prints(tmp_path, make_ctx, "after", after_text)
    assert list(before) == list(after) == [("I001", 1)]
    assert after["I001", 1] != before["I001", 1]  # a baseline of the old finding does not accept the new one
    # the same code is the same finding wherever its cell moves (a markdown cell added before it)
    moved = _notebook(("markdown", "# Title\n"), ("code", UNSORTED), ("code", "x = 1\n"))
    assert _prints(tmp_path, make_ctx, "moved", moved) == before


def test_what_a_noqa_in_a_notebook_cell_hid_is_counted_against_it(tmp_path: Path, make_ctx: Any) -> None:
    # the comments are read in the code cells, and ruff's (cell, row) of each hidden diagnostic leads to them
    text = _notebook(("markdown", "# Title\n"), ("code", "x = 1\n"), ("code", "import os  # noqa: F401\nimport re  # noqa\n"))
    root = write(tmp_path / "p", {"a.ipynb": text})
    assert ruff_by_hand(root) == set()
    hidden = ruff_by_hand(root, "--ignore-noqa")
    assert {rule for rule, _, _ in hidden} == {"F401"} and len(hidden) == 2
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    records = [r for r in result.narrowing if r.source == "a.ipynb"]
    expected = [("line-comments", "2 × # noqa or # ruff: ignore (line 2, 3)", 2)]  # lines of the code cells
    assert [(r.kind, r.detail, r.suppressed) for r in records] == expected
    assert result.metrics["suppressed"] == 2
