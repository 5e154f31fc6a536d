"""The files the types check counts are the ones an rglob over the whole tree gives, without walking into .venv."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from gatekeeper.checkers import types as types_checker
from tests.helpers.projects import write


def rglob_files(root: Path, paths: Sequence[str]) -> Iterator[str]:
    """The walk as it was: every entry rglob matches, filtered afterwards."""
    seen: set[str] = set()
    for p in paths:
        start = root / p
        candidates = [start] if start.is_file() else sorted(start.rglob("*.py*")) if start.is_dir() else []
        for f in candidates:
            rel = f.relative_to(root).as_posix()
            parts = rel.split("/")
            if f.suffix not in (".py", ".pyi") or f.is_symlink() or rel in seen:
                continue
            if any((part.startswith(".") and part not in (".", "..")) or part in types_checker._SKIP_DIRS for part in parts[:-1]):
                continue
            seen.add(rel)
            yield rel


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = write(
        tmp_path / "p",
        {
            "a.py": "",
            "B.pyi": "",
            "notes.pyc": "",
            "x.python": "",
            ".hidden.py": "",
            "pkg/__init__.py": "",
            "pkg/mod.py": "",
            "pkg/sub/deep.pyi": "",
            "pkg/__pycache__/mod.cpython-311.py": "",
            "pkg/build/gen.py": "",
            ".venv/lib/python3.11/site-packages/dep.py": "",
            "venv/lib/x.py": "",
            "node_modules/n.py": "",
            "dist/d.py": "",
            "odd.py/inner.py": "",  # a folder whose name looks like a module
            "src/.git/hooks/h.py": "",
            "src/m.py": "",
        },
    )
    (root / "link.py").symlink_to(root / "a.py")
    (root / "linked").symlink_to(root / "pkg", target_is_directory=True)
    os.mkfifo(root / "pipe.py")
    return root


@pytest.mark.parametrize("paths", [["."], ["pkg"], ["src", "pkg", "a.py"], ["pkg/build"], [".venv"], ["missing"], ["odd.py"]])
def test_the_walk_lists_what_rglob_listed(tree: Path, paths: list[str]) -> None:
    assert list(types_checker._python_files(tree, paths)) == list(rglob_files(tree, paths))


def test_the_walk_keeps_modules_and_stubs_and_leaves_out_hidden_and_build_folders(tree: Path) -> None:
    assert list(types_checker._python_files(tree, ["."])) == [
        ".hidden.py", "B.pyi", "a.py", "odd.py", "odd.py/inner.py", "pipe.py",
        "pkg/__init__.py", "pkg/mod.py", "pkg/sub/deep.pyi", "src/m.py",
    ]  # fmt: skip
