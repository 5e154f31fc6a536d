"""CVSS base scores against the scores NVD publishes for the same vectors."""

from __future__ import annotations

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


def test_v4_is_not_scored() -> None:
    assert base_score("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") is None


def test_bands() -> None:
    assert [severity_of(s) for s in (9.0, 8.9, 7.0, 6.9, 4.0, 3.9, 0.1, 0.0)] == [
        Severity.CRITICAL, Severity.HIGH, Severity.HIGH, Severity.MEDIUM,
        Severity.MEDIUM, Severity.LOW, Severity.LOW, Severity.INFO,
    ]  # fmt: skip
    assert severity_of(10.0, version=2) is Severity.HIGH
