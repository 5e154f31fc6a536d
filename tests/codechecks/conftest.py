"""Fixtures for the lint, types and secrets checker tests: real tools on small projects in tmp_path."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An interpreter with no third-party packages at all (a venv without pip)."""
    where = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    return str(where / "bin" / "python")
