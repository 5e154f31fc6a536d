"""Online mode: pip-audit queries PyPI's or OSV's vulnerability service for the pinned targets."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from gatekeeper import process
from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.dependencies.advisories import Match
from gatekeeper.checkers.dependencies.sources import Collected, Target
from gatekeeper.errors import ToolError, ToolMissing
from gatekeeper.findings import Severity


def service_url(section: Mapping[str, Any]) -> str:
    """The URL of the service pip-audit queries (recorded as the database's location)."""
    if str(section.get("service") or "pypi") == "osv":
        return str(section.get("osv_url") or "https://api.osv.dev/v1/query")
    return "https://pypi.org/pypi"


_NETWORK_HINTS = (
    "ConnectionError",
    "Max retries exceeded",
    "NameResolutionError",
    "ProxyError",
    "network may be blocking",
    "SSLError",
    "ConnectTimeout",
)


#: what a tool interpreter without pip-audit gets told
_MISSING = (
    "pip-audit is not installed for {python} (pip install pip-audit), "
    "or set checks.dependencies.advisory_db to audit offline against a local OSV database"
)


def _run_pip_audit(ctx: CheckContext, section: Mapping[str, Any], targets: Sequence[Target], service: str) -> process.Completed:
    """pip-audit of the tool interpreter (never the checkout's) over ``targets``, pinned."""
    if ctx.vet_tool("pip_audit", "pip-audit") is None:  # never the checkout's pip-audit
        raise ToolMissing(_MISSING.format(python=ctx.tool_python))
    with tempfile.TemporaryDirectory(prefix="gatekeeper-deps-") as tmp:
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text("".join(f"{t.name}=={t.version}\n" for t in targets), encoding="utf-8")
        # -I and a cwd outside the tree: a pip_audit.py in the project must not run instead of pip-audit
        args = [ctx.tool_python, "-I", "-m", "pip_audit", "-r", str(reqs), "--no-deps", "--disable-pip"]
        args += ["-f", "json", "--progress-spinner", "off", "--desc", "on", "--aliases", "on", "-s", service]
        if section.get("osv_url"):
            args += ["--osv-url", str(section["osv_url"])]
        if ctx.cache_dir is not None:
            args += ["--cache-dir", str(ctx.cache_dir / "pip-audit")]
        return ctx.run(args, cwd=tmp)


def _read_report(ctx: CheckContext, done: process.Completed, where: str) -> list[Any]:
    """The ``dependencies`` of pip-audit's JSON report; ``ToolMissing`` or ``ToolError`` saying why there is none."""
    try:
        data = json.loads(done.stdout)
        deps = data["dependencies"]
        if not isinstance(deps, list):
            raise TypeError("'dependencies' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        if "No module named pip_audit" in done.stderr:
            raise ToolMissing(_MISSING.format(python=ctx.tool_python)) from None
        if any(h in done.stderr for h in _NETWORK_HINTS):
            raise ToolError(
                f"pip-audit could not reach the {where} vulnerability service (network down or blocked): "
                f"{_last_error(done.stderr)}; nothing was audited. To audit offline, set "
                "checks.dependencies.advisory_db to a local OSV database (e.g. a clone of github.com/pypa/advisory-database)"
            ) from None
        raise ToolError(
            f"pip-audit (exit {done.returncode}) printed no readable JSON report ({exc}): {process.tail(done.stderr)}"
        ) from None
    if done.returncode not in (0, 1):
        raise ToolError(f"pip-audit exited {done.returncode}: {process.tail(done.stderr)}")
    return deps


def audit(ctx: CheckContext, section: Mapping[str, Any], targets: Sequence[Target], got: Collected) -> list[Match]:
    """Run pip-audit on the targets, pinned, without resolving (``-r --no-deps --disable-pip``)."""
    if not targets:
        return []
    service = str(section.get("service") or "pypi")
    where = "PyPI" if service == "pypi" else "OSV"
    deps = _read_report(ctx, _run_pip_audit(ctx, section, targets, service), where)
    by_key = {canonicalize_name(t.name): t for t in targets}
    reported: set[str] = set()
    matches: list[Match] = []
    for dep in deps:
        key = canonicalize_name(str(dep.get("name", "")))
        target = by_key.get(key)
        if target is None:
            continue
        reported.add(key)
        if "skip_reason" in dep:
            got.skip(target.name, f"pip-audit skipped it: {dep['skip_reason']}")
            continue
        for vuln in dep.get("vulns") or []:
            rid = str(vuln["id"])
            description = str(vuln.get("description") or "")
            matches.append(
                Match(
                    id=rid,
                    package=target.name,
                    version=target.version,
                    aliases=tuple(sorted({str(a) for a in vuln.get("aliases") or [] if str(a) != rid})),
                    summary=description,
                    details=description,
                    fixed_versions=tuple(str(v) for v in vuln.get("fix_versions") or []),
                    severity=Severity.HIGH,
                    severity_source="unknown",
                    score=None,
                    url=f"https://osv.dev/vulnerability/{rid}",
                )
            )
    for key, target in by_key.items():
        if key not in reported:
            got.skip(target.name, "pip-audit's report does not mention it")
    _require_an_answer(deps, targets, where)
    return matches


def _require_an_answer(deps: Sequence[Mapping[str, Any]], targets: Sequence[Target], where: str) -> None:
    """Raise ToolError when the service knew none of the packages: pip-audit then reports a clean
    audit of nothing ("No known vulnerabilities found", every package skipped as not found), which
    is what a service that cannot be reached through a proxy or mirror answers, not a finding about
    the packages."""
    skipped = [str(d.get("skip_reason") or "") for d in deps if isinstance(d, Mapping) and "skip_reason" in d]
    if not targets or len(skipped) < len(targets) or not all("not found" in reason for reason in skipped):
        return
    raise ToolError(
        f"the {where} vulnerability service knew none of the {len(targets)} packages (pip-audit: "
        f"{skipped[0]!r}{' and the like for each' if len(skipped) > 1 else ''}): it cannot be reached from here, "
        "or answers through a proxy or mirror without its JSON API (or none of the packages is published there); "
        "nothing was audited. To audit offline, set checks.dependencies.advisory_db to a local OSV database "
        "(gatekeeper db update fills one)"
    )


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error" in line]
    text = (errors or lines or ["no output"])[-1]
    return text if len(text) <= 300 else text[:300] + "…"
