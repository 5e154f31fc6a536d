"""The OSV evaluation rules on real PyPA advisory records (tests/data/osv-pypa, CC-BY 4.0), and on
variants of them a database could publish: the verdict must follow the OSV schema's evaluation
algorithm, and whatever the algorithm cannot decide must leave the package unaudited, never clean."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gatekeeper.checkers.dependencies.advisories import open_database

RECORDS = Path(__file__).resolve().parents[2] / "data" / "osv-pypa"


def _db(tmp_path: Path, *files: str) -> Path:
    """A database folder holding copies of the named records (``package/ID.yaml``)."""
    root = tmp_path / "db"
    for name in files:
        (root / "vulns" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(RECORDS / "vulns" / name, root / "vulns" / name)
    return root


def _edit(root: Path, name: str, pattern: str, replacement: str) -> None:
    path = root / "vulns" / name
    text, count = re.subn(pattern, replacement, path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert count, f"{pattern!r} not found in {name}"
    path.write_text(text, encoding="utf-8")


def _audit(root: Path, packages: list[tuple[str, str]]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """({(advisory id, version) matched}, {(package, advisory id) left undecided})."""
    db = open_database(root)
    try:
        matches, unsure = db.match(packages)
    finally:
        db.close()
    return {(m.id, m.version) for m in matches}, {(u.package, u.reason.split(":")[0]) for u in unsure}


def test_a_versions_list_without_ranges_matches_the_listed_release_alone(tmp_path: Path) -> None:
    root = _db(tmp_path, "gratient/PYSEC-2024-1.yaml")
    probes = ["0.5", "0.5.0", "0.4", "0.5.post1", "0.5+local", "0.6"]
    found, unsure = _audit(root, [("gratient", v) for v in probes])
    # 0.5.0 is 0.5 under PEP 440, and a local build of 0.5 is 0.5 (PEP 440: ==0.5 matches 0.5+local)
    assert found == {("PYSEC-2024-1", "0.5"), ("PYSEC-2024-1", "0.5.0"), ("PYSEC-2024-1", "0.5+local")}
    assert unsure == set()


def test_a_semver_range_is_evaluated_like_an_ecosystem_range(tmp_path: Path) -> None:
    # the OSV algorithm evaluates every range: a database typing a PyPI range SEMVER still means it
    name = "authlib/PYSEC-2024-52.yaml"
    root = _db(tmp_path, name)
    _edit(root, name, r"type: ECOSYSTEM", "type: SEMVER")
    _edit(root, name, r"^  versions:\n(?:  - .*\n)+", "")  # the range alone decides
    found, unsure = _audit(root, [("Authlib", v) for v in ("1.3.0", "1.0.0rc1", "0.1", "1.3.1", "1.4.0")])
    assert found == {("PYSEC-2024-52", "1.3.0"), ("PYSEC-2024-52", "1.0.0rc1"), ("PYSEC-2024-52", "0.1")}
    assert unsure == set()


def test_an_entry_with_only_a_git_range_and_no_versions_leaves_the_package_unaudited(tmp_path: Path) -> None:
    # commits cannot be placed among releases offline: clearing 0.1.0 would be a guess
    name = "binderhub/PYSEC-2021-371.yaml"
    root = _db(tmp_path, name)
    _edit(root, name, r"^  - type: ECOSYSTEM\n(?:    .*\n)+", "")
    found, unsure = _audit(root, [("binderhub", "0.1.0")])
    assert found == set()
    assert unsure == {("binderhub", "PYSEC-2021-371")}


def test_an_ecosystem_bound_that_is_not_pep_440_leaves_the_package_unaudited(tmp_path: Path) -> None:
    # the real record: its fix "0.2.0-n653" has no PEP 440 reading, so no release can be placed
    root = _db(tmp_path, "binderhub/PYSEC-2021-371.yaml")
    found, unsure = _audit(root, [("binderhub", "0.1.0"), ("binderhub", "1.0.0")])
    assert found == set()
    assert unsure == {("binderhub", "PYSEC-2021-371")}


@pytest.mark.parametrize("withdrawn", [True, False])
def test_an_entry_without_version_data_is_undecided_unless_the_record_is_withdrawn(tmp_path: Path, withdrawn: bool) -> None:
    name = "loguru/PYSEC-2022-15.yaml"
    root = _db(tmp_path, name)
    if not withdrawn:
        _edit(root, name, r"^withdrawn: .*\n", "")
    found, unsure = _audit(root, [("loguru", "0.5.3")])
    assert found == set()
    assert unsure == (set() if withdrawn else {("loguru", "PYSEC-2022-15")})


@pytest.mark.parametrize("with_versions_list", [True, False])
def test_a_local_build_of_the_last_affected_release_is_affected(tmp_path: Path, with_versions_list: bool) -> None:
    # py "through 1.11.0": 1.11.0+deb1 is 1.11.0 rebuilt, not a later release
    name = "py/PYSEC-2022-42969.yaml"
    root = _db(tmp_path, name)
    if not with_versions_list:
        _edit(root, name, r"^  versions:\n(?:  - .*\n)+", "")
    probes = ["1.11.0", "1.11.0+deb1", "1.10.0+local", "1.11.0.post1", "1.11.1"]
    found, unsure = _audit(root, [("py", v) for v in probes])
    assert found == {("PYSEC-2022-42969", v) for v in ("1.11.0", "1.11.0+deb1", "1.10.0+local")}
    assert unsure == set()
