"""Where a check's narrowing must show: the JSON result (valid against its schema), the console
summary, the HTML report, the Markdown summary, the SARIF file (valid against the SARIF 2.1.0
schema) and the audit record, each rendered from one ``GateResult`` holding the check."""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
from markupsafe import escape

from gatekeeper.auditrecord import build_record
from gatekeeper.console import Console
from gatekeeper.findings import CheckResult, GateResult, Narrowing, Verdict
from gatekeeper.reports import markdown
from gatekeeper.reports.html import render_html
from gatekeeper.reports.json import render_json, schema
from gatekeeper.reports.sarif import render_sarif

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"


@functools.cache
def _sarif_validator() -> Any:
    data = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(data)(data)


def reported(check: CheckResult) -> dict[str, Any]:
    """The check rendered three ways: ``json`` (its narrowing as read back), ``console`` and ``html`` text."""
    gate = GateResult(
        verdict=Verdict.PASS,
        checks=(check,),
        tool_version="0",
        started_at="2026-12-06T00:00:00Z",
        finished_at="2026-12-06T00:00:01Z",
        duration_s=1.0,
        repository={"root": "/r", "commit": "", "branch": ""},
        policy={"path": "p.toml", "sha256": "0" * 64},
    )
    data = json.loads(render_json(gate))
    jsonschema.validate(data, schema())
    out = io.StringIO()
    Console(out, live=False).summary(gate)
    sarif = json.loads(render_sarif(gate))
    errors = [f"{list(e.path)}: {e.message}" for e in _sarif_validator().iter_errors(sarif)]
    assert not errors, errors[:5]
    return {
        "json": data["checks"][0]["narrowing"],
        "console": out.getvalue(),
        "html": render_html(gate),
        "markdown": markdown.render_markdown(gate),
        "sarif": sarif["runs"][0],
        "record": build_record(gate, {}, "check")["checks"][check.name],
    }


def assert_reported(check: CheckResult, record: Narrowing) -> None:
    """``record`` is in the JSON result, and its detail and place on the console and in the HTML."""
    shown = reported(check)
    assert record.to_dict() in shown["json"]
    place = record.source + (f":{record.line}" if record.source and record.line else "")
    console = " ".join(shown["console"].split())
    assert f"[{check.name}] {record.kind} {place}".replace("  ", " ") in console, shown["console"]
    assert " ".join(record.detail.split()) in console
    assert str(escape(record.detail)) in shown["html"]
    assert str(escape(record.effect)) in shown["html"]
    row = f"| {markdown.escape(check.name)} | {markdown.escape(record.kind)} | {markdown.escape(place) or '—'} |"
    assert row in shown["markdown"] and markdown.escape(" ".join(record.detail.split())[:100]) in shown["markdown"]
    notes = shown["sarif"]["invocations"][0]["toolConfigurationNotifications"]
    assert len([n for n in notes if "descriptor" in n]) == min(len(check.narrowing), 200)
    note = next(
        n
        for n in notes
        if n.get("properties", {}).get("files") == list(record.files[:20]) and record.effect in n["message"]["text"]
    )
    assert note["descriptor"]["id"] == f"narrowing/{record.kind}" and note["properties"]["suppressed"] == record.suppressed
    if record.source:
        located = note["locations"][0]["physicalLocation"]
        assert located["artifactLocation"]["uri"] == record.source and located.get("region", {}).get("startLine") == (
            record.line or None
        )
    counted = shown["record"]["narrowing"]
    assert counted["records"] == len(check.narrowing) and counted["kinds"][record.kind] >= 1
    assert counted["suppressed"] == sum(n.suppressed or 0 for n in check.narrowing)


def find(check: CheckResult, kind: str, **fields: Any) -> Narrowing:
    """The check's one narrowing record of ``kind`` whose attributes equal ``fields``."""
    hits = [n for n in check.narrowing if n.kind == kind and all(getattr(n, k) == v for k, v in fields.items())]
    assert len(hits) == 1, check.narrowing
    return hits[0]
