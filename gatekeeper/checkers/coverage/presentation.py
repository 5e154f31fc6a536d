"""How the coverage check presents itself: total, per-file and diff coverage against the policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.display import MISSING, Bar, BarChart, Display, Row, ToolInfo, as_list, number, percent, text, threshold
from gatekeeper.findings import CheckResult

TOOL = ToolInfo("coverage.py", "https://coverage.readthedocs.io/", ("quality", "coverage"))
#: the metric keys the rows below present (the others get generic rows)
SHOWN = frozenset({"total", "total_exact", "files", "diff", "min_total", "min_file", "min_diff", "thresholds", "stale"})


def display(check: CheckResult) -> Display:
    """The key numbers against the policy, and a bar per file (lowest first)."""
    return Display(rows=tuple(_rows(check.metrics)), shown=SHOWN, bars=_files(check.metrics))


def _rows(m: Mapping[str, Any]) -> list[Row]:
    rows: list[Row] = []
    total = number(m.get("total"))
    if total is not None:
        floor = threshold(m, "min_total")
        label = percent(total, m.get("precision"))
        exact = number(m.get("total_exact"))
        if exact is not None and f"{exact:.2f}" != f"{total:.2f}":
            label += f" ({exact:.2f}% before coverage.py rounds it)"
        limit = f"≥ {floor:g}%" if floor is not None else ""
        rows.append(Row("Total coverage", label, limit, total >= floor if floor is not None else None))
    floor = threshold(m, "min_file")
    if floor is not None:
        files = [f for f in as_list(m.get("files")) if isinstance(f, Mapping) and number(f.get("percent")) is not None]
        low = sum(1 for f in files if float(f["percent"]) < floor)
        rows.append(Row("Files below the per-file minimum", low, f"≥ {floor:g}% each", low == 0))
    diff = m.get("diff")
    if isinstance(diff, Mapping):
        pct = number(diff.get("percent"))
        floor = threshold(diff, "min_diff") if threshold(diff, "min_diff") is not None else threshold(m, "min_diff")
        shown = percent(pct, m.get("precision")) if pct is not None else MISSING
        shown += f" ({text(diff.get('covered_lines'))} of {text(diff.get('changed_lines'))} changed lines)"
        met = pct >= floor if floor is not None and pct is not None else None
        rows.append(Row("Diff coverage", shown, f"≥ {floor:g}%" if floor is not None else "", met))
    elif "diff" in m:
        rows.append(Row("Diff coverage", "not measured (no changed lines or no diff base)"))
    stale = m.get("stale")
    if isinstance(stale, Mapping):  # the figures may not fit the code: named, not judged
        newer = ", ".join(str(p) for p in as_list(stale.get("newer_files")))
        rows.append(Row("Files changed after the data was written", f"{newer} (data written {text(stale.get('data_written'))})"))
    return rows


def _files(m: Mapping[str, Any]) -> BarChart | None:
    floor = threshold(m, "min_file")
    precision = m.get("precision")
    bars = []
    for f in as_list(m.get("files")):
        if not isinstance(f, Mapping):
            continue
        pct = number(f.get("percent"))
        if pct is None:
            continue
        pct = min(100.0, max(0.0, pct))
        label = percent(pct, precision)
        bars.append(Bar(str(f.get("path", "")), pct, label, f"{label} covered", floor is not None and pct < floor))
    bars.sort(key=lambda b: (b.percent, b.name))
    return BarChart("Coverage per file", ("File", "Covered"), tuple(bars)) if bars else None
