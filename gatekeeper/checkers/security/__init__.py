"""Code security with bandit: every bandit result becomes a finding.

How a scan goes:

1. The first bandit worker (``pool``, ``worker.py``) runs ``probe`` in the project's root: bandit's
   own command-line code finds the files ``bandit -r PATHS`` would scan (with the policy's
   exclude, the project's ``.bandit`` file and ``[tool.bandit]`` config) and the options every
   scan must use. Discovery costs no bandit import of its own; on a cold cache, when a quick look
   at the paths finds enough source for two workers (``_worth_two``), a second worker imports
   bandit meanwhile. The answer is cached (``plancache``): while the names under the paths, the
   bandit configuration and bandit itself are unchanged, no worker starts to find the files, and
   none at all when every file's scan is cached too.
2. With ``--shard I/N`` only a deterministic share of those files is kept, balanced by bytes.
3. Files whose result is in the cache (keyed by the file's content and path, bandit's and
   Python's versions and the scan options) are not scanned again.
4. The rest goes to ``workers`` bandit worker processes (bandit's own ``main()`` with those
   options, bandit imported once per process; at most one per ``MIN_SHARD_BYTES`` of source, one
   per ``BESIDE_OTHERS_SHARD_BYTES`` when other checks run beside it), largest files first, in batches that shrink as
   the work runs out, to whichever worker is free; a worker gets its next batch as soon as it
   reports, before that report is read. Each report is split per file, cached and mapped to
   findings as it arrives (bandit's raw results are dropped then: 100,000 findings never sit in
   memory twice). Files are passed by the names discovery produced (``src/x.py``; ``./x.py``
   under ``-r .``) and normalised before merging.

The merged findings equal one ``bandit -r PATHS -f json`` run with the same options.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper import process, tomlio
from gatekeeper.checkers import cache
from gatekeeper.checkers.base import CheckContext, CheckerBase, Display, Trend, shard_record, split_by_size
from gatekeeper.checkers.security import presentation
from gatekeeper.errors import ToolError
from gatekeeper.findings import (
    CheckResult,
    Status,
)
from gatekeeper.options import Option

if TYPE_CHECKING:
    from gatekeeper.checkers.security.pool import BanditPool, Batches
    from gatekeeper.checkers.security.results import Tally
    from gatekeeper.checkers.security.scan import FileScan, ScanPlan
    from gatekeeper.toolorigin import ToolOrigin

# the run path (the worker pool, the plan cache, bandit's results and narrowing) is imported where it
# is used, in the check's own thread: loading the checker needs none of it

LEVELS = ("low", "medium", "high")

CACHE_VERSION = 5  # 2: a result that flags a hardcoded password is kept without it (scan.withheld);
# 3 (bandit -n 1) and 4: a result's code excerpt holds its flagged lines alone; 5: no excerpt (scan.excerpt)

#: Below this many bytes of source per process, another bandit process costs more (start-up
#: and plugin loading: 0.11-0.15 s of CPU) than it saves. Measured on two CPUs: 100-160 KB of
#: source (1,900-3,300 lines) took as long with two workers as with one, for 0.11-0.14 s more
#: CPU; 520 KB (9,500 lines) 0.28 s less wall time for 0.15 s more CPU.
MIN_SHARD_BYTES = 96 * 1024

#: The same bound when other checks run beside this one (``ctx.checks_at_once``): they keep the
#: CPUs busy, so a second process mostly adds its start-up. Measured on two CPUs with all eight
#: checks on click (340 KB of source): two workers 0.62-0.67 s of bandit CPU, one 0.51-0.52 s, and
#: the run ended no later (bandit was never its last tool).
BESIDE_OTHERS_SHARD_BYTES = 512 * 1024

#: At most this many folder entries are looked at to guess a cold scan's size (``_worth_two``).
SIZE_GUESS_ENTRIES = 5000


class SecurityChecker(CheckerBase):
    """Runs bandit over the policy's paths and maps its results to findings."""

    name = "security"
    description = "code security (bandit)"
    shardable: ClassVar[bool] = True  # with --shard I/N it scans share I of the files discovery found
    options: Mapping[str, Option] = {
        "paths": Option("str_list", ["."], "paths to scan, relative to the project", existing_paths=True),
        "exclude": Option("str_list", [".venv", "venv", ".tox", "build", "dist", "tests"], "paths or globs to leave out"),
        "min_confidence": Option("str", "low", "findings below this confidence are not reported", choices=LEVELS),
        "fail_on_severity": Option("str", "medium", "reported findings at or above this severity block", choices=LEVELS),
        "skip": Option("str_list", [], 'bandit test ids to skip, e.g. ["B101"]'),
        "tests": Option("str_list", [], "run only these bandit test ids"),
        "config": Option("str", "", "bandit config file; empty: [tool.bandit] in pyproject.toml or .bandit if present"),
        "project_config": Option(
            "str",
            "honour",
            "honour the project's .bandit, [tool.bandit] and # nosec marks (each reported), or ignore them",
            choices=("honour", "ignore"),
        ),
        "workers": Option("int", 0, "bandit processes to split the files across; 0: one per CPU", minimum=0, maximum=256),
    }

    tool = presentation.TOOL
    trends = tuple(Trend(f"sec_{level}", ("counts", level)) for level in ("high", "medium", "low"))

    def display(self, result: CheckResult) -> Display:
        """What bandit scanned, issues by severity, and what the project's bandit configuration narrowed."""
        return presentation.display(result)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Scan (or reuse cached scans of) the files bandit would scan, and map every result to a finding."""
        from gatekeeper.checkers.security.pool import BanditPool, Batches

        targets = [str(p) for p in section.get("paths") or ["."]]
        workers = int(section.get("workers") or 0) or (os.cpu_count() or 1)
        cache.retire(ctx.cache_dir, "security", CACHE_VERSION)  # earlier versions cached bandit's excerpts (keys in them)
        folder = ctx.cache_dir / "security" if ctx.cache_dir is not None else None
        origin = ctx.vet_tool("bandit", "bandit")  # never the checkout's bandit (before any of it is imported)
        pool = BanditPool(ctx.tool_python, ctx.root)
        try:
            if folder is None or not folder.is_dir():  # nothing cached: the first worker will find the files
                two = workers > 1 and _worth_two(ctx.root, targets, section.get("exclude") or [], _shard_bytes(ctx))
                pool.start(2 if two else 1, quiet=True)  # importing bandit while the rest is prepared
            from gatekeeper.checkers.security.narrowing import (
                default_dropped,
                default_dropped_records,
                narrowing_note,
                narrowing_records,
                notebook_records,
                notebooks,
                unparsed_records,
            )
            from gatekeeper.checkers.security.results import CHECK, Tally

            # the first worker finds the files, then scans; with the answer cached, no worker starts
            # unless a file must be scanned
            plan = discover(section, ctx, pool, cached=(folder, origin))
            _refuse_outside(plan, ctx.root)
            ctx.reading([*plan.files, *(name for name in _config_files(plan) if name)])  # before a key's or bandit's read
            sizes = {f: _size(ctx.root / f) for f in plan.files}
            files = list(plan.files)
            if ctx.shard is not None:
                index, count = ctx.shard
                files = split_by_size(files, sizes, count)[index - 1]
            tally = Tally(section, ctx.root)
            keys: dict[str, str] = {}
            rejected = 0
            if folder is not None:
                options_digest = _options_digest(plan, ctx.root)
                for f in files:
                    keys[f] = cache.cache_key(options_digest, f, cache.file_digest(ctx.root / f))
                    hit, bad = _cache_read(folder, keys[f])
                    rejected += bad
                    if hit is not None:
                        tally.add(f, hit)
            cached = len(tally)
            todo = [f for f in files if f not in tally]
            processes = max(1, min(workers, len(todo), sum(sizes[f] for f in todo) // _shard_bytes(ctx))) if todo else 0
            if todo:
                store = (folder, keys) if folder is not None else None
                _scan(pool, plan, Batches(todo, sizes, processes), ctx.deadline, _keeper(tally, store))
        finally:
            pool.close()
        result = tally.result(plan, files, targets)
        metrics = dict(result.metrics)
        metrics.update({"cached_files": cached, "cache_rejected": rejected, "processes": processes, "workers": workers})
        metrics.update({"fail_on_severity": section["fail_on_severity"], "min_confidence": section["min_confidence"]})
        honoured = int(metrics.get("nosec", 0)) + int(metrics.get("skipped_tests", 0))  # "# nosec" and "# nosec B101"
        narrowing = _narrowing(section, plan, ctx, honoured)
        narrowing["baseline_hidden"] = sum(tally.baseline_files.values())
        metrics["project_config"] = narrowing["mode"]
        summary = result.summary + narrowing_note(narrowing)
        honour = narrowing["mode"] == "honour"
        records = narrowing_records(narrowing, tally.nosec_files if honour else {}, ctx.root, tally.baseline_files)
        metrics["baseline_hidden"] = narrowing["baseline_hidden"]
        unread = notebooks(ctx, targets, [*(section.get("exclude") or []), *narrowing["exclude"]])
        metrics["notebooks_not_scanned"] = len(unread)
        records += notebook_records(unread) + unparsed_records(result.metrics["parse_errors"])
        records += default_dropped_records(default_dropped(ctx, targets, plan.files))
        summary += f"; {len(unread)} notebook{'s' if len(unread) != 1 else ''} (.ipynb) not scanned" if unread else ""
        if ctx.shard is not None:
            metrics["shard"] = shard_record(ctx.shard, plan.files, files)
        status = result.status
        empty = ""
        if not plan.files:  # a typo'd path, an exclude that matches everything: a scan of nothing proves nothing
            empty = f"no Python files to scan under {', '.join(targets)} (after exclude)"
        elif files and set(files) <= {str(e["path"]) for e in result.metrics["parse_errors"]}:
            # bandit counts the lines of a file it cannot parse, so files_scanned counts it too
            empty = f"bandit could not parse any of the {len(files)} files it was given"
        if empty and not section.get("allow_empty"):
            status = Status.ERROR
            summary = f"{empty}; set checks.security.allow_empty = true if that is expected"
        newer = _parsed_by_the_environment(ctx, [str(e["path"]) for e in result.metrics["parse_errors"]])
        if newer and not empty:
            status = Status.ERROR
            shown = ", ".join(newer[:3]) + (f", … ({len(newer)} files)" if len(newer) > 3 else "")
            summary = (
                f"bandit, run by {ctx.tool_python}, could not parse {len(newer)} file{'s' if len(newer) != 1 else ''} "
                f"that the environment's Python ({ctx.target_python}) parses, and scanned nothing of "
                f"{'them' if len(newer) != 1 else 'it'} ({shown}): syntax newer than the tool interpreter's; "
                "set gate.tool_python to an interpreter of the project's Python version with gatekeeper's tools, "
                "or leave the files out with checks.security.exclude"
            )
        return CheckResult(
            name=CHECK,
            status=status,
            summary=summary,
            error=summary if status is Status.ERROR else None,
            tool_name="bandit",
            tool_version=plan.version,
            metrics=metrics,
            findings=result.findings,
            narrowing=records,
            prior_prints=result.prior_prints,
        )


#: run by the environment's interpreter (-I -S) on the files bandit could not parse: those it parses,
#: one per line. compile(..., PyCF_ONLY_AST) parses; nothing of the file runs
_PARSES = """
import ast, sys
for name in sys.argv[1:]:
    try:
        with open(name, "rb") as fh:
            compile(fh.read(), name, "exec", ast.PyCF_ONLY_AST)
    except (SyntaxError, ValueError, OSError):
        continue
    print(name)
"""


def _parsed_by_the_environment(ctx: CheckContext, unparsed: list[str]) -> list[str]:
    """Those of the files bandit could not parse (``unparsed``, relative to the root) that the
    inspected environment's interpreter parses: syntax newer than the tool interpreter's (a 3.12
    project's ``class Model[A: Agent]`` under a 3.11 bandit), which hid the whole file from the scan,
    not a file no Python takes. Empty when the two interpreters are one, or the question fails."""
    import tempfile

    if not unparsed or os.path.realpath(ctx.target_python) == os.path.realpath(ctx.tool_python):
        return []
    paths = {str(ctx.root / f): f for f in unparsed}
    with tempfile.TemporaryDirectory(prefix="gatekeeper-parse-") as cwd:
        done = ctx.run([ctx.target_python, "-I", "-S", "-c", _PARSES, *paths], timeout=120, cwd=cwd)
    if done.returncode != 0:
        return []
    return sorted(paths[line] for line in done.stdout.splitlines() if line in paths)


def discover(
    section: Mapping[str, Any],
    ctx: CheckContext,
    pool: BanditPool | None = None,
    cached: tuple[Path | None, ToolOrigin | None] = (None, None),
) -> ScanPlan:
    """Ask bandit, in the project's root, which files ``bandit -r PATHS`` scans and with which options:
    the first worker of ``pool``, or a probe process of its own. With ``cached`` (the cache folder and
    the located bandit) the answer is taken from, and stored in, the cache (``plancache``)."""
    from gatekeeper.checkers.security import plancache

    config = str(section.get("config") or "")
    honour = str(section.get("project_config") or "honour") == "honour"
    if config:
        if not (ctx.root / config).is_file():
            raise ToolError(f"the bandit config file {config} (checks.security.config) does not exist")
    elif honour:
        pyproject = ctx.root / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomlio.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError) as exc:
                raise ToolError(f"pyproject.toml cannot be read for its [tool.bandit] section: {exc}") from None
            if isinstance(data.get("tool"), dict) and "bandit" in data["tool"]:
                config = "pyproject.toml"
    request = {
        "targets": [str(p) for p in section.get("paths") or ["."]],
        "exclude": list(section.get("exclude") or []),
        "skip": list(section.get("skip") or []),
        "tests": list(section.get("tests") or []),
        "config": config,
        "project_config": "honour" if honour else "ignore",
    }
    folder, origin = cached
    key = plancache.plan_key(ctx.root, request, origin) if folder is not None and origin is not None else ""
    answer = plancache.read_answer(folder, key, ctx.root) if key else None
    if answer is not None:
        try:
            return _plan(answer, config)
        except ToolError:
            pass  # not a plan: asked again
    if pool is not None:
        answer = pool.discover(request, ctx.deadline)
    else:  # a worker of its own, which refuses to import bandit with a plugin of the checkout (``worker.py``)
        from gatekeeper.checkers.security.pool import BanditPool

        own = BanditPool(ctx.tool_python, ctx.root)
        try:
            answer = own.discover(request, ctx.deadline)
        finally:
            own.close()
    if not answer.get("ok"):
        raise ToolError(str(answer.get("message") or "bandit file discovery failed"))
    plan = _plan(answer, config)
    if key:
        cache.write(folder, key, plancache.with_dirs(answer, ctx.root))
    return plan


def _plan(answer: Mapping[str, Any], config: str) -> ScanPlan:
    """The ``ScanPlan`` of discovery's answer; ``ToolError`` when it is not one."""
    from gatekeeper.checkers.security.scan import ScanPlan

    try:
        return ScanPlan(
            args=tuple(str(a) for a in answer["args"]),
            files=tuple(sorted({normalize_path(str(f)) for f in answer["files"]})),
            given={normalize_path(str(f)): str(f) for f in answer["files"]},
            version=str(answer["version"]),
            python=str(answer["python"]),
            config=config,
            ini=str(answer.get("ini") or ""),
            project=dict(answer.get("project") or {}),
        )
    except (KeyError, TypeError) as exc:
        raise ToolError(f"bandit file discovery printed an unexpected answer ({exc})") from None


def _narrowing(section: Mapping[str, Any], plan: ScanPlan, ctx: CheckContext, nosec: int) -> dict[str, Any]:
    """What the project's own bandit configuration left out of this scan, for the metrics and the HTML.

    A pull request can add a ``.bandit`` or ``[tool.bandit]`` that excludes files or skips tests;
    that is honoured (as bandit would) but never silent: the files it excludes are found by a
    second discovery without the project's configuration.
    """
    project = plan.project
    mode = str(section.get("project_config") or "honour")
    excluded: list[str] = []
    if project.get("exclude"):
        bare = {**section, "config": "", "project_config": "ignore"}
        everything = discover(
            bare, ctx, cached=(ctx.cache_dir / "security" if ctx.cache_dir is not None else None, ctx.tools.get("bandit"))
        )
        excluded = sorted(set(everything.files) - set(plan.files))
    return {
        "mode": mode,
        "files": [normalize_path(str(f)) for f in project.get("files") or []],
        "exclude": list(project.get("exclude") or []),
        "excluded_files": excluded,
        "skips": list(project.get("skips") or []),
        "tests": list(project.get("tests") or []),
        "options": dict(project.get("options") or {}),
        "nosec": nosec if mode == "honour" else 0,
    }


def _scan(pool: BanditPool, plan: ScanPlan, batches: Batches, deadline: float, keep: Callable[[str, FileScan], None]) -> None:
    """Scan ``batches`` with their bandit workers; ``keep(file, scan)`` gets each file's scan as its batch arrives."""

    def handle(batch: list[str], report: str) -> None:
        for f, scan in parse_output(report, batch).items():
            keep(f, scan)

    pool.scan(plan.args, plan.given, batches, handle, deadline)


def _keeper(tally: Tally, store: tuple[Path, Mapping[str, str]] | None) -> Callable[[str, FileScan], None]:
    """What to do with a fresh scan: cache it (with ``store``: cache folder, key per file), then add it
    to ``tally``; bandit's raw results are dropped once their batch is mapped to findings."""

    def keep(path: str, scan: FileScan) -> None:
        if store is not None:
            cache.write(store[0], store[1][path], scan.to_json())
        tally.add(path, scan)

    return keep


def parse_output(text: str, requested: Sequence[str]) -> dict[str, FileScan]:
    """Split one ``bandit -f json`` output into per-file scans; every requested file must be accounted for."""
    from gatekeeper.checkers.security.scan import RESULT_KEYS, FileScan, withheld

    try:
        data = json.loads(text)
        results: dict[str, list[dict[str, Any]]] = {}
        for r in data["results"]:
            item = withheld({k: v for k, v in r.items() if k != "filename"})  # never a password bandit quotes
            if not all(k in item for k in RESULT_KEYS):
                raise ValueError(f"a result lacks one of {', '.join(RESULT_KEYS)}")
            results.setdefault(normalize_path(str(r["filename"])), []).append(item)
        metrics = {normalize_path(k): v for k, v in data["metrics"].items() if k != "_totals"}
        errors = {normalize_path(str(e["filename"])): str(e.get("reason", "")) for e in data["errors"]}
        hidden = {normalize_path(str(k)): int(v) for k, v in (data.get("gatekeeper_baseline_hidden") or {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ToolError(f"bandit printed output that is not its JSON report ({exc}): {process.tail(text, 300)}") from None
    out: dict[str, FileScan] = {}
    missing = []
    for f in requested:
        if f not in metrics and f not in errors:
            missing.append(f)
            continue
        out[f] = FileScan(tuple(results.get(f, ())), metrics.get(f), errors.get(f), hidden.get(f, 0))
    if missing:
        raise ToolError(
            f"bandit did not report on {len(missing)} of the files it was given (e.g. {missing[0]}); "
            "check the exclude patterns of the bandit configuration"
        )
    return out


def normalize_path(name: str) -> str:
    """bandit's file name as a posix path relative to the root, without leading ``./`` (``fileio.tool_path``)."""
    from gatekeeper.fileio import tool_path

    return tool_path(name)


def _options_digest(plan: ScanPlan, root: Path) -> str:
    """What, besides a file itself, decides bandit's verdict on it: versions, options, config contents."""
    h = hashlib.sha256()
    args = list(plan.args)
    if "-x" in args:  # exclusions decide which files are scanned, not what a scan finds
        i = args.index("-x")
        del args[i : i + 2]
    from gatekeeper.checkers.security import pool

    # the worker's text decides how bandit is driven and its results read: a changed worker is a new scan
    worker = hashlib.sha256(pool._WORKER.read_bytes()).hexdigest()
    for part in (str(CACHE_VERSION), plan.version, plan.python, worker, json.dumps(args)):
        h.update(part.encode("utf-8") + b"\x1f")
    for name in _config_files(plan, keep_empty=True):
        if name:
            try:
                h.update((root / name).read_bytes())
            except OSError:
                h.update(b"(unreadable)")
        h.update(b"\x1f")
    return h.hexdigest()


def _refuse_outside(plan: ScanPlan, root: Path) -> None:
    """``ToolError`` naming the file when a file of bandit's configuration (``_config_files``: the
    ``.bandit`` file, the configfile or baseline it names, ``pyproject.toml``, the policy's ``config``)
    lies outside the project, by its name or through a link, as ruff's, mypy's and coverage.py's are
    refused: what bandit read there (``skips``, ``exclude_dirs``, a baseline's results) would decide
    the verdict from a file no reviewer sees, which the tests running beside it could write."""
    from gatekeeper.fileio import relative_to_root

    for name in _config_files(plan):
        if name and relative_to_root(root / name, root) is None:
            raise ToolError(
                f"bandit's configuration {name} lies outside the project (by its name or through a link); "
                "a configuration file a tool reads must be inside the root"
            )


def _config_files(plan: ScanPlan, keep_empty: bool = False) -> list[str | None]:
    """The files besides the scanned ones whose bytes decide bandit's verdict on a file: the policy's
    configuration, the ``.bandit`` file, the configfile a ``.bandit`` names (bandit loads it) and the
    baseline it names (bandit leaves out of a file's results what it lists); with ``keep_empty``, ""
    where there is none (the cache key's layout)."""
    named = [str(f) for f in plan.project.get("files") or []]
    baseline = str((plan.project.get("options") or {}).get("baseline") or "")
    return [name for name in dict.fromkeys((plan.config, plan.ini, *named, baseline)) if name or keep_empty]


def _cache_read(folder: Path, key: str) -> tuple[FileScan | None, int]:
    """The cached scan for ``key``, or None; an entry that fails any check is ignored (second value 1)."""
    from gatekeeper.checkers.security.scan import FileScan

    payload, rejected = cache.read(folder, key)
    if payload is None:
        return None, int(rejected)
    try:
        return FileScan.from_json(payload), 0
    except (ValueError, TypeError, AttributeError, KeyError):
        return None, 1


def _shard_bytes(ctx: CheckContext) -> int:
    """The least source a bandit process is started for: ``MIN_SHARD_BYTES`` when this check runs
    alone, ``BESIDE_OTHERS_SHARD_BYTES`` when other checks run beside it."""
    return BESIDE_OTHERS_SHARD_BYTES if ctx.checks_at_once > 1 else MIN_SHARD_BYTES


def _worth_two(root: Path, targets: Sequence[str], exclude: Sequence[str], share: int | None = None) -> bool:
    """A guess, before discovery, of whether the scan will want two workers: Python source of at
    least twice ``share`` (default ``MIN_SHARD_BYTES``) under ``targets`` (folders named in
    ``exclude`` left out).

    Only when to start the second worker's bandit import depends on it, never what is scanned: a
    wrong guess costs either that import for nothing (~0.1 s of CPU) or starting it after
    discovery. A tree too large to look at quickly (``SIZE_GUESS_ENTRIES``) counts as enough.
    """
    names = [str(p).strip().strip("/") for p in exclude]
    left, seen = 2 * (MIN_SHARD_BYTES if share is None else share), 0
    folders = []
    for target in targets:
        path = root / target
        if path.is_dir():
            folders.append(str(path))
        elif path.suffix in (".py", ".pyw"):
            left -= _size(path)
    while folders and left > 0:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    seen += 1
                    if seen > SIZE_GUESS_ENTRIES:
                        return True
                    if any(fnmatch.fnmatchcase(entry.name, n) for n in names):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    elif entry.name.endswith((".py", ".pyw")) and entry.is_file(follow_symlinks=False):
                        left -= entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return left <= 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
