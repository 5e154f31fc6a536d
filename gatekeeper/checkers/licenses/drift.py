"""Lock drift: the installed environment the licenses were read from, compared with the project's lock file.

The licenses come from what is installed (a license is in the installed metadata, not in a lock);
when the policy names the lock (``checks.licenses.lock``), a locked package installed at another
version, or not installed at all, is a finding of its own: the licenses judged are then not those
of what the project ships.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.inventory import Inventory, declared_name
from gatekeeper.checkers.lockfiles import read_lock, selection_of
from gatekeeper.fileio import under
from gatekeeper.findings import Finding, Location, Package, Severity, fingerprint

if TYPE_CHECKING:  # the lock model loads with a lock to read (checks.licenses.lock), not on every run
    from gatekeeper.checkers.lockfiles.model import Lock

DRIFT_RULE = "licenses.lock_drift"
MISSING_RULE = "licenses.lock_not_installed"


def read_project_lock(section: Mapping[str, Any], ctx: CheckContext) -> Lock | None:
    """The lock ``checks.licenses.lock`` names, read for the section's groups and extras (None when unset)."""
    setting = str(section.get("lock") or "")
    if not setting:
        return None
    return read_lock(under(ctx.root, setting), selection_of(section), declared_name(ctx.root))


def drift_findings(lock: Lock, inventory: Inventory, rel: str) -> list[Finding]:
    """One blocking finding per locked package installed at another version or not installed (in scope)."""
    findings: list[Finding] = []
    for pkg in lock.packages:
        installed = inventory.get(pkg.name)
        where = Location(rel, pkg.line)
        entry = f"{rel}:{pkg.line}" if pkg.line else rel
        if installed is None:
            rule, message = MISSING_RULE, f"{pkg.name} {pkg.version} is locked ({entry}) but not installed"
            version = pkg.version
        elif pkg.version and installed.version != pkg.version:
            rule = DRIFT_RULE
            message = f"{pkg.name} is installed at {installed.version} but locked at {pkg.version} ({entry})"
            version = installed.version
        else:
            continue
        findings.append(
            Finding(
                rule_id=rule,
                severity=Severity.MEDIUM,
                blocking=True,
                message=message + ": the licenses read are not those of the locked packages",
                location=where,
                package=Package(pkg.name, version),
                fingerprint=fingerprint("licenses", rule, pkg.key, pkg.version),
                rule_name="installed version differs from the lock" if rule == DRIFT_RULE else "locked package not installed",
                tags=("license", "lock"),
                properties={"locked": pkg.version, "installed": installed.version if installed else None, "lock_entry": entry},
            )
        )
    return findings
