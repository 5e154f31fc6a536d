"""checks.coverage.run: the probe that combines and analyses the run's data is one process, started
with the tests (it imports coverage.py while they run), and never left behind. A data file in the
checkout: its probe starts before git is asked whether the file is tracked."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import process
from gatekeeper.checkers.coverage import CoverageChecker, packages
from gatekeeper.checkers.coverage.data import ProbeAhead
from gatekeeper.errors import ToolError, ToolTimeout
from gatekeeper.findings import Status
from tests.checkers.coverage.test_checker import (
    BRANCHY,
    CALC,
    COVDEFAULTS_CONFIG,
    PACKAGED,
    TESTS,
    covdefaults_env,
    git,
    measure,
    report_json,
    report_total,
    write_project,
)
from tests.helpers.env import clean_env
from tests.helpers.projects import PYTHON, run_tool, section

pytestmark = pytest.mark.usefixtures("own_coverage_settings")
covdefaults_env = covdefaults_env  # the fixture: a real venv with covdefaults installed

PROBE = (Path(__file__).resolve().parents[3] / "gatekeeper" / "checkers" / "coverage" / "probe.py").read_text()
RUN = ["pytest", "-q", "-p", "no:cacheprovider"]

Started = list[tuple[str, str, "subprocess.Popen[bytes] | None"]]


def _kind(args: Any) -> str:
    argv = [str(a) for a in args]
    if argv[1:4] == ["-I", "-c", PROBE]:
        return "probe"
    if argv[1:4] == ["-I", "-c", packages._SCRIPT]:
        return "locator"
    if len(argv) > 2 and argv[1] == "-c" and "from coverage.cmdline import main" in argv[2]:
        return "tests"
    return "other"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[Started]:
    """Every process gatekeeper starts, in order: how (``run`` or ``spawn``), what (the probe, the
    tests, other) and, for a spawned one, its Popen."""
    events: Started = []
    real_run, real_spawn = process.run, process.spawn

    def run(args: Any, **kwargs: Any) -> process.Completed:
        events.append(("run", _kind(args), None))
        return real_run(args, **kwargs)

    def spawn(args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = real_spawn(args, **kwargs)
        events.append(("spawn", _kind(args), proc))
        return proc

    monkeypatch.setattr(process, "run", run)
    monkeypatch.setattr(process, "spawn", spawn)
    yield events


#: the tests start first (the command nothing can shorten has the CPU first), then the probe
TESTS_THEN_PROBE = [("run", "tests"), ("spawn", "probe")]


def _order(events: Started) -> list[tuple[str, str]]:
    return [(how, what) for how, what, _ in events if what != "other"]


def _gone(events: Started) -> subprocess.Popen[bytes]:
    """The one probe started ahead, checked to be reaped and no longer tracked (nor running)."""
    (proc,) = [p for _, what, p in events if what == "probe" and p is not None]
    assert proc.returncode is not None  # waited for: no zombie, nothing running
    assert proc not in process._LIVE
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)
    return proc


def test_one_probe_started_with_the_tests_reads_the_run_with_its_per_file_cache(
    tmp_path: Path, make_ctx: Any, started: Started
) -> None:
    root = write_project(tmp_path / "p", BRANCHY)
    checker = CoverageChecker()
    results = []
    for _ in range(2):
        started.clear()
        results.append(checker.run(section(checker, min_total=0.0, run=RUN), make_ctx(root, cache_dir=tmp_path / "cache")))
        # the probe starts once the tests have started, and no other probe runs after them
        assert _order(started) == TESTS_THEN_PROBE
        assert _gone(started).returncode == 0  # it answered and exited
    first, second = results
    assert first.status is Status.PASS and first.metrics["data_file"] == "checks.coverage.run"
    assert (first.metrics["cached"], first.metrics["files_reused"]) == (False, 0)
    # the second run reuses every file's analysis from the cache the first one stored
    assert second.metrics["cached"] is True and second.metrics["files_reused"] == len(second.metrics["files"]) == 3
    assert second.metrics["cache_rejected"] == 0
    assert {k: v for k, v in first.metrics.items() if k not in ("cached", "files_reused", "tests")} == {
        k: v for k, v in second.metrics.items() if k not in ("cached", "files_reused", "tests")
    }
    measure(root)  # coverage.py by hand on the same tests
    reference = report_json(root)
    assert f"{first.metrics['total']:.2f}" == report_total(root)
    assert first.metrics["branches"] == reference["totals"]["num_branches"]
    assert {f["path"]: f["missing"] for f in first.metrics["files"]} == {
        name: data["summary"]["missing_lines"] for name, data in reference["files"].items()
    }


def test_parallel_data_of_a_run_is_combined_and_analysed_by_the_one_probe(
    tmp_path: Path, make_ctx: Any, started: Started
) -> None:
    root = write_project(tmp_path / "p", BRANCHY.replace("branch = true", "branch = true\nparallel = true"))
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["python", "-m", *RUN]), make_ctx(root))
    assert _order(started) == TESTS_THEN_PROBE
    _gone(started)
    assert result.metrics["data_file"] == "checks.coverage.run (1 parallel data files combined)"
    measure(root)
    run_tool([PYTHON, "-m", "coverage", "combine"], root)
    assert f"{result.metrics['total']:.2f}" == report_total(root) and result.metrics["statements"] > 0


def test_a_failing_run_is_read_by_the_probe_started_with_it(tmp_path: Path, make_ctx: Any, started: Started) -> None:
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "test_pkg.py").write_text(TESTS + "\n\ndef test_broken():\n    assert add(2, 2) == 5\n")
    checker = CoverageChecker()
    failed = checker.run(section(checker, min_total=0.0, run=RUN), make_ctx(root))
    assert failed.status is Status.FAIL and [f.rule_id for f in failed.findings] == ["coverage.tests_failed"]
    assert _order(started) == TESTS_THEN_PROBE
    _gone(started)
    run_tool([PYTHON, "-m", "coverage", "run", "-m", *RUN], root, check=False)
    assert f"{failed.metrics['total']:.2f}" == report_total(root)


def test_a_run_that_writes_no_data_leaves_no_probe_behind(tmp_path: Path, make_ctx: Any, started: Started) -> None:
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "quits.py").write_text("import os\nos._exit(3)  # before coverage.py saves its data\n")
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["quits.py"]), make_ctx(root))
    assert result.status is Status.ERROR and result.error is not None
    assert result.error.startswith("the test command quits.py (checks.coverage.run) exited with 3 and wrote no coverage data")
    assert result.metrics["tests"]["returncode"] == 3
    assert _order(started) == TESTS_THEN_PROBE
    assert _gone(started).returncode == -9  # never asked: killed


def test_tests_past_the_deadline_leave_no_probe_behind(tmp_path: Path, make_ctx: Any, started: Started) -> None:
    root = write_project(tmp_path / "p", BRANCHY)
    (root / "hangs.py").write_text("import time\ntime.sleep(120)\n")
    ctx = make_ctx(root)
    assert ctx.target_python  # the environment is found before the clock starts
    ctx.deadline = time.monotonic() + 3
    checker = CoverageChecker()
    with pytest.raises(ToolTimeout, match=r"did not finish within [23]s and was killed"):
        checker.run(section(checker, min_total=0.0, run=["hangs.py"]), ctx)
    assert _order(started) == TESTS_THEN_PROBE
    _gone(started)


def test_waiting_for_the_answer_ends_at_the_deadline_and_kill_all_ends_a_waiting_probe(
    tmp_path: Path, make_ctx: Any, started: Started
) -> None:
    root = write_project(tmp_path / "p", BRANCHY)
    measure(root)
    ctx = make_ctx(root)
    with ProbeAhead.start(ctx) as ahead:
        assert ahead is not None
        ctx.deadline = time.monotonic()  # the check's time is up when the answer is waited for
        with pytest.raises(ToolTimeout, match=r"coverage\.py analysis .* did not finish within 0s and was killed"):
            ahead.ask({"mode": "analyse", "data_file": str(root / ".coverage")}, ())
    assert _gone(started).returncode == -9
    # Ctrl-C (or SIGTERM) on gatekeeper kills every tool it started: the probe waiting for its request too
    started.clear()
    with ProbeAhead.start(make_ctx(root)) as waiting:
        assert waiting is not None
        process.kill_all()
        (proc,) = [p for _, _, p in started if p is not None]
        assert proc.wait(timeout=10) == -9
    _gone(started)


#: a test "run" that writes its own coverage data where coverage.py's goes, then quits unsaved
WRITES = """\
import os, sys
import coverage
target = os.environ["COVERAGE_FILE"]
calc = os.path.abspath("pkg/calc.py")
how = sys.argv[1]
if how == "mixed":  # statement data and branch data side by side: coverage combine refuses
    data = coverage.CoverageData(basename=target + ".lines.1")
    data.add_lines({calc: [1, 2]})
    data = coverage.CoverageData(basename=target + ".arcs.2")
    data.add_arcs({calc: [(-1, 1), (1, 2), (2, -1)]})
elif how == "corrupt":
    with open(target, "wb") as handle:
        handle.write(b"this is not a coverage database\\n" * 10)
else:  # foreign: measured in a tree that is not this one
    data = coverage.CoverageData(basename=target)
    data.add_lines({"/nowhere/pkg/calc.py": [1, 2]})
os._exit(0)
"""


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        # a combine failure: the message alone, as the separate combine gave it (the run wrote it)
        (
            "mixed",
            r"coverage combine failed: Can't combine statement coverage data with branch data: "
            r"data file '<the test run's \.coverage>\.lines\.1' didn't measure branch coverage, but data file "
            r"'<the test run's \.coverage>' did",
        ),
        (
            "corrupt",
            r"coverage combine failed: Couldn't use data file '<the test run's \.coverage>': file is not a database"
            r"(: \(SQLITE_NOTADB\))?",
        ),
        # an analysis failure after a combine that worked, with the hint for data this run wrote
        (
            "foreign",
            r"the coverage data of the test run was measured in another source tree: none of its 1 files exist here "
            r"\(e\.g\. /nowhere/pkg/calc\.py\) \(run the tests under coverage in this checkout, or map the old paths "
            r"with a \[paths\] section in the coverage configuration\)",
        ),
    ],
)
def test_data_the_run_wrote_that_cannot_be_combined_or_analysed_is_an_error_saying_which(
    tmp_path: Path, make_ctx: Any, started: Started, how: str, expected: str
) -> None:
    root = write_project(tmp_path / "p", "[tool.coverage.run]\nsource = ['pkg']\n")
    (root / "writes.py").write_text(WRITES)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=["writes.py", how]), make_ctx(root))
    assert result.status is Status.ERROR and result.error is not None
    assert re.fullmatch(expected, result.error), result.error
    assert result.metrics["tests"]["returncode"] == 0
    assert _order(started) == TESTS_THEN_PROBE
    _gone(started)


def test_parallel_files_in_the_checkout_that_cannot_be_combined_say_so_from_one_probe(
    tmp_path: Path, make_ctx: Any, started: Started
) -> None:
    root = write_project(tmp_path / "p", "[tool.coverage.run]\nsource = ['pkg']\n")
    run_tool([PYTHON, "-c", WRITES.replace('os.environ["COVERAGE_FILE"]', '".coverage"'), "mixed"], root)
    copy = shutil.copytree(root, tmp_path / "by-hand")  # coverage combine leaves a .coverage behind
    by_hand = run_tool([PYTHON, "-m", "coverage", "combine"], copy, check=False)
    assert by_hand.returncode == 1
    checker = CoverageChecker()
    with pytest.raises(ToolError) as err:
        checker.run(section(checker, min_total=0.0, data_file=".coverage"), make_ctx(root))
    # coverage.py's own message (without the link its command line adds), about the private copies,
    # and where the user's files are
    message = by_hand.stdout.strip().split("; see https://")[0].replace(str(copy), "PRIVATE")
    shown = str(err.value)
    assert shown.startswith("coverage combine failed: Can't combine statement coverage data with branch data")
    private = shown.split("data file '")[1].rsplit("/", 1)[0]
    assert shown == f"coverage combine failed: {message.replace('PRIVATE', private)} (parallel data files in {root})"
    assert [what for _, what, _ in started].count("probe") == 1

    # the statement data alone combines: combined and analysed by one process, as coverage.py does it
    (root / ".coverage.arcs.2").unlink()
    copy = shutil.copytree(root, tmp_path / "by-hand-2")
    run_tool([PYTHON, "-m", "coverage", "combine"], copy)
    started.clear()
    result = checker.run(section(checker, min_total=0.0, data_file=".coverage"), make_ctx(root))
    assert [what for _, what, _ in started].count("probe") == 1
    assert result.metrics["data_file"] == ".coverage.* (1 parallel data files, combined)"
    assert f"{result.metrics['total']:.0f}" == report_total(copy) and result.metrics["statements"] > 0
    assert (root / ".coverage.lines.1").exists() and not (root / ".coverage").exists()  # the user's files as they were


@pytest.mark.slow  # builds a virtualenv
def test_a_run_with_an_allowed_plugin_loads_it_in_the_one_probe(
    tmp_path: Path, make_ctx: Any, started: Started, covdefaults_env: tuple[str, Path]
) -> None:
    python, site = covdefaults_env
    # the project's environment: covdefaults of its own, and (through a .pth file) pytest and coverage.py
    (site / "gatekeeper-test-tools.pth").write_text(str(Path(pytest.__file__).resolve().parents[1]) + "\n")
    root = write_project(tmp_path / "p", COVDEFAULTS_CONFIG)
    (root / "pkg" / "calc.py").write_text(CALC + "\n\ndef todo():\n    raise NotImplementedError\n")
    (root / "gatekeeper.toml").write_text(f'[environment]\npython = "{python}"\n')
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=RUN, plugins=["covdefaults"]), make_ctx(root))
    assert _order(started) == TESTS_THEN_PROBE
    _gone(started)
    by_hand = {**clean_env(coverage=False), "PYTHONPATH": str(site)}  # the plugin where coverage.py finds it
    subprocess.run([PYTHON, "-m", "coverage", "run", "-m", *RUN], cwd=root, env=by_hand, capture_output=True, timeout=300)
    report = subprocess.run([PYTHON, "-m", "coverage", "report", "--format=total"], cwd=root, env=by_hand,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    # coverage.py's numbers with the plugin's settings (branch coverage on, NotImplementedError excluded)
    assert result.metrics["plugins"] == ["covdefaults"] and result.metrics["branch"] is True
    assert f"{result.metrics['total']:.0f}" == report.stdout.splitlines()[0]
    assert result.metrics["fail_under"] == 100.0
    assert [f.rule_id for f in result.findings] == ["coverage.fail_under"]


@pytest.fixture
def asks_git(monkeypatch: pytest.MonkeyPatch, started: Started) -> None:
    """``refuse_tracked`` (git ls-files on the data file) noted in ``started`` when it is called."""
    from gatekeeper.checkers.coverage import data

    real = data.refuse_tracked

    def refuse_tracked(ctx: Any, paths: Any) -> None:
        started.append(("ask", "git", None))
        real(ctx, paths)

    monkeypatch.setattr(data, "refuse_tracked", refuse_tracked)


@pytest.mark.parametrize("data_file", [".coverage", ""])  # named by the policy, or found by discovery
@pytest.mark.usefixtures("asks_git")
def test_a_data_file_in_the_checkout_is_analysed_by_a_probe_started_before_git_is_asked(
    tmp_path: Path, make_ctx: Any, started: Started, data_file: str
) -> None:
    """The probe imports coverage.py while git says whether the data file is tracked: one probe
    for the analysis, and the figures are coverage.py's own."""
    root = write_project(tmp_path / "p", BRANCHY)
    measure(root)
    checker = CoverageChecker()
    for _ in range(2):  # cold, then with every file's analysis in the cache
        started.clear()
        result = checker.run(section(checker, min_total=0.0, data_file=data_file), make_ctx(root, cache_dir=tmp_path / "c"))
        discovery = [("run", "probe")] if not data_file else []  # the configuration's data file asked first
        assert _order(started) == [*discovery, ("spawn", "probe"), ("ask", "git")]
        assert _gone(started).returncode == 0
        assert f"{result.metrics['total']:.2f}" == report_total(root)
    assert result.metrics["cached"] is True


@pytest.mark.usefixtures("asks_git")
def test_a_tracked_data_file_is_refused_and_the_probe_started_for_it_is_reaped(
    tmp_path: Path, make_ctx: Any, started: Started
) -> None:
    root = write_project(tmp_path / "p", BRANCHY)
    measure(root)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-f", ".coverage"], cwd=root, check=True)
    checker = CoverageChecker()
    with pytest.raises(ToolError, match=r"coverage data tracked by git was refused: \.coverage"):
        checker.run(section(checker, min_total=0.0, data_file=".coverage"), make_ctx(root))
    assert _order(started) == [("spawn", "probe"), ("ask", "git")]
    assert _gone(started).returncode != 0  # killed: it was never asked


def _packaged(root: Path, config: str) -> Path:
    for name, text in {**PACKAGED, "pyproject.toml": config}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", ".")
    return root


def _spawned(events: Started, what: str) -> subprocess.Popen[bytes]:
    """The one process of kind ``what`` started ahead, checked to be reaped and no longer tracked."""
    (proc,) = [p for _, kind, p in events if kind == what and p is not None]
    assert proc.returncode is not None and proc not in process._LIVE
    return proc


def test_the_packages_source_names_are_located_while_the_probe_analyses_the_run(
    tmp_path: Path, make_ctx: Any, started: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interpreter that locates the packages ``[run] source`` / ``source_pkgs`` name starts with
    the tests; the probe announces the configuration before it combines and analyses, and the
    packages are located meanwhile, in a thread of their own, once; the files outside them are those
    coverage.py leaves out by hand."""
    root = _packaged(tmp_path / "proj", '[tool.coverage.run]\nsource = ["pkg.sub"]\nsource_pkgs = ["pkg.calc"]\n')
    located: list[tuple[list[str], str]] = []
    real = packages.Locator.locations

    def locations(self: packages.Locator, names: Any) -> dict[str, list[Path]]:
        located.append((list(names), threading.current_thread().name))
        return real(self, names)

    monkeypatch.setattr(packages.Locator, "locations", locations)
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=[*RUN, "test_pkg.py"]), make_ctx(root))
    assert result.status is Status.PASS, result.error
    assert _order(started) == [*TESTS_THEN_PROBE, ("spawn", "locator")]
    assert located == [(["pkg.calc", "pkg.sub"], "gatekeeper-coverage-locate")]
    _gone(started)
    assert _spawned(started, "locator").returncode == 0  # it answered and ended
    measure(root)
    reported = set(report_json(root)["files"])
    assert reported == {"pkg/calc.py", "pkg/sub/__init__.py", "pkg/sub/deep.py", "pkg/sub/idle.py"}
    assert {f["path"] for f in result.metrics["files"]} == reported
    (scope,) = [n for n in result.narrowing if n.kind == "exclude"]
    assert set(scope.files) == {name for name in PACKAGED if name.endswith(".py")} - reported


def test_a_locator_the_configuration_turns_out_not_to_need_is_ended_before_the_run_settles(
    tmp_path: Path, make_ctx: Any, started: Started
) -> None:
    """The configuration coverage.py reads (setup.cfg, before pyproject.toml) names a folder only:
    the interpreter started with the tests (pyproject.toml names a package) is killed and reaped
    before the check says it writes no more, and nothing is located."""
    root = tmp_path / "proj"
    (root).mkdir()
    (root / "setup.cfg").write_text("[coverage:run]\nsource = pkg\n")
    root = _packaged(root, '[tool.coverage.run]\nsource_pkgs = ["pkg.calc"]\n')
    alive_when_settled: list[bool] = []

    def settled() -> None:
        (locator,) = [p for _, kind, p in started if kind == "locator" and p is not None]
        alive_when_settled.append(locator.poll() is None)

    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=[*RUN, "test_pkg.py"]), make_ctx(root, _on_settled=settled))
    assert result.status is Status.PASS, result.error
    assert alive_when_settled == [False]
    assert _spawned(started, "locator").returncode == -9  # killed: never asked


@pytest.mark.parametrize(
    ("files", "named"),
    [
        ({".coveragerc": "[run]\nsource = pkg\n"}, True),
        ({"setup.cfg": "[coverage:run]\nbranch = True\nsource =\n    click\n"}, True),
        ({"tox.ini": "[coverage:run]\nsource_pkgs = pkg\n"}, True),
        ({"pyproject.toml": '[tool.coverage.run]\nsource_pkgs = ["pkg"]\n'}, True),
        ({"setup.cfg": "[coverage:paths]\nsource =\n    src\n[coverage:run]\nbranch = True\n"}, False),
        ({"pyproject.toml": '[tool.hatch.build]\nsource = "src"\n'}, False),
        ({"pyproject.toml": '[tool.coverage.run]\nsource = [\n  "pkg",\n]\n', "pkg/__init__.py": ""}, False),  # a folder
        ({"pyproject.toml": '[tool.coverage.run]\nsource = [\n  "pkg",\n  "other",\n]\n', "pkg/__init__.py": ""}, True),
        ({}, False),
    ],
)
def test_a_locator_starts_with_the_tests_only_when_the_configuration_may_name_packages(
    tmp_path: Path, files: dict[str, str], named: bool
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert packages.may_name_packages(tmp_path) is named


def test_an_analysis_naming_other_packages_than_the_announcement_fails_closed(tmp_path: Path, make_ctx: Any) -> None:
    """The check has said it writes no more once the announced packages were located: an analysis
    that names others (its configuration changed meanwhile) is not located again in the project's
    environment, and the check fails saying why. Without an announcement, the analysis's packages
    are located after it, as ever."""
    from gatekeeper.checkers.coverage.data import EarlyLocate

    root = tmp_path / "proj"
    for name, text in PACKAGED.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    announced = {"narrowing": {"settings": {"[run] source_pkgs": ["pkg.sub"]}, "cwd": str(root), "matchers": {}}}
    settled: list[str] = []
    with EarlyLocate(make_ctx(root), lambda: settled.append("settled")) as early:
        early.start(json.dumps(announced))
        assert early.locate(["pkg.sub"]) == {"pkg.sub": [root / "pkg" / "sub"]}
        assert settled == ["settled"]
        with pytest.raises(ToolError, match=r"configuration changed .* named the packages pkg\.sub .*, then pkg\.calc"):
            early.locate(["pkg.calc"])
        assert "configuration changed" in early.changed
    with EarlyLocate(make_ctx(root), lambda: settled.append("again")) as early:
        early.start("not an announcement")
        assert early.locate(["pkg.calc"]) == {"pkg.calc": [root / "pkg" / "calc.py"]}
    assert settled == ["settled"]  # no announcement: nothing said


@pytest.mark.parametrize(
    ("config", "plugins", "said"),
    [
        ('[tool.coverage.run]\nsource = ["pkg.sub"]\nsource_pkgs = ["pkg.calc"]\n', [], ["located", "settled"]),
        ("[tool.coverage.run]\nbranch = true\n", [], ["settled"]),
        ("[tool.coverage.run]\nbranch = true\n", ["covdefaults"], []),  # a plugin the policy lets run: its code
    ],
)
def test_the_run_says_it_writes_no_more_once_nothing_of_the_project_runs(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch, config: str, plugins: list[str], said: list[str]
) -> None:
    """Once the tests have ended and the packages ``[run] source`` names are located (a process in the
    project's environment), only coverage.py's analysis is left: the check says it writes no more
    (``ctx.settled``), and the checkout may be compared meanwhile; not while the policy lets a
    coverage.py plugin run in the analysis."""
    from gatekeeper.checkers.coverage import data

    root = tmp_path / "proj"
    for name, text in {**PACKAGED, "pyproject.toml": config}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    events: list[str] = []
    real = data.packages.Locator.locations

    def locations(self: Any, names: Any) -> dict[str, list[Path]]:
        found = real(self, names)
        events.append("located")
        return found

    monkeypatch.setattr(data.packages.Locator, "locations", locations)
    checker = CoverageChecker()
    policy = section(checker, min_total=0.0, run=[*RUN, "test_pkg.py"], plugins=plugins)
    result = checker.run(policy, make_ctx(root, _on_settled=lambda: events.append("settled")))
    assert result.status is Status.PASS, result.error
    assert events == said


def test_tracked_files_are_resolved_folder_by_folder_as_each_would_be_alone(tmp_path: Path) -> None:
    """The files ``[run] source`` leaves out are found by each tracked file's real path: resolved a
    folder at a time, every path (links to files and folders, inside and outside the root, missing
    files) is what ``Path.resolve`` gives it."""
    from gatekeeper.checkers.coverage import narrowing
    from gatekeeper.fileio import RootRelative

    root, outside = tmp_path / "proj", tmp_path / "elsewhere"
    for name in ("pkg/calc.py", "pkg/sub/deep.py", "tools/gen.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x = 1\n")
    (outside / "lib").mkdir(parents=True)
    (outside / "lib" / "far.py").write_text("x = 1\n")
    (root / "alias.py").symlink_to("pkg/calc.py")
    (root / "linked").symlink_to(root / "pkg" / "sub")
    (root / "far").symlink_to(outside / "lib")
    (root / "far.py").symlink_to(outside / "lib" / "far.py")
    files = ["pkg/calc.py", "pkg/sub/deep.py", "tools/gen.py", "alias.py", "linked/deep.py", "far/far.py", "far.py", "gone.py"]
    assert narrowing._resolved(root, files, RootRelative(root)) == {f: (root / f).resolve() for f in files}


LEAVES_BEHIND = """
import os, subprocess, sys

from pkg.calc import add


def test_add_leaves_a_writer_behind():
    assert add(1, 2) == 3
    later = (
        "import os, sys, time\\n"
        "while os.getppid() == int(sys.argv[2]): time.sleep(0.01)\\n"
        "time.sleep(0.2)\\n"
        "open(sys.argv[1], 'a').write('# written once the tests had ended\\\\n')\\n"
    )
    target = os.path.abspath(os.path.join("pkg", "calc.py"))
    subprocess.Popen([sys.executable, "-c", later, target, str(os.getpid())],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""


def test_a_process_the_tests_leave_running_never_writes_once_they_have_ended(tmp_path: Path, make_ctx: Any) -> None:
    """The check says it writes no more once the tests have ended (``ctx.settled``) and the checkout
    is compared then: a process they left behind, writing into it a moment later, is ended with them."""
    root = write_project(tmp_path / "proj", "[tool.coverage.run]\nbranch = true\n")
    (root / "test_left.py").write_text(LEAVES_BEHIND)
    before = (root / "pkg" / "calc.py").read_text()
    checker = CoverageChecker()
    result = checker.run(section(checker, min_total=0.0, run=[*RUN, "test_left.py"]), make_ctx(root))
    assert result.status is Status.PASS, result.error
    time.sleep(1.0)  # the leftover would have written 0.2 s after the tests ended
    assert (root / "pkg" / "calc.py").read_text() == before
