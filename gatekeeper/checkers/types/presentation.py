"""How the types check presents itself: errors against the limit, notes, strictness."""

from __future__ import annotations

from gatekeeper.display import Display, Row, ToolInfo, limits, number
from gatekeeper.findings import CheckResult

TOOL = ToolInfo("mypy", "https://mypy.readthedocs.io/en/stable/error_code_list.html", ("quality", "types"))
#: the metric keys the rows below present (the others get generic rows)
SHOWN = frozenset({"errors", "notes", "thresholds"})


def display(check: CheckResult) -> Display:
    """Errors against ``max_errors``, notes and whether mypy ran strict."""
    m = check.metrics
    policy = limits(m)
    limit = number(policy.get("max_errors"))
    rows = (
        Row("Errors", m.get("errors"), f"≤ {limit:.0f}" if limit is not None else "", not check.blocking),
        Row("Notes", m.get("notes")),
        Row("Strict mode", bool(policy.get("strict"))),
    )
    return Display(rows=rows, shown=SHOWN)
