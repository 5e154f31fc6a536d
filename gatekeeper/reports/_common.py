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
    """``blocking``, ``waived`` (a policy waiver), ``baselined``, ``existing`` (a new-code run's REF
    had it) or ``advisory`` (reported, not blocking)."""
    if finding.waiver is not None:
        if finding.waiver.kind in ("baseline", "existing"):
            return "baselined" if finding.waiver.kind == "baseline" else "existing"
        return "waived"
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


def partial_scope(result: GateResult) -> str:
    """``partial: only sbom`` for a run of part of the policy (``--only``, ``--skip``, one shard),
    which gates no commit: every format says so beside the verdict; "" for a complete run and for a
    result that records no scope."""
    from gatekeeper.gated import partial_note

    scope = result.extra.get("scope")
    return partial_note(scope) if isinstance(scope, Mapping) else ""


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


def new_code_facts(result: GateResult) -> list[tuple[str, str]]:
    """A new-code run's facts as (label, text): REF, where its result came from, and the dependency
    review's added, changed and removed packages; nothing for a full run."""
    entry = result.extra.get("new_code")
    if not isinstance(entry, Mapping):
        return []
    how = {"stored": "a stored result", "worktree": "a temporary worktree", "unavailable": "unavailable"}
    source = str(entry.get("result") or "")
    text = (
        f"{entry.get('ref', '')} ({str(entry.get('commit') or '')[:12]}), {entry.get('reason', '')}; REF's result from "
        f"{how.get(source, source)}{': ' + str(entry['source']) if entry.get('source') else ''}; "
        f"{entry.get('existing', 0)} existing finding(s) not blocking"
    )
    if entry.get("note"):
        text += f"; {entry['note']}"
    facts = [("New code since", text)]
    facts.extend(("Dependency review", line) for line in review_lines(result))
    return facts


def review_lines(result: GateResult) -> list[str]:
    """The dependency review, one line per added, changed or removed package (its version, known
    vulnerabilities and license), or the reason there is none."""
    check = next((c for c in result.checks if c.name == "dependency-review"), None)
    if check is None:
        return []
    if not isinstance(check.metrics.get("added"), list):
        return [check.summary]
    lines = []
    for kind in ("added", "changed", "removed"):
        for row in check.metrics.get(kind) or []:
            if not isinstance(row, Mapping):
                continue
            version = f"{row.get('previous')} -> {row.get('version')}" if row.get("previous") else str(row.get("version"))
            line = f"{kind} {row.get('name')} {version}"
            if kind != "removed":
                vulns = ", ".join(str(v) for v in row.get("vulnerabilities") or []) or "no known vulnerabilities"
                line += f": {vulns}; license {row.get('license') or 'unknown'}"
            lines.append(line)
    return lines or [check.summary]
