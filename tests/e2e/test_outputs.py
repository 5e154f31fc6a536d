"""Output faults and hostile content: unwritable places are clear errors (exit 2) with the
verdict still printed, and finding text cannot drive the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

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
def env(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, make_plugin) -> dict[str, str]:
    site = make_plugin(
        tmp_path_factory.mktemp("site"), "hostile-gate", "hostile_gate", HOSTILE, {"hostile": "hostile_gate:Hostile"}
    )
    return {"PYTHONPATH": str(site)}


def test_escape_sequences_never_reach_the_terminal(tmp_path: Path, env: dict[str, str], gk) -> None:
    done = gk(["check", "--only", "hostile", "--format", "json", "--no-audit"], cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "red \\x1b[31mALERT\\x1b[0m" in done.stdout and "<script>alert(1)</script>" in done.stdout
    assert "we\\x1bird.py" in done.stdout  # the file's real name, escaped: not "weird.py", another file
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


MANY = """
from gatekeeper.findings import CheckResult, Finding, Location, Package, Severity, Status


class Many:
    name = "many"
    description = "forty advisories"
    options = {}

    def run(self, section, ctx):
        findings = tuple(Finding(rule_id=f"ADV-{i}", severity=Severity.HIGH, message="x" * 500, blocking=True,
                                 package=Package("pkg", "1.0"), fingerprint=str(i)) for i in range(40))
        return CheckResult(name="many", status=Status.PASS, findings=findings)


class One:
    name = "one"
    description = "one code finding"
    options = {}

    def run(self, section, ctx):
        return CheckResult(name="one", status=Status.PASS, findings=(Finding(
            rule_id="B602", severity=Severity.MEDIUM, message="shell=True", blocking=True,
            location=Location("app.py", 3), fingerprint="b"),))
"""


def test_the_log_lists_every_check_s_findings_and_clips_long_messages(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, make_plugin, gk
) -> None:
    site = make_plugin(
        tmp_path_factory.mktemp("site"), "many-gate", "many_gate", MANY, {"many": "many_gate:Many", "one": "many_gate:One"}
    )
    done = gk(["check", "--only", "many,one", "--format", "json", "--no-audit"], cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert done.returncode == 1
    listed = [line for line in done.stdout.splitlines() if line.startswith("  [")]
    assert len(listed) == 20 and any("[one] medium B602 app.py:3" in line for line in listed)
    assert max(len(line) for line in listed) <= 200 and "… and 21 more (see the reports)" in done.stdout
