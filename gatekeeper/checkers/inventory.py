"""The package inventory of the inspected environment, read once per run and shared.

The dependencies, sbom and licenses checkers all look at the same environment (the policy's
``[environment]``): its interpreter is asked once, in a subprocess, for every installed
distribution's metadata, and the scope (``all`` or the ``project``'s dependency closure) is
applied here so the three checkers agree on what they inspect. The interpreter's answer is
reused from the cache while nothing it was read from has changed (``probecache``).
"""

from __future__ import annotations

import configparser
import functools
import hashlib
import json
import re
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from gatekeeper import tomlio
from gatekeeper.checkers import cache
from gatekeeper.errors import GatekeeperError, ToolError
from gatekeeper.fileio import url_path

if TYPE_CHECKING:  # packaging's requirement and marker grammar (about 10 ms) loads where one is read
    from packaging.markers import Marker
    from packaging.requirements import Requirement

    from gatekeeper.checkers import probecache
    from gatekeeper.checkers.base import CheckContext

# Runs inside the inspected interpreter: standard library only (it may be any Python >= 3.8).
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
class Distribution:
    """One installed distribution, as its metadata describes it."""

    name: str
    version: str
    requires: tuple[str, ...] = ()
    license: str = ""
    license_expression: str = ""
    classifiers: tuple[str, ...] = ()
    license_files: tuple[str, ...] = ()
    summary: str = ""
    home_page: str = ""
    location: str = ""
    origin: str = "index"  # PEP 610: "index" (no direct_url.json), "local" (a folder or file), "vcs", "url"
    url: str = ""  # PEP 610: where it was installed from (direct_url.json's url), "" for an index release

    @property
    def key(self) -> str:
        """The PEP 503 normalised name."""
        return canonicalize_name(self.name)


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


def project_requirements(root: Path) -> tuple[str, list[str]]:
    """The project's name and ``[project] dependencies`` from pyproject.toml."""
    path = root / "pyproject.toml"
    if not path.is_file():
        raise ToolError(f'scope = "project" needs {path}, which does not exist (or use scope = "all")')
    try:
        doc = tomlio.loads(path.read_text(encoding="utf-8"))
    except (tomlio.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ToolError(f"cannot read {path}: {exc}") from exc
    project = doc.get("project") or {}
    deps = project.get("dependencies") or []
    if not isinstance(deps, list):
        raise ToolError(f"{path}: [project] dependencies must be a list")
    return str(project.get("name") or ""), [str(d) for d in deps]


def declared_lines(pyproject: Path) -> dict[str, int]:
    """Canonical name -> the line of pyproject.toml that declares it in ``[project] dependencies``
    (the first, when it is declared twice); {} when the file is missing or unreadable."""
    if not pyproject.is_file():
        return {}
    try:
        _, deps = project_requirements(pyproject.parent)
        lines = pyproject.read_text(encoding="utf-8").splitlines()
    except (ToolError, OSError, UnicodeDecodeError):
        return {}
    start = _dependencies_line(lines)
    out: dict[str, int] = {}
    for text in deps:
        req = _parse(text)
        if req is None:
            continue
        for i in range(start, len(lines)):
            if f'"{text}"' in lines[i] or f"'{text}'" in lines[i]:
                out.setdefault(canonicalize_name(req.name), i + 1)
                break
    return out


def _dependencies_line(lines: Sequence[str]) -> int:
    """The index of the ``dependencies = [`` line in the ``[project]`` table (0 when not found)."""
    table = ""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            table = stripped.split("#", 1)[0].strip().strip("[] ")
        elif table == "project" and re.match(r"dependencies\s*=", stripped):
            return i
    return 0


def closure(
    roots: Iterable[str], dists: Iterable[Distribution], markers: Mapping[str, str]
) -> tuple[list[Distribution], list[str]]:
    """Installed distributions reachable from requirement strings ``roots``, following extras.

    Returns (reachable distributions, requirement names that are not installed).
    """
    by_key = {d.key: d for d in dists}
    wanted: list[tuple[str, frozenset[str]]] = []
    for text in roots:
        req = _parse(text)
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
            req = _parse(text)
            if req is None:
                continue
            needed = first and _applies(req, markers, "")
            needed = needed or any(_applies(req, markers, extra) for extra in new_extras)
            if needed:
                wanted.append((canonicalize_name(req.name), frozenset(req.extras)))
    return [by_key[k] for k in sorted(seen)], sorted(missing)


def _parse(text: str) -> Requirement | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


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


def declared_name(root: Path) -> str:
    """The project's name (PEP 503) as its files declare it: pyproject.toml's ``[project] name``,
    else setup.cfg's ``[metadata] name``; "" when neither says (e.g. a name set only in setup.py)."""
    path = root / "pyproject.toml"
    if path.is_file():
        try:
            doc = tomlio.loads(path.read_text(encoding="utf-8"))
        except (tomlio.TOMLDecodeError, UnicodeDecodeError, OSError):
            doc = {}
        project = doc.get("project")
        if isinstance(project, dict) and isinstance(project.get("name"), str) and project["name"]:
            return canonicalize_name(project["name"])
    cfg = root / "setup.cfg"
    if cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(cfg.read_text(encoding="utf-8"))
            name = parser.get("metadata", "name", fallback="").strip()
        except (configparser.Error, UnicodeDecodeError, OSError):
            name = ""
        if name and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            return canonicalize_name(name)
    return ""


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


def _stands_in(root: Path, project: Distribution, dists: Sequence[Distribution]) -> bool:
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


def project_manifest(root: Path) -> str:
    """The project file a package finding without a place of its own points at: the one that
    declares the project (pyproject.toml with a ``[project]`` table, setup.cfg with ``[metadata]``
    or ``[options]``, else setup.py), else the first of them that exists; "" when there is none.
    A setup.py project's pyproject.toml that holds only ``[build-system]`` and tool settings, or
    its setup.cfg of ``[bdist_wheel]`` and ``[flake8]``, declares no dependency."""
    present = [name for name in ("pyproject.toml", "setup.cfg", "setup.py") if (root / name).is_file()]
    for name in present:
        if name == "setup.py" or _declares_project(root / name):
            return name
    return present[0] if present else ""


def _declares_project(path: Path) -> bool:
    """Whether pyproject.toml has a ``[project]`` table, or setup.cfg a ``[metadata]`` or ``[options]`` section
    (a file that cannot be read is taken to declare it, as before: it is the file to look at)."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.name == "pyproject.toml":
            return isinstance(tomlio.loads(text).get("project"), dict)
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
    except (tomlio.TOMLDecodeError, configparser.Error, UnicodeDecodeError, OSError):
        return True
    return parser.has_section("metadata") or parser.has_section("options")


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
    if project is not None and _stands_in(ctx.root, project, dists):
        own, project = "", None  # a dependency under the project's name: audited as one
    if scope == "all":
        members = tuple(d for d in workspace_members(ctx.root, dists, own) if d.key != own)
        ours = {own} | {d.key for d in members}
        tooling = {OWN_DISTRIBUTION} - ours
        chosen = tuple(d for d in dists if d.key not in ours and d.key not in tooling)
        left_out = tuple(d.name for d in dists if d.key in tooling)
        return Inventory(
            python=python, scope=scope, packages=chosen, left_out=left_out, markers=markers, project=project,
            members=members,
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


def dynamic_dependencies(root: Path) -> bool:
    """Whether pyproject.toml's ``[project]`` lists ``dependencies`` in ``dynamic``: the build
    backend computes them, so the table does not hold them (False when the file cannot be read)."""
    try:
        doc = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (tomlio.TOMLDecodeError, UnicodeDecodeError, OSError):
        return False
    project = doc.get("project")
    dynamic = project.get("dynamic") if isinstance(project, dict) else None
    return isinstance(dynamic, list) and "dependencies" in dynamic


def has_pep621(root: Path) -> bool:
    """Whether pyproject.toml has a PEP 621 ``[project]`` table."""
    try:
        doc = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (tomlio.TOMLDecodeError, UnicodeDecodeError, OSError):
        return True  # let project_requirements report the unreadable file
    return isinstance(doc.get("project"), dict)


def load_inventory(ctx: CheckContext) -> Inventory:
    """The run's inventory, built by the first checker that asks and shared with the others."""
    return ctx.shared("inventory", lambda: build_inventory(ctx))
