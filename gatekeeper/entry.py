"""The console script ``gatekeeper``: ``--version`` is answered before the command line is imported.

Importing the command line (typer, click, every command's module) takes longer than printing a
version should; everything else goes to ``gatekeeper.cli``, which prints the same line for
``--version`` among other options.
"""

from __future__ import annotations

import sys


def run() -> None:
    """Console-script entry point: ``gatekeeper --version`` alone, else the command line."""
    if sys.argv[1:] == ["--version"]:
        from gatekeeper import __version__

        sys.stdout.write(f"gatekeeper {__version__}\n")
        return
    from gatekeeper.cli import run as command_line

    command_line()
