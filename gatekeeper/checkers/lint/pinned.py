"""The ruff version a project's ``.pre-commit-config.yaml`` pins, to say when another one judged it.

The lint check runs the ruff of the tool interpreter, never the project's (see the Trust model). A
project whose pre-commit hooks run ``astral-sh/ruff-pre-commit`` at another ``rev`` sees its own
hook pass where the gate's ruff, with newer rules or changed ones, finds something: the summary
names both versions so that the difference is not taken for a false finding.
"""

from __future__ import annotations

import re
from pathlib import Path

from gatekeeper.checkers.base import CheckContext

CONFIG = ".pre-commit-config.yaml"
_REPO = re.compile(r"""^\s*(?:-\s+)?repo:\s*['"]?([^'"\s#]+)""")
_REV = re.compile(r"""^\s*(?:-\s+)?rev:\s*['"]?([^'"\s#]+)""")
_RUFF_REPOS = ("astral-sh/ruff-pre-commit", "charliermarsh/ruff-pre-commit")
#: the hook repository that runs mypy (pluggy 1.6.0 pins v1.15.0 where the gate runs mypy 2.4)
MYPY_REPOS = ("pre-commit/mirrors-mypy",)


def pinned_rev(root: Path, repos: tuple[str, ...] = _RUFF_REPOS) -> str | None:
    """The ``rev`` of the ruff-pre-commit repository (or of one of ``repos``) in ``root``'s
    ``.pre-commit-config.yaml`` (e.g. ``v0.1.6``), or None when the file does not exist, cannot be
    read or names no such hook.
    Block-style YAML as pre-commit's own files are written: each ``repo:`` opens an entry whose
    ``rev:`` follows it."""
    try:
        text = (root / CONFIG).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    repo = ""
    for line in text.splitlines():
        if found := _REPO.match(line):
            repo = found.group(1).removesuffix(".git").rstrip("/")
        elif (found := _REV.match(line)) and repo.endswith(repos):
            return found.group(1)
    return None


def differs(rev: str | None, version: str) -> bool:
    """Whether the pinned ``rev`` (``v0.1.6`` or ``0.1.6``) names a ruff other than ``version``."""
    return rev is not None and bool(version) and rev.removeprefix("v") != version


def note(ctx: CheckContext, version: str) -> tuple[str | None, str]:
    """The pinned ``rev`` (None without one) and what the summary adds when it names a ruff other
    than ``version``, the one that ran (else "")."""
    if (ctx.root / CONFIG).is_file():
        ctx.reading([CONFIG])
    rev = pinned_rev(ctx.root)
    if not differs(rev, version):
        return rev, ""
    return rev, f" (ruff {version}; {CONFIG} runs ruff {rev}, whose rules can judge differently)"


def mypy_note(ctx: CheckContext, version: str) -> tuple[str | None, str]:
    """The ``rev`` of the project's mirrors-mypy hook (None without one) and what the types summary
    adds when it names a mypy other than ``version``, the one that ran (else "")."""
    if (ctx.root / CONFIG).is_file():
        ctx.reading([CONFIG])
    rev = pinned_rev(ctx.root, MYPY_REPOS)
    if not differs(rev, version):
        return rev, ""
    return rev, f"; mypy {version} ran, {CONFIG} runs mypy {rev}, whose checks can judge differently"
