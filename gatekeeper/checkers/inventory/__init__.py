"""The package inventory of the inspected environment, read once per run and shared.

The dependencies, sbom and licenses checkers all look at the same environment (the policy's
``[environment]``): its interpreter is asked once, in a subprocess, for every installed
distribution's metadata, and the scope (``all`` or the ``project``'s dependency closure) is
applied here so the three checkers agree on what they inspect. The interpreter's answer is
reused from the cache while nothing it was read from has changed (``probecache``).

This module reads the environment and builds the inventory; what the project's files declare is
``project``, the project's own distributions and its dependency closure are ``scope`` (their
public names are importable from here too).
"""

from __future__ import annotations

import functools
import hashlib
import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from gatekeeper.checkers import cache
from gatekeeper.checkers.inventory.distribution import Distribution as Distribution
from gatekeeper.checkers.inventory.project import declared_lines as declared_lines
from gatekeeper.checkers.inventory.project import declared_name as declared_name
from gatekeeper.checkers.inventory.project import dynamic_dependencies as dynamic_dependencies
from gatekeeper.checkers.inventory.project import dynamic_file_requirements as dynamic_file_requirements
from gatekeeper.checkers.inventory.project import has_pep621 as has_pep621
from gatekeeper.checkers.inventory.project import project_manifest as project_manifest
from gatekeeper.checkers.inventory.project import project_requirements as project_requirements
from gatekeeper.checkers.inventory.project import setup_cfg_requirements as setup_cfg_requirements
from gatekeeper.checkers.inventory.scope import closure as closure
from gatekeeper.checkers.inventory.scope import file_url_path as file_url_path
from gatekeeper.checkers.inventory.scope import find_project as find_project
from gatekeeper.checkers.inventory.scope import requirers as requirers
from gatekeeper.checkers.inventory.scope import stands_in
from gatekeeper.checkers.inventory.scope import workspace_folders as workspace_folders
from gatekeeper.checkers.inventory.scope import workspace_members as workspace_members
from gatekeeper.errors import GatekeeperError, ToolError

if TYPE_CHECKING:
    from gatekeeper.checkers import probecache
    from gatekeeper.checkers.base import CheckContext

_PROBE = r"""
import importlib.metadata as md, json, os, platform, sys
def env():
    iver = "{0.major}.{0.minor}.{0.micro}".format(sys.implementation.version)
    kind = sys.implementation.version.releaselevel
    if kind != "final":
        iver += kind[0] + str(sys.implementation.version.serial)
    return {
        "implementation_name": sys.implementation.name, "implementation_version": iver,
        "os_name": os.name, "platform_machine": platform.machine(), "platform_release": platform.release(),
        "platform_system": platform.system(), "platform_version": platform.version(),
        "python_full_version": platform.python_version(), "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform,
    }
out, seen, met = [], set(), []
for d in md.distributions():
    met.append(str(getattr(d, "_path", "")))
    m = d.metadata
    name = m["Name"]
    if not name:
        continue
    key = name.lower().replace("_", "-").replace(".", "-")
    if key in seen:
        continue
    seen.add(key)
    base = getattr(d, "_path", None)
    lic_files = []
    if base is not None and os.path.isdir(str(base)):
        for root, dirs, files in os.walk(str(base)):
            for f in files:
                up = f.upper()
                if up.startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE", "COPYRIGHT")):
                    lic_files.append(os.path.join(root, f))
    origin, url = "index", ""
    try:
        direct = json.loads(d.read_text("direct_url.json") or "null")
    except (ValueError, OSError):
        direct = {"dir_info": {}}  # unreadable PEP 610 data: not provably an index release
    if isinstance(direct, dict):
        url = str(direct.get("url", ""))
        if "vcs_info" in direct:
            origin = "vcs"
        elif "dir_info" in direct or url.startswith("file:"):
            origin = "local"
        else:
            origin = "url"
    out.append({
        "name": name, "version": d.version or "", "requires": list(d.requires or []), "origin": origin, "url": url,
        "license": m.get("License") or "", "license_expression": m.get("License-Expression") or "",
        "classifiers": m.get_all("Classifier") or [], "license_files": sorted(lic_files),
        "summary": m.get("Summary") or "", "home_page": m.get("Home-page") or "",
        "location": str(base) if base is not None else "",
    })
def startup():
    # what the interpreter read before any of this ran to make its sys.path: files beside its
    # executables and its libpython (a ._pth file there replaces sys.path; a landmark moves its prefix)
    libs = []
    try:
        with open("/proc/self/maps") as maps:
            libs = sorted({f[5].strip() for f in (l.split(None, 5) for l in maps) if len(f) == 6 and "libpython" in f[5]})
    except OSError:
        pass
    return [p for p in (sys.executable, getattr(sys, "_base_executable", ""), *libs) if p]
read = {"path": sys.path, "looked": globals().get("_gk_looked", []), "distributions": met, "startup": startup()}
print(json.dumps({"python": sys.executable, "markers": env(), "distributions": out, "read": read}))
sys.stdout.flush()
os._exit(0)  # the answer is out: the interpreter's teardown would only free what reading the metadata built
"""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Inventory:
    """The distributions in scope, what the scope left out, and what was declared but missing."""

    python: str
    scope: str
    packages: tuple[Distribution, ...]
    left_out: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    markers: Mapping[str, str] | None = None
    project: Distribution | None = None  # the project's own installed distribution, never one of its packages
    members: tuple[Distribution, ...] = ()  # uv workspace members installed from their folders: the project too

    def get(self, name: str) -> Distribution | None:
        """The distribution called ``name`` (any spelling), if in scope."""
        key = canonicalize_name(name)
        return next((d for d in self.packages if d.key == key), None)

    def member(self, name: str) -> Distribution | None:
        """The uv workspace member called ``name`` (any spelling), installed from its folder, if any."""
        key = canonicalize_name(name)
        return next((d for d in self.members if d.key == key), None)

    def digest(self) -> str:
        """A sha256 over everything known about the packages in scope, for cache keys.

        It covers each distribution's name, version, location and license metadata, and the stat
        data of its license files (size, mtime, ctime, inode, device), so a reinstall or an edited
        license changes it, even one that keeps the file's size and mtime.
        """
        h = hashlib.sha256()
        h.update(f"{self.python}\x1f{self.scope}\x1f".encode())
        for d in self.packages:
            stamps = (cache.file_stamp(f) for f in d.license_files)  # path, size, times, inode, device
            stats = [":".join(str(v) for v in st) if st[1] is not None else f"{st[0]}:missing" for st in stamps]
            fields = (d.name, d.version, d.location, d.license, d.license_expression, *d.classifiers, *stats)
            h.update("\x1f".join(fields).encode("utf-8", "surrogateescape") + b"\x1e")
        return h.hexdigest()

    def describe(self) -> dict[str, Any]:
        """What a check's metrics say about the inventory it used."""
        return {
            "python": self.python,
            "scope": self.scope,
            "packages": len(self.packages),
            "left_out": list(self.left_out),
            "missing": list(self.missing),
            "project": self.project.name if self.project else None,
            "members": [d.name for d in self.members],
        }


def read_environment(ctx: CheckContext, python: str | None = None) -> tuple[str, dict[str, str], list[Distribution]]:
    """Ask the interpreter ``python`` (default: the policy's target) for its distributions."""
    python = python or ctx.target_python
    if not Path(python).exists():
        raise ToolError(f"the environment's interpreter {python} does not exist (check [environment] python)")
    # isolated (-I) and outside the checkout, so that no file of the checkout is imported by the probe;
    # without site (-S), so that no start-up code of the environment (a .pth file's import line) can
    # change what it lists: sitepaths.PRELUDE puts the folders site would add on sys.path
    from gatekeeper.checkers import probecache, sitepaths

    probe = sitepaths.PRELUDE + _PROBE

    def run() -> str:
        with tempfile.TemporaryDirectory(prefix="gatekeeper-probe-") as cwd:
            done = ctx.run([python, *sitepaths.FLAGS, "-c", probe], timeout=120, cwd=cwd)
        if done.returncode != 0:
            raise ToolError(f"could not list the distributions of {python}: {done.stderr.strip()[-400:]}")
        return done.stdout

    reading = probecache.answer(ctx.cache_dir, python, probe, run)  # reused while nothing it read changed
    again = functools.partial(probecache.answer, ctx.cache_dir, python, probe, run)
    readings: list[EnvironmentReading] = ctx.shared(READINGS, list)
    readings.append((python, reading, again))  # confirmed once the checks have ended
    output = reading.output
    try:
        data = json.loads(output)
        dists = [
            Distribution(
                name=str(d["name"]),
                version=str(d["version"]),
                requires=tuple(str(r) for r in d["requires"]),
                license=str(d["license"]),
                license_expression=str(d["license_expression"]),
                classifiers=tuple(str(c) for c in d["classifiers"]),
                license_files=tuple(str(f) for f in d["license_files"]),
                summary=str(d["summary"]),
                home_page=str(d["home_page"]),
                location=str(d["location"]),
                origin=str(d.get("origin", "index")),
                url=str(d.get("url", "")),
            )
            for d in data["distributions"]
        ]
        markers = {str(k): str(v) for k, v in data["markers"].items()}
        return str(data["python"]), markers, sorted(dists, key=lambda d: d.key)
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolError(f"unreadable package listing from {python}: {exc}") from exc


#: one reading of an environment: its interpreter, the probe's answer, and how to ask again
EnvironmentReading = tuple[str, "probecache.Reading", Callable[[], "probecache.Reading"]]
#: the run's shared value (``ctx.shared``) listing each reading of an environment: the interpreter,
#: the ``probecache.Reading``, and how to read it again (``changed_during_run``)
READINGS = "environment-readings"


def changed_during_run(values: Mapping[str, Any]) -> str:
    """Why the environments the run's checks judged are not what they hold now ("" when they are),
    asked once every check has ended: a reading whose files changed since, or while it was read,
    is read again and its listing compared. The tests of ``checks.coverage.run`` run in that
    environment while the checks read it, and could hide a distribution (its ``.dist-info`` renamed
    away) while the probe runs, then put it back. ``values``: the run's shared values."""
    slot = values.get(READINGS)
    readings = slot.get(list) if slot is not None else []
    for python, reading, again in readings:
        if reading.kept(python):
            continue
        try:
            now = again().output
        except GatekeeperError as exc:
            return f"the environment of {python} changed during the run and could not be listed again: {exc}"
        listing = _listing(now)
        if listing is None or listing != _listing(reading.output):
            return (
                f"the environment of {python} changed during the run (the tests of checks.coverage.run run in it): "
                "the distributions installed there now are not those the checks judged"
            )
    return ""


def _listing(output: str) -> Any:
    """The distributions a probe's output lists (None when it cannot be read)."""
    try:
        return json.loads(output)["distributions"]
    except (ValueError, KeyError, TypeError):
        return None


#: gatekeeper's own distribution: tooling of the gate, never a dependency of the project under review.
OWN_DISTRIBUTION = "gatekeeper"


def build_inventory(ctx: CheckContext) -> Inventory:
    """Read the environment and apply the policy's scope (not shared; see ``load_inventory``).

    The project's own distribution, its uv workspace members and gatekeeper's are never packages
    of the inventory: the project is what is reviewed, not one of its dependencies, and gatekeeper
    is the reviewer. They are named in ``project``, ``members`` and ``left_out``, so the narrowing
    is reported. With ``scope = "project"`` the members' requirements are roots of the closure too.
    """
    python, markers, dists = read_environment(ctx)
    scope = str(ctx.environment.get("scope") or "all")
    own, project = find_project(ctx.root, dists)
    if project is not None and stands_in(ctx.root, project, dists):
        own, project = "", None  # a dependency under the project's name: audited as one
    if scope == "all":
        members = tuple(d for d in workspace_members(ctx.root, dists, own) if d.key != own)
        ours = {own} | {d.key for d in members}
        tooling = {OWN_DISTRIBUTION} - ours
        chosen = tuple(d for d in dists if d.key not in ours and d.key not in tooling)
        left_out = tuple(d.name for d in dists if d.key in tooling)
        return Inventory(
            python=python, scope=scope, packages=chosen, left_out=left_out, markers=markers, project=project,
            members=members, missing=_declared_missing(ctx, python, dists, markers, project),
        )  # fmt: skip
    static = (ctx.root / "pyproject.toml").is_file() and has_pep621(ctx.root) and not dynamic_dependencies(ctx.root)
    if static or (project is None and not dynamic_dependencies(ctx.root)):
        _, roots = project_requirements(ctx.root)
    elif project is None:
        raise ToolError(
            'scope = "project": pyproject.toml lists "dependencies" in [project] dynamic (a build backend computes '
            "them, from requirements.txt for instance), and the project is not installed in the environment, whose "
            'metadata would list them: install it there (pip install -e .), or use scope = "all"'
        )
    else:  # a setup.py / setup.cfg project, or dynamic dependencies: its installed metadata lists them
        roots = list(project.requires)
    # every member's requirements are roots; a member stands in for a dependency (and is counted as
    # one) only when a package of that closure requires it, not one the scope leaves out
    roots += [r for d in workspace_members(ctx.root, dists, own, required_by=()) if d.key != own for r in d.requires]
    reachable, missing = closure(roots, dists, markers)
    members = tuple(d for d in workspace_members(ctx.root, dists, own, required_by=reachable) if d.key != own)
    ours = {own} | {d.key for d in members}
    chosen = tuple(d for d in reachable if d.key not in ours)
    kept = {d.key for d in chosen}
    left_out = tuple(d.name for d in dists if d.key not in kept and d.key not in ours)
    return Inventory(
        python=python, scope=scope, packages=chosen, left_out=left_out, missing=tuple(missing), markers=markers,
        project=project, members=members,
    )  # fmt: skip


#: what the three environment checks say of a distribution the project requires that is not installed
NOT_INSTALLED = "required by the project but not installed"


def missing_note(missing: Sequence[str], what: str) -> str:
    """The summary's words on the required distributions not installed (``""`` when none): the same
    in the dependencies, licenses and sbom checks, ``what`` saying what each check could not do."""
    return f"; {len(missing)} {NOT_INSTALLED}, {what}: {', '.join(missing)}" if missing else ""


def _declared_missing(
    ctx: CheckContext, python: str, dists: list[Distribution], markers: Mapping[str, str], project: Distribution | None
) -> tuple[str, ...]:
    """With ``scope = "all"``, the distributions the project requires that the environment does not
    hold: its declared run-time dependencies (pyproject.toml's static ``[project] dependencies``,
    else its installed distribution's requirements, else setup.cfg's ``install_requires``) and what
    the installed ones of them require, markers evaluated for the environment's interpreter, extras
    only where a requirement selects them. No package of them was read, so none is clean: each is
    unaudited and its license unknown. The project itself is never one. In gatekeeper's own
    environment without the project, every installed package is gatekeeper's (``_missing_from_own``)."""
    from gatekeeper.interpreter import runs_gatekeeper

    if project is None and runs_gatekeeper(Path(python)):
        return _missing_from_own(ctx, dists, markers)
    if (ctx.root / "pyproject.toml").is_file() and has_pep621(ctx.root) and not dynamic_dependencies(ctx.root):
        try:
            _, roots = project_requirements(ctx.root)
        except ToolError:
            return ()  # an unreadable pyproject.toml: the checks that read it report it
    elif project is not None:
        roots = list(project.requires)
    elif (ctx.root / "pyproject.toml").is_file() and has_pep621(ctx.root):  # dynamic, and the project not installed
        found = dynamic_file_requirements(ctx.root)
        if found is None:
            raise ToolError(
                'pyproject.toml lists "dependencies" in [project] dynamic (a build backend computes them), the project '
                "is not installed in the environment, whose metadata would list them, and no file names them "
                "([tool.setuptools.dynamic] dependencies = { file = [...] }): which of them the environment lacks, "
                "unaudited and of unknown license, cannot be told; install the project there without its dependencies "
                "(pip install --no-deps -e .), or declare them in [project] dependencies"
            )
        roots = found
    else:
        roots = setup_cfg_requirements(ctx.root)
    own = declared_name(ctx.root) or (project.key if project is not None else "")
    member_roots, members = _member_requirements(ctx.root, dists)
    ours = {own, *members}
    return tuple(name for name in closure([*roots, *member_roots], dists, markers)[1] if name not in ours)


def _member_requirements(root: Path, dists: Sequence[Distribution]) -> tuple[list[str], set[str]]:
    """The requirements of the members of the project's uv workspace (a virtual root has none of its
    own: its members' are the project's), and the members' names (the project's own code, never
    missing): an installed member's, as its metadata lists them; else its pyproject.toml's static
    ``[project] dependencies`` or the files ``[tool.setuptools.dynamic]`` names. ``ToolError`` for a
    member not installed whose dependencies are dynamic and named by no file (which cannot be told)."""
    roots: list[str] = []
    names: set[str] = set()
    installed = {file_url_path(d.url): d for d in dists if d.origin == "local"}
    for folder in sorted(workspace_folders(root)):
        name = declared_name(folder)
        names.update({name} - {""})
        dist = installed.get(folder)
        if dist is not None:
            names.add(dist.key)
            roots += dist.requires
        elif has_pep621(folder) and dynamic_dependencies(folder):
            found = dynamic_file_requirements(folder)
            if found is None:
                where = folder.relative_to(root.resolve()).as_posix()
                raise ToolError(
                    f'the uv workspace member {where} lists "dependencies" in [project] dynamic, is not installed in '
                    "the environment, whose metadata would list them, and no file names them: which of them the "
                    "environment lacks cannot be told; install it there (uv sync, or pip install --no-deps -e "
                    f"{where}), or declare them in its [project] dependencies"
                )
            roots += found
        elif has_pep621(folder):
            try:
                roots += project_requirements(folder)[1]
            except ToolError:
                continue  # an unreadable member pyproject.toml: nothing it requires can be named
    return roots, names


def _missing_from_own(ctx: CheckContext, dists: list[Distribution], markers: Mapping[str, str]) -> tuple[str, ...]:
    """With ``scope = "all"`` in gatekeeper's own environment (no project environment was found, or the
    policy names gatekeeper's), the project's declared run-time dependencies not installed there: every
    installed package is gatekeeper's, so a clean audit of them says nothing of the project's own, which
    are then unaudited, as with ``scope = "project"``. Empty for a project whose ``pyproject.toml`` has
    no ``[project]`` table. ``ToolError`` when that table says a
    build backend computes them (``dynamic``): nothing tells which they are without running it, so an
    inventory of gatekeeper's packages would pass for the project's, as ``scope = "project"`` refuses."""
    if not has_pep621(ctx.root):
        return ()
    if dynamic_dependencies(ctx.root):
        raise ToolError(
            'pyproject.toml lists "dependencies" in [project] dynamic (a build backend computes them, from '
            "requirements.txt for instance), and the environment inspected is gatekeeper's own, where the project "
            "is not installed: its packages are gatekeeper's, and the project's own dependencies would be checked "
            "nowhere; name the project's environment ([environment] python, $VIRTUAL_ENV or a .venv/), or run "
            "gatekeeper through the tool that keeps it (hatch run ENV:gatekeeper check, poetry run gatekeeper check)"
        )
    try:
        _, roots = project_requirements(ctx.root)
    except ToolError:
        return ()  # no pyproject.toml, or one pip could not read either
    return tuple(closure(roots, dists, markers)[1])


def load_inventory(ctx: CheckContext) -> Inventory:
    """The run's inventory, built by the first checker that asks and shared with the others."""
    return ctx.shared("inventory", lambda: build_inventory(ctx))
