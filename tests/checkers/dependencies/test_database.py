"""``gatekeeper db update`` / ``db info`` and the age limit on the offline database.

The OSV export is built here (OSV JSON records in a zip, as https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip
is) and served by a loopback HTTP server started in the test, with ETag / Last-Modified and the
failures a real download can meet: a truncated zip, a zip without records, a connection dropped
mid-way. Nothing reaches the internet.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.osv import RECORDS

Project = Callable[..., Path]

NOW = dt.datetime.now(dt.timezone.utc)


def _stamp(days_ago: float) -> str:
    return (NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def export(records: Sequence[Mapping[str, Any]], *, extra: Mapping[str, str] | None = None) -> bytes:
    """An OSV export: one ``<id>.json`` per record, zipped."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rec in records:
            zf.writestr(f"{rec['id']}.json", json.dumps(rec))
        for name, text in (extra or {}).items():
            zf.writestr(name, text)
    return buf.getvalue()


def dated(days_ago: float) -> list[dict[str, Any]]:
    """The test records, the newest modified ``days_ago`` days ago (the others a year before)."""
    out = [{**r, "modified": _stamp(days_ago + 365)} for r in RECORDS]
    out[0]["modified"] = _stamp(days_ago)
    return out


class Export:
    """What the loopback server serves, and the requests it saw."""

    def __init__(self) -> None:
        self.body = b""
        self.etag = ""
        self.last_modified = ""
        self.mode = "ok"  # ok | cut (Content-Length promises more than is sent, then the connection closes)
        self.requests: list[dict[str, str]] = []

    def publish(self, body: bytes, version: int) -> None:
        self.body, self.etag = body, f'"v{version}"'
        self.last_modified = f"Mon, 0{version} Jan 2026 00:00:00 GMT"


@pytest.fixture
def server() -> Iterator[tuple[str, Export]]:
    state = Export()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(dict(self.headers.items()))
            if state.etag and self.headers.get("If-None-Match") == state.etag:
                self.send_response(304)
                self.send_header("ETag", state.etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(state.body)))
            self.send_header("ETag", state.etag)
            self.send_header("Last-Modified", state.last_modified)
            self.end_headers()
            if state.mode == "cut":
                self.wfile.write(state.body[: len(state.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(state.body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/PyPI/all.zip", state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of the commands: a data directory of its own, no proxy, no mirror setting."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_") and "proxy" not in k.lower()}
    out.update({"XDG_DATA_HOME": str(tmp_path / "data"), "NO_PROXY": "127.0.0.1", "NO_COLOR": "1"})
    return out


def gk(args: list[str], env: Mapping[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args], capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=120
    )


def info(folder: Path, env: Mapping[str, str]) -> dict[str, str]:
    done = gk(["db", "info", "--dir", str(folder)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in done.stdout.splitlines())}


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_first_download_then_unchanged_with_one_request_then_a_changed_export(
    server: tuple[str, Export], env: dict[str, str], tmp_path: Path
) -> None:
    url, state = server
    state.publish(export(dated(1)), 1)
    folder = tmp_path / "db"

    done = gk(["db", "update", "--dir", str(folder), "--url", url], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"updated {folder / 'osv-pypi.zip'}: {len(RECORDS)} records" in done.stdout
    assert "If-None-Match" not in state.requests[0]
    assert "\r" not in done.stderr  # no progress bar outside a terminal
    first = (folder / "osv-pypi.zip").read_bytes()
    assert first == state.body
    shown = info(folder, env)
    assert shown["source"] == url and shown["records"] == str(len(RECORDS)) and shown["as of"] == _stamp(1)[:19] + "Z"
    assert shown["packages"] == "8"  # alpha beta-pkg delta foo-bar-baz gamma not-installed safe toolx (one is npm's delta)
    assert shown["age"] == "1 days"
    assert dt.datetime.fromisoformat(shown["fetched at"].replace("Z", "+00:00")) >= NOW - dt.timedelta(minutes=1)

    # unchanged: one conditional request, answered 304, and the database is left alone
    done = gk(["db", "update", "--dir", str(folder), "--url", url], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unchanged" in done.stdout
    assert len(state.requests) == 2
    assert state.requests[1]["If-None-Match"] == '"v1"' and state.requests[1]["If-Modified-Since"] == state.last_modified
    assert (folder / "osv-pypi.zip").read_bytes() == first

    # a changed export replaces it
    newer = [*dated(0), {"id": "NEW-1", "modified": _stamp(0), "affected": [{"package": {"name": "zeta", "ecosystem": "PyPI"}}]}]
    state.publish(export(newer), 2)
    done = gk(["db", "update", "--dir", str(folder), "--url", url], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(RECORDS) + 1} records" in done.stdout
    assert (folder / "osv-pypi.zip").read_bytes() == state.body
    shown = info(folder, env)
    assert shown["records"] == str(len(RECORDS) + 1) and shown["packages"] == "9" and shown["age"] == "0 days"
    assert sorted(p.name for p in folder.iterdir()) == ["gatekeeper-db.json", "osv-pypi.zip"]


@pytest.mark.slow  # end to end: gatekeeper runs as a process
@pytest.mark.parametrize(
    ("mode", "body", "message"),
    [
        ("ok", "truncated", "not a readable zip"),
        ("ok", "no-records", "holds no OSV records"),
        ("ok", "no-pypi", "none about a PyPI package"),
        ("ok", "not-osv", "is not an OSV record"),
        ("cut", "good", "cut short"),
    ],
)
def test_a_bad_or_interrupted_download_leaves_the_previous_database_working(
    mode: str, body: str, message: str, server: tuple[str, Export], env: dict[str, str], tmp_path: Path
) -> None:
    url, state = server
    state.publish(export(dated(1)), 1)
    folder = tmp_path / "db"
    assert gk(["db", "update", "--dir", str(folder), "--url", url], env).returncode == 0
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    good = export(dated(0))
    bodies = {
        "truncated": good[: len(good) // 2],
        "no-records": export([], extra={"README.md": "nothing here"}),
        "no-pypi": export([{"id": "NPM-1", "modified": _stamp(0), "affected": [{"package": {"name": "x", "ecosystem": "npm"}}]}]),
        "not-osv": export(dated(0), extra={"index.json": "[1, 2, 3]"}),
        "good": good,
    }
    state.publish(bodies[body], 2)
    state.mode = mode
    done = gk(["db", "update", "--dir", str(folder), "--url", url], env)
    assert done.returncode == 3, done.stdout + done.stderr
    assert message in done.stderr and f"{folder} was left as it was" in done.stderr
    assert "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing replaced, no temporary file left
    assert info(folder, env)["as of"] == _stamp(1)[:19] + "Z"


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_unreachable_source_and_a_url_that_is_not_http_or_file(env: dict[str, str], tmp_path: Path) -> None:
    done = gk(["db", "update", "--dir", str(tmp_path / "db"), "--url", "http://127.0.0.1:9/all.zip"], env)
    assert done.returncode == 3 and "cannot download http://127.0.0.1:9/all.zip" in done.stderr, done.stderr
    done = gk(["db", "update", "--dir", str(tmp_path / "db"), "--url", "ftp://example.invalid/all.zip"], env)
    assert done.returncode == 3 and "not an http://, https:// or file:// URL" in done.stderr, done.stderr
    assert not (tmp_path / "db" / "osv-pypi.zip").exists()


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_credentials_and_signed_urls_are_never_printed_or_recorded(
    server: tuple[str, Export], env: dict[str, str], tmp_path: Path
) -> None:
    url, state = server
    done = gk(["db", "update", "--dir", str(tmp_path / "db"), "--url", url.replace("//", "//mirror:hunter2secret@")], env)
    assert done.returncode == 3 and "credentials in the URL are not supported" in done.stderr, done.stderr
    assert "hunter2secret" not in done.stdout + done.stderr
    state.publish(export(dated(0)), 1)
    done = gk(["db", "update", "--dir", str(tmp_path / "db"), "--url", url + "?X-Goog-Signature=deadbeef00"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    meta = (tmp_path / "db" / "gatekeeper-db.json").read_text()
    assert "deadbeef00" not in done.stdout + done.stderr + meta
    assert info(tmp_path / "db", env)["source"] == url + "?[REDACTED]"


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_file_mirror_from_the_environment_into_the_default_folder(env: dict[str, str], tmp_path: Path) -> None:
    mirror = tmp_path / "usb" / "all.zip"
    mirror.parent.mkdir()
    mirror.write_bytes(export(dated(2)))
    env["GATEKEEPER_ADVISORY_URL"] = mirror.as_uri()
    default = tmp_path / "data" / "gatekeeper" / "advisory-db"

    done = gk(["db", "update"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"updated {default / 'osv-pypi.zip'}" in done.stdout
    assert (default / "osv-pypi.zip").read_bytes() == mirror.read_bytes()
    done = gk(["db", "update"], env)  # a file has no ETag: the same bytes are "unchanged"
    assert done.returncode == 0 and "unchanged" in done.stdout, done.stdout + done.stderr
    shown = info(default, env)
    assert shown["source"] == mirror.as_uri() and shown["age"] == "2 days"


def test_db_update_and_info_leave_out_a_record_dated_ahead_of_the_clock(tmp_path: Path) -> None:
    """A record modified "in 600 days" (as PyPA's PYSEC-2025-19 says 2027-07-09) is not the export's
    as-of time: `db update` and `db info` give the newest record before the clock, and name the one
    they left out; an export whose every record is dated ahead is refused, the previous database kept."""
    from tests.helpers.cli import invoke_gatekeeper

    records = dated(3)
    future = (NOW + dt.timedelta(days=600)).strftime("%Y-%m-%dT%H:%M:%SZ")
    records.append({**records[0], "id": "TEST-AHEAD", "modified": future})
    mirror, folder = tmp_path / "all.zip", tmp_path / "db"
    mirror.write_bytes(export(records))
    done = invoke_gatekeeper(["db", "update", "--dir", str(folder), "--url", mirror.as_uri()], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"as of {_stamp(3)[:19]}Z (3 days old)" in done.stdout
    note = f"1 record is dated after this run's clock (TEST-AHEAD.json: modified {future}), not counted for the database's age"
    assert note in done.stdout
    assert json.loads((folder / "gatekeeper-db.json").read_text())["as_of"] == _stamp(3)[:19] + "Z"
    done = invoke_gatekeeper(["db", "info", "--dir", str(folder)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    shown = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in done.stdout.splitlines())}
    assert shown["as of"] == _stamp(3)[:19] + "Z" and shown["age"] == "3 days" and shown["dated ahead"] == note

    before = (folder / "osv-pypi.zip").read_bytes()
    mirror.write_bytes(export([{**r, "modified": future} for r in records]))
    done = invoke_gatekeeper(["db", "update", "--dir", str(folder), "--url", mirror.as_uri()], tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "every record of the download is dated after this machine's clock" in done.stderr
    assert "was left as it was" in done.stderr and (folder / "osv-pypi.zip").read_bytes() == before


#: the process's own peak (VmHWM), never getrusage's ru_maxrss: Linux carries that over exec from the
#: parent, so under a pytest worker grown to 200 MB a 40 MB gatekeeper read as 200 MB
_PEAK_RSS = (
    "import sys\nfrom gatekeeper.cli import run\ntry:\n    run()\nexcept SystemExit as exc:\n"
    "    hwm = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
    "    print('peak-rss-kb', hwm, file=sys.stderr)\n    raise\n"
)


def test_a_zip_bomb_is_refused_naming_its_member_in_bounded_memory(env: dict[str, str], tmp_path: Path) -> None:
    """A 300 KB export holding a record that inflates to 300 MB: refused before it is inflated."""
    bomb = tmp_path / "all.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for record in dated(1):
            zf.writestr(f"{record['id']}.json", json.dumps(record))
        with zf.open("GHSA-bomb.json", "w", force_zip64=True) as fh:
            for _ in range(300):
                fh.write(b" " * (1 << 20))
    assert bomb.stat().st_size < 400_000
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, "db", "update", "--dir", str(tmp_path / "db"), "--url", bomb.as_uri()],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "GHSA-bomb.json is 314572800 bytes uncompressed, more than the 8388608 allowed" in done.stderr
    assert not (tmp_path / "db" / "osv-pypi.zip").exists()
    peak_mb = int(done.stderr.split("peak-rss-kb ")[1].split()[0]) // 1024
    assert peak_mb < 150, peak_mb  # inflating it (as before) took over 600 MB


def test_a_member_lying_about_its_size_and_the_total_are_capped(tmp_path: Path) -> None:
    from gatekeeper.checkers.dependencies.database import UpdateError, survey_zip

    good = tmp_path / "good.zip"
    good.write_bytes(export(dated(1)))
    with pytest.raises(UpdateError, match=r"inflates to more than 100 bytes in all \(at "):
        survey_zip(good, total_limit=100)
    assert survey_zip(good).records == len(dated(1))
    liar = bytearray(export([{**dated(1)[0], "details": "x" * 100_000}]))
    at = liar.find(b"PK\x01\x02")  # the central directory says 1,000 bytes; the stream holds 100 KB
    liar[at + 24 : at + 28] = (1000).to_bytes(4, "little")
    (tmp_path / "liar.zip").write_bytes(bytes(liar))
    with pytest.raises(UpdateError, match=r"cannot be read|not JSON"):
        survey_zip(tmp_path / "liar.zip")


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_progress_bar_on_a_terminal(server: tuple[str, Export], env: dict[str, str], tmp_path: Path) -> None:
    import pty

    url, state = server
    state.publish(export(dated(0)), 1)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatekeeper", "db", "update", "--dir", str(tmp_path / "db"), "--url", url],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=120) == 0
    os.close(master)
    assert b"\r[" in seen and b"] " in seen and b" MB" in seen


# --------------------------------------------------------------------------- the age limit in the gate


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_auto_database_missing_says_how_to_create_it(deps_project: Project, env: dict[str, str]) -> None:
    root = deps_project(checks='advisory_db = "auto"', environment='scope = "project"')
    done = gk(["check", str(root), "--only", "dependencies", "--no-audit", "--format", "json"], env)
    assert done.returncode == 3, done.stdout + done.stderr
    (check,) = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())["checks"]
    assert check["status"] == "error"
    assert "gatekeeper/advisory-db" in check["error"] and "`gatekeeper db update`" in check["error"]


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_stale_database_fails_the_gate_and_a_fresh_one_is_named_in_every_report(
    server: tuple[str, Export], deps_project: Project, env: dict[str, str]
) -> None:
    url, state = server
    state.publish(export(dated(30)), 1)
    assert gk(["db", "update", "--url", url], env).returncode == 0
    root = deps_project(checks='advisory_db = "auto"', environment='scope = "project"')
    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text().replace("enabled = false", 'enabled = true\nlog = "audit.jsonl"'))
    cmd = ["check", str(root), "--only", "dependencies", "--format", "json,sarif,html,markdown,junit"]

    done = gk(cmd, env)
    assert done.returncode == 3, done.stdout + done.stderr
    (check,) = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())["checks"]
    assert check["status"] == "error"
    assert "is 30 days old" in check["error"] and f"modified {_stamp(30)[:19]}Z" in check["error"]
    assert "max_db_age_days = 7" in check["error"] and "run `gatekeeper db update`" in check["error"]
    assert "is 30 days old" in done.stdout  # the console's error line

    # the limit raised: the gate runs, and every report says which database it read and how old it is
    policy.write_text(policy.read_text().replace('advisory_db = "auto"', 'advisory_db = "auto"\nmax_db_age_days = 45'))
    done = gk(cmd, env)
    assert done.returncode == 1, done.stdout + done.stderr
    as_of = _stamp(30)[:19] + "Z"
    (check,) = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())["checks"]
    db = check["metrics"]["database"]
    assert check["metrics"]["db_as_of"] == as_of == db["as_of"]
    assert db["age_days"] == 30 and db["max_age_days"] == 45 and db["source_url"] == url
    assert db["location"].endswith("gatekeeper/advisory-db/osv-pypi.zip")
    summary = f"database as of {as_of[:10]}, 30 days old"
    assert summary in check["summary"] and summary in " ".join(done.stdout.split())  # the console wraps at 80 columns
    reports = root / "gatekeeper-reports"
    for name in ("gatekeeper.md", "gatekeeper.junit.xml", "gatekeeper.sarif"):
        assert summary in (reports / name).read_text(), name
    html = (reports / "gatekeeper.html").read_text()
    assert "Database as of" in html and f"{as_of} (30 days old)" in html and "≤ 45 days old" in html
    record = json.loads((root / "audit.jsonl").read_text().splitlines()[-1])
    audited = record["checks"]["dependencies"]["metrics"]
    assert audited["db_as_of"] == as_of and audited["database"]["age_days"] == 30


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_any_folder_is_judged_by_its_records_and_one_without_dates_is_an_error(
    deps_project: Project, env: dict[str, str]
) -> None:
    root = deps_project(checks='advisory_db = "old-copy"', environment='scope = "project"')
    folder = root / "old-copy" / "vulns" / "alpha"
    folder.mkdir(parents=True)
    for rec in dated(400):  # a snapshot copied around, its files touched today
        (folder / f"{rec['id']}.json").write_text(json.dumps(rec))
    done = gk(["check", str(root), "--only", "dependencies", "--no-audit", "--format", "json"], env)
    assert done.returncode == 3, done.stdout + done.stderr
    (check,) = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())["checks"]
    assert "is 400 days old" in check["error"] and "gatekeeper db update --dir DIR" in check["error"]

    for rec in RECORDS:  # the same records without a modified time: their age cannot be known
        (folder / f"{rec['id']}.json").write_text(json.dumps(rec))
    done = gk(["check", str(root), "--only", "dependencies", "--no-audit", "--format", "json"], env)
    assert done.returncode == 3, done.stdout + done.stderr
    (check,) = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())["checks"]
    assert "readable 'modified' time" in check["error"] and "nothing was audited" in check["error"]


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_max_db_age_days_below_one_is_a_policy_error(deps_project: Project, env: dict[str, str]) -> None:
    root = deps_project(checks='advisory_db = "auto"\nmax_db_age_days = 0')
    done = gk(["policy", "validate"], env, cwd=root)
    assert done.returncode == 2
    assert "checks.dependencies.max_db_age_days" in done.stderr and "at least 1" in done.stderr
