"""The engine isolates checkers: one that raises, hangs or returns nonsense becomes ``error``
while the others finish, checks run concurrently, and the verdict follows docs/design.md."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.base import CheckContext, Option, resolve
from gatekeeper.engine import HEAD_START_WAIT_S, Progress, RunRequest, run_checks
from gatekeeper.errors import UsageError
from gatekeeper.findings import CheckResult, Finding, GateResult, Location, Narrowing, Severity, Status, Verdict
from gatekeeper.policy import load_policy
from gatekeeper.reports.json import load_result, render_json


class Fixed:
    """A checker that returns what it is told after an optional delay."""

    options: Mapping[str, Option] = {"threshold": Option("int", 1, minimum=0)}
    description = "test checker"

    def __init__(self, name: str, findings: tuple[Finding, ...] = (), delay: float = 0.0) -> None:
        self.name = name
        self.findings = findings
        self.delay = delay
        self.seen: dict[str, Any] = {}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        self.seen = dict(section)
        time.sleep(self.delay)
        blocking = tuple(f for f in self.findings if f.severity.rank >= section["threshold"])
        return CheckResult(name=self.name, status=Status.PASS, summary="ok", findings=blocking)


class Raises(Fixed):
    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        raise RuntimeError("boom in plugin")


class Hangs(Fixed):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.release = threading.Event()

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        self.release.wait(30)
        return CheckResult(name=self.name, status=Status.PASS)


class Nonsense(Fixed):
    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> Any:
        return {"status": "pass"}


class UnexplainedFail(Fixed):
    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        return CheckResult(name=self.name, status=Status.FAIL, summary="bad")


class HangingTool(Fixed):
    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        ctx.run(["sleep", "60"])
        return CheckResult(name=self.name, status=Status.PASS)


def finding(rule: str, blocking: bool = True, severity: Severity = Severity.HIGH) -> Finding:
    return Finding(rule_id=rule, severity=severity, message=f"{rule} found", blocking=blocking,
                   location=Location("app.py", 3), fingerprint=f"fp-{rule}")  # fmt: skip


def run(tmp_path: Path, checkers: dict[str, Any], policy: str = "", **kw: Any):
    (tmp_path / "gatekeeper.toml").write_text(policy, encoding="utf-8")
    options = {n: c.options for n, c in checkers.items()}
    pol = load_policy(tmp_path, options)
    request = RunRequest(root=tmp_path, policy=pol, output_dir=tmp_path / "out", **kw)
    return run_checks(request, {name: resolve(name, c) for name, c in checkers.items()})


def test_failures_are_isolated_and_others_finish(tmp_path: Path, record_timing: Callable[[str, float], None]) -> None:
    hang = Hangs("hangs")
    checkers = {"good": Fixed("good"), "raises": Raises("raises"), "hangs": hang, "nonsense": Nonsense("nonsense")}
    t0 = time.monotonic()
    result = run(tmp_path, checkers, "[checks.hangs]\ntimeout_s = 1\n")
    record_timing("engine with a checker hanging past timeout_s = 1", time.monotonic() - t0)
    hang.release.set()
    status = {c.name: c.status for c in result.checks}
    assert status == {"good": Status.PASS, "raises": Status.ERROR, "hangs": Status.ERROR, "nonsense": Status.ERROR}
    errors = {c.name: c.error for c in result.checks}
    assert "RuntimeError: boom in plugin" in errors["raises"]
    assert "timed out after 1s" in errors["hangs"]
    assert "returned dict, not a CheckResult" in errors["nonsense"]
    assert result.verdict is Verdict.ERROR and result.exit_code == 3


def test_error_does_not_fail_the_gate_when_fail_on_error_is_off(tmp_path: Path) -> None:
    result = run(tmp_path, {"good": Fixed("good"), "raises": Raises("raises")}, "[gate]\nfail_on_error = false\n")
    assert result.verdict is Verdict.PASS and result.exit_code == 0


def test_blocking_finding_fails_and_threshold_comes_from_the_section(tmp_path: Path) -> None:
    checker = Fixed("sec", findings=(finding("X1", severity=Severity.MEDIUM),))
    result = run(tmp_path, {"sec": checker}, "[checks.sec]\nthreshold = 2\n")
    assert checker.seen["threshold"] == 2 and checker.seen["enabled"] is True
    assert result.verdict is Verdict.FAIL and result.exit_code == 1
    result = run(tmp_path, {"sec": checker}, "[checks.sec]\nthreshold = 3\n")
    assert result.verdict is Verdict.PASS


def test_a_failure_without_findings_stays_a_failure(tmp_path: Path) -> None:
    result = run(tmp_path, {"odd": UnexplainedFail("odd")})
    assert result.checks[0].status is Status.FAIL and result.verdict is Verdict.FAIL


def test_pass_with_blocking_findings_is_corrected_to_fail(tmp_path: Path) -> None:
    class Liar(Fixed):
        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            return CheckResult(name=self.name, status=Status.PASS, findings=(finding("L1"),))

    result = run(tmp_path, {"liar": Liar("liar")})
    assert result.checks[0].status is Status.FAIL and result.exit_code == 1


def test_a_plugins_narrowing_records_are_kept_and_malformed_ones_make_its_check_an_error(tmp_path: Path) -> None:
    record = Narrowing("exclude", "plugin.cfg", 3, "skip = vendor/", "the plugin skips these files", ("vendor/a.py",), None)

    class Narrows(Fixed):
        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            return CheckResult(name=self.name, status=Status.PASS, narrowing=(record,))

    class Garbled(Fixed):
        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            return CheckResult(name=self.name, status=Status.PASS, narrowing=(Narrowing("", "x", -1, "d", "e"),))

    result = run(tmp_path, {"narrows": Narrows("narrows"), "garbled": Garbled("garbled")})
    narrows, garbled = result.check("narrows"), result.check("garbled")
    assert narrows is not None and narrows.narrowing == (record,) and narrows.status is Status.PASS
    assert garbled is not None and garbled.status is Status.ERROR
    assert "malformed result: narrowing record 1: kind is empty" in (garbled.error or "")
    assert GateResult.from_dict(result.to_dict()).check("narrows").narrowing == (record,)  # type: ignore[union-attr]


def _nested(levels: int) -> dict[str, Any]:
    tree: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        tree = {"a": tree}
    return tree


@pytest.mark.parametrize(
    ("metrics", "properties", "named"),
    [
        ({"score": 1e300}, {}, "metrics.score is 1e+300"),
        ({"ratio": float("nan")}, {}, "metrics.ratio is nan"),
        ({"table": {"rows": [1, float("-inf")]}}, {}, "metrics.table.rows[1] is -inf"),
        ({"count": 10**400}, {}, "metrics.count is an integer of 401 digits"),
        ({"tree": _nested(60)}, {}, "metrics.tree" + ".a" * 59 + " nests past the 64 levels"),
        ({}, {"cvss": 1e300}, "finding 1 (P1) properties.cvss is 1e+300"),
    ],
    ids=["1e300", "nan", "inf", "400-digits", "deep", "finding-property"],
)
def test_a_plugin_value_gatekeeper_could_not_read_back_makes_its_check_an_error(
    tmp_path: Path, metrics: dict[str, Any], properties: dict[str, Any], named: str
) -> None:
    class Extreme(Fixed):
        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            finding = Finding("P1", Severity.LOW, "plugin says", properties=properties)
            return CheckResult(name=self.name, status=Status.PASS, findings=(finding,), metrics=metrics)

    class Edge(Fixed):  # the largest values that do read back
        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            finding = Finding("P2", Severity.LOW, "plugin says", properties={"tree": _nested(57)})
            metrics = {"big": 2**63, "f": 9.2e18, "tree": _nested(59)}
            return CheckResult(name=self.name, status=Status.PASS, findings=(finding,), metrics=metrics)

    result = run(tmp_path, {"extreme": Extreme("extreme"), "edge": Edge("edge")})
    extreme, edge = result.check("extreme"), result.check("edge")
    assert extreme is not None and extreme.status is Status.ERROR and result.exit_code == 3
    assert named in (extreme.error or "") and "could not read back" in (extreme.error or "")
    assert edge is not None and edge.status is Status.PASS
    written = tmp_path / "gatekeeper.json"
    written.write_text(render_json(result), encoding="utf-8")
    back = load_result(written)  # every result gatekeeper writes is one `report` and `merge` read
    assert back.check("edge").metrics["big"] == 2**63  # type: ignore[union-attr]


class Meets(Fixed):
    """A checker that passes only if all the checkers sharing its barrier are running at the same time."""

    def __init__(self, name: str, barrier: threading.Barrier) -> None:
        super().__init__(name)
        self.barrier = barrier

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        self.barrier.wait()  # raises BrokenBarrierError (the check errors) if the others never come
        return super().run(section, ctx)


def test_checkers_run_concurrently(tmp_path: Path, record_timing: Callable[[str, float], None]) -> None:
    # four checkers that each wait for the other three: one after the other, none would ever pass
    barrier = threading.Barrier(4, timeout=60)
    checkers = {f"c{i}": Meets(f"c{i}", barrier) for i in range(4)}
    t0 = time.monotonic()
    result = run(tmp_path, checkers)
    record_timing("engine, four checkers meeting at a barrier", time.monotonic() - t0)
    assert [c.error for c in result.checks] == [None] * 4
    assert result.verdict is Verdict.PASS


def test_a_hanging_tool_is_killed_at_the_deadline(tmp_path: Path, record_timing: Callable[[str, float], None]) -> None:
    t0 = time.monotonic()
    result = run(tmp_path, {"tool": HangingTool("tool")}, "[checks.tool]\ntimeout_s = 1\n")
    record_timing("engine with a tool hanging past timeout_s = 1", time.monotonic() - t0)
    assert result.checks[0].status is Status.ERROR
    assert "killed" in (result.checks[0].error or "") or "timed out" in (result.checks[0].error or "")


def test_only_skip_and_enabled_select_checkers(tmp_path: Path) -> None:
    checkers = {"a": Fixed("a"), "b": Fixed("b"), "c": Fixed("c")}
    assert [c.name for c in run(tmp_path, checkers, only=("b",)).checks] == ["b"]
    assert [c.name for c in run(tmp_path, checkers, skip=("a",)).checks] == ["b", "c"]
    assert [c.name for c in run(tmp_path, checkers, "[checks.c]\nenabled = false\n").checks] == ["a", "b"]
    with pytest.raises(UsageError, match="no checker named 'd'"):
        run(tmp_path, checkers, only=("d",))


def test_waiver_unblocks_and_expired_waiver_blocks_again(tmp_path: Path) -> None:
    checker = Fixed("sec", findings=(finding("B101"),))
    waiver = '[[waivers]]\ncheck = "sec"\nrule = "B101"\nreason = "fine in tests"\napproved_by = "lead"\nexpires = {}\n'
    today = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
    result = run(tmp_path, {"sec": checker}, waiver.format("2026-06-01"), clock=lambda: today)
    assert result.verdict is Verdict.PASS
    waived = result.checks[0].findings[0]
    assert waived.waiver is not None and waived.waiver.reason == "fine in tests" and not waived.blocking
    assert [w["id"] for w in result.waivers["applied"]] == ["W1"]
    result = run(tmp_path, {"sec": checker}, waiver.format("2026-05-31"), clock=lambda: today)
    assert result.verdict is Verdict.FAIL
    assert [w["id"] for w in result.waivers["expired"]] == ["W1"]
    assert result.waivers["expired"][0]["findings"] == 1


def test_json_result_round_trips(tmp_path: Path) -> None:
    from gatekeeper.findings import GateResult

    result = run(tmp_path, {"sec": Fixed("sec", findings=(finding("B1"), finding("B2", severity=Severity.LOW)))})
    again = GateResult.from_dict(result.to_dict())
    assert again.to_dict() == result.to_dict()


def test_a_run_records_its_scope_and_the_working_tree_state(tmp_path: Path) -> None:
    """A run of part of the policy (--only, --skip, one shard) is not complete, and its audit record says
    so; the working tree's state is taken before any check runs (a tool writing files cannot change it)."""
    import subprocess

    from gatekeeper.audit import build_record

    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}
    git = ["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True, env=env)
    (tmp_path / "gatekeeper.toml").write_text("", encoding="utf-8")
    subprocess.run([*git, "add", "gatekeeper.toml"], check=True, env=env)
    subprocess.run([*git, "commit", "-q", "-m", "policy"], check=True, env=env)
    checkers = {"a": Fixed("a"), "b": Fixed("b")}
    whole = run(tmp_path, checkers)
    assert whole.extra["scope"] == {"complete": True, "only": [], "skip": [], "left_out": []}
    assert whole.repository["dirty"] is False  # gatekeeper.toml is rewritten by run() with the same bytes
    record = build_record(whole, {}, "check")
    assert record["scope"]["complete"] is True and record["dirty"] is False
    only = run(tmp_path, checkers, only=("a",))
    partial = {"complete": False, "only": ["a"], "skip": [], "left_out": ["b"]}
    assert only.verdict is Verdict.PASS and only.extra["scope"] == partial
    assert build_record(only, {}, "check")["scope"] == partial
    (tmp_path / "gatekeeper.toml").write_text("# edited\n", encoding="utf-8")
    (tmp_path / "untracked.txt").write_text("not part of the commit\n", encoding="utf-8")
    dirty = run(tmp_path, checkers, "# edited\n", skip=("b",))
    assert dirty.repository["dirty"] is True and build_record(dirty, {}, "check")["dirty"] is True
    assert dirty.extra["scope"]["complete"] is False and dirty.extra["scope"]["skip"] == ["b"]


def test_the_console_says_a_partial_pass_gates_nothing(tmp_path: Path) -> None:
    import io

    from gatekeeper.console import Console

    result = run(tmp_path, {"a": Fixed("a"), "b": Fixed("b")}, only=("a",))
    out = io.StringIO()
    Console(stream=out, live=False).summary(result)
    assert "verdict: PASS (every selected check passed; partial: only a: it gates no commit)" in out.getvalue()


def test_the_types_check_starts_first_and_the_result_keeps_the_policys_order(tmp_path: Path) -> None:
    """mypy runs longest: its thread starts before the others', which changes nothing in the result;
    the progress hears when every check is running."""
    names = ("coverage", "lint", "types", "zeta")
    (tmp_path / "gatekeeper.toml").write_text("", encoding="utf-8")
    checkers = {n: Fixed(n, delay=0.05) for n in names}
    pol = load_policy(tmp_path, {n: c.options for n, c in checkers.items()})
    order: list[str] = []

    class Seen(Progress):
        def started(self, name: str) -> None:
            order.append(name)

        def running(self) -> None:
            order.append("(all running)")

    request = RunRequest(root=tmp_path, policy=pol, output_dir=tmp_path / "out")
    result = run_checks(request, {n: resolve(n, c) for n, c in checkers.items()}, Seen())
    assert order[0] == "types" and sorted(order[:-1]) == sorted(names) and order[-1] == "(all running)"
    assert [c.name for c in result.checks] == list(names)


class Launches(Fixed):
    """A check whose long tool starts ``after`` seconds into its run (``begun``), or never says so."""

    options: Mapping[str, Option] = {**Fixed.options, "run": Option("str_list", [])}

    def __init__(self, name: str, after: float, says: bool = True) -> None:
        super().__init__(name)
        self.after, self.says, self.begun_at = after, says, 0.0

    def head_start(self, section: Mapping[str, Any]) -> bool:
        return bool(section["run"])

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        time.sleep(self.after)
        self.begun_at = time.monotonic()
        if self.says:
            ctx.begun()
        time.sleep(0.2)
        return super().run(section, ctx)


class Stamps(Fixed):
    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        self.started_at = time.monotonic()
        return super().run(section, ctx)


def test_a_check_with_a_head_start_starts_its_tool_before_any_other_check_starts(tmp_path: Path) -> None:
    """A check whose ``head_start`` says so (the coverage check running the tests: the step nothing
    can shorten) starts alone; the others start once it says its tool has started (``begun``); one
    that never says so holds them back briefly at most."""
    checkers = {"coverage": Launches("coverage", after=0.3), "lint": Stamps("lint"), "types": Stamps("types")}
    result = run(tmp_path, checkers, '[checks.coverage]\nrun = ["pytest"]\n')
    assert [c.status for c in result.checks] == [Status.PASS] * 3
    begun = checkers["coverage"].begun_at
    assert all(begun <= checkers[n].started_at < begun + 0.15 for n in ("lint", "types"))
    # without run (head_start false) every check starts at once
    checkers = {"coverage": Launches("coverage", after=0.3), "lint": Stamps("lint")}
    run(tmp_path, checkers)
    assert checkers["lint"].started_at < checkers["coverage"].begun_at - 0.2
    # a coverage check that never says its tests started holds the others back for HEAD_START_WAIT_S
    checkers = {"coverage": Launches("coverage", after=1.0, says=False), "lint": Stamps("lint")}
    t0 = time.monotonic()
    run(tmp_path, checkers, '[checks.coverage]\nrun = ["pytest"]\n')
    assert HEAD_START_WAIT_S - 0.05 <= checkers["lint"].started_at - t0 < HEAD_START_WAIT_S + 0.5


class Ahead(Launches):
    """The types check: it asks for a head start whatever its section says."""

    def head_start(self, section: Mapping[str, Any]) -> bool:
        return True


def test_the_test_command_keeps_the_head_start_before_mypys_and_mypy_has_it_without_one(tmp_path: Path) -> None:
    """The types check starts ahead of the others (mypy's process first) unless the coverage check
    runs the tests, whose command keeps the head start even when types comes first in the order."""
    checkers = {"types": Ahead("types", after=0.3), "coverage": Launches("coverage", after=0.3), "lint": Stamps("lint")}
    result = run(tmp_path, checkers, '[checks.coverage]\nrun = ["pytest"]\n')
    assert [c.status for c in result.checks] == [Status.PASS] * 3
    begun = checkers["coverage"].begun_at
    assert begun <= checkers["lint"].started_at < begun + 0.15
    assert checkers["types"].begun_at > begun  # its thread started with the others, once the tests had
    # without run: the types check starts alone, the others once mypy has started
    checkers = {"coverage": Launches("coverage", after=0.3), "lint": Stamps("lint"), "types": Ahead("types", after=0.3)}
    run(tmp_path, checkers)
    begun = checkers["types"].begun_at
    assert begun <= checkers["lint"].started_at < begun + 0.15
    assert begun <= checkers["coverage"].begun_at


def test_work_started_in_the_background_hands_back_its_value_or_its_exception() -> None:
    from gatekeeper.background import in_background

    assert in_background(lambda: {"commit": "abc"}, "t")() == {"commit": "abc"}
    failing = in_background(lambda: int("not a number"), "t")
    with pytest.raises(ValueError, match="not a number"):
        failing()


def test_each_check_is_told_how_many_checks_run_at_once(tmp_path: Path) -> None:
    """A checker may trade parallelism of its own for less CPU when others run beside it."""
    told: dict[str, int] = {}

    class Counts(Fixed):
        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            told[self.name] = ctx.checks_at_once
            return super().run(section, ctx)

    run(tmp_path, {"a": Counts("a"), "b": Counts("b"), "c": Counts("c")})
    assert told == {"a": 3, "b": 3, "c": 3}
    told.clear()
    run(tmp_path, {"a": Counts("a")})
    assert told == {"a": 1}


def test_a_head_start_hook_that_raises_or_answers_nonsense_gives_no_head_start(tmp_path: Path) -> None:
    class Broken(Launches):
        def head_start(self, section: Mapping[str, Any]) -> Any:
            raise RuntimeError("boom")

    class Nonsense(Launches):
        def head_start(self, section: Mapping[str, Any]) -> Any:
            return "yes"

    for kind in (Broken, Nonsense):
        checkers = {"coverage": kind("coverage", after=0.3), "lint": Stamps("lint")}
        result = run(tmp_path, checkers, '[checks.coverage]\nrun = ["pytest"]\n')
        assert [c.status for c in result.checks] == [Status.PASS] * 2
        assert checkers["lint"].started_at < checkers["coverage"].begun_at - 0.2


def test_a_tool_a_timed_out_check_left_running_is_killed_before_the_run_ends(tmp_path: Path) -> None:
    """The engine gives up on a check at its deadline and leaves its thread behind; the tool that
    thread started must not outlive the run (the process ends without waiting for threads)."""
    import os
    import subprocess

    from gatekeeper import process

    started: list[subprocess.Popen[bytes]] = []

    class Stuck(Fixed):
        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            with open(os.devnull, "wb") as devnull:
                started.append(process.spawn(["sleep", "300"], cwd=ctx.root, stderr=devnull))
            time.sleep(30)  # past the deadline, never reaching its own clean-up
            return super().run(section, ctx)

    result = run(tmp_path, {"stuck": Stuck("stuck"), "good": Fixed("good")}, "[checks.stuck]\ntimeout_s = 1\n")
    assert [c.status for c in result.checks] == [Status.ERROR, Status.PASS]
    (proc,) = started
    assert proc.wait(timeout=5) == -9  # killed with its group as the run ended, not left running
    process._LIVE.discard(proc)  # its owner (the abandoned thread) never releases it
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def test_the_selected_checks_run_imports_load_in_a_thread_of_their_own_as_the_run_begins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check's run path is imported while the engine waits for git, not after the check started;
    a module that fails to import is left for the check's own import, and an unselected check's
    modules are not imported."""
    import sys

    modules = tmp_path / "modules"
    modules.mkdir()
    loaded = "import threading\nBY = threading.current_thread().name\n"
    (modules / "gk_run_path_selected.py").write_text(loaded, encoding="utf-8")
    (modules / "gk_run_path_unselected.py").write_text(loaded, encoding="utf-8")
    (modules / "gk_run_path_broken.py").write_text("raise ImportError('broken on purpose')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(modules))
    for name in ("gk_run_path_selected", "gk_run_path_unselected", "gk_run_path_broken"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    class Imports(Fixed):
        def __init__(self, name: str, run_imports: tuple[str, ...]) -> None:
            super().__init__(name)
            self.run_imports = run_imports

    checkers = {
        "chosen": Imports("chosen", ("gk_run_path_selected", "gk_run_path_broken")),
        "other": Imports("other", ("gk_run_path_unselected",)),
    }
    result = run(tmp_path, checkers, only=("chosen",))
    assert [(c.name, c.status) for c in result.checks] == [("chosen", Status.PASS)]
    deadline = time.monotonic() + 30
    while "gk_run_path_selected" not in sys.modules and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sys.modules["gk_run_path_selected"].BY == "gatekeeper-run-imports"
    assert "gk_run_path_unselected" not in sys.modules and "gk_run_path_broken" not in sys.modules


def test_with_a_head_start_the_run_imports_wait_until_its_tool_has_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test command of ``checks.coverage.run`` starts before the other checks' run paths are
    imported (they took the interpreter's lock from the work that starts it); they are imported,
    in their own thread, once it has."""
    import sys

    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "gk_run_path_later.py").write_text(
        "import threading, time\nAT = time.monotonic()\nBY = threading.current_thread().name\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(modules))
    monkeypatch.delitem(sys.modules, "gk_run_path_later", raising=False)

    class Imports(Fixed):
        run_imports = ("gk_run_path_later",)

    checkers = {"coverage": Launches("coverage", after=0.3), "lint": Imports("lint")}
    result = run(tmp_path, checkers, '[checks.coverage]\nrun = ["pytest"]\n')
    assert [c.status for c in result.checks] == [Status.PASS] * 2
    deadline = time.monotonic() + 30
    while "gk_run_path_later" not in sys.modules and time.monotonic() < deadline:
        time.sleep(0.01)
    later = sys.modules["gk_run_path_later"]
    assert later.BY == "gatekeeper-run-imports" and later.AT >= checkers["coverage"].begun_at
