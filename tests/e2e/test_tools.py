"""Tool faults: a tool missing, exiting non-zero, printing garbage or truncated JSON, hanging past
the timeout, or producing 100,000 findings. Each gives the right status and a clear message, and
the other checks still report; no traceback, and every report is written whole.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers.env import alive, clean_env
from tests.helpers.reports import report, statuses

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

ALL = ["check", "--only", "coverage,security,dependencies"]


def assert_others_report(data: dict, broken: str) -> None:
    """Every check but ``broken`` ran and reported its real result."""
    got = statuses(data)
    expected = {"coverage": "pass", "security": "fail", "dependencies": "pass"}
    for name, status in expected.items():
        if name != broken:
            assert got[name] == status, (name, data)
    cov = next(c for c in data["checks"] if c["name"] == "coverage")
    assert cov["metrics"]["total"] > 0 and cov["metrics"]["source"] == "coverage-json"
    deps = next(c for c in data["checks"] if c["name"] == "dependencies")
    assert deps["metrics"]["packages_audited"] == 1 and deps["metrics"]["service"] == "osv-db"


def assert_reports_whole(root: Path) -> None:
    """All five reports exist and parse; no temporary file is left behind."""
    out = root / "gatekeeper-reports"
    names = sorted(p.name for p in out.iterdir() if p.name != "sbom.cdx.json")  # the SBOM, when it was made
    reports = ["gatekeeper.html", "gatekeeper.json", "gatekeeper.junit.xml", "gatekeeper.md", "gatekeeper.sarif"]
    attestation = ["gatekeeper.intoto.json", "gatekeeper.predicate.json", "gatekeeper.subjects.sha256"]
    assert names == sorted([*reports, *attestation])
    json.loads((out / "gatekeeper.sarif").read_text(encoding="utf-8"))
    ET.parse(out / "gatekeeper.junit.xml")  # noqa: S314 - our own report
    assert (out / "gatekeeper.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def test_baseline_every_check_reports(project, gk) -> None:
    """The project the fault tests break: without a fault, the gate fails on bandit's B301 only."""
    root = project()
    done = gk(ALL, cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    data = report(root)
    assert_others_report(data, broken="")
    sec = next(c for c in data["checks"] if c["name"] == "security")
    assert sorted((f["rule_id"], f["blocking"]) for f in sec["findings"]) == [("B301", True), ("B403", False)]


def test_tools_missing_each_says_not_installed(project, bare_python: Path, gk) -> None:
    """An interpreter without bandit, coverage and pip-audit: three clear errors, exit 3, reports written."""
    root = project(gate=f'tool_python = "{bare_python}"', data_file=".coverage", advisory_db="")
    done = gk([*ALL, "--no-cache"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    errors = {c["name"]: c["error"] for c in report(root)["checks"]}
    assert errors["security"].startswith(f"bandit is not installed in {bare_python}")
    assert errors["coverage"].startswith(f"coverage.py is not installed in {bare_python}")
    assert errors["dependencies"].startswith(f"pip-audit is not installed for {bare_python}")
    assert "verdict: ERROR" in done.stdout
    for name in ("security", "coverage", "dependencies"):
        assert f"error in {name}: " in done.stdout
    assert_reports_whole(root)


def test_sbom_and_license_tools_missing_say_not_installed(project, bare_python: Path, gk) -> None:
    root = project(gate=f'tool_python = "{bare_python}"')
    done = gk(["check", "--only", "sbom,licenses", "--no-cache"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    errors = {c["name"]: c["error"] for c in report(root)["checks"]}
    assert errors["sbom"].startswith(f"cyclonedx-bom is not installed in {bare_python}")
    assert errors["licenses"].startswith(f"pip-licenses is not installed in {bare_python}")
    assert "Traceback" not in done.stdout + done.stderr
    assert_reports_whole(root)


def test_tool_python_that_does_not_exist(project, tmp_path: Path, gk) -> None:
    missing = tmp_path / "nowhere" / "python"
    root = project(gate=f'tool_python = "{missing}"')
    done = gk([*ALL, "--no-cache"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    data = report(root)
    sec = next(c for c in data["checks"] if c["name"] == "security")
    assert sec["status"] == "error" and f"{missing} is not installed" in sec["error"]
    assert_others_report(data, broken="security")


FAULTS = {
    "crash": ('echo "Traceback (most recent call last):\nRuntimeError: boom" >&2; exit 2', "bandit failed (exit 2)"),
    "garbage": ('echo "<html><body>502 Bad Gateway</body></html>"; exit 0', "bandit printed output that is not its JSON report"),
    # the real bandit's real output, cut off after 300 bytes
    "truncated": ('"$REAL" "$@" | head -c 300; exit 1', "bandit printed output that is not its JSON report"),
    "empty": ("exit 0", "bandit printed output that is not its JSON report"),
    "wrong-json": ('echo \'{"results": 42, "errors": [], "metrics": {}}\'; exit 0', "not its JSON report"),
    # a well-framed report (byte count, newline, JSON) that leaves the file out
    "missing-file": (
        'r=\'{"results": [], "errors": [], "metrics": {}}\'; printf "%d\\n%s" ${#r} "$r"; exit 0',
        "did not report on 1 of the files",
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_bandit_misbehaving_is_an_error_and_the_others_still_report(project, faulty_python, gk, fault: str) -> None:
    script, message = FAULTS[fault]
    root = project(gate=f'tool_python = "{faulty_python("bandit", script)}"')
    done = gk([*ALL, "--no-cache"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    data = report(root)
    sec = next(c for c in data["checks"] if c["name"] == "security")
    assert sec["status"] == "error" and message in sec["error"], sec["error"]
    assert sec["findings"] == []  # never a pass, never half the findings
    assert_others_report(data, broken="security")
    assert "error in security: " in done.stdout and "verdict: ERROR" in done.stdout
    assert_reports_whole(root)
    sarif = json.loads((root / "gatekeeper-reports" / "gatekeeper.sarif").read_text(encoding="utf-8"))
    omitted = sarif["properties"]["gatekeeper"]["omitted_checks"]
    assert [o["check"] for o in omitted] == ["security"]  # no empty run that would close open alerts


def test_fail_on_error_false_reports_the_error_but_exit_follows_the_others(project, faulty_python, gk) -> None:
    root = project(gate=f'fail_on_error = false\ntool_python = "{faulty_python("bandit", "exit 2")}"')
    done = gk([*ALL, "--no-cache"], cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert statuses(report(root))["security"] == "error" and "error in security: bandit failed (exit 2)" in done.stdout


def _hang(pidfile: Path) -> str:
    # the tool starts a child and both sleep: the whole process group must be killed
    return f"sleep 300 & echo $! > {pidfile}; echo $$ >> {pidfile}; sleep 300; exit 0"


def test_hanging_bandit_is_killed_with_its_children(project, faulty_python, tmp_path: Path, gk, record_timing) -> None:
    pidfile = tmp_path / "pids"
    root = project(gate=f'tool_python = "{faulty_python("bandit", _hang(pidfile))}"', security="timeout_s = 3")
    t0 = time.monotonic()
    done = gk([*ALL, "--no-cache"], cwd=root, timeout=60)
    record_timing("check with bandit hanging past timeout_s = 3", time.monotonic() - t0)
    assert done.returncode == 3, done.stdout + done.stderr
    data = report(root)
    sec = next(c for c in data["checks"] if c["name"] == "security")
    assert sec["status"] == "error" and "3s" in sec["error"] and ("killed" in sec["error"] or "timed out" in sec["error"])
    assert_others_report(data, broken="security")
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 2
    time.sleep(0.3)
    assert [p for p in pids if alive(p)] == []


def test_hanging_test_command_under_coverage_is_killed(project, tmp_path: Path, gk) -> None:
    """checks.coverage.run starts the project's tests in the environment's interpreter; they hang."""
    root = project(security="")
    pidfile = tmp_path / "pids"
    (root / "hang.py").write_text(
        "import os, subprocess, time\n"
        f"child = subprocess.Popen(['sleep', '300'])\n"
        f"open({str(pidfile)!r}, 'w').write(f'{{child.pid}} {{os.getpid()}}')\n"
        "time.sleep(300)\n",
        encoding="utf-8",
    )
    policy = root / "gatekeeper.toml"
    policy.write_text(
        policy.read_text().replace('data_file = "coverage.json"', 'data_file = ""\nrun = ["python", "hang.py"]\ntimeout_s = 4')
    )
    done = gk([*ALL, "--no-cache"], cwd=root, timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr
    data = report(root)
    cov = next(c for c in data["checks"] if c["name"] == "coverage")
    assert cov["status"] == "error" and ("killed" in cov["error"] or "timed out" in cov["error"]), cov
    got = statuses(data)
    assert got["security"] == "fail" and got["dependencies"] == "pass"
    pids = [int(p) for p in pidfile.read_text().split()]
    time.sleep(0.3)
    assert [p for p in pids if alive(p)] == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("echo 'not json at all'", "unreadable package listing"),
        ('"$REAL" "$@" | head -c 200', "unreadable package listing"),
        ("echo 'Fatal Python error: init_fs_encoding' >&2; exit 1", "could not list the distributions"),
    ],
    ids=["garbage", "truncated", "dies"],
)
def test_environment_interpreter_faults(project, tmp_path: Path, gk, fault: str, message: str) -> None:
    """[environment] python prints garbage, a truncated listing, or dies: dependencies errors, the others report."""
    script = tmp_path / "envpython"
    script.write_text(
        # the environment probe's command line: -I -S -c (checkers/sitepaths.FLAGS), or -I -c
        f"#!/bin/sh\nREAL={sys.executable}\n"
        f'if [ "$1" = "-I" ] && {{ [ "$2" = "-c" ] || [ "$2$3" = "-S-c" ]; }}; then {fault}; exit 0; fi\n'
        'exec "$REAL" "$@"\n'
    )
    script.chmod(0o755)
    root = project()
    policy = root / "gatekeeper.toml"
    text = policy.read_text().replace('source = "requirements.txt"', 'source = "environment"')
    policy.write_text(text + f'[environment]\npython = "{script}"\n')
    done = gk([*ALL, "--no-cache"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    data = report(root)
    deps = next(c for c in data["checks"] if c["name"] == "dependencies")
    assert deps["status"] == "error" and message in deps["error"], deps["error"]
    assert "Traceback" not in deps["error"] + done.stderr
    got = statuses(data)
    assert got["coverage"] == "pass" and got["security"] == "fail"


FLOOD = """
from gatekeeper.findings import CheckResult, Finding, Location, Severity, Status


class Flood:
    name = "flood"
    description = "reports 100,000 findings"
    options = {}

    def run(self, section, ctx):
        findings = tuple(
            Finding(rule_id=f"F{i % 50}", severity=Severity.MEDIUM, message=f"finding number {i}", blocking=True,
                    location=Location(f"pkg/mod{i % 1000}.py", i // 1000 + 1), fingerprint=f"fp{i}")
            for i in range(100_000)
        )
        return CheckResult(name="flood", status=Status.FAIL, summary="100000 findings", findings=findings)
"""

MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "print('maxrss_kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


def test_100000_findings(project, make_plugin, tmp_path: Path, record_timing) -> None:
    """A check with 100,000 findings: the run finishes, every report is written (SARIF capped at
    25,000 results and saying so), the console lists 20 and counts the rest, memory stays bounded."""
    site = make_plugin(tmp_path / "site", "flood-gate", "flood_gate", FLOOD, {"flood": "flood_gate:Flood"})
    root = project()
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "gatekeeper", "check", "--only", "flood,security", "--no-cache"],
        cwd=root,
        env=clean_env({"PYTHONPATH": str(site)}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    took = time.monotonic() - t0
    record_timing("check with 100,000 findings", took)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    maxrss_mib = int(done.stderr.split("maxrss_kib")[1].split()[0]) / 1024
    assert maxrss_mib < 1200, maxrss_mib
    # console: 20 findings, then a count; the whole log stays short
    assert "blocking findings (100,001):" in done.stdout or "blocking findings (100001):" in done.stdout
    assert "… and 99981 more (see the reports)" in done.stdout
    assert len(done.stdout.splitlines()) < 60
    data = report(root)
    flood = next(c for c in data["checks"] if c["name"] == "flood")
    assert len(flood["findings"]) == 100_000
    assert statuses(data)["security"] == "fail"
    sarif = json.loads((root / "gatekeeper-reports" / "gatekeeper.sarif").read_text(encoding="utf-8"))
    run = next(r for r in sarif["runs"] if r["automationDetails"]["id"] == "gatekeeper/flood/")
    assert len(run["results"]) == 25_000
    assert run["properties"]["gatekeeper"]["truncated"]["left_out"] == 75_000
    note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert "75,000 of 100,000 flood findings were left out" in note
    html = (root / "gatekeeper-reports" / "gatekeeper.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")
    log = root / ".gatekeeper" / "audit.jsonl"
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["verdict"] == "fail"
    print(f"100,000 findings: {took:.1f}s wall, peak RSS {maxrss_mib:.0f} MiB")


@pytest.mark.parametrize(
    ("module", "check", "fault", "message"),
    [
        (
            "cyclonedx_py",
            "sbom",
            'echo "<html>502</html>"; exit 0',
            "cyclonedx-py printed output that is not a CycloneDX JSON SBOM",
        ),
        (
            "cyclonedx_py",
            "sbom",
            '"$REAL" "$@" | head -c 500; exit 0',
            "cyclonedx-py printed output that is not a CycloneDX JSON SBOM",
        ),
        ("piplicenses", "licenses", '"$REAL" "$@" | head -c 500; exit 0', "pip-licenses printed output gatekeeper cannot read"),
        ("piplicenses", "licenses", 'echo "KeyError: boom" >&2; exit 1', "pip-licenses failed (exit 1): KeyError: boom"),
    ],
    ids=["sbom-garbage", "sbom-truncated", "licenses-truncated", "licenses-crash"],
)
def test_sbom_and_license_tools_misbehaving(
    project, faulty_python, gk, module: str, check: str, fault: str, message: str
) -> None:
    root = project(gate=f'tool_python = "{faulty_python(module, fault)}"')
    done = gk(["check", "--only", "sbom,licenses,security", "--no-cache"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    data = report(root)
    broken = next(c for c in data["checks"] if c["name"] == check)
    assert broken["status"] == "error" and message in broken["error"], broken["error"]
    other = "licenses" if check == "sbom" else "sbom"
    assert statuses(data)[other] == "pass" and statuses(data)["security"] == "fail"
    assert "Traceback" not in done.stderr
    assert_reports_whole(root)
    if check == "sbom":  # no SBOM artifact is left from a failed generation
        assert not (root / "gatekeeper-reports" / "sbom.cdx.json").exists()


MALFORMED = """
from pathlib import Path
from gatekeeper.findings import CheckResult, Finding, Location, Severity, Status


def _finding(**overrides):
    fields = dict(rule_id="R1", severity=Severity.HIGH, message="m", blocking=True, fingerprint="f")
    fields.update(overrides)
    return Finding(**fields)


class _Base:
    description = "returns a malformed result"
    options = {}


class StrSeverity(_Base):
    name = "str_severity"
    def run(self, section, ctx):
        return CheckResult(name=self.name, status=Status.FAIL, findings=(_finding(severity="high"),))


class WrongTypes(_Base):
    name = "wrong_types"
    def run(self, section, ctx):
        return CheckResult(name=self.name, status=Status.FAIL, findings=(_finding(location=Location("a.py", "3")),))


class OddMetrics(_Base):
    name = "odd_metrics"
    def run(self, section, ctx):
        return CheckResult(name=self.name, status=Status.PASS, metrics={"ids": {3, 1, 2}, "where": Path("x/y")})


class Cycle(_Base):
    name = "cycle"
    def run(self, section, ctx):
        loop = {}
        loop["self"] = loop
        return CheckResult(name=self.name, status=Status.PASS, metrics=loop)
"""


def test_malformed_plugin_results_fail_closed_and_never_crash_the_reports(make_plugin, tmp_path: Path, gk) -> None:
    """A plugin's ill-typed finding is an error for that check (not a traceback after the checks ran,
    losing every report); metrics JSON cannot hold are converted; a cycle is an error."""
    entries = {n: f"bad_gate:{c}" for n, c in (("str_severity", "StrSeverity"), ("wrong_types", "WrongTypes"),
                                                 ("odd_metrics", "OddMetrics"), ("cycle", "Cycle"))}  # fmt: skip
    site = make_plugin(tmp_path / "site", "bad-gate", "bad_gate", MALFORMED, entries)
    root = tmp_path / "proj"
    root.mkdir()
    done = gk(["check", "--only", ",".join(entries), "--format", "json,sarif,html,markdown,junit"], cwd=root,
              env={"PYTHONPATH": str(site)})  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    checks = {c["name"]: c for c in report(root)["checks"]}
    assert (
        checks["str_severity"]["error"]
        == "checker returned a malformed result: finding 1 ('R1'): severity 'high' is not a Severity: "
        "use Severity.HIGH (gatekeeper.findings.Severity), not the string"
    )
    assert "location line, end_line and column must be int or None" in checks["wrong_types"]["error"]
    assert checks["odd_metrics"]["status"] == "pass" and checks["odd_metrics"]["metrics"] == {"ids": [1, 2, 3], "where": "x/y"}
    assert "Circular reference" in checks["cycle"]["error"]
    assert_reports_whole(root)
