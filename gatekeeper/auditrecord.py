"""What an audit record says about a run: its verdict, checks and key metrics, the policy and its
digests, the reports and their digests, the waivers applied with their terms, CI and the commit;
every text redacted and bounded. ``gatekeeper.audit`` chains, signs and appends it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekeeper import __version__, readback
from gatekeeper.findings import CheckResult, GateResult
from gatekeeper.provenance import actor_info, ci_info
from gatekeeper.redaction import redact

RECORD_VERSION = 1

_MAX_TEXT = 300

_MAX_METRICS = 24

_MAX_FINGERPRINTS = 50


def text_of(value: Any) -> str:
    """``value`` as text for a record: redacted, and cut at the record's text limit."""
    return redact(str(value or ""))[:_MAX_TEXT]


def commit_of(value: Any) -> str:
    """A commit id or sha256 digest kept as is (hex of 40 or 64); anything else is untrusted text."""
    text = str(value or "")
    return text if all(c in "0123456789abcdef" for c in text) and len(text) in (40, 64) else text_of(text)


def key_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A small, secret-free digest of a check's metrics for the audit record.

    Numbers and booleans are kept, strings are redacted and shortened, tables keep their scalar
    entries, and lists are replaced by their length (plus counts by ``verdict`` when their items
    carry one, e.g. the licenses check's packages), so no record grows with the project.
    """
    out: dict[str, Any] = {}
    for key in sorted(metrics)[:_MAX_METRICS]:
        value = metrics[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not _readable(value):
            out[key] = str(value)  # a number no reader of the log would accept (readback.MAX_NUMBER), kept as text
        elif value is None or isinstance(value, (bool, int, float)):
            out[key] = value
        elif isinstance(value, str):
            out[key] = text_of(value)[:80]
        elif isinstance(value, Mapping):
            out[key] = {str(k): (text_of(v)[:80] if isinstance(v, str) or (isinstance(v, (int, float)) and not _readable(v))
                                 else v)
                        for k, v in list(value.items())[:_MAX_METRICS]
                        if v is None or isinstance(v, (bool, int, float, str))}  # fmt: skip
        elif isinstance(value, (list, tuple)):
            out[key] = len(value)
            verdicts = Counter(str(v["verdict"]) for v in value if isinstance(v, Mapping) and isinstance(v.get("verdict"), str))
            if verdicts:
                out[f"{key}_by_verdict"] = dict(sorted(verdicts.items()))
    return out


def _readable(value: float) -> bool:
    """True for a number the log's readers accept back (finite, within ``readback.MAX_NUMBER``)."""
    return (isinstance(value, int) or math.isfinite(value)) and abs(value) <= readback.MAX_NUMBER


def policy_block(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The record's ``policy``: the top file and its sha256, the effective policy's sha256, and every
    file the policy was built from (the files it extends, its waivers file) with its own."""
    block: dict[str, Any] = {"path": text_of(policy.get("path", "")), "sha256": commit_of(policy.get("sha256", ""))}
    if policy.get("effective_sha256"):
        block["effective_sha256"] = commit_of(policy["effective_sha256"])
    files = policy.get("files")
    if isinstance(files, list):
        block["files"] = [
            {"role": text_of(f.get("role")), "path": text_of(f.get("path")), "sha256": commit_of(f.get("sha256"))}
            for f in files
            if isinstance(f, Mapping)
        ]
    return block


def _report_name(path: str, root: Path | None) -> str:
    p = Path(path)
    if root is not None:
        try:
            return p.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return p.name


def _narrowing_counts(check: CheckResult) -> dict[str, Any]:
    """How the project narrowed a check, for its record: how many records, how many of each kind,
    and the findings they are measured to have suppressed; nothing when the project narrowed nothing."""
    if not check.narrowing:
        return {}
    kinds = Counter(text_of(n.kind) for n in check.narrowing)
    measured = [n.suppressed for n in check.narrowing if isinstance(n.suppressed, int)]
    return {"narrowing": {"records": len(check.narrowing), "kinds": dict(sorted(kinds.items())), "suppressed": sum(measured)}}


def decided_at(result: GateResult) -> str:
    """When the result's verdict was made, by the clock of the runner that made it: a run's end, or
    for ``gatekeeper merge`` the merge's own time (``merged.at``; its parts may have ended long before).
    The time an audit record claims, and the one its timestamp authority's time is compared with."""
    merged = result.extra.get("merged")
    at = merged.get("at") if isinstance(merged, Mapping) else None
    return at if isinstance(at, str) and at else result.finished_at


def build_record(result: GateResult, reports: Mapping[str, str], command: str, root: Path | None = None) -> dict[str, Any]:
    """The record for one run (without ``seq``, ``prev`` and ``sig``, which ``append`` adds under the lock)."""
    extra = result.extra
    actor = extra.get("actor") if isinstance(extra.get("actor"), Mapping) else actor_info()
    ci = extra.get("ci") if "actor" in extra else ci_info()
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "time": decided_at(result),
        "started_at": result.started_at,
        "duration_s": round(result.duration_s, 3),  # by the monotonic clock: a start set back shows against the authority
        "command": command,
        "gatekeeper": __version__,
        "actor": {k: text_of(v) for k, v in dict(actor or {}).items()},
        "ci": {k: text_of(v) for k, v in dict(ci).items()} if isinstance(ci, Mapping) else None,
        "commit": commit_of(result.repository.get("commit", "")),
        "branch": text_of(result.repository.get("branch", "")),
        # the folder judged, relative to the work tree's top: a run of one folder judged none of the commit's others
        **({"folder": text_of(result.repository["folder"])} if isinstance(result.repository.get("folder"), str) else {}),
        "policy": policy_block(result.policy),
        "verdict": result.verdict.value,
        "exit_code": result.exit_code,
        "checks": {
            c.name: {
                "status": c.status.value,
                "tool": {"name": text_of(c.tool_name), "version": text_of(c.tool_version)},
                # a third-party checker decided it: which distribution, at which version
                **({"checker": {k: text_of(v) for k, v in c.checker.items()}} if c.checker else {}),
                "duration_s": round(c.duration_s, 3),
                "summary": text_of(c.summary),
                "error": text_of(c.error) if c.error else None,
                "findings": len(c.findings),
                "blocking": sum(1 for f in c.findings if f.blocking),
                "waived": sum(1 for f in c.findings if f.waiver is not None),
                "metrics": key_metrics(c.metrics),
                **_narrowing_counts(c),
            }
            for c in sorted(result.checks, key=lambda c: c.name)
        },
        "waivers": {
            k: [text_of(w.get("id")) for w in result.waivers.get(k, []) if isinstance(w, Mapping)]
            for k in ("applied", "expired", "unused")
        },
        "reports": {text_of(_report_name(p, root)): digest for p, digest in sorted(reports.items())},
    }
    record.update(_run_facts(result))
    for key in ("baseline", "new_code", "shard", "merged"):
        value = extra.get(key)
        if isinstance(value, Mapping):
            record[key] = {
                str(k): ((commit_of(v) if k in ("commit", "sha256") else text_of(v)) if isinstance(v, str) else v)
                for k, v in value.items()
                if not isinstance(v, (list, dict))
            }
    vex = extra.get("vex")
    if isinstance(vex, list):  # the VEX documents read: the policy names them by path, their digests pin what they said
        record["vex"] = [
            {"path": text_of(v.get("path")), "sha256": commit_of(v.get("sha256")), "exceptions": v.get("exceptions")}
            for v in vex
            if isinstance(v, Mapping)
        ]
    if isinstance(extra.get("strict_waivers"), bool):  # how waivers were judged (the option is no part of the policy)
        record["strict_waivers"] = extra["strict_waivers"]
    if extra.get("interrupted"):
        record["interrupted"] = True
    clock = extra.get("clock")
    if isinstance(clock, Mapping):
        record["clock"] = {str(k): text_of(v) for k, v in clock.items() if isinstance(v, str)}
    return record


def _run_facts(result: GateResult) -> dict[str, Any]:
    """What the history page needs beyond the checks: the working tree's state, the run's scope
    (a partial run never counts as gating a commit) and each control's status."""
    facts: dict[str, Any] = {}
    dirty = result.repository.get("dirty")
    if isinstance(dirty, bool) or ("dirty" in result.repository and dirty is None):  # null: git could not tell
        facts["dirty"] = dirty
    scope = result.extra.get("scope")
    if isinstance(scope, Mapping):
        facts["scope"] = {str(k): _scalar_or_names(v) for k, v in scope.items() if isinstance(v, (bool, int, str, list))}
    controls = result.extra.get("controls")
    if isinstance(controls, list):
        facts["controls"] = {
            text_of(c.get("id")): text_of(c.get("status")) for c in controls if isinstance(c, Mapping) and c.get("id")
        }
    terms = {}
    for kind in ("applied", "expired", "unused"):
        for w in result.waivers.get(kind, []):
            if isinstance(w, Mapping) and w.get("id"):
                terms[text_of(w["id"])] = _waiver_terms(w)
    if terms:
        facts["waiver_terms"] = terms
    return facts


def _waiver_terms(waiver: Mapping[str, Any]) -> dict[str, Any]:
    """A waiver as the exceptions report needs it: what it covers, why, who approved it, until when,
    and the findings it covered in this run (their count, and at most 50 fingerprints)."""
    out: dict[str, Any] = {
        k: text_of(waiver.get(k)) for k in ("check", "rule", "path", "package", "reason", "approved_by", "expires")
    }
    found = waiver.get("findings")
    out["findings"] = found if isinstance(found, int) and not isinstance(found, bool) else 0
    prints = waiver.get("fingerprints")
    out["fingerprints"] = [text_of(f) for f in prints[:_MAX_FINGERPRINTS]] if isinstance(prints, list) else []
    return out


def _scalar_or_names(value: Any) -> Any:
    if isinstance(value, (bool, int)):
        return value
    return [text_of(n) for n in value] if isinstance(value, list) else text_of(value)
