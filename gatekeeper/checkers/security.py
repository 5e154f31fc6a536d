"""Code security with bandit: every bandit result becomes a finding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import CheckContext, Option
from gatekeeper.findings import CheckResult

LEVELS = ("low", "medium", "high")


class SecurityChecker:
    """Runs bandit over the policy's paths and maps its results to findings."""

    name = "security"
    description = "code security (bandit)"
    options: Mapping[str, Option] = {
        "paths": Option("str_list", ["."], "paths to scan, relative to the project"),
        "exclude": Option("str_list", [".venv", "venv", ".tox", "build", "dist", "tests"], "paths or globs to leave out"),
        "min_confidence": Option("str", "low", "findings below this confidence are not reported", choices=LEVELS),
        "fail_on_severity": Option("str", "medium", "reported findings at or above this severity block", choices=LEVELS),
        "skip": Option("str_list", [], 'bandit test ids to skip, e.g. ["B101"]'),
        "tests": Option("str_list", [], "run only these bandit test ids"),
        "config": Option("str", "", "bandit config file; empty: [tool.bandit] in pyproject.toml or .bandit if present"),
        "workers": Option("int", 0, "bandit processes to split the files across; 0: one per CPU", minimum=0, maximum=256),
    }

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Not built yet: fails closed."""
        raise NotImplementedError("the security checker is not implemented yet")
