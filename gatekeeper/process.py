"""The one place that spawns processes: argument lists only, a deadline, and a clean kill.

Every tool runs in its own process group so that a timeout (or Ctrl-C on gatekeeper) kills the
tool and anything it started. Live processes are tracked so the CLI can kill them on SIGTERM.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.metadata
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from gatekeeper import childenv, searchpath, spawnwatch
from gatekeeper.errors import ToolError, ToolMissing, ToolTimeout

_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()
#: the session of every process the layer started (each starts its own: its pid): what runs in one
#: of them is the layer's, which kills it with its group. Held across a start, so that ``kill_strays``
#: never sees a tool between its start and the record of its session
_SESSIONS: set[int] = set()
_STARTING = threading.Lock()
#: the children this process had before the checks began (``children_before``): not the checks' to kill
_BEFORE: set[int] = set()
_STOPPED = threading.Event()  # set by ``kill_all(stop=True)``: the command is ending, start no more tools


@dataclass(frozen=True, slots=True)
class Completed:
    """A finished tool run; ``returncode`` is data, never raised on."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float


def run(  # noqa: PLR0913  # subprocess.run's own keywords, and when the tool has started
    args: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    on_start: Callable[[], None] | None = None,
    errors: str = "replace",
) -> Completed:
    """Run ``args`` (never through a shell) and return its output.

    Raises ``ToolMissing`` when the executable does not exist and ``ToolTimeout`` when it runs
    past ``timeout`` seconds (the whole process group is killed first). Once it has ended, what
    it left running in its process group is killed: nothing it started outlives it (a process the
    tests of ``checks.coverage.run`` leave behind would write into the checkout after it has been
    compared with its snapshot). The child's environment
    never holds the audit signing key (``childenv``). ``on_start`` is called once the process has
    started, before its output is awaited (what it raises kills the process and is raised).
    ``errors``: how bytes of the output that are not UTF-8 are decoded (``surrogateescape`` keeps a
    file name a tool lists as the name ``os`` functions look up).
    """
    argv = [str(a) for a in args]
    if not argv:
        raise ToolError("empty command")
    exe = argv[0]
    if searchpath.which(exe, env) is None:
        raise ToolMissing(f"{exe} is not installed or not on PATH")
    if timeout <= 0:
        raise ToolTimeout(f"{exe} had no time left to run")
    started = time.monotonic()
    proc = _start(argv, cwd, env, subprocess.PIPE if stdin is not None else subprocess.DEVNULL, subprocess.PIPE)
    try:
        if on_start is not None:
            on_start()
        out, err = proc.communicate(input=stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _close_stdin(proc)
        proc.communicate()
        raise ToolTimeout(f"{shown(argv)} did not finish within {timeout:.0f}s and was killed") from None
    except BaseException:
        _kill_group(proc)
        _close_stdin(proc)
        proc.communicate()
        raise
    finally:
        _kill_group(proc)  # what it left running: nothing it started outlives it
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    return Completed(
        args=tuple(argv),
        returncode=proc.returncode,
        stdout=out.decode("utf-8", errors),
        stderr=err.decode("utf-8", "replace"),
        duration_s=time.monotonic() - started,
    )


def _close_stdin(proc: subprocess.Popen[bytes]) -> None:
    """Close the pipe to a killed tool's stdin: ``communicate`` again, with no input, leaves open the
    pipe its first call had not yet written (a deadline that passed before it started)."""
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except OSError:  # the tool is gone: what was left to write goes nowhere
            pass


def shown(argv: Sequence[str], words: int = 3) -> str:
    """The first ``words`` words of a command line for a message, a ``-c`` program's text shown as
    ``<program>`` (a probe's whole source is no name for it)."""
    out = [*argv[:words]]
    for i, arg in enumerate(out[:-1]):
        if arg == "-c":
            out[i + 1] = "<program>"
    return " ".join(out)


def spawn(args: Sequence[str], *, cwd: str | os.PathLike[str], stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start a long-running tool that talks over pipes: requests on its stdin, answers on its stdout.

    Like ``run``: an argument list, its own process group, the child environment without the
    signing key, tracked for ``kill_all``. ``stderr`` is a file (a pipe nobody reads could fill
    and block the tool). The caller ends it with ``release``.
    """
    return _start([str(a) for a in args], cwd, None, subprocess.PIPE, stderr)


class Started:
    """A tool started ahead of its one input (``spawn``, its stderr in a temporary file), finished
    once with ``finish``; ``close`` ends and reaps it whatever happened (killed with its group when
    asked), and may be called again."""

    def __init__(self, args: Sequence[str], *, cwd: str | os.PathLike[str], prefix: str) -> None:
        import tempfile

        self.args = tuple(str(a) for a in args)
        self._started = time.monotonic()
        self._stderr: IO[bytes] = tempfile.TemporaryFile(prefix=prefix)
        try:
            self._proc = spawn(self.args, cwd=cwd, stderr=self._stderr)
        except BaseException:
            self._stderr.close()
            raise

    def finish(
        self, timeout: float, late: str, stdin: bytes | None = None, first_line: Callable[[str], None] | None = None
    ) -> Completed:
        """Its run, ``stdin`` written first, waited for ``timeout`` seconds at most (then it is killed:
        ``ToolTimeout`` saying that ``late`` did not finish). ``first_line``: called with the first
        line of its output as soon as that line is complete (while the tool goes on); the output
        returned is then what follows that line."""
        timeout = max(timeout, 0.0)
        try:
            if first_line is None:
                out, _ = self._proc.communicate(stdin, timeout=timeout)
            else:
                out = _converse(self._proc, stdin or b"", time.monotonic() + timeout, first_line)
        except subprocess.TimeoutExpired:
            self.close(kill=True)
            raise ToolTimeout(f"{late} did not finish within {timeout:.0f}s and was killed") from None
        except BaseException:
            self.close(kill=True)
            raise
        code, err = self.close()
        return Completed(self.args, code, out.decode("utf-8", "replace"), err, time.monotonic() - self._started)

    def close(self, *, kill: bool = False) -> tuple[int, str]:
        """End it (killed with its group when ``kill``) and reap it; its exit code and stderr."""
        if self._stderr.closed:
            return self._proc.returncode or 0, ""
        try:
            code = release(self._proc, kill=kill)
            self._stderr.seek(0)
            return code, self._stderr.read().decode("utf-8", "replace")
        finally:
            self._stderr.close()


def _converse(proc: subprocess.Popen[bytes], data: bytes, deadline: float, first_line: Callable[[str], None]) -> bytes:
    """``communicate`` that hands the first line of the output to ``first_line`` as soon as it is
    complete; the output after that line. Raises ``subprocess.TimeoutExpired`` past ``deadline``."""
    import selectors

    if proc.stdin is None or proc.stdout is None:
        raise ToolError("the tool was not started with pipes to talk over")
    out = bytearray()
    told = False
    pending = memoryview(data)
    with selectors.DefaultSelector() as selector:
        if pending:
            selector.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        selector.register(proc.stdout, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, 0)
            for key, _ in selector.select(left):
                if key.fileobj is proc.stdin:
                    try:  # at most PIPE_BUF: a pipe that selects as writable takes that much without blocking
                        pending = pending[os.write(key.fd, pending[: select.PIPE_BUF]) :]
                    except BrokenPipeError:  # it stopped reading: what it says is still read
                        pending = pending[len(pending) :]
                    if not pending:
                        selector.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    selector.unregister(proc.stdout)
                    continue
                out += chunk
                if not told and b"\n" in out:
                    line, _, rest = bytes(out).partition(b"\n")
                    out, told = bytearray(rest), True
                    first_line(line.decode("utf-8", "replace"))
    return bytes(out)


def _start(
    argv: list[str], cwd: str | os.PathLike[str] | None, env: Mapping[str, str] | None, stdin: int, stderr: int | IO[bytes]
) -> subprocess.Popen[bytes]:
    """Popen in a new session with the child environment, tracked as live; start failures as tool errors.

    Once ``kill_all(stop=True)`` has run, nothing starts: a tool whose start raced with it is killed
    as soon as it is tracked, so no tool outlives an interrupted command."""
    if _STOPPED.is_set():
        raise ToolError(f"{argv[0]} was not started: gatekeeper is stopping")
    try:
        # looked up in PATH's absolute folders: a relative entry would find the checkout's program
        executable = searchpath.which(argv[0], env)
        if executable is None:
            raise FileNotFoundError(errno.ENOENT, "not found in PATH's absolute folders", argv[0])
        with _STARTING, spawnwatch.inside_layer():
            proc = subprocess.Popen(
                argv,
                executable=executable,
                cwd=cwd,
                env=childenv.for_child(env),
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
            )
            _SESSIONS.add(proc.pid)
    except FileNotFoundError as exc:
        raise ToolMissing(f"{argv[0]} is not installed ({exc.strerror})") from exc
    except OSError as exc:
        raise ToolError(f"{argv[0]} could not be started: {exc}") from exc
    with _LIVE_LOCK:
        _LIVE.add(proc)
        stopped = _STOPPED.is_set()
    if stopped:  # kill_all(stop=True) ran while this tool was starting: it did not see it
        _kill_group(proc)
    return proc


def release(proc: subprocess.Popen[bytes], *, kill: bool = False, timeout: float = 10.0) -> int:
    """Close a spawned tool's stdin and wait for it (killed with its group when ``kill`` or past
    ``timeout``); what it left running in its process group is killed once it has ended (``run``)."""
    try:
        if kill:
            _kill_group(proc)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            return proc.wait(timeout=max(timeout, 0.1))
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return proc.wait()
    finally:
        _kill_group(proc)
        with _LIVE_LOCK:
            _LIVE.discard(proc)


def kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill a spawned tool and its process group now (its reader then sees the end of its output)."""
    _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all(*, stop: bool = False) -> None:
    """Kill every tool still running, with its children (used on Ctrl-C and SIGTERM).

    ``stop``: the command is ending (Ctrl-C, SIGTERM): from now on no tool starts, and one that was
    starting at this moment is killed once tracked (a check's thread keeps running after the main
    thread gave up on it)."""
    with _LIVE_LOCK:
        if stop:
            _STOPPED.set()
        procs = list(_LIVE)
    for proc in procs:
        _kill_group(proc)


def children_before() -> None:
    """Note this process's children as the checks begin: ``kill_strays`` leaves them alone (gatekeeper
    used as a library, in a process that has children of its own)."""
    me = os.getpid()
    with _STARTING:
        _BEFORE.clear()
        _BEFORE.update(pid for pid, (parent, _, _) in _processes().items() if parent == me)


def kill_strays() -> list[str]:
    """Kill every process this one started outside the layer that still runs, with what it started;
    return a few words on each (its pid and command line).

    A third-party checker that starts a process itself (``subprocess``, ``os.fork``) leaves it running
    when its check ends, where it could still write into the checkout after the comparison, or keep
    what it read: called as such a check ends. A process of the layer (in a session ``_start``
    recorded) is the layer's to end, and so is a child this process had before the checks began
    (``children_before``). Children are found in ``/proc`` (Linux); elsewhere none is found.
    A process that left this one's children (a daemon that forked twice) is out of reach."""
    me = os.getpid()
    with _STARTING:
        table = _processes()
        mine = [pid for pid, (parent, session, _) in table.items() if parent == me and session not in _SESSIONS]
        strays = [pid for pid in mine if pid not in _BEFORE and pid != _resource_tracker()]
        doomed: list[int] = []
        pending = list(strays)
        while pending:
            pid = pending.pop()
            doomed.append(pid)
            pending.extend(child for child, (parent, _, _) in table.items() if parent == pid and child not in doomed)
        said = [f"pid {pid}: {_command_line(pid)}" for pid in strays if not table[pid][2]]  # an ended one is no stray
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for pid in strays:  # reaped, so no zombie is left behind; its Popen, if waited on later, reads an exit
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
    return said


def _resource_tracker() -> int | None:
    """The pid of the resource tracker ``multiprocessing`` runs for this process, if it runs one: the
    process's own bookkeeping (it runs no checker's code, and ends with the process), which, killed,
    the next ``multiprocessing`` start warns of."""
    module = sys.modules.get("multiprocessing.resource_tracker")
    pid = getattr(getattr(module, "_resource_tracker", None), "_pid", None)
    return pid if isinstance(pid, int) else None


def _processes() -> dict[int, tuple[int, int, bool]]:
    """Every process ``/proc`` lists: pid -> (its parent's pid, its session, whether it has ended and
    awaits its parent's wait); {} without ``/proc``."""
    out: dict[int, tuple[int, int, bool]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rfind(b")") + 2 :].split()  # after the command's name, which may hold anything
        try:
            out[int(entry)] = (int(fields[1]), int(fields[3]), fields[0] == b"Z")
        except (IndexError, ValueError):
            continue
    return out


def _command_line(pid: int) -> str:
    """A process's first few arguments, for a message (its name alone when they cannot be read)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            words = [w.decode("utf-8", "replace") for w in fh.read().split(b"\0") if w][:3]
    except OSError:
        words = []
    return " ".join(words) or "?"


def tool_version(python: str, distribution: str, *, elsewhere: str = "", missing: str = "") -> str:
    """The installed version of ``distribution`` when its tool runs in this interpreter (``python``
    is ``sys.executable``); else ``elsewhere``, and ``missing`` when it is not installed here."""
    if python != sys.executable:
        return elsewhere
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return missing


def tail(text: str, limit: int = 600) -> str:
    """The last ``limit`` characters of a tool's output, for an error message."""
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def require_module(done: Completed, module: str, package: str, python: str, advice: str) -> None:
    """Raise ``ToolMissing`` when ``python`` answered that ``module`` (of ``package``) is not installed.

    ``advice`` says what to do, e.g. "pip install bandit, or set gate.tool_python".
    """
    if done.returncode != 0 and f"No module named {module}" in done.stderr:
        raise ToolMissing(f"{package} is not installed in {python} ({advice})")


def json_object(done: Completed, what: str) -> dict[str, Any]:
    """The JSON object a tool or probe printed on stdout; ``ToolError`` naming ``what`` otherwise."""
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ToolError(f"{what} failed (exit {done.returncode}): {tail(done.stderr or done.stdout)}")
    return answer
