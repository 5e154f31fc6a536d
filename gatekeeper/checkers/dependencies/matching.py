"""Matching OSV records against installed versions: the OSV schema's evaluation algorithm
(https://ossf.github.io/osv-schema/#evaluation) with PEP 440 ordering for ``ECOSYSTEM`` and ``SEMVER`` ranges, the
fixed versions, the severity (CVSS or the database's own label), and one ``Match`` per advisory."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gatekeeper.checkers.dependencies.cvss import cvss_version, score_entry, severity_of
from gatekeeper.display import shorten
from gatekeeper.findings import Severity


def headline(text: str, limit: int = 160) -> str:
    """An advisory's text as one line: whitespace folded, then, when too long, cut at a sentence or
    a word with an ellipsis (``display.shorten``)."""
    return shorten(" ".join(text.split()), limit)


@dataclass(frozen=True, slots=True)
class Match:
    """One advisory affecting one package version, with what a finding needs to say about it."""

    id: str
    package: str  # the name as the caller gave it
    version: str
    aliases: tuple[str, ...]
    summary: str
    details: str
    fixed_versions: tuple[str, ...]
    severity: Severity
    severity_source: str  # "CVSS_V3 <vector>", "label <text>" or "unknown"
    score: float | None
    url: str
    published: str = ""
    modified: str = ""
    source_file: str = ""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Indeterminate:
    """A package whose status an advisory leaves open (e.g. a range bound that is not a PEP 440 version)."""

    package: str
    reason: str


def as_list(value: Any) -> list[Any]:
    """An OSV field that should be a list, as one (anything else: empty)."""
    return list(value) if isinstance(value, list) else []


def is_pypi(ecosystem: Any) -> bool:
    """Whether an OSV ``ecosystem`` is PyPI's (a suffix such as ``PyPI:...`` included)."""
    return isinstance(ecosystem, str) and (ecosystem == "PyPI" or ecosystem.startswith("PyPI:"))


#: the range types whose events are versions, compared here in PEP 440 order
_ORDERED = ("ECOSYSTEM", "SEMVER")


class _Bound:
    """A range event's version: "0" sorts first and "*" (a limit) last."""

    __slots__ = ("rank", "text", "version")

    def __init__(self, text: str) -> None:
        self.text = text
        self.version: Version | None = None
        if text == "0":
            self.rank = -1
        elif text == "*":
            self.rank = 1
        else:
            self.rank = 0
            self.version = _version(text)
            if self.version is None:
                raise InvalidVersion(f"Invalid version: {text!r}")

    def key(self) -> tuple[int, Version]:
        return (self.rank, self.version or Version("0"))

    def le(self, v: Version) -> bool:
        """True when this bound is at or below ``v``."""
        if self.version is None:
            return self.rank < 0
        return self.version <= _against(self.version, v)

    def lt(self, v: Version) -> bool:
        """True when this bound is strictly below ``v``."""
        if self.version is None:
            return self.rank < 0
        return self.version < _against(self.version, v)


def _against(bound: Version, v: Version) -> Version:
    """``v`` as compared with ``bound``: without its local label when the bound has none, as PEP 440
    matches ``==1.0`` against 1.0+cpu. A local build of a release is that release: 1.0+cpu is
    affected by ``last_affected: 1.0`` and a ``versions`` entry 1.0, and fixed by ``fixed: 1.0``."""
    if v.local is None or bound.local is not None:
        return v
    return _version(v.public) or v


def affects(affected: Mapping[str, Any], text: str, version: Version) -> tuple[bool, str]:
    """(True, "") when the ``affected`` entry covers the version; (False, why) when a range cannot be read.

    Follows the OSV evaluation pseudo-code: the explicit ``versions`` list, then every
    ``ECOSYSTEM`` and ``SEMVER`` range, both in PEP 440 order (the spec evaluates every range;
    OSV-Scanner does too). A ``GIT`` range names commits, which a release cannot be placed among
    offline: an entry with neither a ``versions`` list nor a range of the two other types leaves
    the version undecided, never cleared.
    """
    for listed in as_list(affected.get("versions")):
        listed = str(listed)
        parsed = _version(listed)
        if listed == text or (parsed is not None and parsed == _against(parsed, version)):
            return True, ""
    problem = ""
    ordered = [r for r in as_list(affected.get("ranges")) if isinstance(r, Mapping) and r.get("type") in _ORDERED]
    if not ordered and not as_list(affected.get("versions")):
        kinds = sorted({str(r.get("type")) for r in as_list(affected.get("ranges")) if isinstance(r, Mapping)})
        said = f"only {'/'.join(kinds)} ranges" if kinds else "no ranges"
        return False, f"its entry gives {said} and no versions list: which releases it affects cannot be decided offline"
    for rng in ordered:
        try:
            events = [
                (kind, _Bound(str(value)))
                for evt in as_list(rng.get("events"))
                if isinstance(evt, Mapping)
                for kind, value in evt.items()
            ]
        except InvalidVersion as exc:
            problem = f"an {rng.get('type')} range has a bound that is not a PEP 440 version ({exc})"
            continue
        limits = [b for kind, b in events if kind == "limit"]
        if limits and not any(not b.le(version) for b in limits):
            continue  # at or past every limit
        vulnerable = False
        for kind, bound in sorted(((k, b) for k, b in events if k != "limit"), key=lambda e: e[1].key()):
            if kind == "introduced" and bound.le(version):
                vulnerable = True
            elif kind == "fixed" and bound.le(version):
                vulnerable = False
            elif kind == "last_affected" and bound.lt(version):
                vulnerable = False
        if vulnerable:
            return True, ""
    return False, problem


@functools.lru_cache(maxsize=65536)
def _version(text: str) -> Version | None:
    """A PEP 440 version, or None; cached because the same version lists recur across a package's records."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def fixed_versions(affected: Mapping[str, Any]) -> list[str]:
    """The ``fixed`` events of an entry's ECOSYSTEM and SEMVER ranges, in PEP 440 order."""
    out: list[str] = []
    for rng in as_list(affected.get("ranges")):
        if isinstance(rng, Mapping) and rng.get("type") in _ORDERED:
            out.extend(str(e["fixed"]) for e in as_list(rng.get("events")) if isinstance(e, Mapping) and "fixed" in e)
    return sorted(set(out), key=_version_key)


def _version_key(text: str) -> tuple[int, Version | str]:
    try:
        return (0, Version(text))
    except InvalidVersion:
        return (1, text)


_LABELS = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}


def severity(record: Mapping[str, Any], affected: Mapping[str, Any]) -> tuple[Severity, str, float | None]:
    """(severity, where it came from, CVSS score) of an advisory for one ``affected`` entry (its own
    ``severity`` list, else the record's).

    The most severe of its CVSS entries (v4.0, v3.x, v2) counts, as OSV-Scanner rates an advisory by
    its highest score; an equal band goes to the higher score, then to the newer CVSS version. A CVSS
    vector that cannot be scored (malformed, whatever its version) counts as the top of its version's
    scale, 10.0: critical for v4.0 and v3.x, high for v2 (whose scale has no critical band), saying
    why, unless a scored entry already rates the advisory at least as high: it may be that severe,
    and a threshold must not pass it. With no CVSS entry, a database's label (GHSA's "MODERATE" is
    medium); else high with source ``unknown``."""
    entries = as_list(affected.get("severity")) or as_list(record.get("severity"))
    best: tuple[Severity, float, int, str] | None = None
    unscored: tuple[Severity, str] | None = None
    for entry in (e for e in entries if isinstance(e, Mapping)):
        kind, vector = str(entry.get("type") or ""), str(entry.get("score") or "")
        version = cvss_version(kind, vector)
        if not version:
            continue
        try:
            score = score_entry(kind, vector)
        except ValueError as exc:
            top = severity_of(10.0, version)
            if unscored is None or top.rank > unscored[0].rank:
                unscored = (top, f"{kind} {vector} (not scored: {exc}; counted as {top.value})")
            continue
        rated = (severity_of(score, version), score, version, f"{kind} {vector}")
        if best is None or (rated[0].rank, score, version) > (best[0].rank, best[1], best[2]):
            best = rated
    if unscored is not None and (best is None or best[0].rank < unscored[0].rank):
        return unscored[0], unscored[1], None
    if best is not None:
        return best[0], best[3], best[1]
    for holder in (affected.get("ecosystem_specific"), affected.get("database_specific"), record.get("database_specific")):
        if isinstance(holder, Mapping):
            label = str(holder.get("severity") or "").strip().upper()
            if label in _LABELS:
                return _LABELS[label], f"label {label}", None
    return Severity.HIGH, "unknown", None


def _help_uri(record: Mapping[str, Any], rid: str) -> str:
    """The advisory's own page: an ADVISORY reference naming its id or an alias (GHSA, NVD), else
    the first ADVISORY reference, else its osv.dev page."""
    refs = [
        str(r["url"])
        for r in as_list(record.get("references"))
        if isinstance(r, Mapping) and r.get("url") and r.get("type") == "ADVISORY"
    ]
    ids = [rid, *(str(a) for a in as_list(record.get("aliases")))]
    own = next((url for url in refs if any(i and i in url for i in ids)), "")
    return own or (refs[0] if refs else f"https://osv.dev/vulnerability/{rid}")


def to_match(record: Mapping[str, Any], affected: Mapping[str, Any], name: str, text: str, source: str) -> Match:
    """The ``Match`` of an OSV record's ``affected`` entry for package ``name`` at version ``text``."""
    rid = str(record["id"])
    sev, sev_source, score = severity(record, affected)
    aliases = tuple(sorted({str(a) for a in as_list(record.get("aliases")) if str(a) != rid}))
    return Match(
        id=rid,
        package=name,
        version=text,
        aliases=aliases,
        summary=str(record.get("summary") or ""),
        details=str(record.get("details") or ""),
        fixed_versions=tuple(fixed_versions(affected)),
        severity=sev,
        severity_source=sev_source,
        score=score,
        url=_help_uri(record, rid),
        published=str(record.get("published") or ""),
        modified=str(record.get("modified") or ""),
        source_file=source,
    )


def merge_aliases(found: list[Match]) -> list[Match]:
    """One match per advisory and package: records naming each other as aliases collapse into one
    (the most severe keeps its id; the others' ids join its aliases), as pip-audit does."""
    out: list[Match] = []
    groups: dict[tuple[str, str], list[int]] = {}
    for m in sorted(found, key=lambda m: (canonicalize_name(m.package), m.version, -m.severity.rank, m.id)):
        names = {m.id, *m.aliases}
        slots = groups.setdefault((canonicalize_name(m.package), m.version), [])
        twin = next((i for i in slots if names & {out[i].id, *out[i].aliases}), None)
        if twin is None:
            slots.append(len(out))
            out.append(m)
            continue
        o = out[twin]
        merged = tuple(sorted((names | set(o.aliases)) - {o.id}))
        fixes = tuple(sorted(set(o.fixed_versions) | set(m.fixed_versions), key=_version_key))
        out[twin] = replace(o, aliases=merged, fixed_versions=fixes)
    return out
