"""Where gatekeeper looks a program up: the absolute folders of ``PATH`` alone.

A relative entry of ``PATH`` (``PATH=.venv/bin:$PATH``, ``PATH=bin:$PATH``, an empty entry, which
means the current folder) is looked up from the folder the process runs in. A tool runs in the
checkout (``CheckContext.run``'s default ``cwd``, git's calls), so such an entry would find the
checkout's own ``git`` or ``ruff`` before the installed one: a pull request's program run with the
job's rights, and a report naming the wrong tool. So every program gatekeeper starts is looked up in
the absolute entries alone (``which``), and every child gets ``PATH`` without the relative ones
(``childenv.for_child``); ``relative_entries`` names them for the run's warning.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping


def _value(env: Mapping[str, str] | None = None) -> str:
    source = os.environ if env is None else env
    return source.get("PATH", os.defpath)


def relative_entries(env: Mapping[str, str] | None = None) -> list[str]:
    """The entries of ``env``'s ``PATH`` (default this process's) that are not absolute folders ("" included)."""
    return list(dict.fromkeys(e for e in _value(env).split(os.pathsep) if not os.path.isabs(e)))


def absolute(env: Mapping[str, str] | None = None) -> str:
    """``env``'s ``PATH`` (default this process's) without its relative entries."""
    return os.pathsep.join(e for e in _value(env).split(os.pathsep) if os.path.isabs(e))


def which(program: str, env: Mapping[str, str] | None = None) -> str | None:
    """The file ``program`` names: itself when it holds a path separator, else the first executable
    of that name in the absolute entries of ``env``'s ``PATH`` (None when there is none)."""
    if os.sep in program:
        return program
    return shutil.which(program, path=absolute(env))


def warning(env: Mapping[str, str] | None = None) -> str | None:
    """The run's warning about ``PATH``'s relative entries, None when it has none."""
    relative = relative_entries(env)
    if not relative:
        return None
    shown = ", ".join(repr(e) if e else "'' (the current folder)" for e in relative)
    return (
        f"PATH holds relative entries ({shown}): ignored. A program is looked up in PATH's absolute folders "
        "alone, and the tools get PATH without them: a relative entry would find a program in the folder a "
        "tool runs in, the checkout (put absolute folders on PATH, e.g. PATH=$PWD/.venv/bin:$PATH)"
    )
