"""Offline mode: which local OSV database the ``advisory_db`` setting names, and whether it is current enough."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gatekeeper.background import in_background
from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.dependencies import database as advisory_db
from gatekeeper.checkers.dependencies.advisories import NEWEST_KEPT, AdvisoryDatabase, iso_time, open_database
from gatekeeper.errors import ToolError
from gatekeeper.fileio import under


def database_path(setting: str, ctx: CheckContext) -> tuple[Path, str]:
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


def judge_age(db: AdvisoryDatabase, refresh: str, max_days: int, digest: dict[str, str]) -> dict[str, Any]:
    """The ``database`` metric (location, as-of time, age, limit, the database's ``digest``, and the
    records ``dated_ahead`` of the run's clock, which count for nothing); ToolError when the newest
    record not dated ahead is older than ``max_days``, or no record carries a readable ``modified``
    time that is not ahead of the clock."""
    ahead = ahead_note(db.dated_ahead)
    if db.as_of is None:
        if db.dated_ahead:
            rest = (
                f"as are the {len(db.dated_ahead)} newest of its {db.dated_records} dated records"
                if db.dated_records > len(db.dated_ahead)
                else "and no other record carries a readable 'modified' time"
            )
            raise ToolError(
                f"advisory database {db.path}: {ahead}, {rest}, so how current it is cannot be known "
                "(is this machine's clock right?); nothing was audited"
            )
        raise ToolError(
            f"advisory database {db.path}: none of its {len(db.files)} files is an OSV record with a readable "
            "'modified' time, so how current it is cannot be known; nothing was audited"
        )
    age = advisory_db.age_days(db.as_of)
    as_of = iso_time(db.as_of)
    if age > max_days:
        raise ToolError(
            f"the advisory database is {age:g} days old (newest record modified {as_of}; the limit is "
            f"checks.dependencies.max_db_age_days = {max_days}): advisories published since then would be missed"
            f"{f' ({ahead})' if ahead else ''}. Database: {db.path}. To update it, {refresh}"
        )
    info: dict[str, Any] = {"kind": "osv-db", "location": str(db.path), "as_of": as_of, "age_days": age, "max_age_days": max_days}
    info["digest"] = digest  # which data the verdict rests on (attestations, bundles)
    if db.dated_ahead:
        info["dated_ahead"] = [{"record": name, "modified": moment} for name, moment in db.dated_ahead]
    meta = advisory_db.read_meta(db.path.parent) if db.path.name == advisory_db.DB_FILE else {}
    if meta.get("url"):
        info["source_url"] = str(meta["url"])
    if meta.get("fetched_at"):
        info["fetched_at"] = str(meta["fetched_at"])
    return info


def ahead_note(ahead: Sequence[tuple[str, str]]) -> str:
    """Words for the records dated after the run's clock (newest first), or "" when there are none:
    how many, the newest, and that they did not count towards the data's age."""
    if not ahead:
        return ""
    name, moment = ahead[0]
    few = "1 record is" if len(ahead) == 1 else f"{len(ahead)}{'+' if len(ahead) >= NEWEST_KEPT else ''} records are"
    return (
        f"{few} dated after this run's clock ({name}: modified {moment}{', the newest' if len(ahead) > 1 else ''}), "
        "not counted for the database's age"
    )


class Opening:
    """The database the ``advisory_db`` setting names, opened and digested in a thread of its own
    while the checker waits for the environment's inventory (a subprocess). ``result`` hands it
    over, or raises what opening it raised, where the checker would have opened it itself."""

    def __init__(self, setting: str, ctx: CheckContext) -> None:
        self._setting, self._ctx = setting, ctx
        self._wait = in_background(self._open, f"{threading.current_thread().name}-osv-db")

    def _open(self) -> tuple[AdvisoryDatabase, str, dict[str, str], float]:
        t0 = time.perf_counter()
        path, refresh = database_path(self._setting, self._ctx)
        db = open_database(path, self._ctx.cache_dir)
        try:
            # reused while no file's stat data changed (``digest``)
            digest = advisory_db.content_digest(db.path, self._ctx.cache_dir, db.regular_files, db.read_digests)
        except BaseException:
            db.close()
            raise
        return db, refresh, digest, time.perf_counter() - t0

    def result(self) -> tuple[AdvisoryDatabase, str, dict[str, str], float]:
        """(the opened database, how to refresh it, its digest, seconds spent opening it)."""
        return self._wait()

    def discard(self) -> None:
        """Wait for the opening and close what it opened (the checker failed before using it)."""
        try:
            opened = self._wait()
        except BaseException:  # nothing was opened: the checker raises its own error
            return
        opened[0].close()
