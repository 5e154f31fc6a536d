"""How the secrets check presents itself: files scanned and potential secrets found."""

from __future__ import annotations

from gatekeeper.display import Display, Row, ToolInfo, narrowing_rows
from gatekeeper.findings import CheckResult

TOOL = ToolInfo("detect-secrets", "https://github.com/Yelp/detect-secrets", ("security", "secret"))
#: the metric keys the rows below present (the others get generic rows)
SHOWN = frozenset({"files_scanned", "secrets", "narrowing"})


def display(check: CheckResult) -> Display:
    """Tracked files scanned, potential secrets (none allowed), and what narrowed the scan."""
    m = check.metrics
    rows = (
        Row("Tracked files scanned", m.get("files_scanned")),
        Row("Potential secrets", m.get("secrets"), "0", not check.blocking),
    )
    return Display(rows=(*rows, *narrowing_rows(m)), shown=SHOWN)
