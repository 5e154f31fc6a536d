"""How the lint check presents itself: files checked, findings against the limit, fixable ones."""

from __future__ import annotations

from gatekeeper.display import Display, Row, ToolInfo, as_list, limits, number
from gatekeeper.findings import CheckResult

#: the check's name (here, where the findings' module can take it without importing the checker)
CHECK = "lint"
TOOL = ToolInfo("ruff", "https://docs.astral.sh/ruff/rules/", ("quality", "lint"))
#: the metric keys the rows below present (the others get generic rows)
SHOWN = frozenset({"files_checked", "findings", "suppressed", "fixable", "thresholds"})


def display(check: CheckResult) -> Display:
    """Files checked, findings against ``max_findings``, suppressed and fixable findings, blocking rules."""
    m = check.metrics
    policy = limits(m)
    limit = number(policy.get("max_findings"))
    rows = [
        Row("Files checked", m.get("files_checked")),
        Row("Findings", m.get("findings"), f"≤ {limit:.0f} blocking" if limit is not None else "", not check.blocking),
        Row("Suppressed by the project's comments", m.get("suppressed", 0)),
        Row("Fixable by ruff", m.get("fixable")),
    ]
    if policy.get("fail_on"):
        rows.append(Row("Rules that block", ", ".join(str(p) for p in as_list(policy.get("fail_on")))))
    return Display(rows=tuple(rows), shown=SHOWN)
