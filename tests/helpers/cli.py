"""The real ``gatekeeper`` CLI in a subprocess, the way a CI job runs it; the same CLI in this
process (typer's test runner), for tests of what a command says and returns; the installed checkers."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.helpers.env import CI_NAMES, CI_PREFIXES, clean_env

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


def invoke_gatekeeper(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """``gatekeeper ARGS`` run in this process from ``cwd`` (typer's ``CliRunner``), with the
    environment ``run_gatekeeper`` gives a child (no CI variables, colourless) plus ``env``,
    restored afterwards; its exit code, stdout and stderr as a ``CompletedProcess``.

    For tests of messages and exit codes: the same commands and error handling as the process,
    without the second or so a process spends importing. A traceback is never an answer: an
    exception the CLI lets escape fails the test. ``timeout`` is accepted for ``run_gatekeeper``'s
    signature (a command run here cannot be killed).
    """
    from typer.testing import CliRunner

    from gatekeeper.cli import app

    unset: dict[str, str | None] = {k: None for k in os.environ if k in CI_NAMES or k.startswith(CI_PREFIXES)}
    overrides = {**unset, "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8", **(env or {})}
    here = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args), env=overrides, catch_exceptions=False)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["gatekeeper", *args], result.exit_code, result.stdout, result.stderr)


@functools.cache
def _installed() -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    from gatekeeper.commands import load_checkers as _load_checkers

    return _load_checkers()


def installed_checkers() -> Mapping[str, Any]:
    """Every installed checker by name, loaded as the CLI loads them (the policy validates every section)."""
    return _installed()[0]


def installed_options() -> Mapping[str, Any]:
    """The options of every installed checker, as the policy loader validates against them."""
    return _installed()[1]
