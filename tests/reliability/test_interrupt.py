"""Ctrl-C and SIGTERM during ``check``: tools are killed, no partial report, exit 130/143."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SLOW_PLUGIN = """
from gatekeeper.findings import CheckResult, Status


class SlowChecker:
    name = "slow"
    description = "runs a long tool"
    options = {}

    def run(self, section, ctx):
        ctx.run(["sleep", "{marker}"])
        return CheckResult(name="slow", status=Status.PASS)
"""


def _start(tmp_path: Path, marker: str, audit: bool = False) -> subprocess.Popen[str]:
    site = tmp_path / "site"
    (site / "slow_gate").mkdir(parents=True)
    (site / "slow_gate" / "__init__.py").write_text(SLOW_PLUGIN.replace("{marker}", marker))
    info = site / "slow_gate-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-gate\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[gatekeeper.checkers]\nslow = slow_gate:SlowChecker\n")
    project = tmp_path / "proj"
    project.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatekeeper", "check", "--only", "slow", "--format", "json,html",
         *([] if audit else ["--no-audit"])],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _tool_pids(marker):
        time.sleep(0.1)
    assert _tool_pids(marker), "the slow tool never started"
    return proc


def _tool_pids(marker: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_kills_tools_and_leaves_no_report(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    marker = f"{4000 + sig}.{os.getpid() % 1000}"
    proc = _start(tmp_path, marker)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, out + err
    assert "no reports were written" in err and "Traceback" not in err
    assert not (tmp_path / "proj" / "gatekeeper-reports").exists()
    time.sleep(0.2)
    assert _tool_pids(marker) == []  # the tool it started is gone


def test_an_interrupted_run_is_recorded_in_the_audit_log(tmp_path: Path) -> None:
    marker = f"4999.{os.getpid() % 1000}"
    proc = _start(tmp_path, marker, audit=True)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, out + err
    log = tmp_path / "proj" / ".gatekeeper" / "audit.jsonl"
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["verdict"] == "interrupted" and "SIGTERM" in record["reason"]
    verify = subprocess.run([sys.executable, "-m", "gatekeeper", "audit", "verify", str(log)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
