"""The content digest of an offline advisory database, and its reuse while the files are unchanged.

The digest names the data a verdict rests on (attestations, bundles): ``{"sha256": ...}`` of a
zip, or in-toto's ``{"dirHash1": ...}`` of a folder (the sha256 of ``sha256sum``'s lines for every
regular file, sorted by path in the C locale, which
``find . -type f | cut -c3- | LC_ALL=C sort | xargs -r sha256sum | sha256sum`` reproduces).

Hashing a few thousand records on every run costs more than the rest of an unchanged audit, so a
digest is reused from the run's (authenticated) cache while every file's stat data is unchanged,
the way git's index trusts stat data: the key covers each regular file's path, size, mtime, ctime,
inode and device. Any write to a file changes its ctime, which no ``os.utime`` can set back, so an
edit that keeps size and mtime still misses. A file changed within ``RACY_NS`` of the walk could
still be written again within the same timestamp tick; such a tree is hashed but never stored.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import time
from collections.abc import Mapping
from pathlib import Path

from gatekeeper.checkers import cache

_VERSION = 1
_CHUNK = 1 << 20
#: files changed this recently (ns) make a digest that is not stored: their timestamps may not yet tell a next write apart
RACY_NS = 2_000_000_000
#: one file's stat data in the cache key: path length, size, mtime, ctime, inode, device
_STAT = struct.Struct(">IQqqQQ")

#: a folder's regular files (no links), by relative path in byte order, with their lstat data
RegularFiles = list[tuple[bytes, os.stat_result]]


def content_digest(
    path: Path, cache_dir: Path | None = None, regular: RegularFiles | None = None, known: Mapping[bytes, str] | None = None
) -> dict[str, str]:
    """The in-toto DigestSet of the database at ``path`` (module docstring); empty when it cannot be
    read. With ``cache_dir``, reused from there while the stat data of every file is unchanged.
    ``regular``: the folder's regular files as a walk just listed them (else it is walked here);
    ``known``: the sha256 of some of them (by relative path) as this run just read them, not read again."""
    started = time.time_ns()
    if regular is not None:
        files, kind = regular, "dirHash1"
    elif path.is_file():
        try:
            files = [(b"", os.stat(path))]
        except OSError:
            return {}
        kind = "sha256"
    else:
        files = _regular_files(os.fsencode(path))
        kind = "dirHash1"
    folder = cache_dir / "advisory-digest" if cache_dir is not None else None
    key = cache.cache_key("advisory-digest", _VERSION, kind, os.fsencode(path.resolve()), _stat_blob(files))
    payload, _rejected = cache.read(folder, key)
    if isinstance(payload, dict) and isinstance(payload.get(kind), str) and len(payload) == 1:
        return {kind: payload[kind]}
    value = _sha256(os.fsencode(path)) if kind == "sha256" else _dir_hash(os.fsencode(path), [rel for rel, _ in files], known)
    if not value:
        return {}
    if all(max(st.st_mtime_ns, st.st_ctime_ns) < started - RACY_NS for _, st in files):
        cache.write(folder, key, {kind: value})
    return {kind: value}


def _regular_files(root: bytes) -> RegularFiles:
    """Every regular file under ``root`` (symbolic links neither followed nor listed), by relative
    path in byte order, with its lstat data. Unreadable folders are skipped, as ``os.walk`` does."""
    out: RegularFiles = []
    stack = [(root, b"")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, prefix + entry.name + b"/"))
                    elif entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        if stat.S_ISREG(st.st_mode):
                            out.append((prefix + entry.name, st))
        except OSError:
            continue
    out.sort(key=lambda item: item[0])
    return out


def _stat_blob(files: RegularFiles) -> bytes:
    """The files' paths and stat data, length-prefixed so that no two trees give the same bytes."""
    parts = []
    for rel, st in files:
        parts.append(_STAT.pack(len(rel), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev) + rel)
    return b"".join(parts)


def _dir_hash(root: bytes, names: list[bytes], known: Mapping[bytes, str] | None = None) -> str:
    """dirHash1 of the files ``names`` (sorted, relative to ``root``); "" when one cannot be read.
    ``known``: digests of some of them, by relative path, taken as they are."""
    known = known or {}
    lines = []
    for rel in names:
        digest = known.get(rel) or _sha256(os.path.join(root, rel))
        if not digest:
            return ""
        lines.append(digest.encode() + b"  " + rel + b"\n")
    return hashlib.sha256(b"".join(lines)).hexdigest()


def _sha256(path: bytes) -> str:
    """The sha256 of a file's bytes ("" when it cannot be read); plain ``os.read``: hashing and
    reading both release the GIL, and no file object is built per record."""
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return ""
    try:
        while chunk := os.read(fd, _CHUNK):
            h.update(chunk)
    except OSError:
        return ""
    finally:
        os.close(fd)
    return h.hexdigest()
