"""Concurrency: ``gatekeeper check`` runs in one repository at the same time each write an intact
report set (given different output dirs) and a valid audit record, and the shared cache they
write together stays valid.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.env import clean_env

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

RUNS = 3


def _start(root: Path, out: str, *extra: str, only: str = "coverage,security,dependencies") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gatekeeper", "check", "--only", only, "--output-dir", out, *extra],
        cwd=root,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _many_files(root: Path, count: int = 40) -> None:
    pkg = root / "pkg"
    pkg.mkdir()
    for i in range(count):
        (pkg / f"m{i:02d}.py").write_text(f"import subprocess\n\n\ndef f{i}(cmd):\n    return subprocess.call(cmd, shell=True)\n")


def test_simultaneous_checks_write_intact_reports_and_audit_records(project, gk) -> None:
    root = project()
    _many_files(root)
    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text().replace('paths = ["app.py"]', 'paths = ["app.py", "pkg"]\nworkers = 2'))
    procs = [_start(root, f"out-{i}") for i in range(RUNS)]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 1, out + err
        assert "Traceback" not in err
    log = root / ".gatekeeper" / "audit.jsonl"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(records) == RUNS
    seen_dirs = set()
    for record in records:
        assert record["verdict"] == "fail"
        assert len(record["reports"]) == 5 + 3  # every format the policy names, and the attestation's three files
        dirs = {Path(name).parent.name for name in record["reports"]}
        assert len(dirs) == 1
        seen_dirs |= dirs
        for name, digest in record["reports"].items():
            path = root / name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
    assert seen_dirs == {f"out-{i}" for i in range(RUNS)}
    findings = []
    for i in range(RUNS):
        data = json.loads((root / f"out-{i}" / "gatekeeper.json").read_text(encoding="utf-8"))
        sec = next(c for c in data["checks"] if c["name"] == "security")
        findings.append(sorted(f["fingerprint"] for f in sec["findings"]))
        json.loads((root / f"out-{i}" / "gatekeeper.sarif").read_text(encoding="utf-8"))
        names = ["gatekeeper.html", "gatekeeper.json", "gatekeeper.junit.xml", "gatekeeper.md", "gatekeeper.sarif"]
        attestation = ["gatekeeper.intoto.json", "gatekeeper.predicate.json", "gatekeeper.subjects.sha256"]
        assert sorted(p.name for p in (root / f"out-{i}").iterdir()) == sorted([*names, *attestation])
    assert findings[0] == findings[1] == findings[2] and len(findings[0]) == 2 + 2 * 40
    verify = gk(["audit", "verify"], cwd=root)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"consistent, not authenticated, {RUNS} record(s)" in verify.stdout


def test_cache_written_by_concurrent_runs_stays_valid(project) -> None:
    """Runs that race to fill the same cache entries leave only whole entries: a later run takes
    every file from the cache, rejects none, and finds exactly what a cold run finds."""
    root = project()
    _many_files(root, 60)
    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text().replace('paths = ["app.py"]', 'paths = ["app.py", "pkg"]\nworkers = 2'))
    procs = [_start(root, f"race-{i}", "--no-audit", only="security") for i in range(RUNS)]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 1, out + err
    from gatekeeper.checkers.cache import default_dir

    cache = default_dir(root) / "security"
    entries = list(cache.rglob("*.json"))
    scans = [e for e in entries if "results" in json.loads(e.read_text(encoding="utf-8"))["payload"]]
    assert (len(scans), len(entries)) == (61, 62)  # a scan per file, and bandit's discovery answer
    assert not list(cache.rglob("*.tmp"))  # no temporary file left behind
    for entry in entries:
        data = json.loads(entry.read_text(encoding="utf-8"))
        assert entry.stem == data["key"]
    warm = _start(root, "warm", "--no-audit", only="security")
    out, err = warm.communicate(timeout=120)
    assert warm.returncode == 1, out + err
    cold = _start(root, "cold", "--no-audit", "--no-cache", only="security")
    cold.communicate(timeout=120)
    warm_sec = json.loads((root / "warm" / "gatekeeper.json").read_text())["checks"][0]
    cold_sec = json.loads((root / "cold" / "gatekeeper.json").read_text())["checks"][0]
    assert warm_sec["metrics"]["cached_files"] == 61 and warm_sec["metrics"]["cache_rejected"] == 0
    assert warm_sec["findings"] == cold_sec["findings"]
