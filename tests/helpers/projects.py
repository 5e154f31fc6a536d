"""Small projects written by the tests, the tools run by hand on them, and policies for them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gatekeeper.checkers.base import CheckContext
from gatekeeper.policy import load_policy
from tests.helpers.cli import installed_options
from tests.helpers.env import clean_env

PYTHON = sys.executable
BUILTINS = ("coverage", "security", "dependencies", "sbom", "licenses")


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


def run_tool(args: Sequence[str | Path], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a tool by hand, the way a user would (the reference the checkers must agree with)."""
    env = clean_env(coverage=False)  # not this suite's own coverage
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
    """A policy section as the loader would produce it: the checker's defaults with ``overrides``."""
    values = {name: option.default for name, option in checker.options.items()}
    values.update({"enabled": True, "timeout_s": 0.0})
    values.update(overrides)
    return values


def only(*names: str, extra: str = "") -> str:
    """A policy enabling just the built-in checks ``names`` (the others off), without audit, plus ``extra``."""
    off = "".join(f"[checks.{n}]\nenabled = false\n" for n in BUILTINS if n not in names)
    return f'[reports]\nformats = ["json"]\n[audit]\nenabled = false\n{off}{extra}'


def check_context(root: Path, **kwargs: Any) -> CheckContext:
    """A real check context for a project root (its own policy, if any, is loaded), for checker tests."""
    policy = load_policy(root, installed_options())
    kwargs.setdefault("output_dir", root / "gatekeeper-reports")
    return CheckContext(root=root, policy=policy, deadline=time.monotonic() + 300, **kwargs)
