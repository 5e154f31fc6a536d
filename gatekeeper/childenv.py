"""The environment child processes get: the job's, without the audit signing key or the cache key.

The signing key (and ``GATEKEEPER_CACHE_KEY``, which authenticates cache entries) is read once,
when gatekeeper starts, and removed from ``os.environ``; every
process gatekeeper starts (tools, probes, the tests under ``checks.coverage.run``) gets an
environment built here, which leaves out every captured secret. So a test that dumps its
environment cannot find the key and re-sign a rewritten audit log.

Removing a variable from ``os.environ`` does not remove it from the environment block the process
started with, which ``/proc/<pid>/environ`` shows to every process of the same user (a test can
read its ancestors'). So the captured value is also overwritten there, in place.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Mapping

from gatekeeper.searchpath import absolute, relative_entries

#: The variable holding the audit signing key unless ``--key-env`` names another.
KEY_ENV = "GATEKEEPER_AUDIT_KEY"
#: The variable holding the secret that authenticates cache entries (``gatekeeper.checkers.cache``).
CACHE_KEY_ENV = "GATEKEEPER_CACHE_KEY"

_TAKEN: dict[str, str] = {}
_LOCK = threading.Lock()


def take(name: str = KEY_ENV, *, fresh: bool = False) -> str:
    """The value of ``name``, removed from ``os.environ`` and remembered ("" when unset).

    A later call returns the remembered value; ``fresh`` (used once at start) reads it again.
    """
    with _LOCK:
        if fresh or name in os.environ:
            _scrub(name)
            _TAKEN[name] = os.environ.pop(name, "")
        return _TAKEN.get(name, "")


def _scrub(name: str) -> None:
    """Overwrite the value of ``name`` with NUL bytes where the C library keeps it (on Linux, the
    environment block ``/proc/<pid>/environ`` reads), before ``os.environ`` drops its own copy."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return
    getenv = libc.getenv
    getenv.argtypes = [ctypes.c_char_p]
    getenv.restype = ctypes.c_void_p
    address = getenv(os.fsencode(name))
    if address:
        ctypes.memset(address, 0, len(ctypes.string_at(address)))


def forget() -> None:
    """Drop every remembered value (for a new run in the same process)."""
    with _LOCK:
        _TAKEN.clear()


def for_child(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: the current environment) without the signing key or any captured secret, and
    with ``PATH`` holding its absolute entries alone (``searchpath``)."""
    source = os.environ if env is None else env
    with _LOCK:
        hidden = {KEY_ENV, CACHE_KEY_ENV, *_TAKEN}
    out = {k: v for k, v in source.items() if k not in hidden}
    if "PATH" in out and relative_entries(out):  # found in the folder the tool runs in: the checkout
        out["PATH"] = absolute(out)
    return out
