"""Checker discovery through the entry-point group ``gatekeeper.checkers``.

The built-in checkers register there exactly as a third-party package would. Metadata is read
first (cheap); a checker's module is imported only when it is needed, and an import failure is
wrapped with the checker's name. ``load_all`` is the one place plugins are loaded; the hooks
each resolves to are declared in ``gatekeeper.checkers.base``.

A checker runs inside gatekeeper, with the job's rights, beside every other check: its code never
comes from the project under review (``under_review``), as no tool's does. A checker whose module,
or a package above it, lies inside that folder (an editable install of the checkout, a plugin on
``sys.path`` in the tree), or whose distribution was installed from it (PEP 610 ``direct_url.json``),
is not imported: it stands in as a broken checker, its check an error naming the file. The folders
held so are the one the command judges, the current folder, and the git work tree each lies in (a pull
request controls every file of its checkout, not only the folder a run judges): a verifier or a
report imports no checker of the checkout it runs in either. gatekeeper's own modules are exempt
(the ``gatekeeper`` package this process already runs from: its installation is trusted, wherever
it was built from), never a distribution by its name, which any metadata in the tree can claim.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gatekeeper.errors import PluginError, ToolError

if TYPE_CHECKING:
    from gatekeeper.checkers.base import LoadedChecker
    from gatekeeper.options import Option

GROUP = "gatekeeper.checkers"
#: the folders no checker is imported from (``under_review``): the project the command judges, the
#: current folder, and the work tree of each
_REVIEWED: list[Path] = []


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PluginInfo:
    """An installed checker as its metadata describes it, before import."""

    name: str
    value: str  # "module:attr"
    distribution: str
    version: str
    dist: importlib.metadata.Distribution | None = None  # where its metadata was read


def under_review(root: Path | None = None) -> None:
    """Say that the command this process runs judges the project folder ``root`` (None: a command
    judging none, a verifier or a renderer): from now on no checker whose code comes from it, from
    the current folder, or from the git work tree either lies in is imported (``load``). Called
    before the checkers are loaded (the CLI calls it for every command); when the folders differ from
    those named before (a process running commands one after another), the checkers are loaded again
    when next asked for (``installed``)."""
    try:
        folders = [Path.cwd()]
    except OSError:  # the current folder was removed: nothing can be imported from it
        folders = []
    folders += [root] if root is not None else []
    wanted = sorted({place for folder in folders for place in _with_tree(folder.resolve())})
    if _REVIEWED != wanted:
        _REVIEWED[:] = wanted
        installed.cache_clear()


def _with_tree(folder: Path) -> tuple[Path, ...]:
    """``folder`` and the git work tree it lies in (the nearest folder at or above it holding a
    ``.git`` entry), when there is one."""
    for place in (folder, *folder.parents):
        if os.path.lexists(place / ".git"):
            return (folder, place) if place != folder else (folder,)
    return (folder,)


def discover() -> dict[str, PluginInfo]:
    """Every checker registered in the environment, by name.

    Two distributions registering one name is a ``PluginError`` naming both: which of them ran
    would otherwise depend on the order of ``sys.path``.
    """
    found: dict[str, PluginInfo] = {}
    # each distribution's name and version are read once, not twice per entry point
    named: dict[int, tuple[str, str]] = {}
    for ep in _registered():
        dist = getattr(ep, "dist", None)
        if dist is not None and id(dist) not in named:
            named[id(dist)] = _name_and_version(dist)
        distribution, version = named[id(dist)] if dist is not None else ("", "")
        info = PluginInfo(name=ep.name, value=ep.value, distribution=distribution, version=version, dist=dist)
        have = found.setdefault(ep.name, info)
        if (have.value, have.distribution) != (info.value, info.distribution):
            raise PluginError(
                f"two installed checkers are named {ep.name!r}: {_origin(have)} and {_origin(info)}",
                hint="uninstall one of the two distributions",
            )
    return dict(sorted(found.items()))


def _registered() -> list[importlib.metadata.EntryPoint]:
    """The entry points of ``GROUP``: what ``importlib.metadata.entry_points(group=GROUP)`` gives (the
    distributions on ``sys.path`` in its order, a name seen again skipped as it skips it), parsing
    only the ``entry_points.txt`` files that mention ``GROUP``: a file whose text does not contain
    the group's name declares nothing in it, and parsing every distribution's file was most of the
    cost of discovery."""
    seen: set[object] = set()
    found: list[importlib.metadata.EntryPoint] = []
    for dist in importlib.metadata.distributions():
        key = getattr(dist, "_normalized_name", dist)  # what entry_points() tells distributions apart by
        if key in seen:
            continue
        seen.add(key)
        text = dist.read_text("entry_points.txt")
        if text and GROUP in text:
            found.extend(dist.entry_points.select(group=GROUP))
    return found


def _name_and_version(dist: importlib.metadata.Distribution) -> tuple[str, str]:
    """The ``Name`` and ``Version`` of ``dist``'s metadata, parsed from the headers alone: the body
    that follows the first blank line (the long description, a README of any size) is not read
    as ``Distribution.metadata`` would read it."""
    headers = metadata_headers(dist)
    return headers["Name"], headers["Version"]


def metadata_headers(dist: importlib.metadata.Distribution) -> Any:
    """``dist``'s core metadata headers (a mapping of header names, ``get_all`` for repeated ones),
    parsed without the body after the first blank line (the long description) that
    ``Distribution.metadata`` parses too: gatekeeper's own is its README, about 300 KB."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    if text is None:
        return dist.metadata
    from email.parser import HeaderParser

    return HeaderParser().parsestr(text.partition("\n\n")[0])


def _origin(info: PluginInfo) -> str:
    dist = f"{info.distribution} {info.version}".strip() or "an unnamed distribution"
    return f"{dist} ({info.value})"


def load(info: PluginInfo) -> LoadedChecker:
    """Import one checker and resolve its hooks (``base.resolve``); any failure becomes a ``PluginError``."""
    from gatekeeper.checkers.base import resolve

    module_name, _, attr = info.value.partition(":")
    refused = _from_checkout(info, module_name.strip())
    if refused:
        raise PluginError(f"checker {info.name!r} ({info.value}) is not loaded: {refused}")
    from gatekeeper import spawnwatch

    origin = plugin_origin(info)
    started: list[str] = []  # the processes its import started around the layer (a third-party checker's)
    try:
        with spawnwatch.importing(started) if origin else contextlib.nullcontext():
            module = importlib.import_module(module_name.strip())
            obj: Any = module
            for part in attr.strip().split(".") if attr.strip() else ():
                obj = getattr(obj, part)
            instance = obj() if isinstance(obj, type) else obj
    except Exception as exc:  # a broken plugin must not take gatekeeper down
        raise PluginError(f"checker {info.name!r} ({info.value}) could not be loaded: {type(exc).__name__}: {exc}") from exc
    if started:
        raise PluginError(
            f"checker {info.name!r} ({info.value}) started a process while it was imported ({'; '.join(started)}): "
            "gatekeeper could not isolate, vet or time-limit it, so its check proves nothing; start tools through ctx.run"
        )
    return replace(resolve(info.name, instance, info.value), origin=origin)


def plugin_origin(info: PluginInfo) -> dict[str, str]:
    """What a check's result and audit record say about the third-party checker that decided it: its
    distribution, version and entry point; nothing for gatekeeper's own."""
    if (info.distribution or "").lower().replace("_", "-") == "gatekeeper":
        return {}
    return {"distribution": info.distribution or "", "version": info.version or "", "entry_point": info.value}


def _from_checkout(info: PluginInfo, module: str) -> str:
    """Why the checker ``info`` (its module ``module``) must not be imported in a run judging a
    folder of ``_REVIEWED`` (its code would come from that checkout), or ""."""
    if not _REVIEWED or module == "gatekeeper" or module.startswith("gatekeeper."):
        return ""  # gatekeeper's own package, already imported from its trusted installation
    try:
        places = _module_places(module)
    except (ImportError, ValueError) as exc:
        return f"its module {module} could not be located without importing it ({exc})"
    if places is None:
        return f"its module {module} could not be located without importing it"
    if not places:  # not installed at all: the import fails, and says so, without running anything
        return ""
    try:
        direct: Any = json.loads(info.dist.read_text("direct_url.json") or "null") if info.dist is not None else None
    except ValueError:
        direct = {"url": "(unreadable direct_url.json)"}
    from gatekeeper.toolorigin import refuse_checkout_code

    for root in _REVIEWED:
        try:
            refuse_checkout_code(root, module, places, direct)
        except ToolError as exc:
            return str(exc).replace("a tool never runs", "a checker never runs")
    return ""


def _module_places(module: str) -> list[str] | None:
    """The files and folders importing ``module`` would run code from (each package's ``__init__``
    on the way down, the module's file, a package's folders), found as the import system finds
    them but without importing anything; [] when no top-level module of its name is installed,
    None when a module below one is not where its package's folders say (a package may extend
    its ``__path__`` as it is imported: where that leads is not known before)."""
    parts = module.split(".")
    spec = importlib.util.find_spec(parts[0])
    if spec is None:
        return []
    places: list[str] = []
    for depth in range(1, len(parts)):
        if spec is None:
            return None
        places.append(spec.origin or "")
        locations = list(spec.submodule_search_locations or [])
        if not locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: depth + 1]), locations)
    if spec is None:
        return None
    return [*places, spec.origin or "", *(str(p) for p in spec.submodule_search_locations or [])]


def load_all() -> dict[str, LoadedChecker]:
    """Every installed checker, loaded; one that fails to load stands in as ``base.broken`` (its
    check then reports ``error``). Two checkers with one name are a ``PluginError`` (exit 2)."""
    from gatekeeper.checkers.base import broken

    loaded: dict[str, LoadedChecker] = {}
    for name, info in discover().items():
        try:
            loaded[name] = load(info)
        except PluginError as exc:
            loaded[name] = replace(broken(name, str(exc)), origin=plugin_origin(info))
    return loaded


def policy_options(checkers: Mapping[str, LoadedChecker]) -> dict[str, Mapping[str, Option] | None]:
    """Each checker's policy options for the policy loader (``LoadedChecker.policy_options``:
    ``enabled`` defaults to its ``enabled_by_default``), None for one that failed to load, whose
    section is then taken as it is."""
    return {name: None if c.error else c.policy_options() for name, c in checkers.items()}


def plugin_lines() -> list[str]:
    """``gatekeeper plugins``: each installed checker's name, distribution, entry point and
    description (or why it failed to load)."""
    lines = []
    for name, info in discover().items():
        try:
            checker = load(info)
            # off by default through enabled_by_default or an ``enabled`` option of its own defaulting
            # to false (the built-in lint, types and secrets checks)
            enabled = checker.policy_options().get("enabled")
            on = enabled.default if enabled is not None else checker.enabled_by_default
            desc, state = (checker.description + ("" if on else " (off by default)")).strip(), ""
        except PluginError as exc:
            desc, state = "", f"  BROKEN: {exc}"
        dist = f"{info.distribution} {info.version}".strip()
        lines.append(f"{name:<14} {dist:<28} {info.value}{state}")
        if desc:
            lines.append(f"{'':<14} {desc}")
    return lines


@functools.lru_cache(maxsize=1)
def installed() -> Mapping[str, LoadedChecker]:
    """``load_all()`` once per process: what the renderers present each check with."""
    return MappingProxyType(load_all())


def presenter(name: str, checkers: Mapping[str, LoadedChecker] | None = None) -> LoadedChecker:
    """The loaded checker that presents check ``name`` in reports (from ``checkers``, default the
    installed ones), or the generic defaults when none is installed under that name."""
    from gatekeeper.checkers.base import generic

    found = (installed() if checkers is None else checkers).get(name)
    return found if found is not None and not found.error else generic(name)
