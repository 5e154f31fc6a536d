"""Markdown (PR comment / job summary)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from gatekeeper.findings import Finding, GateResult, Location, Severity
from gatekeeper.reports.json import render_json
from gatekeeper.reports.markdown import MAX_FINDINGS, render_markdown
from tests.helpers.samples import ATTR, IMG, SCRIPT, errored_result, failing_result, many_findings, passing_result


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


def test_a_long_message_is_cut_at_a_word_or_sentence_with_an_ellipsis() -> None:
    from gatekeeper.display import shorten

    # pip's PYSEC-2023-228 as the dependencies check words it
    message = (
        "pip 23.2.1 is affected by PYSEC-2023-228 (CVE-2023-5752): When installing a package from a Mercurial VCS URL "
        '(ie "pip install hg+...") with pip prior to v23.3, the specified Mercurial revision could be used to inject '
        "arbitrary configuration options to the hg clone call; fixed in 23.3"
    )
    result = failing_result()
    deps = next(c for c in result.checks if c.name == "dependencies")
    finding = replace(deps.findings[0], message=message, blocking=True)
    checks = tuple(replace(c, findings=(finding,)) if c is deps else c for c in result.checks)
    md = render_markdown(replace(result, checks=checks))
    (row,) = [line for line in md.splitlines() if "PYSEC-2023-228" in line]
    shown = row.rsplit("|", 2)[-2].strip()
    assert shown.endswith("Mercurial revision could…") and len(shown.replace("\\", "")) <= 200
    # a cut keeps whole sentences when one fits, and never a part of a word
    assert shorten("One sentence here. And another one that is too long to fit.", 40) == "One sentence here. …"
    assert shorten("a Mercurial revision could be used", 33) == "a Mercurial revision could be…"
    assert shorten("x" * 30, 10) == "x" * 9 + "…"
    assert shorten("short", 10) == "short"


def test_a_partial_runs_pass_says_in_every_summary_format_that_it_gates_no_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xml.etree.ElementTree as ET

    from typer.testing import CliRunner

    from gatekeeper.cli import app
    from tests.helpers.projects import git_init, only, write

    root = write(tmp_path / "proj", {"app.py": "def add(a, b):\n    return a + b\n", ".gitignore": "out*/\n"})
    formats = '["json", "markdown", "junit", "sarif", "html"]'
    write(root, {"gatekeeper.toml": only("security", "sbom").replace('["json"]', formats)})
    git_init(root)
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["check", str(root), "--only", "security", "--output-dir", "out"])
    assert done.exit_code == 0 and "partial: only security: it gates no commit" in done.output, done.output
    out = root / "out"
    assert (out / "gatekeeper.md").read_text().splitlines()[0] == (
        "## ✅ gatekeeper: PASS (partial: only security: it gates no commit)"
    )
    props = {p.get("name"): p.get("value") for p in ET.parse(out / "gatekeeper.junit.xml").iter("property")}  # noqa: S314
    assert props["verdict"] == "pass" and props["scope"] == "partial: only security: it gates no commit"
    sarif = json.loads((out / "gatekeeper.sarif").read_text())
    assert sarif["properties"]["gatekeeper"]["scope"] == "partial: only security: it gates no commit"
    assert "partial: only security" in (out / "gatekeeper.html").read_text()
    # the complete run says nothing of the kind
    done = CliRunner().invoke(app, ["check", str(root), "--output-dir", "out-all"])
    assert done.exit_code == 0, done.output
    assert (root / "out-all" / "gatekeeper.md").read_text().splitlines()[0] == "## ✅ gatekeeper: PASS"
    assert "scope" not in {p.get("name") for p in ET.parse(root / "out-all" / "gatekeeper.junit.xml").iter("property")}  # noqa: S314


def test_the_footer_counts_one_finding_in_the_singular() -> None:
    result = failing_result()
    first = next(c for c in result.checks if c.findings)
    one = replace(first, findings=first.findings[:1])
    checks = [one if c is first else replace(c, findings=type(c.findings)()) for c in result.checks]
    md = render_markdown(replace(result, checks=type(result.checks)(checks)))
    blocking = int(first.findings[0].blocking)
    assert f": 1 finding, {blocking} blocking" in md
    assert ": 0 findings, 0 blocking" in render_markdown(passing_result())
