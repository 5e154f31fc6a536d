"""Locks that keep markers only on their dependency edges: which packages a target needs.

A Poetry 1.x lock (lock-version 2.0) and a PDM lock written without ``inherit_metadata`` record
no groups and no marker per package: ``pytest`` depends on ``colorama`` when
``sys_platform == "win32"``, and nothing on colorama's own entry says so. Counting every entry
counts what the target never installs (a licenses check then reports it "locked but not
installed"). ``needed`` keeps what the installers keep: ``poetry export`` and ``pdm sync`` walk
the same edges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from gatekeeper import tomlio

_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def needed(keys: Sequence[str], edges: Iterable[tuple[str, str, bool]], named: frozenset[str] | None) -> set[str]:
    """Of the entries ``keys`` (canonical names), those the target may need. ``edges``: (from, to,
    whether the edge's markers hold for some extra of its origin). An entry is left out when locked
    packages depend on it and every edge to it from an entry kept does not hold, repeated until
    nothing changes; never one the project names (``named``; None when that is not known: then
    every entry is kept)."""
    kept = set(keys)
    if named is None:
        return kept
    edges = list(edges)
    depended = {to for _, to, _ in edges}
    while True:
        reached = {to for origin, to, holds in edges if holds and origin in kept}
        dropped = {k for k in kept if k in depended and k not in reached and k not in named}
        if not dropped:
            return kept
        kept -= dropped


def named_by_project(here: Path) -> frozenset[str] | None:
    """Every dependency the pyproject.toml in ``here`` names, canonical: ``[project]`` dependencies
    and optional-dependencies, ``[dependency-groups]``, ``[tool.poetry]`` dependencies,
    dev-dependencies and groups, ``[tool.pdm.dev-dependencies]``; None when there is no such file
    or it cannot be read."""
    try:
        data = tomlio.loads((here / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError):
        return None
    tool = _table(data, "tool")
    poetry = _table(tool, "poetry")
    tables = [_table(poetry, "dependencies"), _table(poetry, "dev-dependencies")]
    tables += [_table(g, "dependencies") for g in _table(poetry, "group").values() if isinstance(g, dict)]
    names = {str(n) for table in tables for n in table}
    project = _table(data, "project")
    lists = [project.get("dependencies"), *_table(project, "optional-dependencies").values()]
    lists += [*_table(data, "dependency-groups").values(), *_table(_table(tool, "pdm"), "dev-dependencies").values()]
    for requirement in (r for listed in lists if isinstance(listed, list) for r in listed if isinstance(r, str)):
        found = _NAME.match(requirement.strip())
        if found:
            names.add(found.group(0))
    return frozenset(canonicalize_name(n) for n in names)


def _table(data: object, key: str) -> dict[str, object]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}
