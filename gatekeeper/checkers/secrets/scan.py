"""The secrets check's run: the tracked files listed, hashed and scanned (or their cached results
reused), the scans the pragmas narrowed done again without them, and the check's result."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gatekeeper import process
from gatekeeper.checkers import cache, source
from gatekeeper.checkers.base import CheckContext, honours_project
from gatekeeper.checkers.secrets.launcher import WORKER
from gatekeeper.checkers.secrets.launcher import Failed as _Failed
from gatekeeper.checkers.secrets.launcher import LazyWorker as _LazyWorker
from gatekeeper.checkers.secrets.launcher import Stale as _Stale
from gatekeeper.checkers.secrets.launcher import culprits as _culprits
from gatekeeper.checkers.secrets.launcher import paths as _paths
from gatekeeper.checkers.secrets.launcher import scan as _scan
from gatekeeper.checkers.secrets.narrowing import PragmaLines as _PragmaLines
from gatekeeper.checkers.secrets.narrowing import pragma_narrowing as _pragma_narrowing
from gatekeeper.checkers.secrets.narrowing import unscanned as _unscanned
from gatekeeper.checkers.secrets.results import kept as _kept
from gatekeeper.checkers.secrets.results import key as _key
from gatekeeper.checkers.secrets.results import to_findings
from gatekeeper.checkers.secrets.results import valid as _valid
from gatekeeper.checkers.secrets.terms import ALLOWLIST_FILTER, CACHE_VERSION, CHECK, FILE_FILTERS, INSTALL
from gatekeeper.errors import ToolError
from gatekeeper.findings import CheckResult, Finding, decide_status
from gatekeeper.toolorigin import ToolOrigin

#: paths per detect-secrets command line, far below the OS argument limit
MAX_FILES_PER_RUN = 1000
#: When other checks run beside this one, a scan of fewer bytes than this runs in the worker's own
#: process, one file after another: detect-secrets' process pool (a process per CPU, each
#: rebuilding its plugins and filters, every result sent back) costs 0.06 s more CPU at 32 KB,
#: 0.3 s at 1 MB. Measured on two CPUs with all eight checks running (they keep both busy): one
#: process gave the secrets check the same or less time up to 430 KB, for 0.2 s less CPU. Alone,
#: the check keeps the pool, which then has the CPUs to itself: one process took 0.2 s longer on
#: 135 KB, 0.65 s on 430 KB.
SERIAL_BELOW_BYTES = 512 * 1024


def run(section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
    """``SecretsChecker.run``: scan (or reuse cached scans of) the tracked files; every potential
    secret is a blocking finding."""
    tool = ctx.tool("detect_secrets", "detect-secrets", INSTALL)  # where it is, before anything of it runs
    cache.retire(ctx.cache_dir, CHECK, CACHE_VERSION)  # earlier versions cached detect-secrets' hash of each secret
    folder = ctx.cache_dir / CHECK if ctx.cache_dir is not None else None
    lazy = _LazyWorker(ctx, tool, folder)  # on a cold cache, detect-secrets imports while the files are read
    honour = honours_project(section)
    try:
        exclude = [str(p) for p in section.get("exclude") or []]
        files_all, left_out = _listed(ctx, exclude)
        sources = source.Sources(ctx.root)
        for f in files_all:  # read and hashed (for the cache keys) while detect-secrets imports
            sources.digest(f)
        base = [tool.python, "-I", "-m", "detect_secrets", "scan"]
        plugin_args = _plugin_args(ctx, base, [str(p) for p in section.get("plugins") or []], lazy)
        filters = [*FILE_FILTERS, *([] if honour else [ALLOWLIST_FILTER])]
        args = ["scan", "--no-verify", *plugin_args, *(a for f in filters for a in ("--disable-filter", f))]
        pragma_lines = _PragmaLines(sources)
        pragmas = {f for f in files_all if honour and pragma_lines(f)}

        def scan(chunk: list[str]) -> dict[str, list[dict[str, Any]]]:
            worker = lazy.started()  # raises _Stale when the started tool says otherwise than the cache
            try:
                found = _scan(ctx, worker, [*args, *_paths(_largest_first(chunk, sources))], _serial(chunk, sources, ctx))
            except _Failed as failed:  # say which files it fails on, so that the user can act
                raise ToolError(_failure(failed, _culprits(ctx, worker.python, args, chunk))) from None
            again = [f for f in chunk if f in pragmas]
            if again:  # what the pragmas hid: the same files without the allowlist filter
                unfiltered_args = [*args, "--disable-filter", ALLOWLIST_FILTER, *_paths(again)]
                unfiltered = _scan(ctx, worker, unfiltered_args, _serial(again, sources, ctx))
                for f in again:
                    kept = {_key(r) for r in found.get(f, [])}
                    hidden = [{**r, "allowlisted": True} for r in unfiltered.get(f, []) if _key(r) not in kept]
                    found.setdefault(f, []).extend(hidden)
            return {f: [_kept(r) for r in rs] for f, rs in found.items()}  # no hash of a secret goes further

        def per_file_run(hello: Mapping[str, Any]) -> source.PerFileRun:
            per_file_tool = source.PerFileTool(CHECK, _options(tool, hello, args), _valid, scan, MAX_FILES_PER_RUN)
            return source.run_per_file(ctx, per_file_tool, files_all, sources)

        per_file, hello = _per_file(lazy, per_file_run)
        version, lenient = str(hello["version"]), hello.get("lenient") is True
    finally:
        lazy.close()
    files, results = per_file.files, per_file.results
    findings = to_findings({f: [r for r in rs if not r.get("allowlisted")] for f, rs in results.items()})
    narrowing = _pragma_narrowing(files, results, pragma_lines) if honour else []
    narrowing += _unscanned(ctx.root, files, sources, lenient)
    unscanned = {f for n in narrowing if n.kind == "not-scanned" for f in n.files}
    n = len(findings)
    scanned = len(files) - len(unscanned)
    summary = f"{n:,} potential secret{'s' if n != 1 else ''} in {scanned:,} tracked files"
    metrics: dict[str, Any] = {
        "files_scanned": scanned,
        "files_not_scanned": len(unscanned),
        "secrets": n,
        "by_type": _by_type(findings),
        "plugins": [str(p) for p in section.get("plugins") or []] or "all",
        "excluded_by_policy": {"count": len(left_out), "exclude": exclude},
        "project_config": "honour" if honour else "ignore",
        "tool_source": tool.source,
        "command": " ".join(["detect-secrets", *args]),
    }
    metrics.update(per_file.metrics(ctx.shard))
    return CheckResult(
        name=CHECK,
        status=decide_status(findings),
        summary=summary,
        tool_name="detect-secrets",
        tool_version=version,
        metrics=metrics,
        findings=tuple(findings),
        narrowing=tuple(narrowing),
    )


def _per_file(
    lazy: _LazyWorker, per_file_run: Callable[[Mapping[str, Any]], source.PerFileRun]
) -> tuple[source.PerFileRun, Mapping[str, Any]]:
    """``per_file_run`` under the tool's hello (cached, or said by the worker), and that hello."""
    hello = lazy.hello()
    try:
        per_file = per_file_run(hello)
    except _Stale as stale:  # nothing was scanned or cached under the cached hello's keys: once more
        hello = stale.hello
        per_file = per_file_run(hello)
    return per_file, hello


def _listed(ctx: CheckContext, exclude: Sequence[str]) -> tuple[list[str], list[str]]:
    """The tracked files to scan, and those left out by the policy's ``exclude`` (with every file
    whose name is not UTF-8: one the policy does not leave out is a ``ToolError``, as is nothing to scan)."""
    tracked = source.tracked_files(ctx.root, ctx)
    left_out = [f for f in tracked if source.excluded(f, exclude)]
    files_all = [f for f in tracked if f not in set(left_out)]
    unnamed = source.tracked_unnamed(ctx.root, ctx)  # files detect-secrets cannot be given by name
    unnamed_kept = [f for f in unnamed if not source.excluded(f, exclude)]
    if unnamed_kept:
        raise ToolError(_unnamed(unnamed_kept))
    left_out += unnamed  # every one of them left out by the policy
    if not files_all:
        raise ToolError("no tracked files to scan for secrets (an empty check is not a pass)")
    return files_all, left_out


def _by_type(findings: Sequence[Finding]) -> dict[str, int]:
    """The number of findings of each type of secret, by type."""
    by_type: dict[str, int] = {}
    for finding in findings:
        by_type[finding.rule_name] = by_type.get(finding.rule_name, 0) + 1
    return dict(sorted(by_type.items()))


def _options(tool: ToolOrigin, hello: Mapping[str, Any], args: Sequence[str]) -> str:
    """The cache keys' options digest for the detect-secrets that said ``hello``, run with ``args``."""
    import hashlib

    from gatekeeper.checkers import source

    version, lenient = str(hello["version"]), hello.get("lenient") is True
    # the tool's origin is part of the key: what another copy claiming the same version wrote is not
    # reused; so is the worker's text, which decides how files are read (a changed reading is a new scan)
    reader = hashlib.sha256(WORKER.read_bytes()).hexdigest()
    return source.options_digest(CACHE_VERSION, version, tool.describe(), lenient, reader, list(args))


def _largest_first(chunk: Sequence[str], sources: source.Sources) -> list[str]:
    """``chunk`` with its largest files first (ties in their listed order): detect-secrets' process
    pool hands the files out in the order named, one at a time, so a large file named last left one
    process scanning it alone after the others had run out of files. click's uv.lock (17% of its
    bytes, 1.0 of the 8.2 s of CPU its files take to scan, the lock-file filter being off) is its
    last tracked file: two processes taking the files in git's order end after 4.6 s, largest first
    after 4.1 s, half the work each. The results do not depend on the order."""
    return sorted(chunk, key=lambda f: -len(sources.data(f)))


def _serial(chunk: Sequence[str], sources: source.Sources, ctx: CheckContext) -> bool:
    """Whether to scan ``chunk`` without detect-secrets' process pool: other checks run beside this
    one and it is small (``SERIAL_BELOW_BYTES``)."""
    return ctx.checks_at_once > 1 and sum(len(sources.data(f)) for f in chunk) < SERIAL_BELOW_BYTES


def _failure(failed: _Failed, culprits: Sequence[tuple[str, str]]) -> str:
    """The check's error: the files detect-secrets fails on and what it raised, and what to do."""
    if not culprits:
        return str(failed)
    named = ", ".join(f"{path} ({error})" for path, error in culprits)
    listed = ", ".join(json.dumps(path) for path, _ in culprits)
    count = f"{len(culprits)} tracked file{'s' if len(culprits) != 1 else ''}"
    return (
        f"detect-secrets failed (exit {failed.returncode}) on {count}: {named}. They were not scanned for "
        "secrets, so the check cannot pass; after reviewing them by hand, leave them out with "
        f"checks.secrets.exclude = [{listed}] (the report counts them in excluded_by_policy)"
    )


def _unnamed(files: Sequence[str]) -> str:
    """The check's error when tracked files have names that are not UTF-8 (shown with ``\\xNN``):
    they cannot be named to detect-secrets, so they were not scanned."""
    listed = ", ".join(json.dumps(path) for path in files)
    return (
        f"{len(files)} tracked file(s) whose names are not UTF-8 ({', '.join(files)}) cannot be named to "
        "detect-secrets: not scanned for secrets, so the check cannot pass; rename them, or after reviewing them "
        f"by hand leave them out with checks.secrets.exclude = [{listed}]"
    )


def _plugin_args(ctx: CheckContext, base: Sequence[str], wanted: Sequence[str], lazy: _LazyWorker) -> list[str]:
    """``--disable-plugin`` for every standard plugin the policy does not name (none when it names none);
    the plugins detect-secrets has are asked once and cached beside its hello (``_LazyWorker``)."""
    if not wanted:
        return []
    available = lazy.remembered("plugins")
    if not (isinstance(available, list) and available and all(isinstance(p, str) for p in available)):
        done = ctx.run([*base, "--list-all-plugins"], timeout=60)
        if done.returncode != 0:
            raise ToolError(f"detect-secrets --list-all-plugins failed (exit {done.returncode}): {process.tail(done.stderr)}")
        available = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        lazy.remember("plugins", available)
    unknown = [p for p in wanted if p not in available]
    if unknown:
        raise ToolError(
            f"checks.secrets.plugins names {', '.join(unknown)}, which detect-secrets does not have "
            f"(available: {', '.join(available)})"
        )
    return [arg for p in available if p not in wanted for arg in ("--disable-plugin", p)]
