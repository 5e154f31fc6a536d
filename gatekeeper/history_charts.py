"""The history page's trend charts: inline SVG line charts that read without colour.

Each series has its own dash pattern and marker shape and is labelled directly at its last point
(labels nudged apart so they never overlap); the series listed first is drawn first, so the one
that matters most (high severity) is listed last and drawn on top. The x axis is time: a point sits
at its run's time, and the ticks are calendar days, weeks or months, so a quiet week looks quiet.
A threshold (the coverage minimum each run was held to) is a step line of its own. Every chart has
a table alternative with the values it plots. All text is escaped here (``html.escape``).
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from gatekeeper.reports._common import MISSING

#: most points a chart draws; longer histories are bucketed (each point is its bucket's last run)
MAX_POINTS = 800
_W, _H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 760, 200, 52, 120, 12, 30
#: at most this many markers per series (every k-th point, and always the last)
_MARKERS = 24
_LABEL_GAP = 13.0
#: tick steps (seconds) of a time axis shorter than two days
_CLOCK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600)


@dataclass(frozen=True)
class Series:
    """One line: a label, a CSS class, a marker (circle, square, triangle, diamond, cross), a dash
    pattern ("" for solid) and one value per run (None where the run has none: a gap, not a zero)."""

    label: str
    css: str
    values: Sequence[float | None]
    marker: str = "circle"
    dash: str = ""


@dataclass(frozen=True)
class ChartSpec:
    """A chart: its id and title, its series (bottom first), a fixed top (100 for a percentage)
    and an optional per-run threshold drawn as a step line."""

    id: str
    title: str
    series: Sequence[Series]
    ceiling: float | None = None
    threshold: Sequence[float | None] = ()
    threshold_label: str = "minimum"


def render_charts(specs: Sequence[ChartSpec], times: Sequence[str], seqs: Sequence[str]) -> list[dict[str, Any]]:
    """``[{id, title, svg, table, note, has_data}]`` for each spec; ``times`` (ISO UTC) and ``seqs``
    give each run's place on the x axis and its number in the table."""
    moments = [_epoch(t) for t in times]
    usable = [i for i, m in enumerate(moments) if m is not None]  # a run without a time has no place on the axis
    step = max(1, math.ceil(len(usable) / MAX_POINTS))
    picks = [usable[min(k + step - 1, len(usable) - 1)] for k in range(0, len(usable), step)]
    axis = _Axis([moments[i] or 0.0 for i in picks])
    note = f"one point per {step} runs (the last of each)" if step > 1 else ""
    return [_chart(spec, picks, axis, [times[i] for i in picks], [seqs[i] for i in picks], note) for spec in specs]


class _Axis:
    """The time axis: the first and last moment shown, mapped onto the plot's width."""

    def __init__(self, moments: Sequence[float]) -> None:
        self.moments = list(moments)
        lo, hi = (min(moments), max(moments)) if moments else (0.0, 0.0)
        if hi - lo < 60:  # one moment (or nearly): show the half hour around it
            lo, hi = lo - 900, hi + 900
        self.lo, self.hi = lo, hi
        self.width = _W - _PAD_L - _PAD_R

    def x(self, moment: float) -> float:
        return round(_PAD_L + self.width * (moment - self.lo) / (self.hi - self.lo), 1)

    def ticks(self) -> list[tuple[float, str]]:
        """Calendar ticks, at most seven: minutes or hours (UTC) for a span under two days, else days,
        weeks (Mondays) or months (the 1st)."""
        if self.hi - self.lo < 2 * 86400:
            step = next((s for s in _CLOCK_STEPS if (self.hi - self.lo) / s <= 7), _CLOCK_STEPS[-1])
            origin = math.ceil(self.lo / step) * step
            moments = [origin + k * step for k in range(int((self.hi - origin) // step) + 1)]
            fmt = "%m-%d %H:%M"
            return [(self.x(m), dt.datetime.fromtimestamp(m, dt.timezone.utc).strftime(fmt)) for m in moments]
        start = dt.datetime.fromtimestamp(self.lo, dt.timezone.utc).date()
        end = dt.datetime.fromtimestamp(self.hi, dt.timezone.utc).date()
        days = (end - start).days + 1
        for every in (1, 2, 7, 14):
            if days / every <= 7:
                first = start if every < 7 else start + dt.timedelta(days=(7 - start.weekday()) % 7)
                dates = [first + dt.timedelta(days=every * k) for k in range(days // every + 2)]
                break
        else:
            months = max(1, math.ceil(days / 30 / 6))
            dates, year, month = [], start.year, start.month
            while dt.date(year, month, 1) <= end + dt.timedelta(days=31):
                dates.append(dt.date(year, month, 1))
                month += months
                year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        out = []
        for d in dates:
            moment = dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc).timestamp()
            if self.lo <= moment <= self.hi:
                out.append((self.x(moment), d.isoformat()))
        return out


def _epoch(text: str) -> float | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def _chart(  # noqa: PLR0913  # the spec, and where its points sit
    spec: ChartSpec, picks: list[int], axis: _Axis, times: list[str], seqs: list[str], note: str
) -> dict[str, Any]:
    columns = [[s.values[i] for i in picks] for s in spec.series]
    limits = [spec.threshold[i] if i < len(spec.threshold) else None for i in picks] if spec.threshold else []
    present = [v for col in columns for v in col if v is not None]
    top = spec.ceiling if spec.ceiling is not None else float(max(4, math.ceil(_nice(max([*present, 1.0])) / 4) * 4))
    plot_h = _H - _PAD_T - _PAD_B
    bottom = _PAD_T + plot_h

    def y(v: float) -> float:
        return round(bottom - plot_h * min(v, top) / top, 1)

    parts = [
        f'<svg id="{html.escape(spec.id)}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html.escape(spec.title)}"'
        f' viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}">'
    ]
    for k in range(5):
        ty = y(top * k / 4)
        parts.append(f'<line x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{ty}" y2="{ty}" class="grid-line"></line>')
        parts.append(f'<text x="{_PAD_L - 6}" y="{ty + 4}" text-anchor="end" class="chart-label">{_fmt(top * k / 4)}</text>')
    parts.append(f'<line x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{bottom}" y2="{bottom}" class="axis"></line>')
    for tx, label in axis.ticks():
        parts.append(f'<line x1="{tx}" x2="{tx}" y1="{bottom}" y2="{bottom + 4}" class="axis"></line>')
        parts.append(f'<text x="{tx}" y="{bottom + 16}" text-anchor="middle" class="chart-label">{label}</text>')
    labels: list[tuple[float, str, str]] = []  # (y of the last point, text, css)
    if any(v is not None for v in limits):
        parts.append(_step_line(limits, axis, y))
        last = next((v for v in reversed(limits) if v is not None), None)
        if last is not None:
            labels.append((y(last), f"{spec.threshold_label} {_fmt(last)}", "threshold"))
    for s, col in zip(spec.series, columns, strict=True):
        parts.extend(_series(s, col, axis, y))
        last = next((v for v in reversed(col) if v is not None), None)
        if last is not None:
            labels.append((y(last), f"{s.label} {_fmt(last)}", s.css))
    parts.extend(_direct_labels(labels, bottom))
    parts.append("</svg>")
    return {
        "id": spec.id,
        "title": spec.title,
        "svg": Markup("".join(parts)),  # noqa: S704  # nosec B704: every text above went through html.escape
        "table": _table(spec, columns, limits, times, seqs),
        "note": note,
        "has_data": bool(present),
    }


def _points(values: Sequence[float | None], axis: _Axis, y: Any) -> list[list[tuple[float, float]]]:
    segments: list[list[tuple[float, float]]] = [[]]
    for moment, v in zip(axis.moments, values, strict=True):
        if v is None:  # the check did not run: a gap, not a zero
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((axis.x(moment), y(v)))
    return [seg for seg in segments if seg]


def _series(s: Series, values: Sequence[float | None], axis: _Axis, y: Any) -> list[str]:
    css = html.escape(s.css)
    dash = f' stroke-dasharray="{html.escape(s.dash)}"' if s.dash else ""
    out = [f'<g class="series {css}"><title>{html.escape(s.label)}</title>']
    segments = _points(values, axis, y)
    for seg in segments:
        pts = " ".join(f"{px},{py}" for px, py in seg)
        out.append(f'<polyline points="{pts}" class="{css}" style="fill:none"{dash}></polyline>')
    flat = [p for seg in segments for p in seg]
    every = max(1, math.ceil(len(flat) / _MARKERS))
    for k, (px, py) in enumerate(flat):
        if k % every == 0 or k == len(flat) - 1:
            out.append(_marker(s.marker, px, py, css))
    out.append("</g>")
    return out


def _marker(shape: str, x: float, y: float, css: str) -> str:
    r = 3.2
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" class="mk {css}"></rect>'
    if shape == "triangle":
        pts = f"{x:.1f},{y - r - 1:.1f} {x - r - 0.5:.1f},{y + r:.1f} {x + r + 0.5:.1f},{y + r:.1f}"
        return f'<polygon points="{pts}" class="mk {css}"></polygon>'
    if shape == "diamond":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} {x:.1f},{y + r + 1:.1f} {x - r - 1:.1f},{y:.1f}"
        return f'<polygon points="{pts}" class="mk {css}"></polygon>'
    if shape == "cross":
        d = f"M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}M{x - r:.1f},{y + r:.1f}L{x + r:.1f},{y - r:.1f}"
        return f'<path d="{d}" class="mk-line {css}"></path>'
    return f'<circle cx="{x}" cy="{y}" r="{r}" class="mk {css}"></circle>'


def _step_line(limits: Sequence[float | None], axis: _Axis, y: Any) -> str:
    """The threshold as a step line: it holds its value until the run where it changed."""
    pts: list[str] = []
    previous: float | None = None
    for moment, v in zip(axis.moments, limits, strict=True):
        if v is None:
            continue
        px = axis.x(moment)
        if previous is not None and v != previous:
            pts.append(f"{px},{y(previous)}")
        pts.append(f"{px},{y(v)}")
        previous = v
    points = " ".join(pts)
    dash = 'stroke-dasharray="8 4"'
    return f'<polyline points="{points}" class="threshold" style="fill:none" {dash}><title>threshold</title></polyline>'


def _direct_labels(labels: list[tuple[float, str, str]], bottom: float) -> list[str]:
    """Each series' name and last value right of the plot, at its last point's height, nudged apart."""
    placed: list[tuple[float, str, str]] = []
    for ly, text, css in sorted(labels):
        if placed and ly - placed[-1][0] < _LABEL_GAP:
            ly = placed[-1][0] + _LABEL_GAP
        placed.append((ly, text, css))
    overflow = placed[-1][0] - (bottom + 4) if placed else 0.0
    if overflow > 0:  # pushed below the axis: shift the whole column up
        placed = [(ly - overflow, text, css) for ly, text, css in placed]
    x = _W - _PAD_R + 8
    return [
        f'<text x="{x}" y="{ly + 4:.1f}" class="direct-label dl-{html.escape(css)}">{html.escape(text)}</text>'
        for ly, text, css in placed
    ]


def _table(
    spec: ChartSpec, columns: list[list[float | None]], limits: list[float | None], times: list[str], seqs: list[str]
) -> Markup:
    heads = ["Run", "Time (UTC)", *[s.label for s in spec.series]] + ([spec.threshold_label] if limits else [])
    rows = []
    for k, (when, seq) in enumerate(zip(times, seqs, strict=True)):
        cells = [_fmt(col[k]) for col in columns] + ([_fmt(limits[k])] if limits else [])
        body = "".join(f'<td class="num">{html.escape(c)}</td>' for c in cells)
        rows.append(f"<tr><td>{html.escape(seq)}</td><td>{html.escape(when.replace('T', ' '))}</td>{body}</tr>")
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in heads)
    return Markup(  # noqa: S704  # nosec B704: every value went through html.escape
        f'<table class="grid chart-data" id="{html.escape(spec.id)}-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


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
