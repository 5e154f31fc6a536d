"""Merging shard results (``check --shard I/N --results-out``) into one verdict.

Each shard runs a deterministic share of the work: whole checkers are dealt out across the
shards, and a checker that can split its own input (``shardable``, e.g. bandit's file list) runs
in every shard on its share and records what it covered. Merging first proves the parts are the
N shards of one run that together ran every enabled check over every input, then puts a
checker's parts back together: findings are united, counts are summed, every status is decided
again from the findings, and the verdict from the merged checks.

A part's content is only as trustworthy as the process that wrote it. ``check --results-out``
signs the part with the audit key (``part_signature``: a ``PART.sig`` file beside it, whose
``sig`` covers the part's exact bytes), and ``authenticate_parts`` checks every part against the
keys given: with keys, a part whose signature is missing, wrong or by an unknown key is refused;
without keys, the merged result says that its verdict rests on unauthenticated parts.

A check's artifacts (the SBOM) are written by the shard that ran the check, into that shard's
output folder, which the merging job does not have. So a part carries them (``with_artifacts``:
``artifact_files``, each file's bytes and sha256, covered by the part's signature), and the merge
writes them into its own output folder (``write_artifacts``), where its attestation names them and
``bundle`` finds them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gatekeeper import __version__, checkout, secretprints
from gatekeeper.checkers.base import LoadedChecker, inputs_digest, sum_metrics
from gatekeeper.controls import evaluate_controls, policy_controls
from gatekeeper.engine import decide_verdict, iso_utc
from gatekeeper.errors import UsageError
from gatekeeper.findings import CheckResult, Finding, GateResult, Status, Verdict, decide_status
from gatekeeper.newcodegate import merged_new_code
from gatekeeper.policy import Policy
from gatekeeper.policydigest import files_problem
from gatekeeper.provenance import ci_info, run_context
from gatekeeper.resultsig import signed_by
from gatekeeper.signing import Keyring


@dataclass(frozen=True)
class PartsAuthentication:
    """What ``authenticate_parts`` found: ``authenticated`` when keys were given and every part is
    signed by one of them (``key_ids``); otherwise ``unsigned`` names the parts nothing vouches for."""

    authenticated: bool
    key_ids: tuple[str, ...] = ()
    unsigned: tuple[str, ...] = ()
    #: each part's bytes as its signature was checked over them, in order (empty when not authenticated):
    #: what is merged, so that a part swapped after the check is not what gets read
    signed: tuple[bytes, ...] = field(default=(), repr=False)

    def record(self) -> dict[str, Any]:
        """The facts for the merged result and its audit record (no key ids: redaction would mask them)."""
        if self.authenticated:
            return {"authenticated": True, "signing_keys": len(self.key_ids)}
        return {"authenticated": False, "unauthenticated_parts": len(self.unsigned)}


def authenticate_parts(parts: Sequence[Path], keys: Keyring) -> PartsAuthentication:
    """Check each part's signature file against ``keys``.

    With keys, a part whose signature is missing, unreadable, for other bytes, invalid or by a key
    not given is refused (``UsageError`` naming the part). Without keys nothing is refused and the
    outcome says the parts are not authenticated.
    """
    if not keys:
        return PartsAuthentication(False, unsigned=tuple(str(p) for p in parts))
    ids: set[str] = set()
    signed: list[bytes] = []
    for part in parts:
        key_id, data = _part_key(part, keys)
        ids.add(key_id)
        signed.append(data)
    return PartsAuthentication(True, key_ids=tuple(sorted(ids)), signed=tuple(signed))


def _part_key(part: Path, keys: Keyring) -> tuple[str, bytes]:
    """The key id that validly signed ``part`` and the bytes it signed; else a ``UsageError``
    naming the part and why."""
    hint = "parts are signed by 'check --results-out' when the signing key is set; re-run the shard with the key"
    return signed_by(part, keys, f"part {part}", hint)


#: the part's top-level entry that carries its checks' artifacts
CARRIED = "artifact_files"

#: an artifact larger than this is not carried in a part (as ``bundle.MAX_ARTIFACT_BYTES`` is not bundled)
MAX_CARRIED_BYTES = 256 * 1024 * 1024


def with_artifacts(result: GateResult, out_dir: Path) -> GateResult:
    """``result`` as ``check --results-out`` writes it: with ``artifact_files``, each artifact a check
    wrote into ``out_dir`` (check, name, path, sha256, size, the bytes in base64), so that the merge
    of the parts can write them where its attestation and ``bundle`` look. An artifact that is not
    a regular file there (missing, a link, too large) is not carried; the merge then has none."""
    entries: list[dict[str, Any]] = []
    for check in sorted(result.checks, key=lambda c: c.name):
        for name, relative in sorted(check.artifacts.items()):
            path = out_dir / str(relative)
            try:
                if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_CARRIED_BYTES:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            entries.append({
                "check": check.name, "name": name, "path": str(relative), "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data), "base64": base64.b64encode(data).decode("ascii"),
            })  # fmt: skip
    return replace(result, extra={**result.extra, CARRIED: entries}) if entries else result


def carried_artifacts(parts: Sequence[GateResult], labels: Sequence[str]) -> dict[tuple[str, str], tuple[str, bytes]]:
    """The artifacts the parts carry, by (check, name): (relative path, bytes). A part's entry that is
    malformed, whose bytes do not have its sha256, or whose path leaves the output folder is a
    ``UsageError`` naming the part; so is one artifact carried by two parts."""
    out: dict[tuple[str, str], tuple[str, bytes]] = {}
    for label, part in zip(labels, parts, strict=True):
        held = {(c.name, n): str(r) for c in part.checks for n, r in c.artifacts.items()}
        entries = part.extra.get(CARRIED)
        for entry in entries if isinstance(entries, list) else ([] if entries is None else [entries]):
            try:
                check, name, path = str(entry["check"]), str(entry["name"]), str(entry["path"])
                data = base64.b64decode(str(entry["base64"]), validate=True)
                digest = str(entry["sha256"])
            except (KeyError, TypeError, ValueError):
                shape = "check, name, path, sha256, base64"
                raise UsageError(f"{label}: an entry of its {CARRIED} is not an artifact ({shape})") from None
            if hashlib.sha256(data).hexdigest() != digest:
                raise UsageError(f"{label}: the {check} check's artifact {name!r} does not have the sha256 the part gives it")
            relative = Path(path)
            if relative.is_absolute() or ".." in relative.parts or not relative.parts or "\\" in path:
                raise UsageError(f"{label}: the {check} check's artifact {name!r} is at {path!r}, outside the output folder")
            if held.get((check, name)) != path:
                raise UsageError(f"{label} carries an artifact {name!r} of the {check} check, which it does not name at {path!r}")
            if (check, name) in out:
                raise UsageError(f"the {check} check's artifact {name!r} is carried by more than one part")
            out[check, name] = (path, data)
    return out


def write_artifacts(
    result: GateResult, carried: Mapping[tuple[str, str], tuple[str, bytes]], out_dir: Path, root: Path
) -> list[Path]:
    """Write each artifact the merged ``result`` names, as its part carried it, into ``out_dir``
    (where the merge's attestation and ``bundle`` read it); return the files written.

    An artifact no part carried (a part written by an older gatekeeper, or whose file was missing)
    is not written; a file already at its place is then not this run's and is a ``UsageError``, never
    attested as the merge's. An artifact carried under another path than the merged check names is
    a ``UsageError``."""
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.reports import write_atomic

    written: list[Path] = []
    for check in sorted(result.checks, key=lambda c: c.name):
        for name, relative in sorted(check.artifacts.items()):
            target = out_dir / str(relative)
            found = carried.get((check.name, name))
            if found is None:
                if target.exists() or target.is_symlink():
                    raise UsageError(
                        f"the {check.name} check's artifact {name!r} is carried by no part, and {target} is there: "
                        "another run's file, which the merge's attestation would name as this run's",
                        hint="merge into a fresh --output-dir, and run every shard with this gatekeeper release",
                    )
                continue
            if found[0] != str(relative):
                raise UsageError(f"the {check.name} check's artifact {name!r} is carried as {found[0]!r}, not {str(relative)!r}")
            path = resolve_for_write(target, root)
            try:
                path.relative_to(resolve_for_write(out_dir, root))
            except ValueError:
                raise UsageError(f"the {check.name} check's artifact {name!r} ({relative}) leaves the output folder") from None
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, found[1])
            written.append(path)
    return written


def merge_results(
    parts: Sequence[GateResult],
    policy: Policy,
    checkers: Mapping[str, LoadedChecker] | None = None,
    names: Sequence[str] = (),
) -> GateResult:
    """One GateResult from the shard results ``parts`` (all from the same commit, policy and run).

    Refuses (``UsageError``) parts that are not the N shards of one run, a check the policy
    enables that no part ran, and a split check whose shards do not add up to what it discovered.
    Every check's status is decided again from its findings. ``names`` labels the parts in messages.
    """
    if not parts:
        raise UsageError("merge needs at least one part")
    labels = [names[i] if i < len(names) else f"part {i + 1}" for i in range(len(parts))]
    _check_same_checkers(parts, labels, checkers, policy)
    _check_compatible(parts, policy)
    _check_one_run(parts, labels, ci_info())
    count, indices = _check_shards(parts, labels)
    installed: dict[str, LoadedChecker | None] = dict(checkers) if checkers is not None else dict.fromkeys(policy.checks)
    by_name: dict[str, list[tuple[int, CheckResult]]] = {}
    for index, part in zip(indices, parts, strict=True):
        for check in part.checks:
            by_name.setdefault(check.name, []).append((index, check))
    enabled = [n for n in installed if n in policy.checks and policy.checks[n].get("enabled")]
    never = [n for n in enabled if n not in by_name]
    if never:
        raise UsageError(
            f"the policy enables {', '.join(never)} but no part ran it: a merged verdict would not cover it",
            hint="run every shard with the same checks (no --only/--skip that drops a check)",
        )
    for name, entries in sorted(by_name.items()):
        checker = installed.get(name)
        _check_accounting(name, entries, count, checker is not None and checker.shardable)
    merged = tuple(_merge_check(name, [c for _, c in entries], installed.get(name)) for name, entries in sorted(by_name.items()))
    # the secrets check may have run in another part than lint, types or security: placed here
    merged, earlier = secretprints.on_secret_lines(merged)
    waivers = secretprints.renamed_waivers(_merge_waivers([p.waivers for p in parts]), {v: k for k, v in earlier.items()})
    started = min(p.started_at for p in parts)
    finished = max(p.finished_at for p in parts)
    # "at": when this verdict was made, by the merging runner's clock (the parts' times say when they ran):
    # the time its timestamp is compared with, which may come long after the last part ended
    merged_at = iso_utc()
    _check_clock(merged_at, finished, labels[[p.finished_at for p in parts].index(finished)])
    extra: dict[str, Any] = {"merged": {"parts": len(parts), "shards": sorted(indices), "count": count, "at": merged_at}}
    extra.update(merged_new_code(parts))  # the parts' REF, which must be the same
    extra.update(_merge_vex(parts, labels))
    extra.update(run_context())  # who merged; each part's own actor stays in its own audit record
    extra["controls"] = evaluate_controls(policy_controls(policy.data), merged)
    # every check the policy enables ran in some part (refused above otherwise), across all N shards
    extra["scope"] = {"complete": True, "only": [], "skip": [], "left_out": [], "merged_shards": count}
    if isinstance(parts[0].extra.get("runtime"), Mapping):
        extra["runtime"] = dict(parts[0].extra["runtime"])
    tree = _merge_checkout(parts)
    if tree:
        extra["checkout"] = tree
    repository = dict(parts[0].repository)
    dirty = [p.repository.get("dirty") for p in parts if isinstance(p.repository.get("dirty"), bool)]
    untold = any("dirty" in p.repository and p.repository["dirty"] is None for p in parts)  # git could not tell
    if dirty or untold:
        repository["dirty"] = True if any(dirty) else (None if untold else False)
    # judged as strictly as the strictest part (--strict-waivers is no part of the policy's digest)
    extra["strict_waivers"] = bool(policy.gate["strict_waivers"]) or any(p.extra.get("strict_waivers") is True for p in parts)
    verdict = decide_verdict(merged, policy, waivers, extra["strict_waivers"])
    if checkout.touched(tree) or tree.get("error"):
        verdict = Verdict.ERROR  # a part's run wrote into the tree it judged, or could not compare it
    return GateResult(
        verdict=verdict,
        checks=merged,
        tool_version=__version__,
        started_at=started,
        finished_at=finished,
        duration_s=_span(started, finished),
        repository=repository,
        policy={**dict(parts[0].policy), "source": parts[0].policy.get("source", "file")},
        waivers=waivers,
        extra=extra,
    )


#: how far the merging runner's clock may read behind a part's end (runners' clocks drift apart),
#: as far as a timestamp authority's time may follow a runner's (``timestamp.MAX_SKEW_S``)
_CLOCK_SLACK = dt.timedelta(minutes=15)


def _check_clock(merged_at: str, finished: str, label: str) -> None:
    """Refuse (``UsageError``) a merge whose clock reads more than ``_CLOCK_SLACK`` before the last
    part ended: a verdict cannot be made before the runs it merges ended, and a runner whose clock
    was set back would date the record and the attestation so, unseen without a timestamp authority."""
    try:
        ended = dt.datetime.fromisoformat(finished.replace("Z", "+00:00"))
        now = dt.datetime.fromisoformat(merged_at.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{label} says it finished at {finished!r}, which is not a time") from None
    ended = ended if ended.tzinfo else ended.replace(tzinfo=dt.timezone.utc)
    if now < ended - _CLOCK_SLACK:
        raise UsageError(
            f"this runner's clock says {merged_at}, before {label} finished ({finished}): "
            "the clock is wrong or set back, and the merged verdict would be dated before the runs it merges",
            hint="set the merging runner's clock right (NTP), then merge again",
        )


def _check_same_checkers(
    parts: Sequence[GateResult], labels: Sequence[str], checkers: Mapping[str, LoadedChecker] | None, policy: Policy
) -> None:
    """Every shard, and this merge, had the same checks installed and enabled (each part's
    ``scope.enabled``; a part that records none, from an older gatekeeper, is not compared). Whole
    checks are dealt to shards by name among them, so a plugin installed where one shard ran and
    not another deals the others differently: a check runs twice or nowhere, and the policy's
    effective digest (which holds the plugin's section) differs, which says nothing of why."""
    recorded: dict[str, frozenset[str]] = {}
    for label, part in zip(labels, parts, strict=True):
        scope = part.extra.get("scope")
        names = scope.get("enabled") if isinstance(scope, Mapping) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return
        recorded[label] = frozenset(names)
    hint = "install the same checkers, every plugin, wherever a shard runs and where merge runs"
    union = frozenset().union(*recorded.values())
    lacking = [f"{label} ran without {', '.join(sorted(union - names))}" for label, names in recorded.items() if union - names]
    if lacking:
        raise UsageError(
            f"the shards did not have the same checks installed and enabled ({'; '.join(lacking)}): whole checks are "
            "dealt to shards by name among those, so the parts do not add up to one run",
            hint=hint,
        )
    if checkers is None:
        return
    here = {n for n in checkers if n in policy.checks and policy.checks[n].get("enabled")}
    if missing := sorted(union - here):
        raise UsageError(
            f"the shards ran {', '.join(missing)}, which is not installed and enabled here: merge needs every check", hint=hint
        )
    if extra := sorted(here - union):
        raise UsageError(
            f"{', '.join(extra)} is installed and enabled here but no shard had it: merge needs every check", hint=hint
        )


def _check_compatible(parts: Sequence[GateResult], policy: Policy) -> None:
    commits = {p.repository.get("commit", "") for p in parts}
    if len(commits) > 1:
        raise UsageError(f"parts come from different commits ({', '.join(sorted(c[:12] or '?' for c in commits))})")
    # the top file's digest and the effective policy's: a part checked after a file the policy
    # extends (or its waivers file) changed has the same first and a different second
    digests = {(p.policy.get("sha256", ""), p.policy.get("effective_sha256", "")) for p in parts}
    if len(digests) > 1:
        raise UsageError("parts were checked under different policies (their policy digests differ)")
    if policy.files:
        problem = files_problem(parts[0].policy, policy.files, policy.effective_sha256)
    else:
        problem = None if policy.sha256 == next(iter(digests))[0] else f"sha256 {policy.sha256[:12]} here"
    if problem is not None:
        raise UsageError(
            f"the policy here ({policy.path or 'built-in default'}) is not the one the parts were checked with: {problem}",
            hint="run merge in the same checkout, or pass the same --policy",
        )


#: the CI services whose run id a re-run of a failed job keeps (GitHub's "re-run failed jobs" keeps
#: ``GITHUB_RUN_ID``, only ``GITHUB_RUN_ATTEMPT`` changes; a GitLab job retry keeps ``CI_PIPELINE_ID``).
#: Elsewhere a re-run may be a new run (CircleCI's "rerun from failed" is a new workflow whose jobs
#: that passed are not run again; a Jenkins restart from a stage is a new build): not compared there
_RUN_KEEPING = ("github-actions", "gitlab-ci")


def _run_id(ci: Any) -> str:
    """The CI run a part (or this merge) was written in, from its ``ci`` entry: ``run_id`` on a
    ``_RUN_KEEPING`` service; "" when it records none (outside CI, or on another service)."""
    if not isinstance(ci, Mapping) or ci.get("provider") not in _RUN_KEEPING:
        return ""
    return str(ci.get("run_id") or "")


def _check_one_run(parts: Sequence[GateResult], labels: Sequence[str], here: Mapping[str, Any] | None) -> None:
    """Refuse (``UsageError``) parts written in different CI runs, a part that records no run beside
    parts that do, and parts of another run than the one this merge runs in (``here``, this
    process's ``ci_info``): a genuine, signed shard of an old run of the same commit and policy
    (checked against an older advisory database, or before a failure was fixed elsewhere) would
    otherwise stand in for this run's. A run id covers its re-runs (``_RUN_KEEPING``). Parts that all
    record no run (written outside CI, or on a service whose re-runs are new runs) are not compared."""
    runs = {label: _run_id(part.extra.get("ci")) for label, part in zip(labels, parts, strict=True)}
    named = sorted(set(runs.values()) - {""})
    hint = "merge the parts of one CI run: re-run a failed shard in the same run (re-run failed jobs), not a part of another"
    if not named:
        return
    if len(named) > 1 or "" in runs.values():
        said = ", ".join(f"{label}: {f'run {run}' if run else 'no CI run'}" for label, run in runs.items())
        raise UsageError(f"the parts come from different CI runs ({said}): another run's part is not this run's shard", hint=hint)
    mine = _run_id(here)
    if mine and mine != named[0]:
        raise UsageError(
            f"the parts were written in CI run {named[0]}, and this merge runs in run {mine}: they are another run's parts",
            hint=hint,
        )


def _check_shards(parts: Sequence[GateResult], labels: Sequence[str]) -> tuple[int, list[int]]:
    """N and each part's index, when the parts are exactly shards 1..N of one N."""
    found: list[tuple[int, int]] = []
    for label, part in zip(labels, parts, strict=True):
        info = part.extra.get("shard")
        if info is None and len(parts) == 1:
            return 1, [1]  # one whole run: nothing to put together
        try:
            index, count = int(info["index"]), int(info["count"])  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            raise UsageError(f"{label} is not a shard result (written by check --shard I/N --results-out)") from None
        if not 1 <= index <= count:
            raise UsageError(f"{label} claims to be shard {index}/{count}")
        found.append((index, count))
    counts = sorted({c for _, c in found})
    if len(counts) > 1:
        raise UsageError(
            f"the parts come from runs split differently (N = {', '.join(map(str, counts))}): merge the N parts of one run"
        )
    count = counts[0]
    indices = [i for i, _ in found]
    twice = sorted({i for i in indices if indices.count(i) > 1})
    if twice:
        raise UsageError(f"shard {', '.join(f'{i}/{count}' for i in twice)} given more than once")
    missing = sorted(set(range(1, count + 1)) - set(indices))
    if missing:
        raise UsageError(f"shards {missing} of {count} are missing: merge needs every part")
    return count, indices


def _check_accounting(name: str, entries: Sequence[tuple[int, CheckResult]], count: int, shardable: bool) -> None:
    """A whole check ran in exactly one shard; a split one ran in every shard, and its shards'
    records cover every input it discovered exactly once."""
    shards = sorted(i for i, _ in entries)
    if not shardable:
        if len(entries) > 1:
            raise UsageError(f"{name} does not split its input but ran in shards {shards}: the parts are not one run")
        return
    if count == 1:
        return
    if shards != list(range(1, count + 1)):
        missing = sorted(set(range(1, count + 1)) - set(shards))
        raise UsageError(f"{name} splits its input across every shard but did not run in shard(s) {missing}")
    if any(c.status is Status.ERROR for _, c in entries):
        return  # the merged check is an error anyway; there is no coverage to account for
    covered: list[str] = []
    digests: set[str] = set()
    totals: set[int] = set()
    for index, check in entries:
        record = check.metrics.get("shard")
        try:
            if not isinstance(record, Mapping):
                raise TypeError("no shard record")
            if int(record["index"]) != index or int(record["count"]) != count:
                raise UsageError(f"{name} in shard {index}/{count} recorded that it ran as {record['index']}/{record['count']}")
            digests.add(str(record["inputs_digest"]))
            totals.add(int(record["inputs_total"]))
            covered.extend(str(x) for x in record["covered"])
        except (AssertionError, KeyError, TypeError, ValueError):
            raise UsageError(f"{name} in shard {index}/{count} did not record what it covered (metrics.shard)") from None
    if len(digests) > 1 or len(totals) > 1:
        raise UsageError(f"{name}'s shards discovered different inputs (their digests differ): the tree changed between them")
    twice = sorted({x for x in covered if covered.count(x) > 1}) if len(set(covered)) != len(covered) else []
    if twice:
        raise UsageError(f"{name}'s shards covered {len(twice)} input(s) more than once (e.g. {twice[0]})")
    total = totals.pop()
    if len(covered) != total or inputs_digest(covered) != digests.pop():
        raise UsageError(f"{name}'s shards covered {len(covered)} of the {total} inputs it discovered: the parts do not add up")


def _merge_check(name: str, checks: list[CheckResult], checker: LoadedChecker | None) -> CheckResult:
    findings: dict[tuple[Any, ...], Finding] = {}
    for check in checks:
        for f in check.findings:
            key = (f.rule_id, f.fingerprint, f.location, f.package)
            findings.setdefault(key, f)
    records = [c.metrics.get("shard") for c in checks]
    metric_parts = [{k: v for k, v in c.metrics.items() if k != "shard"} for c in checks]
    metrics = checker.merge_metrics(metric_parts) if checker is not None else sum_metrics(metric_parts)
    first_record = records[0] if isinstance(records[0], Mapping) else None
    if len(checks) > 1 and first_record is not None:
        metrics["shard"] = {
            "parts": len(checks),
            "inputs_total": first_record.get("inputs_total"),
            "inputs_digest": first_record.get("inputs_digest"),
        }
    errors = [c for c in checks if c.status is Status.ERROR]
    first = checks[0]
    merged = replace(
        first,
        findings=tuple(findings.values()),
        metrics=metrics,
        duration_s=max(c.duration_s for c in checks),
        artifacts={k: v for c in checks for k, v in c.artifacts.items()},
        narrowing=tuple(dict.fromkeys(n for c in checks for n in c.narrowing)),  # shards share the config's records
    )
    if errors:
        message = "; ".join(dict.fromkeys(c.error or c.summary for c in errors))
        return replace(merged, status=Status.ERROR, error=message, summary=message)
    if all(c.status is Status.SKIPPED for c in checks):
        return merged
    # a part's own word is not trusted: the status follows from its findings, except that a
    # failure the checker decided without a blocking finding (its own FAIL) stays a failure
    own_failures = [c for c in checks if c.status is Status.FAIL and not any(f.blocking for f in c.findings)]
    if own_failures:
        return replace(merged, status=Status.FAIL, summary="; ".join(c.summary for c in own_failures))
    status = decide_status(merged.findings)
    if len(checks) == 1:
        return replace(merged, status=status)
    blocking, found = sum(1 for f in merged.findings if f.blocking), len(merged.findings)
    summary = f"{blocking} blocking of {found} finding{'' if found == 1 else 's'}, from {len(checks)} shards"
    return replace(merged, status=status, summary=summary)


def _merge_waivers(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    applied: dict[str, dict[str, Any]] = {}
    expired: dict[str, dict[str, Any]] = {}
    unused: dict[str, dict[str, Any]] = {}
    for waivers in parts:
        for entry in waivers.get("applied", []):
            have = applied.setdefault(entry["id"], {**entry, "fingerprints": []})
            have["fingerprints"] = sorted(set(have["fingerprints"]) | set(entry.get("fingerprints", [])))
            have["findings"] = len(have["fingerprints"])
        for entry in waivers.get("expired", []):
            have = expired.setdefault(entry["id"], {**entry, "fingerprints": []})
            have["fingerprints"] = sorted(set(have["fingerprints"]) | set(entry.get("fingerprints", [])))
            have["findings"] = len(have["fingerprints"])
        # a part lists a waiver as unused only when it ran the waiver's check; a part that did not
        # run it says nothing, so the waiver is unused when no part applied it
        for entry in waivers.get("unused", []):
            unused.setdefault(entry["id"], entry)
    unused_list = [v for k, v in sorted(unused.items()) if k not in applied]
    return {"applied": list(applied.values()), "expired": list(expired.values()), "unused": unused_list}


def _merge_vex(parts: Sequence[GateResult], labels: Sequence[str]) -> dict[str, Any]:
    """The parts' ``vex`` entries, one per document: every shard reads the policy's VEX documents,
    so the same document must be described alike in every part that lists it (else ``UsageError``,
    the shards read different documents)."""
    seen: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for label, part in zip(labels, parts, strict=True):
        entries = part.extra.get("vex")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, Mapping):
                continue
            path = str(entry.get("path", ""))
            first = seen.setdefault(path, (label, entry))
            if dict(first[1]) != dict(entry):
                raise UsageError(
                    f"{label} and {first[0]} read different VEX documents at {path} ({dict(entry)} and {dict(first[1])})",
                    hint="run every shard on the same commit and policy",
                )
    return {"vex": [dict(entry) for _, (_, entry) in sorted(seen.items())]} if seen else {}


def _merge_checkout(parts: Sequence[GateResult]) -> dict[str, Any]:
    """The parts' ``checkout`` entries as one: compared when every part's was, each list of files
    the runs wrote united, their errors joined ({} when no part has one). A part whose run wrote into
    the checkout it judged has the verdict error whatever its checks said, and so has the merge."""
    trees = [t for p in parts if isinstance(t := p.extra.get("checkout"), Mapping)]
    if not trees:
        return {}
    out: dict[str, Any] = {"compared": all(t.get("compared") is True for t in trees), "changed": []}
    for key in checkout.TOUCHED:
        named = sorted({str(path) for t in trees for path in t.get(key) or ()})
        if named or key == "changed":
            out[key] = named
    errors = sorted({str(t["error"]) for t in trees if t.get("error")})
    if errors:
        out["error"] = "; ".join(errors)
    return out


def _span(started: str, finished: str) -> float:
    try:
        a = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
        b = dt.datetime.fromisoformat(finished.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (b - a).total_seconds())
