"""Test coverage from coverage.py data: totals, per-file and patch coverage against thresholds.

The numbers are coverage.py's own. A ``.coverage`` data file is analysed by coverage.py's reporting
code in a child process (``probe``) that runs in the project's root, so the project's
coverage configuration (omit, include, source, branch, precision, [paths]) applies exactly as it
does for ``coverage report``, and what it narrows (the file it was read from, omit / include,
exclusion patterns, each file's excluded lines) is reported (``narrowing``); the child also keeps
this CPU-bound work off the engine's threads.
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

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.checkers.base import CheckContext, CheckerBase, Display, Trend
from gatekeeper.checkers.coverage import presentation
from gatekeeper.errors import ToolError
from gatekeeper.findings import NO_BASELINE, CheckResult, Finding, Location, Severity, Status, decide_status, fingerprint
from gatekeeper.options import Option

if TYPE_CHECKING:
    from gatekeeper.checkers.coverage.data import ProbeAhead
    from gatekeeper.checkers.coverage.packages import Locator
    from gatekeeper.checkers.coverage.report import CoverageReport
    from gatekeeper.checkers.coverage.testrun import TestRun

#: the check's name (``report.CHECK``), here so that loading the checker does not import its run path
CHECK = "coverage"


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
    trends = (Trend("coverage", ("total",)), Trend("coverage_min", ("thresholds", "min_total")))

    def display(self, result: CheckResult) -> Display:
        """Total, per-file and diff coverage against the policy, and a bar per file."""
        return presentation.display(result)

    def head_start(self, section: Mapping[str, Any]) -> bool:
        """With ``run``, the test command starts before any other check does: nothing can shorten it,
        and in most runs that have one it is the longest step (``ctx.begun`` once it has started)."""
        return bool(section.get("run"))

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Read (or first produce) the coverage data and turn thresholds into blocking findings."""
        import tempfile

        # what the test command's start needs, and nothing more: the rest is imported once it runs
        from gatekeeper.checkers.coverage.packages import refuse_linked_config
        from gatekeeper.checkers.coverage.testrun import run_tests

        refuse_linked_config(ctx.root)  # before the tests run under it, and before any analysis reads it

        findings: list[Finding] = []
        command = list(section.get("run") or [])
        plugins = tuple(str(name) for name in section.get("plugins") or ())
        tests: TestRun | None = None
        with tempfile.TemporaryDirectory(prefix="gatekeeper-coverage-") as private:
            if command:
                with contextlib.ExitStack() as stack:
                    probes: list[ProbeAhead] = []
                    locators: list[Locator] = []

                    def launched() -> None:
                        # the tests have started: the other checks start now, and the probe that
                        # reads the run's data imports coverage.py while the tests run (and the
                        # interpreter that locates the packages [run] source names starts)
                        ctx.begun()
                        from gatekeeper.checkers.coverage.data import ProbeAhead
                        from gatekeeper.checkers.coverage.packages import Locator

                        ahead = ProbeAhead.start(ctx)
                        if ahead is not None:
                            probes.append(stack.enter_context(ahead))
                            locator = Locator.start(ctx)
                            locators.extend([stack.enter_context(locator)] if locator is not None else [])

                    started = _kernel_time(Path(private))
                    tests = run_tests(command, ctx, Path(private), on_start=launched)
                    findings.extend(tests.findings)
                    if tests.leaked:  # REF's worktree: the figures would measure the checkout's code
                        return _unreadable_run(tests, _leaked_error(tests.leaked))
                    from gatekeeper.checkers.coverage.data import read_run_data

                    try:
                        ahead, locator = next(iter(probes), None), next(iter(locators), None)
                        report = read_run_data(ctx, Path(private), tests, plugins, ahead, locator)
                        _refuse_written(ctx, report, started)
                    except ToolError as exc:
                        return _unreadable_run(tests, exc)
            else:
                report = read_report(str(section.get("data_file") or ""), ctx, private=Path(private), plugins=plugins)
        from gatekeeper.checkers.coverage.patch import changed_lines, patch_coverage, submodule_note, submodule_records
        from gatekeeper.checkers.coverage.report import number_text, shown_percent

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
            named = f"REF {base[:12]}" if ctx.new_code_base else base  # a whole commit id reads as a secret
            changed, moved = changed_lines(ctx, base)
            diff, diff_findings = patch_coverage(report, changed, min_diff, named, moved)
            findings.extend(diff_findings)
        summary = f"total {shown_percent(report.total, p)} (min {number_text(min_total)}%)"
        if diff is not None:
            summary += (
                f", patch {shown_percent(diff['percent'], p)} of {diff['changed_lines']} lines (min {number_text(min_diff)}%)"
                if diff["percent"] is not None
                else ", no measurable changed lines"
            )
        if diff is not None and diff["submodules"]:  # their code is in no figure of the patch
            summary += f"; not measured: {submodule_note(diff['submodules'])}"
        summary += _notes(report, ctx.root)
        from gatekeeper.checkers.coverage import freshness

        metrics = _metrics(report, diff)
        metrics["thresholds"] = {"min_total": min_total, "min_file": min_file, "min_diff": min_diff}
        metrics["ratchet"] = ratchet
        metrics["stale"] = freshness.metric(report)
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
            narrowing=report.narrowing
            + (tests.narrowing() if tests is not None else ())
            + submodule_records(diff["submodules"] if diff is not None else ()),
        )


def _notes(report: CoverageReport, root: Path) -> str:
    """What the summary adds after the figures about how the data came to be ("" or "; ...")."""
    from gatekeeper.checkers.coverage import freshness, venvs
    from gatekeeper.checkers.coverage.narrowing import unmeasured

    notes = [report.note] if report.note else []
    if venvs.note(root, report.files):  # an installed package of the checkout's virtualenv is measured
        notes.append(venvs.note(root, report.files))
    if unmeasured(report.narrowing):  # the total is the Python files' alone
        notes.append(unmeasured(report.narrowing))
    if report.version_gap:  # the project's own `coverage report` may count other lines
        notes.append(f"data written by coverage.py {report.data_version}, analysed with {report.tool_version}")
    if freshness.summary(report):  # data older than the code it is judged against
        notes.append(freshness.summary(report))
    return "".join(f"; {note}" for note in notes)


def _kernel_time(private: Path) -> int:
    """Now, as the file system dates a change (``st_ctime_ns`` of a file written in ``private``): the
    clock a measured file's change time is compared with, never one user code can set."""
    marker = private / ".started"
    marker.write_bytes(b"")
    return marker.stat().st_ctime_ns


def _refuse_written(ctx: CheckContext, report: CoverageReport, started: int) -> None:
    """``ToolError`` naming the measured files of the checkout the test run wrote (their change time
    is the run's): the figures would count code that is not the checkout's, e.g. a module the tests
    generate under a ``.gitignore``d name and import, whose thousand run lines lift the total."""
    written = []
    for item in report.files:
        if Path(item.path).is_absolute():
            continue  # outside the checkout: not the code under review
        try:
            if (ctx.root / item.path).stat().st_ctime_ns > started:  # a later tick: the tests start after it
                written.append(item.path)
        except OSError:
            continue  # gone since: coverage.py reported it from the data, as by hand
    if written:
        shown = ", ".join(written[:5]) + (f" and {len(written) - 5} more" if len(written) > 5 else "")
        raise ToolError(
            f"the test run wrote {len(written)} file(s) of the checkout that the coverage figures count: {shown}; "
            "figures over code the tests wrote are not the checkout's (leave such files out with [run] omit, "
            "which is reported, or generate them before the run)"
        )


def _leaked_error(leaked: Sequence[str]) -> ToolError:
    """The error of REF's test run (a new-code run's worktree) that imported modules of the checkout
    instead of REF's, e.g. a package whose folder is named otherwise than the package."""
    shown = ", ".join(leaked[:5]) + (f" and {len(leaked) - 5} more" if len(leaked) > 5 else "")
    return ToolError(
        f"REF's tests imported {len(leaked)} file(s) of the checkout, not REF's: {shown}; REF's figures would "
        "measure the checkout's code (REF's import roots were put first on PYTHONPATH, and these were found "
        "elsewhere): keep a stored result of REF (every complete run of a clean commit leaves one in the cache) "
        "or pass --new-code-result"
    )


def _unreadable_run(tests: TestRun, exc: ToolError) -> CheckResult:
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
    from gatekeeper.checkers.coverage.report import number_text, should_fail_under, shown_percent

    findings: list[Finding] = []
    p = report.precision
    new_code = floors is not None and "" in floors
    if min_total > 0 and should_fail_under(report.total_exact, min_total, p):
        findings.append(
            Finding(
                rule_id="coverage.min_total",
                severity=Severity.HIGH,
                message=f"total coverage {shown_percent(report.total, p)} is below "
                + (
                    f"the baseline's {number_text(min_total)}%"
                    if ratchet
                    else (f"REF's {number_text(min_total)}% (new code)" if new_code else f"the minimum {number_text(min_total)}%")
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
                message=f"total coverage {shown_percent(report.total, p)} is below the project's own fail_under "
                f"{number_text(report.fail_under)}% ({source}its coverage configuration): coverage report would fail",
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
                        message=f"coverage of {f.path} is {shown_percent(f.percent, p)}, below "
                        + (f"REF's {number_text(floor)}%" if floor < min_file else f"the minimum {number_text(min_file)}%"),
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
        "data_version": report.data_version or None,
    }


def read_report(data_file: str, ctx: CheckContext, *, private: Path | None = None, plugins: Sequence[str] = ()) -> CoverageReport:
    """The coverage of ``data_file`` (a path relative to the root), or of the first data file found.

    Discovery looks for the data file the project's coverage configuration names (``.coverage`` by
    default), then its parallel files (``.coverage.*``, combined in ``private``, a folder of this
    run), then ``coverage.json``, then ``coverage.xml``. A data file with parallel files beside it is
    read as ``coverage report`` reads it (combined with them from coverage.py 7.14 on). Raises ToolError when there is none, when
    it is tracked by git, when it cannot be read, or when it was measured in another source tree.
    ``plugins``: the coverage.py plugins the policy allows the analysis to load.
    """
    from gatekeeper.checkers.coverage.data import ProbeAhead, combine_private, parallel_files, probe, read_data, refuse_tracked
    from gatekeeper.checkers.coverage.report import relative_path
    from gatekeeper.fileio import under

    if data_file:
        path = under(ctx.root, data_file)
        if path.suffix not in (".xml", ".json") and path.is_file():
            beside = parallel_files(ctx, path)
            if beside:
                return _with_parallel(ctx, path, beside, private, plugins)
            # the analysis probe imports coverage.py while git says whether the data file is tracked
            with ProbeAhead.start(ctx) or contextlib.nullcontext() as ahead:
                refuse_tracked(ctx, [path])
                return _fresh(ctx, read_data(ctx, str(path), plugins=plugins, ahead=ahead), [path])
        return _read_named(data_file, path, ctx, private, plugins)
    config = probe(ctx, {"mode": "config"})
    default = Path(str(config.get("data_file") or ctx.root / ".coverage")) if config.get("ok") else ctx.root / ".coverage"
    looked = [relative_path(ctx.root, str(default))]
    parallel = parallel_files(ctx, default)
    if default.exists() and parallel:
        return _with_parallel(ctx, default, parallel, private, plugins)
    if default.exists():
        with ProbeAhead.start(ctx) or contextlib.nullcontext() as ahead:
            refuse_tracked(ctx, [default])
            return _fresh(ctx, read_data(ctx, None, plugins=plugins, ahead=ahead), [default])
    looked.append(f"{looked[0]}.* (parallel data)")
    if parallel and private is not None:
        return _fresh(ctx, combine_private(ctx, default, parallel, private, plugins), parallel)
    from gatekeeper.checkers.coverage.formats import read_cobertura, read_coverage_json

    for name, reader in (("coverage.json", read_coverage_json), ("coverage.xml", read_cobertura)):
        looked.append(name)
        if (ctx.root / name).exists():
            refuse_tracked(ctx, [ctx.root / name])
            return _fresh(ctx, reader(ctx.root / name, ctx), [ctx.root / name])
    raise ToolError(
        f"no coverage data: looked for {', '.join(looked)} in {ctx.root}; run the tests under coverage first "
        '(coverage run -m pytest), set checks.coverage.data_file, or set checks.coverage.run = ["pytest"]'
    )


def _with_parallel(
    ctx: CheckContext, path: Path, parallel: Sequence[Path], private: Path | None, plugins: Sequence[str]
) -> CoverageReport:
    """The data file ``path`` with the parallel data files beside it, read as ``coverage report`` of
    the analysing coverage.py reads them: combined with it from 7.14 on (in a private copy: the
    user's files stay as they are), set aside before."""
    from gatekeeper.checkers.coverage.data import combine_private, left_beside, probe, read_data, refuse_tracked, report_combines

    refuse_tracked(ctx, [path])
    version = str(probe(ctx, {"mode": "config"}).get("version") or "")
    if report_combines(version) and private is not None:
        return _fresh(ctx, combine_private(ctx, path, parallel, private, plugins, with_original=True), [path, *parallel])
    report = read_data(ctx, str(path), plugins=plugins)
    return _fresh(ctx, left_beside(report, parallel, version), [path])


def _read_named(data_file: str, path: Path, ctx: CheckContext, private: Path | None, plugins: Sequence[str]) -> CoverageReport:
    """``read_report`` of a ``data_file`` that is a report (coverage.json, Cobertura XML), a data
    file's parallel files, or none of these."""
    from gatekeeper.checkers.coverage.data import combine_private, parallel_files, read_data, refuse_tracked
    from gatekeeper.checkers.coverage.formats import read_cobertura, read_coverage_json

    if path.suffix not in (".xml", ".json") and not path.exists():
        parallel = parallel_files(ctx, path)
        if parallel and private is not None:
            return _fresh(ctx, combine_private(ctx, path, parallel, private, plugins), parallel)
    if not path.exists():
        raise ToolError(
            f"coverage data file {data_file} not found (nor parallel {path.name}.* files): run the tests under "
            "coverage first (coverage run -m pytest, then coverage json/xml if you point data_file at a report) "
            "or set checks.coverage.run"
        )
    refuse_tracked(ctx, [path])
    if path.suffix == ".xml":
        return _fresh(ctx, read_cobertura(path, ctx), [path])
    if path.suffix == ".json":
        return _fresh(ctx, read_coverage_json(path, ctx), [path])
    return _fresh(ctx, read_data(ctx, str(path), plugins=plugins), [path])


def _fresh(ctx: CheckContext, report: CoverageReport, data_files: Sequence[Path]) -> CoverageReport:
    """``report`` of data the check did not produce, with the measured files changed after the
    oldest of ``data_files`` was written (``freshness``); a report (``coverage.json``, XML) listing
    lines past the end of a file is refused."""
    from gatekeeper.checkers.coverage.freshness import refuse_past_end, written_after

    if report.source != "coverage-data":  # a report's line numbers, with no analysis of the files as they are
        refuse_past_end(ctx.root, report, data_files[0].name)
    return written_after(ctx.root, report, data_files)
