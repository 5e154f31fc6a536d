"""The project files mypy read, as its log (``-v``) names them, held to what the run did to them.

mypy follows imports wherever its search finds the module: into a folder git ignores (``import
build.m`` reads ``build/m.py``, which the checkout's comparison never looks at), or to a file
that exists only while it runs (a ``lib.pyi`` stub the tests create beside ``lib.py`` and remove
again: mypy judges the stub, and the comparison before and after the run sees nothing). Its
incremental cache then takes a module for unchanged while its size and modification second are,
so bytes it never judged could be served its result by every later run. So each file inside the
project that mypy names as parsed or taken from its cache must still exist once it has ended, and
must not have been written since just before it started (its change time, which no write can set
back, against a file gatekeeper creates then); the rest of the run, ``CheckContext.reading`` keeps
watching it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekeeper.checkers.base import CheckContext

#: mypy's log lines naming a module's file as it reads it (``mypy.build``): parsed, or taken from
#: its cache (fresh, by quickstart, stale) or a cached AST
_READ = re.compile(
    r"^LOG:\s+(?:Parsing (?P<parsed>.+) \([^()]*\)"
    r"|Using cached AST for (?P<ast>.+) \([^()]*\)"
    r"|(?:Metadata fresh(?: \(by quickstart\))?|Using stale metadata) for [^\s:]+: file (?P<cached>.+))$"
)


def clock(folder: Path) -> int:
    """The change time the file system gives a file written now in ``folder``, once it differs from
    the one it gave a moment before: every later write of a project file is stamped at or after it,
    every earlier one before it (the clock that stamps files ticks every few milliseconds; a
    write of the same tick would not be told apart)."""
    marker = folder / "started"
    marker.touch()
    first = marker.stat().st_ctime_ns
    deadline = time.monotonic() + 1.0
    while (now := marker.stat().st_ctime_ns) == first and time.monotonic() < deadline:
        time.sleep(0.0005)
        marker.touch()
    return now


def held(ctx: CheckContext, returncode: int, log: str, started: int) -> str:
    """Why what mypy read (``log``, its verbose stderr, when it ran to the end: exit 0 or 1) may not
    be what the project holds (``problem``, or a log that names no file at all); "" when it holds.
    Each file read is named to ``ctx.reading`` for the rest of the run."""
    if returncode not in (0, 1):
        return ""
    read = in_project(ctx.root, log)
    ctx.reading(read)
    if not read and not any(named(log)):
        return "mypy's log (-v) names no file it read: what it judged cannot be held to the project"
    return problem(ctx.root, read, started)


def named(log: str) -> Iterator[str]:
    """Every file mypy's verbose ``log`` says it read (as mypy names it: relative to its working
    folder, or absolute), once each."""
    seen: set[str] = set()
    for line in log.splitlines():
        found = _READ.match(line)
        if found is None:
            continue
        path = found.group("parsed") or found.group("ast") or found.group("cached")
        if path and path not in seen:
            seen.add(path)
            yield path


def in_project(root: Path, log: str) -> list[str]:
    """The files of ``named`` that lie inside ``root`` as named (a link there counts, wherever it
    leads), relative to it, sorted. mypy names a module it found on its search path by the path it
    searched, made of its working folder as the system gives it (links resolved): ``root`` is
    matched as given and resolved."""
    base = os.path.normpath(os.fspath(root))
    bases = {base, os.path.realpath(base)}
    out: set[str] = set()
    for path in named(log):
        full = os.path.normpath(os.path.join(base, path))
        for folder in bases:
            if full.startswith(folder.rstrip(os.sep) + os.sep):
                out.add(full[len(folder.rstrip(os.sep)) + 1 :].replace(os.sep, "/"))
                break
    return sorted(out)


def problem(root: Path, files: list[str], started: int) -> str:
    """Why mypy's judgement of ``files`` (``in_project``) may be of other bytes than the project now
    holds: one gone, or written (change time) at or after ``started`` (the change time of a file
    created just before mypy started); "" when none."""
    gone: list[str] = []
    written: list[str] = []
    for rel in files:
        try:
            st = os.stat(os.path.join(root, rel))
        except OSError:
            gone.append(rel)
            continue
        if st.st_ctime_ns >= started:
            written.append(rel)
    parts = []
    if gone:
        parts.append(f"mypy read {_listed(gone)}, which no longer {'exists' if len(gone) == 1 else 'exist'}")
    if written:
        parts.append(f"mypy read {_listed(written)}, written while it ran")
    if not parts:
        return ""
    return "; ".join(parts) + ": its result may be of bytes the project does not hold (the run's own files changed it)"


def _listed(files: list[str]) -> str:
    shown = ", ".join(files[:5])
    return shown + (f" and {len(files) - 5} more" if len(files) > 5 else "")
