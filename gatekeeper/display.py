"""How a check presents itself in reports: the values a checker's presentation hooks return.

A leaf module (it imports nothing from gatekeeper), so that checkers build these values and
renderers read them without either seeing the other. Every value is computed from a
``CheckResult`` (its metrics, findings and status), so a report re-rendered from the JSON result
shows the same rows. The formatting helpers here are the ones the HTML report applies, so a
checker that pre-formats a value writes it exactly as the renderer would.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: what a report shows when a value is unknown
MISSING = "—"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a check's metric table: ``value`` is shown as ``text`` formats it; ``threshold``
    is the policy's limit in words and ``ok`` whether it was met (None: no limit applies)."""

    label: str
    value: Any
    threshold: str = ""
    ok: bool | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    """A labelled percentage bar (e.g. one file's coverage): ``text`` is the value cell,
    ``caption`` the bar's accessible name, ``low`` marks a bar under the policy's floor."""

    name: str
    percent: float
    text: str
    caption: str
    low: bool = False


@dataclass(frozen=True, slots=True)
class BarChart:
    """A titled table of ``Bar``\\ s; ``columns`` heads the name and the value column."""

    title: str
    columns: tuple[str, str]
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class VerdictRow:
    """One row of a ``VerdictTable``: its cells, then its verdict word (shown as a badge)."""

    cells: tuple[str, ...]
    verdict: str


@dataclass(frozen=True, slots=True)
class VerdictTable:
    """A titled table whose rows each end in a verdict (e.g. one package's license verdict), with
    the number of rows per verdict above it. ``columns`` heads the cells and, last, the verdict."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[VerdictRow, ...]
    counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Display:
    """A check's section of the HTML report: its metric ``rows``, then one generic row for every
    metric key not in ``shown``, then an optional bar chart and verdict table."""

    rows: tuple[Row, ...] = ()
    shown: frozenset[str] = frozenset()
    bars: BarChart | None = None
    table: VerdictTable | None = None

    def well_formed(self) -> bool:
        """Whether every part has the type the renderers rely on (a plugin's dataclasses are not checked when built)."""
        rows_ok = all(isinstance(r, Row) and isinstance(r.label, str) and isinstance(r.threshold, str) for r in self.rows)
        bars = self.bars
        bars_ok = bars is None or (
            isinstance(bars, BarChart)
            and len(bars.columns) == 2
            and all(isinstance(b, Bar) and number(b.percent) is not None for b in bars.bars)
        )
        table = self.table
        table_ok = table is None or (
            isinstance(table, VerdictTable)
            and all(isinstance(r, VerdictRow) and isinstance(r.verdict, str) for r in table.rows)
            and all(isinstance(c, tuple) and len(c) == 2 for c in table.counts)
        )
        return rows_ok and bars_ok and table_ok and all(isinstance(k, str) for k in self.shown)


@dataclass(frozen=True, slots=True)
class ToolInfo:
    """The tool behind a check, for SARIF: its name and documentation URI, and the tags every rule
    of the check carries. Empty name/URI: the result's tool name and gatekeeper's home page."""

    name: str = ""
    uri: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Trend:
    """A number of a check's metrics that the history page follows run after run: the series it feeds
    (``key``, e.g. ``vulnerabilities``), where it is in the metrics (``path``, e.g. ``("counts", "high")``),
    and ``zero_if``: a metric whose being a number makes an absent value 0 (packages counted, none denied)."""

    key: str
    path: tuple[str, ...]
    zero_if: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a check says about one of its SARIF rules, given the rule's first finding: a short
    description and a help URI (empty: gatekeeper's generic text and the tool's URI)."""

    short_description: str = ""
    help_uri: str = ""


# --------------------------------------------------------------------------- value formatting

_SENTENCE_END = re.compile(r"[.!?](?=\s)")


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: whole when it fits, else cut after the last sentence
    that fits (when that keeps at least a third of the room) or at the last word that fits, and
    an ellipsis marks the cut. Only a single word longer than ``limit`` is cut inside itself."""
    if len(text) <= limit:
        return text
    room = max(1, limit - 2)  # a sentence, then a space and the ellipsis
    ends = [m.end() for m in _SENTENCE_END.finditer(text[: room + 1])]
    if ends and ends[-1] >= room // 3:
        return text[: ends[-1]] + " …"
    head = text[: limit - 1]  # a word, then the ellipsis
    if " " in head and not text[limit - 1].isspace():
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:") + "…"


def text(value: Any) -> str:
    """``value`` as a report cell: unknown as ``MISSING``, booleans as yes/no, floats with at most two
    decimals (no trailing zeros), lists comma-separated, tables as ``key: value`` pairs."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _decimals(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value) if value else MISSING
    if isinstance(value, Mapping):
        return "; ".join(f"{str(k).replace('_', ' ')}: {text(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
    return str(value)


def _decimals(value: float) -> str:
    """A float with at most two decimals and no trailing zeros (``100.0`` is ``100``, never ``100.00``)."""
    shown = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if shown == "-0" else shown


def metric_text(key: str, value: Any) -> str:
    """A metric the check's own rows do not present, as one readable cell: durations by their
    unit (``duration_ms`` 664.9 is ``665 ms``, ``1,234 ms`` is ``1.2 s``), an empty list or table
    as "none", anything else as ``text`` formats it. Tables become ``metric_pairs``."""
    if isinstance(value, (list, tuple, Mapping)) and not value:
        return "none"
    seconds = number(value)
    if seconds is not None and key.endswith(("_ms", "_s")):
        if key.endswith("_ms"):
            seconds /= 1000
        return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f}".removesuffix(".0") + " s"
    return text(value)


def metric_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """A table-valued metric as (label, value) pairs, one per key in key order, each value as
    ``metric_text`` shows it (nested tables inline); empty for anything that is not a table."""
    if not isinstance(value, Mapping) or not value:
        return ()
    return tuple((str(k).replace("_", " "), metric_text(str(k), v)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is not a number (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def as_list(value: Any) -> list[Any]:
    """A metric that should be a list, or nothing when a checker sent something else."""
    return list(value) if isinstance(value, (list, tuple)) else []


def threshold(metrics: Mapping[str, Any], key: str) -> float | None:
    """The policy limit ``key`` recorded in ``metrics`` (at the top or under ``thresholds``)."""
    value = number(metrics.get(key))
    if value is None and isinstance(metrics.get("thresholds"), Mapping):
        value = number(metrics["thresholds"].get(key))
    return value


def percent(value: float, precision: Any) -> str:
    """A percentage as coverage.py shows it: at the given precision (its default 0); without one,
    at most two decimals and no trailing zeros (never decimals nobody measured)."""
    if isinstance(precision, int) and not isinstance(precision, bool) and 0 <= precision <= 10:
        return f"{value:.{precision}f}%"
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def limits(metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    """The policy limits a check recorded under its ``thresholds`` metric (empty when none)."""
    found = metrics.get("thresholds")
    return found if isinstance(found, Mapping) else {}
