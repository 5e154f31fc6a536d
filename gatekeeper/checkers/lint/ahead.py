"""ruff on the tracked Python files, started beside the listing when nothing of this ruff's is cached.

A check with nothing in the cache would otherwise run ruff one step after the other: the listing
(``--show-files``), then ``ruff check`` on the listed files by name. Instead, as soon as the
configuration is known (and checked to lie inside the root), the same ``ruff check`` starts on the
files git tracks that ruff's default ``include`` takes (``*.py``, ``*.pyi``, ``*.ipynb``,
``pyproject.toml``) and its configuration files, beside the listing. ruff judges each file it is named on its own, so a listed
file's results from this run are what the run by name after the listing gives; a listed file it
was not named on (untracked, or taken by the project's own ``include``) is checked by name after
the listing, as before, and what it gave for a file the listing left out is dropped. Whether a
check is cold is told by a mark the cache keeps once a check with this ruff and these flags has
stored its results: only when this run starts is decided by it, never a result. The run is always
waited for before the check ends; when it failed (a ruff error, output that is not its JSON), it
serves nothing, and the files are checked by name after the listing, as before, whose failure
fails the check.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from gatekeeper.background import in_background
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import GatekeeperError

if TYPE_CHECKING:
    from gatekeeper.toolorigin import ToolOrigin

Results = dict[str, list[dict[str, Any]]]
#: what ruff's default ``include`` takes: https://docs.astral.sh/ruff/settings/#include
SUFFIXES = (".py", ".pyi", ".ipynb")


def named(tracked: Sequence[str]) -> list[str]:
    """Of the tracked files, those ruff's default ``include`` takes, and its configuration files
    (which it lists and lints too)."""
    from gatekeeper.toolconfig import RUFF_CONFIG_NAMES

    return [f for f in tracked if f.endswith(SUFFIXES) or PurePosixPath(f).name in RUFF_CONFIG_NAMES]


class FilesRun:
    """``ruff check`` on ``files`` by name, running in a thread of its own from its creation."""

    def __init__(self, ctx: CheckContext, args: Sequence[str], files: Sequence[str]) -> None:
        self._root = ctx.root
        self.files = frozenset(files)
        command = [*args, *(str(ctx.root / f) for f in files)]
        self._wait = in_background(lambda: ctx.run(command, cwd=ctx.root), f"{threading.current_thread().name}-ahead")
        self._found: tuple[Results | None] | None = None

    def end(self) -> None:
        """Wait for it to end, whatever it gave."""
        with contextlib.suppress(BaseException):
            self._wait()

    def results(self, files: Sequence[str]) -> Results:
        """The results of those of ``files`` it was named on (a file without diagnostics has none);
        none at all when it failed (a ruff error, output that is not its JSON, no time left): those
        files are then checked by name, whose failure fails the check as it always did."""
        from gatekeeper.checkers.lint.diagnostics import parse_output

        if self._found is None:
            try:
                done = self._wait()
                found = parse_output(self._root, done.stdout, keep=lambda f, _: f in self.files) if done.returncode == 0 else None
            except GatekeeperError:
                found = None
            self._found = (found,)
        found = self._found[0]
        return {} if found is None else {f: found.get(f, []) for f in files if f in self.files}


def _mark(tool: ToolOrigin, config_args: Sequence[str]) -> str:
    from gatekeeper.checkers import cache

    return cache.cache_key("lint-ran", 1, tool.describe(), list(config_args))


def ran_before(ctx: CheckContext, tool: ToolOrigin, config_args: Sequence[str]) -> bool:
    """Whether a check with this ruff and these flags stored its results in the cache before."""
    from gatekeeper.checkers import cache

    payload, _rejected = cache.read(ctx.cache_dir, _mark(tool, config_args))
    return payload is True


def say_ran(ctx: CheckContext, tool: ToolOrigin, config_args: Sequence[str]) -> None:
    """Mark that a check with this ruff and these flags stored its results (``ran_before``)."""
    from gatekeeper.checkers import cache

    cache.write(ctx.cache_dir, _mark(tool, config_args), True)
