"""A lock written by Poetry 1.x (lock-version 2.0) keeps markers only on its dependency edges: what
counts for a target is what ``poetry export`` writes with markers that hold there."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gatekeeper.checkers.lockfiles import poetry
from gatekeeper.checkers.lockfiles.model import Selection, target_environment

DATA = Path(__file__).parents[2] / "data" / "poetry-lock-2.0"


def exported(environment: Mapping[str, str]) -> set[str]:
    """The packages Poetry 1.8.5's export of the lock installs in ``environment``."""
    names = set()
    for line in (DATA / "export-with-dev.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(dict(environment)):
                names.add(canonicalize_name(requirement.name))
    return names


def project(tmp_path: Path, pyproject: bool = True) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    shutil.copy(DATA / "poetry.lock", root)
    if pyproject:
        shutil.copy(DATA / "pyproject.toml", root)
    return root


@pytest.mark.parametrize(("python", "platform"), [("3.11", "linux"), ("3.10", "linux"), ("3.11", "win32"), ("3.8", "darwin")])
def test_what_counts_is_what_poetry_exports_for_the_target(tmp_path: Path, python: str, platform: str) -> None:
    """pytest needs colorama on Windows only, exceptiongroup and tomli before 3.11; exceptiongroup
    needs typing-extensions. Counting all nine packages everywhere made the licenses check report
    colorama, exceptiongroup and tomli "locked but not installed" in a linux 3.11 environment that
    Poetry installed from this very lock."""
    environment = target_environment(python, platform)
    lock = poetry.read(project(tmp_path) / "poetry.lock", Selection(environment=environment))
    assert {p.key for p in lock.packages} == exported(environment)
    assert lock.entries == 9 and "lock-version 2.0" in lock.notes[0]
    if (python, platform) == ("3.11", "linux"):
        assert {p.key for p in lock.packages} == {"click", "iniconfig", "packaging", "pluggy", "pytest"}


def test_a_package_the_project_names_counts_whatever_the_edges_say(tmp_path: Path) -> None:
    root = project(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('pytest = "7.4.4"', 'pytest = "7.4.4"\ntomli = "*"'))
    lock = poetry.read(root / "poetry.lock", Selection(environment=target_environment("3.11", "linux")))
    assert "tomli" in {p.key for p in lock.packages} and "exceptiongroup" not in {p.key for p in lock.packages}


def test_without_the_projects_pyproject_every_package_counts(tmp_path: Path) -> None:
    """The edges alone cannot tell a package the project needs directly: nothing is left out."""
    selection = Selection(environment=target_environment("3.11", "linux"))
    lock = poetry.read(project(tmp_path, pyproject=False) / "poetry.lock", selection)
    assert len(lock.packages) == 9
