"""Reading what a run wrote into a project's gatekeeper-reports/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def report(root: Path, name: str = "gatekeeper.json") -> dict[str, Any]:
    """The JSON report of the last run in ``root``."""
    data: dict[str, Any] = json.loads((root / "gatekeeper-reports" / name).read_text(encoding="utf-8"))
    return data


def statuses(data: dict[str, Any]) -> dict[str, str]:
    """{check: status} from a JSON report."""
    return {c["name"]: c["status"] for c in data["checks"]}


def check_of(root: Path, name: str) -> dict[str, Any]:
    """The check called ``name`` in the project's JSON report."""
    check: dict[str, Any] = next(c for c in report(root)["checks"] if c["name"] == name)
    return check


def record_syncs(monkeypatch: Any) -> list[str]:
    """The order in which files are synced (``"fsync"``) and renamed into place (``"replace"``) from now
    on, each call recorded as it happens (the real ``os.fsync`` and ``os.replace`` still run)."""
    import os
    import threading

    events: list[str] = []
    lock = threading.Lock()
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        with lock:
            events.append("fsync")
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        with lock:
            events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events
