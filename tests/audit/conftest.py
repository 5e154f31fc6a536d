"""Shared helpers for the audit, waiver and baseline tests.

``tests/audit/plugin`` holds a real installed-distribution layout (a module and its dist-info with
an entry point), so that ``gatekeeper check`` run with it on PYTHONPATH discovers two small
checkers exactly as it discovers third-party plugins.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"
BUILTINS = ("coverage", "security", "dependencies", "sbom", "licenses")
#: CI variables a test run inherits from a real CI; removed so that tests see a local run unless they set them.
CI_VARS = (
    "CI", "GITHUB_ACTIONS", "GITHUB_ACTOR", "GITHUB_TRIGGERING_ACTOR", "GITHUB_RUN_ID", "GITHUB_REF", "GITHUB_SHA",
    "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "GITLAB_CI", "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "JENKINS_URL", "CIRCLECI",
    "TF_BUILD", "BUILDKITE", "GATEKEEPER_ACTOR", "GATEKEEPER_AUDIT_KEY", "GATEKEEPER_CI_RUN_ID", "GATEKEEPER_CI_RUN_URL",
)  # fmt: skip


def policy_text(extra: str = "", formats: str = '["json"]', gate: str = "") -> str:
    """A policy that turns the built-in checkers off and runs the two test checkers; ``gate`` adds [gate] keys."""
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    return f"[reports]\nformats = {formats}\n[gate]\nfail_on_error = true\n{gate}{off}{extra}"


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without CI variables, with the test plugin importable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in CI_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGIN_DIR), *filter(None, [os.environ.get("PYTHONPATH", "")])])
    env.update(extra)
    return env


Runner = Callable[..., subprocess.CompletedProcess[str]]


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
