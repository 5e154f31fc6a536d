"""OSV database reading and version matching (gatekeeper.checkers.dependencies.advisories) against records the tests write."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from gatekeeper.checkers.dependencies.advisories import affects, open_database
from gatekeeper.errors import ToolError
from gatekeeper.findings import Severity


def _rec(rid: str, name: str, **affected: Any) -> dict[str, Any]:
    return {"id": rid, "affected": [{"package": {"name": name, "ecosystem": "PyPI"}, **affected}]}


def _eco(*events: dict[str, str]) -> list[dict[str, Any]]:
    return [{"type": "ECOSYSTEM", "events": list(events)}]


def _write_flat(root: Path, records: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rec in records:
        (root / f"{rec['id']}.json").write_text(json.dumps(rec), encoding="utf-8")
    return root


def _ids(db_path: Path, packages: list[tuple[str, str]], cache: Path | None = None) -> set[tuple[str, str]]:
    db = open_database(db_path, cache)
    try:
        matches, unsure = db.match(packages)
    finally:
        db.close()
    assert unsure == []
    return {(m.id, m.package) for m in matches}


# (events of one ECOSYSTEM range, version, affected?) - each verdict worked out by hand from the OSV spec
RANGE_CASES = [
    ([{"introduced": "0"}, {"fixed": "2.20.0"}], "2.19.1", True),
    ([{"introduced": "0"}, {"fixed": "2.20.0"}], "2.20.0", False),
    ([{"introduced": "0"}, {"fixed": "2.20.0"}], "2.20.0rc1", True),  # a pre-release of the fix is before it
    ([{"introduced": "0"}, {"fixed": "2.20.0"}], "0.0.1", True),
    ([{"introduced": "1.0"}, {"fixed": "1.5"}], "0.9", False),
    ([{"introduced": "1.0"}, {"fixed": "1.5"}], "1.0", True),
    ([{"introduced": "1.0"}, {"fixed": "1.5"}], "1.0.0", True),  # PEP 440: 1.0 == 1.0.0
    ([{"introduced": "1.0"}, {"fixed": "1.5"}], "1.5.post1", False),
    ([{"introduced": "0"}, {"last_affected": "3.1"}], "3.1", True),
    ([{"introduced": "0"}, {"last_affected": "3.1"}], "3.1.post1", False),
    ([{"introduced": "0"}, {"last_affected": "3.1"}], "3.2", False),
    ([{"introduced": "0"}], "999.0", True),
    ([{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.3"}], "1.9", False),
    ([{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.3"}], "2.2.9", True),
    ([{"fixed": "2.3"}, {"introduced": "2.0"}, {"fixed": "1.2"}, {"introduced": "1.0"}], "1.1", True),  # unsorted events
    ([{"introduced": "1.0"}, {"limit": "1.4"}], "1.3", True),
    ([{"introduced": "1.0"}, {"limit": "1.4"}], "1.4", False),
    ([{"introduced": "1.0"}, {"limit": "*"}], "50", True),
]


@pytest.mark.parametrize(("events", "version", "expected"), RANGE_CASES)
def test_ecosystem_range_semantics(events: list[dict[str, str]], version: str, expected: bool) -> None:
    verdict, problem = affects({"ranges": _eco(*events)}, version, Version(version))
    assert (verdict, problem) == (expected, "")


def test_versions_list_git_ranges_and_semver_ranges() -> None:
    entry = {
        "versions": ["0.12.01", "2.0"],
        "ranges": [{"type": "GIT", "repo": "https://example.invalid/x", "events": [{"introduced": "0"}, {"fixed": "deadbeef"}]}],
    }
    assert affects(entry, "0.12.1", Version("0.12.1"))[0]  # PEP 440 equal to the listed 0.12.01
    assert affects(entry, "2.0.0", Version("2.0.0"))[0]
    assert not affects(entry, "1.0", Version("1.0"))[0]  # a GIT range says nothing about PyPI releases


def test_unparseable_range_bound_is_reported_not_ignored() -> None:
    verdict, problem = affects({"ranges": _eco({"introduced": "0"}, {"fixed": "not a version"})}, "1.0", Version("1.0"))
    assert not verdict and "not a PEP 440 version" in problem


def test_unparseable_bound_makes_the_package_unaudited_unless_a_version_list_covers_it(tmp_path: Path) -> None:
    db = _write_flat(
        tmp_path / "db",
        [
            _rec("BAD-1", "pkg", ranges=_eco({"introduced": "0"}, {"fixed": "next-release"})),
            _rec("OK-1", "pkg", versions=["1.0"]),
        ],
    )
    opened = open_database(db)
    matches, unsure = opened.match([("pkg", "1.0"), ("PKG", "2.0")])
    assert {(m.id, m.version) for m in matches} == {("OK-1", "1.0")}
    assert {(u.package, u.reason.split(":")[0]) for u in unsure} == {("pkg", "BAD-1"), ("PKG", "BAD-1")}


@settings(max_examples=200, deadline=None)
@given(
    bounds=st.lists(st.integers(min_value=1, max_value=60), min_size=2, max_size=8, unique=True).map(sorted),
    probe=st.integers(min_value=0, max_value=70),
    open_end=st.booleans(),
)
def test_disjoint_intervals_agree_with_plain_interval_arithmetic(bounds: list[int], probe: int, open_end: bool) -> None:
    # bounds b0 < b1 < ... become [b0, b1), [b2, b3), ...; an odd count leaves the last interval open
    cut = bounds if not open_end or len(bounds) % 2 else bounds[:-1]
    events: list[dict[str, str]] = []
    for i, b in enumerate(cut):
        events.append({"introduced" if i % 2 == 0 else "fixed": f"1.{b}"})
    expected = any(cut[i] <= probe and (i + 1 >= len(cut) or probe < cut[i + 1]) for i in range(0, len(cut), 2))
    assert affects({"ranges": _eco(*events)}, f"1.{probe}", Version(f"1.{probe}")) == (expected, "")


def test_yaml_versions_stay_text(tmp_path: Path) -> None:
    # unquoted, YAML would read 1.10 as the float 1.1, and 1.9 would then look fixed
    path = tmp_path / "db" / "vulns" / "pkg"
    path.mkdir(parents=True)
    (path / "Y-1.yaml").write_text(
        "id: Y-1\naffected:\n- package:\n    name: pkg\n    ecosystem: PyPI\n  ranges:\n  - type: ECOSYSTEM\n    events:\n"
        "    - introduced: 0\n    - fixed: 1.10\n  versions:\n  - 1.20\n",
        encoding="utf-8",
    )
    assert _ids(tmp_path / "db", [("pkg", "1.9"), ("pkg2", "1.0")]) == {("Y-1", "pkg")}
    assert _ids(tmp_path / "db", [("pkg", "1.10")]) == set()
    assert _ids(tmp_path / "db", [("pkg", "1.20")]) == {("Y-1", "pkg")}  # the versions list, as text


def test_names_are_matched_after_pep503_normalisation_in_every_spelling(tmp_path: Path) -> None:
    db = _write_flat(tmp_path / "db", [_rec("N-1", "Foo_Bar.baz", ranges=_eco({"introduced": "0"}))])
    for spelling in ("foo-bar-baz", "FOO.BAR_BAZ", "foo__bar--baz"):
        assert _ids(db, [(spelling, "1.0")]) == {("N-1", spelling)}


def test_flow_style_yaml_and_minified_json_are_indexed(tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    (db / "F-1.yaml").write_text(
        "{id: F-1, affected: [{package: {name: flowpkg, ecosystem: PyPI}, versions: ['1.0']}]}\n", encoding="utf-8"
    )
    (db / "F-2.json").write_text(json.dumps(_rec("F-2", "minpkg", versions=["2.0"]), separators=(",", ":")), encoding="utf-8")
    assert _ids(db, [("flowpkg", "1.0"), ("minpkg", "2.0")]) == {("F-1", "flowpkg"), ("F-2", "minpkg")}


def test_names_the_index_scan_cannot_read_are_never_skipped(tmp_path: Path) -> None:
    # valid OSV records whose package name the one-line scan cannot read: on the next line (with
    # a credit's name the scan does read), a folded block scalar, a JSON escape
    db = tmp_path / "db"
    db.mkdir()
    (db / "H-1.yaml").write_text(
        "id: H-1\naffected:\n- package:\n    ecosystem: PyPI\n    name:\n      nextline\n  versions: ['1.0']\n"
        "credits:\n- name: Someone\n",
        encoding="utf-8",
    )
    (db / "H-2.yaml").write_text(
        "id: H-2\naffected:\n- package:\n    ecosystem: PyPI\n    name: >-\n      folded\n  versions: ['1.0']\n",
        encoding="utf-8",
    )
    (db / "H-3.json").write_text(
        '{"id": "H-3", "affected": [{"package": {"ecosystem": "PyPI", "name": "esc\\u0061ped"}, "versions": ["1.0"]}]}',
        encoding="utf-8",
    )
    wanted = [("nextline", "1.0"), ("folded", "1.0"), ("escaped", "1.0")]
    assert _ids(db, wanted) == {("H-1", "nextline"), ("H-2", "folded"), ("H-3", "escaped")}
    assert _ids(db, wanted, tmp_path / "cache") == _ids(db, wanted, tmp_path / "cache")  # the cached index too


def test_an_empty_quoted_name_in_a_records_text_is_scanned_past(tmp_path: Path) -> None:
    # a proof of concept in a record's details, as PYSEC-2026-316 (cobbler) of the PyPA database
    # carries one: "'username': ''" reads to the scan as a name that is empty
    path = tmp_path / "db" / "vulns" / "cobbler"
    path.mkdir(parents=True)
    (path / "E-1.yaml").write_text(
        "id: E-1\naffected:\n- package:\n    name: cobbler\n    ecosystem: PyPI\n  versions: ['3.3.6']\n"
        "details: \"params = { 'port': '443', 'username': '', 'password': -1 }\"\n",
        encoding="utf-8",
    )
    assert _ids(tmp_path / "db", [("cobbler", "3.3.6")]) == {("E-1", "cobbler")}


def test_records_that_alias_each_other_collapse_into_one_match(tmp_path: Path) -> None:
    recs = [
        {**_rec("PYSEC-1", "pkg", ranges=_eco({"introduced": "0"}, {"fixed": "2.0"})), "aliases": ["CVE-1", "GHSA-1"]},
        {**_rec("GHSA-1", "pkg", ranges=_eco({"introduced": "0"}, {"fixed": "2.0.1"})), "aliases": ["CVE-1"]},
        {**_rec("PYSEC-2", "pkg", versions=["1.0"]), "aliases": ["CVE-2"]},
    ]
    db = open_database(_write_flat(tmp_path / "db", recs))
    matches, _ = db.match([("pkg", "1.0")])
    assert db.records_read == 3
    by_id = {m.id: m for m in matches}
    assert set(by_id) == {"GHSA-1", "PYSEC-2"} or set(by_id) == {"PYSEC-1", "PYSEC-2"}
    merged = next(m for m in matches if m.id != "PYSEC-2")
    assert {merged.id, *merged.aliases} == {"PYSEC-1", "GHSA-1", "CVE-1"}
    assert merged.fixed_versions == ("2.0", "2.0.1")


def test_severity_sources(tmp_path: Path) -> None:
    recs = [
        {
            **_rec("S-V3", "a", versions=["1"]),
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
        },
        {**_rec("S-V2", "a", versions=["1"]), "severity": [{"type": "CVSS_V2", "score": "AV:N/AC:M/Au:N/C:N/I:P/A:N"}]},
        {
            **_rec("S-V4", "a", versions=["1"]),
            "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
        },
        {  # v4 alone, medium (FIRST's calculator: 5.3)
            **_rec("S-V4-MED", "a", versions=["1"]),
            "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"}],
            "database_specific": {"severity": "CRITICAL"},
        },
        {  # v3 medium (4.3) and v4 high (7.1): the higher band, as OSV-Scanner takes the highest score
            **_rec("S-BOTH", "a", versions=["1"]),
            "severity": [
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:L"},
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"},
            ],
        },
        {  # v3 critical (9.8) and v4 high (8.7): still the higher band
            **_rec("S-V3-WINS", "a", versions=["1"]),
            "severity": [
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            ],
        },
        {  # a v4 vector out of order next to a medium v3 one: it may be critical, so it counts as such
            **_rec("S-V4-BAD", "a", versions=["1"]),
            "severity": [
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:L"},
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/SC:N/VI:H/SI:N/VA:H/SA:N"},
            ],
        },
        {  # the same next to a critical v3 one: critical either way, with the score that says so
            **_rec("S-V4-BAD-V3-CRIT", "a", versions=["1"]),
            "severity": [
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/SC:N/VI:H/SI:N/VA:H/SA:N"},
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            ],
        },
        {  # typed CVSS_V4, but a v3.1 vector: scored as what the vector is
            **_rec("S-MISTYPED", "a", versions=["1"]),
            "severity": [{"type": "CVSS_V4", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N"}],
        },
        {**_rec("S-LBL", "a", versions=["1"]), "database_specific": {"severity": "LOW"}},
        {  # a malformed v3 vector: not skipped for the label, counted as critical as a malformed v4 one
            **_rec("S-V3-BAD", "a", versions=["1"]),
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H"}],
            "database_specific": {"severity": "LOW"},
        },
        {  # a malformed v2 vector next to a medium v3 one: the top of the v2 scale, high
            **_rec("S-V2-BAD", "a", versions=["1"]),
            "severity": [
                {"type": "CVSS_V2", "score": "AV:Q/AC:L/Au:N/C:P/I:P/A:P"},
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:L"},
            ],
        },
        {  # the same next to a high v3 one: the scored entry, with its score, says as much
            **_rec("S-V2-BAD-V3-HIGH", "a", versions=["1"]),
            "severity": [
                {"type": "CVSS_V2", "score": "AV:Q/AC:L/Au:N/C:P/I:P/A:P"},
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"},
            ],
        },
        {
            "id": "S-PKG",
            "affected": [
                {
                    "package": {"name": "a", "ecosystem": "PyPI"},
                    "versions": ["1"],
                    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N"}],
                }
            ],
        },
    ]
    db = open_database(_write_flat(tmp_path / "db", recs))
    got = {m.id: (m.severity, m.score, m.severity_source.split(" ")[0]) for m in db.match([("a", "1")])[0]}
    assert got == {
        "S-V3": (Severity.HIGH, 7.5, "CVSS_V3"),
        "S-V2": (Severity.MEDIUM, 4.3, "CVSS_V2"),
        "S-V4": (Severity.CRITICAL, 9.3, "CVSS_V4"),
        "S-V4-MED": (Severity.MEDIUM, 5.3, "CVSS_V4"),  # a CVSS vector before a database label
        "S-BOTH": (Severity.HIGH, 7.1, "CVSS_V4"),
        "S-V3-WINS": (Severity.CRITICAL, 9.8, "CVSS_V3"),
        "S-V4-BAD": (Severity.CRITICAL, None, "CVSS_V4"),
        "S-V4-BAD-V3-CRIT": (Severity.CRITICAL, 9.8, "CVSS_V3"),
        "S-MISTYPED": (Severity.MEDIUM, 6.5, "CVSS_V4"),
        "S-LBL": (Severity.LOW, None, "label"),
        "S-V3-BAD": (Severity.CRITICAL, None, "CVSS_V3"),
        "S-V2-BAD": (Severity.HIGH, None, "CVSS_V2"),
        "S-V2-BAD-V3-HIGH": (Severity.HIGH, 7.5, "CVSS_V3"),
        "S-PKG": (Severity.LOW, 2.8, "CVSS_V3"),
    }
    bad = next(m for m in db.match([("a", "1")])[0] if m.id == "S-V4-BAD")
    assert bad.severity_source == (
        "CVSS_V4 CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/SC:N/VI:H/SI:N/VA:H/SA:N"
        " (not scored: metric VI after SC, out of the specification's order; counted as critical)"
    )
    sources = {m.id: m.severity_source for m in db.match([("a", "1")])[0]}
    assert sources["S-V3-BAD"].endswith("(not scored: base metric A missing; counted as critical)")
    assert sources["S-V2-BAD"].endswith("(not scored: AV:Q is not a value of base metric AV; counted as high)")


def test_zip_of_pypa_layout_and_non_record_files(tmp_path: Path) -> None:
    target = tmp_path / "db.zip"
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr(
            "advisory-database-main/vulns/pkg/Z-1.yaml",
            "id: Z-1\naffected:\n- package: {name: pkg, ecosystem: PyPI}\n  versions: ['1.0']\n",
        )
        zf.writestr("advisory-database-main/README.md", "not a record")
        zf.writestr(
            "advisory-database-main/schema.json", json.dumps({"type": "object", "properties": {"name": {"type": "string"}}})
        )
    db = open_database(target)
    assert db.layout == "zip"
    assert {(m.id, m.package) for m in db.match([("pkg", "1.0")])[0]} == {("Z-1", "pkg")}
    db.close()


def test_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ToolError, match="neither a directory nor a zip"):
        open_database(tmp_path / "file.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ToolError, match="holds no"):
        open_database(tmp_path / "empty")


def test_index_is_cached_and_invalidated_when_a_file_changes(tmp_path: Path) -> None:
    db = _write_flat(tmp_path / "db", [_rec("C-1", "pkg", versions=["1.0"])])
    cache = tmp_path / "cache"
    first = open_database(db, cache)
    assert not first.index_cached
    second = open_database(db, cache)
    assert second.index_cached
    assert {m.id for m in second.match([("pkg", "1.0")])[0]} == {"C-1"}
    # a new record for another package must be seen: the cached index no longer applies
    _write_flat(db, [_rec("C-2", "other", versions=["3.0"])])
    third = open_database(db, cache)
    assert not third.index_cached
    assert {m.id for m in third.match([("other", "3.0")])[0]} == {"C-2"}
    # an edited record is parsed again, not served from the parsed-record cache
    _write_flat(db, [_rec("C-1", "pkg", versions=["1.0.1", "1.0.2"])])
    fourth = open_database(db, cache)
    assert {m.id for m in fourth.match([("pkg", "1.0")])[0]} == set()
    assert {m.id for m in fourth.match([("pkg", "1.0.2")])[0]} == {"C-1"}


def test_records_dated_ahead_are_judged_against_each_run_s_clock_even_from_a_cached_index(tmp_path: Path) -> None:
    """The index keeps the newest dates, not a verdict: a record dated ahead of one run's clock is left
    out of the as-of time (and named), and counts once a later run's clock has passed it."""
    recs = [
        {**_rec("D-OLD", "pkg", versions=["1"]), "modified": "2024-01-01T00:00:00Z"},
        {**_rec("D-NEW", "pkg", versions=["1"]), "modified": "2024-03-01T12:00:00.5Z"},
        {**_rec("D-AHEAD", "pkg", versions=["1"]), "modified": "2027-07-09T00:00:00Z"},
    ]
    db_path, cache = _write_flat(tmp_path / "db", recs), tmp_path / "cache"
    then = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    first = open_database(db_path, cache, now=then)
    assert (first.as_of, first.dated_records) == (dt.datetime(2024, 3, 1, 12, 0, 0, 500000, tzinfo=dt.timezone.utc), 3)
    assert first.dated_ahead == (("D-AHEAD.json", "2027-07-09T00:00:00Z"),)
    # within FUTURE_SKEW of the clock a record counts (clock drift); beyond it, it does not
    near = open_database(db_path, cache, now=dt.datetime(2027, 7, 8, 23, 30, tzinfo=dt.timezone.utc))
    assert near.index_cached and near.dated_ahead == ()
    assert near.as_of == dt.datetime(2027, 7, 9, tzinfo=dt.timezone.utc)
    assert open_database(db_path, cache, now=dt.datetime(2027, 7, 8, 22, 59, tzinfo=dt.timezone.utc)).dated_ahead != ()


def test_more_records_dated_ahead_than_the_index_keeps_leave_the_age_unknown(tmp_path: Path) -> None:
    """The index keeps the NEWEST_KEPT newest dates: when every one of them is ahead of the clock, the
    as-of time is unknown and judging the age is an error that says so, never a pass."""
    from gatekeeper.checkers.dependencies.advisories import NEWEST_KEPT
    from gatekeeper.checkers.dependencies.offline import judge_age

    recs = [
        {**_rec(f"F-{i}", "pkg", versions=["1"]), "modified": f"2030-01-01T00:{i // 60:02d}:{i % 60:02d}Z"}
        for i in range(NEWEST_KEPT)
    ]
    recs.append({**_rec("F-PAST", "pkg", versions=["1"]), "modified": "2024-01-01T00:00:00Z"})
    db = open_database(_write_flat(tmp_path / "db", recs), now=dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc))
    assert db.as_of is None and len(db.dated_ahead) == NEWEST_KEPT and db.dated_records == NEWEST_KEPT + 1
    with pytest.raises(ToolError) as caught:
        judge_age(db, "update it", 7, {})
    assert (
        f"{NEWEST_KEPT}+ records are dated after this run's clock (F-{NEWEST_KEPT - 1}.json: modified 2030-01-01T00:04:15Z"
        in str(caught.value)
    )
    assert f"as are the {NEWEST_KEPT} newest of its {NEWEST_KEPT + 1} dated records" in str(caught.value)
    assert "nothing was audited" in str(caught.value)


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tmp_path: Path) -> None:
    db = _write_flat(tmp_path / "db", [_rec("E-1", "pkg", versions=["1.0"]), _rec("E-2", "other", versions=["5.0"])])
    cache = tmp_path / "cache"
    assert {m.id for m in open_database(db, cache).match([("pkg", "1.0")])[0]} == {"E-1"}
    assert open_database(db, cache).index_cached
    # the same number of bytes, the mtime set back: only the ctime (which no utime sets) tells
    record = db / "E-1.json"
    before = record.stat()
    record.write_text(record.read_text().replace('"1.0"', '"2.0"'), encoding="utf-8")
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (record.stat().st_size, record.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    again = open_database(db, cache)
    assert not again.index_cached
    assert {m.id for m in again.match([("pkg", "1.0")])[0]} == set()  # not the cached parse of the old record
    assert {m.id for m in again.match([("pkg", "2.0")])[0]} == {"E-1"}


def test_large_database_reads_only_records_of_wanted_names_and_is_fast(
    tmp_path: Path, record_timing: Callable[[str, float], None]
) -> None:
    # 4,000 records over 2,000 package names; an environment of 300 of those names
    db = tmp_path / "db"
    for n in range(2000):
        folder = db / "vulns" / f"pkg-{n}"
        folder.mkdir(parents=True)
        for k in range(2):
            (folder / f"GEN-{n}-{k}.yaml").write_text(
                f"id: GEN-{n}-{k}\naffected:\n- package:\n    name: pkg-{n}\n    ecosystem: PyPI\n"
                "  ranges:\n  - type: ECOSYSTEM\n"
                f"    events:\n    - introduced: '0'\n    - fixed: '{k + 1}.0'\n",
                encoding="utf-8",
            )
    wanted = [(f"PKG_{n}", "1.5") for n in range(0, 2000, 7)][:300]
    t0 = time.perf_counter()
    opened = open_database(db, tmp_path / "cache")
    matches, _ = opened.match(wanted)
    cold = time.perf_counter() - t0
    assert opened.records_read == 2 * len(wanted)
    # at 1.5, GEN-n-0 (fixed 1.0) is fixed and GEN-n-1 (fixed 2.0) is not
    assert {m.id for m in matches} == {f"GEN-{name[4:]}-1" for name, _ in wanted}
    t0 = time.perf_counter()
    again = open_database(db, tmp_path / "cache")
    again.match(wanted)
    warm = time.perf_counter() - t0
    assert again.index_cached and again.records_read == opened.records_read
    record_timing("OSV database of 4,000 records, 300 wanted: cold", cold)  # typically ~0.3 s
    record_timing("OSV database of 4,000 records, 300 wanted: index cached", warm)  # typically ~0.1 s


_YAML_HEAD = "id: B-1\naffected:\n- package: {name: pkg, ecosystem: PyPI}\n  versions: ['1.0']\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("database_specific: " + "[" * 65 + "]" * 65 + "\n", "nested more than 64 levels deep"),
        ("database_specific: {score: !!float .nan}\n", "the number nan is out of range"),
        ("database_specific: {score: !!float 1e300}\n", "the number 1e+300 is out of range"),
        (f"database_specific: {{count: !!int {'9' * 400}}}\n", "an integer of 400 digits"),
        (  # a billion laughs: nine levels of ten aliases each
            "database_specific:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"  a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n" for n in range(1, 9)),
            "values (aliases repeating parts of it)",
        ),
        ("database_specific: &self {again: *self}\n", "nested more than 64 levels deep"),
    ],
    ids=["deep", "nan", "1e300", "400-digits", "alias-bomb", "self-reference"],
)
def test_yaml_records_meet_the_bounds_json_records_do(tmp_path: Path, extra: str, message: str) -> None:
    db = tmp_path / "db"
    db.mkdir()
    (db / "B-1.yaml").write_text(_YAML_HEAD + extra, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ToolError, match=re.escape(message)) as caught:
        _ids(db, [("pkg", "1.0")], tmp_path / "cache")
    assert "advisory record B-1.yaml" in str(caught.value) and time.monotonic() - started < 10
    # the same record within the bounds is read: 64 levels, a plain number, a few aliases
    (db / "B-1.yaml").write_text(
        _YAML_HEAD + "database_specific: {deep: " + "[" * 62 + "]" * 62 + ", score: !!float 9.8, a: &a [1, 2], b: [*a, *a]}\n",
        encoding="utf-8",
    )
    assert _ids(db, [("pkg", "1.0")], tmp_path / "cache") == {("B-1", "pkg")}


def test_a_record_file_beyond_the_size_limit_is_an_error_naming_it(tmp_path: Path) -> None:
    from gatekeeper.checkers.dependencies.advisories import MAX_RECORD_BYTES

    db = _write_flat(tmp_path / "db", [_rec("PYSEC-1", "demo", versions=["1.0"])])
    big = db / "PYSEC-2.json"
    big.write_text(json.dumps(_rec("PYSEC-2", "other", versions=["1.0"])) + " " * MAX_RECORD_BYTES, encoding="utf-8")
    with pytest.raises(ToolError, match=re.escape(f"advisory record {big} is larger than {MAX_RECORD_BYTES} bytes")):
        open_database(db)
