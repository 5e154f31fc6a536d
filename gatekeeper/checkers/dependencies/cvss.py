"""CVSS scores from vector strings (v4.0, v3.0, v3.1 and v2), and the severity band a score falls in.

The v3 and v2 formulas are the published specifications': CVSS v3.1 section 7.1 and appendix A
(Roundup), https://www.first.org/cvss/v3.1/specification-document; v3.0 differs only in its rounding;
CVSS v2 section 3.2.1, https://www.first.org/cvss/v2/guide. CVSS v4.0 scores come from a lookup
table of macro vectors rather than a formula: ``cvss4`` computes them as FIRST's reference calculator does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from gatekeeper.checkers.dependencies.cvss4 import score_v4
from gatekeeper.findings import Severity

_V3_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_V3_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}
#: the v3 base metrics in the specification's order, each with the values it allows
_V3_BASE: Mapping[str, Mapping[str, object]] = {
    "AV": _V3_WEIGHTS["AV"], "AC": _V3_WEIGHTS["AC"], "PR": _V3_PR["U"], "UI": _V3_WEIGHTS["UI"], "S": _V3_PR,
    "C": _V3_WEIGHTS["C"], "I": _V3_WEIGHTS["I"], "A": _V3_WEIGHTS["A"],
}  # fmt: skip

_V2_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "AV": {"L": 0.395, "A": 0.646, "N": 1.0},
    "AC": {"H": 0.35, "M": 0.61, "L": 0.71},
    "Au": {"M": 0.45, "S": 0.56, "N": 0.704},
    "C": {"N": 0.0, "P": 0.275, "C": 0.660},
    "I": {"N": 0.0, "P": 0.275, "C": 0.660},
    "A": {"N": 0.0, "P": 0.275, "C": 0.660},
}


def _metrics(parts: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition(":")
        if not sep or not key or not value:
            raise ValueError(f"{part!r} is not a metric:value pair")
        if key in out:
            raise ValueError(f"metric {key} given twice")
        out[key] = value
    return out


def _base_values(m: Mapping[str, str], allowed: Mapping[str, Mapping[str, object]]) -> None:
    """ValueError naming the first base metric of ``allowed`` that ``m`` lacks or gives a value it does not allow."""
    for key, values in allowed.items():
        if key not in m:
            raise ValueError(f"base metric {key} missing")
        if m[key] not in values:
            raise ValueError(f"{key}:{m[key]} is not a value of base metric {key}")


def _roundup_31(value: float) -> float:
    """CVSS v3.1 Roundup: the smallest number with one decimal that is >= value, free of float error."""
    as_int = round(value * 100_000)
    if as_int % 10_000 == 0:
        return as_int / 100_000.0
    return (math.floor(as_int / 10_000) + 1) / 10.0


def score_v3(vector: str) -> float:
    """The base score of a ``CVSS:3.0/...`` or ``CVSS:3.1/...`` vector; ValueError if malformed."""
    head, *parts = vector.strip().split("/")
    if head not in ("CVSS:3.0", "CVSS:3.1"):
        raise ValueError(f"starts with {head!r}, not CVSS:3.0 or CVSS:3.1")
    m = _metrics(parts)
    _base_values(m, _V3_BASE)
    scope = m["S"]
    pr = _V3_PR[scope][m["PR"]]
    av, ac, ui = (_V3_WEIGHTS[k][m[k]] for k in ("AV", "AC", "UI"))
    c, i, a = (_V3_WEIGHTS[k][m[k]] for k in ("C", "I", "A"))
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    exploitability = 8.22 * av * ac * pr * ui
    if impact <= 0:
        return 0.0
    raw = impact + exploitability if scope == "U" else 1.08 * (impact + exploitability)
    raw = min(raw, 10.0)
    if head == "CVSS:3.0":
        return math.ceil(raw * 10) / 10
    return _roundup_31(raw)


def score_v2(vector: str) -> float:
    """The base score of a CVSS v2 vector (``AV:N/AC:L/Au:N/C:P/I:P/A:P``, optionally ``(...)``)."""
    text = vector.strip().strip("()")
    if text.startswith("CVSS:2.0/"):
        text = text[len("CVSS:2.0/") :]
    m = _metrics(text.split("/"))
    _base_values(m, _V2_WEIGHTS)
    av, ac, au = (_V2_WEIGHTS[k][m[k]] for k in ("AV", "AC", "Au"))
    c, i, a = (_V2_WEIGHTS[k][m[k]] for k in ("C", "I", "A"))
    impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a))
    exploitability = 20 * av * ac * au
    f_impact = 0.0 if impact == 0 else 1.176
    # round half up to one decimal, as the v2 guide's round_to_1_decimal
    return math.floor(((0.6 * impact + 0.4 * exploitability - 1.5) * f_impact) * 10 + 0.5 + 1e-9) / 10


def cvss_version(kind: str, vector: str) -> int:
    """The CVSS major version (4, 3 or 2) of an OSV ``severity`` entry, 0 when it is not a CVSS entry: the
    vector's own ``CVSS:4.``/``CVSS:3.`` prefix first (records exist whose ``type`` misstates it), else its type."""
    text = vector.strip()
    if text.startswith("CVSS:4."):
        return 4
    if text.startswith("CVSS:3."):
        return 3
    return {"CVSS_V4": 4, "CVSS_V3": 3, "CVSS_V2": 2}.get(kind, 0)


def score_entry(kind: str, vector: str) -> float:
    """The score of an OSV ``severity`` entry (``CVSS_V4``, ``CVSS_V3``, ``CVSS_V2``); ValueError saying why it has none."""
    version = cvss_version(kind, vector)
    if version == 4:
        return score_v4(vector)
    if version == 3:
        return score_v3(vector)
    if version == 2:
        return score_v2(vector)
    raise ValueError(f"{kind!r} is not a CVSS severity type")


def base_score(kind: str, vector: str) -> float | None:
    """The score of an OSV ``severity`` entry, or None when it is not computable (malformed, or not CVSS)."""
    try:
        return score_entry(kind, vector)
    except ValueError:
        return None


def severity_of(score: float, version: int = 3) -> Severity:
    """The qualitative band of a base score: critical >= 9.0, high >= 7.0, medium >= 4.0, else low.

    CVSS v4.0 uses the v3 bands; v2 has no critical band (NVD rates 7.0-10.0 high), so a v2 score
    tops out at high; a score of 0.0 (no impact) is ``info``.
    """
    if score <= 0:
        return Severity.INFO
    if score >= 9.0 and version >= 3:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW
