"""Where gatekeeper writes, and how: paths resolved without following links planted in the
checkout, and atomic writes (a reader sees the old file or the new one, never half of one).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path, PurePath

from gatekeeper.errors import OutputError

_MAX_LINKS = 40  # like the kernel's limit on links followed while resolving one path


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


def stage(path: Path, text: str | bytes | Iterable[str]) -> tuple[Path, str]:
    """Write ``text`` (UTF-8, or bytes as they are) to a new temporary file beside ``path`` and fsync it; return (the
    temporary file, the sha256 of its bytes) for the caller to rename into place. Raises OSError;
    on any failure, Ctrl-C included, no temporary file is left behind.

    The temporary file is created with ``open(..., "x")`` so that it gets the umask's permissions
    (``mkstemp`` would make a report readable by its owner only). ``text`` may also be an iterable
    of str chunks (a renderer that streams), written as they come so the whole never sits in memory.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    chunks = [text] if isinstance(text, (str, bytes)) else text
    digest = hashlib.sha256()
    try:
        with open(tmp, "xb") as fh:
            for chunk in chunks:
                data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
                digest.update(data)
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest.hexdigest()
