"""The files a check reads that the checkout's comparison does not cover, compared too.

The comparison (``gatekeeper.checkout``) covers the tracked files and the untracked ones git does
not ignore. A check may read others: ruff with ``respect-gitignore = false`` lints the files git
ignores, bandit walks its paths whatever git ignores, and outside a git work tree nothing is
compared at all. A file rewritten between the read that keys a check's cached result and the
tool's own read would have its result stored under bytes the tool never judged: a later run
would be served that result for a file the tool flags. So a check names such files
(``CheckContext.reading``) before it reads them for a key or gives them to its tool; each one the
comparison does not cover is stat'ed then (size, modification and change times, inode, mode,
following a link) and again once every check has ended. One that was written, replaced or
removed in between is a change of the run (the ``checkout`` entry's ``read_written``): the verdict is ``error``
and every cache entry the run stored is taken back.

A file named that is a link leading outside the git work tree, or lies in a folder that is one (an
untracked or git-ignored link the tool would walk into: the snapshot refused the tracked ones before
any check started), is refused before the tool reads it (``gatekeeper.linksout``): ``add`` raises a
``ToolError`` naming it, so that check is an error, and the run's ``checkout`` entry lists it
(``links_out``), so the verdict is too.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from gatekeeper import linksout
from gatekeeper.checkout import Snapshot
from gatekeeper.errors import ToolError

#: a file's stat data as ``checkout`` compares it, None when it could not be stat'ed
Stat = tuple[int, ...] | None


class Reads:
    """The files the checks of one run named as read (``add``) that ``before`` does not compare,
    with their stat data when they were named; ``moved`` says which differ now."""

    def __init__(self, root: Path, before: Snapshot | None, on_named: Callable[[list[str]], None] | None = None) -> None:
        self.root = root
        self.before = before  # None: nothing was compared (outside git, or the snapshot failed)
        self._seen: dict[str, Stat] = {}
        self._lock = threading.Lock()
        self._on_named = on_named  # told each file named for the first time (``checkoutwatch``: its folders)
        self._tree = linksout.work_tree(root)
        self._folders: dict[str, str | None] = {}  # folder -> where it resolves outside the tree (None: inside)
        self._out: dict[str, str] = {}  # each file refused -> "link -> target" (the link: it, or its folder)

    def add(self, paths: Iterable[str]) -> None:
        """Stat each of ``paths`` (relative to the root, as the check names them) that the
        comparison does not cover and that is not known already (its first stat data is kept).
        ``ToolError`` when one is, or lies in, a link leading outside the git work tree: the
        check's tool must not read it."""
        base = os.fspath(self.root)
        fresh: dict[str, Stat] = {}
        out: list[str] = []
        refused: dict[str, str] = {}
        for path in paths:
            name = os.path.normpath(path).replace(os.sep, "/")
            if name in fresh:
                continue
            if name in self._seen:  # named by another check: refused again if it was refused then
                out += [self._out[name]] if name in self._out else []
                continue
            compared = _compared(self.before, name)
            if (link := self._leads_out(base, name, compared)) is not None:
                out.append(link)
                refused[name] = link
            if not compared:
                fresh[name] = _stat(os.path.join(base, name))
        with self._lock:
            for name, data in fresh.items():
                self._seen.setdefault(name, data)
            self._out.update(refused)
        if fresh and self._on_named is not None:  # a refused one is not read: nothing to watch
            self._on_named([name for name in fresh if name not in refused])
        if out:
            raise ToolError(linksout.refusal(set(out)))

    def outside(self) -> list[str]:
        """The links the checks named that lead outside the git work tree, ``"path -> target"``, sorted."""
        with self._lock:
            return sorted(set(self._out.values()))

    def _leads_out(self, base: str, name: str, compared: bool) -> str | None:
        """``"link -> target"`` when ``name`` is a link leading outside the work tree, or lies in a
        folder that resolves outside it; None otherwise. A compared file is looked up in the
        snapshot's stat data (git lists no file below a link); another is ``lstat``'ed, and its
        folder resolved once for every file named in it (a submodule's file too)."""
        if name.startswith("../") or name == ".." or os.path.isabs(name):
            return None  # not the checkout's: a check refuses such paths itself
        data = (self.before.untracked.get(name) or self.before.tracked.get(name)) if compared and self.before else None
        if data is not None:  # a submodule's file is not in the superproject's data: looked up below
            if not stat.S_ISLNK(data[4]):
                return None
        else:
            folder = name.rpartition("/")[0]
            if folder and folder not in self._folders:
                target = linksout.leads_out(base, folder, self._tree)
                self._folders[folder] = linksout.shown(folder, target) if target is not None else None
            if folder and self._folders[folder] is not None:
                return self._folders[folder]
            try:
                if not stat.S_ISLNK(os.lstat(os.path.join(base, name)).st_mode):
                    return None
            except (OSError, ValueError):
                return None
        target = linksout.leads_out(base, name, self._tree)
        return linksout.shown(name, target) if target is not None else None

    def moved(self) -> list[str]:
        """The files named that were written, replaced, removed (or created, having been absent)
        since, sorted."""
        base = os.fspath(self.root)
        with self._lock:
            seen = dict(self._seen)
        return sorted(name for name, data in seen.items() if _stat(os.path.join(base, name)) != data)


def _compared(snap: Snapshot | None, name: str) -> bool:
    """Whether ``snap`` compares the file ``name`` (tracked, or untracked and not ignored, in the
    work tree or one of its submodules)."""
    if snap is None or not snap.git:
        return False
    if name in snap.index or name in snap.untracked:
        return True
    modules = snap.modules.items()
    return any(name.startswith(folder + "/") and _compared(module, name[len(folder) + 1 :]) for folder, module in modules)


def _stat(path: str) -> Stat:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)
