"""A Python command line a check runs, read as the interpreter reads it: what runs (a module, a
script, ``-c`` code) and whether it runs isolated (``-I``).

``CheckContext.run`` starts every tool of every checker, built-in or plugin. A plugin written
from the README runs its tool as ``[sys.executable, "-m", TOOL, ...]`` in the project root: without
``-I`` Python puts that folder first on ``sys.path``, and a ``TOOL/`` package in the checkout runs
instead of the tool, with gatekeeper's rights. So the layer makes such a command isolated itself
and locates its module as ``CheckContext.tool`` does, rather than trusting each checker to.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

#: an interpreter's file name: python, python3, python3.12, python3.13t, pypy3
_INTERPRETER = re.compile(r"(?:python|pypy)(?:\d+(?:\.\d+)*t?)?(?:\.exe)?")
#: options that take the next argument as their value
_WITH_VALUE = frozenset({"-W", "-X", "--check-hash-based-pycs"})


@dataclass(frozen=True, slots=True)
class PythonCommand:
    """What a Python command line runs: ``kind`` is ``module`` (``-m``), ``script``, ``code``
    (``-c``) or ``stdin``; ``target`` the module or the script; ``isolated`` whether ``-I`` is given."""

    kind: str
    target: str
    isolated: bool


def is_interpreter(program: str, known: Sequence[str] = ()) -> bool:
    """Whether ``program`` is a Python interpreter: named like one, or one of ``known`` (links followed)."""
    if _INTERPRETER.fullmatch(os.path.basename(program)):
        return True
    real = os.path.realpath(program) if os.sep in program else ""
    return bool(real) and any(real == os.path.realpath(k) for k in (sys.executable, *known) if k)


def read(args: Sequence[str]) -> PythonCommand:
    """``args`` (the interpreter first) as the interpreter reads its options."""
    isolated = False
    i = 1
    while i < len(args):
        arg = args[i]
        if arg in _WITH_VALUE:
            i += 2
            continue
        if arg == "-" or not arg.startswith("-"):
            return PythonCommand("stdin" if arg == "-" else "script", "" if arg == "-" else arg, isolated)
        if arg.startswith("--") or arg[:2] in ("-W", "-X"):
            i += 1
            continue
        for at, letter in enumerate(arg[1:], 1):  # a cluster of flags, e.g. -IS; -m and -c end it
            if letter in "mc":
                value = arg[at + 1 :] or (args[i + 1] if i + 1 < len(args) else "")
                return PythonCommand("module" if letter == "m" else "code", value if letter == "m" else "", isolated)
            if letter in "WX":  # its value is the rest of the word (-bWI: the warning filter "I"), else the next word
                i += 0 if arg[at + 1 :] else 1
                break
            isolated = isolated or letter == "I"
        i += 1
    return PythonCommand("stdin", "", isolated)


def isolate(args: Sequence[str]) -> list[str]:
    """``args`` with ``-I`` after the interpreter when it is not given: neither the working folder
    (the checkout) nor ``PYTHONPATH`` nor the user's site folder on ``sys.path``."""
    return list(args) if read(args).isolated else [args[0], "-I", *args[1:]]


#: the line of a console script pip (and uv, installer) writes that imports its entry point
_ENTRY = re.compile(rb"^from ([A-Za-z_][\w.]*) import [A-Za-z_][\w.]*\s*$", re.M)
#: the line of pip's (distlib's) ``#!/bin/sh`` script that runs its interpreter, written when the
#: interpreter's path is longer than a ``#!`` line may be (127 bytes on Linux) or holds a space
_SH_EXEC = re.compile(rb"""^'''exec' ("[^"\n]+"|\S+)[^\n]* "\$0" "\$@"\s*$""", re.M)


def console_script(path: str) -> tuple[str, str] | None:
    """The interpreter and the entry point's module of the console script ``path`` (``#!PYTHON``, or
    the ``'''exec' PYTHON`` line of pip's ``#!/bin/sh`` form, and ``from MODULE import main`` as
    installers write it), or None for any other program."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    shebang = head[2:].split(b"\n", 1)[0].strip().split()
    if shebang == [b"/bin/sh"] and (relay := _SH_EXEC.search(head)) is not None:
        shebang = [relay.group(1).strip(b'"')]  # an interpreter no #! line can name: pip's /bin/sh relay
    entry = _ENTRY.search(head)
    if not shebang or entry is None or not is_interpreter(shebang[0].decode("utf-8", "replace")):
        return None
    return shebang[0].decode("utf-8", "replace"), entry.group(1).decode("ascii")
