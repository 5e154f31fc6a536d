"""Ctrl-C and SIGTERM during ``check``: tools are killed, no partial report, exit 130/143."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.signals import receive_sigint, sigint_raises

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = pytest.mark.usefixtures("own_coverage_settings")

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


def _start(tmp_path: Path, marker: str, audit: bool = False, command: tuple[str, ...] = ()) -> subprocess.Popen[str]:
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
        [sys.executable, "-m", "gatekeeper", *(command or ("check", "--only", "slow", "--format", "json,html")),
         *([] if audit else ["--no-audit"])],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=receive_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _tool_pids(marker):
        time.sleep(0.1)
    assert _tool_pids(marker), "the slow tool never started"
    return proc


def _tool_pids(marker: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_baseline_create_kills_its_tools_and_writes_no_baseline(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """Only ``check`` handled SIGTERM: ``baseline create`` ended by the signal and left its tools
    running (in process groups of their own, which the signal does not reach), and Ctrl-C exited 130
    leaving them too. Every command now kills what it started."""
    marker = f"{4100 + sig}.{os.getpid() % 1000}"
    proc = _start(tmp_path, marker, command=("baseline", "create", "--only", "slow"))
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, out + err
    what = "terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted (SIGINT)"
    assert f"gatekeeper: {what}; the tools it started were killed" in err and "Traceback" not in err
    assert not (tmp_path / "proj" / ".gatekeeper" / "baseline.json").exists()
    time.sleep(0.2)
    assert _tool_pids(marker) == []  # the tool it started is gone


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_a_real_tool_keeps_the_previous_reports_and_kills_grandchildren(
    project, faulty_python, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """A first run writes a full report set; a second run is stopped while bandit (and a child it
    started) runs: both are killed, the first run's reports are untouched (no partial or temporary
    file), and the audit log holds the complete run and the interrupted one, still verifiable."""
    from tests.helpers.env import alive, clean_env

    root = project()
    env = clean_env()
    only = ["--only", "coverage,security,dependencies"]
    first = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "check", *only], cwd=root, env=env, capture_output=True, text=True
    )
    assert first.returncode == 1, first.stdout + first.stderr
    out = root / "gatekeeper-reports"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"gatekeeper.json", "gatekeeper.sarif", "gatekeeper.html"} <= set(before)  # and the attestation's files
    pidfile = tmp_path / "pids"
    hang = f"sleep 300 & echo $! > {pidfile}; echo $$ >> {pidfile}; sleep 300"
    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text().replace("[gate]\n", f'[gate]\ntool_python = "{faulty_python("bandit", hang)}"\n', 1))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatekeeper", "check", *only, "--no-cache"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=receive_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(pidfile.read_text().split() if pidfile.exists() else []) < 2:
        time.sleep(0.05)
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stdout + stderr
    assert "Traceback" not in stderr and "no reports were written" in stderr
    time.sleep(0.3)
    assert [p for p in pids if alive(p)] == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    log = root / ".gatekeeper" / "audit.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["verdict"] for r in records] == ["fail", "interrupted"]
    verify = subprocess.run([sys.executable, "-m", "gatekeeper", "audit", "verify", str(log)], capture_output=True, text=True)
    assert verify.returncode == 0 and "consistent, not authenticated, 2 record(s)" in verify.stdout, verify.stdout + verify.stderr


def _sample_result():  # a small real result, rendered by every format
    from gatekeeper.findings import CheckResult, Finding, GateResult, Location, Severity, Status, Verdict

    finding = Finding(
        rule_id="R1", severity=Severity.HIGH, message="m", blocking=True, location=Location("a.py", 1), fingerprint="f"
    )
    check = CheckResult(name="demo", status=Status.FAIL, summary="1 finding", findings=(finding,))
    return GateResult(
        verdict=Verdict.FAIL, checks=(check,), tool_version="0", started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z", duration_s=1.0, repository={}, policy={}, waivers={}, extra={},
    )  # fmt: skip


FORMATS = ("json", "sarif", "html", "markdown", "junit")


def _signal_on_call(monkeypatch, name: str, call: int) -> None:
    """Deliver a real SIGINT to this process at the ``call``-th call of ``os.<name>``."""
    real = getattr(os, name)
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, wrapped)


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """A SIGINT sent to this process raises KeyboardInterrupt, even in a suite started with SIGINT ignored."""
    with sigint_raises():
        yield


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_while_reports_are_staged_leaves_the_old_set_and_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    from gatekeeper.reports import write_reports

    old = write_reports(_sample_result(), tmp_path, FORMATS)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _signal_on_call(monkeypatch, "fsync", 3)  # while the third report is being written
    written: dict[str, str] = {}
    newer = replace_verdict(_sample_result())
    with pytest.raises(KeyboardInterrupt):
        write_reports(newer, tmp_path, FORMATS, written)
    assert written == {}
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing half-written, nothing left over
    assert len(old) == 5


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_while_reports_are_renamed_completes_the_set_first(tmp_path: Path, monkeypatch) -> None:
    from gatekeeper.reports import write_reports

    write_reports(_sample_result(), tmp_path, FORMATS)
    _signal_on_call(monkeypatch, "replace", 1)  # as the first report is renamed into place
    written: dict[str, str] = {}
    with pytest.raises(KeyboardInterrupt):
        write_reports(replace_verdict(_sample_result()), tmp_path, FORMATS, written)
    assert len(written) == 5 and sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in written)
    for name in written:  # every report is the new run's: never a mix of two runs
        assert "2026-02-02" in Path(name).read_text(encoding="utf-8") or name.endswith(".md")


def replace_verdict(result):
    import dataclasses

    return dataclasses.replace(result, started_at="2026-02-02T00:00:00Z", finished_at="2026-02-02T00:00:01Z")


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from ``/proc``)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_as_the_command_starts_is_recorded_as_an_interrupted_run(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    """Ctrl-C or SIGTERM as soon as ``gatekeeper check`` runs (its first git command has started;
    the policy is not loaded yet, nor is anything checked) ends it as one later would: exit 130 or
    143, the run recorded as interrupted, no report. SIGTERM used to end the process on the spot,
    and either signal ended it unrecorded."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text("x = 1\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "s"]):
        subprocess.run(["git", *args], cwd=project, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True).stdout.strip()
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("gatekeeper")), "check", "--only", "security"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=receive_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _children(proc.pid) and proc.poll() is None:
        time.sleep(0.001)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, out + err
    assert "no reports were written" in err and "Traceback" not in err
    assert not (project / "gatekeeper-reports").exists()
    log = project / ".gatekeeper" / "audit.jsonl"
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["verdict"] == "interrupted" and sig.name in record["reason"]
    assert record["commit"] == head  # asked of git before the tools were stopped, after which none starts
