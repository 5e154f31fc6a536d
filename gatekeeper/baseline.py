"""Baselines: the findings that existed when a team adopted the gate, and the metrics of that day.

A baseline holds one entry per finding (two identical lines are two entries: matching counts
fingerprints, it is a multiset) and never a finding about a check as a whole (a threshold, an
aggregate, something that could not be checked: tag ``no-baseline``) or of a check that could not
run. Those would switch a gate off for good; the baseline keeps each check's metric values
instead, so that a policy can ratchet (``min_total = "baseline"``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper import readback
from gatekeeper.errors import UsageError
from gatekeeper.findings import NO_BASELINE, GateResult, Status

BASELINE_VERSION = 1


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: how many findings had each fingerprint, and each check's numeric metrics."""

    fingerprints: Mapping[str, int] = field(default_factory=dict)
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """The number of findings recorded."""
        return sum(self.fingerprints.values())


def baseline_document(result: GateResult) -> dict[str, Any]:
    """The baseline file's content for today's findings and metrics (checks that could not run left out)."""
    entries = sorted(
        (c.name, f.rule_id, f.fingerprint, f.location.path if f.location else (f.package.name if f.package else ""))
        for c in result.checks
        if c.status in (Status.PASS, Status.FAIL)
        for f in c.findings
        if f.fingerprint and NO_BASELINE not in f.tags
    )
    metrics = {
        c.name: {k: v for k, v in sorted(c.metrics.items()) if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for c in result.checks
        if c.status in (Status.PASS, Status.FAIL)
    }
    return {
        "version": BASELINE_VERSION,
        "created_at": result.finished_at,
        "commit": result.repository.get("commit", ""),
        "findings": [{"check": c, "rule_id": r, "fingerprint": fp, "where": w} for c, r, fp, w in entries],
        "metrics": {name: values for name, values in metrics.items() if values},
    }


def load_baseline(path: Path) -> Baseline:
    """The findings and metrics recorded in a baseline file; a missing or malformed file is a UsageError,
    one beyond the reading limits (``readback``) a ``LimitError``."""
    try:
        data = readback.loads(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise UsageError("baseline file not found", file=str(path), hint="create one with 'gatekeeper baseline create'") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"not a gatekeeper baseline: {exc}", file=str(path)) from None
    if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION or not isinstance(data.get("findings"), list):
        raise UsageError("not a gatekeeper baseline (expected version 1 with a findings list)", file=str(path))
    prints = Counter(
        e["fingerprint"]
        for e in data["findings"]
        if isinstance(e, dict) and isinstance(e.get("fingerprint"), str) and e["fingerprint"]
    )
    raw = data.get("metrics") or {}
    if not isinstance(raw, dict):
        raise UsageError("not a gatekeeper baseline (metrics is not a table)", file=str(path))
    metrics = {
        str(check): {str(k): float(v) for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for check, values in raw.items()
        if isinstance(values, dict)
    }
    return Baseline(fingerprints=dict(prints), metrics=metrics)
