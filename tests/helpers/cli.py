"""The real ``gatekeeper`` CLI in a subprocess, the way a CI job runs it, and the installed checkers."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.helpers.env import clean_env

REPO = Path(__file__).resolve().parents[2]

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def run_gatekeeper(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """``python -m gatekeeper ARGS`` in ``cwd`` with a clean, colourless environment plus ``env``.

    This suite's COVERAGE_* settings pass through (so its coverage run measures gatekeeper) unless
    the test uses the ``own_coverage_settings`` fixture, which removes them for the whole test.
    """
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@functools.cache
def _installed() -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    from gatekeeper.cli import _load_checkers

    return _load_checkers()


def installed_checkers() -> Mapping[str, Any]:
    """Every installed checker by name, loaded as the CLI loads them (the policy validates every section)."""
    return _installed()[0]


def installed_options() -> Mapping[str, Any]:
    """The options of every installed checker, as the policy loader validates against them."""
    return _installed()[1]
