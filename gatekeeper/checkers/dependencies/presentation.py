"""How the dependencies check presents itself: what was audited, against which advisory source,
and each advisory as a SARIF rule linked to its OSV page."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from gatekeeper.display import Display, Row, RuleInfo, ToolInfo, number, text
from gatekeeper.findings import CheckResult, Finding

TOOL = ToolInfo("pip-audit", "https://pypi.org/project/pip-audit/", ("security", "vulnerability", "dependency"))
#: the metric keys the rows below present (the others get generic rows)
SHOWN = frozenset(
    {"packages_audited", "partly_audited", "unaudited", "vulnerabilities", "service", "thresholds", "database", "db_as_of"}
)
#: advisory id prefixes osv.dev has a page for
OSV_PREFIXES = ("GHSA", "PYSEC", "CVE", "OSV", "GSD", "MAL")


def display(check: CheckResult) -> Display:
    """Packages audited and not audited, known vulnerabilities, and the advisory source's age."""
    m = check.metrics
    rows: list[Row] = []
    if "packages_audited" in m:
        rows.append(Row("Packages audited", m["packages_audited"]))
    if m.get("partly_audited"):
        # vulnerable, and undecided by another advisory: among the packages not audited, not the audited ones
        rows.append(Row("Vulnerable, audited only in part", m["partly_audited"], "", False))
    if "vulnerabilities" in m:
        rows.append(Row("Known vulnerabilities", m["vulnerabilities"], "0 blocking", not check.blocking))
    if "unaudited" in m:
        unaudited = m.get("unaudited") or []
        rows.append(Row("Packages not audited", unaudited, "", not unaudited))
    if "service" in m:
        rows.append(Row("Advisory source", m["service"]))
    db = m.get("database")
    if isinstance(db, Mapping):
        rows.append(Row("Advisory database", db.get("location")))
        if db.get("kind") == "online":
            rows.append(Row("Queried at", db.get("queried_at") or db.get("as_of")))
        else:
            age, limit = number(db.get("age_days")), number(db.get("max_age_days"))
            as_of = f"{text(db.get('as_of'))} ({age:g} days old)" if age is not None else text(db.get("as_of"))
            met = age <= limit if age is not None and limit else None
            rows.append(Row("Database as of", as_of, f"≤ {limit:g} days old" if limit else "", met))
            ahead = db.get("dated_ahead")
            if isinstance(ahead, list) and ahead:
                shown = [f"{text(r.get('record'))} ({text(r.get('modified'))})" for r in ahead if isinstance(r, Mapping)]
                rows.append(Row("Records dated after the run (not counted for its age)", shown))
    return Display(rows=tuple(rows), shown=SHOWN)


def rule_info(finding: Finding) -> RuleInfo:
    """An advisory's rule names its package, and links to osv.dev when the id is one OSV knows."""
    short = f"{finding.rule_id} in {finding.package.name}" if finding.package is not None else ""
    known = finding.rule_id.split("-", 1)[0] in OSV_PREFIXES
    return RuleInfo(short, f"https://osv.dev/vulnerability/{quote(finding.rule_id)}" if known else "")
