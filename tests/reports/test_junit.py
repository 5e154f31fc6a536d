"""JUnit XML (CI test tab)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

from gatekeeper.findings import Finding, GateResult, Location, Severity
from gatekeeper.reports.json import render_json
from gatekeeper.reports.junit import render_junit
from tests.helpers.samples import ATTR, IMG, SCRIPT, errored_result, failing_result, passing_result


def parse(xml: str) -> ET.Element:
    """Parse the report (our own output, so the stdlib parser is fine)."""
    return ET.fromstring(xml)  # noqa: S314


# --------------------------------------------------------------------------- junit


def test_junit_has_one_testcase_per_check_with_failure_error_or_skipped() -> None:
    xml = render_junit(errored_result())
    root = parse(xml)
    assert root.tag == "testsuites"
    assert {"tests": "5", "failures": "3", "errors": "1", "skipped": "1"}.items() <= root.attrib.items()
    (suite,) = root.findall("testsuite")
    assert suite.get("timestamp") == "2026-11-29T02:40:00Z"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "error" and props["actor"] == "octocat" and props["branch"] == "feature/<login>"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["coverage", "dependencies", "licenses", "sbom", "security"]
    assert cases["coverage"].get("classname") == "gatekeeper.coverage" and cases["coverage"].get("time") == "0.840"
    failure = cases["security"].find("failure")
    assert failure is not None and failure.get("message") == "2 blocking findings (fail_on_severity medium)"
    assert "[high] B602 src/app/run.py:12: subprocess call with shell=True" in (failure.text or "")
    error = cases["dependencies"].find("error")
    assert error is not None and error.get("message") == "pip-audit timed out after 900s"
    assert cases["sbom"].find("skipped") is not None
    # the waived finding is reported, as not blocking, with its justification
    out = cases["security"].findtext("system-out") or ""
    assert "B101" in out and "waived: asserts guard invariants" in out
    assert "B101" not in (failure.text or "")


def test_junit_passing_checks_have_no_failure() -> None:
    root = parse(render_junit(passing_result()))
    assert root.get("failures") == "0" and root.get("errors") == "0"
    for case in root.iter("testcase"):
        assert case.find("failure") is None and case.find("error") is None and case.find("skipped") is None


def test_junit_escapes_hostile_text_and_control_characters() -> None:
    base = failing_result()
    nasty = Finding(
        rule_id="B999",
        severity=Severity.HIGH,
        message="bell\x07 nul\x00 esc\x1b[31m ]]> </failure><failure> & done",
        blocking=True,
        location=Location("x.py", 1),
    )
    result = replace(
        base, checks=tuple(replace(c, findings=(*c.findings, nasty)) if c.name == "security" else c for c in base.checks)
    )
    xml = render_junit(result)
    root = parse(xml)  # well-formed despite everything
    text = "".join(root.itertext())
    assert SCRIPT in text and IMG in text and ATTR in text
    assert "bell\\x07 nul\\x00 esc\\x1b[31m ]]> </failure><failure> & done" in text
    security = next(c for c in root.iter("testcase") if c.get("name") == "security")
    assert len(security.findall("failure")) == 1


def test_junit_is_deterministic_and_rerenders_from_json() -> None:
    again = GateResult.from_dict(json.loads(render_json(failing_result())))
    assert render_junit(failing_result()) == render_junit(again)
