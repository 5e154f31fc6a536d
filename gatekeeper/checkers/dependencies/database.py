"""The offline advisory database: where it lives, how it is fetched and verified, what it holds.

``gatekeeper db update`` downloads OSV's PyPI export (one zip of OSV JSON records) into a folder
in the user's data directory, the one ``advisory_db = "auto"`` reads. A download is conditional
(ETag / If-Modified-Since), goes to a temporary file beside the database, and replaces it (one
``os.replace``) only once it has been read back completely as a zip of OSV records with at least
one PyPI record; anything else leaves the previous database as it was. Beside the zip,
``gatekeeper-db.json`` notes where it came from; it is informational only: how current a
database is, is always judged from its records' ``modified`` times, those dated after the
run's clock left out (``advisories.date_data``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import urllib.parse
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from gatekeeper import __version__, readback
from gatekeeper.checkers.dependencies.advisories import MAX_RECORD_BYTES, date_data, iso_time, open_database, parse_time
from gatekeeper.checkers.dependencies.digest import content_digest as content_digest  # re-exported
from gatekeeper.errors import ToolError
from gatekeeper.fileio import temporary_path, write_atomic

DEFAULT_URL = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
URL_ENV = "GATEKEEPER_ADVISORY_URL"
DB_FILE = "osv-pypi.zip"
META_FILE = "gatekeeper-db.json"
TIMEOUT_S = 60.0
_CHUNK = 1 << 16
#: OSV's whole PyPI export inflates to a few hundred megabytes
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024


class UpdateError(ToolError):
    """A download or its verification failed; the previous database is untouched (exit 3)."""


def default_dir() -> Path:
    """The folder ``db update`` fills and ``advisory_db = "auto"`` reads: ``gatekeeper/advisory-db``
    in ``$XDG_DATA_HOME`` (default ``~/.local/share``; ``%LOCALAPPDATA%`` on Windows)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    if not base or not os.path.isabs(base):
        local = os.environ.get("LOCALAPPDATA", "") if os.name == "nt" else ""
        base = local or str(Path.home() / ".local" / "share")
    return Path(base) / "gatekeeper" / "advisory-db"


def resolve(path: Path) -> Path:
    """The database a path names: the zip inside a folder ``db update`` wrote, else the path itself."""
    if path.is_dir() and (path / DB_FILE).is_file() and (path / META_FILE).is_file():
        return path / DB_FILE
    return path


def read_meta(folder: Path) -> dict[str, Any]:
    """What ``db update`` noted in ``folder`` (source URL, fetch time, validators), or {} (also for
    a note beyond the reading limits: it is informational only)."""
    try:
        data = readback.loads((folder / META_FILE).read_bytes(), str(folder / META_FILE))
    except (OSError, ValueError, readback.LimitError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Survey:
    """What a database holds: OSV records, those about PyPI, distinct PyPI packages, newest ``modified``
    not after the clock, and the records dated after it ((member, ISO time), newest first)."""

    records: int
    pypi_records: int
    packages: int
    as_of: dt.datetime | None
    dated_ahead: tuple[tuple[str, str], ...] = ()


def survey_zip(
    path: Path, *, member_limit: int = MAX_RECORD_BYTES, total_limit: int = MAX_TOTAL_BYTES, now: dt.datetime | None = None
) -> Survey:
    """Read every member of an OSV export (CRCs included) and count its records.

    Raises ``UpdateError`` when it is not a complete zip, a ``.json`` member is not an OSV record,
    or no member is about PyPI: such a file must never replace a working database. Each member is
    inflated in chunks and never past ``member_limit`` bytes, nor all of them past ``total_limit``
    (a zip bomb is refused, naming the member, in bounded memory); a record is read within the
    reading limits (``readback``: nesting, numbers). Its as-of time is judged against ``now``
    (default: the clock), as ``advisories.date_data`` says (None when every dated record is after it).
    """
    records = pypi = 0
    packages: set[str] = set()
    dates: list[tuple[dt.datetime, str]] = []
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                room = total_limit - total
                try:
                    data = readback.read_member(zf, info, min(member_limit, room), "the export")
                    total += len(data)
                    doc = readback.loads(data, f"{info.filename} in the export")
                except readback.LimitError as exc:
                    if room < member_limit and readback.member_problem(info, member_limit) is None:
                        why = f"the export inflates to more than {total_limit} bytes in all (at {info.filename})"
                        raise UpdateError(why) from None
                    raise UpdateError(str(exc)) from None
                except ValueError as exc:
                    raise UpdateError(f"{info.filename} in the export is not JSON ({exc})") from None
                if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
                    raise UpdateError(f"{info.filename} in the export is not an OSV record (no id)")
                records += 1
                moment = parse_time(str(doc.get("modified") or ""))
                if moment is not None:
                    dates.append((moment, info.filename))
                names = {
                    canonicalize_name(str(a["package"].get("name") or ""))
                    for a in doc.get("affected") or []
                    if isinstance(a, dict)
                    and isinstance(a.get("package"), dict)
                    and str(a["package"].get("ecosystem") or "").split(":", 1)[0] == "PyPI"
                }
                names.discard("")
                if names:
                    pypi += 1
                    packages |= names
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise UpdateError(f"the download is not a readable zip ({exc}): truncated or not an OSV export") from None
    if not records:
        raise UpdateError("the download holds no OSV records (no .json member): not an OSV export")
    if not pypi:
        raise UpdateError(f"the download holds {records} OSV records but none about a PyPI package: not the PyPI export")
    if not dates:
        raise UpdateError("no record in the download carries a readable 'modified' time: its age cannot be judged")
    as_of, ahead = date_data(dates, now)
    return Survey(records, pypi, len(packages), as_of, tuple(ahead))


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class UpdateOutcome:
    """What ``update`` did: ``changed`` False means the source said (or proved) it was unchanged."""

    path: Path
    url: str
    changed: bool
    size: int
    survey: Survey | None


ProgressFn = Callable[[int, int | None], None]


def update(folder: Path, url: str, *, progress: ProgressFn | None = None, now: dt.datetime | None = None) -> UpdateOutcome:
    """Fetch ``url`` into ``folder`` unless the source says the copy there is current.

    Raises ``UpdateError`` (the previous database untouched) when the URL is not http(s) or
    file, the folder cannot be created, or the download fails, is cut short, or is not an OSV
    PyPI export.
    """
    shown = _shown_url(url)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UpdateError(f"cannot create the database folder {folder}: {exc.strerror or exc}") from None
    target = folder / DB_FILE
    current = _sha256(target) if target.is_file() else ""
    url_key = hashlib.sha256(url.encode("utf-8")).hexdigest()
    headers = _request_headers(read_meta(folder), current, url_key)
    # imported here: http and ssl take ~40 ms to import, and only `db update` downloads
    from http import client as http_client
    from urllib import error as url_error
    from urllib import request as url_request

    tmp = temporary_path(target)
    try:
        try:
            response = url_request.urlopen(url_request.Request(url, headers=headers), timeout=TIMEOUT_S)  # noqa: S310  # nosec B310: file:// mirrors are a feature
        except url_error.HTTPError as exc:
            if exc.code == 304:
                return UpdateOutcome(target, shown, False, target.stat().st_size, None)
            raise UpdateError(f"{shown}: HTTP {exc.code} {exc.reason}") from None
        except (url_error.URLError, OSError, ValueError, http_client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise UpdateError(f"cannot download {shown}: {reason}") from None
        with response:
            etag = response.headers.get("ETag") or ""
            last_modified = response.headers.get("Last-Modified") or ""
            size, digest = _stream(response, tmp, shown, progress)
        survey = survey_zip(tmp, now=now)
        if survey.as_of is None:
            name, moment = survey.dated_ahead[0]
            raise UpdateError(
                "every record of the download is dated after this machine's clock "
                f"({name}: modified {moment}, the newest): its age cannot be judged (is the clock right?)"
            )
        if digest == current:
            tmp.unlink()
            changed = False
        else:
            os.replace(tmp, target)
            changed = True
        record = {
            "url": shown,
            "url_sha256": url_key,
            "fetched_at": iso_time(now or dt.datetime.now(dt.timezone.utc)),
            "etag": etag,
            "last_modified": last_modified,
            "sha256": digest,
            "size": size,
            "records": survey.records,
            "pypi_records": survey.pypi_records,
            "packages": survey.packages,
            "as_of": iso_time(survey.as_of) if survey.as_of else "",
        }
        try:
            write_atomic(folder / META_FILE, json.dumps(record, indent=2) + "\n")
        except OSError as exc:
            raise UpdateError(f"cannot write {folder / META_FILE}: {exc.strerror or exc}") from None
        return UpdateOutcome(target, shown, changed, size, survey)
    finally:
        tmp.unlink(missing_ok=True)


def _shown_url(url: str) -> str:
    """``url`` as it may be shown (``display_url``); ``UpdateError`` when it is not http(s) or file,
    cannot be read, or carries credentials."""
    shown = display_url(url)
    if url.split(":", 1)[0].lower() not in ("http", "https", "file"):
        raise UpdateError(f"{shown!r} is not an http://, https:// or file:// URL (--url or ${URL_ENV})")
    try:
        has_user = urllib.parse.urlsplit(url).username is not None
    except ValueError:
        raise UpdateError(f"{url.split(':', 1)[0]}:… is not a readable URL (--url or ${URL_ENV})") from None
    if has_user:
        # urllib does not send them, and its errors would print them
        raise UpdateError(f"{shown}: credentials in the URL are not supported; use a mirror that needs none, or a file:// copy")
    return shown


def _request_headers(meta: Mapping[str, Any], current: str, url_key: str) -> dict[str, str]:
    """The download's headers: conditional (the copy's ETag and Last-Modified) only when the copy
    there (sha256 ``current``) is the one ``meta`` notes, fetched from the same URL (``url_key``)."""
    headers = {"User-Agent": f"gatekeeper/{__version__}"}
    if current and meta.get("sha256") == current and meta.get("url_sha256") == url_key:
        if meta.get("etag"):
            headers["If-None-Match"] = str(meta["etag"])
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = str(meta["last_modified"])
    return headers


def _stream(response: Any, tmp: Path, url: str, progress: ProgressFn | None) -> tuple[int, str]:
    """Copy the body to ``tmp`` (fsynced); (bytes, sha256). A body shorter than its Content-Length
    or a connection dropped mid-way is an ``UpdateError``."""
    from http import client as http_client

    expected_text = response.headers.get("Content-Length")
    expected = int(expected_text) if expected_text and expected_text.isdigit() else None
    h = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "xb") as fh:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                fh.write(chunk)
                h.update(chunk)
                size += len(chunk)
                if progress is not None:
                    progress(size, expected)
            fh.flush()
            os.fsync(fh.fileno())
    except http_client.IncompleteRead as exc:
        raise UpdateError(f"the download of {url} was cut short after {size + len(exc.partial)} bytes") from None
    except (OSError, http_client.HTTPException) as exc:
        raise UpdateError(f"the download of {url} failed after {size} bytes: {exc}") from None
    if expected is not None and size != expected:
        raise UpdateError(f"the download of {url} was cut short: {size} of {expected} bytes")
    return size, h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return ""
    return h.hexdigest()


def describe(path: Path, now: dt.datetime | None = None) -> dict[str, Any]:
    """``db info``: where the database is, where it came from, what it holds and how old its data is.

    A folder written by ``db update`` is read through its zip; any other folder or zip is read as
    ``advisory_db`` would read it. Raises ``ToolError`` when there is no database there.
    """
    db_path = resolve(path)
    if not db_path.exists():
        raise ToolError(f"no advisory database at {path}: create it with `gatekeeper db update --dir {path}`")
    meta = read_meta(path) if db_path != path else {}
    out: dict[str, Any] = {"database": str(db_path), "source": meta.get("url") or "", "fetched_at": meta.get("fetched_at") or ""}
    if db_path.suffix == ".zip" and db_path.is_file() and meta:
        try:
            s = survey_zip(db_path, now=now)
        except UpdateError as exc:
            raise ToolError(f"advisory database {db_path} is damaged: {exc}") from None
        out.update(records=s.records, packages=s.packages, as_of=s.as_of, dated_ahead=list(s.dated_ahead))
    else:
        db = open_database(db_path, now=now)
        try:
            out.update(
                records=db.dated_records, packages=len(db.package_names()), as_of=db.as_of, dated_ahead=list(db.dated_ahead)
            )
        finally:
            db.close()
    as_of = out["as_of"]
    out["age_days"] = age_days(as_of, now) if as_of is not None else None
    out["as_of"] = iso_time(as_of) if as_of is not None else ""
    return out


def age_days(as_of: dt.datetime, now: dt.datetime | None = None) -> float:
    """Days (one decimal) from ``as_of`` to ``now``; never negative (a clock behind the data)."""
    seconds = ((now or dt.datetime.now(dt.timezone.utc)) - as_of).total_seconds()
    return round(max(seconds, 0.0) / 86400, 1)


def progress_bar(stream: Any = None) -> ProgressFn | None:
    """A one-line download bar on a terminal; None (no output) anywhere else, e.g. CI logs."""
    out = stream or sys.stderr
    if not out.isatty():
        return None
    state = {"shown": -1}

    def show(done: int, total: int | None) -> None:
        step = done * 40 // total if total else done >> 20
        if step == state["shown"]:
            return
        state["shown"] = step
        if total:
            bar = "#" * step + "-" * (40 - step)
            out.write(f"\r[{bar}] {done / 1e6:.1f} / {total / 1e6:.1f} MB")
        else:
            out.write(f"\r{done / 1e6:.1f} MB")
        out.flush()

    return show


def display_url(url: str) -> str:
    """``url`` as it may be printed and recorded: a query (a signed URL's token) is masked."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "[REDACTED]" if parts.query else "", ""))


def source_url(option: str | None, env: Mapping[str, str] | None = None) -> str:
    """The export to fetch: ``--url``, else ``$GATEKEEPER_ADVISORY_URL``, else OSV's PyPI export."""
    environ = os.environ if env is None else env
    return (option or environ.get(URL_ENV) or DEFAULT_URL).strip()
