"""pdm.lock: the packages of the selected groups whose markers hold.

A lock written with the ``inherit_metadata`` strategy (PDM's default since 2.11) names each
package's ``groups`` and ``marker``; the run-time group is ``default``, and the project's extras
are groups of the same name. A lock without that metadata counts every package, and says so.
https://pdm-project.org/en/latest/usage/lockfile/
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

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
    versions: dict[str, str] = {canonicalize_name(e["name"]): str(e.get("version", "")) for _, e in counted}
    packages = tuple(_package(e, line, path, versions) for line, e in counted)
    notes = () if grouped else (f"{path.name} was not locked with inherit_metadata: every package counts",)
    return Lock(path, FORMAT, packages, (), len(table), tuple(known), notes)


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
