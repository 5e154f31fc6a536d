"""Processes a third-party checker starts around the layer: seen, and its check an error.

Every process gatekeeper starts goes through ``gatekeeper.process`` (``CheckContext.run``), which
isolates a Python tool, locates its module, kills it at the deadline with its process group and
strips the signing key from its environment. A plugin that calls ``subprocess`` (or ``os.system``,
``os.fork``...) itself gets none of that, and nothing it returns says so. Python's audit hooks (PEP
578) report every such start in this process (and ``_posixsubprocess.fork_exec``, which raises no
event, is wrapped to report itself: ``multiprocessing``'s spawn and forkserver start methods call
it): while a run's third-party checks run, a start that did not come through ``gatekeeper.process``,
from a check's own thread (``gatekeeper-NAME``, or one of its helpers ``gatekeeper-NAME-...``), is
noted against that check, which the engine then makes an ``error`` saying what was started.
gatekeeper's own checkers are not watched: they are the layer. A process started from a thread
gatekeeper did not name (a ``ThreadPoolExecutor``'s, a ``Thread`` the plugin made) while third-party
checks run is theirs, since gatekeeper names every thread of its own (``gatekeeper-...``); which one
started it cannot be told, so each of them is an error.

The hook is added the first time a run has a third-party check (an audit hook cannot be removed);
it returns at once for every other event, and for every event while no run watches.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

#: what ``_posixsubprocess.fork_exec`` is noted as: a new process that raises no audit event of its own
#: (``multiprocessing``'s spawn and forkserver start methods call it directly; ``subprocess`` holds its
#: own reference, taken when it was imported, and raises ``subprocess.Popen`` first)
FORK_EXEC = "_posixsubprocess.fork_exec"
#: the audit events of a new process (or of this one replaced or forked)
_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.fork", "os.forkpty", "pty.spawn", FORK_EXEC}
)

_layer = threading.local()  # ``on`` while ``gatekeeper.process`` itself starts a process
_lock = threading.Lock()
_watched: dict[str, str] = {}  # thread name -> check name, while a run watches
_seen: dict[str, list[str]] = {}
_hooked: list[bool] = []
#: while a third-party checker is imported (``importing``): (the importing thread, where its starts are noted)
_importing: list[tuple[threading.Thread, list[str]]] = []
#: the threads a third-party checker's import started and left running, and what they started before
#: a run watched: each watched check of the next run is told them
_left: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_early: list[str] = []


@contextmanager
def inside_layer() -> Iterator[None]:
    """Mark the process ``gatekeeper.process`` starts now (in this thread) as the layer's own."""
    _layer.on = True
    try:
        yield
    finally:
        _layer.on = False


@contextmanager
def importing(noted: list[str]) -> Iterator[None]:
    """Note in ``noted`` every process started around the layer while a third-party checker is
    imported (``checkers.load``): from this thread, or from a thread gatekeeper did not name. Its
    module's code runs then, before any run watches; a process it starts (a helper that later runs
    tools for it, ``python -m ruff`` in the project's root) had no ``-I``, no deadline, no vetting."""
    me = threading.current_thread()
    before = set(threading.enumerate())
    with _lock:
        _hook_once()
        _importing.append((me, noted))
    try:
        yield
    finally:
        with _lock:
            _importing[:] = [entry for entry in _importing if entry[1] is not noted]
            _left.update(t for t in threading.enumerate() if t not in before and not t.name.startswith("gatekeeper-"))


def _hook_once() -> None:
    """Add the audit hook and the ``fork_exec`` wrapper, once per process (call with ``_lock`` held)."""
    if not _hooked:
        sys.addaudithook(_hook)
        _watch_fork_exec()
        _hooked.append(True)


def watch(names: Iterable[str]) -> None:
    """Begin noting the processes the checks ``names`` start around the layer (``seen`` ends it)."""
    wanted = {f"gatekeeper-{n}": n for n in names}
    if not wanted:
        return
    with _lock:
        _hook_once()
        _watched.clear()
        _watched.update(wanted)
        _seen.clear()
        for name in dict.fromkeys(wanted.values()):  # what a thread a plugin's import left started meanwhile
            _seen.setdefault(name, []).extend(_early)
        _early.clear()


def seen() -> Mapping[str, list[str]]:
    """Stop watching; what each watched check started around the layer (a few words of each)."""
    with _lock:
        out = {name: list(starts) for name, starts in _seen.items()}
        _watched.clear()
        _seen.clear()
    return out


def _watch_fork_exec() -> None:
    """Have ``_posixsubprocess.fork_exec`` called by name (``multiprocessing.util.spawnv_passfds``, a
    plugin's own call) seen as the audit events are (``FORK_EXEC``): a plugin's ``multiprocessing``
    process started with "spawn" or "forkserver" ran the checkout's ``ruff/`` package, unseen, and its
    check passed. A call whose argument list is the one a ``subprocess.Popen`` event of this thread
    just named is that process, already seen."""
    try:
        import _posixsubprocess
    except ImportError:  # no such module where processes are not forked (Windows)
        return
    real = _posixsubprocess.fork_exec

    def fork_exec(*args: Any, **kwargs: Any) -> Any:
        argv = args[0] if args else None
        if argv is None or argv is not getattr(_layer, "popen", None):
            _hook(FORK_EXEC, (argv,))
        _layer.popen = None
        return real(*args, **kwargs)

    _posixsubprocess.fork_exec = fork_exec


def note(check: str, what: str) -> None:
    """Note against ``check`` something it started around the layer that the hook did not report
    (a process found still running as it ended, which ``process.kill_strays`` killed)."""
    with _lock:
        if _watched:
            _seen.setdefault(check, []).append(what)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "subprocess.Popen":  # its fork_exec, if subprocess calls the wrapper, names this list
        _layer.popen = args[1] if len(args) > 1 else None
    if event not in _EVENTS or getattr(_layer, "on", False):
        return
    if not _watched:
        _before_run(event, args)
        return
    current = threading.current_thread()
    thread = current.name
    check = _watched.get(thread) or next((n for t, n in _watched.items() if thread.startswith(f"{t}-")), None)
    if check is None:
        if thread.startswith("gatekeeper-") or current is threading.main_thread():
            return  # gatekeeper's own threads, and the engine's
        # a thread gatekeeper did not name (a ThreadPoolExecutor's, a Thread of the plugin's own): a
        # third-party check started it, though which one cannot be told, so each watched check is named
        what = f"{_described(event, args)} (from the thread {thread}, which no check is named by)"
        with _lock:
            for name in dict.fromkeys(_watched.values()):
                _seen.setdefault(name, []).append(what)
        return
    what = _described(event, args)
    with _lock:
        if _watched:
            _seen.setdefault(check, []).append(what)


def _before_run(event: str, args: tuple[Any, ...]) -> None:
    """A start while no run watches: noted when a third-party checker is being imported (from the
    importing thread or a thread gatekeeper did not name), or when it comes from a thread such an
    import left running (``_early``)."""
    if not _importing and not _left:
        return
    current = threading.current_thread()
    own = current.name.startswith("gatekeeper-") or current is threading.main_thread()
    what = _described(event, args)
    with _lock:
        noting = [noted for thread, noted in _importing if thread is current or not own]
        for noted in noting:
            noted.append(what)
        if not noting and current in _left:
            _early.append(f"{what} (from the thread {current.name}, which a checker's import left running, before the run)")


def _described(event: str, args: tuple[Any, ...]) -> str:
    """A few words naming what was started: the event and the program's first arguments."""
    at = {"subprocess.Popen": 1, "os.posix_spawn": 1, "os.exec": 1, "os.spawn": 2, FORK_EXEC: 0}.get(event)
    argv: Any = args[at] if at is not None and len(args) > at else args[:1]
    if isinstance(argv, (str, bytes)):
        argv = [argv]
    words = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in list(argv or [])[:3]]
    return f"{event}: {' '.join(words)}".strip()
