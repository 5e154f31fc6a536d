"""The history page: one self-contained HTML file from the audit log, for auditors.

It opens with the chain's verification (a broken chain is stated at the top and every run from the
bad line on is marked, never hidden), then trends of the key metrics as inline SVG charts, the
waivers over time, and every run with its per-check status. Rendered with jinja2 (autoescaping
on) from ``report_templates/history.html.j2``; the page has no script and its Content-Security-Policy
forbids loading anything, so it opens offline years later. Every value comes from the log's records.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from gatekeeper.audit import Verification
from gatekeeper.reports._common import MISSING

TEMPLATE = "history.html.j2"
#: most points a chart draws; longer histories are bucketed (each point is its bucket's last run)
MAX_POINTS = 800
_CHART_W, _CHART_H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 720, 186, 52, 16, 12, 42


@dataclass(frozen=True)
class Series:
    """One line of a chart: a label, a CSS class and one value per run (None where the run has none)."""

    label: str
    css: str
    values: Sequence[float | None]


def render_history(
    records: Sequence[Mapping[str, Any]],
    verification: Verification,
    *,
    log_name: str,
    generated_at: str,
    since: dt.date | None = None,
    tool_version: str = "",
    key_checked: bool = False,
) -> str:
    """The history page for ``records`` (the whole log, in order), with the chain's ``verification``.

    ``since`` leaves out runs before that day (the chain is still verified over the whole log).
    """
    from gatekeeper.reports.html import _asset, _environment

    broken_line = verification.line if not verification.ok else None
    runs = []
    for number, rec in enumerate(records, 1):
        run = _run_view(rec, number, broken_line)
        if since is not None and not (_is_date(run["date"]) and run["date"] >= since.isoformat()):
            continue
        runs.append(run)
    check_names = sorted({name for r in runs for name in r["checks"]})
    charts = _charts(runs)
    template = _environment().get_template(TEMPLATE)
    return template.render(
        csp="default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
        style=Markup(_asset("report.css")),  # noqa: S704  # nosec B704: our own shipped stylesheet
        log_name=log_name,
        generated_at=generated_at,
        tool_version=tool_version,
        since=since.isoformat() if since else "",
        verification=_verification_view(verification, len(records), key_checked),
        runs=runs,
        run_rows=_run_rows(runs, check_names),
        check_names=check_names,
        charts=charts,
        waivers=_waiver_rows(runs),
        verdicts=_verdict_counts(runs),
        first=runs[0]["time"] if runs else MISSING,
        last=runs[-1]["time"] if runs else MISSING,
    )


# --------------------------------------------------------------------------- view model


def _verification_view(v: Verification, total: int, key_checked: bool) -> dict[str, Any]:
    if v.ok:
        note = ""
        if v.unchecked:
            note = f"{v.unchecked} signature(s) were not checked: no signing key was given."
        elif key_checked and v.signed:
            note = f"All {v.signed} signatures match the signing key."
        return {
            "ok": True,
            "title": f"Chain intact: {v.records} record(s) verified",
            "detail": f"head sha256 {v.head}",
            "note": note,
        }
    return {
        "ok": False,
        "title": "Chain BROKEN: this log was altered",
        "detail": f"{v.problem}. Records from line {v.line} on cannot be trusted; they are still listed below, marked.",
        "note": f"{v.records} of {total} record(s) verified before the break.",
        "line": v.line,
    }


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _mapping(value: Any) -> dict[str, Any]:
    # records come from json.loads: a dict check is exact, and much cheaper than the Mapping ABC's
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if value.__class__ is int or value.__class__ is float:  # not bool, not a str that looks like a number
        return float(value) if math.isfinite(value) else None
    return None


def _ids(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _run_view(rec: Mapping[str, Any], number: int, broken_line: int | None) -> dict[str, Any]:
    suspect = broken_line is not None and number >= broken_line
    if rec.get("invalid"):
        return {
            "seq": "?",
            "line": number,
            "invalid": True,
            "suspect": suspect,
            "time": MISSING,
            "date": "",
            "checks": {},
            "metrics": {},
            "waivers": {"applied": [], "expired": [], "unused": []},
        }
    time = str(rec.get("time") or "")
    checks = {str(k): v for k, v in _mapping(rec.get("checks")).items() if isinstance(v, dict)}
    waivers = _mapping(rec.get("waivers"))
    return {
        "seq": str(rec.get("seq", "?")),
        "line": number,
        "invalid": False,
        "suspect": suspect,
        "time": time.replace("T", " ") or MISSING,
        "date": time[:10],  # ISO dates compare as strings
        "command": str(rec.get("command") or ""),
        "commit": str(rec.get("commit") or "")[:12] or MISSING,
        "branch": str(rec.get("branch") or "") or MISSING,
        "actor": str(_mapping(rec.get("actor")).get("name") or "") or MISSING,
        "verdict": str(rec.get("verdict") or "unknown"),
        "checks": {name: str(c.get("status") or "?") for name, c in checks.items()},
        "metrics": _key_values(checks),
        "waivers": {k: _ids(waivers.get(k)) for k in ("applied", "expired", "unused")},
    }


def _key_values(checks: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """The numbers the trend charts plot, from one record's checks."""
    cov = _mapping(checks.get("coverage", {}).get("metrics"))
    deps = _mapping(checks.get("dependencies", {}).get("metrics"))
    sec = _mapping(checks.get("security", {}).get("metrics"))
    lic = _mapping(checks.get("licenses", {}).get("metrics"))
    counts = _mapping(sec.get("counts"))
    by_verdict = _mapping(lic.get("packages_by_verdict"))
    denied = _number(by_verdict.get("denied"))
    if denied is None and _number(lic.get("packages")) is not None:
        denied = 0.0  # the packages were counted and none was denied
    return {
        "coverage": _number(cov.get("total")),
        "vulnerabilities": _number(deps.get("vulnerabilities")),
        "sec_high": _number(counts.get("high")),
        "sec_medium": _number(counts.get("medium")),
        "sec_low": _number(counts.get("low")),
        "denied": denied,
    }


def _run_rows(runs: Sequence[Mapping[str, Any]], check_names: Sequence[str]) -> Markup:
    """The rows of the run table, newest first.

    With 10,000 runs this table is most of the page, and escaping its values cell by cell in the
    template took seconds; it is built here instead, every value passed through ``html.escape``.
    """
    cache: dict[str, str] = {}

    def e(text: str) -> str:  # statuses, branches and actors repeat: escape each distinct value once
        out = cache.get(text)
        if out is None:
            out = cache[text] = html.escape(text)
        return out

    rows = []
    width = 8 + len(check_names)
    for r in reversed(runs):
        suspect = " suspect" if r["suspect"] else ""
        if r["invalid"]:
            note = f"line {r['line']} is not a valid audit record"
            rows.append(f'<tr class="invalid{suspect}"><td>?</td><td colspan="{width - 1}">{note}</td></tr>')
            continue
        checks = r["checks"]
        cells = "".join(f'<td class="st st-{e(checks.get(n, ""))}">{e(checks.get(n, MISSING))}</td>' for n in check_names)
        w = r["waivers"]
        waivers = " ".join(f"{k} {', '.join(w[k])}" for k in ("applied", "expired", "unused") if w[k])
        rows.append(
            f'<tr class="run{suspect}"><td>{e(r["seq"])}</td><td>{e(r["time"])}</td><td>{e(r["command"])}</td>'
            f"<td><code>{e(r['commit'])}</code></td><td>{e(r['branch'])}</td><td>{e(r['actor'])}</td>"
            f'<td class="verdict-cell-{e(r["verdict"])}">{e(r["verdict"])}</td>{cells}<td>{e(waivers)}</td></tr>'
        )
    if not rows:
        rows.append(f'<tr><td colspan="{width}">No run in this period.</td></tr>')
    return Markup("\n".join(rows))  # noqa: S704  # nosec B704: every value above went through html.escape


def _verdict_counts(runs: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for r in runs:
        if not r["invalid"]:
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return sorted(counts.items())


def _waiver_rows(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each waiver the log mentions: first seen (granted), runs it applied in, when it expired, runs it went unused."""
    rows: dict[str, dict[str, Any]] = {}
    for r in runs:
        for kind in ("applied", "expired", "unused"):
            for wid in r["waivers"][kind]:
                row = rows.setdefault(
                    wid, {"id": wid, "first": r["time"], "applied": 0, "last_applied": MISSING, "expired": MISSING, "unused": 0}
                )
                if kind == "applied":
                    row["applied"] += 1
                    row["last_applied"] = r["time"]
                elif kind == "expired" and row["expired"] == MISSING:
                    row["expired"] = r["time"]
                elif kind == "unused":
                    row["unused"] += 1
    return sorted(rows.values(), key=lambda w: (w["first"], w["id"]))


# --------------------------------------------------------------------------- charts


def _charts(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    valid = [r for r in runs if not r["invalid"]]

    def values(key: str) -> list[float | None]:
        return [r["metrics"][key] for r in valid]

    def waivers(kind: str) -> list[float | None]:
        return [float(len(r["waivers"][kind])) for r in valid]

    specs = [
        ("chart-coverage", "Total coverage (%)", [Series("coverage total", "s-cov", values("coverage"))], 100.0),
        (
            "chart-vulnerabilities",
            "Known vulnerabilities",
            [Series("vulnerabilities", "s-vuln", values("vulnerabilities"))],
            None,
        ),
        (
            "chart-security",
            "Security findings by severity",
            [
                Series("high", "s-high", values("sec_high")),
                Series("medium", "s-medium", values("sec_medium")),
                Series("low", "s-low", values("sec_low")),
            ],
            None,
        ),
        ("chart-licenses", "Licenses denied", [Series("denied", "s-denied", values("denied"))], None),
        (
            "chart-waivers",
            "Waivers per run",
            [
                Series("applied", "s-applied", waivers("applied")),
                Series("expired", "s-expired", waivers("expired")),
                Series("unused", "s-unused", waivers("unused")),
            ],
            None,
        ),
    ]
    times = [str(r["time"]) for r in valid]
    return [_chart(cid, title, series, ceiling, times) for cid, title, series, ceiling in specs]


def _chart(cid: str, title: str, series: Sequence[Series], ceiling: float | None, times: Sequence[str]) -> dict[str, Any]:
    """Geometry of one line chart (SVG user units): polylines, y ticks and x labels."""
    n = len(times)
    step = max(1, math.ceil(n / MAX_POINTS))
    picks = [min(i + step - 1, n - 1) for i in range(0, n, step)]  # each bucket's last run
    present = [v for s in series for v in s.values if v is not None]
    if ceiling is not None:
        top = ceiling
    else:  # counts: a multiple of 4, so that the five ticks are whole numbers
        top = float(max(4, math.ceil(_nice(max([*present, 1.0])) / 4) * 4))
    plot_w, plot_h = _CHART_W - _PAD_L - _PAD_R, _CHART_H - _PAD_T - _PAD_B

    def x(i: int) -> float:
        return round(_PAD_L + (plot_w * i / (n - 1) if n > 1 else plot_w / 2), 1)

    def y(v: float) -> float:
        return round(_PAD_T + plot_h - plot_h * min(v, top) / top, 1)

    lines = []
    for s in series:
        segments: list[list[str]] = [[]]
        for i in picks:
            v = s.values[i]
            if v is None:  # the check did not run: a gap, not a zero
                if segments[-1]:
                    segments.append([])
                continue
            segments[-1].append(f"{x(i)},{y(v)}")
        last = next((s.values[i] for i in reversed(range(n)) if s.values[i] is not None), None)
        lines.append(
            {
                "label": s.label,
                "css": s.css,
                "segments": [" ".join(seg) for seg in segments if seg],
                "dots": [p for seg in segments if len(seg) == 1 for p in seg],
                "last": _fmt(last),
            }
        )
    ticks = [{"y": y(top * k / 4), "label": _fmt(top * k / 4)} for k in range(5)]
    labels = []
    if n:
        for i in sorted({0, n // 2, n - 1}):
            labels.append({"x": x(i), "label": times[i][:10], "anchor": "start" if i == 0 else "end" if i == n - 1 else "middle"})
    has_data = bool(present)
    return {
        "id": cid,
        "title": title,
        "width": _CHART_W,
        "height": _CHART_H,
        "left": _PAD_L,
        "right": _CHART_W - _PAD_R,
        "bottom": _PAD_T + plot_h,
        "lines": lines,
        "ticks": ticks,
        "labels": labels,
        "has_data": has_data,
        "note": f"one point per {step} runs (the last of each)" if step > 1 else "",
    }


def _nice(value: float) -> float:
    """A round upper bound at or above ``value`` (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * power:
            return float(m * power)
    return float(10 * power)


def _fmt(value: float | None) -> str:
    if value is None:
        return MISSING
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
