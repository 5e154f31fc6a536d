"""Known vulnerabilities in dependencies: pip-audit online, or a local OSV database offline.

What is audited comes from the ``source``: the installed environment (the policy's
``[environment]``, with its scope), a pinned requirements file, or pyproject.toml. Every
package that could not be audited (not pinned, unknown to the service, an unreadable version,
the service unreachable) is listed as ``unaudited`` and, by default, fails the gate: an audit
that looked at nothing is never a pass.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gatekeeper import __version__, process
from gatekeeper.checkers.base import CheckContext, CheckerBase, Display, RuleInfo
from gatekeeper.checkers.dependencies import database as advisory_db
from gatekeeper.checkers.dependencies import presentation
from gatekeeper.checkers.dependencies.advisories import AdvisoryDatabase, Match, headline, iso_time, open_database
from gatekeeper.checkers.inventory import declared_lines, load_inventory, project_manifest, project_requirements
from gatekeeper.errors import ToolError, ToolMissing
from gatekeeper.fileio import relative_to_root, under
from gatekeeper.findings import (
    NO_BASELINE,
    CheckResult,
    Finding,
    Location,
    Package,
    Severity,
    Status,
    decide_status,
    fingerprint,
)
from gatekeeper.options import Option
from gatekeeper.redaction import strip_userinfo

SEVERITIES = ("critical", "high", "medium", "low")
UNAUDITED_RULE = "dependencies.unaudited"


@dataclass(frozen=True, slots=True)
class Target:
    """A package version to audit, and where it is declared (``path`` relative to the root, posix)."""

    name: str
    version: str
    path: str = ""
    line: int | None = None
    manifest: bool = False  # True: path/line point at the project's manifest, not at the source itself


@dataclass
class Collected:
    """What a source yields: packages to audit, packages that cannot be (name -> reason), and context."""

    targets: list[Target] = field(default_factory=list)
    unaudited: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (display name, reason)
    meta: dict[str, Any] = field(default_factory=dict)

    def skip(self, name: str, reason: str) -> None:
        """Record that ``name`` could not be audited (the first reason wins)."""
        self.unaudited.setdefault(canonicalize_name(name) or name, (name, reason))


class DependenciesChecker(CheckerBase):
    """Audits the environment, a requirements file or pyproject.toml for known vulnerabilities."""

    name = "dependencies"
    description = "dependency vulnerabilities (pip-audit, or a local OSV database offline)"
    options: Mapping[str, Option] = {
        "source": Option("str", "environment", '"environment", a requirements file, or "pyproject.toml"'),
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

    def display(self, result: CheckResult) -> Display:
        """Packages audited, known vulnerabilities and the advisory source."""
        return presentation.display(result)

    def rule_info(self, finding: Finding) -> RuleInfo:
        """An advisory names its package and links to its osv.dev page."""
        return presentation.rule_info(finding)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Collect the packages of the source, audit them, and turn what was found into findings."""
        t0 = time.monotonic()
        source = str(section.get("source") or "environment")
        got = collect(source, ctx)
        targets: list[Target] = []
        for t in got.targets:
            try:
                Version(t.version)
                targets.append(t)
            except InvalidVersion:
                got.skip(t.name, f"version {t.version!r} is not a PEP 440 version")
        db_setting = str(section.get("advisory_db") or "")
        metrics: dict[str, Any] = {"source": source, **got.meta}
        if db_setting:
            service, tool_name, tool_version = "osv-db", "gatekeeper osv-db", __version__
            db_path, setting = _database_path(db_setting, ctx)
            match_t0 = time.perf_counter()
            db = open_database(db_path, ctx.cache_dir)
            try:
                metrics["database"] = _judge_age(db, setting, int(section.get("max_db_age_days") or 7))
                matches, unsure = db.match([(t.name, t.version) for t in targets])
            finally:
                db.close()
            for u in unsure:
                got.skip(u.package, u.reason)
            metrics["advisory_db"] = {**db.describe(), "match_ms": round((time.perf_counter() - match_t0) * 1000, 1)}
            dated = f"database as of {metrics['database']['as_of'][:10]}, {metrics['database']['age_days']:g} days old"
        else:
            service = str(section.get("service") or "pypi")
            tool_name, tool_version = "pip-audit", process.tool_version(ctx.tool_python, "pip-audit")
            queried_at = iso_time(dt.datetime.now(dt.timezone.utc))
            matches = _pip_audit(ctx, section, targets, got)
            metrics["database"] = {
                "kind": "online",
                "location": _service_url(section),
                "as_of": queried_at,
                "queried_at": queried_at,
            }
            dated = f"queried {queried_at}"
        metrics["db_as_of"] = metrics["database"]["as_of"]
        unaudited_keys = set(got.unaudited)
        audited = [t for t in targets if canonicalize_name(t.name) not in unaudited_keys]
        by_key = {(canonicalize_name(t.name), t.version): t for t in targets}
        threshold = Severity(str(section.get("fail_on_severity") or "low"))
        findings = [_finding(m, by_key.get((canonicalize_name(m.package), m.version)), threshold) for m in matches]
        versions: dict[str, str] = {canonicalize_name(t.name): t.version for t in got.targets}
        manifest = source if source != "environment" and not Path(source).is_absolute() else project_manifest(ctx.root)
        for key, (name, reason) in sorted(got.unaudited.items()):
            blocking = bool(section.get("fail_on_unaudited", True))
            findings.append(_unaudited_finding(name, versions.get(key, ""), reason, blocking, manifest))
        vulnerable = sorted({canonicalize_name(m.package) for m in matches})
        metrics.update(
            {
                "packages_audited": len(audited),
                "unaudited": sorted(name for name, _ in got.unaudited.values()),
                "unaudited_reasons": {name: reason for name, reason in sorted(got.unaudited.values())},
                "vulnerabilities": len(matches),
                "vulnerable_packages": vulnerable,
                "service": service,
                "by_severity": {s: sum(1 for m in matches if m.severity.value == s) for s in (*SEVERITIES, "info")},
                "duration_ms": round((time.monotonic() - t0) * 1000, 1),
            }
        )
        where = f"scope {metrics['scope']}" if source == "environment" else source
        where += f"; {dated}"
        if matches:
            summary = (
                f"{len(matches)} {'vulnerability' if len(matches) == 1 else 'vulnerabilities'} in "
                f"{len(vulnerable)} of {len(audited)} packages ({service}, {where})"
            )
        else:
            summary = f"no known vulnerabilities in {len(audited)} packages ({service}, {where})"
        if got.unaudited:
            names = sorted(name for name, _ in got.unaudited.values())
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            summary += f"; {len(names)} could not be audited: {shown}"
        status = decide_status(findings)
        if not audited and status is not Status.FAIL and not section.get("allow_empty"):
            # an empty requirements file, a dynamic dependency list: an audit of nothing proves nothing
            status = Status.ERROR
            summary = f"no package was audited ({where}); set checks.dependencies.allow_empty = true if that is expected"
        return CheckResult(
            name=self.name,
            status=status,
            summary=summary,
            error=summary if status is Status.ERROR else None,
            tool_name=tool_name,
            tool_version=tool_version,
            duration_s=time.monotonic() - t0,
            metrics=metrics,
            findings=tuple(findings),
        )


# --------------------------------------------------------------------------- the database and its age


def _database_path(setting: str, ctx: CheckContext) -> tuple[Path, str]:
    """(the database to open, how to refresh it) for the ``advisory_db`` setting: "auto" is the
    folder ``gatekeeper db update`` fills; a relative path is relative to the project root."""
    if setting == "auto":
        folder = advisory_db.default_dir()
        if not advisory_db.resolve(folder).is_file():
            raise ToolError(
                f'advisory_db = "auto" reads {folder}, which holds no database yet: create it with '
                "`gatekeeper db update` on a machine that can reach the OSV export (or a mirror: --url), "
                "or set checks.dependencies.advisory_db to a folder or zip"
            )
        return advisory_db.resolve(folder), "run `gatekeeper db update`"
    path = under(ctx.root, setting)
    resolved = advisory_db.resolve(path)
    if resolved != path:
        return resolved, f"run `gatekeeper db update --dir {path}`"
    return path, "replace it with a fresh copy (`gatekeeper db update --dir DIR` fetches one)"


def _judge_age(db: AdvisoryDatabase, refresh: str, max_days: int) -> dict[str, Any]:
    """The ``database`` metric (location, as-of time, age, limit); ToolError when the newest
    record is older than ``max_days`` or no record carries a readable ``modified`` time."""
    if db.as_of is None:
        raise ToolError(
            f"advisory database {db.path}: none of its {len(db.files)} files is an OSV record with a readable "
            "'modified' time, so how current it is cannot be known; nothing was audited"
        )
    age = advisory_db.age_days(db.as_of)
    as_of = iso_time(db.as_of)
    if age > max_days:
        raise ToolError(
            f"the advisory database is {age:g} days old (newest record modified {as_of}; the limit is "
            f"checks.dependencies.max_db_age_days = {max_days}): advisories published since then would be missed. "
            f"Database: {db.path}. To update it, {refresh}"
        )
    info: dict[str, Any] = {"kind": "osv-db", "location": str(db.path), "as_of": as_of, "age_days": age, "max_age_days": max_days}
    info["digest"] = advisory_db.content_digest(db.path)  # which data the verdict rests on (attestations, bundles)
    meta = advisory_db.read_meta(db.path.parent) if db.path.name == advisory_db.DB_FILE else {}
    if meta.get("url"):
        info["source_url"] = str(meta["url"])
    if meta.get("fetched_at"):
        info["fetched_at"] = str(meta["fetched_at"])
    return info


def _service_url(section: Mapping[str, Any]) -> str:
    if str(section.get("service") or "pypi") == "osv":
        return str(section.get("osv_url") or "https://api.osv.dev/v1/query")
    return "https://pypi.org/pypi"


# --------------------------------------------------------------------------- sources


def collect(source: str, ctx: CheckContext) -> Collected:
    """The packages the ``source`` setting names: the environment, pyproject.toml, or a requirements file."""
    if source == "environment":
        return _from_environment(ctx)
    if Path(source).name == "pyproject.toml":
        return _from_pyproject(ctx.root / source, ctx)
    return _from_requirements(_in_project(ctx.root / source, ctx.root, "checks.dependencies.source"), ctx)


def _in_project(path: Path, root: Path, where: str) -> Path:
    """``path`` resolved, refused (``ToolError`` naming ``where``) when it, or a link on the way,
    leads outside the project: a requirements file from the checkout must not make gatekeeper
    read ``/proc/self/environ`` or a file in the home folder and quote it in the reports."""
    resolved = path.resolve()
    real_root = root.resolve()
    if resolved != real_root and real_root not in resolved.parents:
        raise ToolError(f"{where}: {path.name} leads outside the project; requirements files must be inside it")
    return resolved


def _from_environment(ctx: CheckContext) -> Collected:
    inv = load_inventory(ctx)
    got = Collected(
        meta={"scope": inv.scope, "python": inv.python, "left_out": list(inv.left_out), "packages": len(inv.packages)}
    )
    declared = declared_lines(ctx.root / "pyproject.toml")
    manifest = project_manifest(ctx.root)
    got.meta["manifest"] = manifest
    if inv.project is not None:
        got.meta["project"] = inv.project.name  # the project itself is not one of its dependencies
    for d in inv.packages:
        line = declared.get(d.key)
        got.targets.append(Target(d.name, d.version, "pyproject.toml" if line else manifest, line, manifest=True))
        if d.origin in ("local", "vcs"):
            # an advisory database (or PyPI) describes releases on the index; a build from a folder or
            # a VCS checkout may differ from the release of that name and version, so silence about it
            # proves nothing
            where = "a local folder" if d.origin == "local" else "a VCS checkout"
            got.skip(d.name, f"installed from {where}, not a release from the package index: its advisories cannot be known")
    for name in inv.missing:
        got.skip(name, "declared in pyproject.toml but not installed in the environment")
    return got


def _from_pyproject(path: Path, ctx: CheckContext) -> Collected:
    _, deps = project_requirements(path.parent)
    rel = _rel(path, ctx.root)
    got = Collected(meta={"scope": "pyproject", "packages": len(deps)})
    lines = declared_lines(path)
    markers = _Markers(ctx)
    for text in deps:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            got.skip(f"{rel}: dependency #{deps.index(text) + 1}", "cannot be parsed as a requirement")
            continue
        line = lines.get(canonicalize_name(req.name))
        if req.marker is not None and not markers.applies(req.marker):
            continue
        pinned = _pinned(req)
        if pinned:
            got.targets.append(Target(req.name, pinned, rel, line))
            continue
        dist = markers.inventory_get(req.name)
        if dist is None:
            got.skip(req.name, f"{rel}: {text!r} is not pinned and is not installed in the environment")
        elif req.url:
            got.skip(req.name, f"{rel}: {strip_userinfo(text)!r} is a URL requirement")
        elif not req.specifier.contains(dist.version, prereleases=True):
            got.skip(req.name, f"{rel}: installed {dist.version} does not satisfy {text!r}")
        else:
            got.targets.append(Target(dist.name, dist.version, rel, line))
    return got


def _from_requirements(path: Path, ctx: CheckContext) -> Collected:
    if not path.is_file():
        raise ToolError(f"requirements file {path} does not exist (checks.dependencies.source)")
    reader = _RequirementsReader(ctx, Collected(meta={"scope": "requirements", "requirements": _rel(path, ctx.root)}))
    reader.read(path)
    got = reader.got
    got.meta["packages"] = len(got.targets) + len(got.unaudited)
    return got


class _RequirementsReader:
    """Reads a requirements file, and the files it includes, into the pinned targets to audit and the skipped lines."""

    def __init__(self, ctx: CheckContext, got: Collected) -> None:
        self.ctx = ctx
        self.got = got
        self._markers = _Markers(ctx)
        self._files: set[Path] = set()
        self._seen: set[str] = set()

    def read(self, file: Path) -> None:
        """Read ``file`` (once, however often it is included)."""
        resolved = file.resolve()
        if resolved in self._files:
            return
        self._files.add(resolved)
        rel = _rel(file, self.ctx.root)
        for lineno, text in _logical_lines(file):
            option = re.match(r"^(-r|--requirement|-c|--constraint|-e|--editable)(?:\s*=\s*|\s+)(\S.*)$", text)
            if option:
                self._option(file, f"{rel}:{lineno}", option.group(1), option.group(2).strip())
            elif not text.startswith("-"):  # index, find-links and other global options are skipped
                self._requirement(rel, lineno, text)

    def _option(self, file: Path, where: str, flag: str, arg: str) -> None:
        if flag in ("-r", "--requirement", "-c", "--constraint"):
            # an include names a file: inside the project only (never /proc/self/environ,
            # ~/.netrc), and its name is not quoted (it is text from the checkout)
            child = _in_project(file.parent / arg, self.ctx.root, f"{where}: {flag}")
            if not child.is_file():
                raise ToolError(f"{where}: the file that {flag} names does not exist")
            if flag in ("-r", "--requirement"):
                self.read(child)
        elif flag in ("-e", "--editable"):
            egg = re.search(r"#egg=([A-Za-z0-9._-]+)", arg)
            name = egg.group(1) if egg else where
            self.got.skip(name, f"{where}: editable requirement has no pinned version")
        # constraints files pin without installing: nothing to audit

    def _requirement(self, rel: str, lineno: int, text: str) -> None:
        spec = re.split(r"\s+--?[A-Za-z]", text, maxsplit=1)[0].strip()  # drop --hash and other per-line options
        try:
            req = Requirement(spec)
        except InvalidRequirement:
            # not echoed: an unparseable line may be anything (a credential, the environment)
            self.got.skip(f"{rel}:{lineno}", "this line cannot be parsed as a requirement")
            return
        if req.marker is not None and not self._markers.applies(req.marker):
            return
        pinned = _pinned(req)
        if req.url:
            self.got.skip(req.name, f"{rel}:{lineno}: URL requirement {strip_userinfo(spec)!r} has no version to audit")
        elif not pinned:
            self.got.skip(req.name, f"{rel}:{lineno}: {spec!r} is not pinned with == (pin it, e.g. with pip-compile)")
        elif (key := f"{canonicalize_name(req.name)}=={pinned}") not in self._seen:
            self._seen.add(key)
            self.got.targets.append(Target(req.name, pinned, rel, lineno))


def _logical_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(first line number, text) per logical line: continuations joined, comments and blanks dropped."""
    try:
        raw = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolError(f"cannot read requirements file {path}: {exc}") from exc
    buf, start = "", 0
    for number, line in enumerate(raw, 1):
        if not buf:
            start = number
        line = re.sub(r"(^|\s)#.*$", "", line)
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        text = (buf + line).strip()
        buf = ""
        if text:
            yield start, text
    if buf.strip():
        yield start, buf.strip()


def _pinned(req: Requirement) -> str:
    """The exact version ``req`` pins (``==X`` or ``===X``, no wildcard), else ""."""
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return ""


class _Markers:
    """Environment markers of the inspected interpreter, read (through the shared inventory) only when needed."""

    def __init__(self, ctx: CheckContext) -> None:
        self._ctx = ctx
        self._env: dict[str, str] | None = None

    def _inventory(self) -> Any:
        return load_inventory(self._ctx)

    def env(self) -> dict[str, str]:
        if self._env is None:
            try:
                self._env = dict(self._inventory().markers or {})
            except ToolError:
                self._env = {}
            if not self._env:
                self._env = {k: str(v) for k, v in default_environment().items()}
        return self._env

    def applies(self, marker: Any) -> bool:
        try:
            return bool(marker.evaluate({**self.env(), "extra": ""}))
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            return True  # when in doubt, audit it

    def inventory_get(self, name: str) -> Any:
        try:
            return self._inventory().get(name)
        except ToolError:
            return None


def _rel(path: Path, root: Path) -> str:
    return relative_to_root(path, root) or path.as_posix()


# --------------------------------------------------------------------------- online: pip-audit


_NETWORK_HINTS = (
    "ConnectionError",
    "Max retries exceeded",
    "NameResolutionError",
    "ProxyError",
    "network may be blocking",
    "SSLError",
    "ConnectTimeout",
)


def _pip_audit(ctx: CheckContext, section: Mapping[str, Any], targets: Sequence[Target], got: Collected) -> list[Match]:
    """Run pip-audit on the targets, pinned, without resolving (``-r --no-deps --disable-pip``)."""
    if not targets:
        return []
    service = str(section.get("service") or "pypi")
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
        done = ctx.run(args, cwd=tmp)
    where = "PyPI" if service == "pypi" else "OSV"
    try:
        data = json.loads(done.stdout)
        deps = data["dependencies"]
        if not isinstance(deps, list):
            raise TypeError("'dependencies' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        if "No module named pip_audit" in done.stderr:
            raise ToolMissing(
                f"pip-audit is not installed for {ctx.tool_python} (pip install pip-audit), "
                "or set checks.dependencies.advisory_db to audit offline against a local OSV database"
            ) from None
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


# --------------------------------------------------------------------------- findings


def _finding(m: Match, target: Target | None, threshold: Severity) -> Finding:
    location = None
    props: dict[str, Any] = {
        "aliases": list(m.aliases),
        "fixed_versions": list(m.fixed_versions),
        "summary": m.summary,
        "description": m.details or m.summary,
        "severity_source": m.severity_source,
    }
    if m.score is not None:
        props["cvss_score"] = m.score
    if m.published:
        props["published"] = m.published
    if m.source_file:
        props["record"] = m.source_file
    if target is not None and target.path:
        if target.manifest:
            props["manifest"] = {"path": target.path, "line": target.line}
        else:
            location = Location(target.path, target.line)
    fix = _first_fix(m.fixed_versions, m.version)
    also = f" ({', '.join(m.aliases)})" if m.aliases else ""
    summary = headline(m.summary or m.details)
    message = f"{m.package} {m.version} is affected by {m.id}{also}"
    message += f": {summary}" if summary else ""
    message += f"; fixed in {fix}" if fix else "; no fixed version known"
    return Finding(
        rule_id=m.id,
        severity=m.severity,
        message=message,
        blocking=m.severity.at_least(threshold),
        location=location,
        package=Package(m.package, m.version),
        fingerprint=fingerprint("dependencies", m.id, canonicalize_name(m.package), m.version),
        help_uri=m.url,
        rule_name=headline(summary, 120) if summary else m.id,
        tags=("security", "dependency"),
        properties=props,
    )


def _first_fix(fixes: Sequence[str], version: str) -> str:
    try:
        current = Version(version)
    except InvalidVersion:
        return ""
    later = []
    for f in fixes:
        try:
            if Version(f) > current:
                later.append(Version(f))
        except InvalidVersion:
            continue
    return str(min(later)) if later else ""


def _unaudited_finding(name: str, version: str, reason: str, blocking: bool, manifest: str) -> Finding:
    """One finding per package that could not be audited, naming it, so that a waiver can name one."""
    return Finding(
        rule_id=UNAUDITED_RULE,
        severity=Severity.HIGH,
        message=f"{name} could not be audited for known vulnerabilities: {reason}",
        blocking=blocking,
        package=Package(name, version),
        fingerprint=fingerprint("dependencies", UNAUDITED_RULE, canonicalize_name(name) or name),
        rule_name="package that could not be audited",
        tags=("security", "dependency", NO_BASELINE),
        properties={
            "packages": [{"name": name, "reason": reason}],
            "reason": reason,
            "manifest": {"path": manifest, "line": None},
        },
    )
