"""The interface of a dependency source, and what every source yields.

A dependency source reads one kind of input named by the ``source`` setting (the installed
environment, a requirements file, pyproject.toml) and yields the package versions to audit
(``Target``) and the packages that cannot be audited, with the reason (``Collected``), the way
pip-audit's ``DependencySource`` separates its inputs from its audit. A new input format is one
module in this package: a ``DependencySource`` subclass, listed in ``SOURCES``
(``sources/__init__.py``). The helpers below are shared by the sources that read files.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from packaging.utils import canonicalize_name

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.inventory import load_inventory
from gatekeeper.errors import ToolError
from gatekeeper.fileio import relative_to_root

if TYPE_CHECKING:  # packaging's requirement and marker grammar (about 10 ms) loads where one is read
    from packaging.requirements import Requirement

    from gatekeeper.checkers.inventory import Distribution


@dataclass(frozen=True, slots=True)
class Target:
    """A package version to audit, and where it is declared (``path`` relative to the root, posix)."""

    name: str
    version: str
    path: str = ""
    line: int | None = None
    manifest: bool = False  # True: path/line point at the project's manifest, not at the source itself
    entry: str = ""  # a lock file's entry the version comes from ("uv.lock:120 idna 3.6")


@dataclass
class Collected:
    """What a source yields: packages to audit, packages that cannot be (name -> reason), and context."""

    targets: list[Target] = field(default_factory=list)
    unaudited: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (display name, reason)
    meta: dict[str, Any] = field(default_factory=dict)

    def skip(self, name: str, reason: str) -> None:
        """Record that ``name`` could not be audited (the first reason wins)."""
        self.unaudited.setdefault(canonicalize_name(name) or name, (name, reason))


class DependencySource(ABC):
    """One input the dependencies check audits, named by the ``source`` setting.

    ``claims`` decides, from the setting alone, whether this kind reads it (the first kind in
    ``SOURCES`` that claims a setting reads it); ``collect`` reads it. A source that cannot be read
    raises ``ToolError`` naming the input: a check that looked at nothing is never a pass.
    """

    kind: ClassVar[str]  # how metrics and messages name this kind of source

    def __init__(self, setting: str, ctx: CheckContext, section: Mapping[str, Any] | None = None) -> None:
        self.setting = setting
        self.ctx = ctx
        self.section: Mapping[str, Any] = section or {}

    @classmethod
    @abstractmethod
    def claims(cls, setting: str) -> bool:
        """Whether the ``source`` setting names an input of this kind."""

    @abstractmethod
    def collect(self) -> Collected:
        """The package versions to audit, the packages that cannot be audited, and context (metrics)."""


def in_project(path: Path, root: Path, where: str) -> Path:
    """``path`` resolved, refused (``ToolError`` naming ``where``) when it, or a link on the way,
    leads outside the project: a requirements file from the checkout must not make gatekeeper
    read ``/proc/self/environ`` or a file in the home folder and quote it in the reports."""
    resolved = path.resolve()
    real_root = root.resolve()
    if resolved != real_root and real_root not in resolved.parents:
        raise ToolError(f"{where}: {path.name} leads outside the project; requirements files must be inside it")
    return resolved


def and_list(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``; past four names the first three and how many more."""
    shown = [*names[:3], f"{len(names) - 3} more"] if len(names) > 4 else list(names)
    return " and ".join(shown) if len(shown) < 3 else ", ".join(shown[:-1]) + " and " + shown[-1]


def built_from(dist: Distribution, root: Path, required_by: Sequence[str] = ()) -> str:
    """Why a distribution installed from a folder or a VCS checkout (PEP 610) is not audited, in
    words; a folder inside the project (a monorepo's own package outside any uv workspace) is named,
    with the waiver that accounts for it. ``required_by``: for a member of the project's uv workspace,
    the packages from outside the project that require it, for which it stands in (``workspace_members``)."""
    where = "a VCS checkout" if dist.origin == "vcs" else "a local folder"
    reason = f"installed from {where}, not a release from the package index: its advisories cannot be known"
    if dist.origin != "local":
        return reason
    from gatekeeper.checkers.inventory import file_url_path

    folder = file_url_path(dist.url)
    rel = relative_to_root(folder, root) if folder is not None else None
    if not rel or rel == ".":
        return reason
    if required_by:
        names = and_list(required_by)
        verb = "requires" if len(required_by) == 1 else "require"
        rel = (
            f"{rel} inside the project: a member of its uv workspace, but {names}, from outside the project, {verb} "
            f"{dist.name}, so the folder stands in for that dependency and is counted as one,"
        )
    else:
        rel = f"{rel} inside the project,"
    return (
        f"installed from the folder {rel} not a release from the package index: its advisories "
        "cannot be known (once you have checked it is this repository's own code, not a copy of a release of that "
        f'name, a waiver of rule "dependencies.unaudited" for package "{dist.name}" accounts for it)'
    )


def pinned_version(req: Requirement) -> str:
    """The exact version ``req`` pins (``==X`` or ``===X``, no wildcard), else ""."""
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return ""


class Markers:
    """Environment markers of the inspected interpreter, read (through the shared inventory) only when needed."""

    def __init__(self, ctx: CheckContext) -> None:
        self._ctx = ctx
        self._env: dict[str, str] | None = None

    def _inventory(self) -> Any:
        return load_inventory(self._ctx)

    def env(self) -> dict[str, str]:
        if self._env is None:
            try:
                self._env = dict(self._inventory().markers or {})
            except ToolError:
                self._env = {}
            if not self._env:
                from packaging.markers import default_environment

                self._env = {k: str(v) for k, v in default_environment().items()}
        return self._env

    def applies(self, marker: Any) -> bool:
        from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName

        try:
            return bool(marker.evaluate({**self.env(), "extra": ""}))
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            return True  # when in doubt, audit it

    def inventory_get(self, name: str) -> Any:
        try:
            return self._inventory().get(name)
        except ToolError:
            return None

    def member(self, name: str) -> Any:
        """The uv workspace member ``name`` installed from its folder (the project itself), else None."""
        try:
            return self._inventory().member(name)
        except ToolError:
            return None


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (posix), or the whole path when it is outside."""
    return relative_to_root(path, root) or path.as_posix()
