"""The audit log: JSON Lines, one record per run, each chained to the previous line by sha256.

Appends hold an exclusive lock and are fsynced; ``verify_log`` finds any edited, deleted,
inserted or reordered record.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekeeper import __version__
from gatekeeper.errors import OutputError
from gatekeeper.findings import GateResult
from gatekeeper.policy import Policy

GENESIS = "0" * 64


def line_digest(line: bytes) -> str:
    """sha256 of one log line as stored (without its newline)."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def build_record(result: GateResult, reports: Mapping[str, str], command: str) -> dict[str, Any]:
    """The record for one run (without ``prev``, which ``append`` adds under the lock)."""
    return {
        "time": result.finished_at,
        "command": command,
        "gatekeeper": __version__,
        "commit": result.repository.get("commit", ""),
        "branch": result.repository.get("branch", ""),
        "policy": {"path": result.policy.get("path", ""), "sha256": result.policy.get("sha256", "")},
        "verdict": result.verdict.value,
        "checks": {
            c.name: {"status": c.status.value, "tool": {"name": c.tool_name, "version": c.tool_version}, "summary": c.summary}
            for c in result.checks
        },
        "waivers": {k: [w.get("id") for w in result.waivers.get(k, [])] for k in ("applied", "expired", "unused")},
        "reports": {Path(p).name: digest for p, digest in sorted(reports.items())},
    }


def append(log: Path, record: Mapping[str, Any]) -> None:
    """Append ``record`` chained to the last line, under an exclusive lock, flushed to disk."""
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot open the audit log {log}: {exc.strerror or exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        prev = GENESIS
        with open(log, "rb") as fh:
            last = b""
            for line in fh:
                if line.strip():
                    last = line
        if last:
            prev = line_digest(last)
        data = dict(record)
        data["prev"] = prev
        os.write(fd, (json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
    except OSError as exc:
        raise OutputError(f"cannot append to the audit log {log}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def append_run(root: Path, policy: Policy, result: GateResult, reports: Mapping[str, str], command: str) -> Path:
    """Append the record of a run to the policy's audit log; return the log's path."""
    log = Path(str(policy.audit["log"]))
    if not log.is_absolute():
        log = root / log
    append(log, build_record(result, reports, command))
    return log


def verify_log(log: Path) -> list[str]:
    """Problems found in the chain, first one first; an empty list means intact."""
    prev = GENESIS
    problems: list[str] = []
    with open(log, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                data = json.loads(line)
            except ValueError:
                return [f"line {lineno}: not valid JSON"]
            if data.get("prev") != prev:
                return [f"line {lineno}: chain broken (a record was edited, deleted, inserted or reordered before it)"]
            prev = line_digest(line)
    return problems
