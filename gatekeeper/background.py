"""Work started in a thread of its own while the caller does something else, and waited for later."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def in_background(work: Callable[[], T], name: str) -> Callable[[], T]:
    """Start ``work`` in a daemon thread called ``name``; the function returned waits for it and
    gives its value, or raises the exception it raised, in the caller's thread."""
    answer: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            answer.append(work())
        except BaseException as exc:  # handed to the caller, who raises it
            failure.append(exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def wait() -> T:
        thread.join()
        if failure:
            raise failure[0]
        return answer[0]

    return wait


def import_all(modules: Iterable[str]) -> None:
    """Import each of ``modules`` once, ahead of its use (from a thread of its own); one that fails
    is skipped: its user's own import raises the error again, where it is reported."""
    for name in dict.fromkeys(modules):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112  # nosec B112: the user's own import raises it again
            continue
