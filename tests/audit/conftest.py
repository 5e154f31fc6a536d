"""Fixtures for the audit, waiver and baseline tests: the real CLI in a subprocess, and the test plugin's checkers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_helpers import PLUGIN_DIR, Runner, clean_env


@pytest.fixture
def gk() -> Runner:
    """Run the real ``gatekeeper`` CLI in a subprocess: ``gk(*args, cwd=..., env=...)``."""

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gatekeeper", *args],
            cwd=cwd,
            env=env if env is not None else clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


@pytest.fixture
def demo_checkers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """Instances of the test checkers for driving the engine in-process."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    import gk_demo_checkers

    yield {"pattern": gk_demo_checkers.PatternChecker(), "advisories": gk_demo_checkers.AdvisoryChecker()}
    sys.modules.pop("gk_demo_checkers", None)


@pytest.fixture
def installed(demo_checkers: dict[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """Every installed checker (the built-ins and the test plugin, found through entry points) and their options."""
    from gatekeeper.checkers import discover, load

    checkers = {name: load(info) for name, info in discover().items()}
    assert {"pattern", "advisories"} <= set(checkers)
    return checkers, {name: c.options for name, c in checkers.items()}
