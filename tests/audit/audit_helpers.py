"""Helpers shared by the audit, waiver and baseline tests (imported by name: pytest puts this folder on sys.path).

``tests/audit/plugin`` holds a real installed-distribution layout (a module and its dist-info with
an entry point), so that ``gatekeeper check`` run with it on PYTHONPATH discovers two small
checkers exactly as it discovers third-party plugins.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

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
