"""The environment gatekeeper runs in during the tests: a CI job's or a user's shell, never this suite's own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: variables by which gatekeeper recognises a CI provider (or an activated venv): a test run
#: inherits them from a real CI, so they are removed unless a test sets them
CI_NAMES = frozenset({"CI", "JENKINS_URL", "CIRCLECI", "TF_BUILD", "BUILDKITE", "VIRTUAL_ENV"})
CI_PREFIXES = ("GITHUB_", "GITLAB_", "CI_", "GATEKEEPER_", "BUILDKITE_")


def clean_env(extra: Mapping[str, str] | None = None, *, coverage: bool = True) -> dict[str, str]:
    """The current environment without CI variables, colourless and UTF-8, plus ``extra``.

    With ``coverage=False`` this suite's own COVERAGE_* settings go too (under CI's ``coverage
    run``, COVERAGE_FILE would make a project's coverage run write or read the suite's data file).
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in CI_NAMES and not k.startswith(CI_PREFIXES) and (coverage or not k.startswith("COVERAGE_"))
    }
    env.update({"NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"})
    env.update(extra or {})
    return env


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
