"""The history page: one self-contained HTML file from the audit log, for auditors.

It opens with the chain's verification (a broken chain is stated at the top and every run from the
bad line on is marked, never hidden), then trends of the key metrics as inline SVG charts, the
waivers over time, and every run with its per-check status. Rendered with jinja2 (autoescaping
on) from ``report_templates/history.html.j2``; the page has no script and its Content-Security-Policy
forbids loading anything, so it opens offline years later. Every value comes from the log's records.

A log of 10,000 runs (23 MB) renders in about a second: each line is read and parsed once, for the
verification and the page alike; each run becomes one small tuple, not a tree of dicts; the run
table, most of the page, is joined from strings escaped here (each distinct status, branch or actor
once) rather than through the template cell by cell; and the garbage collector is paused meanwhile.
"""

from __future__ import annotations

import datetime as dt
import gc
import html
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from markupsafe import Markup

from gatekeeper.audit import Verification, read_records, verify_log
from gatekeeper.reports._common import MISSING

TEMPLATE = "history.html.j2"
#: most points a chart draws; longer histories are bucketed (each point is its bucket's last run)
MAX_POINTS = 800
_CHART_W, _CHART_H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 720, 186, 52, 16, 12, 42
_WAIVER_KINDS = ("applied", "expired", "unused")


@dataclass(frozen=True)
class Series:
    """One line of a chart: a label, a CSS class and one value per run (None where the run has none)."""

    label: str
    css: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class HistoryPage:
    """``history_page``'s outcome: the HTML, the chain's verification and the number of records read (one per line)."""

    html: str
    verification: Verification
    records: int


def history_page(
    log: Path,
    key: bytes | None = None,
    *,
    since: dt.date | None = None,
    generated_at: str | None = None,
    tool_version: str = "",
) -> HistoryPage:
    """Verify ``log``'s chain (and, with ``key``, every signature) and render its history page.

    Each line is read and parsed once: the records the verification parsed are the page's runs, and
    past a break the rest of the log is read as it stands (every line listed, marked). ``generated_at``
    defaults to now (UTC).
    """
    with _collector_paused():  # the records are freed on _read_and_render's return, before collection resumes
        return _read_and_render(log, key, since, generated_at, tool_version)


def _read_and_render(
    log: Path, key: bytes | None, since: dt.date | None, generated_at: str | None, tool_version: str
) -> HistoryPage:
    verified: list[dict[str, Any]] = []
    verification = verify_log(log, key, collect=verified)
    records = verified
    if not verification.ok:  # the verified records are lines 1..n; read the rest as they stand
        records = verified + read_records(log, first=len(verified) + 1)
    facts = PageFacts(
        log_name=str(log),
        generated_at=generated_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        since=since,
        tool_version=tool_version,
        key_checked=key is not None,
    )
    page = render_history(records, verification, facts)
    return HistoryPage(page, verification, len(records))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: parsed JSON has no reference cycles (reference counting frees
    it), yet the hundreds of thousands of dicts and lists a long log parses into trigger collection after
    collection, each walking every object alive; on a 10,000-run log that cost as much as the parsing.
    What the block allocated should be freed before it ends: the first collection after it walks
    whatever is still alive."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Run(NamedTuple):
    """One run as the page shows it (a tuple: ten thousand of them are built per page)."""

    line: int
    suspect: bool
    invalid: bool
    seq: str
    time: str
    date: str
    command: str
    commit: str
    branch: str
    actor: str
    verdict: str
    checks: dict[str, str]  # check name -> status
    metrics: tuple[float | None, ...]  # the values _key_values reads, in the order of _METRICS
    applied: list[str]
    expired: list[str]
    unused: list[str]


@dataclass(frozen=True)
class PageFacts:
    """What the history page says about itself: the log, when it was made, by which gatekeeper,
    the first day shown (``since``: the chain is still verified over the whole log) and whether
    signatures were checked."""

    log_name: str
    generated_at: str
    since: dt.date | None = None
    tool_version: str = ""
    key_checked: bool = False


def render_history(records: Sequence[Mapping[str, Any]], verification: Verification, facts: PageFacts) -> str:
    """The history page for ``records`` (the whole log, in order), with the chain's ``verification``."""
    since, key_checked = facts.since, facts.key_checked
    from gatekeeper.reports.html import _asset, _environment

    broken_line = verification.line if not verification.ok else None
    day = since.isoformat() if since else None
    runs = []
    for number, rec in enumerate(records, 1):
        run = _run_view(rec, number, broken_line is not None and number >= broken_line)
        if day is not None and not (run.date >= day and _is_date(run.date)):  # ISO dates compare as strings
            continue
        runs.append(run)
    check_names = sorted({name for r in runs for name in r.checks})
    template = _environment().get_template(TEMPLATE)
    return template.render(
        csp="default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
        style=Markup(_asset("report.css")),  # noqa: S704  # nosec B704: our own shipped stylesheet
        log_name=facts.log_name,
        generated_at=facts.generated_at,
        tool_version=facts.tool_version,
        since=day or "",
        verification=_verification_view(verification, len(records), key_checked),
        runs=runs,
        run_rows=_run_rows(runs, check_names),
        check_names=check_names,
        charts=_charts(runs),
        waivers=_waiver_rows(runs),
        verdicts=_verdict_counts(runs),
        first=runs[0].time if runs else MISSING,
        last=runs[-1].time if runs else MISSING,
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


_METRICS = ("coverage", "vulnerabilities", "sec_high", "sec_medium", "sec_low", "denied")
_NO_METRICS: tuple[float | None, ...] = (None,) * len(_METRICS)


def _run_view(rec: Mapping[str, Any], number: int, suspect: bool) -> _Run:
    if rec.get("invalid"):
        return _Run(number, suspect, True, "?", MISSING, "", "", "", "", "", "", {}, _NO_METRICS, [], [], [])
    time = str(rec.get("time") or "")
    raw = rec.get("checks")
    checks = {str(k): v for k, v in raw.items() if isinstance(v, dict)} if isinstance(raw, dict) else {}
    waivers = _mapping(rec.get("waivers"))
    return _Run(
        line=number,
        suspect=suspect,
        invalid=False,
        seq=str(rec.get("seq", "?")),
        time=time.replace("T", " ") or MISSING,
        date=time[:10],
        command=str(rec.get("command") or ""),
        commit=str(rec.get("commit") or "")[:12] or MISSING,
        branch=str(rec.get("branch") or "") or MISSING,
        actor=str(_mapping(rec.get("actor")).get("name") or "") or MISSING,
        verdict=str(rec.get("verdict") or "unknown"),
        checks={name: str(c.get("status") or "?") for name, c in checks.items()},
        metrics=_key_values(checks),
        applied=_ids(waivers.get("applied")),
        expired=_ids(waivers.get("expired")),
        unused=_ids(waivers.get("unused")),
    )


def _metrics_of(checks: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    check = checks.get(name)
    return _mapping(check.get("metrics")) if check is not None else {}


def _key_values(checks: dict[str, dict[str, Any]]) -> tuple[float | None, ...]:
    """The numbers the trend charts plot, from one record's checks, in the order of ``_METRICS``."""
    sec = _metrics_of(checks, "security")
    lic = _metrics_of(checks, "licenses")
    counts = _mapping(sec.get("counts"))
    denied = _number(_mapping(lic.get("packages_by_verdict")).get("denied"))
    if denied is None and _number(lic.get("packages")) is not None:
        denied = 0.0  # the packages were counted and none was denied
    return (
        _number(_metrics_of(checks, "coverage").get("total")),
        _number(_metrics_of(checks, "dependencies").get("vulnerabilities")),
        _number(counts.get("high")),
        _number(counts.get("medium")),
        _number(counts.get("low")),
        denied,
    )


def _run_rows(runs: Sequence[_Run], check_names: Sequence[str]) -> Markup:
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

    def cell(status: str | None) -> str:
        return f'<td class="st st-{e(status or "")}">{e(status or MISSING)}</td>'  # a status is never ""

    cells_of: dict[tuple[str | None, ...], str] = {}  # most runs repeat one of a few status combinations
    rows = []
    width = 8 + len(check_names)
    for r in reversed(runs):
        suspect = " suspect" if r.suspect else ""
        if r.invalid:
            note = f"line {r.line} is not a valid audit record"
            rows.append(f'<tr class="invalid{suspect}"><td>?</td><td colspan="{width - 1}">{note}</td></tr>')
            continue
        statuses = tuple([r.checks.get(n) for n in check_names])
        cells = cells_of.get(statuses)
        if cells is None:
            cells = cells_of[statuses] = "".join([cell(s) for s in statuses])
        kinds = zip(_WAIVER_KINDS, (r.applied, r.expired, r.unused), strict=True)
        waivers = " ".join([f"{k} {', '.join(ids)}" for k, ids in kinds if ids])
        rows.append(
            f'<tr class="run{suspect}"><td>{html.escape(r.seq)}</td><td>{html.escape(r.time)}</td><td>{e(r.command)}</td>'
            f"<td><code>{html.escape(r.commit)}</code></td><td>{e(r.branch)}</td><td>{e(r.actor)}</td>"
            f'<td class="verdict-cell-{e(r.verdict)}">{e(r.verdict)}</td>{cells}<td>{e(waivers)}</td></tr>'
        )
    if not rows:
        rows.append(f'<tr><td colspan="{width}">No run in this period.</td></tr>')
    return Markup("\n".join(rows))  # noqa: S704  # nosec B704: every value above went through html.escape


def _verdict_counts(runs: Sequence[_Run]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for r in runs:
        if not r.invalid:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
    return sorted(counts.items())


def _waiver_rows(runs: Sequence[_Run]) -> list[dict[str, Any]]:
    """Each waiver the log mentions: first seen (granted), runs it applied in, when it expired, runs it went unused."""
    rows: dict[str, dict[str, Any]] = {}

    def row(wid: str, r: _Run) -> dict[str, Any]:
        found = rows.get(wid)
        if found is None:
            found = rows[wid] = {
                "id": wid, "first": r.time, "applied": 0, "last_applied": MISSING, "expired": MISSING, "unused": 0
            }  # fmt: skip
        return found

    for r in runs:  # in log order, and within a run applied, expired, unused: "first seen" is the first mention
        for wid in r.applied:
            w = row(wid, r)
            w["applied"] += 1
            w["last_applied"] = r.time
        for wid in r.expired:
            w = row(wid, r)
            if w["expired"] == MISSING:
                w["expired"] = r.time
        for wid in r.unused:
            row(wid, r)["unused"] += 1
    return sorted(rows.values(), key=lambda w: (w["first"], w["id"]))


# --------------------------------------------------------------------------- charts


def _charts(runs: Sequence[_Run]) -> list[dict[str, Any]]:
    valid = [r for r in runs if not r.invalid]
    # one pass over the runs: their metric tuples transposed into one column per metric
    columns = dict.fromkeys(_METRICS, ())
    if valid:
        columns = dict(zip(_METRICS, zip(*[r.metrics for r in valid], strict=True), strict=True))

    def values(key: str) -> list[float | None]:
        return list(columns[key])

    def waivers(kind: str) -> list[float | None]:
        return [float(len(getattr(r, kind))) for r in valid]

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
    times = [r.time for r in valid]
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
