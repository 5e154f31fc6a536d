"""How the licenses check presents itself: a table of every package's license and verdict, and
each license rule linked to its SPDX page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.display import MISSING, Display, RuleInfo, ToolInfo, VerdictRow, VerdictTable, as_list
from gatekeeper.findings import CheckResult, Finding

TOOL = ToolInfo("pip-licenses", "https://pypi.org/project/pip-licenses/", ("license", "compliance"))
#: the metric keys the table presents (the others get generic rows)
SHOWN = frozenset({"packages", "thresholds"})
_VERDICT_ORDER = {"denied": 0, "unknown": 1, "allowed": 2, "ignored": 3}
_COLUMNS = ("Package", "Version", "License (SPDX)", "Declared as", "Verdict")


def display(check: CheckResult) -> Display:
    """Every package with its license and verdict, denied first, and the count per verdict."""
    rows = [
        VerdictRow(
            (str(p.get("name", "")), str(p.get("version", "")), str(p.get("license") or MISSING), str(p.get("raw") or MISSING)),
            str(p.get("verdict") or "unknown"),
        )
        for p in as_list(check.metrics.get("packages"))
        if isinstance(p, Mapping)
    ]
    if not rows:
        return Display(shown=SHOWN)
    rows.sort(key=lambda r: (_VERDICT_ORDER.get(r.verdict, 9), r.cells[0].lower(), r.cells[1]))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    ordered = tuple(sorted(counts.items(), key=lambda kv: (_VERDICT_ORDER.get(kv[0], 9), kv[0])))
    return Display(shown=SHOWN, table=VerdictTable("Licenses", _COLUMNS, tuple(rows), ordered))


def rule_info(finding: Finding) -> RuleInfo:
    """A license rule links to the license's SPDX page when the finding names a plain license id."""
    lic = finding.properties.get("license")
    if isinstance(lic, str) and lic and all(ch.isalnum() or ch in ".-+" for ch in lic):
        return RuleInfo(help_uri=f"https://spdx.org/licenses/{lic.removesuffix('+')}.html")
    return RuleInfo()


def license_table(check: CheckResult) -> bytes | None:
    """The check's package table as CSV (name, version, license, declared as, verdict), or None
    without one (an evidence bundle's ``licenses/licenses.csv``)."""
    import csv
    import io

    packages = check.metrics.get("packages")
    if not isinstance(packages, list):
        return None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "version", "license", "declared_as", "verdict"])
    rows = [p for p in packages if isinstance(p, Mapping)]
    rows.sort(key=lambda p: (str(p.get("name", "")).lower(), str(p.get("version", ""))))
    for p in rows:
        writer.writerow([_cell(p.get(k)) for k in ("name", "version", "license", "raw", "verdict")])
    return buffer.getvalue().encode("utf-8")


_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``=``, ``+``, ``-`` or ``@`` is quoted with ``'``."""
    from gatekeeper.redaction import redact

    text = redact("" if value is None else str(value))
    return "'" + text if text.startswith(_CSV_FORMULA) else text
