"""``gatekeeper.html``: one self-contained page for the people who sign off a release.

Rendered with jinja2 (autoescaping on) from ``report_templates/``; the stylesheet, the script and
the SVG charts are inline and a Content-Security-Policy allows only that one script (by hash), so
the file opens years later without a network and a finding's text can never run as code. Shown
values come from the ``GateResult`` alone: the same result gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup

from gatekeeper.controls import result_controls
from gatekeeper.findings import CheckResult, Finding, GateResult
from gatekeeper.policy import shipped_dir
from gatekeeper.reports._common import (
    MISSING,
    SEVERITIES,
    actor,
    finding_state,
    ordered_checks,
    severity_counts,
    where,
)

TEMPLATE = "report.html.j2"

#: the page lists at most this many findings per check, the most severe first; the rest are
#: counted and left to gatekeeper.json (a page with 100,000 rows is too big to open, let alone read)
HTML_MAX_FINDINGS = 1000

#: metric keys the check sections show themselves; the rest go to a generic table
_SHOWN: Mapping[str, frozenset[str]] = {
    "coverage": frozenset({"total", "files", "diff", "min_total", "min_file", "min_diff", "thresholds"}),
    "security": frozenset(
        {"files_scanned", "lines_scanned", "counts", "fail_on_severity", "min_confidence", "thresholds", "project_config"}
    ),
    "dependencies": frozenset(
        {"packages_audited", "unaudited", "vulnerabilities", "service", "thresholds", "database", "db_as_of"}
    ),
    "sbom": frozenset({"components", "spec_version", "valid", "with_license", "with_purl", "license_coverage", "thresholds"}),
    "licenses": frozenset({"packages", "thresholds"}),
    "lint": frozenset({"files_checked", "findings", "fixable", "narrowing", "thresholds"}),
    "types": frozenset({"errors", "notes", "narrowing", "thresholds"}),
    "secrets": frozenset({"files_scanned", "secrets", "narrowing"}),
}
#: per-file breakdowns of the narrowing counts (in the JSON, too long for the summary table)
_PER_FILE = frozenset({"noqa_files", "allowlist_files", "type_ignore_files"})
_VERDICT_ORDER = {"denied": 0, "unknown": 1, "allowed": 2, "ignored": 3}


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


def _asset(name: str) -> str:
    env = _environment()
    if env.loader is None:  # pragma: no cover - _environment always sets one
        raise RuntimeError("the report template loader is missing")
    source, _, _ = env.loader.get_source(env, name)
    return source


def render_html(result: GateResult) -> str:
    """``gatekeeper.html``: verdict, run facts, each check with metrics and findings, waivers, charts.

    Each check's findings beyond ``HTML_MAX_FINDINGS`` (the least severe) are left out of the page,
    which says so where it opens and above the findings table, with the counts left out.
    """
    return "".join(iter_render_html(result))


def iter_render_html(result: GateResult) -> Iterator[str]:
    """``render_html``'s text in chunks, as jinja2 generates it (the bytes are the same)."""
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    template = _environment().get_template(TEMPLATE)
    controls = _controls(result)
    shown, trimmed = _shown_findings(result)
    return template.generate(
        csp=csp,
        style=Markup(_asset("report.css")),  # noqa: S704  # nosec B704: our own shipped stylesheet
        script=Markup(script),  # noqa: S704  # nosec B704: our own shipped script (CSP hash)
        run=_run_facts(result),
        checks=[_check_view(c) for c in ordered_checks(result)],
        chart=_severity_chart(result),
        findings=[
            _finding_row(check, f)
            for check, f in sorted(shown, key=lambda cf: (-cf[1].severity.rank, cf[0].name, *cf[1].sort_key()))
        ],
        trimmed=trimmed,
        trimmed_total=sum(t["left_out"] for t in trimmed),
        max_findings=HTML_MAX_FINDINGS,
        severities=[s.value for s in SEVERITIES],
        states=["blocking", "waived", "baselined", "advisory"],
        waivers=_waivers(result),
        controls=controls,
        control_counts={
            "pass": sum(1 for c in controls if c["status"] == "pass"),
            "fail": sum(1 for c in controls if c["status"] == "fail"),
            "not_evidenced": sum(1 for c in controls if c["status"] == "not evidenced"),
        },
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
            found = tuple(
                heapq.nsmallest(
                    HTML_MAX_FINDINGS, found, key=lambda f: (-f.severity.rank, not f.blocking, *f.sort_key(), f.fingerprint)
                )
            )
            total = len(check.findings)
            trimmed.append({"check": check.name, "shown": len(found), "total": total, "left_out": total - len(found)})
        shown.extend((check, f) for f in found)
    return shown, trimmed


def _text(value: Any) -> str:
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) if value else MISSING
    if isinstance(value, Mapping):
        return "; ".join(f"{str(k).replace('_', ' ')}: {_text(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
    return str(value)


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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _list(value: Any) -> list[Any]:
    """A metric that should be a list, or nothing when a checker sent something else."""
    return list(value) if isinstance(value, (list, tuple)) else []


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
    if result.extra.get("interrupted"):
        extra.append(("Interrupted", "yes: the run was stopped before every check finished"))
    findings = [f for c in result.checks for f in c.findings]
    return {
        "verdict": result.verdict.value,
        "started_at": result.started_at or MISSING,
        "finished_at": result.finished_at or MISSING,
        "duration": f"{result.duration_s:.1f} s",
        "commit": str(repo.get("commit") or MISSING),
        "branch": str(repo.get("branch") or MISSING),
        "root": str(repo.get("root") or MISSING),
        "actor": actor(result) or MISSING,
        "policy_path": str(result.policy.get("path") or MISSING),
        "policy_sha256": str(result.policy.get("sha256") or MISSING),
        "policy_source": str(result.policy.get("source") or ""),
        "tool_version": result.tool_version,
        "extra": extra,
        "total": len(findings),
        "blocking": sum(1 for f in findings if f.blocking),
        "waived": sum(1 for f in findings if f.waiver is not None),
    }


def _threshold(metrics: Mapping[str, Any], key: str) -> float | None:
    value = _number(metrics.get(key))
    if value is None and isinstance(metrics.get("thresholds"), Mapping):
        value = _number(metrics["thresholds"].get(key))
    return value


def _metric_rows(check: CheckResult) -> list[dict[str, Any]]:
    """``[{label, value, threshold, ok}]``: the check's key numbers against the policy."""
    m = check.metrics
    rows: list[dict[str, Any]] = []

    def add(label: str, value: Any, threshold: str = "", ok: bool | None = None) -> None:
        rows.append({"label": label, "value": _text(value), "threshold": threshold, "ok": ok})

    if check.name == "coverage":
        total = _number(m.get("total"))
        if total is not None:
            floor = _threshold(m, "min_total")
            label = _pct(total, m.get("precision"))
            exact = _number(m.get("total_exact"))
            if exact is not None and f"{exact:.2f}" != f"{total:.2f}":
                label += f" ({exact:.2f}% before coverage.py rounds it)"
            add(
                "Total coverage",
                label,
                f"≥ {floor:g}%" if floor is not None else "",
                total >= floor if floor is not None else None,
            )
        floor = _threshold(m, "min_file")
        if floor is not None:
            files = [f for f in _list(m.get("files")) if isinstance(f, Mapping) and _number(f.get("percent")) is not None]
            low = sum(1 for f in files if float(f["percent"]) < floor)
            add("Files below the per-file minimum", low, f"≥ {floor:g}% each", low == 0)
        diff = m.get("diff")
        if isinstance(diff, Mapping):
            pct = _number(diff.get("percent"))
            floor = _threshold(diff, "min_diff") if _threshold(diff, "min_diff") is not None else _threshold(m, "min_diff")
            text = f"{pct:.2f}%" if pct is not None else MISSING
            text += f" ({_text(diff.get('covered_lines'))} of {_text(diff.get('changed_lines'))} changed lines)"
            add(
                "Diff coverage",
                text,
                f"≥ {floor:.2f}%" if floor is not None else "",
                pct >= floor if floor is not None and pct is not None else None,
            )
        elif "diff" in m:
            add("Diff coverage", "not measured (no changed lines or no diff base)")
    elif check.name == "security":
        for key, label in (("files_scanned", "Files scanned"), ("lines_scanned", "Lines scanned")):
            if key in m:
                add(label, m[key])
        counts = m.get("counts")
        if isinstance(counts, Mapping):
            add("Issues by severity", ", ".join(f"{k} {counts[k]}" for k in ("high", "medium", "low") if k in counts))
        if "fail_on_severity" in m:
            add("Fails on severity", m["fail_on_severity"])
        narrowing = m.get("project_config")
        if isinstance(narrowing, Mapping):
            _add_narrowing(add, narrowing)
    elif check.name == "dependencies":
        if "packages_audited" in m:
            add("Packages audited", m["packages_audited"])
        if "vulnerabilities" in m:
            add("Known vulnerabilities", m["vulnerabilities"], "0 blocking", not check.blocking)
        if "unaudited" in m:
            unaudited = m.get("unaudited") or []
            add("Packages not audited", unaudited, "", not unaudited)
        if "service" in m:
            add("Advisory source", m["service"])
        db = m.get("database")
        if isinstance(db, Mapping):
            add("Advisory database", db.get("location"))
            if db.get("kind") == "online":
                add("Queried at", db.get("queried_at") or db.get("as_of"))
            else:
                age, limit = _number(db.get("age_days")), _number(db.get("max_age_days"))
                text = f"{_text(db.get('as_of'))} ({age:g} days old)" if age is not None else _text(db.get("as_of"))
                add(
                    "Database as of",
                    text,
                    f"≤ {limit:g} days old" if limit else "",
                    age <= limit if age is not None and limit else None,
                )
    elif check.name == "sbom":
        for key, label in (
            ("components", "Components"),
            ("spec_version", "CycloneDX version"),
            ("valid", "Valid against the CycloneDX schema"),
            ("with_license", "Components with a license"),
            ("with_purl", "Components with a package URL"),
        ):
            if key in m:
                add(label, m[key], "", bool(m[key]) if key == "valid" else None)
        coverage = _number(m.get("license_coverage"))
        floor = _threshold(m, "min_license_coverage")
        if coverage is not None and floor:
            add("License coverage", f"{coverage:.2f}%", f"≥ {floor:.2f}%", coverage >= floor)
        thresholds = m.get("thresholds")
        if isinstance(thresholds, Mapping) and thresholds.get("require_purl") and "with_purl" in m and "components" in m:
            missing = _number(m["components"]) is not None and _number(m["with_purl"]) is not None
            without = int(float(m["components"]) - float(m["with_purl"])) if missing else None
            add("Components without a package URL", without, "0 (require_purl)", without == 0 if without is not None else None)
    elif check.name in ("lint", "types", "secrets"):
        _source_rows(check, add)
    shown = _SHOWN.get(check.name, frozenset())
    for key in sorted(k for k in m if k not in shown):
        add(key.replace("_", " "), m[key])
    return rows


def _add_narrowing(add: Any, narrowing: Mapping[str, Any]) -> None:
    """Rows saying what the project's own bandit configuration left out of the scan (never silent)."""
    if narrowing.get("mode") == "ignore":
        add("Project bandit configuration", "ignored (.bandit, [tool.bandit] and # nosec not honoured)")
        return
    files = _list(narrowing.get("files"))
    add("Project bandit configuration", files or "none")
    excluded = _list(narrowing.get("excluded_files"))
    add("Files excluded by the project's bandit config", excluded or "none")
    skips = _list(narrowing.get("skips"))
    add("Tests skipped by the project's bandit config", skips or "none")
    tests = _list(narrowing.get("tests"))
    if tests:
        add("Only these tests run (project's bandit config)", tests)
    options = narrowing.get("options")
    if isinstance(options, Mapping) and options:
        add("Other options from the project's bandit config", ", ".join(f"{k} = {v}" for k, v in sorted(options.items())))
    nosec = _number(narrowing.get("nosec"))
    if nosec is not None:
        add("# nosec marks honoured", int(nosec))


def _source_rows(check: CheckResult, add: Callable[..., None]) -> None:
    """The key numbers of the lint, types and secrets checks, and what in the project narrowed them."""
    m = check.metrics
    found = m.get("thresholds")
    limits: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    if check.name == "lint":
        add("Files checked", m.get("files_checked"))
        limit = _number(limits.get("max_findings"))
        add("Findings", m.get("findings"), f"≤ {limit:.0f} blocking" if limit is not None else "", not check.blocking)
        add("Fixable by ruff", m.get("fixable"))
        if limits.get("fail_on"):
            add("Rules that block", ", ".join(str(p) for p in _list(limits.get("fail_on"))))
    elif check.name == "types":
        limit = _number(limits.get("max_errors"))
        add("Errors", m.get("errors"), f"≤ {limit:.0f}" if limit is not None else "", not check.blocking)
        add("Notes", m.get("notes"))
        add("Strict mode", bool(limits.get("strict")))
    else:
        add("Tracked files scanned", m.get("files_scanned"))
        add("Potential secrets", m.get("secrets"), "0", not check.blocking)
    narrowing = m.get("narrowing")
    if isinstance(narrowing, Mapping):
        parts = [f"{k.replace('_', ' ')}: {_text(v)}" for k, v in sorted(narrowing.items()) if v and k not in _PER_FILE]
        add("Narrowed by the project", "; ".join(parts) if parts else "nothing", "", None)


def _pct(value: float, precision: Any) -> str:
    """A coverage percentage as coverage.py shows it: at the project's precision (its default 0);
    without one, at most two decimals and no trailing zeros (never decimals nobody measured)."""
    if isinstance(precision, int) and not isinstance(precision, bool) and 0 <= precision <= 10:
        return f"{value:.{precision}f}%"
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def _coverage_files(check: CheckResult) -> list[dict[str, Any]]:
    if check.name != "coverage":
        return []
    floor = _threshold(check.metrics, "min_file")
    precision = check.metrics.get("precision")
    out = []
    for f in _list(check.metrics.get("files")):
        if not isinstance(f, Mapping):
            continue
        pct = _number(f.get("percent"))
        if pct is None:
            continue
        pct = min(100.0, max(0.0, pct))
        out.append(
            {
                "path": str(f.get("path", "")),
                "percent": pct,
                "label": _pct(pct, precision),
                "width": round(pct * 2, 1),  # the bar is 200 units wide
                "low": floor is not None and pct < floor,
            }
        )
    out.sort(key=lambda r: (r["percent"], r["path"]))
    return out


def _license_rows(check: CheckResult) -> list[dict[str, str]]:
    if check.name != "licenses":
        return []
    rows = [
        {
            "name": str(p.get("name", "")),
            "version": str(p.get("version", "")),
            "license": str(p.get("license") or MISSING),
            "raw": str(p.get("raw") or MISSING),
            "verdict": str(p.get("verdict") or "unknown"),
        }
        for p in _list(check.metrics.get("packages"))
        if isinstance(p, Mapping)
    ]
    rows.sort(key=lambda r: (_VERDICT_ORDER.get(r["verdict"], 9), r["name"].lower(), r["version"]))
    return rows


def _check_view(check: CheckResult) -> dict[str, Any]:
    tool = " ".join(p for p in (check.tool_name, check.tool_version) if p)
    return {
        "name": check.name,
        "status": check.status.value,
        "summary": check.summary,
        "error": check.error or "",
        "tool": tool or MISSING,
        "duration": f"{check.duration_s:.1f} s",
        "counts": severity_counts(check.findings),
        "total": len(check.findings),
        "blocking": len(check.blocking),
        "waived": sum(1 for f in check.findings if f.waiver is not None),
        "metrics": _metric_rows(check),
        "files": _coverage_files(check),
        "licenses": _license_rows(check),
        "license_counts": _license_counts(check),
        "artifacts": sorted(check.artifacts.items()),
    }


def _license_counts(check: CheckResult) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for row in _license_rows(check):
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    return sorted(counts.items(), key=lambda kv: (_VERDICT_ORDER.get(kv[0], 9), kv[0]))


def _finding_row(check: CheckResult, f: Finding) -> dict[str, Any]:
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
            details.append((key.replace("_", " "), _text(value)))
    return {
        "check": check.name,
        "severity": f.severity.value,
        "rank": f.severity.rank,
        "state": finding_state(f),
        "rule": f.rule_id,
        "rule_name": f.rule_name,
        "message": f.message,
        "where": where(f) or MISSING,
        "help_uri": _safe_url(f.help_uri),
        "waiver": waiver,
        "details": details,
        "fingerprint": f.fingerprint,
    }


def _waivers(result: GateResult) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for kind in ("applied", "expired", "unused"):
        entries = result.waivers.get(kind) or []
        rows = []
        for w in entries if isinstance(entries, Sequence) else []:
            if not isinstance(w, Mapping):
                continue
            scope = ", ".join(f"{k} {w[k]}" for k in ("rule", "path", "package") if w.get(k))
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
