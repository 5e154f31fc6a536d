"""The test plugin and plugins written by a test.

``tests/data/plugin`` holds a real installed-distribution layout (a module and its dist-info with
an entry point), so that ``gatekeeper check`` run with it on PYTHONPATH discovers two small
checkers exactly as it discovers third-party plugins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.env import clean_env
from tests.helpers.projects import BUILTINS

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "data" / "plugin"


def policy_text(extra: str = "", formats: str = '["json"]', gate: str = "") -> str:
    """A policy that turns the built-in checkers off and runs the two test checkers; ``gate`` adds [gate] keys."""
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    return f"[reports]\nformats = {formats}\n[gate]\nfail_on_error = true\n{gate}{off}{extra}"


def plugin_env(**extra: str) -> dict[str, str]:
    """The clean environment with the test plugin importable, plus ``extra``."""
    path = os.pathsep.join([str(PLUGIN_DIR), *filter(None, [os.environ.get("PYTHONPATH", "")])])
    return clean_env({"PYTHONPATH": path, **extra})


def install_plugin(site: Path, dist: str, module: str, source: str, entries: Mapping[str, str]) -> Path:
    """Write a third-party checker package with its dist-info into ``site`` (use it via PYTHONPATH)."""
    (site / module).mkdir(parents=True, exist_ok=True)
    (site / module / "__init__.py").write_text(source, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\nLicense: MIT\n", encoding="utf-8")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[gatekeeper.checkers]\n{lines}", encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    return site
