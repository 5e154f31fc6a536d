"""Where gatekeeper looks a program up: the absolute folders of ``PATH`` alone.

A relative entry of ``PATH`` (``PATH=.venv/bin:$PATH``, ``PATH=bin:$PATH``, an empty entry, which
means the current folder) is looked up from the folder the process runs in. A tool runs in the
checkout (``CheckContext.run``'s default ``cwd``, git's calls), so such an entry would find the
checkout's own ``git`` or ``ruff`` before the installed one: a pull request's program run with the
job's rights, and a report naming the wrong tool. So every program gatekeeper starts is looked up in
the absolute entries alone (``which``), and every child gets ``PATH`` without the relative ones
(``childenv.for_child``); ``relative_entries`` names them for the run's warning.

An absolute entry inside the checkout (``PATH=$PWD/bin:$PATH``, a CI step adding the workspace's
``bin/`` or ``scripts/``) finds the checkout's ``git`` as surely: once the run knows its root
(``keep_out``), ``which`` skips the entries leading inside it or inside the git work tree holding it,
links followed, and the run's warning names them. The children's ``PATH`` keeps them (the coverage
check's tests may run the project's console scripts from a virtualenv in the checkout).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

#: the folders (resolved) whose programs gatekeeper never starts by name: the checkout under review (``keep_out``)
_KEPT_OUT: list[str] = []


def keep_out(root: str | os.PathLike[str]) -> None:
    """Never look a program up in a ``PATH`` entry inside ``root`` or the git work tree holding it."""
    folder = os.path.realpath(root)
    top = folder
    while not os.path.lexists(os.path.join(top, ".git")) and os.path.dirname(top) != top:
        top = os.path.dirname(top)
    for kept in (folder, top if os.path.lexists(os.path.join(top, ".git")) else folder):
        if kept not in _KEPT_OUT:
            _KEPT_OUT.append(kept)


def _inside(entry: str) -> bool:
    """Whether the absolute ``PATH`` entry leads inside a folder ``keep_out`` named."""
    where = os.path.realpath(entry)
    return any(where == kept or where.startswith(kept.rstrip(os.sep) + os.sep) for kept in _KEPT_OUT)


def inside_entries(env: Mapping[str, str] | None = None) -> list[str]:
    """The absolute entries of ``env``'s ``PATH`` (default this process's) inside the checkout (``keep_out``)."""
    return list(dict.fromkeys(e for e in _value(env).split(os.pathsep) if os.path.isabs(e) and _inside(e)))


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
    searched = absolute(env)
    if _KEPT_OUT:  # the checkout's own bin/ is no place to find git in
        searched = os.pathsep.join(e for e in searched.split(os.pathsep) if not _inside(e))
    return shutil.which(program, path=searched)


def warning(env: Mapping[str, str] | None = None) -> str | None:
    """The run's warning about ``PATH``'s relative entries, None when it has none."""
    relative = relative_entries(env)
    inside = inside_entries(env)
    said = []
    if relative:
        shown = ", ".join(repr(e) if e else "'' (the current folder)" for e in relative)
        said.append(
            f"PATH holds relative entries ({shown}): ignored. A program is looked up in PATH's absolute folders "
            "alone, and the tools get PATH without them: a relative entry would find a program in the folder a "
            "tool runs in, the checkout (put absolute folders outside the checkout on PATH, e.g. "
            "PATH=$RUNNER_TEMP/venv/bin:$PATH: one inside it is not searched either)"
        )
    if inside:
        shown = ", ".join(repr(e) for e in inside)
        said.append(
            f"PATH holds folders inside the checkout ({shown}): gatekeeper looks no program it starts (git, uv, "
            "openssl) up there, as the checkout's own program would run with the job's rights (the tools' "
            "children, the coverage check's tests among them, still get them)"
        )
    return "; ".join(said) or None
