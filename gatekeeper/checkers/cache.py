"""A content-addressed cache of JSON payloads, kept outside the checkout and authenticated.

The checkout under review is untrusted, so it must not be able to supply cached results. By
default the cache lives in the user's cache directory (``$XDG_CACHE_HOME/gatekeeper`` or
``~/.cache/gatekeeper``), one folder per repository root (``default_dir``). Every entry carries
an HMAC-SHA256 of its key and payload under a secret: ``GATEKEEPER_CACHE_KEY`` when the job sets
it (in CI, a repository secret, so that a cache restored between runs stays valid while the
secret itself is never stored with it), else a per-user secret (``secret.key`` next to the
repositories' folders, created on first use with mode 0600). An entry that was committed to the
repository, copied from elsewhere, written under another secret, truncated, edited or written for
another key fails the check, is ignored and recomputed (the caller counts it as rejected). Writes
are atomic; a cache that cannot be written, or a secret that cannot be created, only costs speed.

An entry is the JSON object ``{"v", "key", "mac", "payload"}``, written with its payload last as
the sorted, compact JSON its MAC covers: reading one checks the MAC over those bytes and parses
them once, where it used to serialise the parsed payload again to check it (a run reads most of
its cache). An entry laid out otherwise is parsed and its payload made canonical to be checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper import childenv
from gatekeeper.errors import OutputError, UsageError
from gatekeeper.fileio import resolve_for_write, write_atomic


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


def file_stamp(path: str | os.PathLike[str]) -> list[Any]:
    """A file's identity for a cache key, without reading it: its path, size, modification and
    change times, inode and device (any replacement or rewrite changes one of them; the change
    time cannot be set back); ``[path, None]`` when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


ENTRY_VERSION = 2
_SECRET_FILE = "secret.key"  # noqa: S105  # nosec B105: a file name, not a secret
#: the variable that, when set, holds the secret authenticating cache entries (instead of ``secret.key``)
KEY_ENV = childenv.CACHE_KEY_ENV
#: a shorter ``GATEKEEPER_CACHE_KEY`` is refused: it could be guessed
MIN_KEY_LENGTH = 32
_SECRETS: dict[Path, bytes | None] = {}
_SECRETS_LOCK = threading.Lock()


def user_cache_home() -> Path:
    """gatekeeper's folder in the user's cache directory (``$XDG_CACHE_HOME``, ``%LOCALAPPDATA%`` or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not base and sys.platform == "win32":  # pragma: no cover - POSIX CI
        base = os.environ.get("LOCALAPPDATA", "")
    if not base or not os.path.isabs(base):
        base = str(Path.home() / ".cache")
    return Path(base) / "gatekeeper"


def default_dir(root: Path) -> Path:
    """The cache folder of the repository at ``root``: one per resolved root, in the user's cache directory."""
    resolved = root.resolve()
    tag = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", resolved.name)[:40] or "root"
    return user_cache_home() / "repos" / f"{name}-{tag}"


def secret_path() -> Path:
    """Where the per-user secret that authenticates cache entries is kept."""
    return user_cache_home() / _SECRET_FILE


def check_key_env() -> None:
    """Raise ``UsageError`` when ``GATEKEEPER_CACHE_KEY`` is set but too short to authenticate anything.

    The variable is taken out of the environment (``childenv.take``) the first time it is read, so
    no tool, probe or test that gatekeeper starts can read it and forge entries.
    """
    value = childenv.take(KEY_ENV)
    if value and len(value.strip()) < MIN_KEY_LENGTH:
        raise UsageError(
            f"{KEY_ENV} is set but holds {len(value.strip())} characters; it needs at least {MIN_KEY_LENGTH}",
            hint="generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
        )


def _secret() -> bytes | None:
    """The secret entries are authenticated with: ``GATEKEEPER_CACHE_KEY`` when set, else the
    per-user secret, created on first use (0600); None when it cannot be read or made safely."""
    from_env = childenv.take(KEY_ENV).strip()
    if from_env:
        return from_env.encode("utf-8") if len(from_env) >= MIN_KEY_LENGTH else None
    path = secret_path()
    with _SECRETS_LOCK:
        if path in _SECRETS:
            return _SECRETS[path]
        value = _load_secret(path)
        _SECRETS[path] = value
        return value


def _load_secret(path: Path) -> bytes | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32))
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
                return None  # not ours: a cache keyed by someone else's secret is no cache
            if info.st_mode & 0o077:
                return None  # readable by others: anyone could forge entries
            value = fh.read().strip()
    except OSError:
        return None
    return value if len(value) >= 32 else None


def _canonical(payload: Any) -> bytes:
    """The bytes an entry's MAC covers: ``payload`` as sorted, compact JSON."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _mac_of(secret: bytes, key: str, body: bytes) -> str:
    return hmac.new(secret, key.encode("utf-8") + b"\x00" + body, hashlib.sha256).hexdigest()


def _mac(secret: bytes, key: str, payload: Any) -> str:
    return _mac_of(secret, key, _canonical(payload))


def _head(key: str) -> bytes:
    """How an entry for ``key`` as ``write`` writes it begins: its MAC (64 hex digits) and its
    payload (``_canonical``, the file's last bytes before the closing brace) follow."""
    return b'{"v":%d,"key":%s,"mac":"' % (ENTRY_VERSION, json.dumps(key).encode("ascii"))


def _as_written(raw: bytes, key: str, secret: bytes) -> tuple[Any, bool]:
    """``(payload, True)`` when ``raw`` is an entry for ``key`` exactly as ``write`` writes it and
    its MAC covers its payload's bytes as they stand: those bytes are parsed once, never
    serialised again to be checked. ``(None, False)`` for anything else (then ``read`` checks
    the entry the long way: parsed, its payload made canonical, its MAC compared)."""
    head = _head(key)
    start = len(head) + 64 + len(b'","payload":')
    if not (raw.startswith(head) and raw[len(head) + 64 : start] == b'","payload":' and raw.endswith(b"}")):
        return None, False
    mac, body = raw[len(head) : len(head) + 64], raw[start:-1]
    if not hmac.compare_digest(mac, _mac_of(secret, key, body).encode("ascii")):
        return None, False
    try:
        return json.loads(body), True
    except ValueError:
        return None, False


def _entry_path(folder: Path, key: str) -> Path:
    return folder / key[:2] / f"{key}.json"


#: each entry folder (``<cache folder>/ab``) resolved and checked for links once per process
_RESOLVED: dict[Path, Path] = {}


def _writable_path(folder: Path, key: str) -> Path:
    """Where the entry for ``key`` is written: ``resolve_for_write(entry, folder)``, with the cache
    folder resolved once and each entry folder in it once more by its one last part (1,028 entries
    walked every component of a long path each: most of a write's CPU; then each new entry folder
    walked it again). ``OutputError`` when a link inside the cache folder is met, the entry itself included."""
    entry = _entry_path(folder, key)
    real = _RESOLVED.get(entry.parent)
    if real is None:
        top = _RESOLVED.get(folder)
        if top is None:
            top = _RESOLVED[folder] = resolve_for_write(folder, folder)
        real = top / entry.parent.name
        if real.is_symlink():
            real = resolve_for_write(entry.parent, folder)  # which refuses it, naming the link
        _RESOLVED[entry.parent] = real
    path = real / entry.name
    if path.is_symlink():
        return resolve_for_write(entry, folder)  # which refuses it, naming the link
    return path


def read(folder: Path | None, key: str) -> tuple[Any, bool]:
    """``(payload, rejected)``: the payload stored under ``key`` or None; ``rejected`` is True when
    an entry existed but failed authentication or its checks (and was ignored)."""
    if folder is None:
        return None, False
    try:
        raw = _entry_path(folder, key).read_bytes()
    except OSError:
        return None, False
    secret = _secret()
    if secret is None:
        return None, True
    payload, checked = _as_written(raw, key, secret)
    if checked:
        return payload, False
    try:
        entry = json.loads(raw)
        if not isinstance(entry, dict) or entry.get("v") != ENTRY_VERSION or entry.get("key") != key:
            return None, True
        mac = entry.get("mac")
        if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(secret, key, entry.get("payload"))):
            return None, True
        return entry["payload"], False
    except (ValueError, TypeError, KeyError):
        return None, True


def write(folder: Path | None, key: str, payload: Any) -> None:
    """Store ``payload`` under ``key`` atomically (silently skipped when the cache is off or unwritable)."""
    if folder is None:
        return
    secret = _secret()
    if secret is None:
        return
    try:
        path = _writable_path(folder, key)  # never through a link in the cache
    except OutputError:
        return
    logs = _logged(folder, path)
    if logs is None:
        return  # the run that logs this folder has ended its log: it stores nothing more
    try:
        body = _canonical(payload)  # serialised once: the MAC covers the bytes the entry holds
        entry = b"".join((_head(key), _mac_of(secret, key, body).encode("ascii"), b'","payload":', body, b"}"))
        # not fsynced: an entry lost or torn by a crash fails its check and is recomputed
        write_atomic(path, entry, mode=0o600, sync=False)
    except (OSError, TypeError, ValueError):
        return
    finally:
        with _LOGS_CHANGED:
            for log in logs:
                log.writing -= 1
            _LOGS_CHANGED.notify_all()


def retire(top: Path | None, name: str, version: int) -> None:
    """Remove, once, the entries a check stored in ``top / name`` before its cache version
    ``version``: it never reads them again (its keys hold the version), and they may hold what it
    no longer keeps (the secrets check's hash of each secret, the password bandit quoted). A marker
    ``top / .NAME.vVERSION`` says it was done; emptied folders go too. Links are not followed; a
    folder that cannot be read or written costs only this (a run of an earlier gatekeeper sharing
    the cache may store such entries again)."""
    if top is None:
        return
    marker = top / f".{name}.v{version}"
    if marker.exists():
        return
    folder = top / name
    with contextlib.suppress(OSError):
        if folder.is_dir() and not folder.is_symlink():
            with os.scandir(folder) as parts:
                subfolders = [Path(p.path) for p in parts if p.is_dir(follow_symlinks=False)]
            for sub in subfolders:
                with os.scandir(sub) as entries:
                    stale = [e.path for e in entries if e.name.endswith(".json") and e.is_file(follow_symlinks=False)]
                for path in stale:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                with contextlib.suppress(OSError):
                    sub.rmdir()  # only when now empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        top.mkdir(parents=True, exist_ok=True)
        marker.touch()


def retire_entries(top: Path | None, name: str, version: int, kind: Callable[[Any], bool]) -> None:
    """Remove, once, the entries stored in ``top`` itself (``top/ab/KEY.json``, not in a check's
    folder) whose payload ``kind`` picks, as ``retire`` does for a check's folder: the complete runs'
    results kept for new-code runs (``newcode.store_result``) held, before their ``version``, what
    the checks no longer keep (detect-secrets' hash of each secret, bandit's excerpts). A marker
    ``top / .NAME.vVERSION`` says it was done. Links are not followed; an entry that cannot be
    read as JSON is left as it is."""
    if top is None:
        return
    marker = top / f".{name}.v{version}"
    if marker.exists():
        return
    with contextlib.suppress(OSError):
        if top.is_dir() and not top.is_symlink():
            with os.scandir(top) as parts:
                shards = [Path(p.path) for p in parts if len(p.name) == 2 and p.is_dir(follow_symlinks=False)]
            for shard in shards:
                with os.scandir(shard) as entries:
                    found = [Path(e.path) for e in entries if e.name.endswith(".json") and e.is_file(follow_symlinks=False)]
                for path in found:
                    with contextlib.suppress(OSError, ValueError):
                        data = json.loads(path.read_bytes())
                        if isinstance(data, dict) and kind(data.get("payload")):
                            os.unlink(path)
        top.mkdir(parents=True, exist_ok=True)
        marker.touch()


def _logged(folder: Path, path: Path) -> list[WriteLog] | None:
    """The open logs of ``folder`` with ``path`` put in each before the entry is written (so that
    ``end_log``, which waits for the writes under way, takes back an entry whatever the order);
    None when the latest log of the folder has ended and this is another thread than the one that
    ended it (a check still running after its run's end)."""
    with _LOGS_CHANGED:
        logs = [log for log in _LOGS if folder == log.folder or log.folder in folder.parents]
        if logs and logs[-1].ender not in (None, threading.current_thread()):
            return None
        logs = [log for log in logs if log.ender is None]
        for log in logs:
            log.paths.append(path)
            log.writing += 1
    return logs


class WriteLog:
    """The entries ``write`` stores under one cache folder (and its subfolders) from ``log_writes``
    until ``end_log``: what a run stored, so that a run whose checkout changed while its tools read
    it can take back every result it stored (a tool may have judged bytes other than those its
    result is keyed by: a test that rewrote a file between the tool's read and the key's)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths: list[Path] = []
        self.writing = 0  # entries being written into it now
        # the thread that ended it (``end_log``; None while it is open): no other thread stores an entry
        # under its folder any more, until a new log starts (that one is the run's own, which may
        # store the run's result after its checks)
        self.ender: threading.Thread | None = None


#: every log of this process, in the order they started; an ended one stays, refusing the writes of a
#: check still running after its run ended (a thread a timeout left behind) until a new run logs the folder
_LOGS: list[WriteLog] = []
_LOGS_CHANGED = threading.Condition()
#: how long ``end_log`` waits for the entries being written (each is one small file) to be written
_WRITES_WAIT_S = 30.0


def log_writes(folder: Path | None) -> WriteLog | None:
    """Start logging the entries stored under ``folder`` (None: the cache is off, nothing to log)."""
    if folder is None:
        return None
    log = WriteLog(folder)
    with _LOGS_CHANGED:
        _LOGS[:] = [old for old in _LOGS if old.ender is None or old.folder != folder]
        _LOGS.append(log)
    return log


def end_log(log: WriteLog | None, *, keep: bool) -> None:
    """Stop logging; unless ``keep``, remove every entry stored meanwhile (each is recomputed when
    next needed: a run that stored a result it cannot vouch for leaves nothing to serve it). The
    entries being written are waited for, and no other thread than this one stores anything more
    under the folder until a new log of it starts: a check still running after its run ended stores
    no result, while the run may still store its own (``newcode.store_result``)."""
    if log is None:
        return
    with _LOGS_CHANGED:
        log.ender = threading.current_thread()  # from now on nothing is stored by this run's checks
        _LOGS_CHANGED.wait_for(lambda: log.writing == 0, timeout=_WRITES_WAIT_S)
        paths = list(log.paths)
    if not keep:
        for path in paths:
            with contextlib.suppress(OSError):
                os.unlink(path)
