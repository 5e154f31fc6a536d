"""Helpers for the lint, types and secrets checker tests."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (relative path -> text) under ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def git_init(root: Path) -> None:
    """Make ``root`` a git work tree with every file in it tracked."""
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)


def defaults(checker: Any, **overrides: Any) -> dict[str, Any]:
    """A policy section as the loader would produce it: the checker's defaults with ``overrides``."""
    values = {name: option.default for name, option in checker.options.items()}
    values.update({"enabled": True, "timeout_s": 0.0})
    values.update(overrides)
    return values
