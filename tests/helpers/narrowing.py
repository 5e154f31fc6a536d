"""Where a check's narrowing must show: the JSON result (valid against its schema), the console
summary and the HTML report, each rendered from one ``GateResult`` holding the check."""

from __future__ import annotations

import io
import json
from typing import Any

import jsonschema
from markupsafe import escape

from gatekeeper.console import Console
from gatekeeper.findings import CheckResult, GateResult, Narrowing, Verdict
from gatekeeper.reports.html import render_html
from gatekeeper.reports.json import render_json, schema


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
    return {"json": data["checks"][0]["narrowing"], "console": out.getvalue(), "html": render_html(gate)}


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


def find(check: CheckResult, kind: str, **fields: Any) -> Narrowing:
    """The check's one narrowing record of ``kind`` whose attributes equal ``fields``."""
    hits = [n for n in check.narrowing if n.kind == kind and all(getattr(n, k) == v for k, v in fields.items())]
    assert len(hits) == 1, check.narrowing
    return hits[0]
