"""No vacuous pass: a gate that looked at nothing, a report that lies about its total, a baseline
or a waiver that reaches too far, or a checker's own FAIL, never ends as PASS. Every case runs
the real CLI over the real tools."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.findings import CheckResult, Finding, Location, Severity, Status, with_findings
from tests.helpers.cli import REPO, run_gatekeeper
from tests.helpers.env import clean_env
from tests.helpers.projects import only
from tests.helpers.reports import check_of

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

SAMPLE_DB = REPO / "fixtures" / "sample-project" / "advisory-db"
SOON = (dt.date.today() + dt.timedelta(days=90)).isoformat()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "core.py").write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    return root


# --------------------------------------------------------------------------- looked at nothing


def test_skipping_every_enabled_check_is_not_a_pass(project: Path) -> None:
    (project / "gatekeeper.toml").write_text(only("security"))
    done = run_gatekeeper(["check", "--skip", "security"], project)
    assert done.returncode == 2 and "no check selected" in done.stderr


def test_a_security_path_that_does_not_exist_is_a_policy_error(project: Path) -> None:
    (project / "gatekeeper.toml").write_text(only("security", extra='[checks.security]\npaths = ["ap"]\n'))
    done = run_gatekeeper(["check"], project)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "checks.security.paths: 'ap' does not exist" in done.stderr


def test_security_over_no_python_file_is_an_error_unless_allowed(project: Path) -> None:
    (project / "docs").mkdir()
    (project / "docs" / "index.md").write_text("# docs\n")
    (project / "gatekeeper.toml").write_text(only("security", extra='[checks.security]\npaths = ["docs"]\n'))
    done = run_gatekeeper(["check"], project)
    assert done.returncode == 3, done.stdout + done.stderr
    security = check_of(project, "security")
    assert security["status"] == "error" and "no Python files to scan under docs" in security["error"]
    (project / "gatekeeper.toml").write_text(only("security", extra='[checks.security]\npaths = ["docs"]\nallow_empty = true\n'))
    assert run_gatekeeper(["check"], project).returncode == 0


@pytest.mark.parametrize(
    ("files", "source"),
    [
        ({"requirements.txt": ""}, "requirements.txt"),
        ({"requirements.txt": "-c constraints.txt\n", "constraints.txt": "jinja2==3.1.4\n"}, "requirements.txt"),
    ],
)
def test_auditing_no_package_is_an_error_unless_allowed(project: Path, files: dict[str, str], source: str) -> None:
    for name, text in files.items():
        (project / name).write_text(text)
    deps = f'[checks.dependencies]\nsource = "{source}"\nadvisory_db = "{SAMPLE_DB.as_posix()}"\n'
    deps += "max_db_age_days = 36500\n"  # the sample project's database is a fixed snapshot from 2021
    (project / "gatekeeper.toml").write_text(only("dependencies", extra=deps))
    done = run_gatekeeper(["check"], project)
    assert done.returncode == 3, done.stdout + done.stderr
    dependencies = check_of(project, "dependencies")
    assert dependencies["status"] == "error" and "no package was audited" in dependencies["error"]
    (project / "gatekeeper.toml").write_text(only("dependencies", extra=deps + "allow_empty = true\n"))
    assert run_gatekeeper(["check"], project).returncode == 0


def test_dynamic_dependencies_in_project_scope_audit_nothing_and_error(project: Path) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\ndynamic = ["dependencies"]\n')
    deps = f'[environment]\nscope = "project"\n[checks.dependencies]\nadvisory_db = "{SAMPLE_DB.as_posix()}"\n'
    (project / "gatekeeper.toml").write_text(only("dependencies", extra=deps))
    done = run_gatekeeper(["check"], project)
    assert done.returncode == 3, done.stdout + done.stderr
    assert check_of(project, "dependencies")["status"] == "error"


def test_reading_no_license_is_an_error_unless_allowed(project: Path) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\ndependencies = []\n')
    (project / "gatekeeper.toml").write_text(only("licenses", extra='[environment]\nscope = "project"\n'))
    done = run_gatekeeper(["check"], project)
    assert done.returncode == 3, done.stdout + done.stderr
    licenses = check_of(project, "licenses")
    assert licenses["status"] == "error" and "no package's license was read" in licenses["error"]
    policy = only("licenses", extra='[environment]\nscope = "project"\n[checks.licenses]\nallow_empty = true\n')
    (project / "gatekeeper.toml").write_text(policy)
    assert run_gatekeeper(["check"], project).returncode == 0


# --------------------------------------------------------------------------- coverage reports


def _measure(project: Path, fmt: str) -> Path:
    """Real coverage data for the project: its test exercises add() and not sub()."""
    (project / "test_core.py").write_text("from app.core import add\n\nassert add(1, 2) == 3\n")
    env = clean_env(coverage=False)
    for args in (["run", "--source=app", "test_core.py"], [fmt, "-o", f"coverage.{fmt}"]):
        subprocess.run([sys.executable, "-m", "coverage", *args], cwd=project, env=env, check=True, capture_output=True)
    (project / "test_core.py").unlink()
    (project / ".coverage").unlink()
    return project / f"coverage.{fmt}"


def test_an_empty_coverage_json_is_an_error_not_100_percent(project: Path) -> None:
    path = _measure(project, "json")
    data = json.loads(path.read_text())
    data["files"] = {}
    path.write_text(json.dumps(data))
    (project / "gatekeeper.toml").write_text(only("coverage", extra='[checks.coverage]\ndata_file = "coverage.json"\n'))
    done = run_gatekeeper(["check"], project)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "measured no lines" in check_of(project, "coverage")["error"]


def test_a_coverage_xml_with_no_lines_is_an_error(project: Path) -> None:
    path = _measure(project, "xml")
    text = path.read_text()
    start, end = text.index("<packages>"), text.index("</packages>") + len("</packages>")
    path.write_text(text[:start] + "<packages/>" + text[end:])
    (project / "gatekeeper.toml").write_text(only("coverage", extra='[checks.coverage]\ndata_file = "coverage.xml"\n'))
    done = run_gatekeeper(["check"], project)
    assert done.returncode == 3, done.stdout + done.stderr


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_total_is_recomputed_from_the_files_not_read_from_the_report(project: Path, fmt: str) -> None:
    path = _measure(project, fmt)
    text = path.read_text()
    if fmt == "json":
        data = json.loads(text)
        data["totals"].update(percent_covered=100.0, percent_covered_display="100", missing_lines=0)
        text = json.dumps(data)
    else:
        text = text.replace('line-rate="0.', 'line-rate="1.0" x="0.', 1).replace('lines-covered="', 'lines-covered="9', 1)
    path.write_text(text)
    (project / "gatekeeper.toml").write_text(only("coverage", extra=f'[checks.coverage]\ndata_file = "coverage.{fmt}"\n'))
    done = run_gatekeeper(["check"], project)
    assert done.returncode == 1, done.stdout + done.stderr
    coverage = check_of(project, "coverage")
    assert coverage["metrics"]["total"] < 80 and coverage["findings"][0]["rule_id"] == "coverage.min_total"


def test_a_report_whose_files_are_mostly_gone_is_an_error(project: Path) -> None:
    for name in ("a", "b", "c"):
        (project / "app" / f"{name}.py").write_text(f"def {name}():\n    return 1\n")
    path = _measure(project, "json")
    for name in ("a", "b", "c"):
        (project / "app" / f"{name}.py").unlink()
    (project / "gatekeeper.toml").write_text(
        only("coverage", extra='[checks.coverage]\ndata_file = "coverage.json"\nmin_total = 0\n')
    )
    assert len(json.loads(path.read_text())["files"]) == 5
    done = run_gatekeeper(["check"], project)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "3 of its 5 files do not exist" in check_of(project, "coverage")["error"]


# --------------------------------------------------------------------------- a checker's own FAIL


def test_a_checkers_own_fail_survives_non_blocking_findings() -> None:
    note = Finding(
        rule_id="N1", severity=Severity.LOW, message="note", blocking=False, location=Location("a.py"), fingerprint="n1"
    )
    own = CheckResult(name="x", status=Status.FAIL, summary="tool says no", findings=(note,))
    assert with_findings(own, own.findings).status is Status.FAIL
    # a FAIL that a blocking finding explains follows that finding (a waiver can lift it)
    blocking = Finding(
        rule_id="B1", severity=Severity.HIGH, message="b", blocking=True, location=Location("a.py"), fingerprint="b1"
    )
    explained = CheckResult(name="x", status=Status.FAIL, summary="1 blocking", findings=(blocking,))
    waived = [Finding(**{**{s: getattr(blocking, s) for s in blocking.__slots__}, "blocking": False})]
    assert with_findings(explained, waived).status is Status.PASS
