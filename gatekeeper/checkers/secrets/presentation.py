"""How the secrets check presents itself: files scanned and potential secrets found."""

from __future__ import annotations

from gatekeeper.display import Display, Row, ToolInfo
from gatekeeper.findings import CheckResult

TOOL = ToolInfo("detect-secrets", "https://github.com/Yelp/detect-secrets", ("security", "secret"))
#: the metric keys the rows below present (the others get generic rows)
SHOWN = frozenset({"files_scanned", "files_not_scanned", "secrets"})


def display(check: CheckResult) -> Display:
    """Tracked files scanned and not scanned, and potential secrets (none allowed); what narrowed
    the scan is the report's narrowing table."""
    m = check.metrics
    rows = (
        Row("Tracked files scanned", m.get("files_scanned")),
        Row("Tracked files not scanned", m.get("files_not_scanned", 0), "0", not m.get("files_not_scanned")),
        Row("Potential secrets", m.get("secrets"), "0", not check.blocking),
    )
    return Display(rows=rows, shown=SHOWN)
