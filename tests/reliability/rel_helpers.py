"""Helpers the reliability tests share (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

#: a ``modified`` time for the advisory records the tests write: the gate rejects a database
#: whose newest record is older than max_db_age_days (7 by default)
FRESH = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a CI job would give gatekeeper (no CI variables, no colour, UTF-8 output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATEKEEPER_", "COVERAGE_"))}
    env.pop("CI", None)
    env.update({"NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"})
    env.update(extra or {})
    return env


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def report(root: Path, name: str = "gatekeeper.json") -> dict[str, Any]:
    """The JSON report of the last run in ``root``."""
    return json.loads((root / "gatekeeper-reports" / name).read_text(encoding="utf-8"))


def statuses(data: dict[str, Any]) -> dict[str, str]:
    """{check: status} from a JSON report."""
    return {c["name"]: c["status"] for c in data["checks"]}
