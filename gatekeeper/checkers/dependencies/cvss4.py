"""CVSS v4.0 scores from vector strings, as FIRST's reference calculator computes them.

CVSS v4.0 has no formula: section 8 of the specification
(https://www.first.org/cvss/v4.0/specification-document) sorts a vector into one of 270 macro vectors
(six equivalence classes, EQ1-EQ6), looks its score up in a table of scores FIRST's experts assigned,
and then refines it by the vector's severity distance from the highest-severity vectors of its macro
vector, in proportion to the score difference with each next lower macro vector. This module follows
the reference implementation step for step: ``CVSS40.calculateScore`` in ``cvss40.js`` of
https://github.com/RedHatProductSecurity/cvss-v4-calculator (commit d1eafe0, 2024-11-01; BSD-2-Clause),
the calculator FIRST publishes at https://www.first.org/cvss/calculator/4.0, including its final
rounding (half up, after adding 1e-6 against floating-point error). Its tables are vendored in
``cvss4_table`` with their copyright notice.

The vector is parsed as that calculator parses it: the ``CVSS:4.0`` prefix, the 11 base metrics
present, every metric known, given once, with a value the specification defines, and all in the
specification's order. Threat and environmental metrics, when the vector carries them, take part in
the score as they do there (the score is then CVSS-BT, CVSS-BE or CVSS-BTE rather than CVSS-B);
supplemental metrics never change it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

from gatekeeper.checkers.dependencies.cvss4_table import (
    LOOKUP,
    MAX_COMPOSED,
    MAX_COMPOSED_EQ3_EQ6,
    MAX_SEVERITY,
    MAX_SEVERITY_EQ3_EQ6,
)

#: every metric the specification defines, in its order (section 7), with the values it allows
_METRICS: Mapping[str, tuple[str, ...]] = {
    # base
    "AV": ("N", "A", "L", "P"),
    "AC": ("L", "H"),
    "AT": ("N", "P"),
    "PR": ("N", "L", "H"),
    "UI": ("N", "P", "A"),
    "VC": ("H", "L", "N"),
    "VI": ("H", "L", "N"),
    "VA": ("H", "L", "N"),
    "SC": ("H", "L", "N"),
    "SI": ("H", "L", "N"),
    "SA": ("H", "L", "N"),
    # threat
    "E": ("X", "A", "P", "U"),
    # environmental
    "CR": ("X", "H", "M", "L"),
    "IR": ("X", "H", "M", "L"),
    "AR": ("X", "H", "M", "L"),
    "MAV": ("X", "N", "A", "L", "P"),
    "MAC": ("X", "L", "H"),
    "MAT": ("X", "N", "P"),
    "MPR": ("X", "N", "L", "H"),
    "MUI": ("X", "N", "P", "A"),
    "MVC": ("X", "H", "L", "N"),
    "MVI": ("X", "H", "L", "N"),
    "MVA": ("X", "H", "L", "N"),
    "MSC": ("X", "H", "L", "N"),
    "MSI": ("X", "S", "H", "L", "N"),
    "MSA": ("X", "S", "H", "L", "N"),
    # supplemental
    "S": ("X", "N", "P"),
    "AU": ("X", "N", "Y"),
    "R": ("X", "A", "U", "I"),
    "V": ("X", "D", "C"),
    "RE": ("X", "L", "M", "H"),
    "U": ("X", "Clear", "Green", "Amber", "Red"),
}
_ORDER = {name: i for i, name in enumerate(_METRICS)}
_BASE = tuple(_METRICS)[:11]
#: a metric left out (or ``X``) counts as the worst case: exploitation attacked, requirements high
_WORST = {"E": "A", "CR": "H", "IR": "H", "AR": "H"}
#: each metric's severity level in steps of 0.1 (0.0 the most severe), for the severity distances
_LEVELS: Mapping[str, Mapping[str, float]] = {
    "AV": {"N": 0.0, "A": 0.1, "L": 0.2, "P": 0.3},
    "PR": {"N": 0.0, "L": 0.1, "H": 0.2},
    "UI": {"N": 0.0, "P": 0.1, "A": 0.2},
    "AC": {"L": 0.0, "H": 0.1},
    "AT": {"N": 0.0, "P": 0.1},
    "VC": {"H": 0.0, "L": 0.1, "N": 0.2},
    "VI": {"H": 0.0, "L": 0.1, "N": 0.2},
    "VA": {"H": 0.0, "L": 0.1, "N": 0.2},
    "SC": {"H": 0.1, "L": 0.2, "N": 0.3},
    "SI": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
    "SA": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
    "CR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "IR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "AR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "E": {"U": 0.2, "P": 0.1, "A": 0.0},
}
_STEP = 0.1


def parse_v4(vector: str) -> dict[str, str]:
    """The metrics of a ``CVSS:4.0/...`` vector; ValueError saying what is wrong when FIRST's calculator would refuse it."""
    head, sep, rest = vector.strip().partition("/")
    if not vector.strip():
        raise ValueError("an empty vector")
    if head != "CVSS:4.0":
        raise ValueError(f"not a CVSS v4.0 vector: it starts with {head!r}, not 'CVSS:4.0'")
    metrics: dict[str, str] = {}
    last = ""
    for part in rest.split("/") if sep else []:
        key, colon, value = part.partition(":")
        if not part:
            raise ValueError("an empty metric (a doubled or trailing '/')")
        if not colon:
            raise ValueError(f"{part!r} is not a metric:value pair")
        if key not in _METRICS:
            raise ValueError(f"unknown metric {key!r}")
        if key in metrics:
            raise ValueError(f"metric {key} given twice")
        if last and _ORDER[key] < _ORDER[last]:
            raise ValueError(f"metric {key} after {last}, out of the specification's order")
        if value not in _METRICS[key]:
            raise ValueError(f"{key}:{value} is not a value of {key} ({', '.join(_METRICS[key])})")
        metrics[key] = value
        last = key
    missing = [k for k in _BASE if k not in metrics]
    if missing:
        raise ValueError(f"base metric{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing")
    return metrics


def _effective(metrics: Mapping[str, str]) -> dict[str, str]:
    """The value each scoring metric takes: a modified (environmental) value over the base one, the worst case for X."""
    out: dict[str, str] = {}
    for name in (*_BASE, "E", "CR", "IR", "AR", "MSI", "MSA"):
        value = metrics.get(name, "X")
        modified = metrics.get("M" + name, "X")
        out[name] = _WORST[name] if value == "X" and name in _WORST else modified if modified != "X" else value
    return out


def macro_vector(m: Mapping[str, str]) -> tuple[int, int, int, int, int, int]:
    """The levels of EQ1..EQ6 (0 the most severe) of effective metric values ``m``: specification table 24."""
    av, pr, ui = m["AV"], m["PR"], m["UI"]
    if av == "N" and pr == "N" and ui == "N":
        eq1 = 0
    elif (av == "N" or pr == "N" or ui == "N") and av != "P":
        eq1 = 1
    else:
        eq1 = 2
    eq2 = 0 if m["AC"] == "L" and m["AT"] == "N" else 1
    if m["VC"] == "H" and m["VI"] == "H":
        eq3 = 0
    else:
        eq3 = 1 if "H" in (m["VC"], m["VI"], m["VA"]) else 2
    if m["MSI"] == "S" or m["MSA"] == "S":
        eq4 = 0
    else:
        eq4 = 1 if "H" in (m["SC"], m["SI"], m["SA"]) else 2
    eq5 = {"A": 0, "P": 1, "U": 2}[m["E"]]
    high = (m["CR"] == "H" and m["VC"] == "H") or (m["IR"] == "H" and m["VI"] == "H") or (m["AR"] == "H" and m["VA"] == "H")
    return eq1, eq2, eq3, eq4, eq5, 0 if high else 1


def _key(levels: tuple[int, ...]) -> str:
    return "".join(str(level) for level in levels)


def _lower_scores(mv: tuple[int, int, int, int, int, int]) -> tuple[float | None, ...]:
    """The score of the next lower macro vector along EQ1, EQ2, EQ3+EQ6 (together), EQ4 and EQ5; None where there is none."""
    eq1, eq2, eq3, eq4, eq5, eq6 = mv
    if eq3 == 0 and eq6 == 0:  # two ways down: the higher-scoring one
        left, right = LOOKUP.get(_key((eq1, eq2, eq3, eq4, eq5, 1))), LOOKUP.get(_key((eq1, eq2, 1, eq4, eq5, 0)))
        eq3eq6 = None if left is None or right is None else max(left, right)
    elif eq3 == 1 and eq6 == 0:
        eq3eq6 = LOOKUP.get(_key((eq1, eq2, eq3, eq4, eq5, 1)))
    else:  # 01 -> 11, 11 -> 21; 21 has none below it
        eq3eq6 = LOOKUP.get(_key((eq1, eq2, eq3 + 1, eq4, eq5, eq6)))
    return (
        LOOKUP.get(_key((eq1 + 1, eq2, eq3, eq4, eq5, eq6))),
        LOOKUP.get(_key((eq1, eq2 + 1, eq3, eq4, eq5, eq6))),
        eq3eq6,
        LOOKUP.get(_key((eq1, eq2, eq3, eq4 + 1, eq5, eq6))),
        LOOKUP.get(_key((eq1, eq2, eq3, eq4, eq5 + 1, eq6))),
    )


def _distances(m: Mapping[str, str], mv: tuple[int, int, int, int, int, int]) -> dict[str, float]:
    """Each metric's severity distance from the first highest-severity vector of the macro vector that is at
    least as severe in every metric (the calculator's order of candidates; the last one tried if none is)."""
    eq1, eq2, eq3, eq4, eq5, eq6 = mv
    candidates = itertools.product(
        MAX_COMPOSED["eq1"][eq1],
        MAX_COMPOSED["eq2"][eq2],
        MAX_COMPOSED_EQ3_EQ6[eq3][eq6],
        MAX_COMPOSED["eq4"][eq4],
        MAX_COMPOSED["eq5"][eq5],
    )
    distances: dict[str, float] = {}
    for parts in candidates:
        highest = dict(pair.split(":") for pair in "".join(parts).rstrip("/").split("/"))
        distances = {name: levels[m[name]] - levels[highest[name]] for name, levels in _LEVELS.items()}
        if all(d >= 0 for d in distances.values()):
            break
    return distances


def _round1(value: float) -> float:
    """The calculator's ``roundToDecimalPlaces``: ``Math.round((value + 1e-6) * 10) / 10`` (half up)."""
    shifted = (value + 1e-6) * 10
    whole = math.floor(shifted)
    return (whole + 1 if shifted - whole >= 0.5 else whole) / 10


def score_v4(vector: str) -> float:
    """The score of a ``CVSS:4.0/...`` vector as FIRST's calculator gives it (0.0-10.0, one decimal); ValueError if malformed."""
    m = _effective(parse_v4(vector))
    if all(m[name] == "N" for name in ("VC", "VI", "VA", "SC", "SI", "SA")):
        return 0.0
    mv = macro_vector(m)
    value = LOOKUP[_key(mv)]
    d = _distances(m, mv)
    current = (
        d["AV"] + d["PR"] + d["UI"],
        d["AC"] + d["AT"],
        d["VC"] + d["VI"] + d["VA"] + d["CR"] + d["IR"] + d["AR"],
        d["SC"] + d["SI"] + d["SA"],
        0.0,  # EQ5 has a single metric: every vector of a level is its highest
    )
    eq1, eq2, eq3, eq4, _, eq6 = mv
    depth = (
        MAX_SEVERITY["eq1"][eq1] * _STEP,
        MAX_SEVERITY["eq2"][eq2] * _STEP,
        MAX_SEVERITY_EQ3_EQ6[eq3][eq6] * _STEP,
        MAX_SEVERITY["eq4"][eq4] * _STEP,
        1.0,
    )
    existing = 0
    total = 0.0
    for lower, distance, deep in zip(_lower_scores(mv), current, depth, strict=True):
        if lower is not None:  # the available distance to the next lower macro vector, in proportion
            existing += 1
            total += (value - lower) * (distance / deep)
    mean = total / existing if existing else 0.0
    return _round1(max(0.0, min(10.0, value - mean)))
