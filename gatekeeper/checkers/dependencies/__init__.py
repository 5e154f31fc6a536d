"""Known vulnerabilities in dependencies: pip-audit online, or a local OSV database offline.

What is audited comes from the ``source``: the installed environment (the policy's
``[environment]``, with its scope), a pinned requirements file, pyproject.toml, or a lock file
(the locked versions of the groups and extras the policy chooses, nothing installed). Every
package that could not be audited (not pinned, unknown to the service, an unreadable version,
the service unreachable) is listed as ``unaudited`` and, by default, fails the gate: an audit
that looked at nothing is never a pass.

The package, along its seams: ``sources/`` (one module per kind of input, behind the
``DependencySource`` interface), ``online`` (pip-audit against PyPI or OSV), ``offline`` (which
local OSV database, and its age) with ``advisories`` (reading and matching it) and ``database``
(``gatekeeper db update``), ``findings`` (what a match or an unaudited package becomes), and
this module, the checker that ties them together.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.checkers.base import CheckContext, CheckerBase, Display, RuleInfo, Trend
from gatekeeper.checkers.dependencies import presentation
from gatekeeper.checkers.lockfiles import LOCK_OPTIONS, left_in_lock, source_problem
from gatekeeper.findings import CheckResult, Finding, Severity, Status, decide_status
from gatekeeper.options import Option

if TYPE_CHECKING:
    from gatekeeper.checkers.dependencies import offline
    from gatekeeper.checkers.dependencies.advisories import Match
    from gatekeeper.checkers.dependencies.sources import Collected, Target

# the run path (sources, pip-audit, the advisory database, packaging) is imported by ``run``, in the
# check's own thread: loading the checker for discovery and policy validation needs none of it
__all__ = ["SEVERITIES", "DependenciesChecker"]

SEVERITIES = ("critical", "high", "medium", "low")


class DependenciesChecker(CheckerBase):
    """Audits the environment, a requirements file, pyproject.toml or a lock file for known vulnerabilities."""

    name = "dependencies"
    description = "dependency vulnerabilities (pip-audit, or a local OSV database offline)"
    options: Mapping[str, Option] = {
        "source": Option(
            "str",
            "environment",
            '"environment", a requirements file, "pyproject.toml", or a lock file (uv.lock, pylock.toml, poetry.lock, pdm.lock)',
            accepts=source_problem,
        ),
        **LOCK_OPTIONS,
        "advisory_db": Option(
            "str", "", 'a local OSV database (directory or zip): offline mode; "auto": the one `gatekeeper db update` keeps'
        ),
        "max_db_age_days": Option(
            "int", 7, "offline: a database whose newest record is older than this many days is an error", minimum=1, maximum=36500
        ),
        "service": Option("str", "pypi", "pip-audit's vulnerability service in online mode", choices=("pypi", "osv")),
        "osv_url": Option("str", "", 'online mode with service = "osv": the OSV API query URL (a mirror); empty: api.osv.dev'),
        "fail_on_unaudited": Option("bool", True, "a package that could not be audited fails the gate"),
        "fail_on_severity": Option(
            "str", "low", "vulnerabilities at or above this severity block (unknown counts as high)", choices=SEVERITIES
        ),
        "vex": Option(
            "str_list",
            [],
            "OpenVEX or CycloneDX VEX documents (inside the project) whose not_affected and fixed statements are exceptions",
            existing_paths=True,
        ),
    }

    tool = presentation.TOOL
    trends = (Trend("vulnerabilities", ("vulnerabilities",)),)
    inspects_environment = True

    def display(self, result: CheckResult) -> Display:
        """Packages audited, known vulnerabilities and the advisory source."""
        return presentation.display(result)

    def rule_info(self, finding: Finding) -> RuleInfo:
        """An advisory names its package and links to its osv.dev page."""
        return presentation.rule_info(finding)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Collect the packages of the source, audit them, and turn what was found into findings."""
        from packaging.utils import canonicalize_name

        from gatekeeper.checkers.dependencies import offline
        from gatekeeper.checkers.dependencies.findings import vulnerability_finding
        from gatekeeper.checkers.dependencies.sources import collect

        t0 = time.monotonic()
        source = str(section.get("source") or "environment")
        # offline, the database is opened while collect waits for the environment's probe
        opening = offline.Opening(str(section["advisory_db"]), ctx) if section.get("advisory_db") else None
        try:
            got = collect(source, ctx, section)
        except BaseException:
            if opening is not None:
                opening.discard()
            raise
        targets = _versioned(got)
        metrics: dict[str, Any] = {"source": source, **got.meta}
        audit = (
            _offline(section, opening, targets, got, metrics)
            if opening is not None
            else _online(section, ctx, targets, got, metrics)
        )
        matches, service = audit.matches, audit.service
        metrics["db_as_of"] = metrics["database"]["as_of"]
        unaudited_keys = set(got.unaudited)
        audited = [t for t in targets if canonicalize_name(t.name) not in unaudited_keys]
        by_key = {(canonicalize_name(t.name), t.version): t for t in targets}
        threshold = Severity(str(section.get("fail_on_severity") or "low"))
        findings = [vulnerability_finding(m, by_key.get((canonicalize_name(m.package), m.version)), threshold) for m in matches]
        findings += _unaudited_findings(section, ctx, source, got)
        vulnerable = sorted({canonicalize_name(m.package) for m in matches})
        metrics.update(
            {
                "packages_audited": len(audited),
                "unaudited": sorted(name for name, _ in got.unaudited.values()),
                "unaudited_reasons": {name: reason for name, reason in sorted(got.unaudited.values())},
                "partly_audited": _partly(vulnerable, got),
                "vulnerabilities": len(matches),
                "vulnerable_packages": vulnerable,
                # the inventory, so that a new-code run can review what changed since REF
                "packages": [
                    {"name": t.name, "version": t.version} for t in sorted(got.targets, key=lambda t: canonicalize_name(t.name))
                ],
                "service": service,
                "by_severity": {s: sum(1 for m in matches if m.severity.value == s) for s in (*SEVERITIES, "info")},
                "duration_ms": round((time.monotonic() - t0) * 1000, 1),
            }
        )
        where = (f"scope {metrics['scope']}" if source == "environment" else source) + f"; {audit.dated}"
        summary = _summary(matches, vulnerable, len(audited), f"{service}, {where}", got)
        from gatekeeper.checkers.inventory.scope import members_not_counted

        summary += members_not_counted(metrics.get("members") or [])
        if "lock" in metrics:  # a selection smaller than the lock never reads as the whole lock
            from gatekeeper.checkers.lockfiles.scope import note

            summary += note(metrics["lock"], "dependencies", "audited")
        status = decide_status(findings)
        if not audited and status is not Status.FAIL and not section.get("allow_empty"):
            # an empty requirements file, a dynamic dependency list: an audit of nothing proves nothing
            status = Status.ERROR
            from gatekeeper.checkers.dependencies.sources.pyproject import PyprojectSource, unread

            besides = unread(ctx.root / source) if PyprojectSource.claims(source) else ""
            summary = (
                f"no package was audited ({where}){left_in_lock(metrics.get('lock'), 'dependencies')}{besides}; "
                "set checks.dependencies.allow_empty = true if that is expected"
            )
        return CheckResult(
            name=self.name,
            status=status,
            summary=summary,
            error=summary if status is Status.ERROR else None,
            tool_name=audit.tool_name,
            tool_version=audit.tool_version,
            duration_s=time.monotonic() - t0,
            metrics=metrics,
            findings=tuple(findings),
        )


def _unaudited_findings(section: Mapping[str, Any], ctx: CheckContext, source: str, got: Collected) -> list[Finding]:
    """A finding for each package the source could not have audited, pointing at the requirements
    file audited, or (for the environment, or a file outside the root) at the project's manifest."""
    from packaging.utils import canonicalize_name

    from gatekeeper.checkers.dependencies.findings import unaudited_finding
    from gatekeeper.checkers.inventory import project_manifest

    versions: dict[str, str] = {canonicalize_name(t.name): t.version for t in got.targets}
    manifest = source if source != "environment" and not Path(source).is_absolute() else project_manifest(ctx.root)
    findings = []
    for key, (name, reason) in sorted(got.unaudited.items()):
        blocking = bool(section.get("fail_on_unaudited", True))
        findings.append(unaudited_finding(name, versions.get(key, ""), reason, blocking, manifest))
    return findings


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Audit:
    """What one audit found, by which service and tool, and how current its advisories were."""

    matches: list[Match]
    service: str
    tool_name: str
    tool_version: str
    dated: str  # "database as of ..." or "queried ..."


def _versioned(got: Collected) -> list[Target]:
    """The targets with a PEP 440 version; each other one is skipped (unaudited) saying why."""
    from packaging.version import InvalidVersion, Version

    targets: list[Target] = []
    for t in got.targets:
        try:
            Version(t.version)
            targets.append(t)
        except InvalidVersion:
            got.skip(t.name, f"version {t.version!r} is not a PEP 440 version")
    return targets


def _offline(
    section: Mapping[str, Any], opening: offline.Opening, targets: Sequence[Target], got: Collected, metrics: dict[str, Any]
) -> _Audit:
    """The targets matched against the local OSV database (``advisory_db``), its age judged; the
    packages it cannot decide on are skipped (unaudited)."""
    from gatekeeper import __version__
    from gatekeeper.checkers.dependencies import offline

    db, setting, digest, open_s = opening.result()
    match_t0 = time.perf_counter()
    try:
        metrics["database"] = offline.judge_age(db, setting, int(section.get("max_db_age_days") or 7), digest)
        matches, unsure = db.match([(t.name, t.version) for t in targets])
    finally:
        db.close()
    for u in unsure:
        got.skip(u.package, u.reason)
    match_ms = round((open_s + time.perf_counter() - match_t0) * 1000, 1)  # opening the database included
    metrics["advisory_db"] = {**db.describe(), "match_ms": match_ms}
    dated = f"database as of {metrics['database']['as_of'][:10]}, {metrics['database']['age_days']:g} days old"
    if db.dated_ahead:
        dated += f"; {offline.ahead_note(db.dated_ahead)}"
    return _Audit(matches, "osv-db", "gatekeeper osv-db", __version__, dated)


def _online(
    section: Mapping[str, Any], ctx: CheckContext, targets: Sequence[Target], got: Collected, metrics: dict[str, Any]
) -> _Audit:
    """The targets audited by pip-audit against the online service (``service``)."""
    import datetime as dt

    from gatekeeper import process
    from gatekeeper.checkers.dependencies import online
    from gatekeeper.checkers.dependencies.advisories import iso_time

    service = str(section.get("service") or "pypi")
    tool_version = process.tool_version(ctx.tool_python, "pip-audit")
    queried_at = iso_time(dt.datetime.now(dt.timezone.utc))
    matches = online.audit(ctx, section, list(targets), got)
    metrics["database"] = {
        "kind": "online",
        "location": online.service_url(section),
        "as_of": queried_at,
        "queried_at": queried_at,
    }
    return _Audit(matches, service, "pip-audit", tool_version, f"queried {queried_at}")


def _partly(vulnerable: Sequence[str], got: Collected) -> list[str]:
    """The vulnerable packages (canonical names) that also could not be audited: affected by some
    advisories, left undecided by others (a GIT-only range). They are vulnerable AND unaudited, never
    among the audited packages."""
    return sorted(got.unaudited[key][0] for key in vulnerable if key in got.unaudited)


def _summary(matches: Sequence[Match], vulnerable: Sequence[str], audited: int, where: str, got: Collected) -> str:
    """One line: the vulnerabilities in how many of the audited packages, where, and what could not be audited.

    A package audited only in part (``_partly``) is counted apart from the ``audited`` ones, so that
    every number equals a metric (``vulnerable_packages``, ``packages_audited``, ``partly_audited``,
    ``unaudited``) and no count takes in a package another count leaves out."""
    partly = _partly(vulnerable, got)
    packages = _count(audited, "package")
    n = _count(len(matches), "vulnerability", "vulnerabilities")
    if not matches:
        summary = f"no known vulnerabilities in {packages} ({where})"
    elif not partly:
        summary = f"{n} in {len(vulnerable)} of {packages} ({where})"
    else:
        part = f"{len(partly)} audited only in part"
        fully = f"{len(vulnerable) - len(partly)} of the {audited} audited, " if audited else ""
        summary = f"{n} in {_count(len(vulnerable), 'package')}: {fully}{part} ({where})"
    if got.unaudited:
        in_part = set(partly)
        names = [f"{name} (in part)" if name in in_part else name for name in sorted(x for x, _ in got.unaudited.values())]
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        summary += f"; {len(names)} could not be audited: {shown}"
    if got.meta.get("left_out_by_markers"):  # a requirements file's lines whose markers are false here
        summary += f"; {len(got.meta['left_out_by_markers'])} left out by their markers"
    return summary


def _count(number: int, one: str, many: str = "") -> str:
    return f"{number} {one if number == 1 else many or one + 's'}"
