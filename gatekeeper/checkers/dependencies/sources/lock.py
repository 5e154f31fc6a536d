"""A lock file as a dependency source: the locked versions the policy's groups and extras count.

The formats (uv.lock, pylock.toml, poetry.lock, pdm.lock) are read by ``gatekeeper.checkers.lockfiles``;
this source turns a read ``Lock`` into targets, each naming the lock entry (file and line) it
came from. A package locked from a folder, a VCS checkout or a URL is unaudited: advisories
describe releases on an index. Nothing is installed.
"""

from __future__ import annotations

from pathlib import Path

from gatekeeper.checkers import lockfiles
from gatekeeper.checkers.dependencies.sources.base import (
    Collected,
    DependencySource,
    Target,
    and_list,
    in_project,
    relative,
)
from gatekeeper.checkers.inventory import declared_name
from gatekeeper.checkers.lockfiles.model import Lock, LockedPackage, Selection


class LockSource(DependencySource):
    """A lock file inside the project, recognised by its name (``lockfiles.formats()``) and read only as that format."""

    kind = "lock"

    @classmethod
    def claims(cls, setting: str) -> bool:
        """A file name one of the lock formats uses."""
        return lockfiles.format_of(Path(setting).name) is not None

    def collect(self) -> Collected:
        """The counted packages of the lock; workspace members are the project, not dependencies."""
        root = self.ctx.root
        path = in_project(root / self.setting, root, "checks.dependencies.source")
        selection = lockfiles.selection_of(self.section)
        lock = lockfiles.read_lock(path, selection, declared_name(root))
        rel = relative(path, root)
        described = describe(lock, rel, selection, declared_name(root))
        got = Collected(meta={"scope": "lock", "lock": described, "packages": len(lock.packages)})
        for pkg in lock.packages:
            where = f"{rel}:{pkg.line}" if pkg.line else rel
            if pkg.origin != "registry" or not pkg.version:
                reason = f"{where}: locked from a {pkg.origin}{_stands_in(lock, pkg)}, not a release from a package index"
                got.skip(pkg.name, f"{reason}: its advisories cannot be known")
                continue
            got.targets.append(Target(pkg.name, pkg.version, rel, pkg.line, entry=f"{where} {pkg.name} {pkg.version}"))
        if lock.members:
            got.meta["project"] = ", ".join(m.name for m in lock.members)
        return got


def _stands_in(lock: Lock, pkg: LockedPackage) -> str:
    """For a package locked from a folder that counted packages from an index depend on (a workspace
    member named after their dependency, which the lock resolves to the folder), the words that say
    so: why it is counted as a dependency, not as the project."""
    if pkg.origin != "directory":
        return ""
    users = sorted(p.name for p in lock.packages if p.origin == "registry" and pkg.ref in p.dependencies)
    if not users:
        return ""
    verb = "depends" if len(users) == 1 else "depend"
    return f" that {and_list(users)}, locked from an index, {verb} on, so the folder stands in for that dependency"


def describe(lock: Lock, rel: str, selection: Selection, project: str = "") -> dict[str, object]:
    """The ``lock`` metric: which file, its format, what was counted of how many entries, for which
    selection, and what the selection leaves out (``lockfiles.scope.left_out``)."""
    from gatekeeper.checkers.lockfiles.scope import left_out

    return {
        "path": rel,
        "format": lock.format,
        "entries": lock.entries,
        "counted": len(lock.packages),
        **lock.held(),
        **selection.describe(),
        "notes": list(lock.notes),
        **left_out(lock, selection, project),
    }
