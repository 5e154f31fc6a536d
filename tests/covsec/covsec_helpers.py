"""Helpers for the coverage and security checker tests: real tool runs by hand and policy sections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PYTHON = sys.executable


def run_tool(args: Sequence[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a tool by hand, the way a user would (the reference the checkers must agree with)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}  # not this suite's own coverage
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}: {done.stdout}\n{done.stderr}")
    return done


def bandit_json(cwd: Path, *args: str) -> dict[str, Any]:
    """``bandit ARGS -f json`` run by hand; exit 1 (findings) is data."""
    done = run_tool([PYTHON, "-m", "bandit", *args, "-f", "json", "-q"], cwd, check=False)
    assert done.returncode in (0, 1), done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def section(checker: Any, **overrides: Any) -> dict[str, Any]:
    """A validated-looking policy section: the checker's defaults with ``overrides``."""
    values = {name: option.default for name, option in checker.options.items()}
    values.update({"enabled": True, "timeout_s": 0.0})
    values.update(overrides)
    return values
