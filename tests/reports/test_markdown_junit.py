"""Markdown (PR comment / job summary) and JUnit XML (CI test tab)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

from gatekeeper.findings import Finding, GateResult, Location, Severity
from gatekeeper.reports.json import render_json
from gatekeeper.reports.junit import render_junit
from gatekeeper.reports.markdown import MAX_FINDINGS, render_markdown
from tests.helpers.samples import ATTR, IMG, SCRIPT, errored_result, failing_result, many_findings, passing_result


def parse(xml: str) -> ET.Element:
    """Parse the report (our own output, so the stdlib parser is fine)."""
    return ET.fromstring(xml)  # noqa: S314


def table_rows(md: str, header: str) -> list[list[str]]:
    """The cells of the Markdown table whose header row starts with ``header`` (split on unescaped pipes)."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([c.strip() for c in cells])
    return rows


# --------------------------------------------------------------------------- markdown


def test_markdown_summarises_the_verdict_and_every_check() -> None:
    md = render_markdown(failing_result())
    assert md.startswith("## ❌ gatekeeper: FAIL\n")
    rows = table_rows(md, "| Check |")
    assert [r[0] for r in rows] == ["coverage", "dependencies", "licenses", "sbom", "security"]
    assert all(len(r) == 5 for r in rows)
    by_name = {r[0]: r for r in rows}
    assert by_name["sbom"][1] == "✅ pass"
    assert by_name["security"][1:] == ["❌ fail", "2 blocking findings (fail\\_on\\_severity medium)", "2", "1"]
    assert by_name["dependencies"][3:] == ["2", "1"]
    assert "by octocat" in md and "commit 3f2c1e9a0b7d" in md


def test_markdown_lists_blocking_findings_most_severe_first_with_hostile_text_escaped() -> None:
    md = render_markdown(failing_result())
    rows = table_rows(md, "| Severity |")
    assert len(rows) == 7 and all(len(r) == 5 for r in rows)  # no message broke out of its cell
    assert [r[0] for r in rows] == ["critical", "high", "high", "high", "high", "medium", "medium"]
    assert rows[0][2] == "PYSEC-2024-1"
    for raw in (SCRIPT, IMG, ATTR.replace('"', "")):
        assert raw not in md
    assert "&lt;script&gt;window.\\_\\_pwned=1&lt;/script&gt;" in md
    assert "B101" not in md  # waived: not blocking
    assert "**Expired waivers** (no longer applied): w-old" in md


def test_markdown_pipes_mentions_and_links_stay_text() -> None:
    base = failing_result()
    odd = Finding(
        rule_id="R|1",
        severity=Severity.HIGH,
        message="a | b\nnew line @octo-org/admins see https://evil.example/x [x](javascript:alert(1))",
        blocking=True,
        location=Location("a|b.py", 3),
    )
    result = replace(base, checks=tuple(replace(c, findings=(odd,)) if c.name == "sbom" else c for c in base.checks))
    md = render_markdown(result)
    row = next(r for r in table_rows(md, "| Severity |") if r[2].startswith("R"))
    assert len(row) == 5 and row[2] == "R\\|1" and row[3] == "a\\|b.py:3"
    assert "\n" not in row[4] and "@octo-org" not in md and "https://evil" not in md and "[x](" not in md


def test_markdown_caps_the_list_of_findings() -> None:
    md = render_markdown(many_findings(200))
    assert len(table_rows(md, "| Severity |")) == MAX_FINDINGS
    blocking = sum(1 for f in many_findings(200).checks[0].findings if f.blocking)
    assert f"…and {blocking - MAX_FINDINGS} more blocking findings" in md
    assert len(md.encode()) < 10_000


def test_markdown_for_errors_and_passes() -> None:
    md = render_markdown(errored_result())
    assert md.startswith("## ⚠️ gatekeeper: ERROR")
    rows = {r[0]: r for r in table_rows(md, "| Check |")}
    assert rows["dependencies"][1:3] == ["⚠️ error", "pip-audit timed out after 900s"]
    assert rows["sbom"][1] == "⏭️ skipped"
    assert "1 check could not run (dependencies)" in md
    ok = render_markdown(passing_result())
    assert ok.startswith("## ✅ gatekeeper: PASS") and "Blocking findings" not in ok


def test_markdown_is_deterministic_and_rerenders_from_json() -> None:
    again = GateResult.from_dict(json.loads(render_json(failing_result())))
    assert render_markdown(failing_result()) == render_markdown(again)


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
