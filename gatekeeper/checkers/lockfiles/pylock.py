"""pylock.toml (PEP 751, ``lock-version = "1.0"``): packages whose markers hold for the selection.

A PEP 751 lock lists each package with the marker under which it installs; the markers may name
``extras`` and ``dependency_groups`` (evaluated as sets, the lock-file context of
``packaging.markers``). With no groups chosen, the lock's ``default-groups`` count.
https://packaging.python.org/en/latest/specifications/pylock-toml/
"""

from __future__ import annotations

import re
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
    is_project_folder,
    project_folders,
    read_toml,
    require_known,
)

FORMAT = "pylock.toml"
_NAME = re.compile(r"^pylock\.([^.]+\.)?toml$")


def recognise(name: str) -> bool:
    """``pylock.toml`` or ``pylock.NAME.toml`` (PEP 751's file names)."""
    return bool(_NAME.match(name))


def looks_like(data: Mapping[str, Any]) -> bool:
    """A PEP 751 lock: a string ``lock-version`` and a ``packages`` list."""
    return isinstance(data.get("lock-version"), str) and isinstance(data.get("packages", []), list)


def read(path: Path, selection: Selection, project: str = "") -> Lock:
    """The packages whose markers hold; the folder the lock file lies in and its uv workspace members
    are the project, not dependencies (``project``, the root's name, is not needed to tell)."""
    data = read_toml(path, FORMAT)
    if not looks_like(data):
        raise LockError(f"{path.name} is not a PEP 751 lock file (no string 'lock-version' with a 'packages' list)")
    major = str(data["lock-version"]).split(".")[0]
    if major != "1":
        raise LockError(f"{path.name}: lock-version {data['lock-version']!r} is not one gatekeeper reads (1.x)")
    groups = [str(g) for g in data.get("dependency-groups") or []]
    extras = [str(x) for x in data.get("extras") or []]
    require_known(selection.groups, groups, "dependency group", path)
    require_known(selection.extras, extras, "extra", path)
    chosen = selection.groups or tuple(str(g) for g in data.get("default-groups") or [])
    env = {**selection.environment, "extras": frozenset(selection.extras), "dependency_groups": frozenset(chosen)}
    table = entries(data, path, "packages", FORMAT)
    counted: list[tuple[int | None, dict[str, Any]]] = []
    for line, entry in table:
        marker = entry.get("marker")
        if marker is not None and not _holds(str(marker), env, path, line):
            continue
        counted.append((line, entry))
    versions: dict[str, str] = {canonicalize_name(e["name"]): str(e.get("version") or "") for _, e in counted}
    packages: list[LockedPackage] = []
    members: list[LockedPackage] = []
    ours = project_folders(path.parent)
    for line, entry in counted:
        pkg = _package(entry, line, path, versions)
        (members if _is_member(entry, path.parent, ours) else packages).append(pkg)
    known = tuple(groups + [f"extra:{x}" for x in extras])
    defaults = tuple(str(g) for g in data.get("default-groups") or [])
    return Lock(path, FORMAT, tuple(packages), tuple(members), len(table), known, default_groups=defaults)


def _is_member(entry: Mapping[str, Any], here: Path, ours: frozenset[Path]) -> bool:
    """Whether a ``directory`` entry is the project (``ours``: the folder of the lock file, as ``uv
    export`` lists the project, and its uv workspace members). Any other folder, a vendored copy of
    a dependency (``[tool.uv.sources] x = { path = "vendor/x" }``), is a package built from a folder."""
    folder = entry.get("directory")
    if not isinstance(folder, dict) or not isinstance(folder.get("path"), str):
        return False
    return is_project_folder(here, folder["path"], ours)


def _holds(marker: str, env: Mapping[str, Any], path: Path, line: int | None) -> bool:
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

    try:
        return Marker(marker).evaluate(env, context="lock_file")
    except InvalidMarker as exc:
        raise LockError(f"{path.name}:{line or '?'}: marker {marker!r} cannot be read ({exc})") from exc
    except (UndefinedComparison, UndefinedEnvironmentName):
        return True  # when in doubt, audit it


def _package(entry: Mapping[str, Any], line: int | None, path: Path, versions: Mapping[str, str]) -> LockedPackage:
    origin = next((o for o in ("vcs", "directory", "archive") if o in entry), "registry")
    origin = {"vcs": "git", "archive": "url"}.get(origin, origin)
    version = entry.get("version")
    if origin == "registry" and not isinstance(version, str):
        raise LockError(f"{path.name}:{line or '?'}: package {entry['name']!r} has no version")
    files = [entry["sdist"]] if isinstance(entry.get("sdist"), dict) else []
    files += [w for w in entry.get("wheels") or [] if isinstance(w, dict)]
    if isinstance(entry.get("archive"), dict):
        files.append(entry["archive"])
    hashes = {(str(alg).lower(), str(h).lower()) for f in files for alg, h in (f.get("hashes") or {}).items()}
    deps = []
    for dep in entry.get("dependencies") or []:
        key = canonicalize_name(str(dep.get("name", ""))) if isinstance(dep, dict) else ""
        if key in versions:
            deps.append(f"{key}@{versions[key]}")
    return LockedPackage(str(entry["name"]), str(version or ""), line, origin, tuple(sorted(hashes)), tuple(sorted(deps)))
