"""poetry.lock: the packages of the selected groups whose markers hold.

Since lock-version 2.1 (Poetry 2) each ``[[package]]`` names its ``groups`` and its ``markers``
(one string, or one per group); the run-time group is ``main``. Extras are optional packages
whose markers name ``extra``. An older lock (2.0) carries no groups and no markers per package:
every package counts except the optional ones and those only markers keep out (``_needed``: what
only locked packages depend on, through edges whose markers hold for no extra in the target), and
the lock's notes say so. https://python-poetry.org/docs/basic-usage/
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from gatekeeper.checkers.lockfiles.edges import named_by_project, needed
from gatekeeper.checkers.lockfiles.model import (
    Lock,
    LockedPackage,
    LockError,
    Selection,
    entries,
    hash_pairs,
    read_toml,
    require_known,
)

FORMAT = "poetry.lock"
_UNGROUPED = (
    "every non-optional package counts but those that only locked packages depend on, under markers that do not "
    "hold for the target"
)


def recognise(name: str) -> bool:
    """The file name Poetry writes."""
    return name == "poetry.lock"


def looks_like(data: Mapping[str, Any]) -> bool:
    """A Poetry lock: ``[metadata]`` with ``lock-version`` and ``content-hash``."""
    meta = data.get("metadata")
    return isinstance(meta, dict) and isinstance(meta.get("lock-version"), str) and "content-hash" in meta


def read(path: Path, selection: Selection, project: str = "") -> Lock:
    """The packages of the chosen groups (default ``main``) and extras whose markers hold."""
    data = read_toml(path, FORMAT)
    if not looks_like(data):
        raise LockError(f"{path.name} is not a Poetry lock file (no [metadata] with lock-version and content-hash)")
    table = entries(data, path, "package", FORMAT)
    grouped = all("groups" in e for _, e in table) and bool(table)
    known = sorted({str(g) for _, e in table for g in e.get("groups") or []})
    extras = sorted(str(x) for x in data.get("extras") or {})  # the project's extras (top-level [extras])
    require_known(selection.extras, extras, "extra", path)
    if grouped:
        require_known(selection.groups, known, "dependency group", path)
    elif selection.groups:
        raise LockError(f"{path.name}: lock-version {data['metadata']['lock-version']} records no groups; re-lock with Poetry 2")
    chosen = ("main", *selection.groups)
    wanted = ("", *selection.extras)
    counted: list[tuple[int | None, dict[str, Any]]] = []
    for line, entry in table:
        if grouped:
            if not any(_in_group(entry, g, selection, wanted) for g in chosen if g in (entry.get("groups") or [])):
                continue
        elif entry.get("optional") and not selection.extras:
            continue
        counted.append((line, entry))
    if not grouped:
        counted = _needed(counted, selection, named_by_project(path.parent))
    versions: dict[str, str] = {canonicalize_name(e["name"]): str(e.get("version", "")) for _, e in counted}
    packages = tuple(_package(e, line, path, versions) for line, e in counted)
    notes = () if grouped else (f"{path.name} records no groups (lock-version 2.0): {_UNGROUPED}",)
    return Lock(path, FORMAT, packages, (), len(table), tuple(known) + tuple(f"extra:{x}" for x in extras), notes)


def _needed(
    counted: list[tuple[int | None, dict[str, Any]]], selection: Selection, named: frozenset[str] | None
) -> list[tuple[int | None, dict[str, Any]]]:
    """Of a lock 2.0's ``counted`` entries, those the target may need (``edges.needed``): its edges
    are each entry's ``dependencies`` table (``colorama = {markers = "sys_platform == \"win32\""}``),
    whose markers are evaluated for every extra of the entry, asked for or not."""
    keys = [canonicalize_name(e["name"]) for _, e in counted]
    links: list[tuple[str, str, bool]] = []
    for key, (_, entry) in zip(keys, counted, strict=True):
        deps = entry.get("dependencies")
        extras = ("", *(str(x) for x in entry.get("extras") or {}))
        for name, spec in deps.items() if isinstance(deps, dict) else ():
            links.append((key, canonicalize_name(str(name)), _edge_holds(spec, selection, extras)))
    kept = needed(keys, links, named)
    return [item for key, item in zip(keys, counted, strict=True) if key in kept]


def _edge_holds(spec: Any, selection: Selection, extras: tuple[str, ...]) -> bool:
    """Whether a dependency edge of a lock 2.0 (a version string, a table, or a list of tables, one
    per marker) holds for one of ``extras``; a table with keys beyond what marks it (``python``, a
    ``source``) or not a table at all holds (when in doubt, count it)."""
    for one in spec if isinstance(spec, list) else [spec]:
        if not isinstance(one, dict) or set(one) - {"version", "markers", "optional", "extras"}:
            return True
        if selection.applies(str(one.get("markers") or "") or None, extras):
            return True
    return False


def _in_group(entry: Mapping[str, Any], group: str, selection: Selection, extras: tuple[str, ...]) -> bool:
    markers = entry.get("markers")
    marker = markers.get(group) if isinstance(markers, dict) else markers
    if entry.get("optional") and (not marker or "extra" not in str(marker)):
        return len(extras) > 1  # optional without a marker naming its extra: counts when any extra is chosen
    return selection.applies(str(marker) if marker else None, extras)


def _package(entry: Mapping[str, Any], line: int | None, path: Path, versions: Mapping[str, str]) -> LockedPackage:
    version = entry.get("version")
    if not isinstance(version, str) or not version:
        raise LockError(f"{path.name}:{line or '?'}: package {entry['name']!r} has no version")
    source = entry.get("source")
    kind = str(source.get("type", "")) if isinstance(source, dict) else ""
    origin = {"git": "git", "url": "url", "file": "url", "directory": "directory"}.get(kind, "registry")
    hashes = hash_pairs(str(f.get("hash", "")) for f in entry.get("files") or [] if isinstance(f, dict))
    deps = entry.get("dependencies")
    deps = deps if isinstance(deps, dict) else {}
    refs = sorted(f"{k}@{versions[k]}" for k in {canonicalize_name(str(n)) for n in deps} if k in versions)
    return LockedPackage(str(entry["name"]), version, line, origin, hashes, tuple(refs))
