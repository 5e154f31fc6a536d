"""Merging shard results (``check --shard I/N --results-out``) into one verdict.

Each shard runs a deterministic share of the work: whole checkers are dealt out across the
shards, and a checker that can split its own input (``shardable``, e.g. bandit's file list) runs
in every shard on its share. Merging puts a checker's parts back together: findings are united,
counts are summed, and the verdict is decided again from the merged checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gatekeeper import __version__
from gatekeeper.controls import evaluate_controls, policy_controls
from gatekeeper.engine import decide_verdict
from gatekeeper.errors import UsageError
from gatekeeper.findings import CheckResult, Finding, GateResult, Status, decide_status
from gatekeeper.policy import Policy
from gatekeeper.provenance import run_context


def merge_results(parts: Sequence[GateResult], policy: Policy, checkers: Mapping[str, Any] | None = None) -> GateResult:
    """One GateResult from the shard results ``parts`` (all from the same commit and policy)."""
    if not parts:
        raise UsageError("merge needs at least one part")
    _check_compatible(parts, policy)
    by_name: dict[str, list[CheckResult]] = {}
    for part in parts:
        for check in part.checks:
            by_name.setdefault(check.name, []).append(check)
    merged = tuple(_merge_check(name, checks, (checkers or {}).get(name)) for name, checks in sorted(by_name.items()))
    waivers = _merge_waivers([p.waivers for p in parts])
    started = min(p.started_at for p in parts)
    finished = max(p.finished_at for p in parts)
    shards = sorted({(p.extra.get("shard") or {}).get("index", 0) for p in parts})
    counts = {(p.extra.get("shard") or {}).get("count", 1) for p in parts}
    extra: dict[str, Any] = {"merged": {"parts": len(parts), "shards": shards, "count": max(counts)}}
    extra.update(run_context())  # who merged; each part's own actor stays in its own audit record
    extra["controls"] = evaluate_controls(policy_controls(policy.data), merged)
    if len(counts) == 1 and shards != list(range(1, max(counts) + 1)):
        missing = sorted(set(range(1, max(counts) + 1)) - set(shards))
        raise UsageError(f"shards {missing} of {max(counts)} are missing: merge needs every part")
    return GateResult(
        verdict=decide_verdict(merged, policy, waivers),
        checks=merged,
        tool_version=__version__,
        started_at=started,
        finished_at=finished,
        duration_s=_span(started, finished),
        repository=dict(parts[0].repository),
        policy={**dict(parts[0].policy), "source": parts[0].policy.get("source", "file")},
        waivers=waivers,
        extra=extra,
    )


def _check_compatible(parts: Sequence[GateResult], policy: Policy) -> None:
    commits = {p.repository.get("commit", "") for p in parts}
    if len(commits) > 1:
        raise UsageError(f"parts come from different commits ({', '.join(sorted(c[:12] or '?' for c in commits))})")
    digests = {p.policy.get("sha256", "") for p in parts}
    if len(digests) > 1:
        raise UsageError("parts were checked under different policies (their policy sha256 differ)")
    if policy.sha256 not in digests:
        raise UsageError(
            f"the policy here ({policy.path or 'built-in default'}, sha256 {policy.sha256[:12]}) is not the one "
            f"the parts were checked with (sha256 {next(iter(digests))[:12]})",
            hint="run merge in the same checkout, or pass the same --policy",
        )


def _merge_check(name: str, checks: list[CheckResult], checker: Any) -> CheckResult:
    if len(checks) == 1:
        return checks[0]
    findings: dict[tuple[Any, ...], Finding] = {}
    for check in checks:
        for f in check.findings:
            key = (f.rule_id, f.fingerprint, f.location, f.package)
            findings.setdefault(key, f)
    metric_parts = [c.metrics for c in checks]
    merger = getattr(checker, "merge_metrics", None)
    metrics = merger(metric_parts) if callable(merger) else _sum_metrics(metric_parts)
    errors = [c for c in checks if c.status is Status.ERROR]
    first = checks[0]
    merged = replace(
        first,
        findings=tuple(findings.values()),
        metrics=metrics,
        duration_s=max(c.duration_s for c in checks),
        artifacts={k: v for c in checks for k, v in c.artifacts.items()},
    )
    if errors:
        message = "; ".join(dict.fromkeys(c.error or c.summary for c in errors))
        return replace(merged, status=Status.ERROR, error=message, summary=message)
    if any(c.status is Status.FAIL and not c.findings for c in checks):
        return replace(merged, status=Status.FAIL, summary="; ".join(c.summary for c in checks))
    summary = (
        f"{sum(1 for f in merged.findings if f.blocking)} blocking of {len(merged.findings)} findings, from {len(checks)} shards"
    )
    return replace(merged, status=decide_status(merged.findings), summary=summary)


def _sum_metrics(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Numbers add up, lists concatenate, tables merge recursively; anything else: the first value."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key not in out:
                out[key] = (
                    value if not isinstance(value, (dict, list)) else (dict(value) if isinstance(value, dict) else list(value))
                )
                continue
            have = out[key]
            if isinstance(value, bool) or isinstance(have, bool):
                out[key] = have and value if isinstance(have, bool) and isinstance(value, bool) else have
            elif isinstance(have, (int, float)) and isinstance(value, (int, float)):
                out[key] = have + value
            elif isinstance(have, list) and isinstance(value, list):
                out[key] = have + [v for v in value if v not in have]
            elif isinstance(have, dict) and isinstance(value, dict):
                out[key] = _sum_metrics([have, value])
    return out


def _merge_waivers(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    applied: dict[str, dict[str, Any]] = {}
    expired: dict[str, dict[str, Any]] = {}
    unused_everywhere: dict[str, dict[str, Any]] | None = None
    for waivers in parts:
        for entry in waivers.get("applied", []):
            have = applied.setdefault(entry["id"], {**entry, "fingerprints": []})
            have["fingerprints"] = sorted(set(have["fingerprints"]) | set(entry.get("fingerprints", [])))
            have["findings"] = len(have["fingerprints"])
        for entry in waivers.get("expired", []):
            have = expired.setdefault(entry["id"], {**entry, "fingerprints": []})
            have["fingerprints"] = sorted(set(have["fingerprints"]) | set(entry.get("fingerprints", [])))
            have["findings"] = len(have["fingerprints"])
        unused = {e["id"]: e for e in waivers.get("unused", [])}
        unused_everywhere = unused if unused_everywhere is None else {k: v for k, v in unused_everywhere.items() if k in unused}
    unused_list = [v for k, v in sorted((unused_everywhere or {}).items()) if k not in applied]
    return {"applied": list(applied.values()), "expired": list(expired.values()), "unused": unused_list}


def _span(started: str, finished: str) -> float:
    try:
        a = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
        b = dt.datetime.fromisoformat(finished.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (b - a).total_seconds())
