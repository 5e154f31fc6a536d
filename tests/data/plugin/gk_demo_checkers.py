"""Two small checkers registered through a real entry point (the dist-info beside this file), so
that tests drive waivers and baselines through ``gatekeeper check`` end to end.

``pattern`` scans the project's ``*.py`` files for a marker (default ``eval(``) and fingerprints
each hit the way the built-in checkers do: check, rule, path and the normalised line, never the
line number. ``advisories`` reads ``advisories.json`` in the project (a list of
``{id, aliases, package, version, message}``) and reports each entry as a dependency finding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import CheckContext, Option
from gatekeeper.findings import CheckResult, Finding, Location, Package, Severity, decide_status, fingerprint, normalize_snippet


class PatternChecker:
    """Reports every line of a ``*.py`` file that contains ``marker``."""

    name = "pattern"
    description = "marker scan (test plugin)"
    options: Mapping[str, Option] = {"marker": Option("str", "eval(", "the text to find")}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        marker = str(section["marker"])
        findings = []
        for path in sorted(ctx.root.rglob("*.py")):
            rel = path.relative_to(ctx.root).as_posix()
            if rel.startswith(("gatekeeper-reports/", ".gatekeeper/")):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if marker in line:
                    findings.append(
                        Finding(
                            rule_id="P001",
                            severity=Severity.HIGH,
                            message=f"{marker} used: {line.strip()}",
                            blocking=True,
                            location=Location(rel, number),
                            fingerprint=fingerprint("pattern", "P001", rel, normalize_snippet(line)),
                        )
                    )
        return CheckResult(
            name="pattern",
            status=decide_status(findings),
            summary=f"{len(findings)} hit(s)" + (f"; first: {findings[0].message}" if findings else ""),
            tool_name="pattern-scan",
            tool_version="0.1",
            metrics={"hits": len(findings), "files": [p.name for p in ctx.root.rglob("*.py")]},
            findings=tuple(findings),
        )


class AdvisoryChecker:
    """Reports each advisory listed in the project's ``advisories.json``."""

    name = "advisories"
    description = "advisory list (test plugin)"
    options: Mapping[str, Option] = {}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        entries = json.loads((ctx.root / "advisories.json").read_text(encoding="utf-8"))
        findings = tuple(
            Finding(
                rule_id=e["id"],
                severity=Severity.HIGH,
                message=e.get("message", e["id"]),
                blocking=True,
                package=Package(e["package"], e["version"]),
                fingerprint=fingerprint("advisories", e["id"], e["package"].lower(), e["version"]),
                properties={"aliases": list(e.get("aliases", []))},
            )
            for e in entries
        )
        return CheckResult(
            name="advisories",
            status=decide_status(findings),
            summary=f"{len(findings)} advisory(ies)",
            tool_name="advisory-list",
            tool_version="0.1",
            metrics={"vulnerabilities": len(findings)},
            findings=findings,
        )
