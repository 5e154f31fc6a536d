"""Baselines and waivers reach only as far as they say: a baseline counts findings and never holds a
threshold; a ratchet compares with the baseline's metrics; a waiver's path globs per segment and a
waiver naming one unaudited package covers that package alone."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.findings import Finding, Location, Severity
from gatekeeper.waivers import Waiver, matches, path_matches
from tests.helpers.cli import run_gatekeeper
from tests.helpers.env import clean_env
from tests.helpers.projects import only
from tests.helpers.reports import check_of

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

SOON = (dt.date.today() + dt.timedelta(days=90)).isoformat()
#: the reason and approver every waiver needs
ACCEPTED = 'reason = "scripts run only by developers"\napproved_by = "lead@example.com"\n'
SHELL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def test_a_baseline_counts_identical_findings(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "run.py").write_text(SHELL)
    (tmp_path / "gatekeeper.toml").write_text(only("security", extra='[checks.security]\npaths = ["tools"]\n'))
    assert run_gatekeeper(["check"], tmp_path).returncode == 1
    assert run_gatekeeper(["baseline", "create"], tmp_path).returncode == 0
    assert run_gatekeeper(["check", "--baseline", ".gatekeeper/baseline.json"], tmp_path).returncode == 0
    # the same line again, in the same file: same fingerprint, but the baseline had only one
    (tmp_path / "tools" / "run.py").write_text(SHELL + "\n\ndef again(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    done = run_gatekeeper(["check", "--baseline", ".gatekeeper/baseline.json"], tmp_path)
    assert done.returncode == 1, done.stdout
    findings = [f for f in check_of(tmp_path, "security")["findings"] if f["rule_id"] == "B602"]
    assert len({f["fingerprint"] for f in findings}) == 1 and len(findings) == 2
    assert sorted(f["blocking"] for f in findings) == [False, True]


def _coverage(root: Path, test: str) -> None:
    """Real coverage.json for app/core.py, measured with ``test`` as the test suite."""
    (root / "t.py").write_text(test)
    env = clean_env(coverage=False)
    for args in (["run", "--source=app", "t.py"], ["json", "-o", "coverage.json"]):
        subprocess.run([sys.executable, "-m", "coverage", *args], cwd=root, env=env, check=True, capture_output=True)
    (root / "t.py").unlink()


@pytest.fixture
def covered(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "core.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
    )
    _coverage(tmp_path, "from app.core import add, sub\nadd(1, 2)\nsub(1, 2)\n")
    return tmp_path


def test_a_baseline_never_holds_a_threshold_finding(covered: Path) -> None:
    policy = '[checks.coverage]\ndata_file = "coverage.json"\nmin_total = 95\n'
    (covered / "gatekeeper.toml").write_text(only("coverage", extra=policy))
    assert run_gatekeeper(["check"], covered).returncode == 1
    assert run_gatekeeper(["baseline", "create"], covered).returncode == 0
    document = json.loads((covered / ".gatekeeper" / "baseline.json").read_text())
    assert document["findings"] == []  # coverage.min_total is about the whole check: not baselined
    assert document["metrics"]["coverage"]["total"] == check_of(covered, "coverage")["metrics"]["total"]
    done = run_gatekeeper(["check", "--baseline", ".gatekeeper/baseline.json"], covered)
    assert done.returncode == 1, done.stdout  # a bad day's baseline does not switch the gate off


def test_min_total_baseline_ratchets(covered: Path) -> None:
    policy = '[checks.coverage]\ndata_file = "coverage.json"\nmin_total = "baseline"\n'
    (covered / "gatekeeper.toml").write_text(only("coverage", extra=policy))
    without = run_gatekeeper(["check"], covered)
    assert without.returncode == 1
    assert 'min_total = "baseline" needs a baseline' in check_of(covered, "coverage")["findings"][0]["message"]
    assert run_gatekeeper(["baseline", "create"], covered).returncode == 0
    base = json.loads((covered / ".gatekeeper" / "baseline.json").read_text())["metrics"]["coverage"]["total"]
    assert run_gatekeeper(["check", "--baseline", ".gatekeeper/baseline.json"], covered).returncode == 0  # the same total
    _coverage(covered, "from app.core import add\nadd(1, 2)\n")  # sub() is no longer tested
    done = run_gatekeeper(["check", "--baseline", ".gatekeeper/baseline.json"], covered)
    assert done.returncode == 1, done.stdout
    finding = check_of(covered, "coverage")["findings"][0]
    assert finding["rule_id"] == "coverage.min_total" and f"below the baseline's {base:g}%" in finding["message"]
    _coverage(covered, "from app.core import add, sub, mul\nadd(1, 2)\nsub(1, 2)\nmul(1, 2)\n")  # better: passes
    assert run_gatekeeper(["check", "--baseline", ".gatekeeper/baseline.json"], covered).returncode == 0


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("scripts/*.py", "scripts/x.py", True),
        ("scripts/*.py", "scripts/vendor/deep/x.py", False),
        ("scripts/**/*.py", "scripts/vendor/deep/x.py", True),
        ("scripts/**/*.py", "scripts/x.py", True),
        ("**/x.py", "a/b/x.py", True),
        ("*", "a/b.py", False),
        ("s?ripts/[xy].py", "scripts/y.py", True),
    ],
)
def test_waiver_paths_glob_per_segment(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(path, pattern) is expected
    waiver = Waiver(id="w", check="security", rule="B602", reason="scripts run only by developers",
                    approved_by="lead@example.com", expires=dt.date.today(), path=pattern)  # fmt: skip
    finding = Finding(
        rule_id="B602", severity=Severity.HIGH, message="m", blocking=True, location=Location(path), fingerprint="f"
    )
    assert matches(waiver, "security", finding) is expected


def test_a_star_waiver_does_not_reach_into_subdirectories(tmp_path: Path) -> None:
    for folder in ("scripts", "scripts/vendor/deep"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "x.py").write_text(SHELL)
    waiver = f'[[waivers]]\ncheck = "security"\nrule = "B602"\npath = "scripts/*.py"\n{ACCEPTED}expires = {SOON}\n'
    (tmp_path / "gatekeeper.toml").write_text(only("security", extra='[checks.security]\npaths = ["scripts"]\n' + waiver))
    assert run_gatekeeper(["check"], tmp_path).returncode == 1
    blocking = {f["location"]["path"] for f in check_of(tmp_path, "security")["findings"] if f["blocking"]}
    assert blocking == {"scripts/vendor/deep/x.py"}


def test_a_waiver_can_name_one_unaudited_package(tmp_path: Path) -> None:
    (tmp_path / "osv").mkdir()
    modified = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # a fresh database
    (tmp_path / "osv" / "T-1.json").write_text(json.dumps({"id": "T-1", "modified": modified, "affected": []}))
    (tmp_path / "requirements.txt").write_text(
        "alpha==1.0\nlocal-thing @ file:///nowhere/local_thing\nother @ file:///nowhere/other\n"
    )
    deps = '[checks.dependencies]\nsource = "requirements.txt"\nadvisory_db = "osv"\n'
    waiver = '[[waivers]]\ncheck = "dependencies"\nrule = "dependencies.unaudited"\npackage = "local-thing"\n'
    waiver += f'reason = "our own accepted risk"\napproved_by = "lead@example.com"\nexpires = {SOON}\n'
    (tmp_path / "gatekeeper.toml").write_text(only("dependencies", extra=deps + waiver))
    done = run_gatekeeper(["check"], tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    findings = [f for f in check_of(tmp_path, "dependencies")["findings"] if f["rule_id"] == "dependencies.unaudited"]
    assert {f["package"]["name"]: f["blocking"] for f in findings} == {"local-thing": False, "other": True}
    data = json.loads((tmp_path / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert [w["id"] for w in data["waivers"]["applied"]] == ["W1"] and data["waivers"]["unused"] == []
