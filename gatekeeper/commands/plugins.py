"""``gatekeeper plugins``: the installed checkers, where they come from, and which failed to load."""

from __future__ import annotations

from gatekeeper.commands import handles_errors
from gatekeeper.escapes import echo

EPILOG = "Example:\n\n  gatekeeper plugins"


@handles_errors()
def plugins() -> None:
    """List the installed checkers (entry-point group gatekeeper.checkers)."""
    from gatekeeper.checkers import plugin_lines

    for line in plugin_lines():
        echo(line)
