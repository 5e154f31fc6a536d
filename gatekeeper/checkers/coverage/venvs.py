"""The measured files that lie in a virtualenv inside the root, to say why the total counts them.

A coverage configuration that names an installed package (``[run] source_pkgs = ["hatch",
"hatchling"]``, or a ``source`` entry that is a package name) measures it where the environment
imports it from: a ``.venv`` created in the checkout when the package is installed there rather
than from the checkout. ``coverage report`` by hand lists those files and counts them in the total,
as the check does (hatch 1.18.2: 67 hatchling files of its ``.venv``); the summary says how many
there are and where, so the total is not read as the project's code alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from gatekeeper.checkers.coverage.report import FileCoverage


def note(root: Path, files: Sequence[FileCoverage]) -> str:
    """What the summary adds when some measured ``files`` (posix paths, relative to ``root`` when
    inside it) lie in a virtualenv under the root (a folder holding ``pyvenv.cfg``), else ""."""
    is_venv: dict[str, bool] = {}
    counts: dict[str, list[int]] = {}
    for f in files:
        path = PurePosixPath(f.path)
        if path.is_absolute() or ".." in path.parts:
            continue
        for depth in range(1, len(path.parts)):
            folder = "/".join(path.parts[:depth])
            if folder not in is_venv:
                is_venv[folder] = (root / folder / "pyvenv.cfg").is_file()
            if is_venv[folder]:
                found = counts.setdefault(folder, [0, 0])
                found[0] += 1
                found[1] += f.statements
                break
    if not counts:
        return ""
    where = ", ".join(
        f"{n:,} file{'s' if n != 1 else ''} ({s:,} statements) in {folder}/" for folder, (n, s) in sorted(counts.items())
    )
    return (
        f"{where}, a virtualenv in the checkout: the coverage configuration measures a package installed there"
        " ([run] source or source_pkgs names it), and the total counts it as coverage report does"
    )
