"""The period history page and the printed single-run report, in a real headless chromium.

The history page of a quarter on two branches is opened in Debian's chromium: its charts must read
without colour, draw the high-severity line on top, place runs on a time axis and come with tables;
a real passing run of the sample project (every installed package audited, two licenses waived) is
printed to PDF on A4 and its pages counted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.history import Joins, PageFacts, history_page
from tests.helpers.browser import Loaded
from tests.helpers.cli import REPO
from tests.helpers.env import clean_env
from tests.helpers.history import quarter_records, write_log

pytestmark = pytest.mark.slow


def _pdf_pages(data: bytes) -> int:
    """Pages of a PDF as chromium writes it (no object streams): its ``/Type /Page`` objects."""
    assert data.startswith(b"%PDF-")
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


@pytest.fixture
def quarter(tmp_path: Path) -> Path:
    """56 runs on main and three feature branches, with a quiet week (no run) in the middle."""
    pairs = [(f"{i:040x}", "main" if i % 3 else f"feature/f{i % 4}") for i in range(66)]
    records = quarter_records(pairs)
    del records[30:40]  # ten runs missing: 15 days without a run
    log = tmp_path / "audit.jsonl"
    write_log(log, records)
    return log


def test_history_charts_read_without_colour_on_a_time_axis(browser: Any, quarter: Path, tmp_path: Path) -> None:
    out = tmp_path / "history.html"
    page_html = history_page(quarter, None, PageFacts(log_name=str(quarter), generated_at="2026-10-01T00:00:00Z"), Joins())
    out.write_text(page_html.html, encoding="utf-8")
    assert len(page_html.runs) == 56 and {r.branch for r in page_html.runs} >= {"main", "feature/f0"}
    loaded = Loaded(browser, out)
    try:
        page = loaded.page
        assert loaded.errors == [] and loaded.requests == [loaded.url]
        assert [c for c in loaded.console if c[0] in ("error", "warning")] == []
        security = page.locator("#chart-security g.series")
        # drawn bottom first: high last, so it is never hidden under low
        assert [security.nth(i).get_attribute("class") for i in range(3)] == ["series s-low", "series s-medium", "series s-high"]
        dashes = [security.nth(i).locator("polyline").first.get_attribute("stroke-dasharray") for i in range(3)]
        assert dashes[2] is None and dashes[0] and dashes[1] and dashes[0] != dashes[1]  # solid, dotted, dashed
        assert security.nth(0).locator("circle.mk").count() > 0 and security.nth(1).locator("rect.mk").count() > 0
        assert security.nth(2).locator("polygon.mk").count() > 0  # three marker shapes
        labels = page.locator("#chart-security text.direct-label").all_text_contents()
        assert sorted(t.split()[0] for t in labels) == ["high", "low", "medium"]
        # the coverage floor is a line of its own, labelled with its last value (85 then 90)
        assert page.locator("#chart-coverage polyline.threshold").count() == 1
        assert "minimum 90" in page.locator("#chart-coverage text.direct-label").all_text_contents()
        # every chart has a table with one row per run plotted
        for chart in ("coverage", "vulnerabilities", "security", "licenses", "waivers"):
            assert page.locator(f"#chart-{chart}-table tbody tr").count() == 56, chart
        # a time axis: the gap where ten runs are missing is eleven run-steps wide
        lines = page.locator("#chart-security g.s-low polyline")  # every run, partial ones too, ran security
        points = " ".join(lines.nth(i).get_attribute("points") or "" for i in range(lines.count()))
        xs = [float(p.split(",")[0]) for p in points.split()]
        assert len(xs) == 56
        step, gap = xs[1] - xs[0], xs[30] - xs[29]
        assert gap == pytest.approx(11 * step, rel=0.05)
        ticks = page.locator("#chart-coverage text.chart-label").all_text_contents()
        assert any(re.fullmatch(r"2026-\d\d-\d\d", t) for t in ticks)
        assert page.locator("#control-period tbody tr").count() == 5
        page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
    finally:
        loaded.close()


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_a_passing_run_prints_on_at_most_four_a4_pages_with_a_running_header(browser: Any, tmp_path: Path) -> None:
    project = tmp_path / "sample"
    shutil.copytree(
        REPO / "fixtures" / "sample-project", project, ignore=shutil.ignore_patterns("gatekeeper-reports", ".gatekeeper")
    )
    policy = project / "gatekeeper.toml"
    text = policy.read_text().replace('scope = "project"', 'scope = "all"') + '\n[gate]\ncontrols = ["nist-ssdf-1.1"]\n'
    policy.write_text(text)

    def check() -> dict[str, Any]:
        subprocess.run([sys.executable, "-m", "gatekeeper", "check"], cwd=project, env=clean_env(coverage=False),
                       capture_output=True, text=True, timeout=600)  # fmt: skip
        data: dict[str, Any] = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
        return data

    first = check()
    licenses = next(c for c in first["checks"] if c["name"] == "licenses")
    for i, f in enumerate(f for f in licenses["findings"] if f["blocking"]):  # accept whatever this environment denies
        text += (f'\n[[waivers]]\nid = "w{i}"\ncheck = "licenses"\npackage = "{f["package"]["name"]}"\n'
                 'reason = "a test tool, never shipped"\napproved_by = "legal@example.com"\nexpires = 2026-12-31\n')  # fmt: skip
    policy.write_text(text)
    result = check()
    assert result["verdict"] == "pass", [(c["name"], c["status"]) for c in result["checks"]]
    assert len(next(c for c in result["checks"] if c["name"] == "licenses")["metrics"]["packages"]) > 40
    html_path = project / "gatekeeper-reports" / "gatekeeper.html"
    html = html_path.read_text(encoding="utf-8")
    assert "@top-left" in html and 'counter(page) " of " counter(pages)' in html
    loaded = Loaded(browser, html_path)
    try:
        pdf = loaded.page.pdf(prefer_css_page_size=True, print_background=True)
    finally:
        loaded.close()
    assert 1 <= _pdf_pages(pdf) <= 4
