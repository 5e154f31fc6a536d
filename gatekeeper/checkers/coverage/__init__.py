"""Test coverage from coverage.py data: totals, per-file and patch coverage against thresholds.

The numbers are coverage.py's own. A ``.coverage`` data file is analysed by coverage.py's reporting
code in a child process (``probe``) that runs in the project's root, so the project's
coverage configuration (omit, include, source, branch, precision, [paths]) applies exactly as it
does for ``coverage report``; the child also keeps this CPU-bound work off the engine's threads.
A Cobertura ``coverage.xml`` or coverage.py ``coverage.json`` is read directly: both carry the
counts the total is computed from.

Coverage data in the checkout is untrusted: a pull request can commit any of it. With
``checks.coverage.run`` the tests write their data to a private temporary folder
(``COVERAGE_FILE``) and only the files of that run are combined and read. Without ``run``,
data files that git tracks are refused (they were not produced by this CI job), and parallel
data files (``.coverage.<host>.<pid>.<random>``) are combined in a private copy, leaving the
user's files as they are.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET  # nosec B405: only for types and errors; parsing uses defusedxml
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import defusedxml.ElementTree as DefusedET

from gatekeeper import process
from gatekeeper.checkers import cache
from gatekeeper.checkers.base import CheckContext, CheckerBase, Display
from gatekeeper.checkers.coverage import filecache, presentation
from gatekeeper.checkers.coverage.hints import analysis_error, plugin_paths
from gatekeeper.errors import ToolError
from gatekeeper.fileio import relative_to_root, under
from gatekeeper.findings import NO_BASELINE, CheckResult, Finding, Location, Severity, Status, decide_status, fingerprint
from gatekeeper.options import Option


def should_fail_under(total: float, fail_under: float, precision: int) -> bool:
    """coverage.py's own ``should_fail_under`` (imported when first needed: coverage takes ~0.1 s to import)."""
    from coverage.results import should_fail_under as coverage_should_fail_under

    return bool(coverage_should_fail_under(total, fail_under, precision))


def display_covered(pc: float, precision: int) -> str:
    """coverage.py's own ``display_covered``: a percentage rounded as ``coverage report`` shows it."""
    from coverage.results import display_covered as coverage_display_covered

    return str(coverage_display_covered(pc, precision))


CHECK = "coverage"
_PROBE = Path(__file__).with_name("probe.py")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_CONDITION = re.compile(r"\((\d+)/(\d+)\)")


@dataclass(frozen=True, slots=True)
class FileCoverage:
    """One measured file: its path (posix, relative to the root when inside it) and line sets."""

    path: str
    percent: float
    percent_exact: float
    statements: int
    missing: int
    lines: frozenset[int] = frozenset()
    missing_lines: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """What a data file says, in coverage.py's terms."""

    source: str  # "coverage-data", "coverage-json" or "cobertura"
    data_file: str
    tool_version: str
    precision: int
    branch: bool
    total: float  # as `coverage report` displays it
    total_exact: float
    statements: int
    missing: int
    branches: int
    missing_branches: int
    files: tuple[FileCoverage, ...] = field(default=())
    cached: bool = False  # the analysis came from the cache
    cache_rejected: int = 0  # cache entries that failed authentication and were ignored
    files_reused: int = 0  # files whose earlier analysis was reused (``filecache``)
    fail_under: float = 0.0  # the coverage configuration's own fail_under, plugins applied (.coverage data)
    plugins: tuple[str, ...] = ()  # the coverage.py plugins the configuration loaded


class CoverageChecker(CheckerBase):
    """Reads .coverage, coverage.xml or coverage.json and compares the totals with the policy."""

    name = "coverage"
    description = "test coverage (coverage.py): total, per file and patch coverage"
    options: Mapping[str, Option] = {
        "data_file": Option("str", "", "coverage data: .coverage, coverage.xml or coverage.json; empty: discover"),
        "run": Option("str_list", [], 'command to run the tests under coverage first, e.g. ["pytest", "-q"]'),
        "min_total": Option(
            "float",
            80.0,
            'minimum total coverage (percent); "baseline": the total recorded in --baseline (a ratchet)',
            choices=("baseline",),
            minimum=0,
            maximum=100,
        ),
        "min_file": Option("float", 0.0, "minimum coverage of every file (percent)", minimum=0, maximum=100),
        "min_diff": Option("float", 0.0, "minimum coverage of lines changed since diff_base (percent)", minimum=0, maximum=100),
        "diff_base": Option("str", "origin/main", "git ref the patch coverage is measured against"),
        "plugins": Option(
            "str_list",
            [],
            "coverage.py plugins the coverage configuration may load (imported from the project's environment: their code runs)",
        ),
    }

    tool = presentation.TOOL

    def display(self, result: CheckResult) -> Display:
        """Total, per-file and diff coverage against the policy, and a bar per file."""
        return presentation.display(result)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Read (or first produce) the coverage data and turn thresholds into blocking findings."""
        findings: list[Finding] = []
        command = list(section.get("run") or [])
        plugins = tuple(str(name) for name in section.get("plugins") or ())
        tests: _TestRun | None = None
        with tempfile.TemporaryDirectory(prefix="gatekeeper-coverage-") as private:
            if command:
                tests = _run_tests(command, ctx, Path(private))
                findings.extend(tests.findings)
                try:
                    report = _read_run_data(ctx, Path(private), tests, plugins)
                except ToolError as exc:
                    return _unreadable_run(tests, exc)
            else:
                report = read_report(str(section.get("data_file") or ""), ctx, private=Path(private), plugins=plugins)
        if not report.statements and not section.get("allow_empty"):
            return _empty_report(report, findings)
        ratchet = section["min_total"] == "baseline"
        floors = _ref_floors(ctx)
        if floors is not None:  # a new-code run: the total may not drop below REF's
            ratchet = False
            min_total = floors.get("", float(section["min_total"])) if section["min_total"] != "baseline" else floors.get("", 0.0)
        else:
            min_total = _ratchet_minimum(ctx, findings) if ratchet else float(section["min_total"])
        min_file = float(section["min_file"])
        min_diff = float(section["min_diff"])
        findings.extend(_threshold_findings(report, min_total, min_file, ratchet, floors))
        p = report.precision
        diff: dict[str, Any] | None = None
        if min_diff > 0:
            base = ctx.new_code_base or str(section["diff_base"])
            diff, diff_findings = _patch_coverage(report, changed_lines(ctx, base), min_diff, base)
            findings.extend(diff_findings)
        summary = f"total {_pct(report.total, p)} (min {_num(min_total)}%)"
        if diff is not None:
            summary += (
                f", patch {_pct(diff['percent'], p)} of {diff['changed_lines']} lines (min {_num(min_diff)}%)"
                if diff["percent"] is not None
                else ", no measurable changed lines"
            )
        metrics = _metrics(report, diff)
        metrics["thresholds"] = {"min_total": min_total, "min_file": min_file, "min_diff": min_diff}
        metrics["ratchet"] = ratchet
        if floors is not None:
            metrics["new_code"] = {"base": ctx.new_code_base, "ref_total": floors.get("")}
        if tests is not None:
            metrics["tests"] = tests.metric()
        return CheckResult(
            name=CHECK,
            status=decide_status(findings),
            summary=summary,
            tool_name="coverage.py",
            tool_version=report.tool_version,
            metrics=metrics,
            findings=tuple(findings),
        )


def _unreadable_run(tests: _TestRun, exc: ToolError) -> CheckResult:
    """The error of a test run whose coverage data cannot be analysed: the run's own outcome (a
    failing run's blocking finding, its exit status) stays in the result, not only the error."""
    message = str(exc)
    return CheckResult(
        name=CHECK,
        status=Status.ERROR,
        summary=message,
        error=message,
        tool_name="coverage.py",
        metrics={"tests": tests.metric()},
        findings=tests.findings,
    )


def _empty_report(report: CoverageReport, findings: Sequence[Finding]) -> CheckResult:
    """The error for a report that measured nothing: no files or no lines is not 100% covered, it proves nothing."""
    again = {"cobertura": "regenerate it with coverage xml", "coverage-json": "regenerate it with coverage json"}
    empty = (
        f"the coverage report {report.data_file or '.coverage'} measured no lines ({len(report.files)} files): "
        f"run the tests under coverage and {again.get(report.source, 'combine the data again')}, "
        "or set checks.coverage.allow_empty = true if that is expected"
    )
    return CheckResult(
        name=CHECK,
        status=Status.ERROR,
        summary=empty,
        error=empty,
        tool_name="coverage.py",
        tool_version=report.tool_version,
        findings=tuple(findings),
    )


def _ratchet_minimum(ctx: CheckContext, findings: list[Finding]) -> float:
    """``min_total = "baseline"``: the total the baseline recorded; without one, 0 and a blocking finding."""
    recorded = ctx.baseline_metrics.get("total")
    if isinstance(recorded, (int, float)):
        return float(recorded)
    # the ratchet has nothing to compare with: that blocks (the metrics are still
    # reported, so that 'baseline create' can record them)
    findings.append(
        Finding(
            rule_id="coverage.no_baseline",
            severity=Severity.HIGH,
            message='checks.coverage.min_total = "baseline" needs a baseline that recorded the coverage '
            "total: pass --baseline FILE (made by 'gatekeeper baseline create' with the coverage check on)",
            blocking=True,
            fingerprint=fingerprint(CHECK, "coverage.no_baseline"),
            rule_name="coverage ratchet without a baseline",
            tags=("coverage", NO_BASELINE),
        )
    )
    return 0.0


def _ref_floors(ctx: CheckContext) -> dict[str, float] | None:
    """A new-code run's floors from REF's figures: ``""`` its total, else each file's percent
    (a file REF did not measure has none); None outside a new-code run."""
    if not ctx.new_code_base:
        return None
    floors: dict[str, float] = {}
    total = ctx.baseline_metrics.get("total")
    if isinstance(total, (int, float)) and not isinstance(total, bool):
        floors[""] = float(total)
    for row in ctx.baseline_metrics.get("files") or ():
        if isinstance(row, Mapping) and isinstance(row.get("path"), str) and isinstance(row.get("percent"), (int, float)):
            floors[row["path"]] = float(row["percent"])
    return floors


def _threshold_findings(
    report: CoverageReport, min_total: float, min_file: float, ratchet: bool, floors: Mapping[str, float] | None = None
) -> list[Finding]:
    """The blocking findings of a total below ``min_total`` and of each file below ``min_file`` (0:
    no minimum). In a new-code run (``floors``: REF's figures) the total's floor is REF's total when
    REF measured one, and a file REF measured may not drop below REF's percent nor the minimum,
    whichever is lower."""
    findings: list[Finding] = []
    p = report.precision
    new_code = floors is not None and "" in floors
    if min_total > 0 and should_fail_under(report.total_exact, min_total, p):
        findings.append(
            Finding(
                rule_id="coverage.min_total",
                severity=Severity.HIGH,
                message=f"total coverage {_pct(report.total, p)} is below "
                + (
                    f"the baseline's {_num(min_total)}%"
                    if ratchet
                    else (f"REF's {_num(min_total)}% (new code)" if new_code else f"the minimum {_num(min_total)}%")
                ),
                blocking=True,
                fingerprint=fingerprint(CHECK, "coverage.min_total"),
                rule_name="minimum total coverage",
                tags=("coverage", NO_BASELINE),
                properties={"total": report.total, "minimum": min_total},
            )
        )
    if report.fail_under > min_total and should_fail_under(report.total_exact, report.fail_under, p):
        source = f"set by the coverage plugin {', '.join(report.plugins)} or " if report.plugins else ""
        findings.append(
            Finding(
                rule_id="coverage.fail_under",
                severity=Severity.HIGH,
                message=f"total coverage {_pct(report.total, p)} is below the project's own fail_under "
                f"{_num(report.fail_under)}% ({source}its coverage configuration): coverage report would fail",
                blocking=True,
                fingerprint=fingerprint(CHECK, "coverage.fail_under"),
                rule_name="the project's coverage fail_under",
                tags=("coverage", NO_BASELINE),
                properties={"total": report.total, "fail_under": report.fail_under},
            )
        )
    if min_file > 0:
        for f in report.files:
            floor = min(min_file, floors[f.path]) if floors is not None and f.path in floors else min_file
            if floor > 0 and should_fail_under(f.percent_exact, floor, p):
                findings.append(
                    Finding(
                        rule_id="coverage.min_file",
                        severity=Severity.MEDIUM,
                        message=f"coverage of {f.path} is {_pct(f.percent, p)}, below "
                        + (f"REF's {_num(floor)}%" if floor < min_file else f"the minimum {_num(min_file)}%"),
                        blocking=True,
                        location=Location(f.path),
                        fingerprint=fingerprint(CHECK, "coverage.min_file", f.path),
                        rule_name="minimum coverage per file",
                        tags=("coverage", NO_BASELINE),
                        properties={"percent": f.percent, "minimum": floor},
                    )
                )
    return findings


def _metrics(report: CoverageReport, diff: dict[str, Any] | None) -> dict[str, Any]:
    """The report's figures as the check's metrics (the caller adds thresholds and ratchet)."""
    return {
        "total": report.total,
        "total_exact": report.total_exact,
        "precision": report.precision,
        "branch": report.branch,
        "statements": report.statements,
        "missing": report.missing,
        "branches": report.branches,
        "missing_branches": report.missing_branches,
        "source": report.source,
        "data_file": report.data_file,
        "files": [{"path": f.path, "percent": f.percent, "statements": f.statements, "missing": f.missing} for f in report.files],
        "diff": diff,
        "cached": report.cached,
        "cache_rejected": report.cache_rejected,
        "files_reused": report.files_reused,
        "fail_under": report.fail_under,
        "plugins": list(report.plugins),
    }


# --------------------------------------------------------------------------- producing and reading data


#: ``python -m coverage`` without the project's root on ``sys.path`` while coverage.py is imported
#: (a ``coverage/`` folder in the checkout must not stand in for it); the root is put back
#: before the tests start, as ``python -m pytest`` would have it.
_COVERAGE_MAIN = (
    "import os, sys\n"
    "if sys.path and sys.path[0] in ('', os.getcwd()): del sys.path[0]\n"
    "try:\n"
    "    from coverage.cmdline import main\n"
    "except ModuleNotFoundError as exc:\n"
    "    if (exc.name or '').split('.')[0] != 'coverage': raise\n"
    "    sys.stderr.write(sys.executable + ': No module named coverage\\n'); sys.exit(1)\n"
    "sys.path.insert(0, os.getcwd())\n"
    "sys.exit(main())\n"
)
_TAIL_LINES = 12


@dataclass(frozen=True, slots=True)
class _TestRun:
    """What the policy's test command did: its exit status, output and the findings it gives."""

    command: tuple[str, ...]
    returncode: int
    output: str
    findings: tuple[Finding, ...]
    duration_s: float = 0.0

    def metric(self) -> dict[str, Any]:
        """The ``tests`` metric: the command, its exit status, whether the tests passed and how long
        they took (wall seconds: the rest of the check's time is gatekeeper's own)."""
        passed = self.returncode == 0
        return {"command": list(self.command), "returncode": self.returncode, "passed": passed, "duration_s": self.duration_s}


def _last_lines(text: str, count: int = _TAIL_LINES) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(line if len(line) <= 300 else line[:299] + "…" for line in lines[-count:])


def _key_lines(text: str) -> str:
    """The lines that say why a test run failed (pytest's FAILED/ERROR summary), else its last lines."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    summary = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    errors = [line for line in lines if line.startswith("E   ")]
    return "\n".join((summary or errors or lines)[-3:])


def _run_tests(command: Sequence[str], ctx: CheckContext, private: Path) -> _TestRun:
    """Run the policy's test command under ``coverage run`` in the project's environment.

    ``["pytest", "-q"]`` runs ``python -m coverage run -m pytest -q``; a first word ``python`` passes
    the rest to ``coverage run`` as is (``["python", "-m", "unittest"]``), and a ``.py`` file runs as a script.
    The data goes to ``private`` (``COVERAGE_FILE``), never into the checkout. A failing test run is
    a blocking finding (its data may still be read); no data at all is an error.
    """
    head, rest = command[0], list(command[1:])
    if head in ("python", "python3") or head.rsplit("/", 1)[-1].startswith("python"):
        args = rest
    elif head.endswith(".py"):
        args = [head, *rest]
    else:
        args = ["-m", head, *rest]
    python = ctx.target_python
    env = {**os.environ, "COVERAGE_FILE": str(private / ".coverage")}
    started = time.monotonic()
    done = ctx.run([python, "-c", _COVERAGE_MAIN, "run", *args], env=env)
    took = round(time.monotonic() - started, 3)
    output = (done.stdout + "\n" + done.stderr).strip()
    process.require_module(
        done, "coverage", "coverage.py", python, "install it there with pip install coverage to use checks.coverage.run"
    )
    findings: tuple[Finding, ...] = ()
    if done.returncode != 0:
        findings = (
            Finding(
                rule_id="coverage.tests_failed",
                severity=Severity.HIGH,
                message=f"the test command {' '.join(command)} exited with {done.returncode}:\n{_key_lines(output)}",
                blocking=True,
                fingerprint=fingerprint(CHECK, "coverage.tests_failed"),
                rule_name="tests run under coverage failed",
                tags=("coverage", NO_BASELINE),
                properties={"returncode": done.returncode, "command": list(command), "output_tail": _last_lines(output)},
            ),
        )
    return _TestRun(tuple(command), done.returncode, output, findings, took)


def _read_run_data(ctx: CheckContext, private: Path, tests: _TestRun, plugins: Sequence[str]) -> CoverageReport:
    """The data the test run wrote into ``private``: its parallel files combined there, then analysed."""
    produced = sorted(p.name for p in private.glob(".coverage*") if p.is_file())
    if not produced:
        raise ToolError(
            f"the test command {' '.join(tests.command)} (checks.coverage.run) exited with {tests.returncode} and "
            "wrote no coverage data (looked for .coverage and parallel .coverage.* files in its private data folder); "
            f"the last lines of its output:\n{_last_lines(tests.output) or '(no output)'}"
        )
    data_file = str(private / ".coverage")
    request = {"mode": "combine", "data_file": data_file, "data_paths": [str(private)], "append": True}
    combined = _probe(ctx, request, plugins)
    if not combined.get("ok"):
        raise analysis_error(ctx, combined, ran=True)
    report = _read_data(ctx, data_file, ran=True, plugins=plugins)
    parallel = sum(1 for name in produced if name != ".coverage")
    label = "checks.coverage.run" + (f" ({parallel} parallel data files combined)" if parallel else "")
    return dataclasses.replace(report, data_file=label)


def _probe(
    ctx: CheckContext, request: Mapping[str, Any], plugins: Sequence[str] = (), stdin: bytes | None = None
) -> dict[str, Any]:
    """Run ``probe`` in the root with the tool interpreter and return its JSON answer.

    ``plugins``: the coverage.py plugins the policy allows (``checks.coverage.plugins``), imported
    from the project's environment, whose site-packages folders follow the tool interpreter's own.
    """
    full = {**request, "allowed_plugins": list(plugins), "plugin_paths": plugin_paths(ctx) if plugins else []}
    source = _PROBE.read_text(encoding="utf-8")
    ctx.vet_tool("coverage", "coverage")  # never the checkout's coverage.py
    done = ctx.run([ctx.tool_python, "-I", "-c", source, json.dumps(full)], stdin=stdin)
    return process.json_object(done, "coverage.py analysis")


def read_report(data_file: str, ctx: CheckContext, *, private: Path | None = None, plugins: Sequence[str] = ()) -> CoverageReport:
    """The coverage of ``data_file`` (a path relative to the root), or of the first data file found.

    Discovery looks for the data file the project's coverage configuration names (``.coverage`` by
    default), then its parallel files (``.coverage.*``, combined in ``private``, a folder of this
    run), then ``coverage.json``, then ``coverage.xml``. Raises ToolError when there is none, when
    it is tracked by git, when it cannot be read, or when it was measured in another source tree.
    ``plugins``: the coverage.py plugins the policy allows the analysis to load.
    """
    if data_file:
        path = under(ctx.root, data_file)
        if path.suffix not in (".xml", ".json") and not path.exists():
            parallel = _parallel_files(ctx, path)
            if parallel and private is not None:
                return _combine_private(ctx, path, parallel, private, plugins)
        if not path.exists():
            raise ToolError(
                f"coverage data file {data_file} not found (nor parallel {path.name}.* files): run the tests under "
                "coverage first (coverage run -m pytest, then coverage json/xml if you point data_file at a report) "
                "or set checks.coverage.run"
            )
        _refuse_tracked(ctx, [path])
        if path.suffix == ".xml":
            return _read_cobertura(path, ctx)
        if path.suffix == ".json":
            return _read_coverage_json(path, ctx)
        return _read_data(ctx, str(path), plugins=plugins)
    config = _probe(ctx, {"mode": "config"})
    default = Path(str(config.get("data_file") or ctx.root / ".coverage")) if config.get("ok") else ctx.root / ".coverage"
    looked = [_relative(ctx.root, str(default))]
    if default.exists():
        _refuse_tracked(ctx, [default])
        return _read_data(ctx, None, plugins=plugins)
    parallel = _parallel_files(ctx, default)
    looked.append(f"{looked[0]}.* (parallel data)")
    if parallel and private is not None:
        return _combine_private(ctx, default, parallel, private, plugins)
    for name, reader in (("coverage.json", _read_coverage_json), ("coverage.xml", _read_cobertura)):
        looked.append(name)
        if (ctx.root / name).exists():
            _refuse_tracked(ctx, [ctx.root / name])
            return reader(ctx.root / name, ctx)
    raise ToolError(
        f"no coverage data: looked for {', '.join(looked)} in {ctx.root}; run the tests under coverage first "
        '(coverage run -m pytest), set checks.coverage.data_file, or set checks.coverage.run = ["pytest"]'
    )


def _parallel_files(ctx: CheckContext, data_file: Path) -> list[Path]:
    """The parallel data files next to ``data_file`` (``.coverage.*``), those tracked by git refused."""
    found = sorted(p for p in data_file.parent.glob(f"{data_file.name}.*") if p.is_file() and not p.is_symlink())
    if found:
        _refuse_tracked(ctx, found)
    return found


def _combine_private(
    ctx: CheckContext, original: Path, parallel: Sequence[Path], private: Path, plugins: Sequence[str]
) -> CoverageReport:
    """Combine copies of the parallel data files of ``original`` in ``private`` and analyse the result
    (the user's files stay as they are)."""
    name = original.name
    for path in parallel:
        shutil.copyfile(path, private / path.name)
    data_file = str(private / name)
    request = {"mode": "combine", "data_file": data_file, "data_paths": [str(private)], "append": False}
    combined = _probe(ctx, request, plugins)
    if not combined.get("ok"):
        if str(combined.get("kind")) != "data":
            raise analysis_error(ctx, combined, ran=False)
        raise ToolError(f"{combined.get('message') or 'coverage combine failed'} (parallel data files in {ctx.root})")
    report = _read_data(ctx, data_file, plugins=plugins)
    label = f"{_relative(ctx.root, str(original))}.* ({len(parallel)} parallel data files, combined)"
    return dataclasses.replace(report, data_file=label)


def _refuse_tracked(ctx: CheckContext, paths: Sequence[Path]) -> None:
    """Raise ToolError when git tracks one of ``paths``: committed data was not produced by this CI job."""
    names = [str(p) for p in paths]
    try:
        done = ctx.run(["git", "ls-files", "-z", "--", *names], timeout=60)
    except ToolError:
        return  # no git: nothing is tracked
    if done.returncode != 0:
        return  # not a repository
    tracked = sorted({n for n in done.stdout.split("\0") if n})
    if tracked:
        raise ToolError(
            f"coverage data tracked by git was refused: {', '.join(tracked[:5])}"
            f"{' …' if len(tracked) > 5 else ''}; data committed to the repository was not produced by this CI job "
            "(anyone can commit any figure). Run the tests under coverage in the job (checks.coverage.run, or a "
            "coverage run step before the gate) and remove the data from git (git rm --cached)"
        )


_CONFIG_FILES = (".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml")


def _analyse(ctx: CheckContext, data_file: str | None, plugins: Sequence[str]) -> dict[str, Any]:
    """The probe's analysis of the data file, reused from the cache when nothing it depends on changed.

    The key covers the data file's bytes, the coverage configuration files, coverage.py's version
    and the probe itself; the entry also records the sha256 of every source file analysed, and is
    used only while all of them are unchanged.
    """
    request = {"mode": "analyse", "data_file": data_file}
    folder = ctx.cache_dir / "coverage" if ctx.cache_dir is not None else None
    if folder is None or plugins:
        return _probe(ctx, request, plugins)  # a plugin's code (and version) is part of the analysis: not cached
    config = _probe(ctx, {"mode": "config", "data_file": data_file})
    data_path = Path(str(config.get("data_file", "")))
    if not config.get("ok") or not data_path.is_file():
        return _probe(ctx, request, plugins)  # let the analysis name the problem
    rcfile = os.environ.get("COVERAGE_RCFILE", "")
    key = cache.cache_key(
        "coverage", config.get("version", ""), cache.file_digest(_PROBE), str(ctx.root), str(data_path),
        cache.file_digest(data_path), rcfile, [cache.file_digest(ctx.root / n) for n in (*_CONFIG_FILES, rcfile) if n],
    )  # fmt: skip
    entry, rejected = cache.read(folder, key)
    if isinstance(entry, dict) and isinstance(entry.get("sources"), dict):
        sources: dict[str, str] = entry["sources"]
        if all(cache.file_digest(Path(p)) == digest for p, digest in sources.items()):
            answer: dict[str, Any] = {**entry["answer"], "cached": True}
            return answer
    per_file = filecache.manifest_key(ctx.root, cache.file_digest(_PROBE))
    answer = filecache.analyse(folder, per_file, request, lambda req, stdin: _probe(ctx, req, plugins, stdin))
    if answer.get("ok"):
        digests = {str(f["path"]): cache.file_digest(Path(str(f["path"]))) for f in answer.get("files", [])}
        cache.write(folder, key, {"answer": {k: v for k, v in answer.items() if k != "cache_rejected"}, "sources": digests})
    return {**answer, "cache_rejected": int(rejected) + int(answer.get("cache_rejected") or 0)}


def _read_data(ctx: CheckContext, data_file: str | None, *, ran: bool = False, plugins: Sequence[str] = ()) -> CoverageReport:
    """The analysis of a ``.coverage`` data file as a report; ``ran``: the data is this run's own
    (``checks.coverage.run``), so a hint never says to run the tests again; ``plugins``: the
    coverage.py plugins the policy allows."""
    answer = _analyse(ctx, data_file, plugins)
    if not answer.get("ok"):
        raise analysis_error(ctx, answer, ran)
    try:
        files = tuple(
            FileCoverage(
                path=_relative(ctx.root, str(f["path"])),
                percent=float(f["percent"]),
                percent_exact=float(f["percent_exact"]),
                statements=int(f["statements"]),
                missing=int(f["missing"]),
                lines=frozenset(int(n) for n in f["lines"]),
                missing_lines=frozenset(int(n) for n in f["missing_lines"]),
            )
            for f in answer["files"]
        )
        return CoverageReport(
            source="coverage-data",
            data_file=_relative(ctx.root, str(answer["data_file"])),
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
            files_reused=int(answer.get("files_reused") or 0) if not answer.get("cached") else len(files),
            fail_under=float(answer.get("fail_under") or 0.0),
            plugins=tuple(str(name) for name in answer.get("plugins") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ToolError(f"coverage analysis printed an unexpected answer ({type(exc).__name__}: {exc})") from None


def _read_coverage_json(path: Path, ctx: CheckContext) -> CoverageReport:
    """A ``coverage json`` report: its totals carry coverage.py's own display string."""
    rel = _relative(ctx.root, str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        meta, totals, raw_files = data["meta"], data["totals"], data["files"]
        display = str(totals["percent_covered_display"])
        precision = len(display.split(".", 1)[1]) if "." in display else 0
        files: list[FileCoverage] = []
        if not isinstance(totals, dict):
            raise TypeError("totals is not a table")
        sums = {"statements": 0, "missing": 0, "branches": 0, "missing_branches": 0}
        for name, entry in raw_files.items():
            # the report's own percentages and totals are not trusted: they are recomputed from
            # the lines (and branch counts) listed per file, as coverage.py computes them
            summary = entry["summary"]
            executed = {int(n) for n in entry["executed_lines"]}
            missing = {int(n) for n in entry["missing_lines"]} - executed
            branches = int(summary.get("num_branches", 0))
            missed_branches = min(branches, int(summary.get("missing_branches", 0)))
            statements = len(executed | missing)
            exact = _percent(statements - len(missing) + branches - missed_branches, statements + branches)
            for key, value in zip(sums, (statements, len(missing), branches, missed_branches), strict=True):
                sums[key] += value
            files.append(
                FileCoverage(
                    path=_relative(ctx.root, str(under(ctx.root, name))),
                    percent=float(display_covered(exact, precision)),
                    percent_exact=exact,
                    statements=statements,
                    missing=len(missing),
                    lines=frozenset(executed | missing),
                    missing_lines=frozenset(missing),
                )
            )
        total_exact = _percent(
            sums["statements"] - sums["missing"] + sums["branches"] - sums["missing_branches"],
            sums["statements"] + sums["branches"],
        )
        report = CoverageReport(
            source="coverage-json",
            data_file=rel,
            tool_version=str(meta.get("version", "")),
            precision=precision,
            branch=bool(meta.get("branch_coverage", False)),
            total=float(display_covered(total_exact, precision)),
            total_exact=total_exact,
            statements=sums["statements"],
            missing=sums["missing"],
            branches=sums["branches"],
            missing_branches=sums["missing_branches"],
            files=tuple(sorted(files, key=lambda f: f.path)),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ToolError(
            f"{rel} is not a readable coverage.py JSON report ({type(exc).__name__}: {exc}); regenerate it with coverage json"
        ) from None
    _require_local(report, ctx.root)
    return report


def _read_cobertura(path: Path, ctx: CheckContext) -> CoverageReport:
    """A Cobertura ``coverage.xml``: the total is (covered lines + branches) / (lines + branches), as coverage.py computes it."""
    rel = _relative(ctx.root, str(path))
    try:
        root = DefusedET.parse(path).getroot()  # a coverage.xml from a pull request is untrusted input
        if root.tag != "coverage":
            raise ValueError(f"the root element is <{root.tag}>, not <coverage>")
        sources = [Path(s.text.strip()) for s in root.iter("source") if s.text and s.text.strip()]
        per_file: dict[str, dict[int, tuple[int, int, int]]] = {}
        for cls in root.iter("class"):
            name = cls.get("filename")
            if not name:
                raise ValueError("a <class> has no filename")
            lines = per_file.setdefault(_cobertura_path(ctx.root, sources, name), {})
            for line in cls.iter("line"):
                number = int(line.get("number", ""))
                hits = int(line.get("hits", "0"))
                taken, total = 0, 0
                if line.get("branch") == "true":
                    match = _CONDITION.search(line.get("condition-coverage", ""))
                    if match:
                        taken, total = int(match.group(1)), int(match.group(2))
                old = lines.get(number)
                lines[number] = (
                    max(hits, old[0] if old else 0),
                    max(taken, old[1] if old else 0),
                    max(total, old[2] if old else 0),
                )
        branch = root.get("branch-rate") is not None and int(root.get("branches-valid", "0")) > 0
    except (OSError, ET.ParseError, ValueError) as exc:
        raise ToolError(f"{rel} is not a readable Cobertura coverage report ({exc}); regenerate it with coverage xml") from None
    precision = int(_probe(ctx, {"mode": "config"}).get("precision", 0))
    files: list[FileCoverage] = []
    for name, lines in per_file.items():
        statements = len(lines)
        covered = sum(1 for hits, _, _ in lines.values() if hits > 0)
        b_total = sum(t for _, _, t in lines.values())
        b_taken = sum(k for _, k, _ in lines.values())
        exact = _percent(covered + b_taken, statements + b_total)
        files.append(
            FileCoverage(
                path=name,
                percent=float(display_covered(exact, precision)),
                percent_exact=exact,
                statements=statements,
                missing=statements - covered,
                lines=frozenset(lines),
                missing_lines=frozenset(n for n, (hits, _, _) in lines.items() if hits == 0),
            )
        )
    # the totals come from the per-line data, not from the report's own lines-valid/lines-covered
    lines_valid = sum(f.statements for f in files)
    lines_covered = lines_valid - sum(f.missing for f in files)
    branches_valid = sum(t for lines in per_file.values() for _, _, t in lines.values())
    branches_covered = sum(k for lines in per_file.values() for _, k, _ in lines.values())
    exact = _percent(lines_covered + branches_covered, lines_valid + branches_valid)
    report = CoverageReport(
        source="cobertura",
        data_file=rel,
        tool_version=str(root.get("version", "")),
        precision=precision,
        branch=branch,
        total=float(display_covered(exact, precision)),
        total_exact=exact,
        statements=lines_valid,
        missing=lines_valid - lines_covered,
        branches=branches_valid,
        missing_branches=branches_valid - branches_covered,
        files=tuple(sorted(files, key=lambda f: f.path)),
    )
    _require_local(report, ctx.root)
    return report


def _cobertura_path(root: Path, sources: Sequence[Path], name: str) -> str:
    candidate = Path(name)
    if not candidate.is_absolute():
        for source in sources:
            if (source / name).exists():
                candidate = source / name
                break
        else:
            candidate = (sources[0] / name) if sources else root / name
    return _relative(root, str(candidate))


def _require_local(report: CoverageReport, root: Path) -> None:
    """A report most of whose files do not exist here was measured elsewhere (or is stale): fail closed."""
    gone = [f.path for f in report.files if not (root / f.path).exists()]
    if gone and 2 * len(gone) >= len(report.files):
        raise ToolError(
            f"the coverage report {report.data_file} was measured in another source tree: {len(gone)} of its "
            f"{len(report.files)} files do not exist under {root} (e.g. {gone[0]}); regenerate it in this checkout"
        )


# --------------------------------------------------------------------------- patch coverage


def changed_lines(ctx: CheckContext, base: str) -> dict[str, set[int]]:
    """Lines added or changed since the merge base of HEAD and ``base``, by path relative to the root.

    The diff runs from the merge base to the working tree (so uncommitted edits count), like
    diff-cover. Raises ToolError when there is no git repository, no such ref or no common history.
    """
    inside = ctx.run(["git", "rev-parse", "--is-inside-work-tree"])
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise ToolError(
            f"patch coverage (checks.coverage.min_diff) needs git history, but {ctx.root} is not in a git work tree "
            f"({process.tail(inside.stderr, 200)}); set min_diff = 0 or run in a git checkout"
        )
    merge = ctx.run(["git", "merge-base", "HEAD", base])
    if merge.returncode != 0 or not merge.stdout.strip():
        detail = process.tail(merge.stderr, 200) or "no common ancestor"
        raise ToolError(
            f"cannot find the merge base of HEAD and {base!r} ({detail}): fetch the base branch with its history "
            "(e.g. git fetch origin main, or fetch-depth: 0 in actions/checkout) or set checks.coverage.diff_base"
        )
    mb = merge.stdout.strip().splitlines()[0]
    done = ctx.run(
        [
            "git",
            "-c",
            "core.quotepath=off",
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--unified=0",
            "--relative",
            "--diff-filter=AMRC",
            mb,
            "--",
        ]
    )
    if done.returncode != 0:
        raise ToolError(f"git diff {mb[:12]} failed: {process.tail(done.stderr, 300)}")
    return parse_diff(done.stdout)


def parse_diff(text: str) -> dict[str, set[int]]:
    """The added line numbers per new path in a ``git diff --unified=0`` output."""
    changed: dict[str, set[int]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            name = line[4:].rstrip("\t")
            current = None if name == "/dev/null" else (name[2:] if name.startswith("b/") else name)
            continue
        if current is None or not line.startswith("@@"):
            continue
        match = _HUNK.match(line)
        if match:
            start, count = int(match.group(1)), int(match.group(2) if match.group(2) is not None else 1)
            changed.setdefault(current, set()).update(range(start, start + count))
    return {path: lines for path, lines in changed.items() if lines}


def _patch_coverage(
    report: CoverageReport, changed: Mapping[str, set[int]], minimum: float, base: str
) -> tuple[dict[str, Any], list[Finding]]:
    p = report.precision
    measured_total = covered_total = 0
    uncovered_by_file: dict[str, list[int]] = {}
    for f in report.files:
        lines = changed.get(f.path)
        if not lines:
            continue
        measurable = lines & f.lines
        uncovered = sorted(measurable & f.missing_lines)
        measured_total += len(measurable)
        covered_total += len(measurable) - len(uncovered)
        if uncovered:
            uncovered_by_file[f.path] = uncovered
    exact = _percent(covered_total, measured_total) if measured_total else None
    percent = float(display_covered(exact, p)) if exact is not None else None
    failing = exact is not None and should_fail_under(exact, minimum, p)
    findings: list[Finding] = []
    for path, uncovered_lines in sorted(uncovered_by_file.items()):
        ranges = line_ranges(uncovered_lines)
        plural = "s" if len(uncovered_lines) != 1 else ""
        findings.append(
            Finding(
                rule_id="coverage.diff_uncovered",
                severity=Severity.MEDIUM,
                message=f"{len(uncovered_lines)} changed line{plural} not covered by tests: {ranges}",
                blocking=failing,
                location=Location(path, line=uncovered_lines[0], end_line=uncovered_lines[-1]),
                fingerprint=fingerprint(CHECK, "coverage.diff_uncovered", path, ranges),
                rule_name="changed lines not covered",
                tags=("coverage", "patch"),
                properties={"lines": ranges, "count": len(uncovered_lines)},
            )
        )
    if failing:
        findings.append(
            Finding(
                rule_id="coverage.min_diff",
                severity=Severity.HIGH,
                message=f"patch coverage {_pct(percent, p)} ({covered_total} of {measured_total} changed lines since {base}) "
                f"is below the minimum {_num(minimum)}%",
                blocking=True,
                fingerprint=fingerprint(CHECK, "coverage.min_diff"),
                rule_name="minimum patch coverage",
                tags=("coverage", "patch", NO_BASELINE),
                properties={"percent": percent, "minimum": minimum},
            )
        )
    diff = {
        "percent": percent,
        "changed_lines": measured_total,
        "covered_lines": covered_total,
        "base": base,
        "files": {path: line_ranges(lines) for path, lines in sorted(uncovered_by_file.items())},
    }
    return diff, findings


def line_ranges(lines: Sequence[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    parts: list[str] = []
    ordered = sorted(set(lines))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)


# --------------------------------------------------------------------------- small helpers


def _percent(numerator: int, denominator: int) -> float:
    """coverage.py's rule: nothing to measure counts as 100%."""
    return (100.0 * numerator / denominator) if denominator > 0 else 100.0


def _pct(value: float | None, precision: int) -> str:
    return "n/a" if value is None else f"{value:.{precision}f}%"


def _num(value: float) -> str:
    return f"{value:g}"


def _relative(root: Path, name: str) -> str:
    """A posix path relative to ``root`` when the file is inside it, else the absolute path."""
    path = Path(name)
    if not path.is_absolute():
        return PurePosixPath(*path.parts).as_posix()
    resolved = relative_to_root(path, root)
    if resolved is not None:
        return resolved
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
