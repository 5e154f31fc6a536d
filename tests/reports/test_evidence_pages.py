"""The history page (``audit report``), the control matrix, and the report polish, down to a real headless chromium.

Browser tests drive Debian's /usr/bin/chromium through Playwright, as the HTML report's tests do.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.findings import CheckResult, Finding, Package, Severity, Status
from gatekeeper.reports.html import render_html
from gatekeeper.reports.markdown import render_markdown
from gatekeeper.reports.sarif import MAX_FULL_DESCRIPTION, render_sarif
from tests.helpers.browser import Loaded
from tests.helpers.history import history_records, write_log
from tests.helpers.samples import SCRIPT, failing_result

KEY = "history-signing-key-for-tests-only"
CONTROLS = [
    {"id": "PW.7", "title": "Review and/or Analyze Human-Readable Code", "framework": "NIST SSDF 1.1 (SP 800-218)",
     "checks": ["security"], "status": "fail"},
    {"id": "PS.3", "title": "Archive and Protect Each Software Release", "framework": "NIST SSDF 1.1 (SP 800-218)",
     "checks": ["sbom"], "status": "pass"},
    {"id": "ORG-9", "title": f"Lint is clean {SCRIPT}", "framework": "Acme", "checks": ["lint"], "status": "not evidenced"},
]  # fmt: skip


def _audit_report(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", "audit", "report", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", **(env or {})},
    )


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A 60-run log (a quarter of two-a-day CI) with metrics that change, one branch name hostile."""
    records = history_records(60)
    records[5]["branch"] = f"feature/{SCRIPT}"
    log = tmp_path / ".gatekeeper" / "audit.jsonl"
    write_log(log, records, KEY.encode())
    return log


# --------------------------------------------------------------------------- history page


def test_history_page_lists_every_run_with_trends_waivers_and_an_intact_chain(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "history.html"
    done = _audit_report(str(history), "--output", str(out), cwd=tmp_path, env={"GATEKEEPER_AUDIT_KEY": KEY})
    assert done.returncode == 0, done.stderr
    assert f"history: {out} (60 run(s)" in done.stdout
    page = out.read_text(encoding="utf-8")
    assert "Chain intact and authenticated: 60 record(s) verified" in page and "All 60 signatures are valid" in page
    assert page.count('<tr class="run">') == 60
    for chart in ("chart-coverage", "chart-vulnerabilities", "chart-security", "chart-licenses", "chart-waivers"):
        assert f'<svg id="{chart}"' in page
    # the waivers' story: one applied throughout, one expired a third of the way in, one never used
    rows = dict(re.findall(r'<tr id="waiver-\d+"><td>(w-[a-z-]+)</td>(.*?)</tr>', page))
    assert '<td class="num">60</td>' in rows["w-asserts"] and "security@example.com" in rows["w-asserts"]
    assert '<td class="num">20</td>' in rows["w-legacy-gpl"] and "expired in 40 runs" in rows["w-legacy-gpl"]
    assert '<td class="num">0</td>' in rows["w-old-cve"] and "unused in 30" in rows["w-old-cve"]
    # hostile text from the log stays text
    assert SCRIPT not in page and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "<script" not in page


def test_since_keeps_only_recent_runs_and_a_bad_date_is_a_usage_error(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "recent.html"
    done = _audit_report(str(history), "--output", str(out), "--since", "2026-09-14", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count('<tr class="run">') == 9  # four a day on the 14th and 15th, and 02:00 on the 16th
    assert "(since 2026-09-14)" in page
    bad = _audit_report(str(history), "--since", "14/09/2026", cwd=tmp_path)
    assert bad.returncode == 2 and "--since: expected a day as YYYY-MM-DD" in bad.stderr
    absent = _audit_report(str(tmp_path / "nope.jsonl"), cwd=tmp_path)
    assert absent.returncode == 2 and "audit log not found" in absent.stderr and "Traceback" not in absent.stderr


def test_a_broken_chain_is_stated_at_the_top_and_its_runs_are_marked(history: Path, tmp_path: Path) -> None:
    lines = history.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[39])
    record["verdict"] = "pass"  # someone turns a failed run into a pass
    lines[39] = json.dumps(record, sort_keys=True)
    history.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "history.html"
    done = _audit_report(str(history), "--output", str(out), cwd=tmp_path)
    assert done.returncode == 1
    assert "TAMPERED at line 40: edited" in done.stderr
    page = out.read_text(encoding="utf-8")
    top = page[: page.index('id="summary"')]
    assert "Chain BROKEN" in top and "line 40: edited" in top
    # nothing is hidden: all 60 runs are listed, the 21 from the bad line on marked as untrusted
    assert page.count('<tr class="run') == 60
    assert page.count('<tr class="run suspect">') == 21


def test_past_a_break_every_line_is_listed_in_place_even_one_that_is_not_json(history: Path, tmp_path: Path) -> None:
    lines = history.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[29])
    record["verdict"] = "pass"
    lines[29] = json.dumps(record, sort_keys=True)  # line 30 edited
    lines[44] = "{ truncated"  # and line 45 is not a record at all
    history.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "history.html"
    done = _audit_report(str(history), "--output", str(out), cwd=tmp_path)
    assert done.returncode == 1 and "TAMPERED at line 30: edited" in done.stderr
    assert f"history: {out} (60 run(s)" in done.stdout
    page = out.read_text(encoding="utf-8")
    body = page[page.index('id="run-table"') :]
    rows = re.findall(r'<tr class="([a-z ]+)"><td>([^<]*)</td>', body)  # newest first
    assert len(rows) == 60
    assert rows[60 - 45] == ("invalid suspect", "?") and "line 45 is not a valid audit record" in body
    numbers = [seq for _, seq in rows if seq != "?"]
    assert numbers == [str(n) for n in range(60, 0, -1) if n != 45]  # in log order, none twice, none lost
    assert [cls for cls, _ in rows].count("run suspect") == 30  # lines 30..60 but the invalid one
    assert [cls for cls, _ in rows[60 - 29 :]] == ["run"] * 29  # lines 1..29 verified


# --------------------------------------------------------------------------- in a real browser


@pytest.mark.slow
def test_history_page_renders_offline_with_no_console_error(browser: Any, history: Path, tmp_path: Path) -> None:
    out = tmp_path / "history.html"
    assert _audit_report(str(history), "--output", str(out), cwd=tmp_path, env={"GATEKEEPER_AUDIT_KEY": KEY}).returncode == 0
    loaded = Loaded(browser, out)
    try:
        page = loaded.page
        assert loaded.errors == []
        assert [c for c in loaded.console if c[0] in ("error", "warning")] == []
        assert loaded.requests == [loaded.url]
        assert page.locator("#chain-status").inner_text() == "INTACT"
        assert page.locator("#run-table tbody tr").count() == 60
        for chart in ("#chart-coverage", "#chart-vulnerabilities", "#chart-security", "#chart-licenses", "#chart-waivers"):
            assert page.locator(f"{chart} polyline").count() >= 1, chart
            assert page.locator(chart).bounding_box()["width"] > 300
        assert page.locator("#chart-security polyline").count() == 3  # high, medium, low
        assert page.get_by_text(SCRIPT, exact=False).first.is_visible()
        assert page.evaluate("typeof window.__pwned") == "undefined"
        page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
        assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        loaded.close()


@pytest.mark.slow
def test_control_matrix_renders_under_the_verdict_with_no_console_error(browser: Any, tmp_path: Path) -> None:
    result = replace(failing_result(), extra={**failing_result().extra, "controls": CONTROLS})
    out = tmp_path / "gatekeeper.html"
    out.write_text(render_html(result), encoding="utf-8")
    loaded = Loaded(browser, out)
    try:
        page = loaded.page
        assert loaded.errors == [] and [c for c in loaded.console if c[0] in ("error", "warning")] == []
        assert loaded.requests == [loaded.url]
        matrix = page.locator("#control-matrix")
        assert matrix.is_visible()
        rows = matrix.locator("tbody tr")
        assert rows.count() == 3
        assert [rows.nth(i).locator("td").last.inner_text().lower() for i in range(3)] == ["fail", "pass", "not evidenced"]
        assert "lint" in rows.nth(2).inner_text() and "NOT RUN" in rows.nth(2).inner_text().upper()
        # the matrix is the first thing under the verdict
        header = page.locator("header.verdict").bounding_box()
        box = matrix.bounding_box()
        run = page.locator("#run").bounding_box()
        assert header["y"] < box["y"] < run["y"]
        assert page.evaluate("typeof window.__pwned") == "undefined"
    finally:
        loaded.close()


# --------------------------------------------------------------------------- report polish


def test_markdown_lists_the_controls() -> None:
    text = render_markdown(replace(failing_result(), extra={"controls": CONTROLS}))
    assert "### Controls" in text
    assert "| NIST SSDF 1.1 (SP 800-218) | PW.7 | Review and/or Analyze Human-Readable Code | security | ❌ fail |" in text
    assert "⚪ not evidenced" in text and "<script>" not in text


def test_html_metric_tables_print_nested_values_as_labelled_values() -> None:
    base = failing_result()
    sec = base.check("security")
    assert sec is not None
    metrics = {**sec.metrics, "index": {"files": 2661, "index_cached": False}, "by_severity": {"critical": 0, "high": 50}}
    html = render_html(replace(base, checks=tuple(replace(c, metrics=metrics) if c is sec else c for c in base.checks)))
    assert "files: 2661; index cached: no" in html
    assert "critical: 0; high: 50" in html
    assert "{&#34;" not in html and '{"files"' not in html


def test_sarif_rules_keep_full_description_within_github_limit_and_carry_markdown_help() -> None:
    # the markup first: a help text is cut at 4,000 characters (MAX_MESSAGE), and what is cut shows nothing
    long = "[click](javascript:alert(1)) <b>bold</b> " + "A very long advisory. " * 200
    finding = Finding(
        rule_id="GHSA-xxxx-yyyy-zzzz",
        severity=Severity.HIGH,
        message="jinja2 2.10 is vulnerable",
        blocking=True,
        help_uri="https://osv.dev/vulnerability/GHSA-xxxx-yyyy-zzzz",
        properties={"description": long, "aliases": ["CVE-2024-0001"], "fixed_versions": ["3.1.4"]},
        fingerprint="f1",
    )
    finding = replace(finding, package=Package("jinja2", "2.10"))
    check = CheckResult(name="dependencies", status=Status.FAIL, findings=(finding,))
    sarif = json.loads(render_sarif(replace(failing_result(), checks=(check,))))
    rule = sarif["runs"][0]["tool"]["driver"]["rules"][0]
    assert len(rule["fullDescription"]["text"]) <= MAX_FULL_DESCRIPTION == 1024
    assert rule["fullDescription"]["text"].endswith("…")
    md = rule["help"]["markdown"]
    assert "**Fix:** upgrade jinja2 to 3.1.4" in md
    assert "[More information](https://osv.dev/vulnerability/GHSA-xxxx-yyyy-zzzz)" in md
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in md and "\\<b\\>" in md  # no live link, no HTML
    assert rule["help"]["text"].startswith("[click](javascript:alert(1)) <b>bold</b> A very long advisory.")
