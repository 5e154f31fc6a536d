"""SARIF 2.1.0 for GitHub code scanning: schema-valid, one run per check, rules, bands, suppressions, limits."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.findings import Finding, GateResult, Location, Severity
from gatekeeper.reports.json import render_json
from gatekeeper.reports.sarif import MAX_BYTES, MAX_RESULTS_PER_RUN, render_sarif
from tests.helpers.samples import HOSTILE_PATH, errored_result, failing_result, many_findings, passing_result

#: the schema GitHub validates uploads against, vendored unmodified (source and licence: tests/data/README.md)
SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"


def sarif(result: GateResult, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_sarif(result, **kw))
    return data


def results_by_rule(log: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for run in log["runs"]:
        for r in run["results"]:
            out.setdefault(r["ruleId"], []).append(r)
    return out


def rule(log: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for run in log["runs"] for r in run["tool"]["driver"]["rules"] if r["id"] == rule_id)


@pytest.fixture(scope="module")
def validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # no check_schema(): the published schema itself has a known slip (an "anyOf" under region's
    # "properties") that the 2020-12 meta-schema rejects; validating instances works regardless
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.mark.parametrize("make", [failing_result, errored_result, passing_result, lambda: many_findings(300)])
def test_reports_are_valid_sarif_2_1_0(validator: Any, make: Any) -> None:
    log = sarif(make())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert log["version"] == "2.1.0"


def test_one_run_per_check_that_ran_each_with_its_own_category() -> None:
    log = sarif(failing_result())
    names = [run["tool"]["driver"]["name"] for run in log["runs"]]
    assert names == [
        "gatekeeper-coverage",
        "gatekeeper-dependencies",
        "gatekeeper-licenses",
        "gatekeeper-sbom",
        "gatekeeper-security",
    ]
    categories = [run["automationDetails"]["id"] for run in log["runs"]]
    assert len(set(categories)) == len(categories) == 5
    assert "gatekeeper/security/" in categories
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert driver["version"] == "0.1.0"
        assert driver["informationUri"].startswith("https://")
    bandit = next(run for run in log["runs"] if run["automationDetails"]["id"] == "gatekeeper/security/")
    assert bandit["tool"]["extensions"] == [
        {"name": "bandit", "informationUri": "https://bandit.readthedocs.io/", "version": "1.7.9"}
    ]


def test_checks_that_did_not_run_get_no_run_so_their_alerts_stay_open() -> None:
    log = sarif(errored_result())
    categories = {run["automationDetails"]["id"] for run in log["runs"]}
    assert categories == {"gatekeeper/coverage/", "gatekeeper/licenses/", "gatekeeper/security/"}
    omitted = log["properties"]["gatekeeper"]["omitted_checks"]
    assert omitted == [
        {"check": "dependencies", "status": "error", "reason": "pip-audit timed out after 900s"},
        {"check": "sbom", "status": "skipped", "reason": "skipped by --skip"},
    ]
    assert log["properties"]["gatekeeper"]["verdict"] == "error"


def test_every_finding_is_a_result_and_every_rule_id_has_a_complete_rule() -> None:
    result = failing_result()
    log = sarif(result)
    assert sum(len(run["results"]) for run in log["runs"]) == sum(len(c.findings) for c in result.checks)
    for run in log["runs"]:
        rules = run["tool"]["driver"]["rules"]
        ids = [r["id"] for r in rules]
        assert len(ids) == len(set(ids))
        assert {r["ruleId"] for r in run["results"]} == set(ids)
        for res in run["results"]:
            assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        for r in rules:
            assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
            assert r["helpUri"].startswith("https://")
            assert r["properties"]["tags"]
    b602 = rule(log, "B602")
    assert b602["shortDescription"]["text"] == "B602: subprocess_popen_with_shell_equals_true"
    assert b602["helpUri"].endswith("b602_subprocess_popen_with_shell_equals_true.html")
    assert "external/cwe/cwe-78" in b602["properties"]["tags"]
    ghsa = rule(log, "GHSA-j8r2-6x86-q33q")
    assert "Proxy-Authorization" in ghsa["fullDescription"]["text"]
    assert "CVE-2023-32681" in ghsa["help"]["text"] and "upgrade requests to 2.31.0" in ghsa["help"]["text"]
    assert rule(log, "PYSEC-2024-1")["helpUri"] == "https://osv.dev/vulnerability/PYSEC-2024-1"
    assert rule(log, "license-denied")["helpUri"] == "https://spdx.org/licenses/GPL-3.0-only.html"


def _band(score: float) -> str:
    # GitHub: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 3.9 or less low
    return "critical" if score > 9.0 else "high" if score >= 7.0 else "medium" if score >= 4.0 else "low"


def test_security_and_vulnerability_rules_carry_security_severity_in_githubs_bands() -> None:
    log = sarif(failing_result())
    expected = {"B602": "high", "B608": "medium", "B105": "low", "B101": "low", "PYSEC-2024-1": "critical"}
    for rule_id, band in expected.items():
        score = rule(log, rule_id)["properties"]["security-severity"]
        assert isinstance(score, str)
        assert _band(float(score)) == band, rule_id
    # an advisory's own score wins over the band's default
    assert rule(log, "GHSA-j8r2-6x86-q33q")["properties"]["security-severity"] == "6.1"
    assert "security" in rule(log, "GHSA-j8r2-6x86-q33q")["properties"]["tags"]
    for rule_id in ("coverage-total", "coverage-file", "license-denied", "sbom-no-license"):
        assert "security-severity" not in rule(log, rule_id)["properties"]


def test_levels_follow_severity() -> None:
    by_rule = results_by_rule(sarif(failing_result()))
    assert by_rule["PYSEC-2024-1"][0]["level"] == "error"  # critical
    assert by_rule["B602"][0]["level"] == "error"  # high
    assert by_rule["B608"][0]["level"] == "warning"  # medium
    assert by_rule["B105"][0]["level"] == "note"  # low
    assert by_rule["sbom-no-license"][0]["level"] == "note"  # info


def test_waived_and_baselined_findings_are_suppressed_with_their_justification() -> None:
    by_rule = results_by_rule(sarif(failing_result()))
    waived = by_rule["B101"][0]
    (sup,) = waived["suppressions"]
    assert sup["kind"] == "external" and sup["status"] == "accepted"
    assert "asserts guard invariants" in sup["justification"]
    assert "security@example.com" in sup["justification"] and "2027-06-30" in sup["justification"]
    baselined = by_rule["GHSA-h5c8-rqwp-cp95"][0]
    assert "baseline" in baselined["suppressions"][0]["justification"].lower()
    assert "suppressions" not in by_rule["B602"][0]


def test_locations_are_relative_to_srcroot_and_start_at_line_1_or_later() -> None:
    result = failing_result()
    log = sarif(result)
    for run in log["runs"]:
        assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///home/runner/work/shop/shop/"
        for res in run["results"]:
            (loc,) = res["locations"]
            phys = loc["physicalLocation"]
            assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
            assert not phys["artifactLocation"]["uri"].startswith(("/", "file:"))
            assert phys["region"]["startLine"] >= 1
    by_rule = results_by_rule(log)
    b602 = by_rule["B602"][0]["locations"][0]["physicalLocation"]
    assert b602["artifactLocation"]["uri"] == "src/app/run.py"
    assert b602["region"] == {"startLine": 12, "endLine": 12, "startColumn": 5}  # bandit's 0-based column 4
    hostile = by_rule["B608"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert hostile == "src/app/we%22ird%20%3Cb%3Ename%3C/b%3E.py"
    from urllib.parse import unquote

    assert unquote(hostile) == HOSTILE_PATH


def test_package_findings_point_at_the_manifest_that_declares_them() -> None:
    by_rule = results_by_rule(sarif(failing_result()))
    declared = by_rule["GHSA-j8r2-6x86-q33q"][0]["locations"][0]
    assert declared["physicalLocation"]["artifactLocation"]["uri"] == "requirements.txt"
    assert declared["physicalLocation"]["region"]["startLine"] == 3
    assert declared["logicalLocations"][0]["fullyQualifiedName"] == "requests==2.25.0"
    for rule_id in ("license-denied", "sbom-no-license", "PYSEC-2024-1"):
        phys = by_rule[rule_id][0]["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"]["uri"] == "pyproject.toml"
        assert phys["region"]["startLine"] == 1


def test_partial_fingerprints_carry_the_finding_fingerprint() -> None:
    result = failing_result()
    log = sarif(result)
    expected = {f.fingerprint for c in result.checks for f in c.findings}
    got = {r["partialFingerprints"]["gatekeeper/v1"] for run in log["runs"] for r in run["results"]}
    assert got == expected


def test_githubs_result_limit_per_run_keeps_the_most_severe() -> None:
    total = MAX_RESULTS_PER_RUN + 3
    result = many_findings(total)
    text = render_sarif(result)
    assert len(text.encode()) <= MAX_BYTES
    (run,) = json.loads(text)["runs"]
    assert len(run["results"]) == MAX_RESULTS_PER_RUN == 25_000
    # the three left out are among the least severe (info), none of the critical ones
    kept = {r["partialFingerprints"]["gatekeeper/v1"] for r in run["results"]}
    dropped = [f for f in result.checks[0].findings if f.fingerprint not in kept]
    assert len(dropped) == 3 and {f.severity for f in dropped} == {Severity.INFO}
    assert run["properties"]["gatekeeper"]["truncated"] == {
        "kept": 25_000,
        "total": total,
        "left_out": 3,
        "reason": "GitHub accepts at most 25,000 results per run",
    }
    note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert note.startswith("3 of 25,003 security findings were left out")


def test_githubs_file_size_limit_keeps_the_most_severe() -> None:
    base = many_findings(4000)
    # long messages (a verbose scanner): about 15 MB in all, over GitHub's 10 MB
    check = base.checks[0]
    long = tuple(replace(f, message=f.message + " " + "x" * 3500) for f in check.findings)
    result = replace(base, checks=(replace(check, findings=long),))
    text = render_sarif(result)
    assert len(text.encode()) <= MAX_BYTES
    (run,) = json.loads(text)["runs"]
    kept = len(run["results"])
    assert 1000 < kept < 4000
    trunc = run["properties"]["gatekeeper"]["truncated"]
    assert trunc["left_out"] == 4000 - kept and "10,000,000 bytes" in trunc["reason"]
    shown = {r["message"]["text"] for r in run["results"]}
    worst_dropped = max(f.severity.rank for f in long if f.message not in shown)
    least_kept = min(Severity(r["properties"]["severity"]).rank for r in run["results"])
    assert least_kept >= worst_dropped


def test_small_limits_are_honoured_too() -> None:
    log = sarif(many_findings(250), max_results=100)
    (run,) = log["runs"]
    assert len(run["results"]) == 100
    assert {r["level"] for r in run["results"]} <= {"error", "warning"}  # 100 of the 150 critical/high/medium
    assert len(run["tool"]["driver"]["rules"]) == len({r["ruleId"] for r in run["results"]})


def test_same_result_same_bytes_and_rerendered_from_json() -> None:
    result = failing_result()
    again = GateResult.from_dict(json.loads(render_json(result)))
    assert render_sarif(result) == render_sarif(failing_result()) == render_sarif(again)


def test_findings_without_line_or_fingerprint_still_make_valid_results(validator: Any) -> None:
    base = failing_result()
    odd = Finding(rule_id="X1", severity=Severity.MEDIUM, message="", location=Location("a b/c.py", 0))
    checks = tuple(replace(c, findings=(*c.findings, odd)) if c.name == "coverage" else c for c in base.checks)
    log = sarif(replace(base, checks=checks))
    assert not list(validator.iter_errors(log))
    res = results_by_rule(log)["X1"][0]
    assert res["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a%20b/c.py"
    assert res["message"]["text"] == "X1"
    assert len(res["partialFingerprints"]["gatekeeper/v1"]) == 32


def test_the_schema_check_would_catch_a_broken_log(validator: Any) -> None:
    log = sarif(failing_result())
    res = log["runs"][0]["results"][0]
    res["level"] = "fatal"
    res["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    res["suppressions"] = [{"status": "accepted"}]  # no kind
    assert len(list(validator.iter_errors(log))) >= 3


def test_streamed_json_and_sarif_are_the_bytes_of_one_dump(tmp_path: Path) -> None:
    """The JSON and SARIF reports are written a finding at a time; the bytes equal one json.dumps of the whole."""
    from gatekeeper.reports import write_reports

    result = many_findings(2000)
    assert render_json(result) == json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    write_reports(result, tmp_path, ["json", "sarif"])
    assert (tmp_path / "gatekeeper.json").read_text(encoding="utf-8") == render_json(result)
    sarif = (tmp_path / "gatekeeper.sarif").read_text(encoding="utf-8")
    log = json.loads(sarif)
    results = log["runs"][0]["results"]
    assert len(results) == 2000
    # the log indented as one dump would, but each result compact on a line of its own
    lines = sarif.splitlines()
    first = next(i for i, line in enumerate(lines) if line.endswith('"results": ['))
    pad = " " * (len(lines[first]) - len(lines[first].lstrip()) + 2)
    assert lines[first + 1 : first + 2001] == [
        pad + json.dumps(r, ensure_ascii=False, separators=(",", ":")) + ("," if n < 1999 else "") for n, r in enumerate(results)
    ]
    rest = "\n".join([*lines[:first], lines[first] + lines[first + 2001].lstrip(), *lines[first + 2002 :]]) + "\n"
    log["runs"][0]["results"] = []
    assert rest == json.dumps(log, indent=2, ensure_ascii=False) + "\n"
    compact = render_sarif(result, max_bytes=300_000)  # over the limit: compact, then the least severe left out
    assert compact == json.dumps(json.loads(compact), ensure_ascii=False, separators=(",", ":")) + "\n"
    assert len(compact.encode()) <= 300_000


def test_findings_with_every_kind_of_json_value_are_written_as_json_dumps_would() -> None:
    """Each finding of the JSON report is indented by gatekeeper's own encoder (json's indenting one
    is pure Python and slow): odd floats, escapes, lone surrogates, empty and nested containers,
    tuples, enum values and non-string keys come out as json.dumps writes them."""
    import dataclasses
    import enum

    class Kind(str, enum.Enum):
        ODD = 'quote " backslash \\ newline \n tab \t é \u2028'

    class Level(enum.IntEnum):
        HIGH = 3

    properties = {
        "floats": [0.1, -0.0, 1e300, 5e-324, float("nan"), float("inf"), float("-inf")],
        "text": ["", "\x00\x1f\x7f", "\ud800 lone", "日本語"],
        "empty": [[], {}, (), [[]], {"a": {}}],
        "tuple": (1, (2, 3), {"z": None}),
        "enums": {"kind": Kind.ODD, "level": Level.HIGH},
        "keys": {7: "int", 2.5: "float", True: "bool", None: "none", Level.HIGH: "enum"},
        "flags": [True, False, None, 0, -7, 10**30],
    }
    result = many_findings(3)
    odd = dataclasses.replace(result.checks[0].findings[0], properties=properties)
    check = dataclasses.replace(result.checks[0], findings=(odd, *result.checks[0].findings[1:]))
    result = dataclasses.replace(result, checks=(check, *result.checks[1:]))
    assert render_json(result) == json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


def test_text_in_the_result_that_spells_a_list_placeholder_stays_text() -> None:
    """The streamed JSON swaps placeholders for the findings lists; a policy string or a tool's
    message spelling one (the fixed marker a reader of the source could copy) is written as it is."""
    import dataclasses

    result = many_findings(3)
    spelled = "\x00gatekeeper-lazy-list:0\x00"
    check = dataclasses.replace(result.checks[0], summary=spelled)
    result = dataclasses.replace(result, checks=(check, *result.checks[1:]))
    assert render_json(result) == json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    assert json.loads(render_json(result))["checks"][0]["summary"] == spelled


def test_information_uri_reads_headers_as_the_full_metadata_does(tmp_path: Path) -> None:
    """The home page comes from the metadata headers alone: what importlib.metadata's full parse gives,
    for a distribution whose long description holds header-like lines and a blank line of its own,
    and for every distribution installed here."""
    from importlib import metadata

    from gatekeeper.checkers import metadata_headers
    from gatekeeper.reports.sarif import information_uri

    info = tmp_path / "acme-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme\nVersion: 1.0\nProject-URL: Docs, https://docs.example\n"
        "Project-URL: Source, https://src.example\n\nProject-URL: Homepage, https://body.example\n\nHome-page: x\n"
    )
    dist = metadata.PathDistribution(info)
    headers = metadata_headers(dist)
    assert (
        headers.get_all("Project-URL")
        == dist.metadata.get_all("Project-URL")
        == [
            "Docs, https://docs.example",
            "Source, https://src.example",
        ]
    )
    assert "Home-page" not in headers
    for installed in metadata.distributions():
        full, fast = installed.metadata, metadata_headers(installed)
        for key in ("Name", "Version", "Project-URL", "Home-page"):
            assert fast.get_all(key) == full.get_all(key), (installed._path, key)  # type: ignore[attr-defined]
    urls = metadata.metadata("gatekeeper").get_all("Project-URL") or []
    assert information_uri() == next(
        (
            u.partition(",")[2].strip()
            for u in urls
            if u.partition(",")[0].strip().lower() in ("homepage", "home", "source", "repository")
        ),
        metadata.metadata("gatekeeper").get("Home-page") or "https://pypi.org/project/gatekeeper/",
    )
