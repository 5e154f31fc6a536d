"""What a checker is (the protocol), what it declares (its policy options) and what it gets (the context)."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from gatekeeper import process
from gatekeeper.interpreter import Interpreter, discover
from gatekeeper.options import Option as Option  # re-exported: a plugin imports the contract from here
from gatekeeper.policy import Policy

T = TypeVar("T")


@runtime_checkable
class Checker(Protocol):
    """A plugin: ``run(section, ctx) -> CheckResult``; never prints, exits or writes reports.

    Registered under the entry-point group ``gatekeeper.checkers``; the entry point names a
    class (instantiated without arguments) or an instance.

    ``shardable`` declares that the checker splits its own input with ``ctx.shard``: only such a
    checker is given the shard (and runs in every shard on its share); it must then record what
    its share covered with ``shard_record``. Every other checker runs whole, in one shard.
    Read it with ``is_shardable``, which applies the default to plugins that do not declare it.
    """

    name: str
    description: str
    options: Mapping[str, Option]
    shardable: ClassVar[bool] = False

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> Any:
        """Run the check with its validated policy ``section``; return a ``CheckResult``."""
        ...


def is_shardable(checker: object) -> bool:
    """Whether ``checker`` declares ``shardable = True`` (the one place that reads the declaration)."""
    return getattr(checker, "shardable", False) is True


def shard_record(shard: tuple[int, int], inputs: Sequence[str], covered: Sequence[str]) -> dict[str, Any]:
    """What one shard of a shardable check covered, for ``merge`` to account for: the digest and
    number of every input discovered (identical in every shard) and the inputs this shard took."""
    return {
        "index": shard[0],
        "count": shard[1],
        "inputs_total": len(inputs),
        "inputs_digest": inputs_digest(inputs),
        "covered": sorted(covered),
    }


def inputs_digest(inputs: Sequence[str]) -> str:
    """sha256 of the sorted input names, one a line: the same list gives the same digest."""
    return hashlib.sha256("".join(f"{name}\n" for name in sorted(inputs)).encode("utf-8")).hexdigest()


@dataclass
class CheckContext:
    """Everything a checker may use: where to look, where to write, and how to run tools."""

    root: Path
    output_dir: Path
    policy: Policy
    deadline: float  # time.monotonic() value past which tools are killed
    cache_dir: Path | None = None
    shard: tuple[int, int] | None = None  # (index starting at 1, count); only for a shardable checker
    baseline_metrics: Mapping[str, Any] = field(default_factory=dict)  # this check's metrics in --baseline
    tool_python: str = sys.executable
    interpreter: Interpreter | None = None  # the environment to inspect, discovered once per run
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)
    _shared_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def environment(self) -> Mapping[str, Any]:
        """The policy's ``[environment]`` section (python, scope), shared by several checkers."""
        return self.policy.environment

    @property
    def target_python(self) -> str:
        """The interpreter of the environment to inspect (``gatekeeper.interpreter.discover``)."""
        if self.interpreter is None:
            self.interpreter = discover(self.root, str(self.policy.environment.get("python") or ""))
        return self.interpreter.python

    def remaining(self) -> float:
        """Seconds left before this check's deadline."""
        return self.deadline - time.monotonic()

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> process.Completed:
        """Run a tool through ``gatekeeper.process`` within this check's deadline (cwd defaults to the root)."""
        left = self.remaining()
        limit = left if timeout is None else min(timeout, left)
        return process.run(args, timeout=limit, cwd=cwd or self.root, env=env, stdin=stdin)

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """A value computed once per run and shared between checkers (e.g. the package inventory).

        The first caller computes it; concurrent callers wait for that result. A factory that
        raises is not cached, so every checker that needs the value sees the error itself.
        """
        with self._shared_lock:
            slot = self._shared.get(key)
            if slot is None:
                slot = self._shared[key] = _Once()
        value: T = slot.get(factory)
        return value


class _Once:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._value: Any = None

    def get(self, factory: Callable[[], Any]) -> Any:
        with self._lock:
            if not self._done:
                self._value = factory()
                self._done = True
            return self._value
