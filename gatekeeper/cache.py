"""A content-addressed cache of JSON payloads under ``.gatekeeper/cache``.

A key is the sha256 of everything that decides a result (file contents, tool versions, policy
keys); an entry stores its key and a checksum of its payload, so an entry that was truncated,
edited or written for another key is ignored and recomputed, never trusted. Writes are atomic;
a cache that cannot be written only costs speed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gatekeeper.errors import OutputError
from gatekeeper.fileio import resolve_for_write


def cache_key(*parts: object) -> str:
    """The sha256 of ``parts`` (str, bytes, or anything JSON-serialisable), separated unambiguously."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            data = part
        elif isinstance(part, str):
            data = part.encode("utf-8", "surrogateescape")
        else:
            data = json.dumps(part, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """The sha256 of a file's bytes, or a marker that never matches a real digest."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "(unreadable)"


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def _entry_path(folder: Path, key: str) -> Path:
    return folder / key[:2] / f"{key}.json"


def read(folder: Path | None, key: str) -> tuple[Any, bool]:
    """``(payload, rejected)``: the payload stored under ``key`` or None; ``rejected`` is True when
    an entry existed but failed its checks (and was ignored)."""
    if folder is None:
        return None, False
    try:
        raw = _entry_path(folder, key).read_bytes()
    except OSError:
        return None, False
    try:
        entry = json.loads(raw)
        if not isinstance(entry, dict) or entry.get("key") != key or entry.get("sha256") != _digest(entry.get("payload")):
            return None, True
        return entry["payload"], False
    except (ValueError, TypeError, KeyError):
        return None, True


def write(folder: Path | None, key: str, payload: Any) -> None:
    """Store ``payload`` under ``key`` atomically (silently skipped when the cache is off or unwritable)."""
    if folder is None:
        return
    entry = {"key": key, "sha256": _digest(payload), "payload": payload}
    try:
        path = resolve_for_write(_entry_path(folder, key), folder)  # never through a link in the cache
    except OutputError:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except (OSError, TypeError, ValueError):
        pass
