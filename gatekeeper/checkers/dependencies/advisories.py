"""A local OSV advisory database: open it, find the records about given packages, and match versions.

The database is a directory of OSV records in YAML or JSON (the PyPA advisory database's
``vulns/<package>/<ID>.yaml`` layout, or the flat one-file-per-record layout of an OSV export),
or a zip of either. Only the records that mention a wanted package are parsed: a cheap text
scan of every file's ``name`` fields builds a name -> files index (cached under the run's cache
dir, keyed by the files' names and stat data: size, mtime, ctime, inode, device; a zip's members
by size and CRC), and matching follows the OSV schema's
evaluation algorithm (https://ossf.github.io/osv-schema/#evaluation) with PEP 440 ordering
for ``ECOSYSTEM`` and ``SEMVER`` ranges and PEP 503 name normalisation.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import heapq
import json
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from gatekeeper import readback
from gatekeeper.checkers import cache
from gatekeeper.checkers.dependencies.digest import RegularFiles
from gatekeeper.checkers.dependencies.matching import Indeterminate, as_list, is_pypi, merge_aliases, to_match
from gatekeeper.checkers.dependencies.matching import Match as Match  # re-exported
from gatekeeper.checkers.dependencies.matching import affects as affects  # re-exported
from gatekeeper.checkers.dependencies.matching import headline as headline  # re-exported
from gatekeeper.errors import ToolError

_SUFFIXES = (".yaml", ".yml", ".json")

#: the largest OSV record is some tens of kilobytes: a bigger file is not an advisory
MAX_RECORD_BYTES = 8 * 1024 * 1024

_INDEX_VERSION = 3  # 2: files with a name the scan cannot read go under _ALWAYS; 3: the newest dates kept by file

# Every value of a "name" key, in block YAML, flow YAML or JSON. Over-matching ("username: x", a
# credit's name) only costs a parse; a file in which nothing matches is always parsed, so nothing
# is missed. The pattern starts with a literal so the scan of thousands of files stays ~10 ms.
_NAME_RX = re.compile(rb"""name["']?[ \t]*:[ \t]*(?:"([^"\r\n]*)"|'([^'\r\n]*)'|([^\s"'#,}\]][^#,}\]\r\n]*))""")

# A "name" whose value the scan above cannot read: on the following lines (block scalar, plain
# scalar continued), or a value no PEP 503 name can be (a YAML indicator first: block scalar,
# alias, tag; a backslash: a JSON or YAML escape). Such a file is parsed for every audit.
_HIDDEN_NAME_RX = re.compile(rb"""name["']?[ \t]*:[ \t]*(?:#[^\r\n]*)?(?:[\r\n]|$)""")
_UNREADABLE = re.compile(r"""^[|>&*!%@`]|\\""")

_ALWAYS = "*"  # index key of files whose names the scan could not find or read

# The first "modified" timestamp of each file: the record's own (OSV puts it at the top level,
# before "affected"). The newest one not dated after the run is the data's "as of" time; the newest
# ones ride in the name index under a key no PEP 503 name can take, so a cached index answers it
# without reading the records.
_MODIFIED_RX = re.compile(
    rb"""modified["']?[ \t]*:[ \t]*["']?(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[Zz]|[+-]\d\d:?\d\d)?)"""
)

_TIME_RX = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?\s*([Zz]|[+-]\d\d:?\d\d)?")

_AS_OF = "\x00as-of"  # index key: [records carrying a modified time, then newest first: ISO 8601 time, file, ...]

#: how many of the newest ``modified`` times the index keeps: the as-of time is the newest of them
#: not dated after the run, so more records than this dated ahead of the clock leave it unknown
NEWEST_KEPT = 256

#: how far past the run's clock a record's ``modified`` time may lie and still count (clock drift)
FUTURE_SKEW = dt.timedelta(hours=1)


def date_data(
    newest: Sequence[tuple[dt.datetime, str]], now: dt.datetime | None = None
) -> tuple[dt.datetime | None, list[tuple[str, str]]]:
    """(as-of time, records dated ahead) of records dated ``newest`` ((modified, file) pairs):
    the as-of time is the newest ``modified`` no later than ``now`` (the run's clock) plus
    ``FUTURE_SKEW``; each later one is (file, ISO time), newest first, and counts for nothing. A
    record cannot vouch for data it was never part of: one dated 2027 in a 2024 snapshot would
    otherwise make the snapshot read "0 days old" for three years."""
    limit = (now or dt.datetime.now(dt.timezone.utc)) + FUTURE_SKEW
    ahead = [(name, iso_time(moment)) for moment, name in sorted(newest, reverse=True) if moment > limit]
    as_of = max((moment for moment, _ in newest if moment <= limit), default=None)
    return as_of, ahead


@functools.lru_cache(maxsize=1)
def _loader() -> Any:
    """The fast safe loader, with every plain scalar kept as a string except booleans and null.

    YAML would read an unquoted ``fixed: 1.10`` as the float 1.1; versions must stay text. Built on
    first use: PyYAML (about 10 ms to import) is loaded only when a YAML record must be parsed, not
    when every record comes from the cache.
    """
    import yaml

    base = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader
    resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:null")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return type("_Loader", (base,), {"yaml_implicit_resolvers": resolvers, "__doc__": _loader.__doc__})


@dataclass(eq=False, repr=False)
class AdvisoryDatabase:
    """An opened OSV database: its file list and name index; records are parsed on demand."""

    path: Path
    layout: str  # "directory" or "zip"
    files: tuple[str, ...]
    index: dict[str, list[str]]
    index_cached: bool = False
    as_of: dt.datetime | None = None  # the newest record's ``modified`` not after the run, UTC: how current the data is
    dated_records: int = 0  # records whose ``modified`` time could be read
    #: (file, ISO time) of records dated after the run's clock (``date_data``), newest first: not counted
    dated_ahead: tuple[tuple[str, str], ...] = ()
    cache_rejected: int = 0  # cache entries that failed authentication and were ignored
    records_read: int = 0
    withdrawn_skipped: int = 0
    regular_files: RegularFiles | None = field(default=None, repr=False)  # a folder's, as opened: for its digest
    #: the sha256 of each record file as building the index read it (by path relative to the
    #: folder): the folder's digest takes these instead of reading every record a second time
    read_digests: dict[bytes, str] = field(default_factory=dict, repr=False)
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)
    _stamps: dict[str, tuple[int, str]] = field(default_factory=dict, repr=False)  # file -> (size, stat data or CRC)
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
            "dated_ahead": len(self.dated_ahead),
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
            size, stamp = self._stamps.get(name, (0, ""))
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
        # one open, fstat and read to the end, no file object: a cold run reads every record
        fd = os.open(os.path.join(self.path, name), os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            size = os.fstat(fd).st_size
            if size > MAX_RECORD_BYTES:
                raise ToolError(f"advisory record {self.path / name} is larger than {MAX_RECORD_BYTES} bytes: not an OSV record")
            parts = [os.read(fd, size + 1)]  # all of it at once, unless it grew since the fstat
            while parts[-1]:
                parts.append(os.read(fd, 1 << 20))
        finally:
            os.close(fd)
        return b"".join(parts)

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
            for affected in as_list(record.get("affected")):
                pkg = affected.get("package") if isinstance(affected, Mapping) else None
                if not isinstance(pkg, Mapping) or not is_pypi(pkg.get("ecosystem")):
                    continue
                for name, text, version in by_key.get(canonicalize_name(str(pkg.get("name") or "")), ()):
                    verdict, problem = affects(affected, text, version)
                    if problem and not verdict:
                        unsure.append(Indeterminate(name, f"{rid}: {problem}"))
                    if verdict:
                        found.append(to_match(record, affected, name, text, source))
        return merge_aliases(found), unsure


def open_database(path: Path, cache_dir: Path | None = None, now: dt.datetime | None = None) -> AdvisoryDatabase:
    """Open the OSV database at ``path`` (a directory or a .zip) and index it by package name; its
    as-of time is judged against ``now`` (default: the clock), as ``date_data`` says.

    Raises ``ToolError`` when the path does not exist, is not a database, or holds no records.
    """
    if not path.exists():
        raise ToolError(f"advisory database {path} does not exist (checks.dependencies.advisory_db)")
    zf: zipfile.ZipFile | None = None
    regular: RegularFiles | None = None
    if path.is_dir():
        layout = "directory"
        stats, regular = _walk(path)
    elif zipfile.is_zipfile(path):
        layout = "zip"
        zf = zipfile.ZipFile(path)
        stats = [(i.filename, i.file_size, str(i.CRC)) for i in zf.infolist() if _wanted(i.filename)]
        st = path.stat()
        stats.append(("", st.st_size, _stamp(st)))
    else:
        raise ToolError(f"advisory database {path} is neither a directory nor a zip file")
    files = tuple(sorted(n for n, _, _ in stats if n))
    if not files:
        raise ToolError(f"advisory database {path} holds no .yaml, .yml or .json records")
    signature = hashlib.sha256(json.dumps([str(path.resolve()), sorted(stats)]).encode()).hexdigest()
    stamps = {n: (size, stamp) for n, size, stamp in stats if n}
    db = AdvisoryDatabase(
        path=path, layout=layout, files=files, index={}, regular_files=regular, _zip=zf, _stamps=stamps, _cache_dir=cache_dir,
        _root=str(path.resolve()),
    )  # fmt: skip
    cached, rejected = _load_index(cache_dir, signature)
    db.cache_rejected += int(rejected)
    if cached is not None and _AS_OF in cached:
        db.index, db.index_cached = cached, True
    else:
        db.index = _build_index(db)
        _save_index(cache_dir, signature, db.index)
    entry = db.index.get(_AS_OF) or []
    db.dated_records = int(entry[0]) if entry and entry[0].isdigit() else 0
    kept = [(parse_time(t), f) for t, f in zip(entry[1::2], entry[2::2], strict=False)]
    as_of, ahead = date_data([(t, f) for t, f in kept if t is not None], now)
    db.as_of, db.dated_ahead = as_of, tuple(ahead)
    return db


def _wanted(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.endswith(_SUFFIXES) and not base.startswith(".") and "__MACOSX" not in name


def _stamp(st: os.stat_result) -> str:
    """A file's stat data beyond its size: mtime, ctime (which every write changes and no
    ``os.utime`` sets back), inode and device; an edit keeping size and mtime still changes it."""
    return f"{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"


def _walk(root: Path) -> tuple[list[tuple[str, int, str]], RegularFiles]:
    """(the records: every file with a record's suffix, no part of its path starting with a dot,
    with its size and stat data; every regular file, for ``digest``), in one walk of the tree.

    An unreadable folder among the records is an error; one only the digest visits (a dot
    folder) is skipped, as ``os.walk`` skips it. A record that is a link is read through it only
    when it leads to a file of the folder, which the digest covers (``find -type f`` lists no
    link); one that leads outside is a ``ToolError``: its records would be judged while the digest
    the evidence names for the database stayed the same whatever that file held."""
    out: list[tuple[str, int, str]] = []
    regular: RegularFiles = []
    inside = os.path.join(os.path.realpath(root), "")
    stack = [(str(root), "", False)]
    while stack:
        folder, prefix, hidden = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            if hidden:
                continue
            raise
        for entry in entries:
            dot = hidden or entry.name.startswith(".")
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, f"{prefix}{entry.name}/", dot))
                continue
            lstat = entry.stat(follow_symlinks=False) if entry.is_file(follow_symlinks=False) else None
            if lstat is not None and stat.S_ISREG(lstat.st_mode):
                regular.append((os.fsencode(prefix + entry.name), lstat))
            if not dot and entry.name.endswith(_SUFFIXES):
                if entry.is_symlink() and not os.path.realpath(entry.path).startswith(inside):
                    raise ToolError(
                        f"advisory record {entry.path} is a link to {os.path.realpath(entry.path)}, outside the database "
                        "folder: the database's digest (its regular files) would not cover what it holds"
                    )
                st = lstat if lstat is not None and not entry.is_symlink() else entry.stat()
                out.append((prefix + entry.name, st.st_size, _stamp(st)))
    regular.sort(key=lambda item: item[0])
    return out, regular


def _build_index(db: AdvisoryDatabase) -> dict[str, list[str]]:
    """The name index of every record file, read once: a folder's files' digests (``read_digests``) are taken on the way."""
    index: dict[str, list[str]] = {}
    dates: list[tuple[dt.datetime, str]] = []
    digests = db.read_digests if db.layout == "directory" else None
    for name in db.files:
        data = db._read(name)
        if digests is not None:
            digests[os.fsencode(name)] = hashlib.sha256(data).hexdigest()
        # a quoted empty value (a "name" in a record's text, such as "'username': ''") has no group: an empty name
        names = [next((g for g in m if g), b"").decode("utf-8", "replace").strip() for m in _NAME_RX.findall(data)]
        keys: set[str] = {canonicalize_name(n) for n in names}
        keys.discard("")
        if any(_UNREADABLE.search(n) for n in names) or _HIDDEN_NAME_RX.search(data):
            keys.add(_ALWAYS)  # a name the scan could not read may be the one that matters
        for key in keys or {_ALWAYS}:
            index.setdefault(key, []).append(name)
        stamp = _MODIFIED_RX.search(data)
        moment = parse_time(stamp.group(1).decode("ascii")) if stamp else None
        if moment is not None:
            dates.append((moment, name))
    newest = heapq.nlargest(NEWEST_KEPT, dates)
    index[_AS_OF] = [str(len(dates)), *(part for moment, name in newest for part in (_iso_exact(moment), name))]
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


def _iso_exact(moment: dt.datetime) -> str:
    """``moment`` in UTC as ISO 8601 to the microsecond: the index keeps times as the records give them."""
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


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
            import yaml

            try:
                doc = yaml.load(data, Loader=_loader())  # noqa: S506  # nosec B506: _loader() is a SafeLoader
            except yaml.YAMLError as exc:
                raise ToolError(f"advisory record {name} cannot be parsed: {exc}") from exc
            # the bounds the JSON records get; a YAML scalar takes at least a byte, so a document
            # holding more values than twice its size repeats parts of itself through aliases
            readback.check_tree(doc, f"advisory record {name}", max_values=2 * len(data) + 16)
    except readback.LimitError as exc:
        raise ToolError(str(exc)) from None
    except RecursionError:
        raise ToolError(f"advisory record {name} cannot be parsed: nested too deeply") from None
    except ValueError as exc:
        raise ToolError(f"advisory record {name} cannot be parsed: {exc}") from exc
    if not isinstance(doc, Mapping) or ("id" not in doc and "affected" not in doc):
        return None
    return doc
