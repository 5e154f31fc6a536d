"""The virtualenvs inside the root that ruff linted, to say why a project's findings come from them.

ruff's default ``exclude`` leaves ``.venv``, ``venv`` and the like out; a project whose configuration
sets ``exclude`` replaces that list (``extend-exclude`` adds to it), so ``ruff check .`` by hand, and
the check with it, lints every installed package of a virtualenv created in the checkout, as the
README's own setup does (portalocker's ``exclude = ['docs']``: 131,814 findings, nearly all in
``.venv/``). The findings stay ruff's; the summary says where they are and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path


def note(root: Path, files: Sequence[str]) -> str:
    """What the summary adds when some of the ``files`` ruff checked (posix, relative to ``root``)
    lie in a virtualenv at the root's top level (a folder holding ``pyvenv.cfg``), else ""."""
    counts = Counter(f.split("/", 1)[0] for f in files if "/" in f)
    inside = {name: n for name, n in counts.items() if (root / name / "pyvenv.cfg").is_file()}
    if not inside:
        return ""
    where = ", ".join(f"{n:,} in {name}/" for name, n in sorted(inside.items()))
    return (
        f"; {where}, a virtualenv ruff lints because the project's exclude replaces ruff's default excludes"
        " (extend-exclude adds to them)"
    )
