"""Report formats: each renders a ``GateResult`` to text; this module writes them atomically.

Renderers are pure (``render(result) -> str``); only ``write_reports`` touches the disk, through
a temporary file in the same folder and an atomic rename, so a reader never sees half a report.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from gatekeeper.errors import OutputError
from gatekeeper.findings import GateResult

#: format name -> (file name, "module:function")
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("gatekeeper.json", "gatekeeper.reports.json:render_json"),
    "sarif": ("gatekeeper.sarif", "gatekeeper.reports.sarif:render_sarif"),
    "html": ("gatekeeper.html", "gatekeeper.reports.html:render_html"),
    "markdown": ("gatekeeper.md", "gatekeeper.reports.markdown:render_markdown"),
    "junit": ("gatekeeper.junit.xml", "gatekeeper.reports.junit:render_junit"),
}


def renderer(fmt: str) -> Callable[[GateResult], str]:
    """The render function for a format name."""
    module, _, func = FORMATS[fmt][1].partition(":")
    render: Callable[[GateResult], str] = getattr(importlib.import_module(module), func)
    return render


def write_atomic(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` through a temporary file and a rename; return its sha256."""
    tmp, digest = _stage(path, text)
    try:
        os.replace(tmp, path)
    except BaseException as exc:
        _discard(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    return digest


def write_reports(
    result: GateResult, output_dir: Path, formats: Iterable[str], written: dict[str, str] | None = None
) -> dict[str, str]:
    """Render and write each format into ``output_dir``; return {file path: sha256}, also added to
    ``written`` as each file lands (so a caller interrupted afterwards knows what was written).

    Every format is rendered and written to a temporary file before any is renamed into place,
    and the renames are not cut short by Ctrl-C or SIGTERM (the signal is handled right after),
    so a failure or an interruption leaves the previous report set whole, never a mix.
    """
    rendered = []
    for fmt in dict.fromkeys(formats):
        try:
            rendered.append((output_dir / FORMATS[fmt][0], renderer(fmt)(result)))
        except Exception as exc:  # a renderer's bug must not lose the verdict: report it clearly
            raise OutputError(f"could not render the {fmt} report: {type(exc).__name__}: {exc}") from exc
    written = {} if written is None else written
    staged: list[tuple[Path, str, str]] = []
    try:
        for path, text in rendered:
            tmp, digest = _stage(path, text)
            staged.append((path, tmp, digest))
        with _signals_deferred():
            for i, (path, tmp, _) in enumerate(staged):
                try:
                    os.replace(tmp, path)
                except OSError as exc:
                    raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
                staged[i] = (path, "", staged[i][2])
                written[str(path)] = staged[i][2]
    finally:
        for _, tmp, _ in staged:
            if tmp:
                _discard(tmp)
    return {str(path): digest for path, _, digest in staged}


def _stage(path: Path, text: str) -> tuple[str, str]:
    """Write ``text`` to a new temporary file beside ``path``, flushed to disk; return (its name, sha256)."""
    data = text.encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write reports to {path.parent}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    except BaseException as exc:  # Ctrl-C included: never leave a temporary file behind
        _discard(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    return tmp, hashlib.sha256(data).hexdigest()


def _discard(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


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
