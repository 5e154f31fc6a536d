"""Helpers the non-JSON renderers share: ordering, finding states, counts and run metadata.

Everything here reads a ``GateResult`` only (no clock, no disk), so renderers stay pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from gatekeeper.display import MISSING as MISSING  # what a report shows when a value is unknown
from gatekeeper.findings import CheckResult, Finding, GateResult, Severity

#: severities from worst to mildest, the order every report lists them in
SEVERITIES: tuple[Severity, ...] = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)


def ordered_checks(result: GateResult) -> list[CheckResult]:
    """The checks in a stable order (by name), as the JSON report lists them."""
    return sorted(result.checks, key=lambda c: c.name)


def ordered_findings(check: CheckResult) -> list[Finding]:
    """A check's findings, most severe first (``Finding.sort_key``), fingerprint as the last tie-breaker."""
    return sorted(check.findings, key=lambda f: (*f.sort_key(), f.fingerprint))


def priority(finding: Finding) -> tuple[Any, ...]:
    """Sort key: most severe first, blocking before waived at equal severity, then place and
    fingerprint. What a report keeps when it cannot list every finding (SARIF, the HTML page)."""
    return (-finding.severity.rank, not finding.blocking, *finding.sort_key(), finding.fingerprint)


def all_findings(result: GateResult) -> Iterator[tuple[CheckResult, Finding]]:
    """Every finding with its check, checks by name and findings most severe first."""
    for check in ordered_checks(result):
        for finding in ordered_findings(check):
            yield check, finding


def finding_state(finding: Finding) -> str:
    """``blocking``, ``waived`` (a policy waiver), ``baselined`` or ``advisory`` (reported, not blocking)."""
    if finding.waiver is not None:
        return "baselined" if finding.waiver.kind == "baseline" else "waived"
    return "blocking" if finding.blocking else "advisory"


def severity_counts(findings: Any) -> dict[str, int]:
    """``{severity: count}`` over ``findings``, every severity present (zero when none)."""
    counts = {s.value: 0 for s in SEVERITIES}
    for f in findings:
        counts[f.severity.value] += 1
    return counts


def actor(result: GateResult) -> str:
    """Who triggered the run, if the result records it (``actor`` at the top level or in ``repository``)."""
    value = result.extra.get("actor") or result.repository.get("actor")
    if isinstance(value, Mapping):  # e.g. {"name": ..., "source": ...}
        value = value.get("name") or value.get("login") or ""
    return str(value) if value else ""


def where(finding: Finding) -> str:
    """The finding's place as text: ``path:line``, the package ``name==version``, or empty."""
    parts = []
    if finding.location is not None:
        loc = finding.location.path
        if finding.location.line:
            loc += f":{finding.location.line}"
        parts.append(loc)
    if finding.package is not None:
        parts.append(f"{finding.package.name}=={finding.package.version}" if finding.package.version else finding.package.name)
    return " ".join(parts)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) folded into one space."""
    return " ".join(text.split())
