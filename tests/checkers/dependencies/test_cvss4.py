"""CVSS v4.0 scores against FIRST's reference calculator (the vectors and scores of
tests/data/cvss4-first.json, see tests/data/README.md) and against the `cvss` package, an
independent implementation (LGPL-3.0: a test tool only, never a dependency of gatekeeper)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.checkers.dependencies.cvss import base_score, cvss_version, score_entry, severity_of
from gatekeeper.checkers.dependencies.cvss4 import _effective, macro_vector, parse_v4, score_v4
from gatekeeper.checkers.dependencies.cvss4_table import LOOKUP
from gatekeeper.findings import Severity

FIRST = Path(__file__).resolve().parents[2] / "data" / "cvss4-first.json"


def _entries() -> list[tuple[str, float, str]]:
    return [(v, s, why) for v, s, why in json.loads(FIRST.read_text(encoding="utf-8"))["entries"]]


def test_every_score_is_the_reference_calculators() -> None:
    wrong = [(v, score_v4(v), s) for v, s, _ in _entries() if score_v4(v) != s]
    assert wrong == []


def test_the_reference_vectors_cover_every_macro_vector_band_edge_and_rounding_case() -> None:
    entries = _entries()
    levels = {"".join(map(str, macro_vector(_effective(parse_v4(v))))) for v, _, _ in entries}
    assert levels == set(LOOKUP)  # all 270 rows of FIRST's table are looked up at least once
    # no CVSS-B vector (base metrics alone) scores 0.1 or 2.5-3.9: those edges come with threat or environmental metrics
    assert {0.0, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0} <= {s for v, s, _ in entries if v.count("/") == 11}
    assert {0.1, 3.9} <= {s for _, s, _ in entries}
    assert sum(why.startswith("rounding") for _, _, why in entries) >= 8
    assert any("/E:U" in v for v, _, _ in entries) and any(v.count("/") == 32 for v, _, _ in entries)


def test_the_cvss_package_agrees_with_the_reference_scores() -> None:
    """A second implementation computes every reference vector today: the file cannot have drifted."""
    import cvss  # imported here: a test-only LGPL tool, never imported by gatekeeper

    wrong = [(v, s) for v, s, _ in _entries() if float(cvss.CVSS4(v).base_score) != s]
    assert wrong == []


@pytest.mark.parametrize(
    ("vector", "score", "severity"),
    [
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, Severity.CRITICAL),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 8.1, Severity.HIGH),  # CVSS-BT
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 7.1, Severity.HIGH),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N", 5.3, Severity.MEDIUM),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 4.8, Severity.MEDIUM),
        ("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 1.0, Severity.LOW),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0, Severity.INFO),
    ],
)  # scores by FIRST's calculator
def test_osv_entries_score_and_band_as_the_calculator_rates_them(vector: str, score: float, severity: Severity) -> None:
    assert base_score("CVSS_V4", vector) == score
    assert severity_of(score, cvss_version("CVSS_V4", vector)) is severity


def test_the_vector_decides_the_version_a_records_type_may_misstate() -> None:
    v3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N"
    v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert (cvss_version("CVSS_V4", v3), score_entry("CVSS_V4", v3)) == (3, 6.5)
    assert (cvss_version("CVSS_V3", v4), score_entry("CVSS_V3", v4)) == (4, 9.3)
    assert cvss_version("UBUNTU", "medium") == 0 and base_score("UBUNTU", "medium") is None


@pytest.mark.parametrize(
    ("vector", "reason"),
    [
        # as GHSA has published one (github/advisory-database#7448): FIRST's calculator, go-cvss
        # (OSV-Scanner, Grype) refuse it
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/SC:N/VI:H/SI:N/VA:H/SA:N", "metric VI after SC, out of"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/", "an empty metric (a doubled or trailing '/')"),
        # the calculator fills a missing trailing base metric with a default; the specification makes them all mandatory
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", "base metric SA missing"),
        ("CVSS:4.0", "base metrics AV, AC, AT, PR, UI, VC, VI, VA, SC, SI, SA missing"),
        ("CVSS:4.0/AV:L/AT:L/PR:L/UI:N/VC:N/VI:L/VA:H/SC:N/SI:N/SA:N", "AT:L is not a value of AT (N, P)"),
        ("CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "metric AV given twice"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:S", "SA:S is not a value of SA (H, L, N)"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/XY:Z", "unknown metric 'XY'"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E", "'E' is not a metric:value pair"),
        ("CVSS:4.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "it starts with 'CVSS:4.1', not 'CVSS:4.0'"),
        ("", "an empty vector"),
    ],
)
def test_malformed_vectors_are_refused_saying_why(vector: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        score_entry("CVSS_V4", vector)
    assert reason in str(caught.value)
    assert base_score("CVSS_V4", vector) is None
