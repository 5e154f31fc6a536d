"""Baselines: the fingerprints of findings that existed when a team adopted the gate."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gatekeeper.errors import UsageError
from gatekeeper.findings import GateResult

BASELINE_VERSION = 1


def baseline_document(result: GateResult) -> dict[str, Any]:
    """The baseline file's content for today's findings (every finding, blocking or not)."""
    entries = sorted(
        {
            (c.name, f.rule_id, f.fingerprint, f.location.path if f.location else (f.package.name if f.package else ""))
            for c in result.checks
            for f in c.findings
            if f.fingerprint
        }
    )
    return {
        "version": BASELINE_VERSION,
        "created_at": result.finished_at,
        "commit": result.repository.get("commit", ""),
        "findings": [{"check": c, "rule_id": r, "fingerprint": fp, "where": w} for c, r, fp, w in entries],
    }


def load_baseline(path: Path) -> frozenset[str]:
    """The fingerprints recorded in a baseline file; a missing or malformed file is a UsageError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("baseline file not found", file=str(path), hint="create one with 'gatekeeper baseline create'") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"not a gatekeeper baseline: {exc}", file=str(path)) from None
    if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION or not isinstance(data.get("findings"), list):
        raise UsageError("not a gatekeeper baseline (expected version 1 with a findings list)", file=str(path))
    prints: Iterable[Any] = (e.get("fingerprint") for e in data["findings"] if isinstance(e, dict))
    return frozenset(p for p in prints if isinstance(p, str) and p)
