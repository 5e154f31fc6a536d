"""What ruff reads of the tree besides a file's bytes, as a digest that keys the lint cache.

A cached lint result is served only while the tree around its file is as it was: which files exist,
which are executable, and what ruff's isort finds in the folders it looks in for a first-party module
(``src_roots``), whether git tracks it or not.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def digest(root: Path, tracked: Sequence[str], listed: Sequence[str], sources: Sequence[Path] = ()) -> str:
    """A digest of what ruff reads of the tree besides a file's bytes: which files exist (an
    ``__init__.py`` beside it decides INP001 and its package, a module in the root or ``src`` makes an
    import first-party for isort) and which of the listed files are executable (EXE001, EXE002). Part
    of every file's cache key, so adding, removing, renaming or ``chmod``-ing a file never serves
    another file a result the tree no longer gives. ``sources``: the folders ruff's isort looks in
    for a first-party module (``src_roots``): what each holds that could be one (a folder, a ``.py``
    or ``.pyi`` file) is part of the digest whether git tracks it or not, since ruff asks the file
    system (a ``build/`` folder a build leaves makes ``import build`` first-party)."""
    import hashlib

    h = hashlib.sha256()
    for name in tracked:
        h.update(name.encode("utf-8", "surrogateescape") + b"\0")
    h.update(b"\0")
    for name in listed:
        try:
            runnable = os.stat(root / name).st_mode & 0o111 != 0
        except OSError:
            runnable = False
        h.update(name.encode("utf-8", "surrogateescape") + (b"\1" if runnable else b"\0"))
    for folder in sources:
        h.update(b"\0" + os.fsencode(folder) + b"\0")
        for entry in _module_like(folder):
            h.update(entry.encode("utf-8", "surrogateescape") + b"\0")
    return h.hexdigest()


def _module_like(folder: Path) -> list[str]:
    """The entries of ``folder`` ruff's isort may take for a first-party module, sorted: each folder
    (``name/``) and each ``.py``/``.pyi`` file, links followed, whose name an import can spell (an
    identifier: not ``.venv`` or ``gatekeeper-reports``; nor ``__pycache__``, which Python writes as
    it imports); [] when it cannot be listed."""
    found: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                stem, dot, suffix = entry.name.partition(".")
                if not stem.isidentifier() or stem == "__pycache__":
                    continue
                try:
                    if not dot and entry.is_dir():
                        found.append(entry.name + "/")
                    elif suffix in ("py", "pyi") and entry.is_file():
                        found.append(entry.name)
                except OSError:
                    continue
    except OSError:
        return []
    return sorted(found)


def src_roots(root: Path, configs: Sequence[str]) -> list[Path]:
    """The folders ruff's isort looks in to call an import first-party (``match_sources``: ``SRC/name``
    a folder, ``SRC/name.py`` or ``.pyi`` a file): the root and its ``src``, each configuration's
    folder and its ``src``, and every folder a configuration's ``src`` names (relative to the file
    that names it, globs expanded), those inside the root."""
    from gatekeeper import toolconfig
    from gatekeeper.fileio import relative_to_root

    found = {root, root / "src"}
    for config in configs:
        here = (root / config).parent
        found |= {here, here / "src"}
        for item in toolconfig.ruff_chain(root, config):
            src = item.options.get("src")
            base = (root / item.path).parent
            for entry in src if isinstance(src, list) else []:
                if not isinstance(entry, str):
                    continue
                if any(c in entry for c in "*?["):
                    found |= set(base.glob(entry))
                else:
                    found.add(base / entry)
    return sorted(f for f in found if relative_to_root(f, root) is not None)
