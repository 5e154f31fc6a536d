"""Findings of the dependencies check: one per advisory that affects a target, one per package that could not be audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gatekeeper.checkers.dependencies.advisories import Match, headline
from gatekeeper.checkers.dependencies.sources import Target
from gatekeeper.findings import NO_BASELINE, Finding, Location, Package, Severity, fingerprint

UNAUDITED_RULE = "dependencies.unaudited"


def vulnerability_finding(m: Match, target: Target | None, threshold: Severity) -> Finding:
    """The finding for advisory match ``m``, located at the target's declaration; blocking at or above ``threshold``."""
    location = None
    props: dict[str, Any] = {
        "aliases": list(m.aliases),
        "fixed_versions": list(m.fixed_versions),
        "summary": m.summary,
        "description": m.details or m.summary,
        "severity_source": m.severity_source,
    }
    if m.score is not None:
        props["cvss_score"] = m.score
    if m.published:
        props["published"] = m.published
    if m.source_file:
        props["record"] = m.source_file
    if target is not None and target.entry:
        props["lock_entry"] = target.entry
    if target is not None and target.path:
        if target.manifest:
            props["manifest"] = {"path": target.path, "line": target.line}
        else:
            location = Location(target.path, target.line)
    fix = _first_fix(m.fixed_versions, m.version)
    also = f" ({', '.join(m.aliases)})" if m.aliases else ""
    summary = headline(m.summary or m.details)
    message = f"{m.package} {m.version} is affected by {m.id}{also}"
    message += f": {summary}" if summary else ""
    message += f"; fixed in {fix}" if fix else "; no fixed version known"
    return Finding(
        rule_id=m.id,
        severity=m.severity,
        message=message,
        blocking=m.severity.at_least(threshold),
        location=location,
        package=Package(m.package, m.version),
        fingerprint=fingerprint("dependencies", m.id, canonicalize_name(m.package), m.version),
        help_uri=m.url,
        rule_name=headline(summary, 120) if summary else m.id,
        tags=("security", "dependency"),
        properties=props,
    )


def _first_fix(fixes: Sequence[str], version: str) -> str:
    try:
        current = Version(version)
    except InvalidVersion:
        return ""
    later = []
    for f in fixes:
        try:
            if Version(f) > current:
                later.append(Version(f))
        except InvalidVersion:
            continue
    return str(min(later)) if later else ""


def unaudited_finding(name: str, version: str, reason: str, blocking: bool, manifest: str) -> Finding:
    """One finding per package that could not be audited, naming it, so that a waiver can name one."""
    return Finding(
        rule_id=UNAUDITED_RULE,
        severity=Severity.HIGH,
        message=f"{name} could not be audited for known vulnerabilities: {reason}",
        blocking=blocking,
        package=Package(name, version),
        fingerprint=fingerprint("dependencies", UNAUDITED_RULE, canonicalize_name(name) or name),
        rule_name="package that could not be audited",
        tags=("security", "dependency", NO_BASELINE),
        properties={
            "packages": [{"name": name, "reason": reason}],
            "reason": reason,
            "manifest": {"path": manifest, "line": None},
        },
    )
