"""Every renderer copes with whatever a checker (built-in or third-party) puts in metrics and text."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.findings import CheckResult, Finding, GateResult, Location, Package, Severity, Status, Verdict
from gatekeeper.reports.html import render_html
from gatekeeper.reports.json import render_json
from gatekeeper.reports.junit import render_junit
from gatekeeper.reports.markdown import render_markdown
from gatekeeper.reports.sarif import render_sarif
from tests.helpers.samples import failing_result

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
metric_keys = st.sampled_from(
    ["total", "files", "diff", "min_total", "counts", "unaudited", "packages", "components", "valid", "thresholds", "other"]
)
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40) | st.sampled_from(
    ["<script>window.__pwned=1</script>", '" onmouseover="x', "]]>", "| pipe |", "\x00\x1b[31m"]
)


class Tags(HTMLParser):
    """Counts script elements and event-handler attributes as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.handlers: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.handlers += [(tag, name) for name, _ in attrs if name.startswith("on")]


@st.composite
def findings(draw: Any) -> Finding:
    loc = draw(st.none() | st.builds(Location, path=texts, line=st.none() | st.integers(-3, 10**6)))
    pkg = draw(st.none() | st.builds(Package, name=texts, version=texts))
    return Finding(
        rule_id=draw(texts.filter(bool)),
        severity=draw(st.sampled_from(list(Severity))),
        message=draw(texts),
        blocking=draw(st.booleans()),
        location=loc,
        package=pkg,
        fingerprint=draw(st.text(alphabet="0123456789abcdef", max_size=32)),
        help_uri=draw(st.sampled_from(["", "https://example.invalid/rule", "javascript:alert(1)"])),
        properties=draw(
            st.dictionaries(st.sampled_from(["manifest", "severity_score", "cwe", "aliases", "fixed_versions"]), json_values)
        ),
    )


@st.composite
def results(draw: Any) -> GateResult:
    names = ["coverage", "security", "dependencies", "sbom", "licenses", "third-party"]
    checks = tuple(
        CheckResult(
            name=name,
            status=draw(st.sampled_from(list(Status))),
            summary=draw(texts),
            metrics=draw(st.dictionaries(metric_keys, json_values, max_size=5)),
            findings=tuple(draw(st.lists(findings(), max_size=4))),
            error=draw(st.none() | texts),
        )
        for name in draw(st.lists(st.sampled_from(names), unique=True, max_size=6))
    )
    return replace(failing_result(), checks=checks, verdict=draw(st.sampled_from(list(Verdict))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(results())
def test_every_format_renders_any_result(result: GateResult) -> None:
    again = GateResult.from_dict(json.loads(render_json(result)))
    sarif = render_sarif(result)
    assert sarif == render_sarif(again)
    log = json.loads(sarif)
    assert "javascript:" not in sarif
    for run in log["runs"]:
        for res in run["results"]:
            # a manifest with an empty path says the repository has no such file: no physical location then
            for loc in res["locations"]:
                assert "physicalLocation" in loc or "logicalLocations" in loc
                if "physicalLocation" in loc:
                    assert loc["physicalLocation"]["region"]["startLine"] >= 1
                    assert loc["physicalLocation"]["artifactLocation"]["uri"]
    html = render_html(result)
    assert html == render_html(again)
    tags = Tags()
    tags.feed(html)
    assert tags.scripts == 1 and not tags.handlers  # only our script, no injected event handler
    assert "javascript:" not in html
    junit = render_junit(result)
    root = ET.fromstring(junit)  # noqa: S314 - our own output
    assert len(root.findall("testsuite/testcase")) == len(result.checks)
    md = render_markdown(result)
    assert md == render_markdown(again) and "<script" not in md
