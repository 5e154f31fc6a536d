"""pdm.lock: the packages of the selected groups whose markers hold.

A lock written with the ``inherit_metadata`` strategy (PDM's default since 2.11) names each
package's ``groups`` and ``marker``; the run-time group is ``default``, and the project's extras
are groups of the same name. A lock without that metadata counts every package but those only
markers on its dependency edges keep out (``edges.needed``, as ``pdm sync`` walks them), and says
so. https://pdm-project.org/en/latest/usage/lockfile/
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

FORMAT = "pdm.lock"
_UNGROUPED = "every package counts but those that only locked packages depend on, under markers that do not hold for the target"


def recognise(name: str) -> bool:
    """The file name PDM writes."""
    return name == "pdm.lock"


def looks_like(data: Mapping[str, Any]) -> bool:
    """A PDM lock: ``[metadata]`` with ``lock_version``."""
    meta = data.get("metadata")
    return isinstance(meta, dict) and isinstance(meta.get("lock_version"), str)


def read(path: Path, selection: Selection, project: str = "") -> Lock:
    """The packages of the chosen groups (``default`` and the named groups and extras) whose markers hold."""
    data = read_toml(path, FORMAT)
    if not looks_like(data):
        raise LockError(f"{path.name} is not a PDM lock file (no [metadata] with lock_version)")
    table = entries(data, path, "package", FORMAT)
    known = sorted(str(g) for g in data["metadata"].get("groups") or ["default"])
    require_known([*selection.groups, *selection.extras], known, "group", path)
    grouped = "inherit_metadata" in (data["metadata"].get("strategy") or [])
    chosen = {"default", *selection.groups, *selection.extras}
    counted: list[tuple[int | None, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for line, entry in table:
        if grouped and not (chosen & {str(g) for g in entry.get("groups") or []}):
            continue
        if grouped and not selection.applies(entry.get("marker")):
            continue
        key = (canonicalize_name(entry["name"]), str(entry.get("version", "")))
        if key not in seen:  # PDM repeats a package once per extra it is locked with
            seen.add(key)
            counted.append((line, entry))
    if not grouped:
        counted = _needed(counted, selection, named_by_project(path.parent))
    versions: dict[str, str] = {canonicalize_name(e["name"]): str(e.get("version", "")) for _, e in counted}
    packages = tuple(_package(e, line, path, versions) for line, e in counted)
    notes = () if grouped else (f"{path.name} was not locked with inherit_metadata: {_UNGROUPED}",)
    return Lock(path, FORMAT, packages, (), len(table), tuple(known), notes)


def _needed(
    counted: list[tuple[int | None, dict[str, Any]]], selection: Selection, named: frozenset[str] | None
) -> list[tuple[int | None, dict[str, Any]]]:
    """Of the entries of a lock without ``inherit_metadata``, those the target may need: its edges
    are each entry's ``dependencies`` requirements (``colorama; sys_platform == "win32"``); one that
    cannot be parsed holds (when in doubt, count it)."""
    from packaging.requirements import InvalidRequirement, Requirement

    keys = [canonicalize_name(e["name"]) for _, e in counted]
    links: list[tuple[str, str, bool]] = []
    for key, (_, entry) in zip(keys, counted, strict=True):
        extras = ("", *(str(x) for x in entry.get("extras") or []))
        for text in entry.get("dependencies") or []:
            try:
                req = Requirement(str(text))
            except InvalidRequirement:
                continue  # no edge known: the entry it names stays counted unless another edge decides
            holds = req.marker is None or selection.applies(str(req.marker), extras)
            links.append((key, canonicalize_name(req.name), holds))
    kept = needed(keys, links, named)
    return [item for key, item in zip(keys, counted, strict=True) if key in kept]


def _package(entry: Mapping[str, Any], line: int | None, path: Path, versions: Mapping[str, str]) -> LockedPackage:
    origin = "git" if "git" in entry else "url" if "url" in entry else "directory" if "path" in entry else "registry"
    version = entry.get("version")
    if origin == "registry" and (not isinstance(version, str) or not version):
        raise LockError(f"{path.name}:{line or '?'}: package {entry['name']!r} has no version")
    hashes = hash_pairs(str(f.get("hash", "")) for f in entry.get("files") or [] if isinstance(f, dict))
    refs = set()
    from packaging.requirements import InvalidRequirement, Requirement

    for text in entry.get("dependencies") or []:
        try:
            key = canonicalize_name(Requirement(str(text)).name)
        except InvalidRequirement:
            continue
        if key in versions:
            refs.add(f"{key}@{versions[key]}")
    return LockedPackage(str(entry["name"]), str(version or ""), line, origin, hashes, tuple(sorted(refs)))
