"""The console: a live progress line and colour on a terminal, plain lines in CI, NO_COLOR honoured."""

from __future__ import annotations

import datetime
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

SLOW = """
import time
from gatekeeper.findings import CheckResult, Status


class Slow:
    name = "slow"
    description = "takes a second"
    options = {}

    def run(self, section, ctx):
        time.sleep(1.2)
        return CheckResult(name="slow", status=Status.PASS, summary="done")
"""


def _on_terminal(cwd: Path, env: dict[str, str]) -> str:
    """Run ``gatekeeper check`` with a pseudo-terminal as its stdout; return what it drew."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatekeeper", "check", "--only", "slow", "--format", "json", "--no-audit"],
        cwd=cwd, env=env, stdout=follower, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow  # end to end: gatekeeper runs as a process on a pseudo-terminal
def test_live_line_and_colour_on_a_terminal(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, make_plugin) -> None:
    site = make_plugin(tmp_path_factory.mktemp("site"), "slow-gate", "slow_gate", SLOW, {"slow": "slow_gate:Slow"})
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CI")}
    env.update({"PYTHONPATH": str(site), "TERM": "xterm"})
    drawn = _on_terminal(tmp_path, env)
    assert "running: slow 1s" in drawn  # the live line, redrawn while the check runs
    assert "\x1b[32mpass" in drawn  # coloured status
    assert "verdict: \x1b[32mPASS" in drawn
    env["NO_COLOR"] = "1"
    plain = _on_terminal(tmp_path, env)
    assert "running: slow" in plain and "\x1b[32m" not in plain and "verdict: PASS" in plain


FLAGGED = """
from gatekeeper.findings import CheckResult, Finding, Severity, Status


class Flagged:
    name = "flagged"
    description = "finds one thing"
    options = {}

    def run(self, section, ctx):
        found = Finding(rule_id="F1", severity=Severity.HIGH, message="one thing", blocking=True)
        return CheckResult(name="flagged", status=Status.FAIL, summary="1 finding", findings=(found,))
"""

WAIVED = """[[waivers]]
check = "flagged"
rule = "F1"
reason = "the one thing is accepted here"
approved_by = "lead@example.com"
expires = {expires}
"""


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_plain_lines_when_not_a_terminal(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, make_plugin, gk) -> None:
    site = make_plugin(tmp_path_factory.mktemp("site"), "slow-gate", "slow_gate", SLOW, {"slow": "slow_gate:Slow"})
    done = gk(["check", "--only", "slow", "--format", "json", "--no-audit"], cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert done.returncode == 0
    assert "gatekeeper: slow started" in done.stdout and "gatekeeper: slow finished in " in done.stdout
    assert "\x1b" not in done.stdout and "running:" not in done.stdout


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_a_finished_line_never_states_a_status_the_verdict_then_reverses(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, make_plugin, gk
) -> None:
    site = make_plugin(tmp_path_factory.mktemp("site"), "flag-gate", "flag_gate", FLAGGED, {"flagged": "flag_gate:Flagged"})
    expires = datetime.date.today() + datetime.timedelta(days=30)
    (tmp_path / "gatekeeper.toml").write_text(WAIVED.format(expires=expires.isoformat()), encoding="utf-8")
    done = gk(["check", "--only", "flagged", "--format", "json", "--no-audit"], cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stdout + done.stderr  # the waiver clears the one finding
    lines = done.stdout.splitlines()
    finished = next(line for line in lines if line.startswith("gatekeeper: flagged ") and "started" not in line)
    assert finished.startswith("gatekeeper: flagged finished in ") and finished.endswith(": 1 finding")
    assert " fail" not in finished
    row = next(line for line in lines if line.startswith("flagged "))
    assert row.split()[1] == "pass" and "verdict: PASS" in done.stdout


def test_the_environment_line_tells_the_truth_for_the_scope(tmp_path: Path, monkeypatch) -> None:
    import io

    from gatekeeper.console import Console
    from tests.helpers.dists import make_project, run_gate

    monkeypatch.delenv("VIRTUAL_ENV", raising=False)  # no environment named: gatekeeper's own is inspected
    lines = {}
    for scope in ("all", "project"):
        policy = (
            f'[environment]\nscope = "{scope}"\n[checks.licenses]\nallow_empty = true\nallow = []\ndeny = []\nunknown = "warn"\n'
        )
        root = make_project(tmp_path / scope, policy, deps=[])
        gate = run_gate(root, ("licenses",))
        assert gate.extra["environment"]["gatekeeper_own"] is True and gate.extra["environment"]["scope"] == scope
        shown = io.StringIO()
        Console(shown, live=False).summary(gate)
        lines[scope] = next(line for line in shown.getvalue().splitlines() if line.startswith("environment: "))
        left_out = {p.lower() for p in gate.checks[0].metrics.get("left_out") or []}
        names = {str(p["name"]).lower() for p in gate.checks[0].metrics["packages"]}
        if scope == "project":
            assert "jinja2" in left_out and "jinja2" not in names  # gatekeeper's own dependency, not checked
        else:
            assert "jinja2" in names
    assert lines["all"].endswith("; gatekeeper's own dependencies are among the packages")
    assert lines["project"].endswith("; scope project: only the project's dependencies are checked, not gatekeeper's own")
