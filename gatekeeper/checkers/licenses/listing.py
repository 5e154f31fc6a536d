"""pip-licenses' listing of an environment, run after the environment probe or started ahead of it.

pip-licenses needs nothing the probe finds but the interpreter to read (``--python``), which the
policy already names: with nothing in the cache to serve, it is started as the check starts, so
that it runs beside the probe instead of after it. Its output is read only after the probe, so
errors come in the order they always did: the probe's first, then pip-licenses' own.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from gatekeeper import process
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import GatekeeperError, ToolError


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Listed:
    """One package as pip-licenses reports it (``--from=all``), with its license file's text."""

    name: str
    version: str
    metadata: str
    classifier: str
    expression: str
    text: str

    @property
    def raw(self) -> str:
        """What pip-licenses prints in its default ``--from=mixed`` License column."""
        if self.expression != "UNKNOWN":
            return self.expression
        if self.classifier != "UNKNOWN":
            return "; ".join(sorted(set(self.classifier.split("; "))))
        return self.metadata


def listing_args(ctx: CheckContext, python: str) -> list[str]:
    """pip-licenses in the tool interpreter, isolated, on the environment of ``python``.

    ``--from=all`` gives every source of a license (expression, field, classifiers) and
    ``--with-license-file`` the license file's text (a BSD variant is told apart by it); pip-licenses
    reads that file whether it prints it or not. ``--with-system`` keeps pip, setuptools and the
    like: gatekeeper inspects another environment, where those are packages like any other. It runs
    as ``-m`` runs it, less the interpreter's teardown (``runmain``): the same output, ~0.01 s less;
    its question to ``python`` is asked without that environment's start-up code (``sitepaths.asking``).
    """
    from gatekeeper import runmain
    from gatekeeper.checkers import sitepaths

    return runmain.command([
        ctx.tool_python, "-I", "-m", "piplicenses", "--format=json", "--from=all", "--with-system",
        "--with-license-file", "--no-license-path", "--python", python,
    ], sitepaths.asking("pip-licenses", python))  # fmt: skip


def read_licenses(ctx: CheckContext, python: str, ahead: ListingAhead | None = None) -> list[Listed]:
    """pip-licenses' listing of the environment of ``python``; one entry per distribution (first
    wins). ``ahead``: the run started with the check, used when it reads that same interpreter.

    The run's cwd is an empty folder so that pip-licenses (which searches its own ``sys.path`` when
    the target is its own interpreter) never picks up metadata lying in the project folder.
    """
    ctx.vet_tool("piplicenses", "pip-licenses")  # never the checkout's pip-licenses
    if ahead is not None and ahead.python == python:
        done = ahead.result()
    else:
        with tempfile.TemporaryDirectory(prefix="gatekeeper-licenses-") as cwd:
            done = ctx.run(listing_args(ctx, python), cwd=cwd)
    return parse_listing(done, ctx.tool_python)


def parse_listing(done: process.Completed, tool_python: str) -> list[Listed]:
    """The entries of a finished pip-licenses run; ``ToolError`` when it failed or printed what
    gatekeeper cannot read, ``ToolMissing`` when the tool interpreter lacks it."""
    import json

    from packaging.utils import canonicalize_name

    from gatekeeper.process import tail

    process.require_module(done, "piplicenses", "pip-licenses", tool_python, "pip install pip-licenses, or set gate.tool_python")
    if done.returncode != 0:
        raise ToolError(f"pip-licenses failed (exit {done.returncode}): {tail(done.stderr or done.stdout)}")
    try:
        data = json.loads(done.stdout)
        if not isinstance(data, list):
            raise TypeError("expected a JSON list")
        entries = [
            Listed(
                name=str(d["Name"]),
                version=str(d["Version"]),
                metadata=str(d["License-Metadata"]),
                classifier=str(d["License-Classifier"]),
                expression=str(d["License-Expression"]),
                text=str(d.get("LicenseText") or ""),
            )
            for d in data
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolError(f"pip-licenses printed output gatekeeper cannot read ({exc}): {tail(done.stdout, 200)}") from exc
    seen: set[str] = set()
    unique = []
    for entry in entries:
        key = canonicalize_name(entry.name)
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    return unique


class ListingAhead:
    """pip-licenses started on the policy's interpreter before the environment probe has answered.

    A context manager: on leaving, a run still going (its output never asked for: the probe failed,
    or a cached listing served) is killed with its process group and reaped. Like every tool, it has
    its own process group, the child environment without the signing key, and is tracked for
    ``process.kill_all``.
    """

    def __init__(self, ctx: CheckContext, python: str) -> None:
        self._ctx = ctx
        self.python = python
        self._cwd = tempfile.TemporaryDirectory(prefix="gatekeeper-licenses-")
        try:
            self._run = process.Started(listing_args(ctx, python), cwd=self._cwd.name, prefix="gatekeeper-licenses-")
        except BaseException:
            self._cwd.cleanup()
            raise

    @classmethod
    def start(cls, ctx: CheckContext) -> ListingAhead | None:
        """pip-licenses started now on the policy's interpreter; None when it cannot be (no such
        interpreter, pip-licenses missing or refused): the run after the probe then says why, at the
        point it always did."""
        try:
            python = ctx.target_python
            if not Path(python).exists() or ctx.vet_tool("piplicenses", "pip-licenses") is None:
                return None
            ctx.refuse_program(ctx.tool_python)  # as ``ctx.run`` vets the program it runs
            return cls(ctx, python)
        except GatekeeperError:
            return None

    def __enter__(self) -> ListingAhead:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close(kill=True)

    def result(self) -> process.Completed:
        """Its finished run, waited for until the check's deadline (then it is killed: ``ToolTimeout``)."""
        try:
            return self._run.finish(self._ctx.remaining(), process.shown(self._run.args))
        finally:
            self._cwd.cleanup()

    def close(self, *, kill: bool = False) -> tuple[int, str]:
        """End it (killed with its group when ``kill``) and reap it; its exit code and stderr."""
        try:
            return self._run.close(kill=kill)
        finally:
            self._cwd.cleanup()
