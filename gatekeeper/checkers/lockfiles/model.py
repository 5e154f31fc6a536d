"""What every lock-file reader yields: the locked packages a selection of groups and extras needs.

A reader (one module per format: ``uv``, ``pylock``, ``poetry``, ``pdm``) parses its file into a
``Lock``: the packages that count for a ``Selection`` (groups, extras, and the marker environment
of the target Python and platform), each with the line of its entry, its hashes and the locked
packages it depends on. Readers never guess: a file that is not of their format, or an entry they
cannot read, raises ``LockError`` naming the file and the line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from gatekeeper import tomlio
from gatekeeper.checkers.lockfiles.platforms import PLATFORMS
from gatekeeper.errors import ToolError


class LockError(ToolError):
    """A lock file that cannot be read as its format: the message names the file and, where known, the line."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which parts of a lock count: dependency groups, extras, and the marker environment."""

    groups: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=lambda: target_environment())

    def applies(self, marker: str | None, extras: Iterable[str] = ("",)) -> bool:
        """Whether ``marker`` holds in the environment for any of ``extras`` (the ``extra`` variable);
        an unreadable marker counts as holding (when in doubt, audit it)."""
        if not marker:
            return True
        from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

        try:
            parsed = Marker(marker)
        except InvalidMarker:
            return True
        try:
            return any(parsed.evaluate({**self.environment, "extra": e}) for e in extras)
        except (UndefinedComparison, UndefinedEnvironmentName):
            return True

    def describe(self) -> dict[str, Any]:
        """The selection as metrics: groups, extras and the target interpreter and platform."""
        env = self.environment
        return {
            "groups": list(self.groups),
            "extras": list(self.extras),
            "python": env.get("python_full_version", ""),
            "platform": env.get("sys_platform", ""),
        }


def target_environment(python: str = "", platform: str = "") -> dict[str, str]:
    """Marker variables of the running interpreter, with ``python`` ("3.12" or "3.12.4") and
    ``platform`` (a key of ``PLATFORMS``) put in their place when given."""
    from packaging.markers import default_environment

    env = {k: str(v) for k, v in default_environment().items()}
    if python:
        parts = python.split(".")
        env["python_version"] = ".".join(parts[:2])
        env["python_full_version"] = python if len(parts) > 2 else f"{python}.0"
    if platform:
        env.update(PLATFORMS[platform])
    return env


@dataclass(frozen=True, slots=True)
class LockedPackage:
    """One locked package that counts: name and version as locked, the line of its entry, where it
    comes from (``registry`` for an index; ``directory``, ``git``, ``url`` otherwise), its hashes
    (algorithm, hex digest) and the ``ref`` of each counted package it depends on."""

    name: str
    version: str
    line: int | None
    origin: str = "registry"
    hashes: tuple[tuple[str, str], ...] = ()
    dependencies: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The canonical name."""
        return canonicalize_name(self.name)

    @property
    def ref(self) -> str:
        """``name@version`` (canonical name): what ``dependencies`` hold, unique within a lock."""
        return f"{self.key}@{self.version}"


@dataclass(frozen=True, slots=True)
class Lock:
    """A lock file read for a selection: the counted packages, the project (workspace members are
    the project, not its dependencies) and how many entries the file has in all."""

    path: Path
    format: str
    packages: tuple[LockedPackage, ...]
    members: tuple[LockedPackage, ...] = ()
    entries: int = 0
    groups: tuple[str, ...] = ()  # every group (and extra) the lock knows
    notes: tuple[str, ...] = ()
    default_groups: tuple[str, ...] = ()  # a pylock.toml's default-groups: counted when the selection names no group

    def held(self) -> dict[str, list[str] | int]:
        """Its members' names, every group it knows and how many entries it has (``members``,
        ``known_groups``, ``entries``): what ``lockfiles.left_in_lock`` names when a selection counted nothing."""
        return {"members": [m.name for m in self.members], "known_groups": list(self.groups), "entries": self.entries}


def read_toml(path: Path, fmt: str) -> dict[str, Any]:
    """The TOML document at ``path``; LockError naming file and line when it is not TOML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"cannot read {fmt} {path.name}: {exc}") from exc
    try:
        return _parsed(text)
    except tomlio.TOMLDecodeError as exc:
        # tomllib names the line in its message ("... (at line 3, column 7)"); 3.14 adds .lineno
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        where = f"{path.name}:{line}" if line else path.name
        raise LockError(f"{where}: not a readable {fmt} (TOML: {exc})") from exc


@functools.lru_cache(maxsize=2)
def _parsed(text: str) -> dict[str, Any]:
    """The TOML document ``text``, parsed once for the several selections a check reads a lock with
    (``scope.left_out``). The readers only read it: the document is shared."""
    return tomlio.loads(text)


def entry_lines(path: Path, header: str) -> list[int]:
    """The line numbers of each ``[[header]]`` array-of-tables entry, in file order."""
    pattern = re.compile(rf"^\s*\[\[\s*{re.escape(header)}\s*\]\]\s*(#.*)?$")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [n for n, text in enumerate(lines, 1) if pattern.match(text)]


def entries(data: Mapping[str, Any], path: Path, header: str, fmt: str) -> list[tuple[int | None, dict[str, Any]]]:
    """(line, table) for each ``[[header]]`` entry; LockError when the key is not a list of tables
    or an entry lacks a string ``name``."""
    raw = data.get(header, [])
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise LockError(f"{path.name}: '{header}' is not a list of tables, so this is not a {fmt}")
    lines = entry_lines(path, header)
    out: list[tuple[int | None, dict[str, Any]]] = []
    for i, entry in enumerate(raw):
        line = lines[i] if i < len(lines) and len(lines) == len(raw) else None
        if not isinstance(entry.get("name"), str) or not entry["name"]:
            raise LockError(f"{path.name}:{line or '?'}: a [[{header}]] entry without a name")
        out.append((line, entry))
    return out


def hash_pairs(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """("sha256", hex) pairs from ``alg:hex`` strings (others dropped), sorted and distinct."""
    pairs = set()
    for v in values:
        alg, sep, digest = str(v).partition(":")
        if sep and alg and digest:
            pairs.add((alg.lower(), digest.lower()))
    return tuple(sorted(pairs))


def require_known(chosen: Sequence[str], known: Iterable[str], what: str, path: Path) -> None:
    """LockError when the policy names a group or extra the lock does not know (a typo would count nothing)."""
    have = set(known)
    missing = [c for c in chosen if c not in have]
    if missing:
        listed = ", ".join(sorted(have)) or "none"
        raise LockError(f"{path.name} has no {what} {', '.join(repr(m) for m in missing)} (it has: {listed})")


def project_folders(here: Path) -> frozenset[Path]:
    """The folders that are the project a lock file in ``here`` locks: ``here`` and the members its
    ``[tool.uv.workspace]`` declares (resolved). A lock is text of the pull request's: a folder it
    calls a member is the project only when the project says so."""
    from gatekeeper.checkers.inventory import workspace_folders

    try:
        return frozenset({here.resolve(), *workspace_folders(here)})
    except OSError:
        return frozenset()


def is_project_folder(here: Path, folder: str, ours: frozenset[Path]) -> bool:
    """Whether ``folder`` (as a lock entry of a lock in ``here`` names it) is one of ``ours`` (``project_folders``)."""
    try:
        return (here / folder).resolve() in ours
    except (OSError, ValueError):
        return False


def sourced_in(table: Any, said: str) -> dict[str, str]:
    """The names of ``table`` (a table of sources or dependencies, named ``said``) one of whose
    entries gives a url, a git repository or a path, each with ``said``."""
    found: dict[str, str] = {}
    for name, entry in table.items() if isinstance(table, dict) else ():
        entries = entry if isinstance(entry, list) else [entry]
        if any(isinstance(e, dict) and any(k in e for k in ("url", "git", "path")) for e in entries):
            found[canonicalize_name(str(name))] = said
    return found
