"""Dependency review of a new-code run: the packages added, removed or changed since REF.

The packages are the dependencies check's own inventory (``metrics.packages``) at REF and at the
head: an environment, a requirements file, pyproject.toml or a lock file, whatever its ``source``
reads. Each added or changed package carries the vulnerabilities the dependencies check found in
it at the head and the license the licenses check read, and the ``[review]`` policy blocks a new
package that is vulnerable, denied, or under a license not allowed for new packages. The review is
a check of gatekeeper's own (``dependency-review``), so every report shows it; it never changes the
tools' findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from packaging.utils import canonicalize_name

from gatekeeper import __version__
from gatekeeper.checkers.dependencies.findings import UNAUDITED_RULE
from gatekeeper.checkers.licenses import spdx
from gatekeeper.findings import CheckResult, Finding, GateResult, Package, Severity, Status, decide_status, fingerprint
from gatekeeper.newcode import REVIEW_CHECK

_RULE_NAMES = {
    "review.denied": "new package denied",
    "review.vulnerable": "new vulnerable package",
    "review.license": "new package's license not allowed",
}
_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)


def _packages(check: CheckResult | None) -> dict[str, tuple[str, str]] | None:
    """``{canonical name: (name, version)}`` of a dependencies check that ran, else None."""
    if check is None or check.status not in (Status.PASS, Status.FAIL):
        return None
    listed = check.metrics.get("packages")
    if not isinstance(listed, list):
        return None
    out: dict[str, tuple[str, str]] = {}
    for p in listed:
        if isinstance(p, Mapping) and isinstance(p.get("name"), str):
            out[canonicalize_name(p["name"])] = (p["name"], str(p.get("version") or ""))
    return out


def _check(result: GateResult, name: str) -> CheckResult | None:
    return next((c for c in result.checks if c.name == name), None)


def _licenses(result: GateResult) -> dict[tuple[str, str], str]:
    """``{(canonical name, version): SPDX expression}`` the licenses check read ("" when unknown)."""
    check = _check(result, "licenses")
    rows = check.metrics.get("packages") if check is not None else None
    out: dict[tuple[str, str], str] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, Mapping) and isinstance(row.get("name"), str):
            known = row.get("verdict") != "unknown"
            out[(canonicalize_name(row["name"]), str(row.get("version") or ""))] = str(row.get("license") or "") if known else ""
    return out


def _vulnerabilities(check: CheckResult) -> dict[tuple[str, str], list[Finding]]:
    out: dict[tuple[str, str], list[Finding]] = {}
    for f in check.findings:
        if f.package is not None and f.rule_id != UNAUDITED_RULE:
            out.setdefault((canonicalize_name(f.package.name), f.package.version), []).append(f)
    return out


def _entry(name: str, version: str, vulns: Sequence[Finding], license_id: str | None, previous: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "version": version}
    if previous:
        entry["previous"] = previous
    entry["vulnerabilities"] = sorted({f.rule_id for f in vulns})
    entry["license"] = license_id if license_id is not None else ""
    return entry


def review_dependencies(
    head: GateResult, ref: GateResult | None, label: str, section: Mapping[str, Any], comparable: bool
) -> CheckResult | None:
    """The ``dependency-review`` check of a new-code run, or None when the dependencies check did
    not run at the head. When REF's inventory is not known, every package is reviewed as added
    (failing closed: a denied package must not pass because REF could not be read), and the
    summary says why."""
    head_check = _check(head, "dependencies")
    now = _packages(head_check)
    if head_check is None or now is None or not section.get("enabled", True):
        return None
    known = _packages(_check(ref, "dependencies")) if ref is not None and comparable else None
    unknown = ""
    if known is None:
        why = (
            "the dependencies check reads the installed environment, which a worktree of REF does not have"
            if ref is not None and not comparable
            else "the dependencies check did not run at REF"
        )
        unknown = f"REF's packages are not known ({why}): every package is reviewed as added"
    before = known or {}
    vulns = _vulnerabilities(head_check)
    licenses = _licenses(head)
    have_licenses = _check(head, "licenses") is not None
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for key, (name, version) in sorted(now.items()):
        old = before.get(key)
        if old is not None and old[1] == version:
            continue
        found = vulns.get((key, version), [])
        license_id = licenses.get((key, version)) if have_licenses else None
        entry = _entry(name, version, found, license_id, old[1] if old else "")
        judged = _judge(entry, found, section, label, "changed" if old else "added")
        # whether the package stops the gate, by the review's own rules or the dependencies check's findings
        entry["blocks"] = any(f.blocking for f in (*judged, *found))
        (changed if old else added).append(entry)
        findings.extend(judged)
    for key, (name, version) in sorted(before.items()):
        if key not in now:
            removed.append({"name": name, "version": version})
    status = decide_status(findings)
    parts = [f"{len(added)} added", f"{len(changed)} changed", f"{len(removed)} removed"]
    blocking = sum(1 for f in findings if f.blocking)
    summary = f"since {label}: {', '.join(parts)}" + (f"; {blocking} blocking" if blocking else "")
    if unknown:
        summary += f"; {unknown}"
    return CheckResult(
        name=REVIEW_CHECK,
        status=status,
        summary=summary,
        tool_name="gatekeeper",
        tool_version=__version__,
        metrics={"ref": label, "ref_known": not unknown, "added": added, "changed": changed, "removed": removed},
        findings=tuple(findings),
    )


def _worst(found: Sequence[Finding]) -> Severity:
    return min((f.severity for f in found), key=_ORDER.index, default=Severity.HIGH)


def _judge(entry: Mapping[str, Any], found: Sequence[Finding], section: Mapping[str, Any], label: str, how: str) -> list[Finding]:
    """The review's findings for one added or changed package (``[review]``: block_vulnerable, deny, allow_licenses)."""
    name, version = str(entry["name"]), str(entry["version"])
    pkg = Package(name, version)
    what = f"{name} {version} ({how} since {label})"
    out: list[Finding] = []
    denied = {canonicalize_name(str(d)) for d in section.get("deny") or ()}
    if canonicalize_name(name) in denied:
        out.append(_finding("review.denied", Severity.HIGH, f"{what} is on the review's deny list", pkg))
    if found and section.get("block_vulnerable", True):
        out.append(_vulnerable(what, entry, found, pkg))
    allow = [str(a) for a in section.get("allow_licenses") or ()]
    if allow:
        expression = str(entry.get("license") or "")
        if not expression:
            out.append(
                _finding(
                    "review.license",
                    Severity.HIGH,
                    f"{what}: its license is not known, and new packages need one of {', '.join(allow)}",
                    pkg,
                )
            )
        elif not spdx.evaluate(expression, allow, []).allowed:
            out.append(
                _finding(
                    "review.license",
                    Severity.HIGH,
                    f"{what} is licensed {expression}, not allowed for new packages ({', '.join(allow)})",
                    pkg,
                )
            )
    return out


def _vulnerable(what: str, entry: Mapping[str, Any], found: Sequence[Finding], pkg: Package) -> Finding:
    """``review.vulnerable`` for a new package with known vulnerabilities. One problem, one blocking
    reason: when the dependencies check already blocks on the package, the review's finding only
    refers to those findings (their fingerprints) and does not block again; when none of them
    blocks (below ``fail_on_severity``, or waived), the review's finding blocks, so a new
    vulnerable package never passes."""
    ids = ", ".join(entry["vulnerabilities"])
    blocked = sorted({f.fingerprint for f in found if f.blocking and f.fingerprint})
    if not blocked:
        return _finding("review.vulnerable", _worst(found), f"{what} has known vulnerabilities: {ids}", pkg)
    message = f"{what} has known vulnerabilities: {ids} (blocking in the dependencies check, not counted again here)"
    finding = _finding("review.vulnerable", _worst(found), message, pkg, blocking=False)
    return replace(finding, properties={"blocked_by": {"check": "dependencies", "fingerprints": blocked}})


def _finding(rule: str, severity: Severity, message: str, pkg: Package, blocking: bool = True) -> Finding:
    return Finding(
        rule_id=rule,
        severity=severity,
        message=message,
        blocking=blocking,
        package=pkg,
        fingerprint=fingerprint(REVIEW_CHECK, rule, pkg.name, pkg.version),
        rule_name={"review.denied": "new package denied", "review.vulnerable": "new vulnerable package"}.get(
            rule, "new package's license not allowed"
        ),
        tags=("dependency-review", "no-baseline"),
    )
