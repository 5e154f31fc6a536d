"""Lint with ruff: every ``ruff check`` diagnostic becomes a finding.

How a run goes:

1. The ruff binary is the one the ``ruff`` package of the tool interpreter ships (gatekeeper's own,
   or ``gate.tool_python``), never the project's: ``CheckContext.tool`` refuses a ruff inside the
   project root or installed from it. ruff never executes the code it checks.
2. ruff finds the project's configuration as ``ruff check`` run by hand in the root does: the
   root's ``.ruff.toml``, ``ruff.toml`` or ``[tool.ruff]`` in ``pyproject.toml`` (ruff's order), a
   nested one for its own folder, the target version from ``requires-python``. Before ruff runs,
   every configuration file in the project and its whole ``extend`` chain is checked to lie inside
   the root (``gatekeeper.toolconfig``); without a configuration in the root, ruff runs
   ``--isolated`` with its defaults (never one from a parent folder or the user's). ruff runs with
   ``--no-fix --no-unsafe-fixes --no-cache``: whatever the configuration says, it writes nothing.
3. ``ruff check --show-files`` lists the files ruff would check (its excludes applied), while
   ``ruff --version`` (asked once per binary, then cached) runs beside it; with ``--shard I/N``
   only a share of the files, balanced by bytes, is kept. ``--show-files`` does not apply the
   project's ``lint.exclude``: where a configuration sets it, one more run (``--force-exclude
   --verbose``, ``listing._linted``) tells which of the listed files ruff lints, as ``ruff check .`` does.
   A configuration file git does not track in a folder above a listed file (a ``ruff.toml`` in a
   folder git ignores, read with ``respect-gitignore = false``) is ruff's configuration as much as a
   tracked one: it keys the cache and is reported (``listing.untracked_configs``).
4. Files whose result is cached (keyed by content, path, ruff's version, the bytes of every
   configuration file and the tree's layout, ``layout.digest``: which files exist, which are executable;
   a cold run's results kept in one entry, ``source.run_per_file``) are not
   checked again; the rest go to ``ruff check --output-format json`` (with nothing of this ruff's
   cached, that run starts on the tracked Python files beside the listing, but those the project's
   excludes look to leave out: ``ahead.py``, the second run below beside it on those with a
   suppression comment), and at the same time those of them with a suppression comment to a second run with
   ``--ignore-noqa`` (what the comments hid). Their JSON reports become results by file, and
   those findings (``diagnostics.py``).

ruff runs that do not need each other's output run at once, each in a thread of its own
(``--version`` beside the listing, the ``--ignore-noqa`` run and the second listing below beside
the check); each is waited for, and a failure of any of them (a ruff error, an exit code ruff does
not give for findings, output that is not its JSON) fails the check, after the others ended.

Everything in the project that narrows the check is a ``Narrowing`` record (``narrowing.py``):
each configuration file of each ``extend`` chain and its rule and file settings, the tracked
Python files ruff did not check (the project's excludes told apart from ruff's defaults by a
second ``--show-files --isolated``, run beside step 4 and only when a configuration is in force
and a tracked Python file was left out), and every suppression comment with the diagnostics it hid.
With ``project_config = "ignore"`` ruff runs ``--isolated --ignore-noqa --no-respect-gitignore``:
its defaults only, no project configuration, no suppression comment, no ``.gitignore``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gatekeeper import process
from gatekeeper.background import in_background
from gatekeeper.checkers.base import OFF_BY_DEFAULT, PROJECT_CONFIG, CheckContext, CheckerBase, Display, honours_project
from gatekeeper.checkers.lint import pinned, presentation, venvs
from gatekeeper.checkers.lint.ruffargs import MAX_FILES_PER_RUN, READ_ONLY
from gatekeeper.checkers.lint.ruffargs import refused as _refused
from gatekeeper.errors import ToolError
from gatekeeper.findings import CheckResult, decide_status
from gatekeeper.options import Option

if TYPE_CHECKING:
    from gatekeeper.checkers.lint.ahead import FilesRun
    from gatekeeper.toolorigin import ToolOrigin

# the run path (the tracked files, the configuration chain, narrowing, the cache) is imported where
# it is used, in the check's own thread: loading the checker needs none of it

CHECK = presentation.CHECK
CACHE_VERSION = 6
INSTALL = "pip install 'gatekeeper[lint]' into gatekeeper's environment, or set gate.tool_python"
#: ruff's binary as its package finds it (``find_ruff_bin`` moved from ``ruff.__main__`` to ``ruff`` in 0.5)
_PROBE = (
    "import json\ntry:\n    from ruff import find_ruff_bin\nexcept ImportError:\n    from ruff.__main__ import find_ruff_bin\n"
    "print(json.dumps({'bin': str(find_ruff_bin())}))"
)
T = TypeVar("T")
U = TypeVar("U")


class LintChecker(CheckerBase):
    """Runs ``ruff check`` with the project's configuration and maps its diagnostics to findings."""

    name = CHECK
    description = "lint (ruff)"
    shardable = True
    options: Mapping[str, Option] = {
        "enabled": OFF_BY_DEFAULT,
        "fail_on": Option(
            "str_list", ["ALL"], 'rule code prefixes whose findings block, e.g. ["E", "F", "B"]; "ALL": every rule'
        ),
        "max_findings": Option("int", 0, "blocking findings tolerated before the check fails", minimum=0),
        "project_config": PROJECT_CONFIG,
    }

    tool = presentation.TOOL
    run_imports = (
        "gatekeeper.toolconfig", "gatekeeper.checkers.source", "gatekeeper.checkers.lint.ahead",
        "gatekeeper.checkers.lint.listing", "gatekeeper.checkers.lint.narrowing", "gatekeeper.checkers.lint.diagnostics",
        "gatekeeper.checkers.lint.isortcomments", "gatekeeper.checkers.lint.layout",
    )  # fmt: skip

    def display(self, result: CheckResult) -> Display:
        """Files checked, findings against the limit, fixable findings."""
        return presentation.display(result)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Check (or reuse cached checks of) the files ruff would check; one finding per diagnostic."""
        from gatekeeper import toolconfig
        from gatekeeper.checkers import source
        from gatekeeper.checkers.lint import ahead as tree
        from gatekeeper.checkers.lint import isortcomments, layout, listing
        from gatekeeper.checkers.lint import narrowing as narrowed
        from gatekeeper.checkers.lint.diagnostics import to_findings, valid

        # git lists the tracked files (a process: no thread of gatekeeper's) while ruff is located
        git = source.start_tracked(ctx.root, ctx)
        try:
            tool = ctx.tool("ruff", "ruff", INSTALL, binary=lambda found: _binary(ctx, found))
            candidates = _candidates(ctx, git)
        finally:
            if git is not None:
                git.close(kill=True)
        ruff = tool.path
        honour = honours_project(section)
        empty_ok = bool(section.get("allow_empty"))
        configured = listing.configure(ctx, honour, candidates)
        cold = not tree.ran_before(ctx, tool, configured.config_args)
        # with nothing of this ruff's cached, ruff checks the tracked Python files now, beside the listing
        early = tree.named(candidates, ctx.root, configured.configs) if cold and ctx.shard is None else []
        ahead = _early_runs(ctx, ruff, configured.config_args, early, honour)
        try:
            version = _known_version(ctx, ruff)
            if version:
                plan = listing.plan(ctx, ruff, configured, empty_ok)
            else:  # ruff --version (asked once per binary) runs beside the listing: neither waits for the other
                plan, version = _together(
                    lambda: listing.plan(ctx, ruff, configured, empty_ok), lambda: _version(ctx, ruff), "version"
                )
        except BaseException:
            _end(ahead)
            raise
        configs, config_files, config_args, files_all = plan.configs, plan.config_files, plan.config_args, plan.files
        present, looked = listing.untracked_configs(ctx.root, files_all, candidates)
        if configs and present:  # untracked configuration ruff reads too: it keys the cache and is reported
            configured = listing.configure(ctx, honour, [*candidates, *present])
            configs, config_files = configured.configs, configured.config_files
        ctx.reading([*files_all, *config_files, *looked])  # before their bytes are read for a key or by ruff
        sources = source.Sources(ctx.root)

        def commented(f: str) -> bool:
            return honour and narrowed.ANY.search(sources.data(f)) is not None

        def neutral(f: str) -> bytes | None:  # the file's text without its isort action comments, if it has any
            return isortcomments.without_actions(f, sources.data(f))

        # the tool's origin is part of the key: a result another copy of "ruff x.y" wrote is not this one's;
        # so is the tree's layout, which some rules read beyond the file itself
        opts = source.options_digest(
            CACHE_VERSION, version, tool.describe(), config_args, toolconfig.digest(ctx.root, config_files),
            layout.digest(ctx.root, candidates, files_all, layout.src_roots(ctx.root, configs)),
        )  # fmt: skip
        per_file_tool = source.PerFileTool(
            CHECK,
            opts,
            valid,
            lambda chunk: _check(ctx, ruff, config_args, chunk, (commented, neutral, honour), ahead),
            MAX_FILES_PER_RUN,
        )
        skipped = _tracked_but_unchecked(ctx, files_all)
        try:
            if configs and skipped:  # the second listing that tells the project's excludes from ruff's, beside the check
                per_file, by_defaults = _together(
                    lambda: source.run_per_file(ctx, per_file_tool, files_all, sources),
                    lambda: listing.show_files(ctx, ruff, ["--isolated"]),
                    "excludes",
                )
            else:
                per_file, by_defaults = source.run_per_file(ctx, per_file_tool, files_all, sources), None
        finally:
            _end(ahead)
        if cold:
            tree.say_ran(ctx, tool, config_args)
        files, diagnostics = per_file.files, per_file.results
        records = narrowed.config_records(ctx.root, configs)
        ignore_files = [f for f in candidates if f.rpartition("/")[2] == ".ignore"] if honour else []
        records += narrowed.excluded_records(*_dropped(skipped, by_defaults), ignore_files)
        if honour:
            records += narrowed.comment_records(files, diagnostics, sources)
            records += isortcomments.records(files, diagnostics, sources, isortcomments.rules_on(ctx, ruff, config_args))
        reported = {f: [d for d in ds if not d.get("suppressed")] for f, ds in diagnostics.items()}
        not_applied = {}
        if ctx.shard is not None and section.get("max_findings"):
            # a shard sees only its share of the findings, so it cannot tell whether the whole run
            # stays within the tolerance: every matching finding blocks (fail closed)
            section = {**section, "max_findings": 0}
            not_applied = {"max_findings_not_applied": "a sharded run cannot count every shard's findings"}
        prior: dict[str, str] = {}
        findings = to_findings(section, reported, sources, prior)
        codes: dict[str, int] = {}
        for finding in findings:
            codes[finding.rule_id] = codes.get(finding.rule_id, 0) + 1
        with_findings = len({f.location.path for f in findings if f.location is not None})
        summary = f"{len(findings):,} finding{'s' if len(findings) != 1 else ''} in " + (
            f"{with_findings:,} of {len(files):,} file{'' if len(files) == 1 else 's'}"
            if findings
            else f"{len(files):,} file{'' if len(files) == 1 else 's'}"
        )
        pin, said = pinned.note(ctx, version)
        notes = narrowed.config_notes(ctx.root, configs) if honour else []
        summary += said + "".join(f"; {note}" for note in notes) + venvs.note(ctx.root, files)
        metrics: dict[str, Any] = {
            "pre_commit_ruff": pin,
            "files_checked": len(files),
            "files_with_findings": with_findings,
            "findings": len(findings),
            "suppressed": sum(1 for ds in diagnostics.values() for d in ds if d.get("suppressed")),
            "fixable": sum(1 for f in findings if f.properties.get("fix")),
            "by_rule": dict(sorted(codes.items())),
            "config": next((c for c in configs if "/" not in c), None),  # the root's: a nested one configures its folder alone
            "nested_configs": [c for c in configs if "/" in c],
            "config_files": list(config_files),
            "project_config": "honour" if honour else "ignore",
            "tool_source": tool.source,
            "command": " ".join(["ruff", "check", "--output-format", "json", *READ_ONLY, *config_args, "."]),
            "thresholds": {
                "fail_on": list(section.get("fail_on") or ["ALL"]),
                "max_findings": int(section.get("max_findings", 0)),
            },
        }
        metrics.update(not_applied)
        metrics.update(per_file.metrics(ctx.shard))
        return CheckResult(
            name=CHECK,
            status=decide_status(findings),
            summary=summary,
            tool_name="ruff",
            tool_version=version,
            metrics=metrics,
            findings=tuple(findings),
            narrowing=tuple(records),
            prior_prints=prior,
        )


def _early_runs(
    ctx: CheckContext, ruff: str, config_args: Sequence[str], early: Sequence[str], honour: bool
) -> tuple[FilesRun | None, FilesRun | None]:
    """The runs started before the listing on the tracked files ``early`` (``ahead.py``): ``ruff check``
    on them, and, when the project's comments are honoured, the ``--ignore-noqa`` run on those of them
    with a suppression comment (for a small project it was the last run to end, started only once the
    listing had)."""
    from gatekeeper.checkers.lint import ahead as tree
    from gatekeeper.checkers.lint import narrowing as narrowed

    if len(early) > MAX_FILES_PER_RUN or not any(f.endswith(tree.SUFFIXES) for f in early):
        return None, None
    first = tree.FilesRun(ctx, _report_args(ruff, config_args), early)
    commented = [f for f in early if honour and f.endswith(tree.SUFFIXES) and narrowed.ANY.search(tree.text(ctx.root, f))]
    second = tree.FilesRun(ctx, _report_args(ruff, _unlifted(config_args)), commented) if commented else None
    return first, second


def _end(runs: Sequence[FilesRun | None]) -> None:
    """Wait for each of the early ``runs`` to end."""
    for run in runs:
        if run is not None:
            run.end()


def _unlifted(config_args: Sequence[str]) -> list[str]:
    """The flags of the run that disregards the suppression comments."""
    return [*config_args, *(() if "--ignore-noqa" in config_args else ("--ignore-noqa",))]


def _together(here: Callable[[], T], there: Callable[[], U], name: str) -> tuple[T, U]:
    """``here()`` in this thread while ``there()`` runs in a thread of its own (named after this one
    and ``name``): both values once both ended. When either fails, its error is raised (``here``'s
    first) only after the other ended too: no ruff run is left behind, and no failure is hidden."""
    wait = in_background(there, f"{threading.current_thread().name}-{name}")
    try:
        mine = here()
    except BaseException:
        with contextlib.suppress(BaseException):  # the first failure is the one raised
            wait()
        raise
    return mine, wait()


def _dropped(skipped: Sequence[str], by_defaults: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """Of the tracked ``.py``/``.pyi`` files ruff left out (``skipped``), those its defaults check (they
    are in ``by_defaults``, what ``--show-files --isolated`` lists) but the project's settings drop,
    and those its defaults drop too; with no configuration in force (``by_defaults`` None), all are the latter."""
    if by_defaults is None:
        return [], list(skipped)
    listed = set(by_defaults)
    return [f for f in skipped if f in listed], [f for f in skipped if f not in listed]


def _candidates(ctx: CheckContext, git: process.Started | None = None) -> list[str]:
    """The files that may be ruff configuration: the tracked ones (``git``: their listing, begun
    earlier), or (outside git) every file of the tree."""
    from gatekeeper import toolconfig
    from gatekeeper.checkers import source

    try:
        return source.tracked_files(ctx.root, ctx, git)
    except ToolError:
        found = []
        for folder, dirs, names in os.walk(ctx.root):
            dirs[:] = [d for d in dirs if d != ".git"]
            rel = Path(folder).relative_to(ctx.root)
            found += [(rel / n).as_posix() for n in names if n in toolconfig.RUFF_CONFIG_NAMES]
        return found


def _tracked_but_unchecked(ctx: CheckContext, checked: Sequence[str]) -> list[str]:
    """Tracked ``.py``/``.pyi`` files ruff left out (its excludes, ``.gitignore``); empty outside git."""
    from gatekeeper.checkers import source

    try:
        tracked = source.tracked_files(ctx.root, ctx)
    except ToolError:
        return []
    seen = set(checked)
    return [f for f in tracked if f.endswith((".py", ".pyi")) and f not in seen]


def _binary(ctx: CheckContext, found: ToolOrigin) -> str:
    """The binary the ``ruff`` package of ``found.python`` ships (asked once the package is known not
    to be the checkout's): found here for gatekeeper's own interpreter, else by a probe."""
    python = found.python
    if python == sys.executable:
        ruff = _binary_here(found.path)
        if not ruff:
            raise ToolError(f"the ruff package in {python} has no ruff binary beside it ({INSTALL})")
        return ruff
    answer = process.json_object(ctx.run([python, "-I", "-c", _PROBE], timeout=60), f"looking for the ruff binary in {python}")
    ruff = str(answer.get("bin") or "")
    if not ruff:
        raise ToolError(f"the ruff package in {python} did not name its binary")
    return ruff


def _binary_here(package_file: str) -> str:
    """Where ruff's own ``find_ruff_bin`` (ruff 0.5 and later) finds the binary when run by this
    interpreter, its package being ``package_file`` (``.../ruff/__init__.py``): the first existing of
    this interpreter's scripts folder, the base prefix's, ``bin`` above a ``lib/python*/site-packages/ruff``
    package, ``bin`` beside a ``ruff`` package, the user's scripts folder; "" when none holds it.
    https://github.com/astral-sh/ruff/blob/main/python/ruff/_find_ruff.py"""
    import fnmatch

    exe = "ruff" + (sysconfig.get_config_var("EXE") or "")
    package = Path(os.path.dirname(package_file)) if package_file else None
    parts = package.parts if package is not None else ()
    targets = [sysconfig.get_path("scripts"), sysconfig.get_path("scripts", vars={"base": sys.base_prefix})]
    layout = ("lib", "python*", "site-packages", "ruff")
    above = len(parts) > 4 and all(fnmatch.fnmatch(p, m) for p, m in zip(parts[-4:], layout, strict=True))
    targets.append(os.path.join(*parts[:-4], "bin") if above else "")
    targets.append(os.path.join(*parts[:-1], "bin") if len(parts) > 1 and parts[-1] == "ruff" else "")
    targets.append(sysconfig.get_path("scripts", scheme=sysconfig.get_preferred_scheme("user")))
    for target in dict.fromkeys(t for t in targets if t):
        path = os.path.join(target, exe)
        if os.path.isfile(path):
            return path
    return ""


def _version_key(ruff: str) -> str:
    """The cache key of the binary ``ruff``'s version: its identity (path, device, inode, size,
    modification and change times), which any replacement or rewrite of it changes; "" when it cannot be stat'ed."""
    from gatekeeper.checkers import cache

    stamp = cache.file_stamp(ruff)
    return cache.cache_key("ruff --version", stamp) if stamp[1] is not None else ""


def _known_version(ctx: CheckContext, ruff: str) -> str:
    """The version ``ruff --version`` of the binary ``ruff`` said before (cached), or ""."""
    from gatekeeper.checkers import cache

    key = _version_key(ruff)
    stored, _ = cache.read(ctx.cache_dir, key) if key else (None, False)
    return stored if isinstance(stored, str) else ""


def _version(ctx: CheckContext, ruff: str) -> str:
    """``ruff --version`` of the binary ``ruff``, asked once per binary: the answer is cached under
    the file's identity (``_version_key``)."""
    from gatekeeper.checkers import cache

    known = _known_version(ctx, ruff)
    if known:
        return known
    key = _version_key(ruff)
    done = ctx.run([ruff, "--version"], timeout=60)
    if done.returncode != 0:
        raise ToolError(f"ruff --version failed (exit {done.returncode}): {process.tail(done.stderr)}")
    version = done.stdout.strip().removeprefix("ruff ").strip()
    if key and version:
        cache.write(ctx.cache_dir, key, version)
    return version


def _check(  # noqa: PLR0913  # and where the first run's results may come from
    ctx: CheckContext,
    ruff: str,
    config_args: Sequence[str],
    files: Sequence[str],
    comments: tuple[Callable[[str], bool], Callable[[str], bytes | None], bool],
    ahead: tuple[FilesRun | None, FilesRun | None] = (None, None),
) -> dict[str, list[dict[str, Any]]]:
    """ruff's diagnostics for ``files``, and those the comments hid. ``comments`` is (``commented``,
    ``neutral``, ``honour``): the ``commented`` files are checked again with ``--ignore-noqa``, and
    each file ``neutral`` gives a text for (the file without its isort action comments, which
    ``--ignore-noqa`` does not lift) is checked again as that text; what only those runs report is
    marked ``suppressed`` (the isort comments' I001/I002 also ``isort``), or, when the project's
    comments are not honoured (``honour`` false), is a diagnostic like any other: the text without
    them is judged. ``ahead``: the same runs started before the listing on the tracked files
    (``ahead.py``, ``_early_runs``): each gives the results of the files it was named on, and only the others are
    checked by name now."""
    from gatekeeper.checkers.lint.diagnostics import identity, parse_output
    from gatekeeper.checkers.lint.isortcomments import RULES, stdin_report

    commented, neutral, honour = comments

    def first() -> dict[str, list[dict[str, Any]]]:
        found = ahead[0].results(files) if ahead[0] is not None else {}
        rest = [f for f in files if f not in found]
        if rest:
            found.update(parse_output(ctx.root, _report(ctx, ruff, config_args, rest)))
        return found

    again = [f for f in files if commented(f)]
    texts = {f: text for f in files if (text := neutral(f)) is not None}
    if not again and not texts:
        return first()
    unlifted = _unlifted(config_args)

    def second() -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
        noqa = ahead[1].results(again) if ahead[1] is not None else {}
        rest = [f for f in again if f not in noqa]
        if rest:
            noqa.update(parse_output(ctx.root, _report(ctx, ruff, unlifted, rest)))
        return noqa, {f: stdin_report(ctx, ruff, unlifted, f, text) for f, text in texts.items()}

    # the runs are independent: the second ones (usually a few files) run beside the first, and the
    # first's report is read while they may still run
    found, (unsuppressed, unsorted) = _together(first, second, "noqa")
    kept = {f: {identity(d) for d in found.get(f, [])} for f in [*again, *texts]}
    # of the second run only what the first did not report is kept (the rest is still checked to be ruff's)
    hidden = {f: new for f, ds in unsuppressed.items() if f in again and (new := [d for d in ds if identity(d) not in kept[f]])}
    for f, ds in hidden.items():
        kept[f] |= {identity(d) for d in ds}
        found.setdefault(f, []).extend({**d, "suppressed": True} for d in ds)
    mark = {"suppressed": True, "isort": True} if honour else {}
    for f, report in unsorted.items():
        known = kept[f]

        def new_isort(g: str, d: Mapping[str, Any], f: str = f, known: set[tuple[Any, ...]] = known) -> bool:
            return g == f and d.get("code") in RULES and identity(d) not in known

        found.setdefault(f, []).extend({**d, **mark} for d in parse_output(ctx.root, report, keep=new_isort).get(f, []))
    return found


def _report_args(ruff: str, config_args: Sequence[str]) -> list[str]:
    """``ruff check --output-format json`` with the check's flags, up to the files it is named on."""
    return [ruff, "check", "--output-format", "json", *READ_ONLY, "--exit-zero", *config_args, "--"]


def _report(ctx: CheckContext, ruff: str, config_args: Sequence[str], files: Sequence[str]) -> str:
    """``ruff check --output-format json`` of ``files``: its JSON report, unread; ``ToolError`` when ruff fails."""
    done = ctx.run([*_report_args(ruff, config_args), *(str(ctx.root / f) for f in files)], cwd=ctx.root)
    if done.returncode != 0:
        raise ToolError(f"ruff check failed (exit {done.returncode}): {_refused(done)}")
    return done.stdout
