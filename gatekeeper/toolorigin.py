"""Where a tool comes from: never from the checkout under review.

Every checker locates its tool through here (``CheckContext.tool``), built-in or plugin. A tool is
a module of an interpreter's environment (with, for ruff, the binary its package ships). It is
refused, with an error of its check naming the file, when:

- the interpreter, the module's file or folder, or the binary lies inside the project root
  (links followed): a ``.venv/`` in the checkout, a ``ruff/`` package planted in the tree;
- its distribution was installed from the project root (PEP 610 ``direct_url.json`` naming a
  ``file:`` URL inside it), editable or not: that is the checkout's code built into a package.

Locating never imports the tool: ``find_spec`` and the distribution's metadata answer where it
is before anything of it runs (in gatekeeper's own interpreter, in this process, on the path a
``-I`` run would have; in another, by a ``-I`` probe). The result says which binary ran, its version, and
where it came from, for the check's report.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import json
import os
import site
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper import process
from gatekeeper.errors import ToolError, ToolMissing
from gatekeeper.fileio import relative_to_root, url_path

#: how the interpreter that holds a tool was chosen -> the words reports use
SOURCES = {
    "gatekeeper": "gatekeeper's own environment",
    "tool_python": "the interpreter gate.tool_python names",
    "project": "the project's environment",
}

#: run with ``-I`` (``sys.argv[1:]``: module, distribution): where the module is, without importing it
_PROBE = r"""
import importlib.metadata as md, importlib.util, json, sys
module, dist = sys.argv[1], sys.argv[2]
spec = importlib.util.find_spec(module)
out = {"python": sys.executable, "prefix": sys.prefix}
if spec is None:
    out["missing"] = module
else:
    out["origin"] = spec.origin or ""
    out["locations"] = [str(p) for p in (spec.submodule_search_locations or [])]
    dist = dist or (md.packages_distributions().get(module) or [""])[0]
    out["distribution"] = dist
    try:
        d = md.distribution(dist)
    except (md.PackageNotFoundError, ValueError):
        out["version"] = ""
    else:
        out["version"] = d.version
        try:
            out["direct_url"] = json.loads(d.read_text("direct_url.json") or "null")
        except ValueError:
            out["direct_url"] = {"url": "(unreadable direct_url.json)"}
print(json.dumps(out))
"""


@dataclass(frozen=True, slots=True)
class ToolOrigin:
    """A located tool: its name and version, the interpreter that has it, the file that runs, and
    where it came from (a key of ``SOURCES``) with how its distribution was installed."""

    name: str
    version: str
    python: str
    path: str  # the binary, or the module's file
    source: str
    installed: str = "index"  # PEP 610: index (no direct_url.json), editable, local, vcs, url

    def describe(self) -> dict[str, Any]:
        """The ``tool`` entry of a check in the JSON result (beside name and version)."""
        return {"path": self.path, "python": self.python, "source": self.source, "installed": self.installed}


def refuse_inside(root: Path, path: str | os.PathLike[str], what: str) -> None:
    """``ToolError`` naming ``path`` when it lies inside ``root`` (links followed): a tool is never
    code from the checkout."""
    if not path:
        return
    rel = relative_to_root(Path(path), root)
    if rel is not None:
        raise ToolError(
            f"{what} {rel} is a file of the project under review; a tool never runs from the checkout "
            "(install it outside the project, e.g. into gatekeeper's environment)"
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Wanted:
    """The tool a check needs: its module, the distribution that ships it, and how to install it."""

    module: str
    distribution: str
    install: str


def locate(run: Callable[[Sequence[str]], process.Completed], root: Path, python: str, source: str, wanted: Wanted) -> ToolOrigin:
    """The tool ``wanted`` in ``python``'s environment, checked not to come from ``root``;
    ``ToolMissing`` (saying how to install it) when it is not there, ``ToolError`` when refused."""
    module, distribution, install = wanted.module, wanted.distribution, wanted.install
    refuse_inside(root, python, f"the interpreter for {module},")
    if python == sys.executable:  # gatekeeper's own: asked here, without a process of its own
        answer = _answer_here(module, distribution)
    else:
        answer = process.json_object(run([python, "-I", "-c", _PROBE, module, distribution]), f"looking for {module} in {python}")
    if "missing" in answer:
        raise ToolMissing(f"{module} is not installed in {python} ({install})")
    origin = str(answer.get("origin") or "")
    installed = refuse_checkout_code(root, module, [origin, *(answer.get("locations") or [])], answer.get("direct_url"))
    return ToolOrigin(
        name=distribution or str(answer.get("distribution") or module),
        version=str(answer.get("version") or ""),
        python=python,
        path=origin,
        source=source,
        installed=installed,
    )


def refuse_checkout_code(root: Path, module: str, places: Sequence[Any], direct: Any) -> str:
    """How ``module``'s distribution was installed (``_installed``), once neither ``places`` (the
    module's file and folders) lie inside ``root`` nor its PEP 610 ``direct``_url names a folder
    inside it; ``ToolError`` naming the file otherwise. The one rule for a tool and for a checker
    plugin alike: no code of the checkout runs as part of the gate."""
    for place in places:
        if place and os.path.isabs(str(place)):
            refuse_inside(root, str(place), f"{module} comes from")
    return _installed(root, module, direct)


def _isolated_path() -> list[str]:
    """The ``sys.path`` a ``-I`` run of this interpreter has: this one's without ``$PYTHONPATH``,
    the user's site folder and the current folder."""
    dropped = {os.path.realpath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    if not sys.flags.no_user_site:
        dropped.add(os.path.realpath(site.getusersitepackages()))
    return [p for p in sys.path if p and os.path.realpath(p) not in dropped and os.path.realpath(p) != os.getcwd()]


def _answer_here(module: str, distribution: str) -> dict[str, Any]:
    """What ``_PROBE`` answers, for this interpreter, found in this process (nothing is imported)."""
    path = _isolated_path()
    spec = importlib.machinery.PathFinder.find_spec(module, path)
    out: dict[str, Any] = {"python": sys.executable, "prefix": sys.prefix}
    if spec is None:
        return {**out, "missing": module}
    out["origin"] = spec.origin or ""
    out["locations"] = [str(p) for p in (spec.submodule_search_locations or [])]
    found = (
        _owner(module, path)
        if not distribution
        else next(iter(importlib.metadata.distributions(name=distribution, path=path)), None)
    )
    out["distribution"] = distribution or (found.metadata["Name"] if found is not None else "")
    out["version"] = found.version if found is not None else ""
    if found is not None:
        try:
            out["direct_url"] = json.loads(found.read_text("direct_url.json") or "null")
        except ValueError:
            out["direct_url"] = {"url": "(unreadable direct_url.json)"}
    return out


def _owner(module: str, path: list[str]) -> importlib.metadata.Distribution | None:
    """The distribution on ``path`` that ships the top-level module ``module`` (its ``top_level.txt``
    or its files), for a tool named by its module alone (``python -m MODULE``)."""
    for name in importlib.metadata.packages_distributions().get(module, []):
        found = next(iter(importlib.metadata.distributions(name=name, path=path)), None)
        if found is not None:
            return found
    return None


def _installed(root: Path, module: str, direct: Any) -> str:
    """How the distribution was installed (PEP 610); ``ToolError`` when from a folder inside ``root``."""
    if not isinstance(direct, dict):
        return "index"
    url = str(direct.get("url") or "")
    parsed = urllib.parse.urlsplit(url)
    editable = bool((direct.get("dir_info") or {}).get("editable")) if isinstance(direct.get("dir_info"), dict) else False
    if parsed.scheme == "file":
        where = relative_to_root(Path(url_path(parsed.path)), root)
        if where is not None:
            how = "editable " if editable else ""
            raise ToolError(
                f"{module} was installed {how}from the project under review ({where or '.'}, per its direct_url.json); "
                "a tool never runs from the checkout"
            )
        return "editable" if editable else "local"
    if "vcs_info" in direct:
        return "vcs"
    return "url"


def with_binary(origin: ToolOrigin, root: Path, binary: str) -> ToolOrigin:
    """``origin`` with the binary its package ships (ruff's), itself checked not to lie in ``root``."""
    refuse_inside(root, binary, f"the {origin.name} binary")
    return ToolOrigin(origin.name, origin.version, origin.python, binary, origin.source, origin.installed)


def sentence(tool: dict[str, Any]) -> str:
    """One line for the console and the HTML report: the binary, and where it came from."""
    path = str(tool.get("path") or "")
    source = SOURCES.get(str(tool.get("source") or ""), str(tool.get("source") or ""))
    installed = str(tool.get("installed") or "")
    how = f", installed {installed}" if installed and installed != "index" else ""
    return f"{path} ({source}{how})" if path else ""
