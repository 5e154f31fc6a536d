"""``gatekeeper.md``: a short summary for a pull-request comment or a GitHub job summary.

A table of checks, then the blocking findings (at most ``MAX_FINDINGS``, most severe first).
Every value from a result is escaped so that a finding's text stays text: no HTML, no links,
no table breakage.
"""

from __future__ import annotations

import re

from gatekeeper.controls import result_controls
from gatekeeper.display import shorten
from gatekeeper.escapes import clean
from gatekeeper.findings import CheckResult, GateResult, Status, Verdict
from gatekeeper.reports._common import (
    MISSING,
    actor,
    all_findings,
    new_code_facts,
    one_line,
    ordered_checks,
    partial_scope,
    where,
)

#: blocking findings listed; the rest are counted ("and N more")
MAX_FINDINGS = 20
#: narrowing records listed; the rest are counted
MAX_NARROWING = 30
#: longest message shown, in characters
MAX_MESSAGE = 200

_ICONS = {Verdict.PASS: "✅", Verdict.FAIL: "❌", Verdict.ERROR: "⚠️"}
_STATUS = {Status.PASS: "✅ pass", Status.FAIL: "❌ fail", Status.ERROR: "⚠️ error", Status.SKIPPED: "⏭️ skipped"}
_CONTROL = {
    "pass": "✅ pass",
    "pass with exceptions": "☑️ pass with exceptions",
    "fail": "❌ fail",
    "not evidenced": "⚪ not evidenced",
}
_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")


def escape(text: str) -> str:
    """``text`` safe inside a Markdown table cell: one line, no terminal escapes, HTML entities, Markdown punctuation escaped."""
    text = clean(one_line(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    # GitHub links bare URLs and notifies @mentions in comments; a zero-width space defuses both
    text = text.replace("@", "@\u200b")
    return re.sub(r"(?i)\b(https?|ftp|mailto|www)([:.])", "\\1\u200b\\2", text)


def _short(text: str) -> str:
    text = one_line(text)
    return shorten(text, MAX_MESSAGE)


def render_markdown(result: GateResult) -> str:
    """``gatekeeper.md``: the verdict, a table of checks and the blocking findings."""
    partial = partial_scope(result)  # a pass of part of the policy gates no commit: the headline says so
    headline = f"## {_ICONS[result.verdict]} gatekeeper: {result.verdict.value.upper()}"
    lines = [f"{headline} ({escape(partial)}: it gates no commit)" if partial else headline, ""]
    commit = str(result.repository.get("commit") or "")
    facts = [
        f"commit {escape(commit[:12])}" if commit else "",
        f"branch {escape(str(result.repository.get('branch') or ''))}" if result.repository.get("branch") else "",
        f"by {escape(actor(result))}" if actor(result) else "",
        f"policy {escape(str(result.policy.get('path') or ''))}" if result.policy.get("path") else "",
        f"finished {escape(result.finished_at)}" if result.finished_at else "",
    ]
    lines += [" · ".join(f for f in facts if f), ""]
    lines += ["| Check | Status | Summary | Blocking | Waived |", "|---|---|---|---:|---:|"]
    for check in ordered_checks(result):
        summary = check.error if check.status is Status.ERROR and check.error else check.summary
        waived = sum(1 for f in check.findings if f.waiver is not None)
        lines.append(
            f"| {escape(check.name)} | {_STATUS[check.status]} | {escape(_short(summary)) or MISSING} "
            f"| {len(check.blocking)} | {waived} |"
        )
    if not result.checks:
        lines.append(f"| {MISSING} | no check ran | | 0 | 0 |")
    controls = result_controls(result.extra.get("controls"))
    if controls:
        lines += ["", "### Controls", "", "| Framework | Control | Title | Checks | Status |", "|---|---|---|---|---|"]
        for c in controls:
            lines.append(
                f"| {escape(c['framework'])} | {escape(c['id'])} | {escape(_short(c['title']))} "
                f"| {escape(', '.join(c['checks']))} | {_CONTROL[c['status']]} |"
            )
    blocking = [(c, f) for c, f in all_findings(result) if f.blocking]
    blocking.sort(key=lambda cf: (-cf[1].severity.rank, cf[0].name, *cf[1].sort_key()))
    if blocking:
        lines += ["", "### Blocking findings", "", "| Severity | Check | Rule | Where | Message |", "|---|---|---|---|---|"]
        for check, f in blocking[:MAX_FINDINGS]:
            lines.append(
                f"| {f.severity.value} | {escape(check.name)} | {escape(f.rule_id)} "
                f"| {escape(where(f)) or MISSING} | {escape(_short(f.message))} |"
            )
        if len(blocking) > MAX_FINDINGS:
            lines += ["", f"…and {len(blocking) - MAX_FINDINGS} more blocking findings; see the HTML report."]
    lines += _narrowing(result)
    lines += _new_code(result)
    expired = [w for w in result.waivers.get("expired") or [] if isinstance(w, dict)]
    if expired:
        names = ", ".join(escape(str(w.get("id", ""))) for w in expired)
        lines += ["", f"**Expired waivers** (no longer applied): {names}"]
    unused = [w for w in result.waivers.get("unused") or [] if isinstance(w, dict)]
    if unused:
        names = ", ".join(escape(str(w.get("id", ""))) for w in unused)
        lines += ["", f"**Unused waivers** (matched no finding; VEX statements included): {names}"]
    lines += ["", _footer(result), ""]
    return "\n".join(lines)


def _narrowing(result: GateResult) -> list[str]:
    """What the project's configuration and comments narrowed, check by check (at most
    ``MAX_NARROWING`` rows; the rest counted)."""
    rows = [(c, n) for c in ordered_checks(result) for n in c.narrowing]
    if not rows:
        return []
    lines = ["", "### Narrowed by the project", ""]
    lines += ["| Check | Kind | Where | Setting | Effect | Files | Suppressed |", "|---|---|---|---|---|---:|---:|"]
    for check, n in rows[:MAX_NARROWING]:
        place = n.source + (f":{n.line}" if n.source and n.line else "")
        suppressed = "" if n.suppressed is None else str(n.suppressed)
        lines.append(
            f"| {escape(check.name)} | {escape(n.kind)} | {escape(place) or MISSING} | {escape(_short(n.detail))} "
            f"| {escape(_short(n.effect))} | {len(n.files)} | {suppressed or 'not measured'} |"
        )
    if len(rows) > MAX_NARROWING:
        lines += ["", f"…and {len(rows) - MAX_NARROWING} more narrowing records; see the HTML report."]
    return lines


def _new_code(result: GateResult) -> list[str]:
    """A new-code run's REF and its dependency review: a table of the packages added, changed or
    removed (usable as a pull request's comment body); nothing for a full run."""
    facts = new_code_facts(result)
    if not facts:
        return []
    lines = ["", f"**New code since** {escape(facts[0][1])}"]
    review = next((c for c in result.checks if c.name == "dependency-review"), None)
    if review is None:
        return lines
    lines += ["", "### Dependency review", ""]
    rows = [(kind, r) for kind in ("added", "changed", "removed") for r in review.metrics.get(kind) or [] if isinstance(r, dict)]
    if not rows:
        return [*lines, escape(review.summary)]
    blocked = {f.package.name for f in review.findings if f.blocking and f.package is not None}
    lines += ["| Change | Package | Version | Vulnerabilities | License | Blocks |", "|---|---|---|---|---|---|"]
    for kind, r in rows:
        version = f"{r.get('previous')} → {r.get('version')}" if r.get("previous") else str(r.get("version") or "")
        vulns = ", ".join(str(v) for v in r.get("vulnerabilities") or []) if kind != "removed" else ""
        license_id = str(r.get("license") or "unknown") if kind != "removed" else ""
        lines.append(
            f"| {kind} | {escape(str(r.get('name') or ''))} | {escape(version)} | {escape(vulns) or '—'} "
            f"| {escape(license_id) or '—'} | {'yes' if r.get('blocks', r.get('name') in blocked) else 'no'} |"
        )
    return lines


def _footer(result: GateResult) -> str:
    totals = [f for c in result.checks for f in c.findings]
    errors = [c for c in ordered_checks(result) if c.status is Status.ERROR]
    counted = f"{len(totals)} finding{'' if len(totals) == 1 else 's'}"
    text = f"<sub>gatekeeper {escape(result.tool_version)}: {counted}, {sum(1 for f in totals if f.blocking)} blocking"
    if errors:
        text += f"; {len(errors)} check{'s' if len(errors) != 1 else ''} could not run ({', '.join(_names(errors))})"
    return text + "</sub>"


def _names(checks: list[CheckResult]) -> list[str]:
    return [escape(c.name) for c in checks]
