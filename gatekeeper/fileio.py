"""Paths and writes: paths taken from and shown relative to the project root, paths resolved without
following links planted in the checkout, and atomic writes (a reader sees the old file or the new one, never half of one).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
import sys
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePath

from gatekeeper.errors import OutputError, PolicyError

_MAX_LINKS = 40  # like the kernel's limit on links followed while resolving one path


def shipped_dir(name: str) -> Path:
    """A data folder shipped with gatekeeper (``policies`` or ``report_templates``).

    In a wheel it is inside the package; in a source checkout it sits beside the package.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise PolicyError(f"gatekeeper's shipped {name}/ folder is missing; reinstall gatekeeper")


def resolve_for_write(path: Path, root: Path) -> Path:
    """``path`` made absolute and resolved, refusing a symbolic link met on the way anywhere inside
    ``root`` (the checkout, whose links a pull request controls): ``OutputError`` (exit 2) naming
    the link. Links outside ``root`` (a ``/tmp`` that is a link, a CI cache folder) are followed.

    The walk resolves one component at a time, so a link outside ``root`` that leads into it is
    checked too; the last component is checked as well (a link there would be replaced, not
    written through, but naming it is clearer than silently replacing it).
    """
    real_root = Path(os.path.realpath(root))
    current = Path(os.path.abspath(os.sep))
    pending = list(Path(os.path.join(os.getcwd(), path)).parts[1:])
    followed = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        if not candidate.is_symlink():
            current = candidate
            continue
        if candidate == real_root or real_root in candidate.parents:
            shown = candidate.relative_to(real_root).as_posix() if candidate != real_root else str(candidate)
            raise OutputError(
                f"refusing to write {path}: {shown} in the project is a symbolic link (to {os.readlink(candidate)}); "
                "gatekeeper never writes through a link in the checkout",
                hint="remove the link, or write somewhere else (--output-dir, --results-out)",
            )
        followed += 1
        if followed > _MAX_LINKS:
            raise OutputError(f"cannot write {path}: too many levels of symbolic links")
        target = PurePath(os.readlink(candidate))
        if target.is_absolute():
            current = Path(target.anchor)
            pending = list(target.parts[1:]) + pending
        else:
            pending = list(target.parts) + pending
    return current


def url_path(path: str) -> str:
    """The file system path a ``file:`` URL's path part names, exactly as ``urllib.request.url2pathname`` gives it.

    On POSIX before Python 3.13 that function is ``urllib.parse.unquote`` and nothing more, while
    importing ``urllib.request`` (http.client, ssl, email) costs about 10 ms of CPU: a run reads
    the URL of every ``direct_url.json`` it meets. Elsewhere the function itself is called.
    """
    if os.name != "nt" and sys.version_info < (3, 13):
        return urllib.parse.unquote(path)
    from urllib.request import url2pathname

    return url2pathname(path)


def tool_path(name: str) -> str:
    """A file name a tool reported, relative to the root, as the posix path gatekeeper names files
    by, without leading ``./``. Only where the separator is a backslash (Windows) is one turned into
    ``/``: elsewhere a backslash is a character of a file's name, and ``pkg\\run.py`` is not
    ``pkg/run.py`` (whose waivers, baseline entries and cached results it would take)."""
    if os.sep == "\\":
        name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def inside(relative: str) -> bool:
    """True when the relative path ``relative`` stays inside the folder it is relative to: not
    absolute, and no ``..`` climbing above it (links are ``resolve_for_write``'s business)."""
    if not relative or PurePath(relative).is_absolute() or relative.startswith(("/", "\\", "~")):
        return False
    depth = 0
    for part in relative.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return True


def under(root: Path, name: str) -> Path:
    """``name`` as a path: an absolute one as it is, a relative one taken from ``root``."""
    path = Path(name)
    return path if path.is_absolute() else root / path


def relative_to_root(path: Path, root: Path) -> str | None:
    """``path`` as a posix path relative to ``root``, both resolved (links followed); None when it
    lies outside ``root`` or cannot be resolved."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a link loop, before Python 3.13
        return None


class RootRelative:
    """``relative_to_root`` for many paths under one root, each folder resolved once.

    Equal to ``relative_to_root(path, root)`` for every path: a path whose last part is a link,
    ``.`` or ``..``, or whose folder cannot be resolved, takes that function's own way.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._real = str(root.resolve())
        self._prefix = self._real.rstrip(os.sep) + os.sep
        self._folders: dict[str, str] = {}

    def __call__(self, path: Path) -> str | None:
        """``path`` relative to the root (posix), or None when it lies outside or cannot be resolved."""
        text = os.path.join(os.getcwd(), path) if not os.path.isabs(path) else os.fspath(path)
        folder, name = os.path.split(text)
        if name in ("", ".", "..") or os.path.islink(text):
            return relative_to_root(Path(text), self._root)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            try:
                real_folder = self._folders[folder] = str(Path(folder).resolve())
            except (OSError, RuntimeError):  # as ``relative_to_root`` fails on it
                return None
        real = os.path.join(real_folder, name)
        if real == self._real:
            return "."
        if not real.startswith(self._prefix):
            return None
        return Path(real[len(self._prefix) :]).as_posix()


def write_atomic(path: Path, text: str | bytes, mode: int = 0o666, *, sync: bool = True) -> str:
    """Write ``text`` (UTF-8, or bytes as they are) to ``path`` through a temporary file in the same folder, fsync it, and
    rename it into place; return the sha256 of the bytes written. ``mode`` is masked by the umask. Raises OSError.

    ``sync=False`` skips the fsync, for files whose loss after a crash costs only time (cache entries).
    A destination that exists and is neither a regular file nor a folder (``/dev/null``, ``/dev/stdout``,
    a named pipe) is written into, never renamed over: nothing of it would survive as a file, and
    a rename would replace the device itself (for root, ``/dev/null`` for every process on the machine).
    """
    if special(path):
        digest = hashlib.sha256()
        with open(path, "wb") as fh:
            for data in _pieces([text]):
                digest.update(data)
                fh.write(data)
        return digest.hexdigest()
    tmp, hexdigest = stage(path, text, mode, sync=sync)
    try:
        place(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return hexdigest


def special(path: Path) -> bool:
    """Whether ``path`` exists (links followed) and is neither a regular file nor a folder: a device,
    a named pipe, a socket, which a write goes into instead of replacing."""
    try:
        kind = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(kind) or stat.S_ISDIR(kind))


def place(tmp: Path, path: Path) -> None:
    """Put the complete file ``tmp`` at ``path``: renamed over it, or, when ``path`` is ``special``
    (a device, a named pipe), its bytes written into it and ``tmp`` removed. Raises OSError."""
    if not special(path):
        os.replace(tmp, path)
        return
    with open(tmp, "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    tmp.unlink(missing_ok=True)


def fsync_all(paths: Iterable[Path]) -> None:
    """fsync every file of ``paths`` (written and closed; ``stage(..., sync=False)``), one thread
    each so that the waits overlap (the file system commits them together). Raises the first OSError."""
    import threading

    failures: list[OSError] = []

    def sync(path: Path) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=sync, args=(p,), name="gatekeeper-fsync", daemon=True) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def temporary_path(path: Path) -> Path:
    """A fresh name for a temporary file beside ``path`` (hidden, unique to this process), to be
    renamed over ``path`` once complete."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def stage(path: Path, text: str | bytes | Iterable[str], mode: int = 0o666, *, sync: bool = True) -> tuple[Path, str]:
    """Write ``text`` (UTF-8, or bytes as they are) to a new temporary file beside ``path`` and fsync it; return (the
    temporary file, the sha256 of its bytes) for the caller to rename into place. Raises OSError;
    on any failure, Ctrl-C included, no temporary file is left behind.

    The temporary file is created exclusively with ``mode`` under the umask, so that a report gets
    the umask's permissions (``mkstemp`` would make it readable by its owner only) and a private
    file (``0o600``) is never readable by others, not even for a moment. ``text`` may also be an
    iterable of str chunks (a renderer that streams), written as they come so the whole never sits in memory.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    chunks = [text] if isinstance(text, (str, bytes)) else text
    digest = hashlib.sha256()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
        with open(fd, "wb") as fh:
            for data in _pieces(chunks):
                digest.update(data)
                fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest.hexdigest()


#: about how many characters of small chunks ``stage`` joins before it hashes and writes them
PIECE = 1 << 16


def _pieces(chunks: Iterable[str | bytes]) -> Iterator[bytes]:
    """``chunks`` as bytes (str as UTF-8), small str chunks joined into pieces of about ``PIECE``
    characters: a renderer that streams a token at a time (tens of thousands for a large report)
    then costs one encoding, hash update and write per piece instead of per token. The bytes are
    the same, in the same order."""
    pending: list[str] = []
    size = 0
    for chunk in chunks:
        if isinstance(chunk, bytes):
            if pending:
                yield "".join(pending).encode("utf-8")
                pending, size = [], 0
            yield chunk
            continue
        pending.append(chunk)
        size += len(chunk)
        if size >= PIECE:
            yield "".join(pending).encode("utf-8")
            pending, size = [], 0
    if pending:
        yield "".join(pending).encode("utf-8")
