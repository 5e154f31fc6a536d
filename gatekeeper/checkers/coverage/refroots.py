"""REF's import roots for the tests a new-code run runs in REF's worktree (``checks.coverage.run``).

REF's worktree holds REF's files but runs the tests in the head's environment, where the project is
most often installed in editable mode: a ``.pth`` file puts the checkout's ``src/`` on ``sys.path``
(setuptools' src layout, hatchling, poetry-core, flit, uv_build), or a finder appended to
``sys.meta_path`` maps the package to the checkout's folder (setuptools' flat layout, hatchling's
``dev-mode-exact`` through ``editables``). Either way REF's tests would import the checkout's code.
The folders those installs name inside the checkout, taken to the same place in the worktree, go
first on ``PYTHONPATH``: ``sys.path``'s path finder then finds REF's code before any ``.pth`` folder
and before any appended finder, in the test process and in every process it starts, as a clean
checkout of REF with REF installed would have it. Nothing of the environment runs to learn them:
its ``.pth`` files and the modules their ``import`` lines name are read as text.

``_COVERAGE_MAIN`` (``testrun``) then lists the modules the tests imported from the checkout all the
same (a package whose folder is named otherwise than the package, a namespace package): REF's
figures would be the checkout's code's, and the check fails closed naming them.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable
from pathlib import Path

from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import ToolError

_IMPORT = re.compile(r"^\s*import\s+([\w.]+(?:\s*,\s*[\w.]+)*)")


def import_roots(ctx: CheckContext) -> list[Path]:
    """The folders of REF's worktree (``ctx.root``) to put first on the tests' ``sys.path``: those
    the environment's editable installs name in the checkout (``ctx.ref_checkout``), at the same
    place in the worktree and present there; none found, the worktree's ``src/`` when it has one."""
    checkout = ctx.ref_checkout
    if checkout is None:
        return []
    from gatekeeper.checkers.coverage.hints import plugin_paths

    try:
        folders = plugin_paths(ctx)  # the environment's site-packages, asked without its start-up code
    except ToolError:
        folders = []
    roots: list[Path] = []
    for named in _named_folders(folders):
        mapped = _in_tree(named, checkout, ctx.root)
        if mapped is not None and mapped.is_dir() and mapped not in roots:
            roots.append(mapped)
    if not roots and (ctx.root / "src").is_dir():
        roots.append(ctx.root / "src")
    return roots


def pythonpath(ctx: CheckContext, current: str) -> str:
    """``PYTHONPATH`` for REF's tests: REF's import roots first, then ``current`` (the job's own),
    its entries inside the checkout taken to the worktree."""
    checkout = ctx.ref_checkout
    if checkout is None:
        return current
    kept = []
    for entry in (e for e in current.split(os.pathsep) if e):
        mapped = _in_tree(Path(entry), checkout, ctx.root) if os.path.isabs(entry) else None
        kept.append(str(mapped) if mapped is not None else entry)
    return os.pathsep.join(dict.fromkeys([*(str(p) for p in import_roots(ctx)), *kept]))


def _in_tree(path: Path, checkout: Path, tree: Path) -> Path | None:
    """``path`` inside ``checkout`` taken to the same place in ``tree``; None outside the checkout."""
    for top in dict.fromkeys((checkout, checkout.resolve())):
        try:
            return tree / Path(os.path.normpath(path)).relative_to(top)
        except ValueError:
            continue
    return None


def _named_folders(site_folders: Iterable[str]) -> list[Path]:
    """The import roots the ``.pth`` files of ``site_folders`` name: each folder on a line of its own,
    and for each module an ``import`` line names (an editable finder), the folder its top-level
    packages and modules lie in, from the absolute paths written in it."""
    out: list[Path] = []
    for folder in site_folders:
        try:
            pths = sorted(Path(folder).glob("*.pth"))
        except OSError:
            continue
        for pth in pths:
            try:
                lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                match = _IMPORT.match(line)
                if match:
                    for name in match[1].split(","):
                        out.extend(_finder_roots(Path(folder) / f"{name.strip()}.py"))
                elif line.strip() and not line.startswith("#"):
                    out.append(Path(folder) / line.rstrip())
    return out


def _finder_roots(module: Path) -> list[Path]:
    """The folders holding what an editable finder module maps (its string constants that are
    absolute paths): a package's folder (setuptools' ``MAPPING``) or its ``__init__.py``
    (``editables``' ``map_module``) lies in the root folder; a module file lies in it."""
    try:
        tree = ast.parse(module.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and os.path.isabs(node.value):
            path = Path(node.value)
            out.append(path.parent.parent if path.name == "__init__.py" else path.parent)
    return out
