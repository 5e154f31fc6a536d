"""bandit worker processes that import bandit once and take batches of files as they free up.

Why not one ``bandit`` command per CPU with a fixed share of the files: bandit's cost per file
follows its syntax tree, not its bytes, so a split made in advance leaves one process idle while
the other finishes a heavier share. Here the files go out largest first, in batches that shrink
as the work runs out (a share of what is left per worker), to whichever worker is free; the last
batches are single small files, so the workers finish within one small file of each other. Each
worker is ``worker.py``, bandit's own CLI code (see there): it loads bandit and its plugins once,
and the first one starts while discovery still runs.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen
from typing import IO, Any

from gatekeeper import process
from gatekeeper.errors import ToolError, ToolTimeout

_WORKER = Path(__file__).with_name("worker.py")
_PROBE = Path(__file__).with_name("probe.py")
#: Batches are about this share of the bytes left per worker: big first, one small file at the end.
SHARE = 4
#: The smallest batch worth a round trip: ~100 lines, ~10 ms of bandit; a report costs ~1 ms.
MIN_BATCH_BYTES = 4 * 1024
#: A frame announcing more than this is not a report of one batch.
MAX_REPORT_BYTES = 1 << 30


class Batches:
    """The files still to scan, largest first, handed out in batches that shrink as they run out."""

    def __init__(self, files: Sequence[str], sizes: Mapping[str, int], workers: int) -> None:
        self._todo = deque(sorted(files, key=lambda f: (-sizes.get(f, 0), f)))
        self._sizes = sizes
        self._left = sum(sizes.get(f, 0) for f in files)
        self._workers = max(1, workers)
        self._lock = threading.Lock()

    @property
    def workers(self) -> int:
        """How many workers share these batches."""
        return self._workers

    def take(self) -> list[str]:
        """The next batch (at least one file), or [] when nothing is left or the scan was cancelled."""
        with self._lock:
            target = max(MIN_BATCH_BYTES, self._left // (SHARE * self._workers))
            batch: list[str] = []
            taken = 0
            while self._todo and (not batch or taken < target):
                f = self._todo.popleft()
                batch.append(f)
                taken += self._sizes.get(f, 0)
            self._left -= taken
            return batch

    def empty(self) -> bool:
        """True when every file has been handed out."""
        with self._lock:
            return not self._todo

    def cancel(self) -> None:
        """Hand out nothing more (a worker failed: the others stop after their current batch)."""
        with self._lock:
            self._todo.clear()


class _Broken(Exception):
    """A worker's output ended, or is not a frame; ``text`` is what it printed instead ("" for nothing)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _Worker:
    def __init__(self, python: str, root: Path) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile(prefix="gatekeeper-bandit-")
        try:
            self.proc: Popen[bytes] = process.spawn(
                # -I: the project's root must not shadow bandit or its dependencies (a local yaml.py, say)
                [python, "-I", "-c", _WORKER.read_text(encoding="utf-8")],
                cwd=root,
                stderr=self.stderr,
            )
        except BaseException:
            self.stderr.close()
            raise

    def send(self, item: object) -> None:
        stdin = self.proc.stdin
        assert stdin is not None  # noqa: S101  # nosec B101: spawned with a pipe
        try:
            stdin.write(json.dumps(item).encode("utf-8") + b"\n")
            stdin.flush()
        except (OSError, ValueError):  # it died (or its input was closed): receive() says how it ended
            pass

    def end_input(self) -> None:
        """Close the worker's stdin: it finishes the batch it has, then exits."""
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def receive(self) -> str:
        """One framed report; ``_Broken`` when the output ended or is not a frame."""
        stdout = self.proc.stdout
        assert stdout is not None  # noqa: S101  # nosec B101: spawned with a pipe
        head = stdout.readline()
        if not head:
            raise _Broken("")
        if not head.strip().isdigit() or int(head) > MAX_REPORT_BYTES:
            raise _Broken(head[:600].decode("utf-8", "replace"))  # read no further: it may still be running
        size = int(head)
        data = stdout.read(size)
        if len(data) != size:
            raise _Broken(data[-300:].decode("utf-8", "replace"))
        return data.decode("utf-8", "surrogateescape")

    def finish(self, *, kill: bool = False) -> tuple[int, str]:
        """End the worker (stdin closed, or killed): its exit code and the tail of its stderr."""
        try:
            code = process.release(self.proc, kill=kill)
            self.stderr.seek(0)
            return code, process.tail(self.stderr.read().decode("utf-8", "replace"))
        finally:
            self.stderr.close()


@contextmanager
def _killed_at(deadline: float, workers: Sequence[_Worker]) -> Iterator[None]:
    """Kill ``workers`` (each one's process group) if the block is still running at ``deadline``."""

    def kill_all() -> None:
        for worker in workers:
            process.kill(worker.proc)

    timer = threading.Timer(max(deadline - time.monotonic(), 0.0), kill_all)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class BanditPool:
    """Up to one bandit worker per CPU in the project's root, fed from a ``Batches``."""

    def __init__(self, python: str, root: Path) -> None:
        self.python = python
        self.root = root
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def start(self, count: int, *, quiet: bool = False) -> None:
        """Have ``count`` workers running (they import bandit now); ``quiet``: a failure to start is left to later."""
        while len(self._workers) < count:
            try:
                self._workers.append(_Worker(self.python, self.root))
            except ToolError:
                if not quiet:
                    raise
                return

    def discover(self, request: Mapping[str, Any], deadline: float) -> dict[str, Any]:
        """The discovery probe's answer (``probe.py``), from the first worker: it imports bandit once
        for both. ``ToolError`` when it fails, ``ToolTimeout`` past ``deadline``."""
        self.start(1)
        worker = self._workers[0]
        try:
            with _killed_at(deadline, [worker]):
                worker.send({"discover": dict(request), "probe": _PROBE.read_text(encoding="utf-8")})
                text = worker.receive()
        except _Broken as exc:
            code, err = self._drop(worker, kill=True)
            if time.monotonic() >= deadline:
                raise ToolTimeout("bandit file discovery did not finish before the check's timeout and was killed") from None
            if exc.text:  # not a frame: read no further (it may still be running) and say what it printed
                raise ToolError(
                    f"bandit file discovery printed something other than its answer: {process.tail(exc.text, 300)}"
                ) from None
            raise ToolError(f"bandit file discovery failed (exit {code}): {err or 'no output'}") from None
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ToolError(f"bandit file discovery printed an unexpected answer: {process.tail(text, 300)}")
        return answer

    def scan(
        self,
        args: Sequence[str],
        given: Mapping[str, str],
        batches: Batches,
        handle: Callable[[list[str], str], None],
        deadline: float,
    ) -> None:
        """Scan every batch with ``batches.workers`` workers; ``handle(batch, report)`` gets each bandit JSON report.

        Raises ``ToolError`` when a worker fails (``ToolTimeout`` past ``deadline``, when every
        worker is killed); the other workers stop after their current batch.
        """
        from concurrent.futures import ThreadPoolExecutor  # here: the first worker starts before it loads

        count = batches.workers
        self.start(count)
        workers = self._workers[:count]
        with (
            _killed_at(deadline, workers),
            ThreadPoolExecutor(max_workers=len(workers), thread_name_prefix="gatekeeper-bandit") as pool,
        ):
            futures = [pool.submit(self._serve, w, list(args), given, batches, handle) for w in workers]
            errors = [f.exception() for f in futures]
        if time.monotonic() >= deadline and any(errors):
            raise ToolTimeout("bandit did not finish before the check's timeout and was killed")
        for error in errors:
            if error is not None:
                raise error

    def _serve(
        self,
        worker: _Worker,
        args: list[str],
        given: Mapping[str, str],
        batches: Batches,
        handle: Callable[[list[str], str], None],
    ) -> None:
        broken: _Broken | None = None

        def send(batch: list[str]) -> None:
            # the names discovery produced (``src/x.py`` or ``./x.py``), as one ``bandit -r`` names them
            worker.send([given.get(f, f) for f in batch])  # a dead worker: receive() says how it ended
            if batches.empty():
                worker.end_input()  # its last batch: it exits after this report

        try:
            worker.send(args)
            current = batches.take()
            if current:
                send(current)
            while current:
                report = worker.receive()
                # the next batch goes out before this report is parsed, cached and mapped: the worker
                # scans while we do that (sent only now, when it reads its input again: no pipe can fill)
                following = batches.take()
                if following:
                    send(following)
                handle(current, report)
                current = following
        except _Broken as exc:
            broken = exc
        except BaseException:
            batches.cancel()
            self._drop(worker, kill=True)
            raise
        code, err = self._drop(worker, kill=broken is not None)
        if broken is None and code == 0:
            return
        batches.cancel()
        if broken is not None and (broken.text or code == 0):
            what = process.tail(broken.text, 300) or "it ended without a report"
            raise ToolError(f"bandit printed output that is not its JSON report (exit {code}): {what}")
        raise ToolError(f"bandit failed (exit {code}): {err or 'no output'}")

    def _drop(self, worker: _Worker, *, kill: bool) -> tuple[int, str]:
        with self._lock:
            self._workers.remove(worker)
        return worker.finish(kill=kill)

    def close(self) -> None:
        """End the workers that are left (started but not needed): killed, they were only importing."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.finish(kill=True)
