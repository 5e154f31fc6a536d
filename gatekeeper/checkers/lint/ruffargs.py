"""The ruff command-line flags every lint run shares, and ruff's refusal as a message.

Shared by the checker (``__init__``) and its listing (``listing``), which imports nothing from the
checker's module.
"""

from __future__ import annotations

import functools
import re

from gatekeeper import process

#: flags on every ruff command: ruff reads the checkout and writes nothing into it, whatever its configuration says
READ_ONLY = ("--no-fix", "--no-unsafe-fixes", "--no-cache")
#: ruff on the policy's terms alone (``project_config = "ignore"``)
ISOLATED = ("--isolated", "--ignore-noqa", "--no-respect-gitignore")
#: paths per ruff command line, far below the OS argument limit
MAX_FILES_PER_RUN = 2000


@functools.cache
def _quoted() -> re.Pattern[str]:
    """A line of a file that ruff quotes in an error: ``3 | key = "..."`` or the ``  |   ^^^`` under it."""
    return re.compile(r"^\s*\d*\s*\|")


def refused(done: process.Completed) -> str:
    """ruff's own error, without the configuration lines it quotes (``3 | key = "..."``): a
    configuration error is reported by file, position and reason, never with the file's contents."""
    kept = [line[:200] + ("…" if len(line) > 200 else "") for line in (done.stderr or done.stdout).splitlines()]
    return process.tail("\n".join(line for line in kept if not _quoted().match(line)))
