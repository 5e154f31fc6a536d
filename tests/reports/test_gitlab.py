"""GitLab Code Quality, SAST and dependency-scanning reports: valid against GitLab's schemas, and
saying what the result says (open findings only, a check that did not run is a failed scan)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.findings import Location, Severity
from gatekeeper.reports.gitlab import codequality_severity, render_codequality, render_dependency_scanning, render_sast
from tests.helpers.samples import errored_result, failing_result, many_findings, passing_result

DATA = Path(__file__).resolve().parents[1] / "data"
#: vendored unmodified from gitlab-org/gitlab (sources: tests/data/README.md)
CODEQUALITY_ISSUE = DATA / "gitlab-codeclimate.json"
SAST = DATA / "gitlab-sast-report-format-15.2.1.json"
DEPENDENCY_SCANNING = DATA / "gitlab-dependency-scanning-report-format-15.2.1.json"
MAKERS = [failing_result, errored_result, passing_result, lambda: many_findings(200)]


def _validator(path: Path) -> Any:
    import jsonschema

    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _errors(validator: Any, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)][:5]


@pytest.mark.parametrize("make", MAKERS)
def test_every_gitlab_report_is_valid_against_gitlabs_schema(make: Any) -> None:
    result = make()
    issue = _validator(CODEQUALITY_ISSUE)
    issues = json.loads(render_codequality(result))
    assert isinstance(issues, list)
    for item in issues:
        assert not _errors(issue, item)
        # what GitLab's docs add to the schema: check_name, a known severity and lines.begin
        assert item["check_name"] and item["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert item["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    for render, schema in ((render_sast, SAST), (render_dependency_scanning, DEPENDENCY_SCANNING)):
        document = json.loads(render(result))
        assert not _errors(_validator(schema), document), render.__name__
        assert document["version"] == "15.2.1"


def test_code_quality_lists_open_findings_with_a_place_and_leaves_accepted_ones_out() -> None:
    result = failing_result()
    issues = json.loads(render_codequality(result))
    security = result.check("security")
    assert security is not None
    expected = sorted(f.rule_id for f in security.findings if f.waiver is None and f.location is not None)
    assert sorted(i["check_name"] for i in issues) == expected == ["B105", "B602", "B608"]
    b602 = next(i for i in issues if i["check_name"] == "B602")
    assert b602["location"] == {"path": "src/app/run.py", "lines": {"begin": 12}}
    assert b602["severity"] == "critical" and b602["categories"] == ["Security"]
    # the waived B101 is not an open issue; coverage findings are not code quality issues
    assert "B101" not in json.dumps(issues) and "coverage-file" not in json.dumps(issues)


def test_code_quality_keeps_two_identical_findings_apart() -> None:
    result = many_findings(3)
    check = result.checks[0]
    twin = check.findings[0]
    doubled = replace(result, checks=(replace(check, findings=(*check.findings, twin)),))
    issues = json.loads(render_codequality(doubled))
    assert len(issues) == len(check.findings) + 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_sast_carries_bandit_ids_cwe_lines_and_severity() -> None:
    report = json.loads(render_sast(failing_result()))
    by_rule = {v["identifiers"][0]["value"]: v for v in report["vulnerabilities"]}
    assert sorted(by_rule) == ["B105", "B602", "B608"]
    b602 = by_rule["B602"]
    assert b602["severity"] == "High"
    assert b602["location"] == {"file": "src/app/run.py", "start_line": 12, "end_line": 12}
    assert {"type": "cwe", "name": "CWE-78", "value": "78", "url": "https://cwe.mitre.org/data/definitions/78.html"} in b602[
        "identifiers"
    ]
    assert report["scan"]["scanner"] == {"id": "bandit", "name": "bandit", "version": "1.7.9", "vendor": {"name": "PyCQA"}}
    assert report["scan"]["status"] == "success" and report["scan"]["type"] == "sast"


def test_dependency_scanning_names_package_version_manifest_and_aliases() -> None:
    report = json.loads(render_dependency_scanning(failing_result()))
    by_id = {v["identifiers"][0]["value"]: v for v in report["vulnerabilities"]}
    # the baselined jinja2 advisory is accepted, so not listed
    assert sorted(by_id) == ["GHSA-j8r2-6x86-q33q", "PYSEC-2024-1"]
    requests = by_id["GHSA-j8r2-6x86-q33q"]
    assert requests["location"] == {
        "file": "requirements.txt",
        "dependency": {"package": {"name": "requests"}, "version": "2.25.0"},
    }
    assert [i["value"] for i in requests["identifiers"]] == ["GHSA-j8r2-6x86-q33q", "CVE-2023-32681", "PYSEC-2023-74"]
    assert [i["type"] for i in requests["identifiers"]] == ["ghsa", "cve", "pysec"]
    assert requests["solution"] == "Upgrade requests to 2.31.0 or later."
    assert report["scan"]["type"] == "dependency_scanning"


def test_a_check_that_did_not_run_is_a_failed_scan_not_an_empty_success() -> None:
    result = errored_result()
    errored = result.check("dependencies")
    assert errored is not None and errored.error
    report = json.loads(render_dependency_scanning(result))
    assert report["scan"]["status"] == "failure"
    assert report["scan"]["messages"][0]["level"] == "fatal"
    assert errored.error.split()[0] in report["scan"]["messages"][0]["value"]
    absent = replace(passing_result(), checks=())
    for render in (render_sast, render_dependency_scanning):
        scan = json.loads(render(absent))["scan"]
        assert scan["status"] == "failure" and "did not run" in scan["messages"][0]["value"]


def test_reports_are_deterministic_and_escape_nothing_they_should_keep() -> None:
    result = failing_result()
    for render in (render_codequality, render_sast, render_dependency_scanning):
        assert render(result) == render(result)
    # text is carried as JSON data, verbatim (GitLab escapes when it displays it)
    assert "<img src=x onerror=window.__pwned=3>" in json.loads(render_sast(result))["vulnerabilities"][1]["description"]


def test_a_finding_without_a_line_points_at_line_one() -> None:
    result = failing_result()
    security = result.check("security")
    assert security is not None
    moved = replace(
        security, findings=tuple(replace(f, location=Location(f.location.path)) for f in security.findings if f.location)
    )
    issues = json.loads(render_codequality(replace(result, checks=(moved,))))
    assert issues and {i["location"]["lines"]["begin"] for i in issues} == {1}


def test_every_severity_has_a_code_quality_severity() -> None:
    assert [codequality_severity(s) for s in Severity] == ["blocker", "critical", "major", "minor", "info"]


@pytest.mark.slow
def test_reports_from_a_real_bandit_and_ruff_run_are_valid_and_say_what_the_tools_said(tmp_path: Path) -> None:
    from tests.helpers.dists import make_project, run_gate

    root = make_project(
        tmp_path / "p", '[audit]\nenabled = false\n[checks.security]\npaths = ["src"]\n[checks.lint]\nenabled = true\n'
    )
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(
        "import os\nimport subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n", encoding="utf-8"
    )
    gate = run_gate(root, ("security", "lint"))
    security, lint = gate.check("security"), gate.check("lint")
    assert security is not None and lint is not None
    issues = json.loads(render_codequality(gate))
    issue = _validator(CODEQUALITY_ISSUE)
    assert all(not _errors(issue, i) for i in issues)
    # one issue per finding the tools reported, at the line they named
    expected = sorted((f.rule_id, f.location.path, f.location.line) for c in (security, lint) for f in c.findings if f.location)
    assert sorted((i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues) == expected
    assert ("B602", "src/app.py", 6) in expected and ("F401", "src/app.py", 1) in expected
    sast = json.loads(render_sast(gate))
    assert not _errors(_validator(SAST), sast)
    assert sorted(v["identifiers"][0]["value"] for v in sast["vulnerabilities"]) == sorted(f.rule_id for f in security.findings)
    assert sast["scan"]["scanner"]["version"] == security.tool_version
    b602 = next(v for v in sast["vulnerabilities"] if v["identifiers"][0]["value"] == "B602")
    assert {"type": "cwe", "name": "CWE-78", "value": "78", "url": "https://cwe.mitre.org/data/definitions/78.html"} in b602[
        "identifiers"
    ]
