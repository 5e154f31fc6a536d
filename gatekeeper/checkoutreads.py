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
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from gatekeeper.checkout import Snapshot

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

    def add(self, paths: Iterable[str]) -> None:
        """Stat each of ``paths`` (relative to the root, as the check names them) that the
        comparison does not cover and that is not known already (its first stat data is kept)."""
        base = os.fspath(self.root)
        fresh: dict[str, Stat] = {}
        for path in paths:
            name = os.path.normpath(path).replace(os.sep, "/")
            if name in self._seen or name in fresh or _compared(self.before, name):
                continue
            fresh[name] = _stat(os.path.join(base, name))
        with self._lock:
            for name, data in fresh.items():
                self._seen.setdefault(name, data)
        if fresh and self._on_named is not None:
            self._on_named(list(fresh))

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
