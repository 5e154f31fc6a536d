"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


def write_atomic(path: Path, text: str | bytes) -> str:
    """Write ``text`` (UTF-8, or bytes as they are) to ``path`` through a temporary file in the same folder, fsync it, and
    rename it into place; return the sha256 of the bytes written. Raises OSError.
    """
    tmp, digest = stage(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


def stage(path: Path, text: str | bytes) -> tuple[Path, str]:
    """Write ``text`` (UTF-8, or bytes as they are) to a new temporary file beside ``path`` and fsync it; return (the
    temporary file, the sha256 of its bytes) for the caller to rename into place. Raises OSError;
    on any failure, Ctrl-C included, no temporary file is left behind.

    The temporary file is created with ``open(..., "x")`` so that it gets the umask's permissions
    (``mkstemp`` would make a report readable by its owner only).
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, hashlib.sha256(data).hexdigest()
