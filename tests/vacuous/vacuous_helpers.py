"""Helpers shared by the vacuous-pass tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BUILTINS = ("coverage", "security", "dependencies", "sbom", "licenses")


def gk(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI in a user's shell: no CI variables, no coverage measurement of this suite, no other venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "GITHUB_", "GATEKEEPER_", "VIRTUAL_ENV"))}
    env.pop("CI", None)
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def only(*names: str, extra: str = "") -> str:
    """A policy enabling just the built-in checks ``names`` (the others off), without audit, plus ``extra``."""
    off = "".join(f"[checks.{n}]\nenabled = false\n" for n in BUILTINS if n not in names)
    return f'[reports]\nformats = ["json"]\n[audit]\nenabled = false\n{off}{extra}'


def check_of(root: Path, name: str) -> dict[str, Any]:
    """The check called ``name`` in the project's JSON report."""
    data = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    check: dict[str, Any] = next(c for c in data["checks"] if c["name"] == name)
    return check
