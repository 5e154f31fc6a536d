"""Waivers and baselines: which findings stop blocking, and the bookkeeping reports show.

A waiver matches a finding of its check by rule id (or any advisory alias, or the license id),
an optional path glob (per path segment: ``*`` stays within a directory, ``**`` crosses them) and
an optional package (and version). VEX statements (``gatekeeper.vex``) are waivers of kind
``vex`` and take this same path. Past its expiry date it stops applying and is
reported as expired; a live waiver that matched nothing in a check that ran is reported as unused.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gatekeeper.findings import NO_BASELINE, AppliedWaiver, CheckResult, Finding, Status, with_findings
from gatekeeper.policy import Waiver


def rule_names(finding: Finding) -> set[str]:
    """Every name a waiver's ``rule`` may use for this finding, casefolded."""
    names = {finding.rule_id}
    props = finding.properties
    aliases = props.get("aliases") or ()
    if isinstance(aliases, (list, tuple)):
        names.update(str(a) for a in aliases)
    for key in ("license", "license_ids"):
        value = props.get(key)
        if isinstance(value, str) and value:
            names.add(value)
        elif isinstance(value, (list, tuple)):
            names.update(str(v) for v in value)
    return {n.casefold() for n in names if n}


def path_matches(path: str, pattern: str) -> bool:
    """Glob ``pattern`` against a posix ``path``, segment by segment: ``*``, ``?`` and ``[...]`` stay
    within one segment, ``**`` spans any number of segments (none included)."""
    return _segments_match(path.split("/"), pattern.split("/"))


def _segments_match(parts: list[str], pattern: list[str]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_segments_match(parts[i:], rest) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _segments_match(parts[1:], rest)


def matches(waiver: Waiver, check: str, finding: Finding) -> bool:
    """True when ``waiver`` covers ``finding`` of the check called ``check`` (expiry aside)."""
    if waiver.check != check:
        return False
    if waiver.rule and rule_names(finding).isdisjoint(n.casefold() for n in (waiver.rule, *waiver.aliases)):
        return False
    if waiver.path:
        if finding.location is None or not path_matches(finding.location.path, waiver.path):
            return False
    if waiver.package:
        if finding.package is None or canonicalize_name(finding.package.name) != canonicalize_name(waiver.package):
            return False
    if waiver.version and (finding.package is None or not same_version(finding.package.version, waiver.version)):
        return False
    return True


def same_version(a: str, b: str) -> bool:
    """True when two version strings name the same release (PEP 440: ``1.0`` is ``1.0.0``), else
    when they are the same text."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def apply_waivers(  # noqa: PLR0913  # the baseline's three parts travel together
    results: Iterable[CheckResult],
    waivers: Iterable[Waiver],
    today: dt.date,
    baseline: Mapping[str, int] | None = None,
    baseline_name: str = "baseline",
    baseline_kind: str = "baseline",
) -> tuple[tuple[CheckResult, ...], dict[str, Any]]:
    """Mark waived (and baselined) findings non-blocking; return new results and the waiver summary.

    ``baseline`` counts findings per fingerprint: each baselined finding covers one finding now
    (two identical new lines where the baseline had one leave one blocking), and a finding tagged
    ``no-baseline`` is never covered. ``baseline_kind`` is ``existing`` when the fingerprints are
    a new-code run's REF (the finding is shown as existing, not as baselined). The summary has
    ``applied`` (waiver with the fingerprints it covered), ``expired`` (with the
    findings it would have covered) and ``unused``.
    """
    waivers = tuple(waivers)
    live = [w for w in waivers if w.expires >= today]
    expired = [w for w in waivers if w.expires < today]
    hits: dict[str, list[str]] = {w.id: [] for w in waivers}
    left = Counter(baseline or {})
    out: list[CheckResult] = []
    evaluated: set[str] = set()
    for result in results:
        if result.status in (Status.PASS, Status.FAIL):
            evaluated.add(result.name)
        new: list[Finding] = []
        for finding in result.findings:
            for w in expired:
                if matches(w, result.name, finding):
                    hits[w.id].append(finding.fingerprint)
            covering = [w for w in live if matches(w, result.name, finding)]
            for w in covering:  # every waiver that covers a finding is in use, the first one is attached
                hits[w.id].append(finding.fingerprint)
            waiver = covering[0] if covering else None
            if waiver is not None:
                finding = replace(
                    finding,
                    blocking=False,
                    waiver=AppliedWaiver(
                        id=waiver.id,
                        kind=waiver.kind,
                        reason=waiver.reason,
                        approved_by=waiver.approved_by,
                        expires=waiver.expires.isoformat(),
                        status=waiver.status,
                        justification=waiver.justification,
                    ),
                )
            elif left[finding.fingerprint] > 0 and NO_BASELINE not in finding.tags:
                left[finding.fingerprint] -= 1
                finding = replace(
                    finding,
                    blocking=False,
                    waiver=AppliedWaiver(
                        id=baseline_kind,
                        kind=baseline_kind,
                        reason=f"present in {baseline_name}" if baseline_kind == "baseline" else f"present at {baseline_name}",
                        approved_by="",
                        expires="",
                    ),
                )
            new.append(finding)
        out.append(with_findings(result, new))
    summary = {
        "applied": [_entry(w, hits[w.id]) for w in live if hits[w.id]],
        "expired": [_entry(w, hits[w.id]) for w in expired],
        # a waiver for a check that did not run (--only, disabled, error) is not known to be unused
        "unused": [_entry(w, []) for w in live if not hits[w.id] and w.check in evaluated],
    }
    return tuple(out), summary


def _entry(waiver: Waiver, fingerprints: list[str]) -> Mapping[str, Any]:
    data = waiver.to_dict()
    data["findings"] = len(fingerprints)
    data["fingerprints"] = sorted(set(fingerprints))
    return data
