"""The result model: severities, findings, per-check results and the gate's verdict.

Every value here is immutable; a changed copy comes from ``dataclasses.replace``. The JSON
report is ``GateResult.to_dict()``, and ``GateResult.from_dict`` reads it back so that any
report can be re-rendered later from ``gatekeeper.json`` alone.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # importing typing_extensions costs every start-up about 2 ms where typing has it
    from typing_extensions import assert_never

SCHEMA_VERSION = "1.0"


class Severity(str, Enum):
    """How bad a finding is, from ``critical`` down to ``info``."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """A number that orders severities: critical is 4, info is 0."""
        if self is Severity.CRITICAL:
            return 4
        if self is Severity.HIGH:
            return 3
        if self is Severity.MEDIUM:
            return 2
        if self is Severity.LOW:
            return 1
        if self is Severity.INFO:
            return 0
        assert_never(self)

    def at_least(self, other: Severity) -> bool:
        """True when this severity is ``other`` or worse."""
        return self.rank >= other.rank


class Status(str, Enum):
    """Outcome of one check."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


class Verdict(str, Enum):
    """Outcome of the whole gate."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is: a posix path relative to the repository root, and lines."""

    path: str
    line: int | None = None
    end_line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"path": self.path, "line": self.line, "end_line": self.end_line, "column": self.column}


@dataclass(frozen=True, slots=True)
class Package:
    """A distribution a finding is about."""

    name: str
    version: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"name": self.name, "version": self.version}


@dataclass(frozen=True, slots=True)
class AppliedWaiver:
    """The waiver that silenced a finding, as recorded on the finding."""

    id: str
    reason: str
    approved_by: str
    expires: str
    kind: str = "waiver"  # "waiver" from the policy, "vex" from a VEX statement, "baseline", or "existing" (at REF)
    status: str = ""  # a VEX statement's status (not_affected, fixed)
    justification: str = ""  # and its justification (OpenVEX terms)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``status`` and ``justification`` only for a VEX statement)."""
        data = {
            "id": self.id,
            "kind": self.kind,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "expires": self.expires,
        }
        if self.kind == "vex":
            data.update(status=self.status, justification=self.justification)
        return data


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a checker found; ``blocking`` findings fail the gate unless waived.

    ``properties`` carries checker-specific detail (CWE, confidence, aliases, fix versions)
    that the reports show; it is JSON-serialisable and never mutated after creation.
    """

    rule_id: str
    severity: Severity
    message: str
    blocking: bool = False
    location: Location | None = None
    package: Package | None = None
    fingerprint: str = ""
    help_uri: str = ""
    rule_name: str = ""
    tags: tuple[str, ...] = ()
    waiver: AppliedWaiver | None = None
    properties: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def sort_key(self) -> tuple[Any, ...]:
        """Most severe first, then by place, then by rule."""
        loc = self.location
        return (
            -self.severity.rank,
            loc.path if loc else "",
            (loc.line or 0) if loc else 0,
            self.package.name if self.package else "",
            self.rule_id,
            self.message,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Read back a finding written by ``to_dict``; raises KeyError/ValueError on bad data."""
        return _finding_from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "blocking": self.blocking,
            "message": self.message,
            "location": self.location.to_dict() if self.location else None,
            "package": self.package.to_dict() if self.package else None,
            "fingerprint": self.fingerprint,
            "help_uri": self.help_uri,
            "rule_name": self.rule_name,
            "tags": list(self.tags),
            "waiver": self.waiver.to_dict() if self.waiver else None,
            "properties": dict(self.properties),
        }


def _to_the_millisecond(result: CheckResult | GateResult) -> None:
    """Keep ``duration_s`` as the JSON result writes it (to the millisecond), so that a report shows the
    same figure whether it is rendered at the end of the run or later from ``gatekeeper.json``
    (1.3496 s showed as 1.3 s then and as 1.4 s from the 1.35 written)."""
    object.__setattr__(result, "duration_s", round(float(result.duration_s), 3))


#: the kinds of ``Narrowing`` the built-in checkers report (a plugin may add its own words)
NARROWING_KINDS = {
    "config-file": "a configuration file from the project that the tool read (each file of a chain)",
    "rules": "rules turned off or a narrower selection of rules (select, ignore, per-file ignores, skips)",
    "exclude": "files in the check's scope that the project's configuration left out",
    "option": "another setting that weakens the check (ignore_errors, follow_imports, ...)",
    "file-comment": "a comment that silences a whole file, or some rules in it",
    "range-comment": "a comment that silences a range of lines",
    "line-comments": "per-line suppression comments in a file (# noqa, # type: ignore, # nosec, pragmas)",
    "not-scanned": "files in the check's scope the tool did not look at, for the reason given",
}


@dataclass(frozen=True, slots=True)
class Narrowing:
    """One way the project's own configuration or comments (or a tool's own limits) made a check
    look at less, or honour fewer of its rules, than the policy asks: never silent.

    ``kind`` is one of ``NARROWING_KINDS`` (a plugin may use its own word); ``source`` and ``line``
    say where it is written (a posix path relative to the root; "" when not in a file); ``detail``
    is the setting or comment as written; ``effect`` says in words what it did to this run;
    ``files`` are the files of the check's scope it left out or silenced (all of them);
    ``suppressed`` is how many findings the tool did not report because of it (None: not measured).
    """

    kind: str
    source: str
    line: int | None
    detail: str
    effect: str
    files: tuple[str, ...] = ()
    suppressed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "kind": self.kind,
            "source": self.source,
            "line": self.line,
            "detail": self.detail,
            "effect": self.effect,
            "files": list(self.files),
            "suppressed": self.suppressed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Narrowing:
        """Read back a record written by ``to_dict``; raises KeyError/ValueError/TypeError on bad data."""
        line, suppressed = data.get("line"), data.get("suppressed")
        return cls(
            kind=str(data["kind"]),
            source=str(data.get("source", "")),
            line=int(line) if line is not None else None,
            detail=str(data.get("detail", "")),
            effect=str(data.get("effect", "")),
            files=tuple(str(f) for f in data.get("files") or ()),
            suppressed=int(suppressed) if suppressed is not None else None,
        )

    def problem(self) -> str:
        """What is ill-typed in this record (empty when nothing): a plugin's dataclass is not checked when built."""
        for attr in ("kind", "source", "detail", "effect"):
            if not isinstance(getattr(self, attr), str):
                return f"{attr} is {type(getattr(self, attr)).__name__}, not str"
        if not self.kind:
            return "kind is empty"
        for attr in ("line", "suppressed"):
            value = getattr(self, attr)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                return f"{attr} must be a non-negative int or None"
        if not isinstance(self.files, tuple) or not all(isinstance(f, str) for f in self.files):
            return "files must be a tuple of str"
        return ""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one checker returns: a status, findings, metrics, artifacts, and every way the project
    narrowed the check (``narrowing``, one ``Narrowing`` record each: the checker contract's one
    place for it, which every report shows)."""

    name: str
    status: Status
    summary: str = ""
    tool_name: str = ""
    tool_version: str = ""
    duration_s: float = 0.0
    metrics: Mapping[str, Any] = field(default_factory=dict, compare=False)
    artifacts: Mapping[str, str] = field(default_factory=dict, compare=False)
    error: str | None = None
    findings: tuple[Finding, ...] = ()
    narrowing: tuple[Narrowing, ...] = ()
    #: where the tool came from: ``{path, python, source, installed}`` (``gatekeeper.toolorigin``)
    tool_origin: Mapping[str, Any] = field(default_factory=dict, compare=False)
    #: the third-party checker that decided it: ``{distribution, version, entry_point}`` (set by the engine
    #: from the plugin's metadata, whatever the checker says; empty for gatekeeper's own checkers)
    checker: Mapping[str, str] = field(default_factory=dict, compare=False)
    #: {fingerprint: the one the finding had before its line's credential-looking spans were masked
    #: (``source.line_hash``)}, for a baseline or REF result of then to cover it; in memory, never written
    prior_prints: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        _to_the_millisecond(self)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The findings that fail the gate (not waived)."""
        return tuple(f for f in self.findings if f.blocking)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """Read back a check written by ``to_dict``; raises KeyError/ValueError on bad data."""
        return _check_from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "tool": {"name": self.tool_name, "version": self.tool_version, **dict(self.tool_origin)},
            "duration_s": round(self.duration_s, 3),
            "metrics": dict(self.metrics),
            "artifacts": dict(self.artifacts),
            "error": self.error,
            "findings": [f.to_dict() for f in sorted(self.findings, key=Finding.sort_key)],
            "narrowing": [n.to_dict() for n in self.narrowing],
            **({"checker": dict(self.checker)} if self.checker else {}),
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    """The verdict of one run with everything the reports render."""

    verdict: Verdict
    checks: tuple[CheckResult, ...]
    tool_version: str
    started_at: str
    finished_at: str
    duration_s: float
    repository: Mapping[str, Any] = field(default_factory=dict, compare=False)
    policy: Mapping[str, Any] = field(default_factory=dict, compare=False)
    waivers: Mapping[str, Any] = field(default_factory=dict, compare=False)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _to_the_millisecond(self)

    def check(self, name: str) -> CheckResult | None:
        """The result of the check called ``name``, if it ran."""
        return next((c for c in self.checks if c.name == name), None)

    @property
    def exit_code(self) -> int:
        """The process exit code docs/design.md assigns to this verdict."""
        if self.verdict is Verdict.PASS:
            return 0
        if self.verdict is Verdict.FAIL:
            return 1
        if self.verdict is Verdict.ERROR:
            return 3
        assert_never(self.verdict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (``gatekeeper.json``)."""
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "gatekeeper", "version": self.tool_version},
            "verdict": self.verdict.value,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_s, 3),
            "repository": dict(self.repository),
            "policy": dict(self.policy),
            "checks": [c.to_dict() for c in sorted(self.checks, key=lambda c: c.name)],
            "waivers": {
                "applied": list(self.waivers.get("applied", [])),
                "expired": list(self.waivers.get("expired", [])),
                "unused": list(self.waivers.get("unused", [])),
            },
        }
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateResult:
        """Read back a JSON report written by ``to_dict``; raises KeyError/ValueError on bad data."""
        known = {
            "schema_version", "tool", "verdict", "started_at", "finished_at", "duration_s",
            "repository", "policy", "checks", "waivers",
        }  # fmt: skip
        return cls(
            verdict=Verdict(data["verdict"]),
            checks=tuple(_check_from_dict(c) for c in data["checks"]),
            tool_version=str(data["tool"]["version"]),
            started_at=str(data["started_at"]),
            finished_at=str(data["finished_at"]),
            duration_s=float(data["duration_s"]),
            repository=dict(data.get("repository") or {}),
            policy=dict(data.get("policy") or {}),
            waivers=dict(data.get("waivers") or {}),
            extra={k: v for k, v in data.items() if k not in known},
        )


def _check_from_dict(data: Mapping[str, Any]) -> CheckResult:
    tool = data.get("tool") or {}
    return CheckResult(
        name=str(data["name"]),
        status=Status(data["status"]),
        summary=str(data.get("summary", "")),
        tool_name=str(tool.get("name", "")),
        tool_version=str(tool.get("version", "")),
        tool_origin={k: v for k, v in tool.items() if k not in ("name", "version")},
        duration_s=float(data.get("duration_s", 0.0)),
        metrics=dict(data.get("metrics") or {}),
        artifacts=dict(data.get("artifacts") or {}),
        error=data.get("error"),
        findings=tuple(f if isinstance(f, Finding) else _finding_from_dict(f) for f in data.get("findings", [])),
        narrowing=tuple(n if isinstance(n, Narrowing) else Narrowing.from_dict(n) for n in data.get("narrowing") or ()),
        checker={str(k): str(v) for k, v in (data.get("checker") or {}).items()},
    )


def _finding_from_dict(data: Mapping[str, Any]) -> Finding:
    loc = data.get("location")
    pkg = data.get("package")
    waiver = data.get("waiver")
    return Finding(
        rule_id=str(data["rule_id"]),
        severity=Severity(data["severity"]),
        message=str(data["message"]),
        blocking=bool(data.get("blocking", False)),
        location=Location(
            path=str(loc["path"]),
            line=loc.get("line"),
            end_line=loc.get("end_line"),
            column=loc.get("column"),
        )
        if loc
        else None,
        package=Package(str(pkg["name"]), str(pkg["version"])) if pkg else None,
        fingerprint=str(data.get("fingerprint", "")),
        help_uri=str(data.get("help_uri", "")),
        rule_name=str(data.get("rule_name", "")),
        tags=tuple(data.get("tags", ())),
        waiver=AppliedWaiver(
            id=str(waiver.get("id", "")),
            kind=str(waiver.get("kind", "waiver")),
            reason=str(waiver.get("reason", "")),
            approved_by=str(waiver.get("approved_by", "")),
            expires=str(waiver.get("expires", "")),
            status=str(waiver.get("status", "")),
            justification=str(waiver.get("justification", "")),
        )
        if waiver
        else None,
        properties=dict(data.get("properties") or {}),
    )


#: The tag of a finding about the check as a whole or an input it could not check (a threshold, an
#: aggregate, a package or file that could not be examined): a baseline never silences it, since
#: its fingerprint does not change when things get worse.
NO_BASELINE = "no-baseline"


def fingerprint(*parts: object) -> str:
    """A stable identity for a finding from the parts that define it (never line numbers).

    Checkers pass e.g. check name, rule id, path and a hash of the offending code, so that the
    fingerprint survives edits elsewhere in the file.
    """
    h = hashlib.sha256()
    for part in parts:
        h.update(str(part).encode("utf-8", "surrogateescape"))
        h.update(b"\x1f")
    return h.hexdigest()[:32]


def normalize_snippet(text: str) -> str:
    """Code text with whitespace folded, so re-indentation does not change a fingerprint."""
    return " ".join(text.split())


def decide_status(findings: Iterable[Finding]) -> Status:
    """``fail`` when any finding blocks, else ``pass``."""
    return Status.FAIL if any(f.blocking for f in findings) else Status.PASS


def with_findings(result: CheckResult, findings: Iterable[Finding]) -> CheckResult:
    """A copy of ``result`` with new findings and the status they imply (errors stay errors, and a
    FAIL the checker decided without a blocking finding stays FAIL whatever the new findings)."""
    new = tuple(findings)
    if result.status in (Status.ERROR, Status.SKIPPED):
        return replace(result, findings=new)
    if result.status is Status.FAIL and not any(f.blocking for f in result.findings):
        return replace(result, findings=new)  # a failure no blocking finding explains is the checker's own: it stays
    return replace(result, findings=new, status=decide_status(new))
