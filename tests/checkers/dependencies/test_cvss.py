"""CVSS base scores against the scores NVD publishes for the same vectors, and against the `cvss`
package for every base vector (a golden file, recomputed by the test)."""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

import pytest

from gatekeeper.checkers.dependencies.cvss import base_score, score_v2, score_v3, severity_of
from gatekeeper.findings import Severity

# (vector, base score as published by NVD for a CVE carrying that vector)
V3 = [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),  # CVE-2021-44228 (log4shell)
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),  # the usual reflected XSS
    ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N", 6.8),  # CVE-2020-28498 (elliptic, v3.0)
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N", 2.8),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N", 5.3),
    ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
]
V2 = [
    ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
    ("AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3),
    ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0),
    ("AV:L/AC:L/Au:N/C:P/I:N/A:N", 2.1),
]


@pytest.mark.parametrize(("vector", "score"), V3)
def test_v3_base_scores(vector: str, score: float) -> None:
    assert score_v3(vector) == score
    assert base_score("CVSS_V3", vector) == score


@pytest.mark.parametrize(("vector", "score"), V2)
def test_v2_base_scores(vector: str, score: float) -> None:
    assert score_v2(vector) == score
    assert base_score("CVSS_V2", f"({vector})") == score


@pytest.mark.parametrize(
    "vector",
    [
        "CVSS:3.1/AV:N/AC:L",
        "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:2.9/AV:N",
        "garbage",
        "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    ],
)
def test_malformed_vectors_give_no_score(vector: str) -> None:
    assert base_score("CVSS_V3", vector) is None


def test_bands() -> None:
    assert [severity_of(s) for s in (9.0, 8.9, 7.0, 6.9, 4.0, 3.9, 0.1, 0.0)] == [
        Severity.CRITICAL, Severity.HIGH, Severity.HIGH, Severity.MEDIUM,
        Severity.MEDIUM, Severity.LOW, Severity.LOW, Severity.INFO,
    ]  # fmt: skip
    assert severity_of(10.0, version=2) is Severity.HIGH


# --------------------------------------------------------------------------- golden file, against the cvss package
#
# tests/data/cvss-golden.json holds vectors with the base score and severity the `cvss` package
# (https://github.com/RedHatProductSecurity/cvss, LGPL-3.0: a test tool only, never a dependency
# of gatekeeper) gives them. Regenerate it with:
#
#     .venv/bin/python -m tests.checkers.dependencies.test_cvss > tests/data/cvss-golden.json
#
# The tests below check gatekeeper against the file AND recompute every entry with the installed
# `cvss` package, so neither the file nor the reference can drift unnoticed.

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "cvss-golden.json"
_V3_VALUES = {"AV": "NALP", "AC": "LH", "PR": "NLH", "UI": "NR", "S": "UC", "C": "HLN", "I": "HLN", "A": "HLN"}
_V2_VALUES = {"AV": "LAN", "AC": "HML", "Au": "MSN", "C": "NPC", "I": "NPC", "A": "NPC"}
#: the band edges and extremes each version's golden set must cover
_EDGES = (0.0, 0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0)
#: vectors in unusual but valid spellings, and malformed ones (no score from either side)
_ODD_VALID = [
    ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C"),  # temporal metrics: base score unchanged
    ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CR:H/MAV:L"),  # environmental metrics
    ("CVSS_V3", "CVSS:3.1/S:C/AV:N/AC:L/PR:L/UI:N/C:L/I:L/A:N"),  # metrics out of order
    ("CVSS_V3", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:U"),
    ("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P/E:F/RL:OF/RC:C"),  # v2 temporal metrics
]
_MALFORMED = [
    ("CVSS_V3", "CVSS:3.1/AV:N/AC:L"),
    ("CVSS_V3", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:X/C:H/I:H/A:H"),
    ("CVSS_V3", "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    ("CVSS_V3", "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    ("CVSS_V3", ""),
    ("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P"),
    ("CVSS_V2", "AV:Q/AC:L/Au:N/C:P/I:P/A:P"),
]


def _all_v3(version: str) -> list[str]:
    return [
        f"CVSS:{version}/" + "/".join(f"{k}:{v}" for k, v in zip(_V3_VALUES, combo, strict=True))
        for combo in itertools.product(*_V3_VALUES.values())
    ]


def _all_v2() -> list[str]:
    return [
        "/".join(f"{k}:{v}" for k, v in zip(_V2_VALUES, combo, strict=True)) for combo in itertools.product(*_V2_VALUES.values())
    ]


def _reference(kind: str, vector: str) -> tuple[float | None, str | None]:
    """(base score, severity) by the `cvss` package; (None, None) when it rejects the vector.
    v2 has no severity in the package: NVD's v2 bands (low < 4.0 <= medium < 7.0 <= high), and
    0.0 (no impact at all) is "None" as in v3."""
    import cvss  # imported here: a test-only LGPL tool, never imported by gatekeeper

    try:
        if kind == "CVSS_V3":
            c3 = cvss.CVSS3(vector)
            return float(c3.base_score), str(c3.severities()[0])
        score = float(cvss.CVSS2(vector).base_score)
    except cvss.CVSSError:
        return None, None
    return score, "None" if score == 0 else "Low" if score < 4.0 else "Medium" if score < 7.0 else "High"


def _golden_vectors() -> list[tuple[str, str]]:
    """Every band edge of each version (up to 4 vectors per edge), every vector whose v3.0 and v3.1
    scores differ (the rounding rules), a seeded sample of the rest, the odd spellings and the malformed."""
    rng = random.Random(20261201)
    chosen: list[tuple[str, str]] = []
    groups = {"3.1": _all_v3("3.1"), "3.0": _all_v3("3.0"), "2": _all_v2()}
    for version, vectors in groups.items():
        kind = "CVSS_V2" if version == "2" else "CVSS_V3"
        by_score: dict[float | None, list[str]] = {}
        for vector in vectors:
            by_score.setdefault(_reference(kind, vector)[0], []).append(vector)
        for edge in _EDGES:
            chosen += [(kind, v) for v in by_score.get(edge, [])[:4]]
        chosen += [(kind, v) for v in rng.sample(vectors, 150 if version != "2" else 100)]
    for v31 in groups["3.1"]:
        v30 = "CVSS:3.0/" + v31.removeprefix("CVSS:3.1/")
        if _reference("CVSS_V3", v31)[0] != _reference("CVSS_V3", v30)[0]:
            chosen += [("CVSS_V3", v31), ("CVSS_V3", v30)]
    chosen += _ODD_VALID + _MALFORMED
    return list(dict.fromkeys(chosen))


def _golden_text() -> str:
    import importlib.metadata

    entries = [[kind, vector, *_reference(kind, vector)] for kind, vector in _golden_vectors()]
    lines = ",\n".join("    " + json.dumps(e) for e in entries)
    return (
        "{\n"
        f'  "generated_by": "python -m tests.checkers.dependencies.test_cvss (cvss {importlib.metadata.version("cvss")})",\n'
        '  "fields": ["OSV severity type", "vector", "base score (null: rejected)", "severity (null: rejected)"],\n'
        f'  "entries": [\n{lines}\n  ]\n}}\n'
    )


def _golden() -> list[tuple[str, str, float | None, str | None]]:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return [tuple(e) for e in data["entries"]]


_SEVERITY_NAMES = {
    "None": Severity.INFO,
    "Low": Severity.LOW,
    "Medium": Severity.MEDIUM,
    "High": Severity.HIGH,
    "Critical": Severity.CRITICAL,
}


def test_golden_file_covers_every_band_edge_both_v3_roundings_v2_and_malformed_vectors() -> None:
    entries = _golden()
    assert len(entries) > 400
    # no base vector of any version scores 0.1, and no v2 base vector scores 3.9 or 8.9
    reachable = {"CVSS:3.1/": set(_EDGES) - {0.1}, "CVSS:3.0/": set(_EDGES) - {0.1}, "AV:": set(_EDGES) - {0.1, 3.9, 8.9}}
    for head, edges in reachable.items():
        scores = {s for _, v, s, _ in entries if v.startswith(head)}
        assert edges <= scores, (head, edges - scores)
    assert sum(1 for e in entries if e[2] is None) >= len(_MALFORMED)


def test_golden_file_is_what_the_cvss_package_computes_today() -> None:
    for kind, vector, score, severity in _golden():
        assert _reference(kind, vector) == (score, severity), vector


def test_gatekeeper_scores_and_bands_match_the_golden_file() -> None:
    wrong = []
    for kind, vector, score, severity in _golden():
        ours = base_score(kind, vector)
        band = None if ours is None else severity_of(ours, version=2 if kind == "CVSS_V2" else 3)
        expected_band = None if severity is None else _SEVERITY_NAMES[severity]
        if (ours, band) != (score, expected_band):
            wrong.append((vector, (ours, band), (score, expected_band)))
    assert wrong == []


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_every_v3_base_vector_scores_as_the_cvss_package_does(version: str) -> None:
    """All 2,592 base vectors of the version, not a sample."""
    wrong = [
        (v, score_v3(v), _reference("CVSS_V3", v)[0]) for v in _all_v3(version) if score_v3(v) != _reference("CVSS_V3", v)[0]
    ]
    assert wrong == []


def test_every_v2_base_vector_scores_as_the_cvss_package_does() -> None:
    wrong = [(v, score_v2(v), _reference("CVSS_V2", v)[0]) for v in _all_v2() if score_v2(v) != _reference("CVSS_V2", v)[0]]
    assert wrong == []


if __name__ == "__main__":
    sys.stdout.write(_golden_text())
