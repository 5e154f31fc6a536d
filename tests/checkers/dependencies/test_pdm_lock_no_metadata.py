"""A PDM lock written without ``inherit_metadata`` keeps markers only on its dependency edges: what
counts for a target is what ``pdm sync`` installs there."""

from __future__ import annotations

import shutil
from pathlib import Path

from packaging.utils import canonicalize_name

from gatekeeper.checkers.lockfiles import pdm
from gatekeeper.checkers.lockfiles.model import Selection, target_environment

DATA = Path(__file__).parents[2] / "data" / "pdm-lock-no-metadata"


def synced() -> set[str]:
    """What PDM 2.29.4's ``pdm sync --dry-run -G dev`` installs with Python 3.11 on Linux."""
    lines = (DATA / "sync-dry-run-3.11-linux.txt").read_text(encoding="utf-8").splitlines()
    return {canonicalize_name(line.split()[1]) for line in lines if line.strip().startswith("- ")}


def read(tmp_path: Path, python: str, platform: str, pyproject: bool = True) -> set[str]:
    root = tmp_path / f"p-{python}-{platform}-{pyproject}"
    root.mkdir()
    shutil.copy(DATA / "pdm.lock", root)
    if pyproject:
        shutil.copy(DATA / "pyproject.toml", root)
    lock = pdm.read(root / "pdm.lock", Selection(environment=target_environment(python, platform)))
    assert "not locked with inherit_metadata" in lock.notes[0]
    return {p.key for p in lock.packages}


def test_what_counts_is_what_pdm_sync_installs(tmp_path: Path) -> None:
    """Counting all nine entries made colorama, exceptiongroup, tomli and typing-extensions locked
    packages "not installed" in an environment pdm sync had made from this lock."""
    assert read(tmp_path, "3.11", "linux") == synced() == {"click", "iniconfig", "packaging", "pluggy", "pytest"}


def test_the_edges_markers_decide_on_other_targets(tmp_path: Path) -> None:
    """pytest's edge to colorama holds on win32, its edges to exceptiongroup and tomli before 3.11,
    and exceptiongroup's to typing-extensions then: as the lock's own dependency lines say."""
    assert read(tmp_path, "3.11", "win32") == synced() | {"colorama"}
    assert read(tmp_path, "3.10", "linux") == synced() | {"exceptiongroup", "tomli", "typing-extensions"}


def test_without_the_projects_pyproject_every_package_counts(tmp_path: Path) -> None:
    assert len(read(tmp_path, "3.11", "linux", pyproject=False)) == 9
