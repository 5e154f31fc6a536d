"""How the security check presents itself: what bandit scanned and by severity (what the project's
own bandit configuration left out is the report's narrowing table, never silent)."""

from __future__ import annotations

from collections.abc import Mapping

from gatekeeper.display import Display, Row, ToolInfo
from gatekeeper.findings import CheckResult

TOOL = ToolInfo("bandit", "https://bandit.readthedocs.io/", ("security",))
#: the metric keys the rows below present (the others get generic rows)
SHOWN = frozenset(
    {"files_scanned", "lines_scanned", "counts", "fail_on_severity", "min_confidence", "thresholds", "project_config"}
)


def display(check: CheckResult) -> Display:
    """Files and lines scanned, issues by severity, the failing severity, and whether the project's configuration was ignored."""
    m = check.metrics
    rows = [
        Row(label, m[key]) for key, label in (("files_scanned", "Files scanned"), ("lines_scanned", "Lines scanned")) if key in m
    ]
    counts = m.get("counts")
    if isinstance(counts, Mapping):
        rows.append(Row("Issues by severity", ", ".join(f"{k} {counts[k]}" for k in ("high", "medium", "low") if k in counts)))
    if "fail_on_severity" in m:
        rows.append(Row("Fails on severity", m["fail_on_severity"]))
    if m.get("project_config") == "ignore":
        rows.append(Row("Project bandit configuration", "ignored (.bandit, [tool.bandit] and # nosec not honoured)"))
    return Display(rows=tuple(rows), shown=SHOWN)
