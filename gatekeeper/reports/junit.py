"""``gatekeeper.junit.xml``: the gate as a JUnit test suite, so CI systems show it in their test tab.

One ``testcase`` per check: a failed check carries a ``failure`` with its summary and blocking
findings, a check that could not run an ``error``, a skipped check ``skipped``. Text is escaped by
the XML serializer; characters XML 1.0 forbids are shown as ``\\xNN`` instead of breaking the file.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from gatekeeper.findings import CheckResult, GateResult, Status
from gatekeeper.reports._common import actor, ordered_checks, ordered_findings, partial_scope, where

#: findings listed per test case; the rest are counted
MAX_LISTED = 1000

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udfff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold made visible as ``\\xNN``."""
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render_junit(result: GateResult) -> str:
    """``gatekeeper.junit.xml``: a ``testsuites`` with one ``testsuite`` and a test case per check."""
    checks = ordered_checks(result)
    counts = {
        "tests": str(len(checks)),
        "failures": str(sum(1 for c in checks if c.status is Status.FAIL)),
        "errors": str(sum(1 for c in checks if c.status is Status.ERROR)),
        "skipped": str(sum(1 for c in checks if c.status is Status.SKIPPED)),
        "time": f"{result.duration_s:.3f}",
    }
    root = ET.Element("testsuites", {"name": "gatekeeper", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "gatekeeper", **counts, "timestamp": xml_text(result.started_at)})
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("verdict", result.verdict.value),
        ("scope", f"{partial_scope(result)}: it gates no commit" if partial_scope(result) else ""),
        ("gatekeeper.version", result.tool_version),
        ("commit", str(result.repository.get("commit") or "")),
        ("branch", str(result.repository.get("branch") or "")),
        ("actor", actor(result)),
        ("policy", str(result.policy.get("path") or "")),
        ("policy.sha256", str(result.policy.get("sha256") or "")),
        ("policy.effective_sha256", str(result.policy.get("effective_sha256") or "")),
    ):
        if value:
            ET.SubElement(props, "property", {"name": name, "value": xml_text(value)})
    for check in checks:
        _testcase(suite, check)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _testcase(suite: ET.Element, check: CheckResult) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {"name": xml_text(check.name), "classname": xml_text(f"gatekeeper.{check.name}"), "time": f"{check.duration_s:.3f}"},
    )
    summary = xml_text(check.summary or check.status.value)
    if check.status is Status.FAIL:
        failure = ET.SubElement(case, "failure", {"message": summary, "type": "gate"})
        failure.text = xml_text(_details(check, blocking=True))
    elif check.status is Status.ERROR:
        error = ET.SubElement(case, "error", {"message": xml_text(check.error or summary), "type": "check-error"})
        error.text = xml_text(check.error or summary)
    elif check.status is Status.SKIPPED:
        ET.SubElement(case, "skipped", {"message": summary})
    out = [f"{check.name}: {check.status.value}: {check.summary}".rstrip(": ")]
    if check.tool_name:
        out.append(f"tool: {check.tool_name} {check.tool_version}".rstrip())
    if check.metrics:
        out.append("metrics: " + json.dumps(check.metrics, sort_keys=True, ensure_ascii=False, default=str))
    others = _details(check, blocking=False)
    if others:
        out.append(others)
    ET.SubElement(case, "system-out").text = xml_text("\n".join(out))


def _details(check: CheckResult, *, blocking: bool) -> str:
    chosen = [f for f in ordered_findings(check) if f.blocking is blocking]
    if not chosen:
        return check.summary if blocking else ""
    head = f"{len(chosen)} blocking finding(s):" if blocking else f"{len(chosen)} non-blocking finding(s):"
    lines = [head]
    for f in chosen[:MAX_LISTED]:
        place = where(f)
        line = f"[{f.severity.value}] {f.rule_id}" + (f" {place}" if place else "") + f": {f.message}"
        if f.waiver is not None:
            line += (
                f" (waived: {f.waiver.reason}" + (f", approved by {f.waiver.approved_by}" if f.waiver.approved_by else "") + ")"
            )
        lines.append(line)
    if len(chosen) > MAX_LISTED:
        lines.append(f"...and {len(chosen) - MAX_LISTED} more (see gatekeeper.json)")
    return "\n".join(lines)
