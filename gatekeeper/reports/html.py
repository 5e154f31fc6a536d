"""``gatekeeper.html``: one self-contained page for the people who sign off a release.

Rendered with jinja2 (autoescaping on) from ``report_templates/``; the stylesheet, the script and
the SVG charts are inline and a Content-Security-Policy allows only that one script (by hash), so
the file opens years later without a network and a finding's text can never run as code. Shown
values come from the ``GateResult`` alone (each check's own rows through its checker's ``display``
hook, which reads only the result): the same result gives the same bytes. No check is known here
by name; one whose checker is not installed gets generic rows.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import islice
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from gatekeeper.checkers import presenter
from gatekeeper.controls import result_controls
from gatekeeper.display import BarChart, Display, metric_pairs, metric_text, number, text
from gatekeeper.fileio import shipped_dir
from gatekeeper.findings import CheckResult, Finding, GateResult, Narrowing
from gatekeeper.reports._common import (
    MISSING,
    SEVERITIES,
    actor,
    finding_state,
    new_code_facts,
    ordered_checks,
    priority,
    severity_counts,
    where,
)
from gatekeeper.toolorigin import sentence as origin_sentence

if TYPE_CHECKING:
    from gatekeeper.checkers.base import LoadedChecker

TEMPLATE = "report.html.j2"

#: the page lists at most this many findings per check, the most severe first; the rest are
#: counted and left to gatekeeper.json (a page with 100,000 rows is too big to open, let alone read)
HTML_MAX_FINDINGS = 1000


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(shipped_dir("report_templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


#: one thread compiles the template at a time: rendering waits for a warm-up already compiling it
_TEMPLATE_LOCK = threading.Lock()


def _template() -> jinja2.Template:
    with _TEMPLATE_LOCK:
        env = _environment()
        return _precompiled(env) or env.get_template(TEMPLATE)


@lru_cache(maxsize=1)
def _precompiled(env: jinja2.Environment) -> jinja2.Template | None:
    """The template loaded from the code ``pagecode`` compiled ahead of time into ``_page``, when
    that code was made from this very template text by this jinja2 release; None otherwise (the
    template is then compiled here, as jinja2 always does)."""
    from gatekeeper.reports import _page

    if _page.JINJA2_VERSION != jinja2.__version__ or _page.TEMPLATE_SOURCE != _asset(TEMPLATE):
        return None
    return env.template_class.from_module_dict(env, vars(_page), env.make_globals(None))


def prepare() -> None:
    """Load (or compile) the page's template ahead of rendering (``reports.warm_up``), and the
    modules the rendering imports when it needs them (the escapes, the scope's wording)."""
    from gatekeeper import escapes, gated  # noqa: F401

    _template()


def _asset(name: str) -> str:
    env = _environment()
    if env.loader is None:  # pragma: no cover - _environment always sets one
        raise RuntimeError("the report template loader is missing")
    source, _, _ = env.loader.get_source(env, name)
    return source


def render_html(result: GateResult, *, checkers: Mapping[str, LoadedChecker] | None = None) -> str:
    """``gatekeeper.html``: verdict, run facts, each check with metrics and findings, waivers, charts.

    Each check's own rows, bars and table come from its checker's ``display`` hook, looked up by
    name in ``checkers`` (default: the installed ones); a check none presents gets generic rows.
    Each check's findings beyond ``HTML_MAX_FINDINGS`` (the least severe) are left out of the page,
    which says so where it opens and above the findings table, with the counts left out.
    """
    return "".join(iter_render_html(result, checkers=checkers))


def iter_render_html(result: GateResult, *, checkers: Mapping[str, LoadedChecker] | None = None) -> Iterator[str]:
    """``render_html``'s text in chunks, as jinja2 generates it (the bytes are the same)."""
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    template = _template()
    controls = _controls(result)
    shown, trimmed = _shown_findings(result)
    run = _run_facts(result)
    from gatekeeper.escapes import visible

    chunks = template.generate(
        csp=csp,
        style=Markup(_asset("report.css")),  # noqa: S704  # nosec B704: our own shipped stylesheet
        script=Markup(script),  # noqa: S704  # nosec B704: our own shipped script (CSP hash)
        run=run,
        checks=[_check_view(c, presenter(c.name, checkers)) for c in ordered_checks(result)],
        chart=_severity_chart(result),
        findings=[
            _finding_row(check, f)
            for check, f in sorted(shown, key=lambda cf: (-cf[1].severity.rank, cf[0].name, *cf[1].sort_key()))
        ],
        trimmed=trimmed,
        trimmed_total=sum(t["left_out"] for t in trimmed),
        max_findings=HTML_MAX_FINDINGS,
        severities=[s.value for s in SEVERITIES],
        states=["blocking", "waived", "baselined", "existing", "advisory"],
        waivers=_waivers(result),
        controls=controls,
        control_counts={
            "pass": sum(1 for c in controls if c["status"] == "pass"),
            "exceptions": sum(1 for c in controls if c["status"] == "pass with exceptions"),
            "fail": sum(1 for c in controls if c["status"] == "fail"),
            "not_evidenced": sum(1 for c in controls if c["status"] == "not evidenced"),
        },
        print_style=print_style(f"gatekeeper: {run['project']}", f"run of {run['finished_at']} at {run['commit'][:12]}"),
    )
    # a bidirectional control in a file name or message would reorder what the browser shows around
    # it (a verdict, a path): every one is shown as its escape, as the console shows it. jinja2
    # yields tens of thousands of small strings; they are joined a batch at a time (in C) before
    # that pass, which replaces single characters, so a batch gives the bytes its chunks would
    return _batched(visible, chunks)


#: how many of jinja2's chunks ``iter_render_html`` joins into one: a few hundred KB at most
_BATCH = 4096


def _batched(convert: Callable[[str], str], chunks: Iterator[str]) -> Iterator[str]:
    """``convert`` of each run of ``_BATCH`` chunks joined: ``convert(a + b) == convert(a) + convert(b)`` must hold."""
    while batch := list(islice(chunks, _BATCH)):
        yield convert("".join(batch))


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string: anything but letters, digits and plain punctuation as a hex
    escape, so no value can end the string, the rule or the ``<style>`` element."""
    safe = set(" .,:;_-/()#@+=!?%&*'")
    return '"' + "".join(ch if ch.isascii() and (ch.isalnum() or ch in safe) else f"\\{ord(ch):x} " for ch in text) + '"'


def print_style(title: str, subtitle: str, *, landscape: bool = False) -> Markup:
    """The printed page's running header (``title`` left, ``subtitle`` right) and footer (page N of M),
    as CSS page-margin boxes (Chromium 131 and later print them; an older one prints the page without)."""
    head = "font: 8pt sans-serif; color: #59636e;"
    return Markup(  # noqa: S704  # nosec B704: both values pass through css_string
        f"@page {{ size: A4{' landscape' if landscape else ''}; margin: 15mm 11mm 14mm;"
        f" @top-left {{ content: {css_string(title[:90])}; {head} }}"
        f" @top-right {{ content: {css_string(subtitle[:90])}; {head} }}"
        f' @bottom-right {{ content: "page " counter(page) " of " counter(pages); {head} }}'
        f' @bottom-left {{ content: "gatekeeper"; {head} }} }}'
    )


# --------------------------------------------------------------------------- view model


def _shown_findings(result: GateResult) -> tuple[list[tuple[CheckResult, Finding]], list[dict[str, Any]]]:
    """The findings the page lists (at most ``HTML_MAX_FINDINGS`` per check, most severe and
    blocking first) and, per trimmed check, ``{check, shown, total, left_out}``."""
    shown: list[tuple[CheckResult, Finding]] = []
    trimmed = []
    for check in ordered_checks(result):
        found = check.findings
        if len(found) > HTML_MAX_FINDINGS:
            found = tuple(heapq.nsmallest(HTML_MAX_FINDINGS, found, key=priority))
            total = len(check.findings)
            trimmed.append({"check": check.name, "shown": len(found), "total": total, "left_out": total - len(found)})
        shown.extend((check, f) for f in found)
    return shown, trimmed


def _controls(result: GateResult) -> list[dict[str, Any]]:
    """The control matrix: each control with its checks' statuses (``not run`` for a check absent from the run)."""
    out = []
    for c in result_controls(result.extra.get("controls")):
        checks = []
        for name in c["checks"]:
            check = result.check(name)
            checks.append({"name": name, "ran": check is not None, "status": check.status.value if check else "not run"})
        out.append({**c, "checks": checks, "css": c["status"].replace(" ", "-")})
    return out


def _safe_url(url: str) -> str:
    """Only http(s) links are clickable: a ``javascript:`` help URI stays text."""
    return url if url.lower().startswith(("https://", "http://")) else ""


def _run_facts(result: GateResult) -> dict[str, Any]:
    repo = result.repository
    extra = []
    shard = result.extra.get("shard")
    if isinstance(shard, Mapping):
        extra.append(("Shard", f"{shard.get('index', '?')} of {shard.get('count', '?')}"))
    baseline = result.extra.get("baseline")
    if isinstance(baseline, Mapping):
        extra.append(("Baseline", f"{baseline.get('path', '')} ({baseline.get('fingerprints', 0)} fingerprints)"))
    extra.extend(new_code_facts(result))
    if result.extra.get("interrupted"):
        extra.append(("Interrupted", "yes: the run was stopped before every check finished"))
    clock = result.extra.get("clock")
    findings = [f for c in result.checks for f in c.findings]
    ci: Mapping[str, Any] = result.extra["ci"] if isinstance(result.extra.get("ci"), Mapping) else {}
    runtime: Mapping[str, Any] = result.extra["runtime"] if isinstance(result.extra.get("runtime"), Mapping) else {}
    dirty = repo.get("dirty")
    root = str(repo.get("root") or "")
    waived = sum(1 for f in findings if f.waiver is not None)
    return {
        "verdict": result.verdict.value,
        "shown_verdict": "pass with exceptions" if result.verdict.value == "pass" and waived else result.verdict.value,
        "project": root.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or MISSING,
        "repository": str(ci.get("repository") or "") or MISSING,
        "ci_url": _safe_url(str(ci.get("run_url") or "")),
        "ci_run": " ".join(str(ci.get(k)) for k in ("provider", "run_id") if ci.get(k)) or "none (a local run)",
        "workflow": str(ci.get("workflow") or "") or MISSING,
        "job": str(ci.get("job") or ""),
        "event": str(ci.get("event") or "") or MISSING,
        "ref": str(ci.get("ref") or "") or (f"{repo.get('branch')} (branch)" if repo.get("branch") else MISSING),
        "python": " ".join(str(runtime.get(k)) for k in ("implementation", "python") if runtime.get(k)) or MISSING,
        "dirty": (
            ("unknown: git could not compare the work tree with the commit" if "dirty" in repo else MISSING)
            if not isinstance(dirty, bool)
            else "yes: tracked files had uncommitted changes"
            if dirty
            else "no"
        ),
        "is_dirty": dirty is True,
        "scope": _scope_text(result.extra.get("scope")),
        "started_at": result.started_at or MISSING,
        "finished_at": result.finished_at or MISSING,
        # a result from before clocks were recorded says nothing, rather than guess
        "clock": str(clock.get("note") or MISSING) if isinstance(clock, Mapping) else MISSING,
        "duration": f"{result.duration_s:.1f} s",
        "commit": str(repo.get("commit") or MISSING),
        "branch": str(repo.get("branch") or MISSING),
        "root": str(repo.get("root") or MISSING),
        "actor": actor(result) or MISSING,
        "policy_path": str(result.policy.get("path") or MISSING),
        "policy_sha256": str(result.policy.get("sha256") or MISSING),
        "policy_effective": str(result.policy.get("effective_sha256") or MISSING),
        "policy_files": _policy_files(result.policy.get("files")),
        "policy_source": str(result.policy.get("source") or ""),
        "tool_version": result.tool_version,
        "extra": extra,
        "total": len(findings),
        "blocking": sum(1 for f in findings if f.blocking),
        "waived": waived,
    }


def _scope_text(scope: Any) -> str:
    from gatekeeper.gated import partial_note

    if scope is None:
        return MISSING
    return partial_note(scope) or "complete: every check the policy enables"


def _policy_files(files: Any) -> list[tuple[str, str, str]]:
    """(role, path, sha256) of every file the policy was built from, as the result lists them."""
    if not isinstance(files, list):
        return []
    return [(str(f.get("role", "")), str(f.get("path", "")), str(f.get("sha256", ""))) for f in files if isinstance(f, dict)]


# The check, narrowing and finding views are read by the template as attributes (``{{ f.severity }}``):
# jinja2 tries an attribute before an item, and on a dict each value cost a raised and caught
# AttributeError, about a quarter of the page's rendering with a few hundred findings.


def _check_view(check: CheckResult, checker: LoadedChecker) -> SimpleNamespace:
    tool = " ".join(p for p in (check.tool_name, check.tool_version, origin_sentence(dict(check.tool_origin))) if p)
    shown = checker.display(check)
    return SimpleNamespace(
        name=check.name,
        status=check.status.value,
        summary=check.summary,
        error=check.error or "",
        tool=tool or MISSING,
        duration=f"{check.duration_s:.1f} s",
        counts=severity_counts(check.findings),
        total=len(check.findings),
        blocking=len(check.blocking),
        waived=sum(1 for f in check.findings if f.waiver is not None),
        metrics=_metric_rows(check, shown),
        bars=_bars(shown.bars),
        table=shown.table if shown.table is not None and shown.table.rows else None,
        artifacts=sorted(check.artifacts.items()),
        narrowing=[_narrowing_row(n) for n in check.narrowing[:HTML_MAX_NARROWING]],
        narrowing_left_out=max(0, len(check.narrowing) - HTML_MAX_NARROWING),
    )


#: narrowing records per check, and files per record, the page lists (``gatekeeper.json`` lists them all)
HTML_MAX_NARROWING = 200
HTML_MAX_NARROWED_FILES = 20


def _narrowing_row(record: Narrowing) -> SimpleNamespace:
    files = list(record.files[:HTML_MAX_NARROWED_FILES])
    more = len(record.files) - len(files)
    return SimpleNamespace(
        kind=record.kind,
        where=(record.source + (f":{record.line}" if record.line else "")) or MISSING,
        detail=record.detail or MISSING,
        effect=record.effect or MISSING,
        files=files,
        more=more,
        suppressed=MISSING if record.suppressed is None else str(record.suppressed),
    )


def _metric_rows(check: CheckResult, shown: Display) -> list[dict[str, Any]]:
    """``[{label, value, pairs, threshold, ok, generic}]``: the check's own rows (its ``display``
    hook), then a generic row for every metric those rows do not present (printed as one paragraph,
    not a table): durations in their unit, empty values as "none", a table's entries as ``pairs``."""
    rows: list[dict[str, Any]] = [
        {"label": r.label, "value": text(r.value), "pairs": [], "threshold": r.threshold, "ok": r.ok, "generic": False}
        for r in shown.rows
    ]
    for key in sorted(k for k in check.metrics if k not in shown.shown):
        raw = check.metrics[key]
        value = metric_text(key, raw)
        # a table is listed key by key on lines of its own, not as one run-on string
        pairs = [f"{k}: {v}" for k, v in metric_pairs(raw)]
        row = {"label": key.replace("_", " "), "value": value, "pairs": pairs, "threshold": "", "ok": None, "generic": True}
        rows.append(row)
    return rows


def _bars(chart: BarChart | None) -> dict[str, Any] | None:
    if chart is None or not chart.bars:
        return None
    bars = []
    for bar in chart.bars:
        pct = min(100.0, max(0.0, number(bar.percent) or 0.0))
        # the bar is 200 units wide
        bars.append({"name": bar.name, "text": bar.text, "caption": bar.caption, "width": round(pct * 2, 1), "low": bar.low})
    return {"title": chart.title, "columns": chart.columns, "bars": bars}


def _finding_row(check: CheckResult, f: Finding) -> SimpleNamespace:
    waiver = ""
    if f.waiver is not None:
        w = f.waiver
        bits = [w.reason or MISSING]
        if w.approved_by:
            bits.append(f"approved by {w.approved_by}")
        if w.expires:
            bits.append(f"expires {w.expires}")
        waiver = f"{w.id}: " + "; ".join(bits)
    details = []
    for key in ("confidence", "cwe", "aliases", "fixed_versions", "license"):
        value = f.properties.get(key)
        if value not in (None, "", [], ()):
            details.append((key.replace("_", " "), text(value)))
    return SimpleNamespace(
        check=check.name,
        severity=f.severity.value,
        rank=f.severity.rank,
        state=finding_state(f),
        rule=f.rule_id,
        rule_name=f.rule_name,
        message=f.message,
        where=where(f) or MISSING,
        help_uri=_safe_url(f.help_uri),
        waiver=waiver,
        details=details,
        fingerprint=f.fingerprint,
    )


def _waivers(result: GateResult) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for kind in ("applied", "expired", "unused"):
        entries = result.waivers.get(kind) or []
        rows = []
        for w in entries if isinstance(entries, Sequence) else []:
            if not isinstance(w, Mapping):
                continue
            scope = ", ".join(f"{k} {w[k]}" for k in ("rule", "path", "package", "version") if w.get(k))
            rows.append(
                {
                    "id": str(w.get("id", "")),
                    "check": str(w.get("check", "")),
                    "scope": scope or "every finding of the check",
                    "reason": str(w.get("reason") or MISSING),
                    "approved_by": str(w.get("approved_by") or MISSING),
                    "expires": str(w.get("expires") or MISSING),
                    "findings": str(w.get("findings", 0)),
                }
            )
        out[kind] = sorted(rows, key=lambda r: (r["check"], r["id"]))
    return out


def _severity_chart(result: GateResult) -> dict[str, Any]:
    """Geometry of the stacked bar chart "findings by severity per check" (SVG user units)."""
    checks = ordered_checks(result)
    label_w, bar_w, row_h, top = 130, 440, 26, 8
    counts = [(c.name, severity_counts(c.findings)) for c in checks]
    peak = max([sum(v.values()) for _, v in counts] + [1])
    rows = []
    for i, (name, by_sev) in enumerate(counts):
        y = top + i * row_h
        x = float(label_w)
        segments = []
        for sev in SEVERITIES:
            n = by_sev[sev.value]
            if n:
                w = round(bar_w * n / peak, 2)
                segments.append({"x": round(x, 2), "width": w, "severity": sev.value, "count": n})
                x += w
        rows.append({"name": name, "y": y, "segments": segments, "total": sum(by_sev.values()), "end": round(x + 6, 2)})
    legend_y = top + len(rows) * row_h + 10
    legend = [{"severity": s.value, "x": label_w + i * 90} for i, s in enumerate(SEVERITIES)]
    return {
        "width": label_w + bar_w + 50,
        "height": legend_y + 22,
        "rows": rows,
        "legend": legend,
        "legend_y": legend_y,
        "row_h": row_h,
        "label_w": label_w,
    }
