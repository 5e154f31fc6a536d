"""ruff on the tracked Python files, started beside the listing when nothing of this ruff's is cached.

A check with nothing in the cache would otherwise run ruff one step after the other: the listing
(``--show-files``), then ``ruff check`` on the listed files by name. Instead, as soon as the
configuration is known (and checked to lie inside the root), the same ``ruff check`` starts on the
files git tracks that ruff's default ``include`` takes (``*.py``, ``*.pyi``, ``*.ipynb``,
``pyproject.toml``) and its configuration files, beside the listing, but those the project's
``exclude`` patterns look to leave out (``_excluded``, a guess that decides no result). ruff judges
each file it is named on its own, so a listed file's results from this run are what the run by name
after the listing gives; a listed file it was not named on (untracked, taken by the project's own
``include``, wrongly guessed excluded) is checked by name after the listing, as before, and what it
gave for a file the listing left out is dropped. The ``--ignore-noqa`` run starts beside it on those
of these files with a suppression comment (``LintChecker``'s ``_early_runs``), its results taken the
same way. Whether a
check is cold is told by a mark the cache keeps once a check with this ruff and these flags has
stored its results: only when this run starts is decided by it, never a result. The run is always
waited for before the check ends; when it failed (a ruff error, output that is not its JSON), it
serves nothing, and the files are checked by name after the listing, as before, whose failure
fails the check.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from gatekeeper.background import in_background
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import GatekeeperError

if TYPE_CHECKING:
    from gatekeeper.toolorigin import ToolOrigin

Results = dict[str, list[dict[str, Any]]]
#: what ruff's default ``include`` takes: https://docs.astral.sh/ruff/settings/#include
SUFFIXES = (".py", ".pyi", ".ipynb")


def named(tracked: Sequence[str], root: Path | None = None, configs: Sequence[str] = ()) -> list[str]:
    """Of the tracked files, those ruff's default ``include`` takes, and its configuration files
    (which it lists and lints too), but those the ``exclude``, ``extend-exclude`` or ``lint.exclude``
    of a configuration in force (``configs``, read from ``root``) looks to leave out (``_excluded``)."""
    from gatekeeper.toolconfig import RUFF_CONFIG_NAMES

    taken = [f for f in tracked if f.endswith(SUFFIXES) or PurePosixPath(f).name in RUFF_CONFIG_NAMES]
    left_out = _excluded(root, configs) if root is not None and configs else None
    return taken if left_out is None else [f for f in taken if not left_out(f)]


def text(root: Path, f: str) -> bytes:
    """The bytes of the file ``f`` (relative to ``root``) as they are now, to choose what an early run
    is named on (never a result: the check reads the file again); none when it cannot be read."""
    try:
        with open(root / f, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _excluded(root: Path, configs: Sequence[str]) -> Callable[[str], bool] | None:
    """Whether a file looks excluded by a pattern of the configurations in force (any file of their
    ``extend`` chains): a pattern matches the file's name or a folder's on its path, or its path (or a
    folder above it) from the root or from the folder of a file that sets patterns. A guess that decides no
    result: a file it wrongly leaves out of the early run is checked by name after the listing (as an
    untracked one is), one it wrongly keeps is linted and dropped; it spares ruff a file the project
    excludes (packaging's generated ``_spdx.py``: 3,178 diagnostics linted, read and dropped).
    None when no pattern is set or a configuration cannot be read (the listing reports that)."""
    from gatekeeper import toolconfig

    patterns: list[tuple[str, str]] = []
    try:
        for config in configs:
            for item in toolconfig.ruff_chain(root, config):
                lint = item.options.get("lint")
                for value in (
                    item.options.get("exclude"), item.options.get("extend-exclude"),
                    lint.get("exclude") if isinstance(lint, Mapping) else None,
                ):  # fmt: skip
                    if isinstance(value, list):
                        base = PurePosixPath(item.path).parent.as_posix()
                        patterns += [(base, p.strip().removeprefix("./").rstrip("/")) for p in value if isinstance(p, str)]
    except GatekeeperError:
        return None
    patterns = [(base, p) for base, p in patterns if p]
    if not patterns:
        return None
    matches = re.compile("|".join(fnmatch.translate(p) for _, p in patterns)).match
    starts = [base.split("/") for base in {b for b, _ in patterns} if base != "."]

    def left_out(f: str) -> bool:
        parts = f.split("/")
        if any(matches(name) for name in parts):
            return True
        for start in (0, *(len(s) for s in starts if parts[: len(s)] == s)):
            if any(matches("/".join(parts[start:end])) for end in range(start + 1, len(parts) + 1)):
                return True
        return False

    return left_out


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
