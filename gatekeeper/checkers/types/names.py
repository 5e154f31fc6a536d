"""File names mypy cannot take: a ``.py`` file whose name is not UTF-8 crashes mypy (2.4.1: its
cache keys names as UTF-8 text, ``UnicodeEncodeError``), which then says only "INTERNAL ERROR".
The check names such files when mypy fails, so that the user knows which file to rename or leave out,
and quotes what mypy said without its verbose log."""

from __future__ import annotations

import os
from collections.abc import Iterable


def undecodable(files: Iterable[str]) -> list[str]:
    """Those of ``files`` (names as the file system gives them, undecodable bytes as surrogates)
    whose names are not UTF-8, each shown with those bytes as ``\\xNN``."""
    out = []
    for name in files:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            out.append(os.fsencode(name).decode("utf-8", "backslashreplace"))
    return sorted(out)


def unlogged(text: str) -> str:
    """``text`` (mypy's stderr) without the lines of its verbose log (``LOG:``, ``TRACE:``): the check
    runs mypy with ``-v`` to learn what it read, and an error quotes what mypy said, not that log."""
    return "\n".join(line for line in text.splitlines() if not line.startswith(("LOG:", "TRACE:"))).strip()


def failure(returncode: int, said: str, names: list[str]) -> str:
    """The error of a mypy run that failed (exit ``returncode``, saying ``said``), naming the files
    ``names`` whose names are not UTF-8 when there are any."""
    if not names:
        return f"mypy failed (exit {returncode}): {said}"
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (
        f"mypy failed (exit {returncode}) on a project with {len(names)} Python file(s) whose name is not UTF-8, "
        f"which mypy cannot check: {shown} (rename them, or leave them out with checks.types.paths or mypy's "
        f"exclude); mypy said: {said}"
    )
