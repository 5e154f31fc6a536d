"""How the security check presents itself: what bandit scanned, by severity, and what the
project's own bandit configuration left out (never silent)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.display import Display, Row, ToolInfo, as_list, number
from gatekeeper.findings import CheckResult

TOOL = ToolInfo("bandit", "https://bandit.readthedocs.io/", ("security",))
#: the metric keys the rows below present (the others get generic rows)
SHOWN = frozenset(
    {"files_scanned", "lines_scanned", "counts", "fail_on_severity", "min_confidence", "thresholds", "project_config"}
)


def display(check: CheckResult) -> Display:
    """Files and lines scanned, issues by severity, the failing severity and the narrowing rows."""
    m = check.metrics
    rows = [
        Row(label, m[key]) for key, label in (("files_scanned", "Files scanned"), ("lines_scanned", "Lines scanned")) if key in m
    ]
    counts = m.get("counts")
    if isinstance(counts, Mapping):
        rows.append(Row("Issues by severity", ", ".join(f"{k} {counts[k]}" for k in ("high", "medium", "low") if k in counts)))
    if "fail_on_severity" in m:
        rows.append(Row("Fails on severity", m["fail_on_severity"]))
    narrowing = m.get("project_config")
    if isinstance(narrowing, Mapping):
        rows.extend(_narrowing(narrowing))
    return Display(rows=tuple(rows), shown=SHOWN)


def _narrowing(narrowing: Mapping[str, Any]) -> list[Row]:
    """Rows saying what the project's own bandit configuration left out of the scan."""
    if narrowing.get("mode") == "ignore":
        return [Row("Project bandit configuration", "ignored (.bandit, [tool.bandit] and # nosec not honoured)")]
    rows = [
        Row("Project bandit configuration", as_list(narrowing.get("files")) or "none"),
        Row("Files excluded by the project's bandit config", as_list(narrowing.get("excluded_files")) or "none"),
        Row("Tests skipped by the project's bandit config", as_list(narrowing.get("skips")) or "none"),
    ]
    tests = as_list(narrowing.get("tests"))
    if tests:
        rows.append(Row("Only these tests run (project's bandit config)", tests))
    options = narrowing.get("options")
    if isinstance(options, Mapping) and options:
        rows.append(
            Row("Other options from the project's bandit config", ", ".join(f"{k} = {v}" for k, v in sorted(options.items())))
        )
    nosec = number(narrowing.get("nosec"))
    if nosec is not None:
        rows.append(Row("# nosec marks honoured", int(nosec)))
    return rows
