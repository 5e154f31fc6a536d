"""The engine: runs the selected checkers concurrently, isolates their failures, applies waivers
and the baseline, and decides the verdict. It is the only layer that knows checkers and results.
"""

from __future__ import annotations

import datetime as dt
import functools
import platform
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import __version__, checkout, checkoutreads, checkoutwatch, process, secretprints, spawnwatch
from gatekeeper.background import import_all, in_background
from gatekeeper.baseline import Baseline, unconfirmed
from gatekeeper.cachekey import cache_folder, tool_python
from gatekeeper.checkers import cache
from gatekeeper.checkers.base import CheckContext, LoadedChecker
from gatekeeper.controls import evaluate_controls, policy_controls
from gatekeeper.errors import GatekeeperError, PolicyError, UsageError
from gatekeeper.findings import (
    CheckResult,
    GateResult,
    Status,
    Verdict,
)
from gatekeeper.gitinfo import repository_info
from gatekeeper.interpreter import Interpreter, discover
from gatekeeper.isolation import error_result, run_one, sanitize, third_party
from gatekeeper.policy import Policy
from gatekeeper.provenance import run_context
from gatekeeper.waivers import apply_waivers

if TYPE_CHECKING:
    from gatekeeper.vex import VexDocument

Clock = Callable[[], dt.datetime]

#: checks whose thread starts before the others': mypy runs longest of the built-in tools, so the
#: run ends soonest when its process starts first (the result keeps the policy's order)
START_FIRST = frozenset({"types"})

#: how long the other checks wait for a check with a head start (its checker's ``head_start``) to
#: start its long tool (``CheckContext.begun``) before they start anyway
HEAD_START_WAIT_S = 0.5


def utc_now() -> dt.datetime:
    """The current time in UTC (the default clock)."""
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True, eq=False, repr=False)
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
    #: REF's run in a worktree: the checkout the worktree was made from, whose code REF's tests must not import
    ref_checkout: Path | None = None
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

    def running(self) -> None:
        """Every selected checker's thread has started (what waits for them may begin now)."""


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
        # the checks installed and enabled here, among which whole checks are dealt: ``merge`` compares them
        scope["enabled"] = sorted(enabled)
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
    from gatekeeper.vex import load_vex

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
    imports = tuple(m for n in names for m in checkers[n].run_imports)
    held = any(checkers[n].head_start(policy.checks[n]) for n in names)
    if not held:  # else once the check with a head start has started its tool (``_run_all``)
        run_imports(imports)  # while this thread mostly waits for git
    # git's answers overlap: the commit, branch and dirtiness are asked beside the snapshot
    repository_answer = in_background(lambda: repository_info(request.root), "gatekeeper-git-info")
    before = _snapshot(request, cache_dir)  # the checkout is read-only to the gate: compared at the end
    interpreter = request.interpreter or discover(request.root, str(policy.environment.get("python") or ""))
    repository = repository_answer()  # before any check runs: the tree as it was judged
    if any(checkers[n].origin for n in names):
        process.children_before()  # what kill_strays leaves alone: not started by a check
    spawnwatch.watch(n for n in names if checkers[n].origin)  # a plugin's processes started around the layer
    try:
        refused = checkout.links_out(before) if isinstance(before, checkout.Snapshot) else []
        reencoded = checkout.reencoded(before) if isinstance(before, checkout.Snapshot) else []
        if refused or reencoded:  # a tool would read what a link leads to outside, or other bytes than git holds: no check runs
            results, tree = _refused(names, refused, progress, reencoded)
        else:
            setting = (before, cache_dir, interpreter, imports if held else ())
            results, tree = _run_watched(request, checkers, names, progress, setting)
    finally:
        if any(checkers[n].origin for n in names):
            process.kill_strays()  # what a third-party check that timed out left running (one that ended killed its own)
        around = spawnwatch.seen()
    results = third_party(results, checkers, around)
    # a check declared timed out leaves its thread behind, and maybe its tool running: killed once
    # the comparison's own git calls are done, before the process ends (it does not wait for threads)
    process.kill_all()
    # a finding on a secret's line is fingerprinted by its place, never a hash of that line
    checked, earlier = secretprints.on_secret_lines(tuple(results[n] for n in names))
    # a print whose line's literals are masked is the accepted finding only if that line was there
    masked = unconfirmed(request.root, request.baseline, checked) if request.baseline.fingerprints else frozenset()
    ordered, waiver_summary = apply_waivers(
        checked,
        (*policy.waivers, *(w for doc in vex_docs for w in doc.waivers)),
        started_at.date(),
        request.baseline.fingerprints,
        request.baseline_name or "baseline",
        request.baseline_kind,
        earlier,
        masked,
    )
    finished_at = request.clock()
    verdict = decide_verdict(ordered, policy, waiver_summary, request.strict_waivers)
    if checkout.touched(tree) or tree.get("error") or tree.get("links_out") or tree.get("reencoded"):
        verdict = Verdict.ERROR  # whatever the checks said: a tool wrote into the tree, nobody can say, or it was refused
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


def _run_watched(
    request: RunRequest,
    checkers: Mapping[str, LoadedChecker],
    names: Sequence[str],
    progress: Progress,
    setting: tuple[checkout.Snapshot | str, Path | None, Interpreter, tuple[str, ...]],
) -> tuple[dict[str, CheckResult], dict[str, Any]]:
    """Run the checks ``names`` (``_run_all``) with the checkout watched, and compare it with the
    snapshot taken before (``setting``: that snapshot, the cache folder, the environment's
    interpreter, and the checks' ``run_imports`` imported once the check with a head start has
    started its tool): the results and that comparison (``_tree_check``). The comparison begins as soon
    as every check has ended or said it writes no more; what the checks cached is kept only when the
    checkout is found as it was."""
    before, cache_dir, interpreter, imports = setting
    compared: list[Callable[[], dict[str, Any]]] = []
    folders: list[dict[str, tuple[int, ...]]] = []  # the folders' stat data as that comparison began

    def early_check() -> dict[str, Any]:
        if isinstance(before, checkout.Snapshot):
            folders.append(checkout.folder_stats(before))
        return _tree_check(before)

    def quiet() -> None:  # every check has ended or said that nothing it still runs writes into the checkout
        compared.append(in_background(early_check, "gatekeeper-checkout"))

    # what the checks store in the cache is kept only when the checkout is found as it was: a file a
    # test rewrote between a tool's read and the read that keys its result would serve a stale verdict
    written = cache.log_writes(cache_dir)
    kept = False
    watch = checkoutwatch.start(before)  # and a tool configuration that comes and goes meanwhile is seen
    try:
        snap = before if isinstance(before, checkout.Snapshot) else None
        reads = checkoutreads.Reads(request.root, snap, watch.add if watch is not None else None)
        shared = _Shared(cache_dir, tool_python(request.root, request.policy), interpreter, reads, imports)
        results = _environment_kept(_run_all(request, checkers, names, shared, progress, quiet), checkers, shared)
        tree = compared[0]() if compared else _tree_check(before)
        if compared and _moved_after(tree, before, folders[0] if folders else None):  # while a settled check read it
            tree = _tree_check(before)
        tree = checkoutwatch.with_transient(_with_reads(tree, reads), watch, before)
        kept = not (checkout.touched(tree) or tree.get("error") or tree.get("links_out"))
    finally:
        cache.end_log(written, keep=kept)
        if watch is not None:
            watch.close()
    return results, tree


def _refused(
    names: Sequence[str], links: Sequence[str], progress: Progress, reencoded: Sequence[str] = ()
) -> tuple[dict[str, CheckResult], dict[str, Any]]:
    """Each check ``names`` an error it did not run for, and the ``checkout`` entry naming the
    ``links`` leading outside the git work tree (``gatekeeper.linksout``) and the files git checks out
    re-encoded (``checkout.reencoded``: the tools would judge other bytes than the repository holds)
    for which the run was refused."""
    if links:
        why = "not run: the checkout holds a link leading outside its git work tree (named below)"
    else:
        why = "not run: git checks out tracked files in another encoding than it stores them (named below)"
    results = {}
    for name in names:
        results[name] = error_result(name, why, 0.0)
        progress.finished(results[name])
    tree: dict[str, Any] = {"compared": False, "changed": [], "links_out": list(links)}
    if reencoded:
        tree["reencoded"] = list(reencoded)
    return results, tree


def _cache_dir(request: RunRequest) -> Path | None:
    """The cache folder of this run, None when the cache is off (``--no-cache``, ``cache.enabled``)."""
    if not (request.use_cache and request.policy.cache["enabled"]):
        return None
    cache.check_key_env()  # a key too short to trust is exit 2, not a silently cold cache
    # outside the checkout by default: a pull request must not be able to supply cached results;
    # resolved now: a link planted in the checkout on the way to the cache stops the run (exit 2)
    return request.cache_dir or cache_folder(request.root, request.policy)


@dataclass(frozen=True, eq=False, repr=False)
class _Shared:
    """What every checker of one run shares: the cache folder, the tool interpreter, the environment."""

    cache_dir: Path | None
    tool_python: str
    interpreter: Interpreter
    reads: checkoutreads.Reads  # the files the checks read that the comparison does not cover
    #: the checks' ``run_imports`` held back until the check with a head start has started its tool
    imports: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)  # ``CheckContext.shared``'s values
    lock: threading.Lock = field(default_factory=threading.Lock)


def _environment_kept(
    results: dict[str, CheckResult], checkers: Mapping[str, LoadedChecker], shared: _Shared
) -> dict[str, CheckResult]:
    """``results``, with each check that judged the environment an ``error`` when that environment
    changed during the run (``inventory.changed_during_run``): it judged what is no longer there."""
    if not any(checkers[n].inspects_environment for n in results):
        return results  # nothing judged the environment: its reader is not even imported
    from gatekeeper.checkers.inventory import changed_during_run

    why = changed_during_run(shared.values)
    if not why:
        return results
    return {
        n: error_result(n, why, r.duration_s) if checkers[n].inspects_environment and r.status is not Status.ERROR else r
        for n, r in results.items()
    }


def run_imports(modules: Iterable[str]) -> threading.Thread:
    """Import ``modules`` (the selected checks' ``run_imports``) in a thread of its own, begun before
    the checkout's snapshot and git's answers, which this thread spends waiting for git: each check
    then finds its run path loaded instead of importing it after it started (a module being
    imported is waited for, never imported twice). In a run with a check that has a head start (the
    test command of ``checks.coverage.run``, else the types check's mypy), begun once that check has
    started its tool: until
    then the imports took the interpreter's lock from the work that starts it. A module that fails to import is skipped: the
    check's own import of it raises the error again, in its thread, where it is reported."""

    thread = threading.Thread(target=import_all, args=(list(modules),), name="gatekeeper-run-imports", daemon=True)
    thread.start()
    return thread


def _run_all(  # noqa: PLR0913  # and what to do once the checks write no more
    request: RunRequest,
    checkers: Mapping[str, LoadedChecker],
    names: Sequence[str],
    shared: _Shared,
    progress: Progress,
    quiet: Callable[[], None] | None = None,
) -> dict[str, CheckResult]:
    """Start a thread per checker, each with its own deadline, and collect their results: one that
    raises, returns nonsense or outlives its deadline becomes an ``error`` while the others finish.
    ``quiet`` is called once every check has ended or said it writes no more (``ctx.settled``)."""
    values, values_lock = shared.values, shared.lock
    done: queue.Queue[tuple[str, object]] = queue.Queue()
    deadlines: dict[str, float] = {}
    starts: dict[str, float] = {}
    policy = request.policy
    # one check starts ahead: the test command before mypy (START_FIRST), whose run is shorter than most suites
    first = next((n for n in sorted(names, key=lambda n: n in START_FIRST) if checkers[n].head_start(policy.checks[n])), "")
    for name in sorted(names, key=lambda n: (n != first, n not in START_FIRST)):
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
            ref_checkout=request.ref_checkout,
            tool_python=shared.tool_python,
            interpreter=shared.interpreter,
            checks_at_once=len(names),
            _shared=values,
            _shared_lock=values_lock,
            _on_settled=functools.partial(done.put, (name, _SETTLED)),
            _on_reading=shared.reads.add,
            _list_files=_project_files,
            _third_party=bool(checkers[name].origin),
        )
        progress.started(name)
        thread = threading.Thread(
            target=_run_and_say, args=(name, checkers[name], section, ctx, done), name=f"gatekeeper-{name}", daemon=True
        )
        thread.start()
        if name == first:
            ctx.wait_begun(HEAD_START_WAIT_S)
            if shared.imports:  # not before: they would take the interpreter's lock from its start
                run_imports(shared.imports)
    progress.running()
    return _collect(names, done, starts, deadlines, progress, quiet)


def _run_and_say(
    name: str, checker: LoadedChecker, section: Mapping[str, Any], ctx: CheckContext, done: queue.Queue[tuple[str, object]]
) -> None:
    """``run_one``, then ``begun`` for a check that never said it (the checks held back start)."""
    try:
        run_one(name, checker, section, ctx, done)
    finally:
        ctx.begun()


#: put on the results' queue by ``ctx.settled``: the check runs nothing more that could write into the checkout
_SETTLED = object()


def _collect(  # noqa: PLR0913  # and what to do once the checks write no more
    names: Sequence[str],
    done: queue.Queue[tuple[str, object]],
    starts: Mapping[str, float],
    deadlines: Mapping[str, float],
    progress: Progress,
    quiet: Callable[[], None] | None = None,
) -> dict[str, CheckResult]:
    """Each checker's result as it arrives; past its deadline, a timeout ``error`` (a result that
    arrives later is dropped). ``quiet`` is called once, as soon as every check has ended or said
    it writes no more (``ctx.settled``)."""
    results: dict[str, CheckResult] = {}
    settled: set[str] = set()
    told = quiet is None
    while len(results) < len(names):
        if quiet is not None and not told and all(n in results or n in settled for n in names):
            told = True
            quiet()
        pending = [n for n in names if n not in results]
        wait = max(0.0, min(deadlines[n] for n in pending) - time.monotonic())
        try:
            name, result = done.get(timeout=wait + 0.05)
        except queue.Empty:
            now = time.monotonic()
            for n in pending:
                if now >= deadlines[n] + 0.05:
                    limit = deadlines[n] - starts[n]
                    results[n] = error_result(
                        n, f"timed out after {limit:.0f}s (raise gate.timeout_s or checks.{n}.timeout_s)", now - starts[n]
                    )
                    progress.finished(results[n])
            continue
        if result is _SETTLED:
            settled.add(name)
            continue
        if name in results:  # finished after it was already declared timed out
            continue
        results[name] = sanitize(name, result, time.monotonic() - starts[name])
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
        extra["baseline"] = {"path": request.baseline_name, "sha256": request.baseline.sha256,
                             "fingerprints": request.baseline.size, "matched": matched}  # fmt: skip
    extra.update(vex_summary(vex_docs))
    # how waivers were judged: the option is no part of the policy's digest, so the result says it
    extra["strict_waivers"] = bool(request.strict_waivers or policy.gate["strict_waivers"])
    extra.update(run_context())
    extra["controls"] = evaluate_controls(policy_controls(policy.data), ordered)
    extra["scope"] = scope
    extra["runtime"] = {"python": platform.python_version(), "implementation": platform.python_implementation()}
    return extra


def _project_files(*args: Any, **kwargs: Any) -> list[str]:
    """``CheckContext.project_files``'s lister, ``checkers.source.project_files``, imported by the first
    check that lists files (source imports base), not before the checks start: the test command's start waited for it."""
    from gatekeeper.checkers.source import project_files

    return project_files(*args, **kwargs)


def _snapshot(request: RunRequest, cache_dir: Path | None) -> checkout.Snapshot | str:
    """The tracked files before any checker starts, leaving out gatekeeper's own output and cache
    folders (written on purpose); or why they could not be read."""
    own = [request.output_dir, *([cache_dir] if cache_dir is not None else [])]
    try:
        return checkout.snapshot(request.root, skip=own)
    except GatekeeperError as exc:
        return str(exc)


def _moved_after(tree: Mapping[str, Any], before: checkout.Snapshot | str, folders: dict[str, tuple[int, ...]] | None) -> bool:
    """Whether a checkout found unchanged by a comparison made before every check had ended (one
    said it only reads from then on) has changed since: a process the tests left running outside
    their process group may have removed, rewritten or created a file that check then read
    (``folders``: the folders' stat data as that comparison began, in which a file created shows)."""
    if checkout.touched(tree) or tree.get("error") or isinstance(before, str):
        return False
    return checkout.moved_since(before, folders)


def _with_reads(tree: dict[str, Any], reads: checkoutreads.Reads) -> dict[str, Any]:
    """``tree`` with the files the checks read beyond the comparison (``CheckContext.reading``) that
    were written or removed since they were named: the tool and the cache key may have read other
    bytes (a tree that could not be compared is an error already); and with the links leading
    outside the git work tree that a check named, and was refused (``links_out``)."""
    links = reads.outside()  # a link leading outside the work tree that a check named as read: refused
    tree = {**tree, "links_out": links} if links else tree
    if tree.get("error"):
        return tree
    moved = reads.moved()
    return {**tree, "read_written": moved} if moved else tree


def _tree_check(before: checkout.Snapshot | str) -> dict[str, Any]:
    """The ``checkout`` entry of the result: whether the files were compared, which tracked files
    changed, which untracked files git does not ignore were created, removed or rewritten; ``error`` says why a
    git work tree's files could not be compared (git refused to read it, say)."""
    try:
        if isinstance(before, str):
            raise UsageError(before)
        now = checkout.changes(before)
    except GatekeeperError as exc:  # the comparison could not be made: not a tree known unchanged
        return {"compared": False, "changed": [], "error": str(exc)}
    out: dict[str, Any] = {"compared": before.git, "tracked_files": checkout.tracked_count(before), "changed": now.changed}
    if not before.git:
        out["note"] = "not a git work tree: no tracked files to compare"
        return out
    out["untracked_files"] = checkout.untracked_count(before)
    out.update(created=now.created, removed=now.removed, rewritten=now.rewritten, restored=now.restored)
    if now.git_settings:
        out["git_settings"] = now.git_settings
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


def iso_utc(moment: dt.datetime | None = None) -> str:
    """``moment`` (default: now) as the UTC timestamp every record and report uses, e.g. 2026-11-29T04:11:45Z."""
    return (moment or utc_now()).astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
