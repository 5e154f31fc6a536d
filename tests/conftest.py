"""Shared test helpers: run the real CLI in a subprocess, the way a CI job does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_gatekeeper(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``python -m gatekeeper ARGS`` in ``cwd`` with a clean, colourless environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATEKEEPER_"))}
    full_env.update({"NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"})
    full_env.pop("CI", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def gk() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The CLI runner as a fixture."""
    return run_gatekeeper
