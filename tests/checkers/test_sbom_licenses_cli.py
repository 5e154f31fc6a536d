"""End to end: ``gatekeeper check --only sbom,licenses`` on a project whose environment is a real venv."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import run_gatekeeper
from tests.helpers.dists import DISTS, FakeEnv, make_project

#: end to end: gatekeeper check as a process over the real tools
pytestmark = pytest.mark.slow

#: a waiver expiry within gate.max_waiver_days of today
SOON = (dt.date.today() + dt.timedelta(days=180)).isoformat()
#: the reason and approver every waiver needs
ACCEPTED = 'reason = "not shipped to customers"\napproved_by = "legal@example.com"\n'


POLICY = """
[environment]
python = "{python}"
[reports]
formats = ["json"]
[checks.sbom]
output = "sbom/app.cdx.json"
spec_version = "1.5"
[checks.licenses]
deny = ["GPL-*"]
unknown = "warn"
"""


def _gatekeeper(root: Path) -> subprocess.CompletedProcess[str]:
    args = ["check", str(root), "--only", "sbom,licenses", "--no-audit", "--output-dir", str(root / "reports")]
    return run_gatekeeper(args, root)


def test_cli_fails_on_a_denied_license_and_writes_the_sbom(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", POLICY.format(python=dist_env.python))
    done = _gatekeeper(root)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((root / "reports" / "gatekeeper.json").read_text())
    assert report["verdict"] == "fail"
    checks = {c["name"]: c for c in report["checks"]}
    sbom, lic = checks["sbom"], checks["licenses"]
    assert sbom["status"] == "pass"
    assert sbom["metrics"]["components"] == len(DISTS) and sbom["metrics"]["spec_version"] == "1.5"
    assert sbom["metrics"]["valid"] is True
    assert sbom["artifacts"] == {"sbom": "sbom/app.cdx.json"}
    written = json.loads((root / "reports" / "sbom" / "app.cdx.json").read_text())
    assert len(written["components"]) == len(DISTS) and written["specVersion"] == "1.5"
    assert lic["status"] == "fail" and lic["summary"] == "3 denied, 2 unknown of 15 packages"
    denied = sorted(f["package"]["name"] for f in lic["findings"] if f["blocking"])
    assert denied == ["delta", "foxtrot", "kilo"]
    assert all(not f["blocking"] for f in lic["findings"] if f["rule_id"] == "license.unknown")


def test_cli_passes_once_the_denied_packages_are_waived(dist_env: FakeEnv, tmp_path: Path) -> None:
    waivers = "".join(
        f'\n[[waivers]]\ncheck = "licenses"\npackage = "{name}"\n{ACCEPTED}expires = {SOON}\n'
        for name in ("delta", "foxtrot", "kilo")
    )
    root = make_project(tmp_path / "p", POLICY.format(python=dist_env.python) + waivers)
    done = _gatekeeper(root)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((root / "reports" / "gatekeeper.json").read_text())
    assert report["verdict"] == "pass"
    assert len(report["waivers"]["applied"]) == 3
