"""GitLab's own report formats, for merge-request widgets and the vulnerability report.

- Code Quality (``artifacts:reports:codequality``): the lint, security and types findings that
  have a place in the code, as GitLab's Code Climate subset (description, check_name,
  fingerprint, severity, location.path and location.lines.begin).
- SAST (``artifacts:reports:sast``) from the security check, and dependency scanning
  (``artifacts:reports:dependency_scanning``) from the dependencies check, in the security report
  schema 15.2.1.

Findings a waiver, a VEX statement or the baseline accepted are left out of all three (GitLab has
no field for an accepted finding; the JSON, SARIF and HTML reports keep them, marked). A check that
did not run gives a security report whose scan status is ``failure``, with a message saying why,
never an empty success. Pure: everything comes from the ``GateResult``.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # importing typing_extensions costs every start-up about 2 ms where typing has it
    from typing_extensions import assert_never

from gatekeeper.findings import CheckResult, Finding, GateResult, Package, Severity, Status, fingerprint
from gatekeeper.reports._common import all_findings, one_line

#: the checks whose findings are code quality issues, and the Code Climate category of each
CODE_QUALITY_CHECKS: Mapping[str, str] = {"lint": "Style", "security": "Security", "types": "Bug Risk"}
SCHEMA_VERSION = "15.2.1"
_SCHEMA_URL = "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/v{v}/dist/{kind}-report-format.json"
_VENDOR = {"name": "gatekeeper"}
#: who maintains the scanners behind the security checks (GitLab shows the scanner's vendor)
_SCANNER_VENDORS = {"bandit": "PyCQA", "pip-audit": "PyPA"}


def codequality_severity(severity: Severity) -> str:
    """The Code Quality severity (info, minor, major, critical, blocker) for a gatekeeper severity."""
    if severity is Severity.CRITICAL:
        return "blocker"
    if severity is Severity.HIGH:
        return "critical"
    if severity is Severity.MEDIUM:
        return "major"
    if severity is Severity.LOW:
        return "minor"
    if severity is Severity.INFO:
        return "info"
    assert_never(severity)


def render_codequality(result: GateResult) -> str:
    """The Code Quality report: a JSON array of issues, one per open lint, security or types finding
    with a location; fingerprints are unique within the report (GitLab keys issues by them)."""
    issues: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for check, finding in all_findings(result):
        if check.name not in CODE_QUALITY_CHECKS or finding.waiver is not None or finding.location is None:
            continue
        fp = _unique(finding.fingerprint or fingerprint(check.name, finding.rule_id, finding.message), seen)
        issues.append(
            {
                "type": "issue",
                "description": one_line(finding.message) or finding.rule_id,
                "check_name": finding.rule_id,
                "fingerprint": fp,
                "severity": codequality_severity(finding.severity),
                "categories": [CODE_QUALITY_CHECKS[check.name]],
                "engine_name": check.tool_name or check.name,
                "location": {"path": finding.location.path, "lines": {"begin": max(1, finding.location.line or 1)}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def render_sast(result: GateResult) -> str:
    """The SAST security report (schema 15.2.1) from the security check's open findings."""
    check = result.check("security")
    vulns = [_sast_vulnerability(f, fp) for f, fp in _open(check)]
    return _dump(_report(result, check, "sast", vulns))


def render_dependency_scanning(result: GateResult) -> str:
    """The dependency-scanning security report (schema 15.2.1) from the dependencies check's open
    advisories; packages that could not be audited are listed as ``warn`` messages of the scan."""
    check = result.check("dependencies")
    vulns = [_dependency_vulnerability(f, f.package, fp) for f, fp in _open(check) if f.package is not None and not _unaudited(f)]
    report = _report(result, check, "dependency_scanning", vulns)
    if check is not None:
        for f in check.findings:
            if _unaudited(f) and f.package is not None:
                report["scan"].setdefault("messages", []).append({"level": "warn", "value": one_line(f.message)})
    return _dump(report)


def _open(check: CheckResult | None) -> Iterable[tuple[Finding, str]]:
    """The check's findings no waiver accepted, each with a report-unique fingerprint."""
    if check is None:
        return []
    seen: Counter[str] = Counter()
    out = []
    for f in sorted(check.findings, key=lambda f: (*f.sort_key(), f.fingerprint)):
        if f.waiver is None:
            out.append((f, _unique(f.fingerprint or fingerprint(check.name, f.rule_id, f.message), seen)))
    return out


def _unique(fp: str, seen: Counter[str]) -> str:
    seen[fp] += 1
    return fp if seen[fp] == 1 else fingerprint(fp, seen[fp])


def _unaudited(finding: Finding) -> bool:
    return finding.rule_id == "dependencies.unaudited"


def _report(result: GateResult, check: CheckResult | None, kind: str, vulns: list[dict[str, Any]]) -> dict[str, Any]:
    ran = check is not None and check.status in (Status.PASS, Status.FAIL)
    scanner_name = (check.tool_name if check else "") or (check.name if check else "") or "unknown"
    scan: dict[str, Any] = {
        "analyzer": {"id": "gatekeeper", "name": "gatekeeper", "version": result.tool_version or "unknown", "vendor": _VENDOR},
        "scanner": {
            "id": "".join(c if c.isalnum() or c in "-_" else "-" for c in scanner_name.lower()),
            "name": scanner_name,
            "version": (check.tool_version if check else "") or "unknown",
            "vendor": {"name": _SCANNER_VENDORS.get(scanner_name, "gatekeeper")},
        },
        "type": kind,
        "start_time": _gitlab_time(result.started_at),
        "end_time": _gitlab_time(result.finished_at),
        "status": "success" if ran else "failure",
    }
    if not ran:
        why = "did not run in this gatekeeper run" if check is None else f"did not complete: {check.error or check.summary}"
        name = "security" if kind == "sast" else "dependencies"
        scan["messages"] = [{"level": "fatal", "value": one_line(f"the {name} check {why}")}]
    schema = _SCHEMA_URL.format(v=SCHEMA_VERSION, kind=kind.replace("_", "-"))
    return {"version": SCHEMA_VERSION, "schema": schema, "scan": scan, "vulnerabilities": vulns}


def _gitlab_time(stamp: str) -> str:
    """``2026-11-29T04:11:45Z`` as the schema's ``yyyy-mm-ddThh:mm:ss`` (UTC)."""
    return stamp[:19] if len(stamp) >= 19 else "1970-01-01T00:00:00"


def _severity(severity: Severity) -> str:
    return severity.value.capitalize()


def _link(url: str) -> list[dict[str, str]]:
    return [{"url": url}] if url.startswith(("https://", "http://")) else []


def _sast_vulnerability(finding: Finding, fp: str) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = [
        {
            "type": "bandit_test_id",
            "name": f"Bandit Test ID {finding.rule_id}",
            "value": finding.rule_id,
            **_url(finding.help_uri),
        }
    ]
    cwe = finding.properties.get("cwe")
    if isinstance(cwe, Mapping):  # bandit's own shape: {"id": 78, "link": ...}
        cwe = cwe.get("id")
    if (isinstance(cwe, int) and not isinstance(cwe, bool)) or (isinstance(cwe, str) and cwe.isdigit()):
        identifiers.append(
            {"type": "cwe", "name": f"CWE-{cwe}", "value": str(cwe), "url": f"https://cwe.mitre.org/data/definitions/{cwe}.html"}
        )
    location: dict[str, Any] = {}
    if finding.location is not None:
        location = {"file": finding.location.path, "start_line": max(1, finding.location.line or 1)}
        if finding.location.end_line:
            location["end_line"] = max(location["start_line"], finding.location.end_line)
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"gatekeeper:gitlab:{fp}")),
        "name": (finding.rule_name or finding.rule_id)[:255],
        "description": finding.message,
        "severity": _severity(finding.severity),
        "identifiers": identifiers,
        "links": _link(finding.help_uri),
        "location": location,
    }


def _url(url: str) -> dict[str, str]:
    return {"url": url} if url.startswith(("https://", "http://")) else {}


def _dependency_vulnerability(finding: Finding, package: Package, fp: str) -> dict[str, Any]:
    aliases = finding.properties.get("aliases") or []
    names = [finding.rule_id, *(str(a) for a in aliases if str(a) != finding.rule_id)]
    manifest = finding.properties.get("manifest")
    if finding.location is not None:
        file = finding.location.path
    elif isinstance(manifest, Mapping) and manifest.get("path"):
        file = str(manifest["path"])
    else:
        file = "pyproject.toml"
    fixes = [str(v) for v in finding.properties.get("fixed_versions") or []]
    out: dict[str, Any] = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"gatekeeper:gitlab:{fp}")),
        "name": (finding.rule_name or finding.rule_id)[:255],
        "description": str(finding.properties.get("description") or finding.message),
        "severity": _severity(finding.severity),
        "identifiers": [_advisory_identifier(n) for n in names],
        "links": _link(finding.help_uri),
        "location": {"file": file, "dependency": {"package": {"name": package.name}, "version": package.version}},
    }
    if fixes:
        out["solution"] = f"Upgrade {package.name} to {' or '.join(fixes)} or later."[:7000]
    return out


def _advisory_identifier(name: str) -> dict[str, str]:
    """A GitLab identifier for an advisory id: its kind from the prefix (CVE, GHSA, PYSEC, ...)."""
    kind = name.split("-", 1)[0].lower() if "-" in name else "osv"
    return {"type": kind, "name": name, "value": name, "url": f"https://osv.dev/vulnerability/{quote(name)}"}


def _dump(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
