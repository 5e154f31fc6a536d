"""Known vulnerabilities in dependencies: pip-audit online, or a local OSV database offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import CheckContext, Option
from gatekeeper.findings import CheckResult

SEVERITIES = ("critical", "high", "medium", "low")


class DependenciesChecker:
    """Audits the environment, a requirements file or pyproject.toml for known vulnerabilities."""

    name = "dependencies"
    description = "dependency vulnerabilities (pip-audit, or a local OSV database offline)"
    options: Mapping[str, Option] = {
        "source": Option("str", "environment", '"environment", a requirements file, or "pyproject.toml"'),
        "advisory_db": Option("str", "", "a local OSV database (directory or zip): offline mode"),
        "service": Option("str", "pypi", "pip-audit's vulnerability service in online mode", choices=("pypi", "osv")),
        "fail_on_unaudited": Option("bool", True, "a package that could not be audited fails the gate"),
        "fail_on_severity": Option(
            "str", "low", "vulnerabilities at or above this severity block (unknown counts as high)", choices=SEVERITIES
        ),
    }

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Not built yet: fails closed."""
        raise NotImplementedError("the dependencies checker is not implemented yet")
