"""What every command shares: the one error handler, option splitting, the loaded checkers.

Every command lives in a module beside this one (``check`` holds check, merge and report;
``baseline``, ``bundle``, ``plugins`` and the groups ``policy``, ``audit``, ``attestation``, ``db``,
``hook``, ``cache`` and ``key`` one each); ``gatekeeper.cli`` only puts them together. Every command is wrapped in
``handles_errors``: it is the only place a ``GatekeeperError`` becomes a message and an exit code
(docs/design.md: 2 usage or policy error, 3 a check could not run), and the only place Ctrl-C and
SIGTERM become 130 and 143.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ParamSpec

import typer

from gatekeeper.checkline import formats as formats  # re-exported
from gatekeeper.checkline import guarded
from gatekeeper.checkline import split as split  # re-exported

P = ParamSpec("P")

Loaded = tuple[Mapping[str, Any], dict[str, Any]]  # ({name: checker}, {name: its options or None when broken})


def handles_errors(code: int | None = None, *, signals: bool = False) -> Callable[[Callable[P, int | None]], Callable[P, None]]:
    """Wrap a command: an ``int`` it returns is its exit code; a ``GatekeeperError`` prints one
    clear line and exits with its ``exit_code`` (or ``code`` when given); Ctrl-C exits 130.

    ``signals``: SIGTERM is turned into ``interrupts.Terminated`` while the command runs (exit 143), and
    an interruption that arrives before the gate's own sequence took over says so (the sequence
    itself cleans up and returns 130 or 143). The handling is ``checkline.guarded``'s, which
    ``gatekeeper check`` uses without typer too.
    """

    def decorate(command: Callable[P, int | None]) -> Callable[P, None]:
        @functools.wraps(command)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
            exit_code = guarded(lambda: command(*args, **kwargs), code, signals=signals)
            if exit_code is not None:
                raise typer.Exit(exit_code)

        return wrapper

    return decorate


def load_checkers(root: Path | None = None) -> Loaded:
    """Installed checkers and their policy options (None for a broken plugin): ``checkers.installed``,
    loaded once per process, so the run and the renderers that present its checks use the same load.
    ``root``: the project folder the command judges, from which no checker is imported (``checkers.under_review``)."""
    from gatekeeper.checkers import installed, policy_options, under_review

    if root is not None:
        under_review(root)
    checkers = installed()
    return checkers, policy_options(checkers)


def loaded(ctx: typer.Context, root: Path | None = None) -> Loaded:
    """The installed checkers, loaded by the loader ``gatekeeper.cli`` puts in the context; ``root``:
    the project folder the command judges, from which no checker is imported (``load_checkers``)."""
    load: Callable[[Path | None], Loaded] = ctx.obj
    return load(root)
