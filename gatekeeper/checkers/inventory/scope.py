"""The project's scope in an environment: its own distribution and uv workspace members (never
packages of the inventory), and the closure of the distributions its requirements reach."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from gatekeeper import tomlio
from gatekeeper.checkers.inventory.project import declared_name, parse_requirement, project_requirements
from gatekeeper.errors import ToolError
from gatekeeper.fileio import url_path

if TYPE_CHECKING:  # packaging's requirement and marker grammar (about 10 ms) loads where one is read
    from packaging.markers import Marker
    from packaging.requirements import Requirement

    from gatekeeper.checkers.inventory.distribution import Distribution


def closure(
    roots: Iterable[str], dists: Iterable[Distribution], markers: Mapping[str, str]
) -> tuple[list[Distribution], list[str]]:
    """Installed distributions reachable from requirement strings ``roots``, following extras.

    Returns (reachable distributions, requirement names that are not installed).
    """
    by_key = {d.key: d for d in dists}
    wanted: list[tuple[str, frozenset[str]]] = []
    for text in roots:
        req = parse_requirement(text)
        if req is not None and _applies(req, markers, ""):
            wanted.append((canonicalize_name(req.name), frozenset(req.extras)))
    seen: dict[str, set[str]] = {}
    missing: set[str] = set()
    while wanted:
        key, extras = wanted.pop()
        dist = by_key.get(key)
        if dist is None:
            missing.add(key)
            continue
        done_extras = seen.get(key)
        if done_extras is not None and extras <= done_extras:
            continue
        new_extras = extras - (done_extras or set())
        first = done_extras is None
        seen.setdefault(key, set()).update(extras)
        for text in dist.requires:
            req = parse_requirement(text)
            if req is None:
                continue
            needed = first and _applies(req, markers, "")
            needed = needed or any(_applies(req, markers, extra) for extra in new_extras)
            if needed:
                wanted.append((canonicalize_name(req.name), frozenset(req.extras)))
    return [by_key[k] for k in sorted(seen)], sorted(missing)


def _applies(req: Requirement, markers: Mapping[str, str], extra: str) -> bool:
    from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName

    if req.marker is None:
        return not extra  # an unconditional requirement belongs to the base, not to an extra
    env = dict(markers)
    env["extra"] = extra
    try:
        marker: Marker = req.marker
        if not extra and "extra" in str(marker):
            return False
        return bool(marker.evaluate(env))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return False


def find_project(root: Path, dists: Iterable[Distribution]) -> tuple[str, Distribution | None]:
    """The project's name (PEP 503) and its installed distribution, if any.

    The name comes from ``declared_name``; failing that, from the distribution whose PEP 610
    ``direct_url.json`` says it was installed from the project root (``pip install -e .``).
    """
    dists = list(dists)
    name = declared_name(root)
    if name:
        return name, next((d for d in dists if d.key == name), None)
    try:
        here = root.resolve()
    except OSError:
        return "", None
    for d in dists:
        if d.origin == "local" and file_url_path(d.url) == here:
            return d.key, d
    return "", None


def file_url_path(url: str) -> Path | None:
    """The local path of a ``file:`` URL (PEP 610), resolved; None for anything else."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    try:
        return Path(url_path(parsed.path)).resolve()
    except (OSError, ValueError):
        return None


def workspace_folders(root: Path) -> frozenset[Path]:
    """The member folders of the uv workspace rooted at ``root``, resolved: those the root
    pyproject.toml's ``[tool.uv.workspace] members`` globs match, less those ``exclude`` matches,
    each holding a pyproject.toml and lying inside the root (links followed); empty when the root
    declares no workspace. A member outside the root is not the code under review, so never one."""
    try:
        doc = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        here = root.resolve()
    except (tomlio.TOMLDecodeError, UnicodeDecodeError, OSError):
        return frozenset()
    tool = doc.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    workspace = uv.get("workspace") if isinstance(uv, dict) else None
    if not isinstance(workspace, dict):
        return frozenset()
    members = _globbed(root, here, workspace.get("members")) - _globbed(root, here, workspace.get("exclude"))
    return frozenset(p for p in members if (p / "pyproject.toml").is_file())


def _globbed(root: Path, here: Path, patterns: object) -> set[Path]:
    """The folders inside ``here`` (the resolved root) that the relative glob ``patterns`` match."""
    found: set[Path] = set()
    for pattern in patterns if isinstance(patterns, list) else []:
        if not isinstance(pattern, str) or not pattern.strip() or Path(pattern).is_absolute():
            continue
        try:
            hits = [p.resolve() for p in root.glob(pattern.rstrip("/"))]
        except (OSError, ValueError, NotImplementedError):
            continue
        found.update(p for p in hits if p != here and p.is_relative_to(here) and p.is_dir())
    return found


def members_not_counted(members: Sequence[str]) -> str:
    """The summary's note on the uv workspace members among the installed distributions: the
    project's own code, which the dependencies and licenses checks do not count (so their count is
    below ``pip list``'s, and the console says why). "" without members."""
    if not members:
        return ""
    plural = "s" if len(members) > 1 else ""
    return f"; not counted: the uv workspace member{plural} {', '.join(members)} (the project's own code)"


def workspace_members(
    root: Path, dists: Iterable[Distribution], own: str = "", required_by: Iterable[Distribution] | None = None
) -> list[Distribution]:
    """The distributions installed from a member folder of the project's uv workspace (PEP 610
    ``direct_url.json``, as ``uv sync`` or ``pip install -e packages/x`` leave it): the project's
    own code, as the lock file's workspace members are, never one of its dependencies.

    A member that a distribution outside the project (neither ``own`` nor a member) requires is no
    longer only the project's code: it stands in for a dependency under that dependency's name (a
    folder called ``jinja2`` serving Flask), and may be any copy of it. It is left out here, so it
    stays a package built from a folder: unaudited, as any other. ``required_by``: the distributions
    whose requirements count (``scope = "project"``: those of its closure; default: all of ``dists``);
    an empty one keeps every member."""
    folders = workspace_folders(root)
    if not folders:
        return []
    dists = list(dists)
    members = [d for d in dists if d.origin == "local" and file_url_path(d.url) in folders]
    ours = {own} | {d.key for d in members}
    wanted = _required(d for d in (dists if required_by is None else required_by) if d.key not in ours)
    return [d for d in members if d.key not in wanted]


def requirers(root: Path, dist: Distribution, dists: Iterable[Distribution]) -> list[str]:
    """For a distribution installed from a member folder of the project's uv workspace, the names of
    those of ``dists`` built from no such folder that require it (why ``workspace_members`` left it
    out); empty for any other."""
    folders = workspace_folders(root) if dist.origin == "local" else frozenset()
    if file_url_path(dist.url) not in folders:
        return []
    outside = [d for d in dists if not (d.origin == "local" and file_url_path(d.url) in folders)]
    return sorted(d.name for d in outside if dist.key in _required([d]))


def _required(dists: Iterable[Distribution]) -> set[str]:
    """The names (PEP 503) that ``dists`` require, whatever their markers and extras say."""
    names: set[str] = set()
    for d in dists:
        for text in d.requires:
            found = _REQUIRED_NAME.match(text)
            if found:
                names.add(canonicalize_name(found.group(1)))
    return names


#: the name a requirement string starts with (PEP 508)
_REQUIRED_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def stands_in(root: Path, project: Distribution, dists: Sequence[Distribution]) -> bool:
    """Whether the installed distribution named as the project is a dependency under the project's
    name rather than the project: not installed from the root or a file in it (PEP 610), and required by the
    project's own ``[project] dependencies`` or by an installed distribution that is not built from a
    folder of the project (a pyproject.toml renamed to ``jinja2`` would otherwise hide the Jinja2 that
    Flask uses from the audit)."""
    here = root.resolve()
    built = file_url_path(project.url) if project.origin == "local" else None
    if built is not None and built.is_relative_to(here):  # the root, or a wheel built into it (dist/)
        return False
    ours = workspace_folders(root) | {here}
    others = [d for d in dists if d.key != project.key and not (d.origin == "local" and file_url_path(d.url) in ours)]
    try:
        _, declared = project_requirements(root)
    except ToolError:
        declared = []
    wanted = _required(others) | {canonicalize_name(m.group(1)) for text in declared if (m := _REQUIRED_NAME.match(text))}
    return project.key in wanted
