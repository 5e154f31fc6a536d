"""End to end: ``gatekeeper check --only coverage,security`` on a tmp project, against the tools run by hand."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.projects import PYTHON, bandit_json, run_tool

#: the projects these tests build measure themselves, even when this suite runs under coverage
#: end to end: gatekeeper check as a process over the real tools
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

GATEKEEPER = str(Path(sys.executable).parent / "gatekeeper")

APP = """\
import subprocess


def run(cmd):
    return subprocess.run(cmd, shell=True, check=False)


def double(x):
    if x is None:
        return 0
    return 2 * x
"""

TESTS = """\
from pkg.app import double


def test_double():
    assert double(2) == 4
"""

POLICY = """\
[reports]
formats = ["json"]

[checks.coverage]
run = ["pytest", "-q", "-p", "no:cacheprovider"]
min_total = 50

[checks.security]
paths = ["pkg"]
exclude = []
workers = 2
fail_on_severity = "{fail_on}"
"""


def make_project(root: Path, fail_on: str = "medium") -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "app.py").write_text(APP)
    (root / "test_app.py").write_text(TESTS)
    (root / "pyproject.toml").write_text("[tool.coverage.run]\nbranch = true\nsource = ['pkg']\n")
    (root / "gatekeeper.toml").write_text(POLICY.format(fail_on=fail_on))
    return root


def check(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    out = root / "out"
    done = run_tool(
        [GATEKEEPER, "check", str(root), "--only", "coverage,security", "--no-audit", "--output-dir", str(out), *extra],
        root,
        check=False,
    )
    assert (out / "gatekeeper.json").exists(), done.stderr
    report: dict[str, Any] = json.loads((out / "gatekeeper.json").read_text())
    return done.returncode, report


def by_name(report: dict[str, Any]) -> dict[str, Any]:
    return {c["name"]: c for c in report["checks"]}


def test_check_fails_on_a_blocking_bandit_finding_and_reports_the_tools_numbers(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    code, report = check(root)
    assert code == 1
    assert report["verdict"] == "fail"
    checks = by_name(report)
    coverage, security = checks["coverage"], checks["security"]
    # the coverage check ran the tests under coverage (its data in a private folder, not the
    # checkout); its total is `coverage report`'s after the same tests run by hand
    assert coverage["status"] == "pass"
    assert not (root / ".coverage").exists()
    run_tool([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], root)
    assert (
        f"{coverage['metrics']['total']:.0f}"
        == run_tool([PYTHON, "-m", "coverage", "report", "--format=total"], root).stdout.strip()
    )
    assert coverage["metrics"]["branch"] is True
    # the security check's findings are bandit's
    reference = bandit_json(root, "-r", "pkg")
    assert security["status"] == "fail"
    assert sorted((f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in security["findings"]) == sorted(
        (r["test_id"], r["filename"], r["line_number"]) for r in reference["results"]
    )
    totals = reference["metrics"]["_totals"]
    assert security["metrics"]["counts"] == {s: totals[f"SEVERITY.{s.upper()}"] for s in ("high", "medium", "low")}
    assert security["metrics"]["lines_scanned"] == totals["loc"]
    (b602,) = [f for f in security["findings"] if f["rule_id"] == "B602"]
    assert b602["blocking"] and b602["severity"] == "high"
    assert b602["help_uri"].startswith("https://bandit.readthedocs.io/")
    assert security["metrics"]["cached_files"] == 0

    # a second run reuses the cache; --no-cache does not
    _, again = check(root)
    assert by_name(again)["security"]["metrics"]["cached_files"] == security["metrics"]["files_scanned"]
    _, fresh = check(root, "--no-cache")
    assert by_name(fresh)["security"]["metrics"]["cached_files"] == 0


def test_check_passes_when_nothing_blocks(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    (root / "pkg" / "app.py").write_text(APP.replace("shell=True", "shell=False"))
    (root / "gatekeeper.toml").write_text(POLICY.format(fail_on="high"))
    code, report = check(root)
    assert code == 0, report
    assert report["verdict"] == "pass"
    security = by_name(report)["security"]
    assert security["status"] == "pass"
    assert security["findings"] and not any(f["blocking"] for f in security["findings"])  # B404/B603 are low


def test_unreadable_coverage_data_is_exit_3(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    (root / "gatekeeper.toml").write_text(
        POLICY.format(fail_on="medium").replace('run = ["pytest", "-q", "-p", "no:cacheprovider"]\n', "")
    )
    (root / ".coverage").write_bytes(b"garbage, not a database" * 4)
    code, report = check(root)
    assert code == 3
    assert report["verdict"] == "error"
    coverage = by_name(report)["coverage"]
    assert coverage["status"] == "error"
    assert "cannot read coverage data" in coverage["error"] and "run the tests under coverage again" in coverage["error"]
    assert by_name(report)["security"]["status"] == "fail"  # the other check still ran
