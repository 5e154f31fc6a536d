"""detect-secrets as the check runs it: ``worker.py`` started in the tool interpreter, its first
line (version, lenient reading; cached by ``LazyWorker``), a scan, and what it raised when a scan
fails."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gatekeeper import process
from gatekeeper.checkers import cache
from gatekeeper.checkers.secrets.results import parse_output
from gatekeeper.checkers.secrets.terms import CACHE_VERSION, INSTALL
from gatekeeper.errors import ToolError, ToolMissing, ToolTimeout

if TYPE_CHECKING:
    from gatekeeper.checkers.base import CheckContext
    from gatekeeper.toolorigin import ToolOrigin

#: the worker, run as ``python -I -c <its source>``
WORKER = Path(__file__).with_name("worker.py")
#: the worker's first line is a short JSON object; more than this before a line break is not it
MAX_HELLO_BYTES = 4096


def paths(chunk: Sequence[str]) -> list[str]:
    """``chunk`` as detect-secrets' command line names the files."""
    return [f"./{f}" if f.startswith("-") else f for f in chunk]  # a file named "-x" is no option


class _Worker:
    """``worker.py`` in one interpreter: started at once, asked for its version, then for one scan."""

    def __init__(self, ctx: CheckContext, python: str) -> None:
        self.python = python
        self.fresh = True  # it has not scanned yet (it scans once)
        self._deadline = ctx.deadline
        self._out = b""
        self._stderr: IO[bytes] = tempfile.TemporaryFile(prefix="gatekeeper-detect-secrets-")
        try:
            self._proc = process.spawn(_worker_args(python), cwd=ctx.root, stderr=self._stderr)
        except BaseException:
            self._stderr.close()
            raise

    @classmethod
    def start(cls, ctx: CheckContext, python: str) -> _Worker | None:
        """A worker in ``python``, or None when that interpreter does not exist."""
        try:
            return cls(ctx, python)
        except ToolMissing:
            return None

    def hello(self) -> dict[str, Any]:
        """Its first line: ``{"version": ...}`` or ``{"missing": ...}``; ``ToolError`` for anything else."""
        stdout = self._proc.stdout
        assert stdout is not None  # noqa: S101  # nosec B101: spawned with a pipe
        with selectors.DefaultSelector() as selector:
            selector.register(stdout.fileno(), selectors.EVENT_READ)
            while b"\n" not in self._out and len(self._out) <= MAX_HELLO_BYTES:
                left = self._deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.close(kill=True)
                    raise ToolTimeout(f"detect-secrets in {self.python} did not start before the check's timeout and was killed")
                chunk = os.read(stdout.fileno(), 65536)
                if not chunk:
                    break
                self._out += chunk
        line, _, self._out = self._out.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("version", answer.get("missing")), str):
            code, err = self.close(wait=2.0)  # its input closed: a moment to exit on its own, for its exit code
            said = process.tail(err or line.decode("utf-8", "replace")) or "no output"
            raise ToolError(f"detect-secrets could not be started in {self.python} (exit {code}): {said}")
        return answer

    def scan(self, args: Sequence[str], serial: bool) -> process.Completed:
        """detect-secrets on ``args``, as ``python -I -m detect_secrets ARGS`` would run (``serial``:
        without its process pool); the worker ends with it."""
        self.fresh = False
        started = time.monotonic()
        request = _request(args, serial)
        try:  # communicate() reads the pipe itself, past what hello() took from it
            out, _ = self._proc.communicate(request, timeout=max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.close(kill=True)
            raise ToolTimeout("detect-secrets did not finish before the check's timeout and was killed") from None
        code, err = self.close()
        stdout = (self._out + out).decode("utf-8", "replace")
        argv = (self.python, "-I", "-m", "detect_secrets", *args)
        return process.Completed(args=argv, returncode=code, stdout=stdout, stderr=err, duration_s=time.monotonic() - started)

    def close(self, *, kill: bool = False, wait: float = 10.0) -> tuple[int, str]:
        """End it: its input is closed (one not asked to scan then exits at once), and it is killed
        when ``kill`` or still running after ``wait`` seconds; its exit code and stderr."""
        if self._stderr.closed:
            return self._proc.returncode or 0, ""
        try:
            code = process.release(self._proc, kill=kill, timeout=wait)
            self._stderr.seek(0)
            return code, process.tail(self._stderr.read().decode("utf-8", "replace"))
        finally:
            self._stderr.close()


class Stale(Exception):
    """The detect-secrets started for a scan said another version than the cached hello: its answer."""

    def __init__(self, hello: dict[str, Any]) -> None:
        super().__init__()
        self.hello = hello


class LazyWorker:
    """The check's ``_Worker``: started at once when its hello (version, lenient reading) is not in
    the cache, so that detect-secrets imports while the files are read; otherwise only when a file
    must be scanned, so that a run whose every result is cached starts no detect-secrets at all.

    The cached hello is keyed by where the tool is (``ToolOrigin``, located and vetted before this),
    its distribution's version, the identity (``cache.file_stamp``) of the package files the hello
    comes from, and this worker's source; an entry that fails the cache's checks is not used.
    """

    def __init__(self, ctx: CheckContext, tool: ToolOrigin, folder: Path | None) -> None:
        self._ctx, self._python, self._folder = ctx, tool.python, folder
        self._key = cache.cache_key("hello", CACHE_VERSION, tool.version, tool.describe(), _stamp(tool.path))
        payload, _ = cache.read(folder, self._key)
        self._known: dict[str, Any] | None = payload if _valid_hello(payload) else None
        self._worker = _Worker.start(ctx, tool.python) if self._known is None else None
        self._said: dict[str, Any] | None = None

    def hello(self) -> dict[str, Any]:
        """The tool's first line: from the cache, or from the worker started at once (then cached)."""
        if self._known is not None:
            return self._known
        self._worker, said = _located(self._ctx, self._worker, [self._python])
        self._said = said
        cache.write(self._folder, self._key, said)
        return said

    def started(self) -> _Worker:
        """The worker, started now if it was not; ``Stale`` (once) when its hello is not the cached one."""
        if self._worker is None:
            self._worker, self._said = _located(self._ctx, _Worker.start(self._ctx, self._python), [self._python])
        if self._known is not None and self._said is not None and _hello_key(self._said) != _hello_key(self._known):
            self._known = None
            cache.write(self._folder, self._key, self._said)
            raise Stale(self._said)
        return self._worker

    def remembered(self, name: str) -> Any:
        """What was stored as ``name`` for this detect-secrets (``remember``), or None."""
        return cache.read(self._folder, cache.cache_key(self._key, name))[0]

    def remember(self, name: str, value: Any) -> None:
        """Store ``value`` as ``name`` for this detect-secrets (keyed as its hello is)."""
        cache.write(self._folder, cache.cache_key(self._key, name), value)

    def close(self) -> None:
        """End the worker, if one was started."""
        if self._worker is not None:
            self._worker.close()


def _hello_key(hello: Mapping[str, Any]) -> tuple[str, bool]:
    return str(hello.get("version")), hello.get("lenient") is True


def _valid_hello(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("version"), str) and isinstance(payload.get("lenient"), bool)


def _stamp(module_file: str) -> list[Any]:
    """The identity (``cache.file_stamp``) of detect-secrets' files the hello depends on (its version,
    the scanner it makes lenient; the plugins folder, changed when a plugin is added or removed),
    and the worker's own source: an edit to any of them is a new hello."""
    folder = Path(module_file).parent
    files = (Path(module_file), folder / "__version__.py", folder / "core" / "scan.py", folder / "plugins")
    return [WORKER.read_text(encoding="utf-8"), *(cache.file_stamp(path) for path in files)]


def _located(ctx: CheckContext, worker: _Worker | None, candidates: Sequence[str]) -> tuple[_Worker, dict[str, Any]]:
    """The first candidate interpreter's worker that has detect-secrets, and its first line
    (``version``, ``lenient``); ``ToolMissing`` when none has."""
    tried = []
    for n, python in enumerate(candidates):
        if n:
            worker = _Worker.start(ctx, python)
        if worker is None:
            tried.append(python)
            continue
        answer = worker.hello()
        if "version" in answer:
            return worker, answer
        worker.close()
        tried.append(python)
    raise ToolMissing(f"detect_secrets is not installed in {' nor in '.join(tried)} ({INSTALL})")


def scan(ctx: CheckContext, worker: _Worker, args: Sequence[str], serial: bool) -> dict[str, list[dict[str, Any]]]:
    """detect-secrets' results for ``args``: the started worker's scan, or a worker of its own after
    that (every scan runs through ``worker.py``, so that every file is read the same way);
    ``serial``: in the worker's own process, without detect-secrets' process pool."""
    if worker.fresh:
        return _parsed(worker.scan(args, serial))
    done = ctx.run(_worker_args(worker.python), stdin=_request(args, serial))
    _, _, report = done.stdout.partition("\n")  # its first line is its hello
    return _parsed(process.Completed(done.args, done.returncode, report, done.stderr, done.duration_s))


def _worker_args(python: str) -> list[str]:
    """The command line of ``worker.py`` in ``python`` (isolated: the root is not on its path)."""
    return [python, "-I", "-c", WORKER.read_text(encoding="utf-8")]


def _request(args: Sequence[str], serial: bool, *, each: bool = False) -> bytes:
    """The worker's request line (``worker.py``); ``each``: go on past a file it fails on, naming it."""
    asked: dict[str, Any] = {"args": list(args), "serial": serial}
    if each:
        asked["each"] = True
    return json.dumps(asked).encode("utf-8") + b"\n"


class Failed(ToolError):
    """detect-secrets exited with an error (it ran: not a timeout, not a missing tool)."""

    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(f"detect-secrets failed (exit {returncode}): {_raised(stderr)}")
        self.returncode, self.stderr = returncode, stderr


def _raised(stderr: str) -> str:
    """What detect-secrets' ``stderr`` says it raised, by the exception's name alone (a traceback's
    last line, up to its colon): the text after it may quote the file it was scanning, a secret
    included (a YAML error shows the line it stopped at)."""
    for line in reversed(stderr.strip().splitlines()):
        name = line.partition(":")[0].strip()
        if re.fullmatch(r"[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)", name):
            return f"it raised {name} (its message is not shown: it may quote the file; run detect-secrets by hand to see it)"
    return "no exception named on its stderr (not shown: it may quote a file; run detect-secrets by hand to see it)"


def _parsed(done: process.Completed) -> dict[str, list[dict[str, Any]]]:
    if done.returncode != 0:
        raise Failed(done.returncode, done.stderr)
    return parse_output(done.stdout)


def culprits(ctx: CheckContext, python: str, args: Sequence[str], files: Sequence[str]) -> list[tuple[str, str]]:
    """The files of ``files`` (on which detect-secrets just failed) that it fails on, each with the
    type of what it raised: one more scan, in one process, that goes on past such a file
    (``worker.py``, ``"each"``). Empty when it fails on none of them alone, or when that scan
    cannot say (it failed itself, or ran out of time)."""
    try:
        done = ctx.run(_worker_args(python), stdin=_request([*args, *paths(files)], True, each=True))
    except ToolError:
        return []
    found = []
    for line in done.stderr.splitlines():
        head, _, said = line.partition("gatekeeper-failed: ")
        if head or not said:
            continue
        try:
            failed = json.loads(said)
            found.append((str(failed["file"]).removeprefix("./"), str(failed["error"])))
        except (ValueError, TypeError, KeyError):
            return []
    return sorted(set(found)) if done.returncode == 0 else []
