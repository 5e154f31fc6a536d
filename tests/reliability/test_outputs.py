"""Output faults and hostile content: unwritable places are clear errors (exit 2) with the
verdict still printed, and finding text cannot drive the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

HOSTILE = """
from gatekeeper.findings import CheckResult, Finding, Location, Severity, Status


class Hostile:
    name = "hostile"
    description = "emits hostile text"
    options = {}

    def run(self, section, ctx):
        message = "red \\x1b[31mALERT\\x1b[0m title \\x1b]0;pwned\\x07 bell \\x07 <script>alert(1)</script>"
        return CheckResult(name="hostile", status=Status.PASS, summary="\\x1b[2Jcleared",
                           findings=(Finding(rule_id="H1", severity=Severity.HIGH, message=message, blocking=True,
                                             location=Location("we\\x1bird.py", 1), fingerprint="f"),))
"""


@pytest.fixture
def env(tmp_path: Path, make_plugin) -> dict[str, str]:
    site = make_plugin(tmp_path / "site", "hostile-gate", "hostile_gate", HOSTILE, {"hostile": "hostile_gate:Hostile"})
    return {"PYTHONPATH": str(site)}


def test_escape_sequences_never_reach_the_terminal(tmp_path: Path, env: dict[str, str], gk) -> None:
    done = gk(["check", "--only", "hostile", "--format", "json", "--no-audit"], cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "red ALERT" in done.stdout and "<script>alert(1)</script>" in done.stdout
    assert "bell \\x07" in done.stdout  # control characters are shown, not obeyed


def test_unwritable_output_dir_is_exit_2_with_verdict_printed(tmp_path: Path, env: dict[str, str], gk) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    done = gk(
        ["check", "--only", "hostile", "--output-dir", "blocker/reports", "--format", "json", "--no-audit"], cwd=tmp_path, env=env
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "verdict: FAIL" in done.stdout
    assert "cannot write reports" in done.stderr and "Traceback" not in done.stderr


def test_unwritable_audit_log_is_exit_2(tmp_path: Path, env: dict[str, str], gk) -> None:
    (tmp_path / "blocker").write_text("x")
    (tmp_path / "gatekeeper.toml").write_text('[audit]\nlog = "blocker/audit.jsonl"\n')
    done = gk(["check", "--only", "hostile", "--format", "json"], cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "verdict: FAIL" in done.stdout and "audit log" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "gatekeeper-reports" / "gatekeeper.json").is_file()  # the reports were still written
