"""The HTML report: self-contained, escaped, and working in a real headless chromium.

The browser tests drive Debian's /usr/bin/chromium through Playwright (never Playwright's own
downloaded browsers). Without chromium they fail with a message saying how to install it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.fileio import shipped_dir
from gatekeeper.findings import GateResult
from gatekeeper.reports.html import render_html
from gatekeeper.reports.json import render_json
from tests.helpers.browser import Loaded
from tests.helpers.samples import ATTR, HOSTILE_PATH, IMG, SCRIPT, errored_result, failing_result, passing_result

# --------------------------------------------------------------------------- the markup itself


def test_templates_are_shipped_data_found_through_shipped_dir() -> None:
    folder = shipped_dir("report_templates")
    assert {"report.html.j2", "report.css", "report.js"} <= {p.name for p in folder.iterdir()}


def test_page_is_self_contained() -> None:
    html = render_html(failing_result())
    # nothing is fetched: no external stylesheet, script, image, font or frame
    assert not re.search(r"<(link|script|img|iframe|object|embed)\b[^>]*\b(href|src)=\"(?!data:|#)", html)
    assert "@import" not in html and "url(" not in html
    assert "<style>" in html and "<script>" in html and "<svg" in html
    # links that do exist are to advisories and rule docs, to open by hand
    for href in re.findall(r'href="([^"]+)"', html):
        assert href.startswith(("#", "https://", "data:")), href
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp
    policy = unescape(csp.group(1))
    assert (
        "default-src 'none'" in policy
        and "script-src 'sha256-" in policy
        and "unsafe-inline" not in policy.split("script-src")[1]
    )


def test_everything_shown_is_escaped() -> None:
    html = render_html(failing_result())
    for hostile in (SCRIPT, IMG, ATTR, HOSTILE_PATH, "<never>", "feature/<login>"):
        assert hostile not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=window.__pwned=3&gt;" in html
    assert "&#34; onmouseover=&#34;window.__pwned=2&#34; x=&#34;" in html
    # exactly one script element: ours
    assert html.count("<script") == 1


def test_narrowing_is_escaped_and_capped_per_check() -> None:
    from gatekeeper.findings import Narrowing
    from gatekeeper.reports.html import HTML_MAX_NARROWED_FILES, HTML_MAX_NARROWING

    base = failing_result()
    files = tuple(f"gen/{i}.py" for i in range(HTML_MAX_NARROWED_FILES + 5))
    hostile = Narrowing("exclude", HOSTILE_PATH, 1, SCRIPT, IMG, files)
    many = tuple(
        Narrowing("line-comments", f"m/{i}.py", 1, "1 × # noqa (line 1)", "silenced") for i in range(HTML_MAX_NARROWING + 7)
    )
    first, *rest = base.checks
    html = render_html(replace(base, checks=(replace(first, narrowing=(hostile, *many)), *rest)))
    assert SCRIPT not in html and IMG not in html and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert (
        "<code>gen/0.py</code>" in html and f"<code>gen/{HTML_MAX_NARROWED_FILES}.py</code>" not in html and " and 5 more" in html
    )
    assert f"m/{HTML_MAX_NARROWING - 2}.py" in html and f"m/{HTML_MAX_NARROWING}.py" not in html
    assert "… and 8 more, listed in <code>gatekeeper.json</code>." in html


def test_only_http_links_are_clickable() -> None:
    base = failing_result()
    sec = base.check("security")
    assert sec is not None
    bad = replace(sec.findings[0], help_uri="javascript:window.__pwned=4")
    result = replace(
        base, checks=tuple(replace(c, findings=(bad, *c.findings[1:])) if c.name == "security" else c for c in base.checks)
    )
    html = render_html(result)
    assert "javascript:" not in html


def test_top_of_page_names_verdict_time_commit_branch_actor_policy_and_digest() -> None:
    html = render_html(failing_result())
    head = html[: html.index('id="checks"')]
    for text in (
        ">FAIL<",
        "2026-11-29T02:40:00Z",
        "3f2c1e9a0b7d4c5e6f708192a3b4c5d6e7f80912",
        "feature/&lt;login&gt;",
        '<dd id="actor">octocat</dd>',
        "gatekeeper.toml",
        "ab" * 32,
    ):
        assert text in head, text
    no_actor = render_html(passing_result())
    assert '<dd id="actor">—</dd>' in no_actor


def test_same_result_same_bytes_and_rerendered_from_json() -> None:
    result = failing_result()
    again = GateResult.from_dict(json.loads(render_json(result)))
    assert render_html(result) == render_html(failing_result()) == render_html(again)


def test_error_check_without_metrics_and_a_passing_run_render() -> None:
    html = render_html(errored_result())
    assert "Could not run:</strong> pip-audit timed out after 900s" in html
    assert ">ERROR<" in html
    assert "No findings." in render_html(passing_result())


# --------------------------------------------------------------------------- in a real browser


@pytest.fixture
def loaded(browser: Any, tmp_path: Path) -> Iterator[Loaded]:
    path = tmp_path / "gatekeeper.html"
    path.write_text(render_html(failing_result()), encoding="utf-8")
    page = Loaded(browser, path)
    try:
        yield page
    finally:
        page.close()


@pytest.mark.slow
def test_renders_without_errors_requests_or_injected_scripts(loaded: Loaded, tmp_path: Path) -> None:
    page = loaded.page
    # hover and click every cell: an injected onmouseover/onerror would fire now
    for cell in page.locator("#findings td.message").all():
        cell.hover()
    page.locator("#check-licenses table.licenses").hover()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert loaded.errors == []
    assert [c for c in loaded.console if c[0] in ("error", "warning")] == []
    assert loaded.requests == [loaded.url]
    # the hostile strings show as text, literally
    assert page.get_by_text(SCRIPT, exact=False).first.is_visible()
    assert page.locator("#findings").inner_text().count("<script>window.__pwned=1</script>") == 2
    assert IMG in page.locator("#findings").inner_text()
    assert HOSTILE_PATH in page.locator("#check-coverage").inner_text()
    assert page.locator("#verdict").inner_text() == "FAIL"
    assert page.locator("#actor").inner_text() == "octocat"
    assert page.locator("#severity-chart rect").count() > 5
    assert page.locator("#check-coverage svg.bar").count() == 4
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_filters_change_the_visible_rows(loaded: Loaded) -> None:
    page = loaded.page
    result = failing_result()
    findings = [(c.name, f) for c in result.checks for f in c.findings]
    assert loaded.visible_rows() == len(findings) == 12
    assert page.locator("#f-count").inner_text() == "12 of 12 findings shown"

    page.select_option("#f-severity", "high")
    assert loaded.visible_rows() == sum(1 for _, f in findings if f.severity.value == "high") == 4
    page.select_option("#f-check", "security")
    assert loaded.visible_rows() == 1
    assert "B602" in page.locator("#findings tbody tr:visible").inner_text()
    page.select_option("#f-severity", "")
    assert loaded.visible_rows() == 4

    page.select_option("#f-state", "waived")
    assert loaded.visible_rows() == 1
    assert "B101" in page.locator("#findings tbody tr:visible").inner_text()
    page.select_option("#f-check", "")
    page.select_option("#f-state", "blocking")
    assert loaded.visible_rows() == sum(1 for _, f in findings if f.blocking) == 7
    page.select_option("#f-state", "")

    page.fill("#f-text", "hunter2")
    assert loaded.visible_rows() == 1
    page.fill("#f-text", "__PWNED=1")  # case-insensitive, matches the literal hostile text
    assert loaded.visible_rows() == 2
    page.fill("#f-text", "")
    assert loaded.visible_rows() == 12
    assert page.locator("#f-count").inner_text() == "12 of 12 findings shown"


@pytest.mark.slow
def test_columns_sort(loaded: Loaded) -> None:
    page = loaded.page

    def column(attr: str) -> list[str]:
        values: list[str] = page.eval_on_selector_all("#findings tbody tr", f"rows => rows.map(r => r.dataset.{attr})")
        return values

    ranks = [int(r) for r in column("rank")]
    assert ranks == sorted(ranks, reverse=True)  # most severe first
    page.click("#findings th[data-sort=check] button")
    checks = column("check")
    assert checks == sorted(checks)
    assert page.get_attribute("#findings th[data-sort=check]", "aria-sort") == "ascending"
    page.click("#findings th[data-sort=check] button")
    assert column("check") == sorted(checks, reverse=True)
    page.click("#findings th[data-sort=rank] button")  # severity starts with the worst
    ranks = [int(r) for r in column("rank")]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] == 4
    page.click("#findings th[data-sort=rank] button")
    ranks = [int(r) for r in column("rank")]
    assert ranks == sorted(ranks) and ranks[0] == 0
    # sorting keeps a filter
    page.select_option("#f-check", "dependencies")
    page.click("#findings th[data-sort=rule] button")
    assert loaded.visible_rows() == 3


@pytest.mark.slow
def test_prints_to_pdf_with_the_print_stylesheet(loaded: Loaded, tmp_path: Path) -> None:
    page = loaded.page
    page.select_option("#f-severity", "critical")
    assert loaded.visible_rows() == 1
    page.emulate_media(media="print")
    # on paper: no filter controls, and every finding (the archive copy is complete)
    assert page.locator("#filters").is_hidden()
    assert loaded.visible_rows() == 12
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20_000
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 2


@pytest.mark.slow
def test_the_page_works_when_copied_elsewhere(browser: Any, tmp_path: Path) -> None:
    """A compliance archive keeps the one file: it must work with nothing beside it."""
    src = tmp_path / "a" / "gatekeeper.html"
    src.parent.mkdir()
    src.write_text(render_html(errored_result()), encoding="utf-8")
    dest = tmp_path / "archive" / "2026" / "release-1.4.html"
    dest.parent.mkdir(parents=True)
    shutil.copy(src, dest)
    shutil.rmtree(src.parent)
    page = Loaded(browser, dest)
    try:
        assert page.errors == [] and page.requests == [page.url]
        assert page.page.locator("#verdict").inner_text() == "ERROR"
        assert "pip-audit timed out after 900s" in page.page.locator("#check-dependencies").inner_text()
    finally:
        page.close()


def test_shard_baseline_and_interruption_are_stated() -> None:
    extra = {
        "shard": {"index": 2, "count": 4},
        "baseline": {"path": ".gatekeeper/baseline.json", "fingerprints": 17},
        "interrupted": True,
    }
    html = render_html(replace(failing_result(), extra=extra))
    assert "<dt>Shard</dt><dd>2 of 4</dd>" in html
    assert "<dt>Baseline</dt><dd>.gatekeeper/baseline.json (17 fingerprints)</dd>" in html
    assert "<dt>Interrupted</dt>" in html


# --------------------------------------------------------------------------- many findings


def test_a_page_escaped_a_batch_of_chunks_at_a_time_is_whole_and_shows_every_bidi_control_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """jinja2's many small chunks are joined a batch at a time before the format characters are
    escaped: a page spanning several batches is the page escaped chunk by chunk, every character
    escaped, none lost at a batch's edge, the page whole."""
    from gatekeeper.reports import html
    from tests.helpers.samples import many_findings

    base = many_findings(300)
    check = base.checks[0]
    findings = tuple(replace(f, message=f"call {i} in util\u202egnp.py") for i, f in enumerate(check.findings))
    result = replace(base, checks=(replace(check, findings=findings),))
    assert len(list(html.iter_render_html(result))) > 1  # several batches
    page = render_html(result)
    monkeypatch.setattr(html, "_BATCH", 1)  # each chunk escaped on its own
    assert render_html(result) == page
    assert page.endswith("</html>\n") and page.count('<tr data-severity="') == 300
    assert "\u202e" not in page
    assert all(f"call {i} in util\\u202egnp.py" in page for i in range(300))


@pytest.mark.slow  # a page for 100,000 findings (a scale test)
def test_a_page_for_100000_findings_lists_the_most_severe_per_check_and_says_it_is_trimmed(tmp_path: Path) -> None:
    from gatekeeper.reports import write_reports
    from gatekeeper.reports.html import HTML_MAX_FINDINGS
    from tests.helpers.samples import many_findings

    result = many_findings(100_000)
    write_reports(result, tmp_path, ["html", "json"])
    page = (tmp_path / "gatekeeper.html").read_text(encoding="utf-8")
    assert (tmp_path / "gatekeeper.html").stat().st_size <= 15_000_000
    assert page.count('<tr data-severity="') == HTML_MAX_FINDINGS
    # the most severe are kept: all 1,000 rows are critical (20,000 of the findings are)
    assert page.count('<tr data-severity="critical"') == HTML_MAX_FINDINGS
    notice = re.search(r'<p class="notice" id="trimmed-notice"[^>]*>(.*?)</p>', page, re.S)
    assert notice is not None
    text = unescape(re.sub(r"<[^>]+>", "", notice.group(1)))
    assert "Trimmed report" in text and "99000 findings are left out (security: 99000 of 100000)" in text
    assert "gatekeeper.json" in text
    assert len(json.loads((tmp_path / "gatekeeper.json").read_text())["checks"][0]["findings"]) == 100_000

    small = render_html(failing_result())  # an ordinary report is not trimmed and says nothing of it
    assert "Trimmed" not in small and 'class="notice"' not in small


@pytest.mark.slow
def test_the_trimmed_notice_is_visible_in_the_browser(browser: Any, tmp_path: Path) -> None:
    from gatekeeper.reports.html import HTML_MAX_FINDINGS
    from tests.helpers.samples import many_findings

    path = tmp_path / "gatekeeper.html"
    path.write_text(render_html(many_findings(HTML_MAX_FINDINGS + 250)), encoding="utf-8")
    page = Loaded(browser, path)
    try:
        assert page.errors == [] and page.requests == [page.url]
        top = page.page.locator("#trimmed-notice")
        assert top.is_visible() and top.bounding_box()["y"] < 900  # on screen as the page opens
        assert "250 findings are left out (security: 250 of 1250)" in top.inner_text()
        assert page.page.locator("#findings-trimmed").is_visible()
        assert f"{HTML_MAX_FINDINGS} of 1250 findings shown" in page.page.locator("#findings-trimmed").inner_text()
        assert page.visible_rows() == HTML_MAX_FINDINGS
    finally:
        page.close()


def _cells(html: str, check: str) -> dict[str, str]:
    """{label: value text} of a check's metric table (markup dropped, list entries joined by ' | ')."""
    section = html[html.index(f'id="check-{check}"') :]
    table = section[: section.index("</table>")]
    out = {}
    for label, value in re.findall(r"<tr[^>]*><td>(.*?)</td><td>(.*?)</td>", table, flags=re.S):
        value = re.sub(r"</li><li>", " | ", value)
        out[unescape(re.sub(r"<[^>]+>", "", label))] = unescape(re.sub(r"<[^>]+>", "", value)).strip()
    return out


def test_figures_follow_the_precision_and_generic_metrics_read_as_values() -> None:
    result = failing_result()
    coverage = next(c for c in result.checks if c.name == "coverage")
    metrics = {
        **coverage.metrics,
        "precision": 0,
        "total": 72.0,
        "total_exact": 72.4,
        "files": [{"path": "src/app/__init__.py", "percent": 100.0}, {"path": "src/app/run.py", "percent": 64.0}],
        "diff": {"percent": 50.0, "changed_lines": 10, "covered_lines": 5, "min_diff": 60.0},
        "duration_ms": 664.9,
        "unaudited_reasons": {},
        "left_out": [],
        "advisory_db": {"as_of": "2024-10-10T17:22:00Z", "match_ms": 510.9, "files": 2661, "index_cached": False},
        "total_seconds": 1234.5,
        "timeout_s": 900.0,
    }
    checks = tuple(replace(c, metrics=metrics) if c is coverage else c for c in result.checks)
    html = render_html(replace(result, checks=checks))
    cells = _cells(html, "coverage")
    # coverage.py's precision 0: no decimals anybody did not measure
    assert "100.00" not in html[html.index('id="check-coverage"') : html.index('id="check-dependencies"')]
    assert cells["Total coverage"] == "72% (72.40% before coverage.py rounds it)"
    assert cells["Diff coverage"] == "50% (5 of 10 changed lines)"
    assert re.search(r"<td><code>src/app/__init__\.py</code></td><td class=\"num\">100%</td>", html)
    # generic rows: durations in their unit, empty values as "none", a table entry by entry
    assert cells["duration ms"] == "665 ms"
    assert cells["unaudited reasons"] == "none" and cells["left out"] == "none"
    assert cells["advisory db"] == "as of: 2024-10-10T17:22:00Z | files: 2661 | index cached: no | match ms: 511 ms"
    assert cells["total seconds"] == "1234.5"  # a number that is no duration keeps its value
    assert cells["timeout s"] == "900 s"
    # the time shown says what it covers
    assert (
        "Checks finished</dt><dd>2026-11-29T02:40:09Z (9.3 s from the start;" in html
        and "the reports, this page included, were written after" in html
    )


@pytest.mark.slow
def test_a_tools_multi_line_message_shows_on_lines_of_its_own(browser: Any, tmp_path: Path) -> None:
    result = failing_result()
    coverage = next(c for c in result.checks if c.name == "coverage")
    message = "the test command pytest -q exited with 1:\nFAILED tests/test_a.py::test_one\nFAILED tests/test_b.py::test_two"
    finding = replace(coverage.findings[0], message=message)
    checks = tuple(replace(c, findings=(finding,)) if c is coverage else c for c in result.checks)
    path = tmp_path / "gatekeeper.html"
    path.write_text(render_html(replace(result, checks=checks)), encoding="utf-8")
    page = Loaded(browser, path)
    try:
        cell = page.page.locator("#findings td.message", has_text="exited with 1").first
        shown = cell.inner_text()
    finally:
        page.close()
    assert shown.splitlines()[:3] == [
        "the test command pytest -q exited with 1:",
        "FAILED tests/test_a.py::test_one",
        "FAILED tests/test_b.py::test_two",
    ]
