"""Lock files as inputs of the dependencies, sbom and licenses checks, read without installing anything.

``formats()`` lists one reader module per format (``uv``, ``pylock``, ``poetry``, ``pdm``); each has
``FORMAT`` (its name in messages), ``recognise(file_name)``, ``looks_like(document)`` and
``read(path, selection[, project])`` returning a ``model.Lock``. A file is read as a format only
when both its name and its content say so: a lock file is never read as a requirements file, nor
a requirements file as a lock. Adding a format is one module and one entry in ``formats()``.
``source_problem`` is the name check the policy applies to every ``source`` setting.

The readers, ``model`` (and packaging, which they use) are imported when a lock or a name is first
looked at, not with this package: loading a checker only needs ``LOCK_OPTIONS``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from gatekeeper.checkers.lockfiles.platforms import PLATFORMS
from gatekeeper.options import Option

if TYPE_CHECKING:
    from gatekeeper.checkers.lockfiles.model import Lock, LockedPackage, Selection

__all__ = [
    "LOCK_OPTIONS",
    "PLATFORMS",
    "content_problem",
    "format_of",
    "formats",
    "is_requirements_name",
    "left_in_lock",
    "read_lock",
    "requirements_problem",
    "selection_of",
    "source_problem",
    "toml_line_problem",
]


@functools.cache
def formats() -> tuple[ModuleType, ...]:
    """The reader modules, one per lock format, in the order a file name is tried."""
    from gatekeeper.checkers.lockfiles import pdm, poetry, pylock, uv

    return (uv, pylock, poetry, pdm)


#: The policy keys that choose what of a lock file counts (the dependencies, sbom and licenses checks).
LOCK_OPTIONS: Mapping[str, Option] = {
    "groups": Option(
        "str_list",
        [],
        "lock files: the dependency groups that count besides the run-time dependencies (those left out are "
        "named, with their packages, in the summary and the lock metric)",
    ),
    "extras": Option("str_list", [], "lock files: the project's extras that count"),
    "target_python": Option("str", "", 'lock files: markers are evaluated for this Python ("3.12"); empty: the running one'),
    "target_platform": Option(
        "str", "", "lock files: markers are evaluated for this platform; empty: the running one", choices=("", *PLATFORMS)
    ),
}


@functools.cache
def _requirements() -> re.Pattern[str]:
    return re.compile(r"^(requirements|constraints|reqs?)\b.*|.*\.(txt|in|pip)$", re.IGNORECASE)


def format_of(name: str) -> ModuleType | None:
    """The reader for a file called ``name``, or None when no lock format uses that name."""
    return next((f for f in formats() if f.recognise(name)), None)


def is_requirements_name(name: str) -> bool:
    """Whether ``name`` is a requirements file's (``*.txt``, ``*.in``, ``*.pip``, ``requirements*``, ``constraints*``)."""
    return bool(_requirements().match(name))


@functools.cache
def _toml_line() -> re.Pattern[str]:
    """A TOML table header or a key = value line: never a requirement, option or include."""
    return re.compile(r"^(\[\[?\s*[\w.\-\" ]+\s*\]\]?|[\w.-]+\s*=(?!=)\s*([\"'\[{]|true\b|false\b|\d))")


def toml_line_problem(rel: str, lineno: int, text: str) -> str:
    """Why line ``lineno`` (``text``, comments stripped) of the requirements file ``rel`` shows that the
    file is TOML (a lock file under another name), or "": read line by line, a lock would become one
    "unaudited package" per line and audit nothing."""
    if not _toml_line().match(text):
        return ""
    return (
        f"{rel}:{lineno} is not a requirements file: this line is TOML (a lock file is read under the "
        "name its tool writes: uv.lock, pylock.toml, poetry.lock, pdm.lock)"
    )


def requirements_problem(path: Path, rel: str) -> str:
    """The first ``toml_line_problem`` of the requirements file at ``path`` ("" when none, or unreadable)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    for number, line in enumerate(lines, 1):
        text = re.sub(r"(^|\s)#.*$", "", line).strip()
        if text and (problem := toml_line_problem(rel, number, text)):
            return problem
    return ""


def source_problem(setting: str) -> str:
    """Why the ``source`` setting names nothing gatekeeper reads ("" when it does): the environment,
    pyproject.toml, a requirements file or a lock file, recognised by its name."""
    name = Path(setting).name
    if setting == "environment" or name == "pyproject.toml" or format_of(name) or is_requirements_name(name):
        return ""
    return (
        f"{setting!r} is neither the environment, pyproject.toml, a requirements file (*.txt, *.in, requirements*) "
        "nor a lock file gatekeeper reads (uv.lock, pylock.toml, pylock.*.toml, poetry.lock, pdm.lock)"
    )


def selection_of(section: Mapping[str, Any]) -> Selection:
    """The groups, extras and target interpreter and platform a check's policy section chooses."""
    from gatekeeper.checkers.lockfiles.model import LockError, Selection, target_environment

    python = str(section.get("target_python") or "")
    if python and not re.fullmatch(r"\d+\.\d+(\.\d+)?", python):
        raise LockError(f'target_python = {python!r} is not a Python version such as "3.12"')
    return Selection(
        groups=tuple(str(g) for g in section.get("groups") or ()),
        extras=tuple(str(x) for x in section.get("extras") or ()),
        environment=target_environment(python, str(section.get("target_platform") or "")),
    )


def content_problem(path: Path, rel: str) -> str:
    """Why the file a ``source`` setting names is not of the kind its name says ("" when it is, or
    when it does not exist: the check reports that): what ``policy validate`` reports."""
    from gatekeeper.checkers.lockfiles.model import LockError, read_toml

    if not path.is_file():
        return ""
    reader = format_of(path.name)
    if reader is None:
        return requirements_problem(path, rel) if is_requirements_name(path.name) else ""
    try:
        data = read_toml(path, reader.FORMAT)
    except LockError as exc:
        return str(exc)
    return "" if reader.looks_like(data) else f"{rel} is not a {reader.FORMAT} file: its content is not of that format"


def read_lock(path: Path, selection: Selection, project: str = "") -> Lock:
    """The lock at ``path`` read by the format its name names, for ``selection``; LockError when the
    name is no lock's, the content is not of that format, or an entry cannot be read."""
    from gatekeeper.checkers.lockfiles.model import LockError

    reader = format_of(path.name)
    if reader is None:
        raise LockError(f"{path.name} is not the name of a lock file gatekeeper reads")
    if not path.is_file():
        raise LockError(f"{path.name} does not exist")
    lock: Lock = reader.read(path, selection, project)
    stale = _not_locked(lock, selection)
    if stale:
        raise LockError(stale)
    return lock


_RELOCK = {"uv.lock": "uv lock", "poetry.lock": "poetry lock", "pdm.lock": "pdm lock", "pylock.toml": "uv export"}


def _not_locked(lock: Lock, selection: Selection) -> str:
    """Why the lock is not the lock of the pyproject.toml beside it ("" when it is, or when there is
    none): a run-time
    dependency (or one of a selected extra or dependency group) whose marker holds on the target that
    the lock counts no package of, or counts at a version the requirement excludes; for a uv.lock, of
    each workspace member's pyproject.toml too; for a poetry.lock, of ``[tool.poetry.dependencies]``
    when ``[project]`` states none (``poetrydeps``) and of the selected ``[tool.poetry.group]``s. Such
    a lock is stale: ``uv sync`` (without --locked) or ``pip install .`` installs what pyproject.toml
    asks, and an audit of the lock would judge something else."""
    from packaging.utils import canonicalize_name

    if lock.format == "pylock.toml" and lock.path.name != "pylock.toml":
        return ""  # a named lock (PEP 751's pylock.NAME.toml) may lock a part of the project on purpose
    folder = lock.path.parent
    doc = _pyproject(folder / "pyproject.toml")
    if doc is None:
        return ""
    locked: dict[str, list[LockedPackage]] = {}
    for pkg in (*lock.packages, *lock.members):
        locked.setdefault(pkg.key, []).append(pkg)
    members = {m.key for m in lock.members}
    manifests = [("pyproject.toml", doc)]
    if lock.format == "uv.lock":  # uv sync installs what every member's pyproject.toml asks
        manifests += [
            (f"{m}/pyproject.toml", d) for m in _uv_members(folder, doc) if (d := _pyproject(folder / m / "pyproject.toml"))
        ]
    root_sources = _uv_sourced(doc) if lock.format == "uv.lock" else {}
    overrides = _uv_overrides(doc) if lock.format == "uv.lock" else []
    # uv resolves a package the root's [tool.uv] override-dependencies name by them alone, whatever the
    # requirements say: the lock is held to each override of a package it has, not to those requirements
    overridden = {key for key, text in overrides if selection.applies(text.split(";", 1)[1] if ";" in text else None, ("",))}
    for name, manifest in manifests:
        # uv installs a requirement [tool.uv.sources] (the member's, else the root's) gives a url, a git
        # repository or a path from there, not from an index; Poetry one [tool.poetry.dependencies] does
        sourced = {**root_sources, **_uv_sourced(manifest)} if lock.format == "uv.lock" else {}
        table = manifest.get("project")
        table = table if isinstance(table, dict) else None
        static = table is not None and "dependencies" not in (table.get("dynamic") or ())
        # the groups count without a static [project] too: a virtual workspace root has none, and PEP 735
        # groups are never dynamic; uv sync installs them whatever [project] says
        wanted = _wanted(table if static else None, manifest, selection, name)
        if lock.format == "poetry.lock":  # poetry-core reads [tool.poetry.dependencies] when [project] states none
            from gatekeeper.checkers.lockfiles.poetrydeps import declared

            stated = table is not None and ("dependencies" in table or "optional-dependencies" in table)
            wanted += declared(manifest, selection, name, run_time=not stated)
            from gatekeeper.checkers.lockfiles.poetrydeps import sourced as poetry_sourced

            # the table's own requirements, or [project]'s it gives their sources (Poetry 2's way)
            sourced = poetry_sourced(manifest, selection)
        tool = manifest.get("tool")
        poetry = tool.get("poetry") if isinstance(tool, dict) else None
        own = canonicalize_name(str((table or {}).get("name") or (poetry.get("name") if isinstance(poetry, dict) else "")))
        if name == "pyproject.toml":
            wanted += [(text, ("",), "its [tool.uv] override-dependencies ask") for key, text in overrides if key in locked]
        for text, extras, whose in wanted:
            if overridden and "override-dependencies" not in whose and _name_of(text) in overridden:
                continue
            problem = _unmet(lock, selection, (text, extras, whose), (locked, members, sourced), (name, own))
            if problem:
                return problem
    return ""


def _pyproject(path: Path) -> dict[str, Any] | None:
    from gatekeeper import tomlio

    try:
        return tomlio.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError):
        return None


def _uv_overrides(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, text) of each of the root's ``[tool.uv] override-dependencies`` that parses."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    tool = doc.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    found: list[tuple[str, str]] = []
    for text in (uv.get("override-dependencies") if isinstance(uv, dict) else None) or ():
        try:
            found.append((canonicalize_name(Requirement(text).name), text))
        except (InvalidRequirement, TypeError):
            continue
    return found


def _name_of(text: str) -> str:
    """The normalised name of a requirement's text ("" when it does not parse)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(text.split(" || ")[0]).name)
    except InvalidRequirement:
        return ""


def _uv_sourced(doc: Mapping[str, Any]) -> dict[str, str]:
    """The names ``[tool.uv.sources]`` gives a url, a git repository or a path (in any of its
    entries), each with the table that says so."""
    from gatekeeper.checkers.lockfiles.model import sourced_in

    tool = doc.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return sourced_in(uv.get("sources") if isinstance(uv, dict) else None, "[tool.uv.sources]")


def _uv_members(folder: Path, doc: Mapping[str, Any]) -> list[str]:
    """The member folders (relative, posix) ``[tool.uv.workspace]`` declares, the root left out."""
    tool = doc.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    workspace = uv.get("workspace") if isinstance(uv, dict) else None
    if not isinstance(workspace, dict):
        return []
    found: set[str] = set()
    for key in ("members", "exclude"):
        names: set[str] = set()
        for pattern in workspace.get(key) or ():
            if isinstance(pattern, str) and pattern and not pattern.startswith(("/", "~")) and ".." not in pattern.split("/"):
                try:
                    matched = list(folder.glob(pattern))
                except ValueError as exc:  # "**x": uv refuses it too
                    from gatekeeper.checkers.lockfiles.model import LockError

                    raise LockError(f"pyproject.toml [tool.uv.workspace] {key}: {pattern!r} is no glob: {exc}") from None
                names |= {p.relative_to(folder).as_posix() for p in matched if (p / "pyproject.toml").is_file()}
        found = names if key == "members" else found - names
    return sorted(found - {"."})


def _wanted(
    table: Mapping[str, Any] | None, doc: Mapping[str, Any], selection: Selection, name: str
) -> list[tuple[str, tuple[str, ...], str]]:
    """The requirements of a pyproject.toml the selection counts: (text, extras its marker is evaluated
    for, who asks it), the run-time ones, the selected extras' and the selected dependency groups'
    (PEP 735 ``[dependency-groups]`` with their ``include-group``, uv's ``dev-dependencies`` as dev, PDM's);
    ``table``: the static ``[project]`` table, ``None`` when there is none (a virtual workspace root) or its
    dependencies are dynamic: the groups alone."""
    table = table or {}
    wanted: list[tuple[str, tuple[str, ...], str]] = [
        (d, ("",), f"{name} requires") for d in table.get("dependencies") or () if isinstance(d, str)
    ]
    optional = table.get("optional-dependencies")
    if isinstance(optional, dict):
        for extra in selection.extras:
            wanted += [(d, (extra,), f"{name} requires") for d in optional.get(extra) or () if isinstance(d, str)]
    groups = doc.get("dependency-groups")
    groups = groups if isinstance(groups, dict) else {}
    tool = doc.get("tool")
    tool = tool if isinstance(tool, dict) else {}
    uv, pdm = tool.get("uv"), tool.get("pdm")
    legacy_uv = uv.get("dev-dependencies") if isinstance(uv, dict) else None
    legacy_pdm = pdm.get("dev-dependencies") if isinstance(pdm, dict) else None
    for group in selection.groups:
        texts = _group(groups, group, set())
        if group == "dev" and isinstance(legacy_uv, list):
            texts += [d for d in legacy_uv if isinstance(d, str)]
        if isinstance(legacy_pdm, dict) and isinstance(legacy_pdm.get(group), list):
            texts += [d for d in legacy_pdm[group] if isinstance(d, str)]
        whose = "its group" if name == "pyproject.toml" else f"{name}'s group"
        wanted += [(d, ("",), f"{whose} {group} requires") for d in texts]
    return wanted


def _group(groups: Mapping[str, Any], group: str, seen: set[str]) -> list[str]:
    """The requirements of a PEP 735 dependency group, its ``include-group`` entries followed."""
    from packaging.utils import canonicalize_name

    key = canonicalize_name(group)
    if key in seen:
        return []
    seen.add(key)
    entries = next((v for k, v in groups.items() if canonicalize_name(str(k)) == key), None)
    out: list[str] = []
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            out += _group(groups, entry["include-group"], seen)
    return out


def _unmet(
    lock: Lock,
    selection: Selection,
    wanted: tuple[str, tuple[str, ...], str],
    held: tuple[Mapping[str, list[LockedPackage]], set[str], Mapping[str, str]],
    where: tuple[str, str],
) -> str:
    """Why the lock does not meet one requirement of ``manifest`` ("" when it does, or need not)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    text, extras, whose = wanted
    locked, members, sourced = held  # sourced: the names a table of sources gives no index release
    manifest, own = where  # the pyproject.toml asking, and its project's own name
    try:  # Poetry's alternatives come as texts joined by " || " (one name, one marker): one must be met
        reqs = [Requirement(one) for one in text.split(" || ")]
    except InvalidRequirement:
        return ""
    req = reqs[0]
    key = canonicalize_name(req.name)
    if key == own or not selection.applies(str(req.marker) if req.marker else None, extras):
        return ""
    relock = f"(run {_RELOCK.get(lock.format, 'the locker')} to lock it again)"
    stale = f"{lock.path.name} is not the lock of {manifest}: {whose} {text!r} and the lock"
    if key not in locked:
        return f"{stale} counts no {req.name} {relock}"
    versions = ", ".join(p.version for p in locked[key])
    if key in members:
        return ""
    if req.url or key in sourced:  # an archive, a folder or a VCS checkout: no index release stands in for it
        # (a pylock.toml names a wheel's URL whether or not it came from an index: not judged there)
        from_index = lock.format != "pylock.toml" and all(p.origin == "registry" for p in locked[key])
        said = "" if req.url else f" where {sourced[key]} names another source"
        return f"{stale} has {req.name} {versions} from an index{said} {relock}" if from_index else ""
    if not all(r.specifier for r in reqs):
        return ""
    fits = []
    for pkg in locked[key]:
        try:
            fits += [r.specifier.contains(Version(pkg.version), prereleases=True) for r in reqs]
        except InvalidVersion:
            fits.append(True)  # a version nothing can compare: the audit says it cannot judge it
    return "" if any(fits) else f"{stale} has {req.name} {versions} {relock}"


def left_in_lock(lock: Any, check: str) -> str:
    """What a lock whose selection counted no package holds besides (the ``lock`` metric of ``check``,
    with its ``members`` and ``known_groups``): its members, and the groups and extras the policy did
    not select (a workspace whose run-time dependencies are all members, a project with none). ""
    when the metric says nothing more."""
    if not isinstance(lock, Mapping):
        return ""
    chosen = {*lock.get("groups", ()), *(f"extra:{x}" for x in lock.get("extras", ()))}
    left = [g for g in lock.get("known_groups", ()) if g not in chosen and g not in ("main", "default")]
    groups = [g for g in left if not g.startswith("extra:")]
    extras = [g.removeprefix("extra:") for g in left if g.startswith("extra:")]
    members = ", ".join(lock.get("members", ()))
    said = f": its run-time closure holds the project and its workspace members alone ({members})" if members else ""
    more = [f"the group{'s' if len(groups) > 1 else ''} {', '.join(groups)}" if groups else ""]
    more += [f"the extra{'s' if len(extras) > 1 else ''} {', '.join(extras)}" if extras else ""]
    more = [m for m in more if m]
    entries = lock.get("entries")
    others = entries - len(lock.get("members", ())) if isinstance(entries, int) else 0
    if others > 0 and not more:  # no group or extra holds them: their markers leave them out on this target
        said = (
            f"{said}{';' if said else ':'} the marker{'s' if others > 1 else ''} of its {others} other "
            f"entr{'ies hold' if others > 1 else 'y holds'} on other targets only, "
            f"not for Python {lock.get('python', '?')} on {lock.get('platform', '?')} "
            f"(checks.{check}.target_python and target_platform choose the target)"
        )
    if more:
        said += (
            f"{';' if said else ':'} it also locks {' and '.join(more)}, which checks.{check}.groups and extras count when listed"
        )
    return said
