"""What an audit record says about its run, as a verifier reads it: the checks that ran, the VEX
documents read, what a baseline or new-code reference let through, and the waivers and how they
were judged. A record may have been edited by whoever held the key: odd shapes count as nothing
said, and a count it does not state is unknown, never zero."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def ran_of(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The checks the record says ran (any status but skipped)."""
    checks = record.get("checks")
    if not isinstance(checks, Mapping):
        return ()
    return tuple(sorted(str(n) for n, c in checks.items() if isinstance(c, Mapping) and c.get("status") != "skipped"))


def vex_of(record: Mapping[str, Any]) -> tuple[tuple[str, str], ...] | None:
    """(path, sha256) of each VEX document the record says the run read; None when it does not say."""
    vex = record.get("vex")
    if not isinstance(vex, list):
        return None
    return tuple((str(v.get("path") or ""), str(v.get("sha256") or "")) for v in vex if isinstance(v, Mapping))


def known_of(record: Mapping[str, Any]) -> tuple[str, ...]:
    """What the record says let findings through as already known, neither the policy nor a waiver:
    ``N finding(s) in the baseline PATH (sha256 …)`` (``check --baseline``) and ``N finding(s)
    present at REF (commit …)`` (``--new-code-since``); none when nothing was let through."""
    said = []
    baseline, new_code = record.get("baseline"), record.get("new_code")
    if isinstance(baseline, Mapping) and (count := _count(baseline.get("matched"))) != "0":
        digest = str(baseline.get("sha256") or "")
        detail = f" (sha256 {digest})" if digest else " (its sha256 not recorded)"
        said.append(f"{count} finding(s) in the baseline {baseline.get('path') or '?'}{detail}")
    if isinstance(new_code, Mapping) and (count := _count(new_code.get("existing"))) != "0":
        said.append(f"{count} finding(s) present at {new_code.get('ref') or '?'} (commit {new_code.get('commit') or '?'})")
    return tuple(said)


def narrowed_of(record: Mapping[str, Any]) -> tuple[str, ...]:
    """Each check the record says the project's own configuration or comments narrowed (an exclude, a
    rule turned off, a ``# nosec``): ``security (line-comments × 1; 1 finding(s) hidden where the tool
    counts them)``; none when it names none. The policy honours them (``project_config``), so a pass
    may rest on them as on a waiver, and a verifier says so."""
    checks = record.get("checks")
    said = []
    for name, check in sorted(checks.items()) if isinstance(checks, Mapping) else ():
        narrowing = check.get("narrowing") if isinstance(check, Mapping) else None
        if not isinstance(narrowing, Mapping):
            continue
        kinds = narrowing.get("kinds") if isinstance(narrowing.get("kinds"), Mapping) else {}
        named = ", ".join(f"{kind} × {_count(count)}" for kind, count in sorted((kinds or {}).items()))
        hidden = _count(narrowing.get("suppressed"))
        said.append(f"{name} ({named or 'how: not recorded'}; {hidden} finding(s) hidden where the tool counts them)")
    return tuple(said)


def _count(value: object) -> str:
    """A count the record states, as text: "0" only for a true zero; a count it does not state (an
    edited or odd record) is "an unknown number of", never taken for none."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return "an unknown number of"


def waivers_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The waivers the record says its run applied, each with its expiry (``record_waivers``), the
    findings they accepted (``record_waived``), whether it says they were judged strictly
    (``record_strict``) and those it lists as expired or unused (``record_lapsed``); an edited
    record's odd shapes count as nothing."""
    waivers = record.get("waivers")
    applied = waivers.get("applied") if isinstance(waivers, Mapping) else None
    terms = record.get("waiver_terms") if isinstance(record.get("waiver_terms"), Mapping) else {}
    listed = []
    for ident in applied if isinstance(applied, list) else []:
        term = terms.get(str(ident)) if isinstance(terms, Mapping) else None
        listed.append((str(ident), str(term.get("expires") or "") if isinstance(term, Mapping) else ""))
    checks = record.get("checks") if isinstance(record.get("checks"), Mapping) else {}
    waived = 0
    for check in (checks or {}).values():
        count = check.get("waived") if isinstance(check, Mapping) else None
        waived += count if isinstance(count, int) and not isinstance(count, bool) else 0
    lapsed: list[str] = []
    for kind in ("expired", "unused"):
        named = waivers.get(kind) if isinstance(waivers, Mapping) else None
        lapsed.extend(f"{ident} ({kind})" for ident in (named if isinstance(named, list) else []) if isinstance(ident, str))
    strict = record.get("strict_waivers")
    return {"record_waivers": tuple(listed), "record_waived": waived, "record_lapsed": tuple(lapsed),
            "record_strict": strict if isinstance(strict, bool) else None}  # fmt: skip


def database_of(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The dependencies check's ``database`` metric as the record keeps it (as-of time, age, limit), or None."""
    checks = record.get("checks")
    check = checks.get("dependencies") if isinstance(checks, Mapping) else None
    metrics = check.get("metrics") if isinstance(check, Mapping) else None
    database = metrics.get("database") if isinstance(metrics, Mapping) else None
    return database if isinstance(database, Mapping) else None


def duration_of(record: Mapping[str, Any]) -> float | None:
    """The run's duration by the monotonic clock as the record states it; None when it does not, or for a
    merge (its span runs from its parts' starts, on other runners' clocks)."""
    took = record.get("duration_s")
    if record.get("command") == "merge" or isinstance(took, bool) or not isinstance(took, (int, float)) or took < 0:
        return None
    return float(took)
