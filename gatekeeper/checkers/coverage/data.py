"""coverage.py's own data (``.coverage``): the test run's (``testrun``) read from its private folder,
parallel files combined in a private copy, data git tracks refused, and the analysis by coverage.py's
reporting code in a child process (``probe.py``), cached by its inputs.

Combining and analysing is one probe process; with ``checks.coverage.run`` it is started with the
tests (``ProbeAhead``), so that it has imported coverage.py by the time their data is there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from gatekeeper import process
from gatekeeper.checkers import cache
from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.coverage import filecache, freshness, narrowing, packages
from gatekeeper.checkers.coverage.hints import (
    analysis_error,
    dropped_by_no_cov,
    failed_before_measuring,
    plugin_paths,
    pytest_cov_addopts,
)
from gatekeeper.checkers.coverage.report import CoverageReport, FileCoverage, relative_path
from gatekeeper.checkers.coverage.testrun import TestRun, last_lines
from gatekeeper.errors import ToolError
from gatekeeper.fileio import RootRelative

_PROBE = Path(__file__).with_name("probe.py")


class ProbeAhead:
    """``probe.py`` started with the tests (``checks.coverage.run``): it imports coverage.py while they
    run, then waits for its one request on stdin; it reads the configuration and the data only then.

    A context manager: on leaving, a probe still running (never asked, or its answer not waited for)
    is killed with its process group and reaped. Like every tool, it has its own process group, the
    child environment without the signing key, and is tracked for ``process.kill_all``.
    """

    def __init__(self, ctx: CheckContext) -> None:
        self._ctx = ctx
        self._run = process.Started(_probe_args(ctx), cwd=ctx.root, prefix="gatekeeper-coverage-")

    @classmethod
    def start(cls, ctx: CheckContext) -> ProbeAhead | None:
        """The probe in the tool interpreter, started now; None when it cannot be (the interpreter is
        missing or refused, coverage.py comes from the checkout): the probe run afterwards then
        says why, at the point it always did."""
        try:
            ctx.vet_tool("coverage", "coverage")  # never the checkout's coverage.py
            ctx.refuse_program(ctx.tool_python)  # as ``ctx.run`` vets the program it runs
            return cls(ctx)
        except ToolError:
            return None

    def __enter__(self) -> ProbeAhead:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close(kill=True)

    def ask(
        self,
        request: Mapping[str, Any],
        plugins: Sequence[str],
        stdin: bytes | None = None,
        announced: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Its JSON answer to ``request`` (``stdin``: what follows the request line), waited for until
        the check's deadline (then it is killed: ``ToolTimeout``); it ends with its answer.
        ``announced``: given the line the probe prints ahead of its answer (``"announce"``)."""
        line = json.dumps(_full_request(ctx := self._ctx, request, plugins)).encode("utf-8") + b"\n"
        late = f"the coverage.py analysis ({ctx.tool_python})"
        done = self._run.finish(ctx.remaining(), late, line + (stdin or b""), announced)
        return process.json_object(done, "coverage.py analysis")

    def close(self, *, kill: bool = False) -> tuple[int, str]:
        """End it (killed with its group when ``kill``) and reap it; its exit code and stderr."""
        return self._run.close(kill=kill)


class EarlyLocate:
    """The packages ``[run] source`` / ``source_pkgs`` name, located (``packages.locations``) from the
    configuration the probe announces while it goes on to combine and analyse the data, as the
    analysis answer would have them located after it; used when that answer names the same packages
    (``locate``), located again when no configuration was announced.

    ``settle`` (``ctx.settled``; None when the policy lets coverage.py plugins run in the analysis)
    is called once nothing of the project's environment runs any more: at once when the announced
    configuration names no package (a ``locator`` started with the tests killed first), else when
    the locating has ended. An analysis that then names
    other packages than the announcement (its configuration changed while it ran) is not located
    again: ``changed`` says so, and the check fails closed on it. A context manager: on leaving, a
    locating still under way is waited for, so nothing started in the project's environment
    outlives the check's use of it."""

    def __init__(
        self, ctx: CheckContext, settle: Callable[[], None] | None = None, locator: packages.Locator | None = None
    ) -> None:
        self._ctx = ctx
        self._settle = settle
        self._locator = locator  # started with the tests: it answers the announced packages
        self._names: list[str] | None = None  # None: nothing announced
        self._found: Callable[[], dict[str, list[Path]]] | None = None
        self.changed = ""

    def start(self, line: str) -> None:
        """Locate the packages the announced configuration (``line``) names, in a thread of its own."""
        from gatekeeper.background import in_background

        try:
            said = json.loads(line)
            names = narrowing.source_packages(self._ctx.root, said["narrowing"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return  # not an announcement: the answer's configuration is located after it, as ever
        if self._names is not None:
            return
        self._names = names
        if names:
            self._found = in_background(lambda: self._located(names), "gatekeeper-coverage-locate")
            return
        if self._locator is not None:  # not needed: the project's interpreter it runs ends first
            self._locator.close()
        if self._settle is not None:
            self._settle()

    def _located(self, names: Sequence[str]) -> dict[str, list[Path]]:
        try:
            return self._locator.locations(names) if self._locator is not None else packages.locations(self._ctx, names)
        finally:
            if self._settle is not None:
                self._settle()

    def locate(self, names: Sequence[str]) -> Mapping[str, Sequence[Path]]:
        """Where the project's environment imports ``names`` from: the early answer for the same names."""
        if self._names is None:
            return packages.locations(self._ctx, names)
        if list(names) != self._names or self._found is None:
            self.changed = (
                "the coverage configuration changed while coverage.py analysed the run: it named the packages "
                f"{', '.join(self._names) or '(none)'} for [run] source, then {', '.join(names) or '(none)'}; "
                "something the tests left running may be writing into the checkout"
            )
            raise ToolError(self.changed)
        return self._found()

    def __enter__(self) -> EarlyLocate:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._found is not None:
            with contextlib.suppress(Exception):  # its answer, or failure, was not asked for
                self._found()


def read_run_data(  # noqa: PLR0913  # and the processes started with the tests
    ctx: CheckContext,
    private: Path,
    tests: TestRun,
    plugins: Sequence[str],
    ahead: ProbeAhead | None = None,
    locator: packages.Locator | None = None,
) -> CoverageReport:
    """The data the test run wrote into ``private``: its parallel files combined there and analysed,
    by ``ahead`` (the probe started with the tests) when there is one; ``locator``: the package
    locator started with the tests (``packages.Locator``)."""
    produced = sorted(p.name for p in private.glob(".coverage*") if p.is_file())
    if not produced:
        raise ToolError(
            f"the test command {' '.join(tests.command)} (checks.coverage.run) exited with {tests.returncode} and "
            "wrote no coverage data (looked for .coverage and parallel .coverage.* files in its private data folder); "
            f"the last lines of its output:\n{last_lines(tests.output) or '(no output)'}"
        )
    data_file = str(private / ".coverage")
    request = {"mode": "combine", "data_file": data_file, "data_paths": [str(private)], "append": True, "analyse": True}
    # with no coverage.py plugin allowed, only coverage.py's analysis runs once the packages are
    # located: the checkout may be compared meanwhile (``ctx.settled``)
    early = EarlyLocate(ctx, None if plugins else ctx.settled, locator)
    with early:
        if ahead is not None:
            answer = _analyse(
                ctx, {**request, "announce": True}, plugins, lambda req, stdin: ahead.ask(req, plugins, stdin, early.start)
            )
        else:
            answer = _analyse(ctx, request, plugins)
        if not answer.get("ok"):  # the private folder is gone when the reader sees the message
            answer = {**answer, "message": _run_named(str(answer.get("message", "")), data_file)}
        _refuse_pytest_cov(ctx.root, tests, answer)
        note = _unmeasured_workers(tests, len(produced))
        if note and answer.get("kind") == "empty" and not answer.get("ok"):  # the workers ran every test, unmeasured
            raise ToolError(f"{answer.get('message')}: {note}")
        if answer.get("kind") == "empty" and tests.returncode != 0 and not pytest_cov_addopts(ctx.root, tests.command):
            message = str(answer.get("message"))
            raise ToolError(failed_before_measuring(ctx.root, tests.command, tests.returncode, message))
        report = _report(ctx, answer, ran=True, locate=early.locate, command=tests.command)
        if early.changed:
            raise ToolError(early.changed)
    parallel = sum(1 for name in produced if name != ".coverage")
    label = "checks.coverage.run" + (f" ({parallel} parallel data files combined)" if parallel else "")
    return dataclasses.replace(report, data_file=label, note=note)


def _refuse_pytest_cov(root: Path, tests: TestRun, answer: Mapping[str, Any]) -> None:
    """An error when pytest-cov measured the tests in place of ``coverage run``: the data ``coverage
    run`` saved last then holds only what ran before pytest-cov started (backports.tarfile's
    pytest-enabler adds --cov: 15% of its module against the 74% pytest-cov measures). An empty data
    file under ``--cov`` in the addopts gatekeeper reads keeps the error that names them."""
    if not (tests.counts or {}).get("pytest_cov"):
        return
    where = pytest_cov_addopts(root, tests.command)
    if where and answer.get("kind") == "empty" and not answer.get("ok"):
        return
    given = (
        f"the project's pytest configuration ({where}) adds --cov"
        if where
        else ("--cov came from no addopts gatekeeper reads: the command, PYTEST_ADDOPTS or a plugin such as pytest-enabler")
    )
    raise ToolError(
        f"pytest-cov measured the test command {' '.join(tests.command)} (checks.coverage.run) in place of "
        f"`coverage run` ({given}): the data `coverage run` saved over pytest-cov's holds only what ran before "
        "pytest-cov started, not the tests' coverage. Pass --no-cov to pytest in checks.coverage.run, or leave "
        "checks.coverage.run empty and run the tests as the project does (`python -m pytest`: pytest-cov writes "
        "the data)" + dropped_by_no_cov(root, tests.command)
    )


def _unmeasured_workers(tests: TestRun, written: int) -> str:
    """What to say when pytest-xdist ran the tests in worker processes that wrote no coverage data
    (``coverage run`` measures its own process; each measured worker writes a data file of its own,
    beside the controller's): the figures are then those of the controller alone."""
    workers = int((tests.counts or {}).get("workers", 0))
    if not workers or written > workers:
        return ""
    return (
        f"{workers - written + 1} of the {workers} pytest-xdist workers that ran the tests wrote no coverage data "
        '(coverage run measures its own process: set [run] patch = ["subprocess"], coverage.py 7.10 and later, '
        "to measure them, or run without -n)"
    )


def probe(
    ctx: CheckContext, request: Mapping[str, Any], plugins: Sequence[str] = (), stdin: bytes | None = None
) -> dict[str, Any]:
    """Run ``probe`` in the root with the tool interpreter and return its JSON answer.

    ``plugins``: the coverage.py plugins the policy allows (``checks.coverage.plugins``), imported
    from the project's environment, whose site-packages folders follow the tool interpreter's own.
    """
    full = _full_request(ctx, request, plugins)
    ctx.vet_tool("coverage", "coverage")  # never the checkout's coverage.py
    done = ctx.run([*_probe_args(ctx), json.dumps(full)], stdin=stdin)
    return process.json_object(done, "coverage.py analysis")


def _probe_args(ctx: CheckContext) -> list[str]:
    """The probe in the tool interpreter, isolated (``-I``: the checkout is not on ``sys.path``)."""
    return [ctx.tool_python, "-I", "-c", _PROBE.read_text(encoding="utf-8")]


def _full_request(ctx: CheckContext, request: Mapping[str, Any], plugins: Sequence[str]) -> dict[str, Any]:
    """``request`` with the plugins the policy allows and the folders they are imported from."""
    return {**request, "allowed_plugins": list(plugins), "plugin_paths": plugin_paths(ctx) if plugins else []}


def parallel_files(ctx: CheckContext, data_file: Path) -> list[Path]:
    """The parallel data files next to ``data_file`` (``.coverage.*``), those tracked by git refused."""
    found = sorted(p for p in data_file.parent.glob(f"{data_file.name}.*") if p.is_file() and not p.is_symlink())
    if found:
        refuse_tracked(ctx, found)
    return found


#: the first coverage.py whose reporting commands (``coverage report``, ``json``, ``xml``…) combine
#: the parallel data files beside the data file into it before reporting
#: (https://github.com/coveragepy/coveragepy/pull/2162)
REPORT_COMBINES = (7, 14)


def report_combines(version: str) -> bool:
    """Whether ``coverage report`` of coverage.py ``version`` reads the parallel data files beside the data file."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return match is not None and (int(match[1]), int(match[2])) >= REPORT_COMBINES


def combine_private(  # noqa: PLR0913  # the keyword says whether the data file joins its parallel files
    ctx: CheckContext,
    original: Path,
    parallel: Sequence[Path],
    private: Path,
    plugins: Sequence[str],
    *,
    with_original: bool = False,
) -> CoverageReport:
    """Combine copies of the parallel data files of ``original`` in ``private`` and analyse the result
    (the user's files stay as they are). ``with_original``: ``original`` exists and its data is
    combined with theirs, as ``coverage report`` of coverage.py 7.14 and later does."""
    name = original.name
    for path in parallel:
        shutil.copyfile(path, private / path.name)
    data_file = str(private / name)
    if with_original:
        shutil.copyfile(original, data_file)
    request = {"mode": "combine", "data_file": data_file, "data_paths": [str(private)], "append": with_original, "analyse": True}
    answer = _analyse(ctx, request, plugins)
    if not answer.get("ok") and answer.get("stage") == "combine" and str(answer.get("kind")) == "data":
        raise ToolError(f"{answer.get('message') or 'coverage combine failed'} (parallel data files in {ctx.root})")
    report = _report(ctx, answer)
    rel = relative_path(ctx.root, str(original))
    if with_original:
        label = (
            f"{rel} and {len(parallel)} parallel data files ({rel}.*), combined as coverage report "
            f"{answer.get('version') or ''} does".replace("  ", " ")
        )
    else:
        label = f"{rel}.* ({len(parallel)} parallel data files, combined)"
    return dataclasses.replace(report, data_file=label)


def left_beside(report: CoverageReport, parallel: Sequence[Path], version: str) -> CoverageReport:
    """``report`` of a data file alone, saying that the parallel data files beside it were not read,
    as ``coverage report`` of coverage.py ``version`` (before 7.14) does not read them."""
    note = f"{report.data_file} ({len(parallel)} parallel data files beside it not read, as coverage report {version} does not)"
    return dataclasses.replace(report, data_file=note)


def refuse_tracked(ctx: CheckContext, paths: Sequence[Path]) -> None:
    """Raise ToolError when git tracks one of ``paths``, or the file a link among them (or among the
    folders above it) leads to in the root, or when one holds the very bytes of a tracked file (a
    committed one copied into place): committed data was not produced by this CI job."""
    names = [str(p) for p in paths]
    for p in paths:
        real = Path(os.path.realpath(p))
        if real != p and real.is_relative_to(ctx.root.resolve()):
            names.append(str(real))
    try:
        done = ctx.run(["git", "ls-files", "-z", "--", *names], timeout=60)
    except ToolError:
        return  # no git: nothing is tracked
    if done.returncode != 0:
        return  # not a repository
    tracked = sorted({n for n in done.stdout.split("\0") if n})
    existing = [str(p) for p in paths if os.path.isfile(p)]
    if not tracked and existing:
        hashed = ctx.run(["git", "hash-object", "--no-filters", "--", *existing], timeout=60)
        staged = ctx.run(["git", "ls-files", "-s", "-z"], timeout=60)
        if hashed.returncode == 0 and staged.returncode == 0:
            blobs: dict[str, str] = {}
            for entry in staged.stdout.split("\0"):
                meta, _, name = entry.partition("\t")
                fields = meta.split()
                if len(fields) == 3 and fields[0] != "160000":
                    blobs.setdefault(fields[1], name)
            tracked = sorted(
                f"{os.path.relpath(path, ctx.root)} (the bytes of {blobs[blob]})"
                for path, blob in zip(existing, hashed.stdout.split(), strict=False)
                if blob in blobs
            )
    if tracked:
        raise ToolError(
            f"coverage data tracked by git was refused: {', '.join(tracked[:5])}"
            f"{' …' if len(tracked) > 5 else ''}; data committed to the repository was not produced by this CI job "
            "(anyone can commit any figure). Run the tests under coverage in the job (checks.coverage.run, or a "
            "coverage run step before the gate) and remove the data from git (git rm --cached)"
        )


def _analyse(
    ctx: CheckContext, request: Mapping[str, Any], plugins: Sequence[str], ask: filecache.Probe | None = None
) -> dict[str, Any]:
    """The probe's answer to an analysis (or combine-and-analyse) ``request``, each source file's
    analysis reused from the cache while its own key is unchanged (``filecache``: coverage.py's and
    Python's versions, the configuration, the file's name, its bytes and the lines the data recorded
    for it). One probe process either way (``ask``: one started already, else a new one); an answer
    whose every file was reused says ``cached``.
    """
    folder = ctx.cache_dir / "coverage" if ctx.cache_dir is not None else None
    if folder is None or plugins:  # a plugin's code (and version) is part of the analysis: not cached
        return ask(request, b"") if ask is not None else probe(ctx, request, plugins)
    per_file = filecache.manifest_key(ctx.root, cache.file_digest(_PROBE))
    return filecache.analyse(folder, per_file, request, ask or (lambda req, stdin: probe(ctx, req, plugins, stdin)))


def read_data(
    ctx: CheckContext, data_file: str | None, *, plugins: Sequence[str] = (), ahead: ProbeAhead | None = None
) -> CoverageReport:
    """The analysis of a ``.coverage`` data file found in the checkout, as a report; ``plugins``:
    the coverage.py plugins the policy allows; ``ahead``: a probe started already, which answers it."""
    ask = (lambda req, stdin: ahead.ask(req, plugins, stdin)) if ahead is not None else None
    return _report(ctx, _analyse(ctx, {"mode": "analyse", "data_file": data_file}, plugins, ask))


def _tracked(ctx: CheckContext) -> list[str]:
    """The files git tracks in the root (none when it is not a git work tree)."""
    from gatekeeper.checkers import source

    try:
        return source.tracked_files(ctx.root, ctx)
    except ToolError:
        return []


def _refuse_outside(ctx: CheckContext, files: Sequence[FileCoverage]) -> None:
    """``ToolError`` when every file the report counts lies outside the root: the tests ran an
    installed copy of the code (a virtualenv outside the checkout, ``pip install .``), whose figures
    say nothing of the checkout's own files, however coverage.py totals them."""
    if not files or any(not Path(f.path).is_absolute() for f in files):
        return
    raise ToolError(
        f"the coverage data measured no file of this checkout: all {len(files)} files it reports lie outside "
        f"{ctx.root} (e.g. {files[0].path}), as when the tests ran an installed copy of the code rather than its "
        "sources; install the project in its environment in editable mode (pip install -e .), or map the copy onto "
        "the sources with a [paths] section in the coverage configuration (e.g. source = src/ and */site-packages/)"
    )


def _refuse_checkout_code(ctx: CheckContext, files: Sequence[FileCoverage]) -> None:
    """``ToolError`` when REF's data (a new-code run's worktree, ``ctx.ref_checkout``) measured files of
    the checkout: a process the tests started imported the checkout's code, not REF's, and REF's
    figures would be partly the checkout's."""
    if ctx.ref_checkout is None:
        return
    tops = tuple(dict.fromkeys((str(ctx.ref_checkout) + "/", str(ctx.ref_checkout.resolve()) + "/")))
    inside = [f.path for f in files if f.path.startswith(tops)]
    if inside:
        shown = ", ".join(inside[:3]) + (" …" if len(inside) > 3 else "")
        raise ToolError(
            f"REF's coverage data measured {len(inside)} file(s) of the checkout, not REF's worktree: {shown}; "
            "a process the tests started imported the checkout's code, so REF's figures would be partly the "
            "checkout's: keep a stored result of REF (every complete run of a clean commit leaves one in the "
            "cache) or pass --new-code-result"
        )


_TEST_FOLDERS = frozenset({"tests", "test", "testing"})


def _is_test_file(path: str) -> bool:
    """Whether ``path`` (posix, relative to the root) is a test module: in a ``tests``, ``test`` or
    ``testing`` folder, or named as pytest collects tests (``test_*.py``, ``*_test.py``, ``conftest.py``)."""
    *folders, name = path.split("/")
    return (
        bool(_TEST_FOLDERS.intersection(folders))
        or name.startswith("test_")
        or name.endswith("_test.py")
        or (name == "conftest.py")
    )


def _refuse_tests_only(ctx: CheckContext, files: Sequence[FileCoverage]) -> None:
    """``ToolError`` when every file of the checkout the report counts is a test module while git tracks
    a package module of the code beside them: the tests imported the code from an installed copy
    (``pip install .``, which coverage.py leaves out as a third-party package), so the total is the
    tests' own and says nothing of the code under test."""
    inside = [f.path for f in files if not Path(f.path).is_absolute()]
    if not inside or not all(_is_test_file(path) for path in inside):
        return
    tracked = set(_tracked(ctx))
    code = sorted(
        path
        for path in tracked
        if path.endswith(".py") and not _is_test_file(path) and f"{path.rpartition('/')[0]}/__init__.py" in tracked
    )
    if not code:
        return
    raise ToolError(
        f"the coverage data measured only test modules of this checkout ({len(inside)}: {', '.join(inside[:3])}"
        f"{' …' if len(inside) > 3 else ''}), none of its {len(code)} package modules (e.g. {code[0]}): the tests "
        "imported the code from an installed copy (pip install ., which coverage.py leaves out as a third-party "
        "package), so the total would be the tests' own; install the project in its environment in editable mode "
        "(pip install -e .), or name the package in [run] source and map the copy onto the sources with a [paths] "
        "section in the coverage configuration (e.g. source = src/ and */site-packages/)"
    )


def _report(
    ctx: CheckContext,
    answer: Mapping[str, Any],
    ran: bool = False,
    locate: narrowing.Locate | None = None,
    command: Sequence[str] = (),
) -> CoverageReport:
    """The probe's analysis as a report (its refusal as the error whose hint fits); ``ran``: the
    data is this run's own (``checks.coverage.run``), so a hint never says to run the tests again;
    ``locate``: where the packages ``[run] source`` names are imported from (default: located now)."""
    if not answer.get("ok"):
        raise analysis_error(ctx, answer, ran, command)
    relative = RootRelative(ctx.root)  # each folder resolved once
    try:
        files = tuple(
            FileCoverage(
                path=relative_path(ctx.root, str(f["path"]), relative),
                percent=float(f["percent"]),
                percent_exact=float(f["percent_exact"]),
                statements=int(f["statements"]),
                missing=int(f["missing"]),
                lines=frozenset(int(n) for n in f["lines"]),
                missing_lines=frozenset(int(n) for n in f["missing_lines"]),
            )
            for f in answer["files"]
        )
        _refuse_checkout_code(ctx, files)
        freshness.refuse_impossible(ctx.root, answer["files"], relative)
        _refuse_outside(ctx, files)
        _refuse_tests_only(ctx, files)
        return CoverageReport(
            source="coverage-data",
            data_file=relative_path(ctx.root, str(answer["data_file"])),
            tool_version=str(answer["version"]),
            precision=int(answer["precision"]),
            branch=bool(answer["branch"]),
            total=float(answer["total"]),
            total_exact=float(answer["total_exact"]),
            statements=int(answer["statements"]),
            missing=int(answer["missing"]),
            branches=int(answer["branches"]),
            missing_branches=int(answer["missing_branches"]),
            files=tuple(sorted(files, key=lambda f: f.path)),
            cached=bool(answer.get("cached")),
            cache_rejected=int(answer.get("cache_rejected") or 0),
            files_reused=int(answer.get("files_reused") or 0),
            fail_under=float(answer.get("fail_under") or 0.0),
            plugins=tuple(str(name) for name in answer.get("plugins") or ()),
            data_version=str(answer.get("data_version") or ""),
            narrowing=narrowing.records(
                ctx.root, answer, lambda: _tracked(ctx), locate or (lambda names: packages.locations(ctx, names)), relative
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ToolError(f"coverage analysis printed an unexpected answer ({type(exc).__name__}: {exc})") from None


def _run_named(message: str, data_file: str) -> str:
    """``message`` with the test run's private data file (gone once the run ends) named as the run's:
    "the coverage data of the test run", else "<the test run's .coverage>" (a suffix such as
    coverage.py's ``.lines.1`` kept after it)."""
    message = message.replace(f"the coverage data {data_file}", "the coverage data of the test run")
    return message.replace(data_file, "<the test run's .coverage>")
