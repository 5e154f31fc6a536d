"""Controls: the policy keys, the shipped NIST SSDF 1.1 catalogue, and the status each run gives a control."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from gatekeeper import tomlio
from gatekeeper.controls import NOT_EVIDENCED, catalogue_names, control_status, evaluate_controls, load_catalogue
from gatekeeper.findings import CheckResult, Status
from gatekeeper.reports.json import schema
from tests.helpers.cli import installed_options
from tests.helpers.samples import passing_result

#: the practices the catalogue maps, with their titles as NIST SP 800-218 (Table 1) writes them
SSDF_TITLES = {
    "PW.4": "Reuse Existing, Well-Secured Software When Feasible Instead of Duplicating Functionality",
    "PW.7": (
        "Review and/or Analyze Human-Readable Code to Identify Vulnerabilities and Verify Compliance with Security Requirements"
    ),
    "PW.8": "Test Executable Code to Identify Vulnerabilities and Verify Compliance with Security Requirements",
    "PS.3": "Archive and Protect Each Software Release",
    "RV.1": "Identify and Confirm Vulnerabilities on an Ongoing Basis",
}


def _policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gatekeeper.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_ssdf_catalogue_maps_every_builtin_check_to_the_publications_practices() -> None:
    assert "nist-ssdf-1.1" in catalogue_names()
    controls = load_catalogue("nist-ssdf-1.1")
    assert {c["id"]: c["title"] for c in controls} == SSDF_TITLES
    assert {c["framework"] for c in controls} == {"NIST SSDF 1.1 (SP 800-218)"}
    mapped = {n for c in controls for n in c["checks"]}
    assert mapped == {"coverage", "security", "dependencies", "sbom", "licenses"}
    by_id = {c["id"]: c["checks"] for c in controls}
    assert by_id["PW.7"] == ["security"] and by_id["PW.8"] == ["coverage"] and by_id["PS.3"] == ["sbom"]
    assert "dependencies" in by_id["RV.1"] and "dependencies" in by_id["PW.4"]


def test_an_unknown_catalogue_is_a_policy_error_with_key_path_and_suggestion(tmp_path: Path, cli) -> None:
    _policy(tmp_path, '[gate]\nfail_on_error = true\ncontrols = ["nist-ssdf-11"]\n')
    done = cli(["policy", "validate"], cwd=tmp_path)
    assert done.returncode == 2
    assert "gatekeeper.toml:3: gate.controls: no control catalogue named 'nist-ssdf-11'" in done.stderr
    assert "did you mean 'nist-ssdf-1.1'?" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'id = "ORG-1"\ntitle = "Scanned"\nchecks = ["securty"]\n',
            "controls[0].checks: no checker named 'securty' is installed",
        ),
        ('id = "ORG-1"\ntitle = "Scanned"\n', "controls[0].checks: is required"),
        ('id = "ORG-1"\ntitle = "Scanned"\nchecks = ["security"]\nowner = "me"\n', "controls[0].owner: unknown key"),
        ('id = "ORG-1"\ntitle = 7\nchecks = ["security"]\n', "controls[0].title: expected a string"),
    ],
)
def test_a_bad_control_table_is_a_policy_error_naming_its_key(tmp_path: Path, cli, body: str, message: str) -> None:
    _policy(tmp_path, "[gate]\nfail_on_error = true\n\n[[controls]]\n" + body)
    done = cli(["policy", "validate"], cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr
    assert "gatekeeper.toml:" in done.stderr


def test_a_valid_policy_shows_its_controls_in_the_effective_policy(tmp_path: Path, cli) -> None:
    _policy(
        tmp_path,
        '[gate]\ncontrols = ["nist-ssdf-1.1"]\n\n[[controls]]\nid = "ORG-12"\ntitle = "Releases ship an SBOM"\n'
        'checks = ["sbom"]\nframework = "Acme release policy"\n',
    )
    assert cli(["policy", "validate"], cwd=tmp_path).returncode == 0
    shown = cli(["policy", "show"], cwd=tmp_path)
    assert shown.returncode == 0
    effective = tomlio.loads(shown.stdout)
    assert effective["gate"]["controls"] == ["nist-ssdf-1.1"]
    assert effective["controls"] == [
        {"id": "ORG-12", "title": "Releases ship an SBOM", "checks": ["sbom"], "framework": "Acme release policy"}
    ]


def _check(name: str, status: Status) -> CheckResult:
    return CheckResult(name=name, status=status)


def test_a_control_passes_only_when_every_mapped_check_ran_and_passed() -> None:
    results = {
        "security": _check("security", Status.PASS),
        "licenses": _check("licenses", Status.FAIL),
        "sbom": _check("sbom", Status.ERROR),
        "coverage": _check("coverage", Status.SKIPPED),
    }
    assert control_status(["security"], results) == "pass"
    assert control_status(["security", "licenses"], results) == "fail"
    # a check that did not run, could not run, or was skipped is no evidence
    assert control_status(["security", "dependencies"], results) == NOT_EVIDENCED
    assert control_status(["sbom"], results) == NOT_EVIDENCED
    assert control_status(["coverage"], results) == NOT_EVIDENCED
    # a failure outranks missing evidence: the control is known not to be met
    assert control_status(["licenses", "dependencies"], results) == "fail"


def test_a_control_whose_checks_pass_only_through_waivers_passes_with_exceptions() -> None:
    from gatekeeper.findings import AppliedWaiver, Finding, Severity

    waived = Finding("GHSA-jfhm-5ghh-2f97", Severity.HIGH, "urllib3 1.26.4", blocking=False,
                     waiver=AppliedWaiver("w-urllib3", "proxy code unused", "sec@example.com", "2027-01-31"))  # fmt: skip
    lgpl = Finding("license.denied", Severity.MEDIUM, "chardet: LGPL-3.0-only", blocking=False,
                   waiver=AppliedWaiver("w-lgpl", "linked, not modified", "legal@example.com", "2027-01-31"))  # fmt: skip
    results = [
        replace(_check("dependencies", Status.PASS), findings=(waived,)),
        replace(_check("licenses", Status.PASS), findings=(lgpl,)),
        _check("security", Status.PASS),
    ]
    rows = {r["id"]: r for r in evaluate_controls(load_catalogue("nist-ssdf-1.1"), results)}
    # PW.4 and RV.1 must not say "pass" while a vulnerability and an LGPL license are waived
    assert rows["RV.1"]["status"] == "pass with exceptions" and rows["RV.1"]["exceptions"] == ["w-urllib3"]
    assert rows["PW.4"]["status"] == "pass with exceptions" and rows["PW.4"]["exceptions"] == ["w-lgpl", "w-urllib3"]
    assert rows["PW.7"]["status"] == "pass" and "exceptions" not in rows["PW.7"]
    control_schema = {**schema()["$defs"]["control"], "$defs": schema()["$defs"]}
    for row in rows.values():
        jsonschema.validate(row, control_schema)


def test_controls_in_the_json_result_follow_the_schema() -> None:
    rows = evaluate_controls(load_catalogue("nist-ssdf-1.1"), [_check("security", Status.PASS), _check("coverage", Status.FAIL)])
    by_id = {r["id"]: r["status"] for r in rows}
    assert by_id == {"PW.7": "pass", "PW.8": "fail", "PS.3": NOT_EVIDENCED, "PW.4": NOT_EVIDENCED, "RV.1": NOT_EVIDENCED}
    control_schema = {**schema()["$defs"]["control"], "$defs": schema()["$defs"]}
    for row in rows:
        jsonschema.validate(row, control_schema)
        assert json.loads(json.dumps(row)) == row


def test_merging_shards_decides_the_controls_from_the_merged_checks(tmp_path: Path) -> None:
    from gatekeeper.findings import GateResult
    from gatekeeper.merge import merge_results
    from gatekeeper.policy import load_policy

    # coverage and licenses are off: merge refuses parts that leave out a check the policy enables
    _policy(
        tmp_path,
        '[gate]\ncontrols = ["nist-ssdf-1.1"]\n[checks.coverage]\nenabled = false\n[checks.licenses]\nenabled = false\n',
    )
    policy = load_policy(tmp_path, installed_options())

    def shard(index: int, *checks: CheckResult) -> GateResult:
        return replace(
            passing_result(),
            checks=checks,
            repository={"root": str(tmp_path), "commit": "ab" * 20, "branch": "main"},
            policy=policy.describe(),
            extra={"shard": {"index": index, "count": 2}, "controls": []},
        )

    merged = merge_results(
        [shard(1, _check("security", Status.PASS), _check("sbom", Status.PASS)), shard(2, _check("dependencies", Status.FAIL))],
        policy,
    )
    by_id = {c["id"]: c["status"] for c in merged.extra["controls"]}
    assert by_id == {"PW.7": "pass", "PS.3": "pass", "RV.1": "fail", "PW.4": "fail", "PW.8": NOT_EVIDENCED}
