"""Waivers and baselines: which findings stop blocking, and the bookkeeping reports show.

A waiver matches a finding of its check by rule id (or any advisory alias, or the license id),
an optional path glob (per path segment: ``*`` stays within a directory, ``**`` crosses them) and
an optional package (and version). VEX statements (``gatekeeper.vex``) are waivers of kind
``vex`` and take this same path. Past its expiry date it stops applying and is
reported as expired; a live waiver that matched nothing in a check that ran is reported as unused.

A waiver's keys (``WAIVER_SCHEMA``) and what a ``[[waivers]]`` table must say (``validate_waiver``)
are here too: the policy's validation calls it for each table.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections import Counter
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from gatekeeper.findings import NO_BASELINE, AppliedWaiver, CheckResult, Finding, Status, with_findings
from gatekeeper.options import Option
from gatekeeper.policy.locate import Where
from gatekeeper.policy.values import coerce_option, did_you_mean, type_name


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
        from packaging.utils import canonicalize_name  # imported when a waiver names a package

        if finding.package is None or canonicalize_name(finding.package.name) != canonicalize_name(waiver.package):
            return False
    if waiver.version and (finding.package is None or not same_version(finding.package.version, waiver.version)):
        return False
    return True


def same_version(a: str, b: str) -> bool:
    """True when two version strings name the same release (PEP 440: ``1.0`` is ``1.0.0``), else
    when they are the same text."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


#: how a check's summary names the findings each kind of exception accepted: (one, several)
_ACCEPTED = {
    "vex": ("by a VEX statement", "by VEX statements"),
    "waiver": ("by a waiver", "by waivers"),
    "baseline": ("in the baseline", "in the baseline"),
    "existing": ("already there before the change", "already there before the change"),
}


def _saying_accepted(result: CheckResult) -> CheckResult:
    """``result`` whose summary says how many of the findings it counts an exception accepted
    ("2 vulnerabilities (1 accepted by a VEX statement)"), so the number a reader sees is honest."""
    kinds = Counter(f.waiver.kind for f in result.findings if f.waiver is not None)
    if not kinds or not result.summary:
        return result
    order = {kind: i for i, kind in enumerate(_ACCEPTED)}
    parts = []
    for kind, n in sorted(kinds.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        one, several = _ACCEPTED.get(kind, (f"by {kind}", f"by {kind}"))
        parts.append((n, one if n == 1 else several))
    said = (
        f"{parts[0][0]} accepted {parts[0][1]}" if len(parts) == 1 else "accepted: " + ", ".join(f"{n} {how}" for n, how in parts)
    )
    return replace(result, summary=f"{result.summary} ({said})")


def _held(left: Counter[str], fp: str, earlier: Mapping[str, str] | None, unconfirmed: Container[str] = ()) -> str:
    """The fingerprint of ``left`` (a baseline's, as yet unused) that covers a finding of ``fp``:
    ``fp`` itself (unless ``unconfirmed``: ``baseline.unconfirmed``), else the one it had before
    (``earlier``), else ""."""
    if left[fp] > 0 and fp not in unconfirmed:
        return fp
    before = (earlier or {}).get(fp, "")
    return before if before and left[before] > 0 else ""


def apply_waivers(  # noqa: PLR0913  # the baseline's three parts travel together
    results: Iterable[CheckResult],
    waivers: Iterable[Waiver],
    today: dt.date,
    baseline: Mapping[str, int] | None = None,
    baseline_name: str = "baseline",
    baseline_kind: str = "baseline",
    earlier: Mapping[str, str] | None = None,
    unconfirmed: Container[str] = (),
) -> tuple[tuple[CheckResult, ...], dict[str, Any]]:
    """Mark waived (and baselined) findings non-blocking; return new results and the waiver summary.

    ``baseline`` counts findings per fingerprint: each baselined finding covers one finding now
    (two identical new lines where the baseline had one leave one blocking), and a finding tagged
    ``no-baseline`` is never covered. ``baseline_kind`` is ``existing`` when the fingerprints are
    a new-code run's REF (the finding is shown as existing, not as baselined). The summary has
    ``applied`` (waiver with the fingerprints it covered), ``expired`` (with the
    findings it would have covered) and ``unused``. ``earlier`` maps a fingerprint to the one the
    finding had before (``secretprints.on_secret_lines``): a baseline holding either covers it.
    ``unconfirmed``: fingerprints the baseline covers only through a masked line that was not there
    at its commit (``baseline.unconfirmed``); their findings are covered by ``earlier`` alone.
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
            elif NO_BASELINE not in finding.tags and (held := _held(left, finding.fingerprint, earlier, unconfirmed)):
                left[held] -= 1
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
        out.append(_saying_accepted(with_findings(result, new)))
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


# --------------------------------------------------------------------------- the [[waivers]] tables


WAIVER_SCHEMA: Mapping[str, Option] = {
    "id": Option("str", "", "a name for the waiver; default: W<n>"),
    "check": Option("str", "", "the check the waiver applies to"),
    "rule": Option("str", "", "rule id, advisory id or alias, or license id"),
    "path": Option("str", "", "glob on the finding's path"),
    "package": Option("str", "", "package name (dependencies, licenses)"),
    "reason": Option("str", "", "why the finding is accepted, in a few words (at least three)"),
    "approved_by": Option("str", "", "who approved it (required)"),
    "expires": Option("str", "", "the date after which the waiver stops applying (YYYY-MM-DD)"),
}

#: the fewest words a waiver's reason may have: "x" or "ok" records no reason an auditor can weigh
MIN_REASON_WORDS = 3


@dataclass(frozen=True, slots=True)
class Waiver:
    """An accepted finding: which findings it matches, why, who said so, and until when.

    A policy ``[[waivers]]`` table is ``kind = "waiver"``; a VEX statement (``gatekeeper.vex``) is
    ``kind = "vex"``, narrowed to one package ``version`` and any of the vulnerability's ``aliases``,
    with the ``source`` file, its VEX ``status`` and ``justification``.
    """

    id: str
    check: str
    rule: str
    reason: str
    expires: dt.date
    approved_by: str = ""
    path: str = ""
    package: str = ""
    kind: str = "waiver"
    version: str = ""
    aliases: tuple[str, ...] = ()
    source: str = ""
    status: str = ""
    justification: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (dates as ISO strings); a VEX statement adds what only it has."""
        data: dict[str, Any] = {
            "id": self.id,
            "check": self.check,
            "rule": self.rule,
            "path": self.path,
            "package": self.package,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "expires": self.expires.isoformat(),
        }
        if self.kind != "waiver":
            data.update(
                kind=self.kind,
                version=self.version,
                aliases=list(self.aliases),
                source=self.source,
                status=self.status,
                justification=self.justification,
            )
        return data


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WaiverRules:
    """What a waiver is checked against: the installed checkers and gate.max_waiver_days."""

    checkers: Mapping[str, Any]
    max_days: int = 365


def validate_waiver(value: Any, index: int, where: Where, rules: WaiverRules, number: int = 0) -> Waiver:
    """One ``[[waivers]]`` table checked: its keys, a rule or a package, a reason of some words, an
    approver, an expiry within ``gate.max_waiver_days``; the ``Waiver`` it makes."""
    keypath = f"waivers[{index}]"
    if not isinstance(value, dict):
        raise where.error(keypath, "expected a table")
    fields: dict[str, Any] = {}
    for key, item in value.items():
        if key not in WAIVER_SCHEMA:
            raise where.error(f"{keypath}.{key}", "unknown key", did_you_mean(key, list(WAIVER_SCHEMA)))
        if key == "expires":
            if isinstance(item, dt.datetime):
                item = item.date()
            elif isinstance(item, str):
                try:
                    item = dt.date.fromisoformat(item)
                except ValueError:
                    raise where.error(f"{keypath}.expires", f"expected a date like 2027-06-30, got {item!r}") from None
            elif not isinstance(item, dt.date):
                raise where.error(f"{keypath}.expires", f"expected a date like 2027-06-30, got {type_name(item)}")
            fields[key] = item
        else:
            fields[key] = coerce_option(WAIVER_SCHEMA[key], item, f"{keypath}.{key}", where)
    for required in ("check", "reason", "approved_by", "expires"):
        if not fields.get(required):
            raise where.error(
                f"{keypath}.{required}", "is required (a waiver needs a check, a reason, an approver and an expiry date)"
            )
    if len(fields["reason"].split()) < MIN_REASON_WORDS:
        raise where.error(
            f"{keypath}.reason",
            f"{fields['reason']!r} is not a reason: say in a few words ({MIN_REASON_WORDS} or more) why the finding is accepted",
        )
    if not (fields.get("rule") or fields.get("package")):
        # a path alone would waive every rule there, including ones nobody has seen yet
        raise where.error(f"{keypath}.rule", "a waiver must name a rule or a package (a path only narrows one of them)")
    if fields["check"] not in rules.checkers:
        raise where.error(
            f"{keypath}.check", f"no checker named {fields['check']!r}", did_you_mean(fields["check"], list(rules.checkers))
        )
    max_days = rules.max_days
    latest = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=max_days)
    if fields["expires"] > latest:
        raise where.error(
            f"{keypath}.expires",
            f"{fields['expires'].isoformat()} is more than {max_days} days away (gate.max_waiver_days): "
            f"a waiver is reviewed again by {latest.isoformat()} at the latest",
        )
    return Waiver(
        id=fields.get("id") or f"W{number or index + 1}",
        check=fields["check"],
        rule=fields.get("rule", ""),
        reason=fields["reason"],
        expires=fields["expires"],
        approved_by=fields["approved_by"],
        path=fields.get("path", ""),
        package=fields.get("package", ""),
    )
