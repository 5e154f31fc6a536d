"""Report formats: each renders a ``GateResult`` to text; this module writes them atomically.

Renderers are pure (``render(result) -> str``); only ``write_reports`` touches the disk, through
a temporary file in the same folder and an atomic rename, so a reader never sees half a report
(nor, after an interruption, a set mixing two runs).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from gatekeeper import fileio
from gatekeeper.background import import_all
from gatekeeper.errors import OutputError
from gatekeeper.findings import GateResult
from gatekeeper.reports.registry import REGISTRY

#: format name -> (file name, "module:function"), from the one registry (``registry.REGISTRY``)
FORMATS: dict[str, tuple[str, str]] = {f.name: (f.file, f.target) for f in REGISTRY}


def renderer(fmt: str) -> Callable[[GateResult], str]:
    """The render function for a format name."""
    module, _, func = FORMATS[fmt][1].partition(":")
    render: Callable[[GateResult], str] = getattr(importlib.import_module(module), func)
    return render


def _chunks(fmt: str, result: GateResult) -> Iterable[str]:
    """The format's text in chunks: its ``iter_<render function>`` when it streams, else the whole text."""
    module, _, func = FORMATS[fmt][1].partition(":")
    streaming = getattr(importlib.import_module(module), f"iter_{func}", None)
    if streaming is not None:
        chunks: Iterable[str] = streaming(result)
        return chunks
    return [renderer(fmt)(result)]


def warm_up(formats: Iterable[str], modules: Iterable[str] = ()) -> threading.Thread:
    """Load each format's module and run its ``prepare()`` when it has one (HTML compiles its
    template) in a background thread, while the checks run and the main thread only waits, then
    import ``modules`` (what the caller uses once the checks end); a failure there is left for the
    rendering (or the caller's own import) to report."""

    def prepare() -> None:
        for fmt in formats:
            try:
                module = importlib.import_module(FORMATS[fmt][1].partition(":")[0])
                ready = getattr(module, "prepare", None)
                if callable(ready):
                    ready()
            except Exception:  # noqa: S112  # nosec B112: the rendering raises it again, where it is reported
                continue
        import_all(modules)

    thread = threading.Thread(target=prepare, name="gatekeeper-reports-warm-up", daemon=True)
    thread.start()
    return thread


def write_atomic(path: Path, text: str | bytes) -> str:
    """Write ``text`` (or bytes) to ``path`` atomically (``fileio.write_atomic``); return its sha256.

    Raises ``OutputError`` naming the file when it cannot be written.
    """
    try:
        return fileio.write_atomic(path, text)
    except OSError as exc:
        raise _output_error(path, exc) from exc


def write_atomic_all(files: Iterable[tuple[Path, str | bytes]]) -> dict[str, str]:
    """Write each ``(path, text)`` as ``write_atomic`` does, synced together: every file is written to
    a temporary file first, their fsyncs then overlap (``fileio.fsync_all``: the file system commits
    them together, where one after another each waited for a commit of its own), and every file is on
    disk before the first is renamed into place; return ``{path: sha256}``. A destination that is a
    device or a pipe (``fileio.special``) is written into as ``write_atomic`` writes it. Raises
    ``OutputError`` naming the file; no temporary file is left behind."""
    written: dict[str, str] = {}
    staged: list[tuple[Path, Path | None, str]] = []
    try:
        for path, text in files:
            if fileio.special(path):
                written[str(path)] = write_atomic(path, text)
                continue
            try:
                tmp, digest = fileio.stage(path, text, sync=False)  # synced together below
            except OSError as exc:
                raise _output_error(path, exc) from exc
            staged.append((path, tmp, digest))
        _sync(staged, staged[0][0] if staged else Path("."))
        _place(staged, written)
    finally:
        _discard(staged)
    return written


def _sync(staged: list[tuple[Path, Path | None, str]], where: Path) -> None:
    """Every staged temporary file on disk (their fsyncs overlap) before any is renamed into place."""
    try:
        fileio.fsync_all(tmp for _, tmp, _ in staged if tmp is not None)
    except OSError as exc:
        raise _output_error(where, exc) from exc


def _place(staged: list[tuple[Path, Path | None, str]], written: dict[str, str]) -> None:
    """Rename each staged file into place, marking it placed in ``staged`` and adding its digest to
    ``written`` as it lands; ``OutputError`` naming the file that could not be."""
    for i, (path, pending, digest) in enumerate(staged):
        if pending is None:
            continue
        try:
            fileio.place(pending, path)
        except OSError as exc:
            raise _output_error(path, exc) from exc
        staged[i] = (path, None, digest)
        written[str(path)] = digest


def _discard(staged: list[tuple[Path, Path | None, str]]) -> None:
    """Remove the temporary files not renamed into place (a failure, or an interruption, part way)."""
    for _, leftover, _ in staged:
        if leftover is not None:
            leftover.unlink(missing_ok=True)


def write_reports(
    result: GateResult, output_dir: Path, formats: Iterable[str], written: dict[str, str] | None = None
) -> dict[str, str]:
    """Render and write each format into ``output_dir``; return {file path: sha256}, also added to
    ``written`` as each file lands (so a caller interrupted afterwards knows what was written).

    Every format is rendered (streamed, where the renderer can) into a temporary file before any is
    renamed into place (a format whose renderer returns nothing writes no file and removes an
    earlier one), and the renames are not cut short by Ctrl-C or SIGTERM (the signal is handled right after),
    so a renderer's failure, a full disk or an interruption leaves the previous report set whole,
    never a mix of two runs.
    """
    written = {} if written is None else written
    staged: list[tuple[Path, Path | None, str]] = []
    void: list[Path] = []  # formats with nothing to say this run (an OpenVEX document without a statement)
    try:
        for fmt in dict.fromkeys(formats):
            path = output_dir / FORMATS[fmt][0]
            try:  # rendered straight into the temporary file: a big report never sits whole in memory
                tmp, digest = fileio.stage(path, _chunks(fmt, result), sync=False)  # synced together below
            except OSError as exc:
                raise _output_error(path, exc) from exc
            except Exception as exc:  # a renderer's bug must not lose the verdict: report it clearly
                raise OutputError(f"could not render the {fmt} report: {type(exc).__name__}: {exc}") from exc
            if digest == _EMPTY:
                tmp.unlink(missing_ok=True)
                void.append(path)
                continue
            staged.append((path, tmp, digest))
        _sync(staged, output_dir)  # every file on disk before any is renamed into place
        with _signals_deferred():
            for path in void:  # an earlier run's file must not stand for this run
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    raise _output_error(path, exc) from exc
            _place(staged, written)
    finally:
        _discard(staged)
    return {str(path): digest for path, _, digest in staged}


#: the sha256 of no bytes: a renderer that returns "" has nothing to write this run
_EMPTY = hashlib.sha256(b"").hexdigest()


def _output_error(path: Path, exc: OSError) -> OutputError:
    where = path.parent if not path.parent.is_dir() else path
    return OutputError(f"cannot write reports to {where}: {exc.strerror or exc}")


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum)) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for pending in caught[:1]:
            signal.raise_signal(pending)
