"""The environment probe's answer (``inventory.read_environment``), reused while nothing it read changed.

Listing an environment's distributions starts its interpreter and imports ``importlib.metadata``
on every run, although between two runs of a job the environment seldom changes. So the probe's
output is kept in the run's authenticated cache (``gatekeeper.checkers.cache``) with the stat
data of everything it was read from, the way the advisory database's digest is reused
(``dependencies.digest``), and served while that stat data is unchanged:

- the interpreter, as named and as its links resolve, and the folder of each: the interpreter
  builds its first ``sys.path`` from files beside it (a ``._pth`` file there replaces it, a
  ``lib/pythonX.Y/os.py`` moves its prefix) before the probe runs; so too the probe's
  ``sys.executable``, its ``sys._base_executable`` and the libpython it loaded, with their folders;
- every entry of the probe's ``sys.path``, and every path ``sitepaths.PRELUDE`` looked at to
  build it: the ``pyvenv.cfg`` files, the site-packages folders whether or not they existed,
  each ``.pth`` file and each folder one names (one created later would join the path);
- every folder and file of every distribution the probe met, those it skipped included;
- the machine's ``uname`` (the environment markers), the locale variables (the encoding a
  ``.pth`` file is read in before Python 3.13) and those that place the user's site folder.

A distribution installed or removed changes the listing, and so the modification time, of a
folder on the path; a file of one edited, added or removed changes its own stat data or its
folder's. Any write moves a file's change time, which no ``os.utime`` sets back, so an edit that
keeps size and modification time still misses. An answer read from files changed within
``RACY_NS`` before the probe started is not stored (a write in the same timestamp tick could go
unseen). The probe still runs isolated and without site (``sitepaths``) whenever it runs: what
is reused is its own answer, never something computed another way.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.checkers import cache

#: the entry format; a change invalidates every stored answer
VERSION = 2
#: files changed this recently (ns) before the probe started make an answer that is not stored
RACY_NS = 2_000_000_000
#: the variables that decide the locale a ``.pth`` file is decoded in
LOCALE_VARIABLES = ("LC_ALL", "LC_CTYPE", "LANG")
#: the variables that decide where the user's site folder is, and whether it is on the path
USER_SITE_VARIABLES = ("HOME", "PYTHONUSERBASE", "PYTHONNOUSERSITE")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Reading:
    """The probe's ``output`` and what it rested on when it was read: what it says it read
    (``read``, ``_read``; None when it does not say), the ``state`` of that (``_state``; "" when
    ``read`` is None), the ``newest`` modification or change time among it and when the reading
    ``started`` (ns)."""

    output: str
    read: dict[str, list[str]] | None
    state: str
    newest: int
    started: int

    def kept(self, python: str) -> bool:
        """Whether nothing the reading rested on has changed since, nor while it was read: what it
        says is what a probe of ``python`` would say now."""
        if self.read is None or self.newest >= self.started:
            return False
        return _state(python, self.read)[0] == self.state


def answer(cache_dir: Path | None, python: str, probe: str, run: Callable[[], str]) -> Reading:
    """The probe's output for ``python``: the stored one while everything it was read from is
    unchanged, else ``run()``'s (stored when it names what it was read from and none of that
    changed within ``RACY_NS`` before it ran)."""
    folder = cache_dir / "environment" if cache_dir is not None else None
    key = cache.cache_key("environment-probe", VERSION, python, hashlib.sha256(probe.encode("utf-8")).hexdigest())
    stored, _rejected = cache.read(folder, key)
    kept = stored.get("output") if isinstance(stored, dict) else None
    started = time.time_ns()
    if isinstance(kept, str):
        read = _read(kept)
        if read is not None:
            state, newest = _state(python, read)
            if state == stored.get("state"):
                return Reading(kept, read, state, newest, started)
    output = run()
    read = _read(output)
    if read is None:
        return Reading(output, None, "", 0, started)
    state, newest = _state(python, read)
    if folder is not None and newest < started - RACY_NS:
        cache.write(folder, key, {"output": output, "state": state})
    return Reading(output, read, state, newest, started)


def _read(output: str) -> dict[str, list[str]] | None:
    """What the probe's output says it read (``read``: its ``sys.path``, the paths looked at to build
    it, every distribution met, what the interpreter read before it: ``startup``); None when it does
    not say, or names a distribution by no path."""
    try:
        read = json.loads(output)["read"]
        out = {k: [str(p) for p in read[k]] for k in ("path", "looked", "distributions", "startup")}
    except (ValueError, KeyError, TypeError):
        return None
    return None if any(not p for p in out["distributions"]) else out


def _state(python: str, read: Mapping[str, list[str]]) -> tuple[str, int]:
    """The sha256 of the stat data of everything the probe's answer rests on (module docstring),
    and the newest modification or change time among it (ns)."""
    started = [*_links(python), *read["startup"]]
    stamps = [_stamp(p) for p in (*started, *sorted({os.path.dirname(p) for p in started}), *read["path"], *read["looked"])]
    stamps += [_stamp(p) for d in read["distributions"] for p in _tree(d)]
    uname = list(os.uname()) if hasattr(os, "uname") else []
    state = [VERSION, uname, {k: os.environ.get(k, "") for k in (*LOCALE_VARIABLES, *USER_SITE_VARIABLES)}, stamps]
    newest = max((t for s in stamps for t in s[2]), default=0)
    return hashlib.sha256(json.dumps(state, separators=(",", ":")).encode("utf-8", "surrogateescape")).hexdigest(), newest


def _links(path: str) -> list[str]:
    """``path`` made absolute, each link it goes through as it resolves, and where it ends."""
    out = [os.path.abspath(path)]
    for _ in range(40):  # the kernel's own limit on a chain of links
        try:
            target = os.readlink(out[-1])
        except OSError:
            break
        out.append(os.path.normpath(os.path.join(os.path.dirname(out[-1]), target)))
    return [*out, os.path.realpath(path)]


def _stamp(path: str) -> tuple[str, list[int] | None, list[int]]:
    """``path``, its lstat data (and its target's, for a link; None when missing), and its times."""
    try:
        st = os.lstat(path)
    except OSError:
        return path, None, []
    data = [st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
    times = [st.st_mtime_ns, st.st_ctime_ns]
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.stat(path)
        except OSError:
            data.append(-1)
        else:
            data += [target.st_mode, target.st_size, target.st_mtime_ns, target.st_ctime_ns, target.st_ino, target.st_dev]
            times += [target.st_mtime_ns, target.st_ctime_ns]
    return path, data, times


def _tree(path: str) -> Iterator[str]:
    """``path`` and, for a folder, every folder and file under it (links listed, not followed
    below it: as the probe's ``os.walk`` finds license files)."""
    yield path
    for base, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            yield os.path.join(base, name)
