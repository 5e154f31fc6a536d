"""Tool configuration files that appeared in the checkout during a run and were gone by its end.

The comparison before and after a run (``gatekeeper.checkout``) cannot see a file that exists only
in between: a ``sub/ruff.toml`` selecting no rule that a test writes while ruff runs, and removes
before the run ends, takes that folder's diagnostics away (and the result is cached under the
files as they are found), while the tree is found as it was. So, on Linux, an inotify watch is set
on the root and every folder above a file the comparison covers as the checks start (and on those
above a file a check names as read beyond it, as it names it); once every
check has ended, each file of a tool configuration's name (``checkout.CONFIG_NAMES``) created,
moved in, removed or moved out in one of them that does not exist now, and that the comparison
does not name already, is a change of the run (the ``checkout`` entry's ``transient``): the verdict
is ``error``. The events are read as they come, in a thread of its own (a test run that creates
many files would overflow the kernel's queue otherwise). A watch that could not be set in full
(inotify's limits) or whose events overflowed all the same makes the comparison an error (nobody
can say). Elsewhere nothing is watched.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gatekeeper.checkout import CONFIG_NAMES, Snapshot, folder_stats

_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_Q_OVERFLOW = 0x4000
_IN_ONLYDIR, _IN_DONT_FOLLOW = 0x01000000, 0x02000000
_IN_NONBLOCK, _IN_CLOEXEC = os.O_NONBLOCK, getattr(os, "O_CLOEXEC", 0)
_MASK = _IN_CREATE | _IN_DELETE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_ONLYDIR | _IN_DONT_FOLLOW
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (the name follows)


class Watch:
    """An inotify watch on ``folders`` (absolute paths) of the work tree at ``root``."""

    def __init__(self, root: Path, folders: Iterable[str]) -> None:
        import ctypes  # only where a run watches: not among the modules every start-up imports

        self.root = root
        self.problem = ""
        self._folders: dict[int, str] = {}
        self._watched: set[str] = set()
        self._fd = -1
        self._names: set[str] = set()
        self._overflowed = False
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake = os.pipe()
        self._closed = False
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            init, add = libc.inotify_init1, libc.inotify_add_watch
        except (OSError, AttributeError) as exc:  # a C library without inotify
            self.problem = f"the checkout's folders could not be watched ({exc})"
            return
        self._fd = init(_IN_NONBLOCK | _IN_CLOEXEC)
        if self._fd < 0:
            self.problem = f"the checkout's folders could not be watched ({os.strerror(ctypes.get_errno())})"
            return
        add.argtypes, add.restype = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32), ctypes.c_int
        self._add_watch = add
        self._watch(folders)
        self._thread = threading.Thread(target=self._drain, name="gatekeeper-checkout-watch", daemon=True)
        self._thread.start()

    def _watch(self, folders: Iterable[str]) -> None:
        """Watch each of ``folders`` (absolute) not watched yet, the folder a folder link leads to in
        its place; one that cannot be is the watch's ``problem`` (one gone meanwhile is a change the
        comparison names)."""
        import ctypes

        for folder in folders:
            folder = os.path.normpath(folder)
            if folder in self._watched or self.problem:
                continue
            self._watched.add(folder)
            wd = self._add_watch(self._fd, os.fsencode(folder), _MASK)
            if wd < 0:
                error = ctypes.get_errno()
                if os.path.islink(folder):  # a folder link (``_MASK`` follows none): what it leads to is watched
                    self._watch([os.path.realpath(folder)])
                    continue
                if os.path.isdir(folder):
                    self.problem = f"the checkout's folders could not all be watched ({os.strerror(error)})"
                continue
            self._folders[wd] = folder

    def add(self, names: list[str]) -> None:
        """Watch too the folders, up to the root, of files a check reads beyond the comparison
        (``checkoutreads.Reads``: a file git ignores that ruff lints, whose folder's ``ruff.toml``
        counts as much)."""
        base = os.path.normpath(os.fspath(self.root))
        folders: set[str] = set()
        for name in names:
            folder = os.path.dirname(os.path.normpath(os.path.join(base, name)))
            while folder.startswith(base + os.sep) and folder not in folders:
                folders.add(folder)
                folder = os.path.dirname(folder)
        with self._lock:
            if self._fd >= 0 and not self._closed:
                self._watch(sorted(folders))

    def transient(self, before: Snapshot) -> tuple[list[str], str]:
        """The configuration files (relative paths) that came or went in a watched folder since the
        watch was set and do not exist now, those ``before`` compares left out; and why that cannot be
        said ("" when it can). Closes the watch."""
        if self.problem:
            return [], self.problem
        self.close()  # the events left in the queue are read first
        if self._overflowed:
            return [], "too many files came and went in the checkout's folders to tell which during the run"
        base = os.fspath(self.root)
        out = []
        for path in self._names:
            rel = os.path.relpath(path, base).replace(os.sep, "/")
            if not os.path.lexists(path) and rel not in before.index and rel not in before.untracked:
                out.append(rel)
        return sorted(out), ""

    def _read(self, wait: float) -> bool:
        """Read the events queued (waiting up to ``wait`` seconds for one), keeping the names that
        matter; False once the watch is closed."""
        import select

        if wait and self._fd not in select.select([self._fd, self._wake[0]], [], [], wait)[0]:
            return not self._stopped.is_set()
        with self._lock:
            if self._fd < 0:
                return False
            while True:
                try:
                    data = os.read(self._fd, 1 << 16)
                except BlockingIOError:
                    return True
                offset = 0
                while offset + _EVENT.size <= len(data):
                    wd, mask, _, length = _EVENT.unpack_from(data, offset)
                    name = os.fsdecode(data[offset + _EVENT.size : offset + _EVENT.size + length].split(b"\0", 1)[0])
                    offset += _EVENT.size + length
                    self._overflowed = self._overflowed or bool(mask & _IN_Q_OVERFLOW)
                    folder = self._folders.get(wd)
                    if folder is not None and name in CONFIG_NAMES:
                        self._names.add(os.path.join(folder, name))

    def _drain(self) -> None:
        """Read the events as they come (a thread of its own), so that a test run creating many files
        does not overflow the kernel's queue (16,384 events by default)."""
        while not self._stopped.is_set() and self._read(0.25):
            pass

    def close(self) -> None:
        """Read what is queued and stop watching (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stopped.set()
        with contextlib.suppress(OSError):
            os.write(self._wake[1], b"x")  # the thread waiting for events wakes and ends
        if self._thread is not None:
            self._thread.join()
        if self._fd >= 0:
            self._read(0)
            with self._lock:
                fd, self._fd = self._fd, -1
            # nothing waits for the kernel to retire the instance's watches (it synchronizes with every
            # reader of them: 6-13 ms a close) once its last events are read: the reports are written meanwhile
            closing = threading.Thread(target=os.close, args=(fd,), name="gatekeeper-watch-close", daemon=True)
            closing.start()
            _CLOSING.append(closing)
        for end in self._wake:
            os.close(end)


#: the threads closing the inotify instances of watches that were closed (``Watch.close``)
_CLOSING: list[threading.Thread] = []


def settle() -> None:
    """Wait until every watch closed so far has its inotify instance closed (``gate.check`` calls it
    as the command ends, by when each is long closed: a process that runs gatekeeper again and again
    never runs out of instances)."""
    while _CLOSING:
        _CLOSING.pop().join()


def start(before: Snapshot | str) -> Watch | None:
    """A watch on the folders ``before`` compares files in (``checkout.folder_stats``), on Linux and
    for a git work tree; else None."""
    if not sys.platform.startswith("linux") or not isinstance(before, Snapshot) or not before.git:
        return None
    return Watch(before.root, folder_stats(before))


def with_transient(tree: dict[str, Any], watch: Watch | None, before: Snapshot | str) -> dict[str, Any]:
    """The result's ``checkout`` entry ``tree`` with the configuration files that came and went during
    the run (``transient``), or its ``error`` when the watch cannot say (a tree that could not be
    compared is an error already)."""
    if watch is None or tree.get("error") or isinstance(before, str):
        return tree
    transient, problem = watch.transient(before)
    if problem:
        return {**tree, "error": problem}
    return {**tree, "transient": transient} if transient else tree
