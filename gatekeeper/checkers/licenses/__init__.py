"""License compliance: every package's license, normalised to SPDX, against allow and deny lists.

pip-licenses reads the licenses (``--from=all``: License-Expression, the License field and the
trove classifiers, plus the license file's text) of the environment the policy's
``[environment]`` names; the scope comes from the shared inventory. ``spdx`` normalises and
evaluates. The ``raw`` string reported for a package is exactly what pip-licenses prints in its
default (``--from=mixed``) column. With ``lock``, the installed versions are compared with the
project's lock file (``drift``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.checkers.base import CheckContext, CheckerBase, Display, RuleInfo, Trend
from gatekeeper.checkers.licenses import presentation
from gatekeeper.checkers.lockfiles import LOCK_OPTIONS, format_of, left_in_lock, selection_of
from gatekeeper.findings import CheckResult, Finding, Package, Severity, Status, decide_status, fingerprint
from gatekeeper.options import Option

if TYPE_CHECKING:
    from gatekeeper.checkers.inventory import Inventory
    from gatekeeper.checkers.licenses.listing import Listed, ListingAhead
    from gatekeeper.checkers.lockfiles.model import Lock

# the run path (the inventory, pip-licenses, the SPDX table, packaging, lock drift) is imported where
# it is used, in the check's own thread: loading the checker needs none of it

DEFAULT_ALLOW = [
    "MIT", "MIT-0", "MIT-CMU", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "ISC", "Apache-2.0", "PSF-2.0", "Python-2.0",
    "MPL-2.0", "Unlicense", "CC0-1.0", "Zlib", "HPND",
]  # fmt: skip

VERDICTS = ("allowed", "denied", "unknown", "ignored")


class LicensesChecker(CheckerBase):
    """Reads licenses with pip-licenses and evaluates SPDX expressions against the policy."""

    name = "licenses"
    description = "license compliance (pip-licenses, SPDX expressions)"
    options: Mapping[str, Option] = {
        "allow": Option("str_list", DEFAULT_ALLOW, 'allowed SPDX ids (globs such as "BSD-*" allowed)'),
        "deny": Option("str_list", ["GPL-*", "AGPL-*", "SSPL-*"], "denied SPDX ids (globs allowed); deny wins over allow"),
        "unknown": Option("str", "fail", "what a license that cannot be resolved to SPDX does", choices=("fail", "warn")),
        "ignore_packages": Option("str_list", [], "packages to leave out of the license check"),
        "classifier_join": Option(
            "str",
            "or",
            "how several license classifiers on one package combine: a choice (or) or all apply (and)",
            choices=("or", "and"),
        ),
        "lock": Option(
            "str",
            "",
            "a lock file (uv.lock, pylock.toml, poetry.lock, pdm.lock): an installed version that differs from it, "
            "or a locked package not installed, is a finding",
            accepts=lambda v: "" if not v or format_of(Path(v).name) else f"{v!r} is not a lock file gatekeeper reads",
        ),
        **LOCK_OPTIONS,
    }

    tool = presentation.TOOL
    trends = (Trend("denied", ("packages_by_verdict", "denied"), zero_if=("packages",)),)
    inspects_environment = True
    # the SPDX table (``spdx``) is left out: a judgement served from the cache needs none of it
    run_imports = ("gatekeeper.checkers.licenses.listing", "gatekeeper.checkers.inventory", "gatekeeper.checkers.licenses.drift")

    def evidence(self, result: CheckResult) -> dict[str, bytes]:
        """``licenses.csv``: every package's license and verdict, as a table."""
        table = presentation.license_table(result)
        return {} if table is None else {"licenses.csv": table}

    def display(self, result: CheckResult) -> Display:
        """Every package's license and verdict."""
        return presentation.display(result)

    def rule_info(self, finding: Finding) -> RuleInfo:
        """A license rule links to its SPDX page."""
        return presentation.rule_info(finding)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """List the licenses with pip-licenses, normalise them and judge each package in scope."""
        from gatekeeper.checkers.licenses.listing import ListingAhead

        # with no listing of this environment in the cache, pip-licenses starts now, beside the probe
        ahead = None if _listed_before(ctx) else ListingAhead.start(ctx)
        with ahead or nullcontext():
            from packaging.utils import canonicalize_name

            from gatekeeper import process
            from gatekeeper.checkers.inventory import (
                declared_lines,
                declared_name,
                load_inventory,
                missing_note,
                project_manifest,
            )
            from gatekeeper.checkers.licenses.drift import DRIFT_RULE, MISSING_RULE, drift_findings, read_project_lock

            inventory = load_inventory(ctx)
            # read while pip-licenses may still run: once it has ended, its listing is judged at once
            version, basis = process.tool_version(ctx.tool_python, "pip-licenses"), _judgement_basis()
            listed, cached, rejected = _cached_licenses(ctx, inventory, version, ahead)
        rows = _cached_judgement(ctx, listed, inventory, section, basis)
        declared = declared_lines(ctx.root / "pyproject.toml")
        manifest = project_manifest(ctx.root)
        findings = [f for r in rows if (f := _finding(r, section, declared, manifest)) is not None]
        ignored = {canonicalize_name(str(p)) for p in section["ignore_packages"]}
        missing = [name for name in inventory.missing if canonicalize_name(name) not in ignored]
        findings += [_not_installed(name, section, declared, manifest) for name in missing]
        lock = read_project_lock(section, ctx)
        if lock is not None:
            findings += drift_findings(lock, inventory, str(section["lock"]))
        counts = {v: sum(1 for r in rows if r.verdict == v) for v in VERDICTS}
        metrics: dict[str, Any] = {
            "packages": [r.to_metric() for r in rows],
            "counts": counts,
            "scope": inventory.scope,
            "python": inventory.python,
            "left_out": list(inventory.left_out),
            "project": inventory.project.name if inventory.project else None,
            "members": [d.name for d in inventory.members],
            "missing": missing,  # required by the project, not installed: no license read (less ignore_packages)
            "cached": cached,
            "cache_rejected": rejected,
            "allow": list(section["allow"]),
            "deny": list(section["deny"]),
            "unknown": str(section["unknown"]),
        }
        drifted = [f.package.name for f in findings if f.rule_id in (DRIFT_RULE, MISSING_RULE) and f.package]
        from gatekeeper.checkers.inventory.scope import members_not_counted

        status, summary = decide_status(findings), _summary(counts, len(rows)) + members_not_counted(metrics["members"])
        summary += missing_note(missing, "license never read, so unknown")
        if lock is not None:
            from gatekeeper.checkers.lockfiles.scope import left_out, note

            locked: dict[str, Any] = {"path": str(section["lock"]), "format": lock.format, "locked": len(lock.packages)}
            metrics["lock"] = {**locked, "drift": drifted, **left_out(lock, selection_of(section), declared_name(ctx.root))}
            summary += f"; {len(drifted)} of {len(lock.packages)} locked packages drift from {section['lock']}"
            summary += note(metrics["lock"], "licenses", "compared")  # a selection smaller than the lock
        if lock is not None and not lock.packages and not section.get("allow_empty"):
            # a lock whose selection holds nothing compares nothing: no drift is then no evidence
            status = Status.ERROR
            summary = (
                f"the lock {section['lock']} selects no package to compare the environment with"
                f"{left_in_lock(_held(lock, section), 'licenses')}; set checks.licenses.allow_empty = true if that is expected"
            )
        if not any(r.verdict != "ignored" for r in rows) and not section.get("allow_empty"):
            # an empty scope judges nothing: that is not a clean bill
            status = Status.ERROR
            summary = (
                f"no package's license was read (scope {inventory.scope}, {len(rows)} ignored); "
                "set checks.licenses.allow_empty = true if that is expected"
            )
        return CheckResult(
            name=self.name,
            status=status,
            summary=summary,
            error=summary if status is Status.ERROR else None,
            tool_name="pip-licenses",
            tool_version=version,
            metrics=metrics,
            findings=tuple(findings),
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Judged:
    """One package's license, normalised, and the policy's verdict on it."""

    name: str
    version: str
    raw: str
    license: str
    license_ids: tuple[str, ...]
    source: str
    verdict: str
    reason: str

    def to_metric(self) -> dict[str, Any]:
        """The entry in the ``packages`` metric."""
        return {
            "name": self.name,
            "version": self.version,
            "license": self.license,
            "raw": self.raw,
            "verdict": self.verdict,
            "source": self.source,
            "reason": self.reason,
        }


def _cached_licenses(
    ctx: CheckContext, inventory: Inventory, version: str, ahead: ListingAhead | None = None
) -> tuple[list[Listed], bool, int]:
    """pip-licenses' listing, reused from the cache while the packages in scope are unchanged;
    then whether it came from the cache, and how many cache entries were rejected (0 or 1).
    ``version``: pip-licenses' (``process.tool_version``); ``ahead``: pip-licenses started with the
    check, whose output serves when nothing cached does."""
    from gatekeeper.checkers import cache
    from gatekeeper.checkers.licenses.listing import Listed, read_licenses

    python = inventory.python or ctx.target_python
    # located and vetted first, whether it runs or not: a reused listing names the same pip-licenses
    ctx.vet_tool("piplicenses", "pip-licenses")
    folder = ctx.cache_dir / "licenses" if ctx.cache_dir is not None else None
    # 2: pip-licenses asks the interpreter for its sys.path without that environment's start-up code
    key = cache.cache_key("licenses", 2, version, ctx.tool_python, python, inventory.digest())
    payload, rejected = cache.read(folder, key)
    if isinstance(payload, list):
        try:
            return [Listed(**entry) for entry in payload], True, 0
        except TypeError:
            pass  # an entry of another shape: recompute
    from gatekeeper.checkers.licenses import spdx  # imported only when something is to be judged

    spdx.warm_up()  # the SPDX license table loads while pip-licenses runs: judging the listing needs it
    listed = read_licenses(ctx, python, ahead)
    cache.write(folder, key, [dataclasses.asdict(entry) for entry in listed])
    cache.write(folder, _seen_key(ctx), True)
    return listed, False, int(rejected)


def _seen_key(ctx: CheckContext) -> str:
    from gatekeeper.checkers import cache

    return cache.cache_key("licenses-listed", 1, ctx.tool_python, str(ctx.policy.environment.get("python") or ""))


def _listed_before(ctx: CheckContext) -> bool:
    """Whether the cache holds a listing made with this tool interpreter for the policy's
    environment: then one probably serves, and pip-licenses waits for the probe (whose inventory
    keys the listing) instead of starting at once. Only when it runs is decided: never its result."""
    from gatekeeper.checkers import cache

    if ctx.cache_dir is None:
        return False
    payload, _rejected = cache.read(ctx.cache_dir / "licenses", _seen_key(ctx))
    return payload is True


def _judgement_basis() -> tuple[str, str, str]:
    """What decides a judgement besides its listing, inventory and policy: the license-expression
    release and the code that normalises and judges (part of ``_cached_judgement``'s key)."""
    from gatekeeper.checkers import cache

    here = Path(__file__).parent
    return expression_library_version(), cache.file_digest(here / "__init__.py"), cache.file_digest(here / "spdx.py")


def _cached_judgement(
    ctx: CheckContext, listed: Sequence[Listed], inventory: Inventory, section: Mapping[str, Any], basis: Sequence[str]
) -> list[Judged]:
    """``judge``'s rows, reused from the cache while its every input is unchanged: the listing, the
    inventory (its digest covers the packages in scope and their license files), the policy's
    lists, and ``basis`` (``_judgement_basis``: the license-expression release and the code that
    normalises and judges). Judging needs the SPDX license table, whose loading is most of the
    check's own CPU when nothing changed."""
    from gatekeeper.checkers import cache

    folder = ctx.cache_dir / "licenses" if ctx.cache_dir is not None else None
    key = cache.cache_key(
        "licenses-judged", 1, *basis,
        [dataclasses.asdict(entry) for entry in listed], inventory.digest(),
        {k: section.get(k) for k in ("allow", "deny", "ignore_packages", "classifier_join")},
    )  # fmt: skip
    payload, _rejected = cache.read(folder, key)
    if isinstance(payload, list):
        try:
            return [Judged(**{**row, "license_ids": tuple(row["license_ids"])}) for row in payload]
        except (TypeError, KeyError):
            pass  # an entry of another shape: judge again
    rows = judge(listed, inventory, section)
    cache.write(folder, key, [dataclasses.asdict(row) for row in rows])
    return rows


def expression_library_version() -> str:
    """The installed license-expression release (its SPDX table and parser decide every
    normalisation), read from its metadata: a judgement served from the cache imports neither it
    nor ``spdx``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("license-expression")
    except PackageNotFoundError:
        return "(unknown)"


def judge(listed: Sequence[Listed], inventory: Inventory, section: Mapping[str, Any]) -> list[Judged]:
    """Normalise and evaluate every package in the inventory's scope."""
    from packaging.utils import canonicalize_name

    from gatekeeper.checkers.licenses import spdx

    allow = [str(a) for a in section["allow"]]
    deny = [str(d) for d in section["deny"]]
    ignore = {canonicalize_name(str(p)) for p in section["ignore_packages"]}
    join = str(section.get("classifier_join") or "or")
    in_scope = {d.key for d in inventory.packages}
    # the inventory decides what is in scope (it leaves out the project itself and gatekeeper), so
    # the three environment checks count the same packages
    by_key = {k: e for e in listed if (k := canonicalize_name(e.name)) in in_scope}
    rows: list[Judged] = []
    for key, entry in sorted(by_key.items()):
        classifiers = entry.classifier.split("; ")
        norm = spdx.normalize(entry.expression, entry.metadata, classifiers, entry.text, join)
        dist = inventory.get(entry.name)
        if not norm.known and dist is not None and dist.license_files and spdx.bsd_variant(entry.text) is None:
            # pip-licenses shows only the first LICENSE*/COPYING* file; a BSD text may sit in another
            norm = spdx.normalize(entry.expression, entry.metadata, classifiers, _read_all(dist.license_files), join)
        if key in ignore:
            verdict, reason = "ignored", "listed in ignore_packages"
        elif not norm.known:
            verdict, reason = "unknown", norm.reason
        else:
            decision = spdx.evaluate(norm.expression, allow, deny)
            verdict, reason = ("allowed" if decision.allowed else "denied"), decision.reason
        rows.append(Judged(entry.name, entry.version, entry.raw, norm.expression, norm.ids, norm.source, verdict, reason))
    for dist in inventory.packages:
        if dist.key not in by_key:  # fail closed: a package nobody read a license for is unknown
            verdict = "ignored" if dist.key in ignore else "unknown"
            rows.append(Judged(dist.name, dist.version, "", "", (), "", verdict, "pip-licenses did not report this package"))
    return sorted(rows, key=lambda r: canonicalize_name(r.name))


def _read_all(paths: Sequence[str]) -> str:
    texts = []
    for path in paths:
        try:
            texts.append(Path(path).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return "\n\n".join(texts)


def _finding(row: Judged, section: Mapping[str, Any], declared: Mapping[str, int], manifest: str) -> Finding | None:
    from packaging.utils import canonicalize_name

    if row.verdict in ("allowed", "ignored"):
        return None
    denied = row.verdict == "denied"
    rule = "license.denied" if denied else "license.unknown"
    shown = row.license or repr(row.raw)
    props: dict[str, Any] = {
        "license": row.license,
        "raw": row.raw,
        "license_ids": list(row.license_ids),
        "reason": row.reason,
        "source": row.source,
    }
    line = declared.get(canonicalize_name(row.name))
    props["manifest"] = {"path": "pyproject.toml", "line": line} if line else {"path": manifest, "line": None}
    if denied:
        message = f"{row.name} {row.version}: license {shown} (raw: {row.raw!r}) is denied: {row.reason}"
    else:
        message = f"{row.name} {row.version}: license {row.raw!r} cannot be resolved to SPDX: {row.reason}"
    return Finding(
        rule_id=rule,
        severity=Severity.HIGH if denied else Severity.MEDIUM,
        blocking=denied or section["unknown"] == "fail",
        message=message,
        package=Package(row.name, row.version),
        fingerprint=fingerprint("licenses", rule, canonicalize_name(row.name), row.raw),
        rule_name="license denied by policy" if denied else "license not resolvable to SPDX",
        tags=("license",),
        properties=props,
    )


def _not_installed(name: str, section: Mapping[str, Any], declared: Mapping[str, int], manifest: str) -> Finding:
    """A distribution the project requires that the environment does not hold: its license was never
    read, so it is unknown (blocking as ``unknown`` says), never passed as allowed. It is not one of
    the packages counted: the counts are pip-licenses' listing of what is installed."""
    from packaging.utils import canonicalize_name

    from gatekeeper.checkers.inventory import NOT_INSTALLED

    key = canonicalize_name(name)
    line = declared.get(key)
    reason = f"{NOT_INSTALLED} in the environment: no license was read"
    return Finding(
        rule_id="license.unknown",
        severity=Severity.MEDIUM,
        blocking=section["unknown"] == "fail",
        message=f"{name}: license unknown, {reason}",
        package=Package(name, ""),
        fingerprint=fingerprint("licenses", "license.unknown", key, ""),
        rule_name="license not resolvable to SPDX",
        tags=("license",),
        properties={
            "license": "", "raw": "", "license_ids": [], "reason": reason, "source": "", "not_installed": True,
            "manifest": {"path": "pyproject.toml", "line": line} if line else {"path": manifest, "line": None},
        },
    )  # fmt: skip


def _summary(counts: Mapping[str, int], total: int) -> str:
    packages = f"{total} package{'' if total == 1 else 's'}"
    if counts["denied"] == 0 and counts["unknown"] == 0:
        return f"{packages}, all allowed" + (f" ({counts['ignored']} ignored)" if counts["ignored"] else "")
    parts = [f"{counts['denied']} denied", f"{counts['unknown']} unknown"]
    return f"{', '.join(parts)} of {packages}"


def _held(lock: Lock, section: Mapping[str, Any]) -> dict[str, Any]:
    """What a lock holds beside the selection (``lockfiles.left_in_lock`` names it when nothing was selected)."""
    return {**lock.held(), **selection_of(section).describe()}
