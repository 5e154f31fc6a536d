"""A local OSV advisory database: open it, find the records about given packages, and match versions.

The database is a directory of OSV records in YAML or JSON (the PyPA advisory database's
``vulns/<package>/<ID>.yaml`` layout, or the flat one-file-per-record layout of an OSV export),
or a zip of either. Only the records that mention a wanted package are parsed: a cheap text
scan of every file's ``name`` fields builds a name -> files index (cached under the run's cache
dir, keyed by the files' names, sizes and mtimes), and matching follows the OSV schema's
evaluation algorithm (https://ossf.github.io/osv-schema/#evaluation) with PEP 440 ordering
for ``ECOSYSTEM`` ranges and PEP 503 name normalisation.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gatekeeper import readback
from gatekeeper.checkers import cache
from gatekeeper.checkers.dependencies.cvss import base_score, severity_of
from gatekeeper.display import shorten
from gatekeeper.errors import ToolError
from gatekeeper.findings import Severity

_SUFFIXES = (".yaml", ".yml", ".json")
#: the largest OSV record is some tens of kilobytes: a bigger file is not an advisory
MAX_RECORD_BYTES = 8 * 1024 * 1024
_INDEX_VERSION = 1
# Every value of a "name" key, in block YAML, flow YAML or JSON. Over-matching ("username: x", a
# credit's name) only costs a parse; a file in which nothing matches is always parsed, so nothing
# is missed. The pattern starts with a literal so the scan of thousands of files stays ~10 ms.
_NAME_RX = re.compile(rb"""name["']?[ \t]*:[ \t]*(?:"([^"\r\n]*)"|'([^'\r\n]*)'|([^\s"'#,}\]][^#,}\]\r\n]*))""")
_ALWAYS = "*"  # index key of files whose names the scan could not find
# The first "modified" timestamp of each file: the record's own (OSV puts it at the top level,
# before "affected"). The newest one is the data's "as of" time; it rides in the name index under
# a key no PEP 503 name can take, so a cached index answers it without reading the records.
_MODIFIED_RX = re.compile(
    rb"""modified["']?[ \t]*:[ \t]*["']?(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[Zz]|[+-]\d\d:?\d\d)?)"""
)
_TIME_RX = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?\s*([Zz]|[+-]\d\d:?\d\d)?")
_AS_OF = "\x00as-of"  # index key: [newest modified (ISO 8601, UTC), number of records carrying one]


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """The fast safe loader, with every plain scalar kept as a string except booleans and null.

    YAML would read an unquoted ``fixed: 1.10`` as the float 1.1; versions must stay text.
    """

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        first: [(tag, rx) for tag, rx in resolvers if tag in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:null")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


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


@dataclass(frozen=True, slots=True)
class Indeterminate:
    """A package whose status an advisory leaves open (e.g. a range bound that is not a PEP 440 version)."""

    package: str
    reason: str


@dataclass
class AdvisoryDatabase:
    """An opened OSV database: its file list and name index; records are parsed on demand."""

    path: Path
    layout: str  # "directory" or "zip"
    files: tuple[str, ...]
    index: dict[str, list[str]]
    index_cached: bool = False
    as_of: dt.datetime | None = None  # the newest record's ``modified``, UTC: how current the data is
    dated_records: int = 0  # records whose ``modified`` time could be read
    cache_rejected: int = 0  # cache entries that failed authentication and were ignored
    records_read: int = 0
    withdrawn_skipped: int = 0
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)
    _stamps: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)  # file -> (size, mtime or CRC)
    _cache_dir: Path | None = field(default=None, repr=False)
    _root: str = field(default="", repr=False)  # the resolved path, part of every cache key

    def close(self) -> None:
        """Release the zip file, if any."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def describe(self) -> dict[str, Any]:
        """What the check's metrics say about the database."""
        return {
            "path": str(self.path),
            "layout": self.layout,
            "files": len(self.files),
            "dated_records": self.dated_records,
            "as_of": iso_time(self.as_of) if self.as_of else None,
            "records_read": self.records_read,
            "withdrawn_skipped": self.withdrawn_skipped,
            "index_cached": self.index_cached,
            "cache_rejected": self.cache_rejected,
        }

    def package_names(self) -> list[str]:
        """The (PEP 503) package names the index found in the records, sorted."""
        return sorted(k for k in self.index if k not in (_ALWAYS, _AS_OF))

    def _record(self, name: str) -> Mapping[str, Any] | None:
        """The parsed record in ``name``: from the parsed-record cache when the file is unchanged.

        Parsing YAML is the bulk of the cost (the PyPA records carry long version lists); a JSON
        copy of each record parsed once loads several times faster.
        """
        folder = self._cache_dir / "advisory-records" if self._cache_dir is not None else None
        key = ""
        if folder is not None:
            size, stamp = self._stamps.get(name, (0, 0))
            key = hashlib.sha256(f"{self._root}\x1f{name}\x1f{size}\x1f{stamp}".encode()).hexdigest()
            payload, rejected = cache.read(folder, key)
            self.cache_rejected += int(rejected)
            if isinstance(payload, dict) and "record" in payload:
                cached = payload["record"]
                return cached if isinstance(cached, dict) else None
        record = _parse(name, self._read(name))
        if folder is not None:
            # authenticated (cache.py): a planted entry holding null cannot drop an advisory
            cache.write(folder, key, {"record": json.loads(json.dumps(record, default=str))})
        return record

    def _read(self, name: str) -> bytes:
        """The record file's bytes, at most ``MAX_RECORD_BYTES`` (``ToolError`` naming it beyond that,
        or when the zip member is encrypted or damaged)."""
        if self._zip is not None:
            try:
                return readback.read_member(self._zip, self._zip.getinfo(name), MAX_RECORD_BYTES, str(self.path))
            except readback.LimitError as exc:
                raise ToolError(f"advisory database: {exc}") from None
        path = self.path / name
        if path.stat().st_size > MAX_RECORD_BYTES:
            raise ToolError(f"advisory record {path} is larger than {MAX_RECORD_BYTES} bytes: not an OSV record")
        return path.read_bytes()

    def records_for(self, names: Iterable[str]) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(file, record) for every record that may concern one of ``names`` (any spelling), withdrawn ones skipped."""
        wanted = {canonicalize_name(n) for n in names}
        chosen: set[str] = set(self.index.get(_ALWAYS, ()))
        for key in wanted:
            chosen.update(self.index.get(key, ()))
        for name in sorted(chosen):
            record = self._record(name)
            if record is None:
                continue
            self.records_read += 1
            if record.get("withdrawn"):
                self.withdrawn_skipped += 1
                continue
            yield name, record

    def match(self, packages: Sequence[tuple[str, str]]) -> tuple[list[Match], list[Indeterminate]]:
        """Every advisory affecting the (name, version) pairs, merged by alias as pip-audit does."""
        by_key: dict[str, list[tuple[str, str, Version]]] = {}
        for name, text in packages:
            by_key.setdefault(canonicalize_name(name), []).append((name, text, Version(text)))
        found: list[Match] = []
        unsure: list[Indeterminate] = []
        for source, record in self.records_for(by_key):
            rid = record.get("id")
            if not isinstance(rid, str) or not rid:
                raise ToolError(f"advisory database {self.path}: {source} has no id")
            for affected in _list(record.get("affected")):
                pkg = affected.get("package") if isinstance(affected, Mapping) else None
                if not isinstance(pkg, Mapping) or not _is_pypi(pkg.get("ecosystem")):
                    continue
                for name, text, version in by_key.get(canonicalize_name(str(pkg.get("name") or "")), ()):
                    verdict, problem = affects(affected, text, version)
                    if problem and not verdict:
                        unsure.append(Indeterminate(name, f"{rid}: {problem}"))
                    if verdict:
                        found.append(_to_match(record, affected, name, text, source))
        return _merge_aliases(found), unsure


def open_database(path: Path, cache_dir: Path | None = None) -> AdvisoryDatabase:
    """Open the OSV database at ``path`` (a directory or a .zip) and index it by package name.

    Raises ``ToolError`` when the path does not exist, is not a database, or holds no records.
    """
    if not path.exists():
        raise ToolError(f"advisory database {path} does not exist (checks.dependencies.advisory_db)")
    zf: zipfile.ZipFile | None = None
    if path.is_dir():
        layout = "directory"
        stats = _walk(path)
    elif zipfile.is_zipfile(path):
        layout = "zip"
        zf = zipfile.ZipFile(path)
        stats = [(i.filename, i.file_size, i.CRC) for i in zf.infolist() if _wanted(i.filename)]
        st = path.stat()
        stats.append(("", st.st_size, st.st_mtime_ns))
    else:
        raise ToolError(f"advisory database {path} is neither a directory nor a zip file")
    files = tuple(sorted(n for n, _, _ in stats if n))
    if not files:
        raise ToolError(f"advisory database {path} holds no .yaml, .yml or .json records")
    signature = hashlib.sha256(json.dumps([str(path.resolve()), sorted(stats)]).encode()).hexdigest()
    stamps = {n: (size, stamp) for n, size, stamp in stats if n}
    db = AdvisoryDatabase(
        path=path, layout=layout, files=files, index={}, _zip=zf, _stamps=stamps, _cache_dir=cache_dir, _root=str(path.resolve())
    )
    cached, rejected = _load_index(cache_dir, signature)
    db.cache_rejected += int(rejected)
    if cached is not None and _AS_OF in cached:
        db.index, db.index_cached = cached, True
    else:
        db.index = _build_index(db)
        _save_index(cache_dir, signature, db.index)
    entry = db.index.get(_AS_OF) or []
    db.as_of = parse_time(entry[0]) if entry else None
    db.dated_records = int(entry[1]) if len(entry) > 1 and entry[1].isdigit() else 0
    return db


def _wanted(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.endswith(_SUFFIXES) and not base.startswith(".") and "__MACOSX" not in name


def _walk(root: Path) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{prefix}{entry.name}/"))
                elif entry.name.endswith(_SUFFIXES):
                    st = entry.stat()
                    out.append((prefix + entry.name, st.st_size, st.st_mtime_ns))
    return out


def _build_index(db: AdvisoryDatabase) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    newest: dt.datetime | None = None
    dated = 0
    for name in db.files:
        data = db._read(name)
        keys: set[str] = {
            canonicalize_name(next(g for g in m if g).decode("utf-8", "replace").strip()) for m in _NAME_RX.findall(data)
        }
        keys.discard("")
        for key in keys or {_ALWAYS}:
            index.setdefault(key, []).append(name)
        stamp = _MODIFIED_RX.search(data)
        moment = parse_time(stamp.group(1).decode("ascii")) if stamp else None
        if moment is not None:
            dated += 1
            newest = moment if newest is None or moment > newest else newest
    index[_AS_OF] = [iso_time(newest) if newest else "", str(dated)]
    return index


def parse_time(text: str) -> dt.datetime | None:
    """An OSV timestamp (RFC 3339; any number of fractional digits; no zone means UTC) as an aware
    UTC datetime, or None when ``text`` is not one."""
    m = _TIME_RX.fullmatch(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        tz = dt.timezone.utc
        if zone and zone not in "Zz":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=tz)
    except ValueError:
        return None
    return moment.astimezone(dt.timezone.utc)


def iso_time(moment: dt.datetime) -> str:
    """``moment`` in UTC as ISO 8601 with a Z, to the second (e.g. 2024-10-10T17:22:00Z)."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _load_index(cache_dir: Path | None, signature: str) -> tuple[dict[str, list[str]] | None, bool]:
    """The cached name index and whether an entry was there but failed authentication."""
    if cache_dir is None:
        return None, False
    data, rejected = cache.read(cache_dir / "advisory-index", signature)
    try:
        if not isinstance(data, dict) or data.get("version") != _INDEX_VERSION or not isinstance(data.get("index"), dict):
            return None, rejected
        return {str(k): [str(f) for f in v] for k, v in data["index"].items()}, False
    except (AttributeError, TypeError):
        return None, True


def _save_index(cache_dir: Path | None, signature: str, index: Mapping[str, list[str]]) -> None:
    if cache_dir is not None:
        cache.write(cache_dir / "advisory-index", signature, {"version": _INDEX_VERSION, "index": index})


def _parse(name: str, data: bytes) -> Mapping[str, Any] | None:
    """An OSV record, or None for a file that is not one (an index, a schema); ToolError if unreadable
    or beyond the reading limits (``readback``: nesting, numbers)."""
    try:
        if name.endswith(".json"):
            doc = readback.loads(data, f"advisory record {name}")
        else:
            doc = yaml.load(data, Loader=_Loader)  # noqa: S506  # nosec B506: _Loader is a SafeLoader
    except readback.LimitError as exc:
        raise ToolError(str(exc)) from None
    except RecursionError:
        raise ToolError(f"advisory record {name} cannot be parsed: nested too deeply") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise ToolError(f"advisory record {name} cannot be parsed: {exc}") from exc
    if not isinstance(doc, Mapping) or ("id" not in doc and "affected" not in doc):
        return None
    return doc


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _is_pypi(ecosystem: Any) -> bool:
    return isinstance(ecosystem, str) and (ecosystem == "PyPI" or ecosystem.startswith("PyPI:"))


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
        return self.version <= v

    def lt(self, v: Version) -> bool:
        """True when this bound is strictly below ``v``."""
        if self.version is None:
            return self.rank < 0
        return self.version < v


def affects(affected: Mapping[str, Any], text: str, version: Version) -> tuple[bool, str]:
    """(True, "") when the ``affected`` entry covers the version; (False, why) when a range cannot be read.

    Follows the OSV evaluation pseudo-code: the explicit ``versions`` list, then every
    ``ECOSYSTEM`` range (``GIT`` and ``SEMVER`` ranges do not describe PyPI releases).
    """
    for listed in _list(affected.get("versions")):
        listed = str(listed)
        if listed == text or _version(listed) == version:
            return True, ""
    problem = ""
    for rng in _list(affected.get("ranges")):
        if not isinstance(rng, Mapping) or rng.get("type") != "ECOSYSTEM":
            continue
        try:
            events = [
                (kind, _Bound(str(value)))
                for evt in _list(rng.get("events"))
                if isinstance(evt, Mapping)
                for kind, value in evt.items()
            ]
        except InvalidVersion as exc:
            problem = f"an ECOSYSTEM range has a bound that is not a PEP 440 version ({exc})"
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
    """The ``fixed`` events of an entry's ECOSYSTEM ranges, in PEP 440 order."""
    out: list[str] = []
    for rng in _list(affected.get("ranges")):
        if isinstance(rng, Mapping) and rng.get("type") == "ECOSYSTEM":
            out.extend(str(e["fixed"]) for e in _list(rng.get("events")) if isinstance(e, Mapping) and "fixed" in e)
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
    """(severity, where it came from, CVSS base score): a computed CVSS v3/v2 score first, then a
    database's label (GHSA's "MODERATE" is medium), else high with source ``unknown``."""
    entries = _list(affected.get("severity")) or _list(record.get("severity"))
    ranked = sorted(
        (e for e in entries if isinstance(e, Mapping)),
        key=lambda e: {"CVSS_V3": 0, "CVSS_V2": 1}.get(str(e.get("type")), 2),
    )
    for entry in ranked:
        kind, vector = str(entry.get("type") or ""), str(entry.get("score") or "")
        score = base_score(kind, vector)
        if score is not None:
            return severity_of(score, 2 if kind == "CVSS_V2" else 3), f"{kind} {vector}", score
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
        for r in _list(record.get("references"))
        if isinstance(r, Mapping) and r.get("url") and r.get("type") == "ADVISORY"
    ]
    ids = [rid, *(str(a) for a in _list(record.get("aliases")))]
    own = next((url for url in refs if any(i and i in url for i in ids)), "")
    return own or (refs[0] if refs else f"https://osv.dev/vulnerability/{rid}")


def _to_match(record: Mapping[str, Any], affected: Mapping[str, Any], name: str, text: str, source: str) -> Match:
    rid = str(record["id"])
    sev, sev_source, score = severity(record, affected)
    aliases = tuple(sorted({str(a) for a in _list(record.get("aliases")) if str(a) != rid}))
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


def _merge_aliases(found: list[Match]) -> list[Match]:
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
