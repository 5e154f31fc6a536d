"""uv.lock (uv's universal lock file, ``version = 1``): the workspace members and what they need.

uv locks every package any platform could need, with a marker on each dependency edge. The
packages that count are those reached from the workspace members (``[manifest] members``, or
the one project at ``.``) through edges whose markers hold for the target, starting from the
members' run-time dependencies plus the extras (``optional-dependencies``) and dependency groups
(``dev-dependencies``; a virtual root's, which has no entry, in ``[manifest] dependency-groups``)
the selection names. https://docs.astral.sh/uv/concepts/projects/layout/
A member that a package from outside the workspace depends on (a member named after that
dependency, which uv then resolves to the member) is counted as a package built from its folder,
and so is one whose folder the project's ``[tool.uv.workspace]`` does not declare (the lock is
the pull request's text: ``uv sync --frozen`` installs what it says).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    is_project_folder,
    project_folders,
    read_toml,
    require_known,
)

FORMAT = "uv.lock"
_LOCAL = ("editable", "virtual", "directory", "path")


def recognise(name: str) -> bool:
    """The file name uv writes."""
    return name == "uv.lock"


def looks_like(data: Mapping[str, Any]) -> bool:
    """A uv lock: an integer ``version`` and ``[[package]]`` entries, each with a ``source`` table."""
    packages = data.get("package", [])
    return (
        isinstance(data.get("version"), int)
        and isinstance(packages, list)
        and all(isinstance(p, dict) and isinstance(p.get("source"), dict) for p in packages)
    )


def read(path: Path, selection: Selection, project: str = "") -> Lock:
    """The packages the members need for ``selection``; LockError naming file and line otherwise."""
    data = read_toml(path, FORMAT)
    if not looks_like(data):
        raise LockError(f"{path.name} is not a uv lock file (no integer 'version' with [[package]] entries that have a source)")
    table = entries(data, path, "package", FORMAT)
    graph = _Graph(path, table)
    manifest = data.get("manifest")
    manifest = manifest if isinstance(manifest, dict) else {}
    names = {canonicalize_name(str(m)) for m in manifest.get("members") or []}
    ours = project_folders(path.parent)  # a member the lock names is one only where the project declares it
    members = [
        i
        for i, (_, e) in enumerate(table)
        if _origin(e) == "directory"
        and canonicalize_name(e["name"]) in names
        and is_project_folder(path.parent, _folder(e), ours)
    ]
    if not names:
        members = [i for i, (_, e) in enumerate(table) if _source_path(e) == "."]
    if not members:
        raise LockError(f"{path.name}: no workspace member (no [manifest] members, no package whose source is '.')")
    # a virtual workspace root (no [project]) has no entry: its dependency groups, which uv sync installs
    # as it installs a member's, are requirements in [manifest] dependency-groups
    root_groups = _table(manifest, "dependency-groups", path, None)
    groups = sorted({g for i in members for g in _table(table[i][1], "dev-dependencies", path, table[i][0])} | set(root_groups))
    extras = sorted({x for i in members for x in _table(table[i][1], "optional-dependencies", path, table[i][0])})
    require_known(selection.groups, groups, "dependency group", path)
    require_known(selection.extras, extras, "extra", path)
    for i in members:
        line, entry = table[i]
        deps = list(_deps(entry.get("dependencies"), path, line))
        optional = _table(entry, "optional-dependencies", path, line)
        dev = _table(entry, "dev-dependencies", path, line)
        deps += [d for x in selection.extras for d in optional.get(x, [])]
        deps += [d for g in selection.groups for d in dev.get(g, [])]
        graph.visit(i, deps, selection)
    for g in selection.groups:
        graph.requirements(root_groups.get(g, []), selection)
    # a member that a package from outside the workspace depends on stands in for a dependency of
    # that name (uv resolves Flask's jinja2 to a member called jinja2): it is counted, built from a folder
    members = [i for i in members if not any(i in ts for o, ts in graph.edges.items() if o not in members)]
    counted = [graph.package(i) for i in sorted(graph.reached) if i not in members]
    return Lock(
        path=path,
        format=FORMAT,
        packages=tuple(counted),
        members=tuple(graph.package(i) for i in members),
        entries=len(table),
        groups=tuple(groups + [f"extra:{x}" for x in extras]),
    )


class _Graph:
    """Walks dependency edges from the members, evaluating each edge's marker once per (entry, extra)."""

    def __init__(self, path: Path, table: Sequence[tuple[int | None, dict[str, Any]]]) -> None:
        self.path = path
        self.table = table
        self.by_name: dict[str, list[int]] = {}
        for i, (_, e) in enumerate(table):
            self.by_name.setdefault(canonicalize_name(e["name"]), []).append(i)
        self.reached: set[int] = set()
        self.edges: dict[int, set[int]] = {}
        self._done: set[tuple[int, str]] = set()

    def visit(self, start: int, deps: list[dict[str, Any]], selection: Selection) -> None:
        """Reach, from entry ``start`` through ``deps``, every entry whose edges' markers hold."""
        self.reached.add(start)
        work: list[tuple[int, list[dict[str, Any]]]] = [(start, deps)]
        while work:
            origin, edges = work.pop()
            for dep in edges:
                if not selection.applies(dep.get("marker")):
                    continue
                target = self._resolve(dep, self.table[origin][0])
                self.edges.setdefault(origin, set()).add(target)
                line, entry = self.table[target]
                wanted = [("", list(_deps(entry.get("dependencies"), self.path, line)))]
                optional = _table(entry, "optional-dependencies", self.path, line)
                wanted += [(x, optional.get(x, [])) for x in dep.get("extra") or []]
                self.reached.add(target)
                for extra, more in wanted:
                    if (target, extra) not in self._done:
                        self._done.add((target, extra))
                        work.append((target, more))

    def requirements(self, reqs: list[dict[str, Any]], selection: Selection) -> None:
        """Reach what the requirements of a virtual root's dependency group need: each names a package,
        not a locked version; of a package locked twice (a forked resolution), the entry whose
        ``resolution-markers`` hold for the target."""
        for req in reqs:
            if not selection.applies(req.get("marker")):
                continue
            found = self.by_name.get(canonicalize_name(str(req["name"])), [])
            if len(found) > 1:
                found = [
                    i for i in found if any(selection.applies(str(m)) for m in self.table[i][1].get("resolution-markers") or [""])
                ]
            if len(found) != 1:
                what = "no entry" if not found else f"{len(found)} entries"
                raise LockError(f"{self.path.name}: dependency group requirement {req['name']!r} matches {what} in the lock")
            line, entry = self.table[found[0]]
            optional = _table(entry, "optional-dependencies", self.path, line)
            extras = req.get("extras") or req.get("extra") or []
            deps = list(_deps(entry.get("dependencies"), self.path, line))
            deps += [d for x in extras for d in optional.get(str(x), [])]
            self.visit(found[0], deps, selection)

    def _resolve(self, dep: Mapping[str, Any], line: int | None) -> int:
        name = canonicalize_name(str(dep.get("name", "")))
        found = self.by_name.get(name, [])
        if len(found) > 1:  # a forked resolution: the edge names the version (and source) it means
            found = [i for i in found if "version" not in dep or self.table[i][1].get("version") == dep["version"]]
            found = [i for i in found if "source" not in dep or self.table[i][1].get("source") == dep["source"]]
        if len(found) != 1:
            what = "no entry" if not found else f"{len(found)} entries"
            raise LockError(f"{self.path.name}:{line or '?'}: dependency {name!r} matches {what} in the lock")
        return found[0]

    def package(self, i: int) -> LockedPackage:
        """The entry as a LockedPackage, its dependencies those of its edges that were reached."""
        line, e = self.table[i]
        version = e.get("version")
        if version is None and _origin(e) == "registry":
            raise LockError(f"{self.path.name}:{line or '?'}: package {e['name']!r} from an index has no version")
        hashes = [str(e["sdist"].get("hash", ""))] if isinstance(e.get("sdist"), dict) else []
        hashes += [str(w.get("hash", "")) for w in e.get("wheels") or [] if isinstance(w, dict)]
        deps = sorted(_ref(self.table[t][1]) for t in self.edges.get(i, ()))
        return LockedPackage(str(e["name"]), str(version or ""), line, _origin(e), hash_pairs(hashes), tuple(deps))


def _ref(entry: Mapping[str, Any]) -> str:
    return f"{canonicalize_name(entry['name'])}@{entry.get('version', '')}"


def _origin(entry: Mapping[str, Any]) -> str:
    source = entry.get("source") or {}
    if "registry" in source:
        return "registry"
    if "git" in source:
        return "git"
    if "url" in source:
        return "url"
    return "directory" if any(k in source for k in _LOCAL) else "unknown"


def _folder(entry: Mapping[str, Any]) -> str:
    """The folder a local entry's ``source`` names (``editable``, ``virtual``, ``directory`` or ``path``)."""
    source = entry.get("source") or {}
    return next((str(source[k]) for k in _LOCAL if k in source), "")


def _source_path(entry: Mapping[str, Any]) -> str:
    source = entry.get("source") or {}
    return next((str(source[k]) for k in ("editable", "virtual") if k in source), "")


def _deps(value: Any, path: Path, line: int | None) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(d, dict) and isinstance(d.get("name"), str) for d in value):
        raise LockError(f"{path.name}:{line or '?'}: 'dependencies' is not a list of {{ name = ... }} tables")
    return value


def _table(entry: Mapping[str, Any], key: str, path: Path, line: int | None) -> dict[str, list[dict[str, Any]]]:
    value = entry.get(key) or {}
    if not isinstance(value, dict):
        raise LockError(f"{path.name}:{line or '?'}: '{key}' is not a table")
    return {str(k): _deps(v, path, line) for k, v in value.items()}
