"""The console script ``gatekeeper``: ``--version`` is answered, and ``check`` run, before the command line is imported.

Importing the command line (typer, click, pydantic, every command's module) takes longer than
printing a version should, and it was about 70 ms of every check's start-up;
``gatekeeper check`` in its plain forms runs through ``gatekeeper.checkline``. Everything else
goes to ``gatekeeper.cli``, which prints the same line for ``--version`` among other options and
gives typer's messages for a command line it does not accept.
"""

from __future__ import annotations

import gc
import sys

#: the cyclic garbage collector's first threshold during ``check``: a run builds many long-lived
#: objects (modules, classes, findings, report rows) and next to no cyclic garbage, and at the
#: default (700 allocations) the collector ran over a hundred times a pull-request run, rescanning
#: them, about 6% of its CPU. mypy raises it the same way.
CHECK_GC_THRESHOLD = 100_000


def run() -> None:
    """Console-script entry point: ``gatekeeper --version`` alone, ``gatekeeper check`` in its plain
    forms (``gatekeeper.checkline``), else the command line."""
    if sys.argv[1:] == ["--version"]:
        from gatekeeper import __version__

        sys.stdout.write(f"gatekeeper {__version__}\n")
        return
    if sys.argv[1:2] == ["check"]:
        previous = gc.get_threshold()
        gc.set_threshold(CHECK_GC_THRESHOLD, *previous[1:])
        from gatekeeper.checkline import run_check

        try:
            code = run_check(sys.argv[2:])
        except KeyboardInterrupt:  # before the check's own handling took over
            sys.exit(130)
        finally:
            gc.set_threshold(*previous)  # a caller in the same process keeps its own pace
        if code is not None:
            sys.exit(code)
    from gatekeeper.cli import run as command_line

    command_line()
