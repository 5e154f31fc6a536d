"""The engine: runs the selected checkers concurrently, isolates their failures, applies waivers
and the baseline, and decides the verdict. It is the only layer that knows checkers and results.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from gatekeeper import __version__, checkout
from gatekeeper.baseline import Baseline
from gatekeeper.cachekey import cache_folder, tool_python
from gatekeeper.checkers import cache
from gatekeeper.checkers.base import CheckContext, LoadedChecker
from gatekeeper.controls import evaluate_controls, policy_controls
from gatekeeper.errors import GatekeeperError, PolicyError, ToolTimeout, UsageError
from gatekeeper.findings import (
    AppliedWaiver,
    CheckResult,
    Finding,
    GateResult,
    Location,
    Narrowing,
    Package,
    Severity,
    Status,
    Verdict,
    decide_status,
)
from gatekeeper.gitinfo import repository_info
from gatekeeper.interpreter import Interpreter, discover
from gatekeeper.policy import Policy
from gatekeeper.provenance import run_context
from gatekeeper.vex import VexDocument, load_vex
from gatekeeper.waivers import apply_waivers

Clock = Callable[[], dt.datetime]


_T = TypeVar("_T")


def utc_now() -> dt.datetime:
    """The current time in UTC (the default clock)."""
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class RunRequest:
    """What ``gatekeeper check`` was asked to do, after the CLI parsed its options."""

    root: Path
    policy: Policy
    output_dir: Path
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    baseline: Baseline = field(default_factory=Baseline)
    baseline_name: str = ""
    #: "baseline" for --baseline; "existing" when the fingerprints are REF's in a new-code run
    baseline_kind: str = "baseline"
    #: new-code runs: REF's commit (patch coverage is measured against it, thresholds compare with its figures)
    new_code_base: str = ""
    shard: tuple[int, int] | None = None
    use_cache: bool = True
    strict_waivers: bool = False
    clock: Clock = field(default=utc_now)
    cache_dir: Path | None = None  # default: the policy's cache folder for ``root``
    interpreter: Interpreter | None = None  # default: the one ``[environment]`` discovers for ``root``


class Progress:
    """Receives engine events; the console subclasses it to show a live display."""

    def started(self, name: str) -> None:
        """A checker started."""

    def finished(self, result: CheckResult) -> None:
        """A checker finished (with any status)."""


def select(available: Sequence[str], policy: Policy, only: Sequence[str], skip: Sequence[str]) -> list[str]:
    """The checkers to run: enabled in the policy, narrowed by ``--only`` and ``--skip``."""
    for flag, names in (("--only", only), ("--skip", skip)):
        for name in names:
            if name not in available:
                raise UsageError(f"{flag}: no checker named {name!r} (installed: {', '.join(available)})")
    chosen = [n for n in available if n in only] if only else [n for n in available if policy.checks[n]["enabled"]]
    return [n for n in chosen if n not in skip]


def run_scope(available: Sequence[str], policy: Policy, names: Sequence[str], request: RunRequest) -> dict[str, Any]:
    """What part of the policy a run covers: ``complete`` only when every check the policy enables
    was selected and no shard ran alone; ``--only``/``--skip`` as given, the checks the selection
    left out (``left_out``) and the shard. A partial run never counts as gating a commit."""
    enabled = [n for n in available if policy.checks[n]["enabled"]]
    left_out = sorted(n for n in enabled if n not in names)
    scope: dict[str, Any] = {
        "complete": not left_out and not request.shard,
        "only": list(request.only),
        "skip": list(request.skip),
        "left_out": left_out,
    }
    if request.shard:
        scope["shard"] = f"{request.shard[0]}/{request.shard[1]}"
    return scope


def shard_share(names: Sequence[str], checkers: Mapping[str, LoadedChecker], shard: tuple[int, int]) -> list[str]:
    """The checkers shard ``I`` of ``N`` runs: those that split their own input (``shardable``)
    run in every shard on their share; the others are dealt out in name order."""
    index, count = shard
    whole = [n for n in sorted(names) if not checkers[n].shardable]
    mine = {n for i, n in enumerate(whole) if i % count == index - 1}
    return [n for n in names if n in mine or checkers[n].shardable]


def _check_paths_exist(name: str, checker: LoadedChecker, policy: Policy, root: Path) -> None:
    """Refuse a policy whose path options (``existing_paths``) name something missing from the project."""
    section = policy.checks[name]
    for key, option in checker.options.items():
        if not option.existing_paths:
            continue
        value = section.get(key)
        paths = [value] if isinstance(value, str) else list(value or [])
        for relative in paths:
            if relative and not (root / str(relative)).exists():
                raise PolicyError(
                    f"{relative!r} does not exist in {root}",
                    file=policy.path or None,
                    key=f"checks.{name}.{key}",
                    hint="fix the path; a missing path would make the check look at nothing",
                )


def vex_exceptions(root: Path, policy: Policy, names: Sequence[str], today: dt.date) -> list[VexDocument]:
    """The VEX documents ``checks.dependencies.vex`` names, read when the dependencies check runs
    (``gatekeeper.vex``; a malformed one raises ``PolicyError`` naming the file)."""
    files = policy.checks.get("dependencies", {}).get("vex") if "dependencies" in names else None
    if not files:
        return []
    return load_vex(root, [str(f) for f in files], int(policy.gate["max_waiver_days"]), today)


def vex_summary(docs: Sequence[VexDocument]) -> dict[str, Any]:
    """The result's ``vex`` entry (one per document read), or nothing when no document was."""
    return {"vex": [doc.describe() for doc in docs]} if docs else {}


def run_checks(
    request: RunRequest,
    checkers: Mapping[str, LoadedChecker],
    progress: Progress | None = None,
) -> GateResult:
    """Run every selected checker and return the gate's result (never raises for a checker's fault)."""
    progress = progress or Progress()
    policy = request.policy
    started_at = request.clock()
    t0 = time.monotonic()
    names = select(list(checkers), policy, request.only, request.skip)
    scope = run_scope(list(checkers), policy, names, request)
    repository = repository_info(request.root)  # before any check runs: the tree as it was judged
    if not names and not request.shard:
        raise UsageError(
            "no check selected: the policy and --only/--skip leave nothing to run, and a gate that looked at nothing cannot pass"
        )
    for name in names:
        _check_paths_exist(name, checkers[name], policy, request.root)
    # VEX statements are exceptions like waivers: a malformed document is a policy error, before anything runs
    vex_docs = vex_exceptions(request.root, policy, names, started_at.date())
    if request.shard:
        names = shard_share(names, checkers, request.shard)
    cache_dir = _cache_dir(request)
    before = _snapshot(request, cache_dir)  # the checkout is read-only to the gate: compared at the end
    interpreter = request.interpreter or discover(request.root, str(policy.environment.get("python") or ""))
    results = _run_all(request, checkers, names, _Shared(cache_dir, tool_python(request.root, policy), interpreter), progress)
    tree = _tree_check(before)
    ordered, waiver_summary = apply_waivers(
        tuple(results[n] for n in names),
        (*policy.waivers, *(w for doc in vex_docs for w in doc.waivers)),
        started_at.date(),
        request.baseline.fingerprints,
        request.baseline_name or "baseline",
        request.baseline_kind,
    )
    finished_at = request.clock()
    verdict = decide_verdict(ordered, policy, waiver_summary, request.strict_waivers)
    if tree["changed"]:
        verdict = Verdict.ERROR  # whatever the checks said: a tool wrote into the tree it judged
    looked = any(checkers[n].inspects_environment for n in names)
    environment = {**interpreter.describe(), "scope": str(policy.environment.get("scope") or "all")} if looked else None
    extra = _extra(request, ordered, tree, environment, vex_docs, scope)
    return GateResult(
        verdict=verdict,
        checks=ordered,
        tool_version=__version__,
        started_at=iso_utc(started_at),
        finished_at=iso_utc(finished_at),
        duration_s=time.monotonic() - t0,
        repository=repository,
        policy=policy.describe(),
        waivers=waiver_summary,
        extra=extra,
    )


def _cache_dir(request: RunRequest) -> Path | None:
    """The cache folder of this run, None when the cache is off (``--no-cache``, ``cache.enabled``)."""
    if not (request.use_cache and request.policy.cache["enabled"]):
        return None
    cache.check_key_env()  # a key too short to trust is exit 2, not a silently cold cache
    # outside the checkout by default: a pull request must not be able to supply cached results;
    # resolved now: a link planted in the checkout on the way to the cache stops the run (exit 2)
    return request.cache_dir or cache_folder(request.root, request.policy)


@dataclass(frozen=True)
class _Shared:
    """What every checker of one run shares: the cache folder, the tool interpreter, the environment."""

    cache_dir: Path | None
    tool_python: str
    interpreter: Interpreter


def _run_all(
    request: RunRequest, checkers: Mapping[str, LoadedChecker], names: Sequence[str], shared: _Shared, progress: Progress
) -> dict[str, CheckResult]:
    """Start a thread per checker, each with its own deadline, and collect their results: one that
    raises, returns nonsense or outlives its deadline becomes an ``error`` while the others finish."""
    values: dict[str, Any] = {}
    values_lock = threading.Lock()
    done: queue.Queue[tuple[str, object]] = queue.Queue()
    deadlines: dict[str, float] = {}
    starts: dict[str, float] = {}
    policy = request.policy
    for name in names:
        section = policy.checks[name]
        limit = float(section.get("timeout_s") or 0) or float(policy.gate["timeout_s"])
        starts[name] = time.monotonic()
        deadlines[name] = starts[name] + limit
        ctx = CheckContext(
            root=request.root,
            output_dir=request.output_dir,
            policy=policy,
            deadline=deadlines[name],
            cache_dir=shared.cache_dir,
            shard=request.shard if checkers[name].shardable else None,
            baseline_metrics=request.baseline.metrics.get(name, {}),
            new_code_base=request.new_code_base,
            tool_python=shared.tool_python,
            interpreter=shared.interpreter,
            _shared=values,
            _shared_lock=values_lock,
        )
        progress.started(name)
        thread = threading.Thread(
            target=_run_one, args=(name, checkers[name], section, ctx, done), name=f"gatekeeper-{name}", daemon=True
        )
        thread.start()
    return _collect(names, done, starts, deadlines, progress)


def _collect(
    names: Sequence[str],
    done: queue.Queue[tuple[str, object]],
    starts: Mapping[str, float],
    deadlines: Mapping[str, float],
    progress: Progress,
) -> dict[str, CheckResult]:
    """Each checker's result as it arrives; past its deadline, a timeout ``error`` (a result that
    arrives later is dropped)."""
    results: dict[str, CheckResult] = {}
    while len(results) < len(names):
        pending = [n for n in names if n not in results]
        wait = max(0.0, min(deadlines[n] for n in pending) - time.monotonic())
        try:
            name, result = done.get(timeout=wait + 0.05)
        except queue.Empty:
            now = time.monotonic()
            for n in pending:
                if now >= deadlines[n] + 0.05:
                    limit = deadlines[n] - starts[n]
                    results[n] = _error(
                        n, f"timed out after {limit:.0f}s (raise gate.timeout_s or checks.{n}.timeout_s)", now - starts[n]
                    )
                    progress.finished(results[n])
            continue
        if name in results:  # finished after it was already declared timed out
            continue
        results[name] = _sanitize(name, result, time.monotonic() - starts[name])
        progress.finished(results[name])
    return results


def _extra(  # noqa: PLR0913  # one parameter per part of the record
    request: RunRequest,
    ordered: Sequence[CheckResult],
    tree: dict[str, Any],
    environment: dict[str, Any] | None,
    vex_docs: Sequence[VexDocument],
    scope: dict[str, Any],
) -> dict[str, Any]:
    """The result's ``extra``: the checkout comparison, the environment a check looked at (None: no
    check did), the shard, the baseline, the VEX documents, CI, controls, the run's scope, runtime."""
    policy = request.policy
    extra: dict[str, Any] = {"checkout": tree}
    if environment is not None:
        extra["environment"] = environment
    if request.shard:
        extra["shard"] = {"index": request.shard[0], "count": request.shard[1]}
    if request.baseline_name and request.baseline_kind == "baseline":
        matched = sum(1 for c in ordered for f in c.findings if f.waiver is not None and f.waiver.kind == "baseline")
        extra["baseline"] = {"path": request.baseline_name, "fingerprints": request.baseline.size, "matched": matched}
    extra.update(vex_summary(vex_docs))
    extra.update(run_context())
    extra["controls"] = evaluate_controls(policy_controls(policy.data), ordered)
    extra["scope"] = scope
    extra["runtime"] = {"python": platform.python_version(), "implementation": platform.python_implementation()}
    return extra


def _snapshot(request: RunRequest, cache_dir: Path | None) -> checkout.Snapshot | str:
    """The tracked files before any checker starts, leaving out gatekeeper's own output and cache
    folders (written on purpose); or why they could not be read."""
    own = [request.output_dir, *([cache_dir] if cache_dir is not None else [])]
    try:
        return checkout.snapshot(request.root, skip=own)
    except GatekeeperError as exc:
        return str(exc)


def _tree_check(before: checkout.Snapshot | str) -> dict[str, Any]:
    """The ``checkout`` entry of the result: whether the tracked files were compared, and which changed."""
    try:
        if isinstance(before, str):
            raise UsageError(before)
        changed = checkout.changes(before)
    except GatekeeperError as exc:  # the comparison could not be made: not a tree known unchanged
        return {"compared": False, "changed": [f"(the tracked files could not be compared: {exc})"]}
    out: dict[str, Any] = {"compared": before.git, "tracked_files": len(before.index), "changed": changed}
    if not before.git:
        out["note"] = "not a git work tree: no tracked files to compare"
    return out


def decide_verdict(
    checks: Sequence[CheckResult], policy: Policy, waivers: Mapping[str, Any], strict_waivers: bool = False
) -> Verdict:
    """``error`` when a check could not run (and gate.fail_on_error), else ``fail`` when any check
    failed (or, with strict waivers, a waiver expired or went unused), else ``pass``."""
    if policy.gate["fail_on_error"] and any(c.status is Status.ERROR for c in checks):
        return Verdict.ERROR
    if any(c.status is Status.FAIL for c in checks):
        return Verdict.FAIL
    if (strict_waivers or policy.gate["strict_waivers"]) and (waivers.get("expired") or waivers.get("unused")):
        return Verdict.FAIL
    return Verdict.PASS


def _run_one(
    name: str, checker: LoadedChecker, section: Mapping[str, Any], ctx: CheckContext, done: queue.Queue[tuple[str, object]]
) -> None:
    t0 = time.monotonic()
    try:
        result = _with_origin(checker.run(section, ctx), ctx)
    except ToolTimeout as exc:
        message = str(exc)
        if time.monotonic() >= ctx.deadline - 0.5:
            # the check's own limit ran out: name it, since the tool only had what was left of it
            message = f"timed out after {ctx.deadline - t0:.0f}s (raise gate.timeout_s or checks.{name}.timeout_s): {exc}"
        result = _error(name, message, time.monotonic() - t0)
    except GatekeeperError as exc:
        result = _error(name, str(exc), time.monotonic() - t0)
    except Exception as exc:  # a checker's bug must not take the gate down: isolate it
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
        result = _error(name, f"checker crashed: {type(exc).__name__}: {exc}{at}", time.monotonic() - t0)
    except BaseException as exc:  # SystemExit or KeyboardInterrupt raised inside a plugin
        result = _error(name, f"checker aborted: {type(exc).__name__}: {exc}", time.monotonic() - t0)
    done.put((name, result))


def _with_origin(result: object, ctx: CheckContext) -> object:
    """The result with where its tool came from, as the check located it (``CheckContext.tool``):
    the report names the binary that ran, its version and its origin, whatever the checker said."""
    if not isinstance(result, CheckResult) or not ctx.tools or result.tool_origin:
        return result
    origin = ctx.tools.get(result.tool_name) or next(iter(ctx.tools.values()))
    return replace(
        result,
        tool_name=result.tool_name or origin.name,
        tool_version=result.tool_version or origin.version,
        tool_origin=origin.describe(),
    )


def _sanitize(name: str, result: Any, elapsed: float) -> CheckResult:
    """Fail closed on anything that is not a well-formed CheckResult."""
    if not isinstance(result, CheckResult):
        return _error(name, f"checker returned {type(result).__name__}, not a CheckResult")
    if not all(isinstance(f, Finding) for f in result.findings):
        return _error(name, "checker returned findings that are not Finding objects")
    if not isinstance(result.status, Status):
        return _error(name, f"checker returned an invalid status {result.status!r}")
    problem = _result_problem(result)
    if problem:
        return _error(name, f"checker returned a malformed result: {problem}")
    fixed = replace(result, name=name, duration_s=result.duration_s or elapsed)
    try:
        fixed = _writable(fixed)
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        return _error(name, f"checker returned a result that cannot be written as JSON ({type(exc).__name__}: {exc})")
    if fixed.status is Status.ERROR and not fixed.error:
        fixed = replace(fixed, error=fixed.summary or "the check could not run")
    if fixed.status is Status.PASS and decide_status(fixed.findings) is Status.FAIL:
        fixed = replace(fixed, status=Status.FAIL)
    return fixed


def _result_problem(result: CheckResult) -> str:
    """What is ill-typed in a result (empty when nothing): reports and waivers rely on these types."""
    for attr in ("summary", "tool_name", "tool_version"):
        if not isinstance(getattr(result, attr), str):
            return f"{attr} is {type(getattr(result, attr)).__name__}, not str"
    if result.error is not None and not isinstance(result.error, str):
        return f"error is {type(result.error).__name__}, not str"
    if not isinstance(result.metrics, Mapping) or not isinstance(result.artifacts, Mapping):
        return "metrics and artifacts must be mappings"
    for i, f in enumerate(result.findings):
        problem = _finding_problem(f)
        if problem:
            return f"finding {i + 1} ({f.rule_id!r}): {problem}"
    if not isinstance(result.narrowing, tuple):
        return "narrowing must be a tuple of Narrowing"
    for i, n in enumerate(result.narrowing):
        problem = n.problem() if isinstance(n, Narrowing) else f"{type(n).__name__}, not Narrowing"
        if problem:
            return f"narrowing record {i + 1}: {problem}"
    return ""


def _finding_problem(f: Finding) -> str:
    if not isinstance(f.severity, Severity):
        return f"severity {f.severity!r} is not a Severity"
    for attr in ("rule_id", "message", "fingerprint", "help_uri", "rule_name"):
        if not isinstance(getattr(f, attr), str):
            return f"{attr} is {type(getattr(f, attr)).__name__}, not str"
    if not isinstance(f.blocking, bool):
        return "blocking is not a bool"
    if not isinstance(f.tags, tuple) or not all(isinstance(t, str) for t in f.tags):
        return "tags must be a tuple of str"
    if not isinstance(f.properties, Mapping):
        return "properties must be a mapping"
    loc = f.location
    if loc is not None:
        if not isinstance(loc, Location) or not isinstance(loc.path, str):
            return "location must be a Location with a str path"
        if any(n is not None and (isinstance(n, bool) or not isinstance(n, int)) for n in (loc.line, loc.end_line, loc.column)):
            return "location line, end_line and column must be int or None"
    pkg = f.package
    if pkg is not None and not (isinstance(pkg, Package) and isinstance(pkg.name, str) and isinstance(pkg.version, str)):
        return "package must be a Package with str name and version"
    if f.waiver is not None and not isinstance(f.waiver, AppliedWaiver):
        return "waiver must be an AppliedWaiver or None"
    return ""


def _writable(result: CheckResult) -> CheckResult:
    """``result`` as every report can write it: JSON-serialisable and valid UTF-8.

    A file name that is not UTF-8 reaches us with lone surrogates (Python's surrogateescape);
    those become backslash escapes (``\\xff``), and values JSON cannot hold (sets, paths) become
    lists and strings, instead of crashing the renderers after the checks ran. Judged one finding
    at a time: the JSON text of 100,000 findings at once would take hundreds of MB.
    """
    head = _plain(replace(result, findings=()).to_dict(), CheckResult.from_dict)
    findings: list[Finding] | None = None
    for i, finding in enumerate(result.findings):
        fixed = _plain(finding.to_dict(), Finding.from_dict)
        if fixed is not None and findings is None:
            findings = list(result.findings[:i])
        if findings is not None:
            findings.append(fixed or finding)
    if head is None and findings is None:
        return result
    return replace(
        head or result,
        findings=tuple(findings) if findings is not None else result.findings,
        duration_s=result.duration_s,
    )


def _plain(data: dict[str, Any], build: Callable[[dict[str, Any]], _T]) -> _T | None:
    """None when ``data`` is writable as it is, else ``build`` of its writable copy."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
        return None
    except (TypeError, ValueError, UnicodeEncodeError):
        pass
    return build(_unsurrogate(json.loads(json.dumps(data, default=_jsonable))))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _unsurrogate(value: Any) -> Any:
    if isinstance(value, str):
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that no undecodable byte produced
            raw = value.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {_unsurrogate(k): _unsurrogate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsurrogate(v) for v in value]
    return value


def _error(name: str, message: str, elapsed: float = 0.0) -> CheckResult:
    return CheckResult(name=name, status=Status.ERROR, summary=message, error=message, duration_s=elapsed)


def iso_utc(moment: dt.datetime | None = None) -> str:
    """``moment`` (default: now) as the UTC timestamp every record and report uses, e.g. 2026-11-29T04:11:45Z."""
    return (moment or utc_now()).astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
