"""The advisory database's digest: in-toto's dirHash1 as the documented shell pipeline computes it,
reused from the authenticated cache only while every file's stat data is unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from gatekeeper.checkers import cache as cache_module
from gatekeeper.checkers.dependencies import digest
from gatekeeper.checkers.dependencies.advisories import open_database
from gatekeeper.checkers.dependencies.digest import content_digest
from gatekeeper.errors import ToolError
from tests.helpers.osv import RECORDS, write_db

PIPELINE = "find . -type f | cut -c3- | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -f1 -d' '"


def _by_hand(folder: Path) -> str:
    return subprocess.run(["bash", "-c", PIPELINE], cwd=folder, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The files hashed by ``content_digest`` (a file written before the call is not racy)."""
    seen: list[bytes] = []
    real = digest._sha256

    def counting(path: bytes) -> str:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(digest, "_sha256", counting)
    monkeypatch.setattr(digest, "RACY_NS", 0)
    return seen


def _tree(tmp_path: Path) -> Path:
    db = write_db(tmp_path, RECORDS, "pypa")
    (db / ".hidden").mkdir()
    (db / ".hidden" / "note.txt").write_text("counted: find lists hidden files\n")
    (db / "Zeta.json").write_text("{}")  # upper case sorts before lower case in the C locale
    (db / "link.yaml").symlink_to(db / "Zeta.json")  # find -type f lists no link
    (db / "dirlink").symlink_to(db / ".hidden", target_is_directory=True)
    return db


def test_dirhash1_is_what_the_documented_pipeline_prints(tmp_path: Path) -> None:
    db = _tree(tmp_path)
    assert content_digest(db) == {"dirHash1": _by_hand(db)}
    # the files the database's own walk lists (records: no dot file, links followed) give the same digest
    opened = open_database(db)
    assert ".hidden/note.txt" not in opened.files and "link.yaml" in opened.files
    assert content_digest(db, None, opened.regular_files) == {"dirHash1": _by_hand(db)}
    archive = tmp_path / "db.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("A-1.json", json.dumps(RECORDS[0]))
    assert content_digest(archive) == {"sha256": hashlib.sha256(archive.read_bytes()).hexdigest()}


def test_the_records_the_index_read_are_not_read_again_for_the_digest(tmp_path: Path, hashed: list[bytes]) -> None:
    db = _tree(tmp_path)
    opened = open_database(db)  # the index is built: every record file is read once
    assert b"link.yaml" in opened.read_digests  # read as a record, through the link: the digest lists no link
    assert content_digest(db, None, opened.regular_files, opened.read_digests) == {"dirHash1": _by_hand(db)}
    # only the regular files that are no records (dot files, other suffixes) were read for it
    assert sorted(os.path.relpath(p, os.fsencode(db)) for p in hashed) == [b".hidden/note.txt"]
    # a record rewritten after the index read it: the digest is of the bytes the index read, and the
    # index of a later run (its stat data changed) reads it again
    (db / "Zeta.json").write_text('{"id": "X"}')
    again = open_database(db)
    assert content_digest(db, None, again.regular_files, again.read_digests) == {"dirHash1": _by_hand(db)}


def test_a_digest_is_reused_only_while_no_file_changes(tmp_path: Path, hashed: list[bytes]) -> None:
    db = _tree(tmp_path)
    cache = tmp_path / "cache"
    first = content_digest(db, cache)
    files = len(hashed)
    assert first == {"dirHash1": _by_hand(db)} and files > len(RECORDS)
    # unchanged: nothing is read again
    assert content_digest(db, cache) == first and len(hashed) == files

    # one record's content changes, its size and mtime set back: the ctime still tells
    record = next(p for p in sorted(db.rglob("*.yaml")) if not p.is_symlink())
    before = record.stat()
    text = record.read_bytes()
    record.write_bytes(text.replace(b"1", b"2", 1))
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = record.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    changed = content_digest(db, cache)
    assert changed == {"dirHash1": _by_hand(db)} != first
    assert len(hashed) == 2 * files

    # a file added, then removed
    (db / "extra.json").write_text("{}")
    assert content_digest(db, cache) == {"dirHash1": _by_hand(db)}
    (db / "extra.json").unlink()
    assert content_digest(db, cache) == changed


def test_a_forged_or_foreign_entry_is_never_believed(tmp_path: Path, hashed: list[bytes]) -> None:
    db = _tree(tmp_path)
    cache = tmp_path / "cache"
    truth = content_digest(db, cache)
    (entry,) = (cache / "advisory-digest").rglob("*.json")
    stored = json.loads(entry.read_text())
    assert stored["payload"] == truth
    # the payload swapped for another digest, its MAC kept: rejected, and the files hashed again
    stored["payload"] = {"dirHash1": "0" * 64}
    entry.write_text(json.dumps(stored))
    hashed.clear()
    assert content_digest(db, cache) == truth and hashed
    # an entry made under another secret (another user's cache, a copy committed to the repository) is no better
    forged = json.loads(entry.read_text())
    forged["payload"] = {"dirHash1": "1" * 64}
    forged["mac"] = cache_module._mac(b"another-secret-" + b"9" * 32, forged["key"], forged["payload"])
    entry.write_text(json.dumps(forged))
    hashed.clear()
    assert content_digest(db, cache) == truth and hashed


def test_files_changed_within_the_racy_window_are_hashed_but_not_stored(tmp_path: Path) -> None:
    db = write_db(tmp_path, RECORDS, "flat")
    cache = tmp_path / "cache"
    assert content_digest(db, cache) == {"dirHash1": _by_hand(db)}
    assert not list((cache / "advisory-digest").rglob("*.json"))


def test_a_record_linked_from_outside_the_folder_is_refused_the_digest_would_not_cover_it(tmp_path: Path) -> None:
    db = _tree(tmp_path)
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps(RECORDS[0]))
    (db / "outside.json").symlink_to(outside)
    first = content_digest(db)
    outside.write_text(json.dumps({**RECORDS[0], "id": "OTHER-1"}))
    assert content_digest(db) == first  # dirHash1 lists no link: the digest cannot tell the two apart
    with pytest.raises(ToolError, match=r"outside\.json is a link to .*elsewhere\.json, outside the database folder"):
        open_database(db)
