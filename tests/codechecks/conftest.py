"""Fixtures for the lint, types and secrets checker tests: real tools on small projects in tmp_path."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.base import CheckContext
from gatekeeper.cli import _load_checkers
from gatekeeper.policy import load_policy


@pytest.fixture(scope="session")
def checker_options() -> Mapping[str, Any]:
    return _load_checkers()[1]


@pytest.fixture
def make_ctx(checker_options: Mapping[str, Any]) -> Callable[..., CheckContext]:
    """A real check context for a project root (its own policy, if any, is loaded)."""

    def make(root: Path, **kwargs: Any) -> CheckContext:
        policy = load_policy(root, checker_options)
        kwargs.setdefault("output_dir", root / "gatekeeper-reports")
        return CheckContext(root=root, policy=policy, deadline=time.monotonic() + 300, **kwargs)

    return make


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An interpreter with no third-party packages at all (a venv without pip)."""
    where = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    return str(where / "bin" / "python")
