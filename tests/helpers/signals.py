"""Signals a test sends must arrive, however the suite was started.

A shell starts a background job (``nohup bash .ci/run &``) with SIGINT ignored, and an ignored
signal stays ignored across ``fork`` and ``exec``: a gatekeeper started by such a test would never
see its Ctrl-C, and a ``KeyboardInterrupt`` a test raises in its own process would never come.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


def receive_sigint() -> None:
    """``preexec_fn`` of a child a test will interrupt: SIGINT back to its default disposition, so
    the Python it executes installs its own Ctrl-C handler (as it does in a terminal)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def sigint_raises() -> Iterator[None]:
    """In this process, SIGINT raises ``KeyboardInterrupt`` for the duration (Python's own handler,
    which it does not install when it starts with SIGINT ignored); the previous disposition after."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
