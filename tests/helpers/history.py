"""Audit logs for the history page: many runs with changing metrics, chained as ``audit.append`` chains them.

Each record starts from ``audit.build_record`` of a realistic run (samples.failing_result), so
its shape is the real one; the numbers then drift run by run (coverage climbs, vulnerabilities come and
go, waivers are granted, expire and go unused) the way a quarter of CI history would.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from gatekeeper.audit import GENESIS, build_record, line_digest, sign
from tests.helpers.samples import failing_result


def template_record() -> dict[str, Any]:
    """One real record (of the failing sample run) to vary."""
    result = replace(failing_result(), extra={"actor": {"name": "octocat", "source": "test"}, "ci": None})
    return build_record(result, {"gatekeeper-reports/gatekeeper.json": "cd" * 32}, "check")


def history_records(n: int, start: dt.datetime | None = None) -> list[dict[str, Any]]:
    """``n`` records, six hours apart, with metrics that change over time."""
    base = template_record()
    start = start or dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.timezone.utc)
    out = []
    for i in range(n):
        rec = copy.deepcopy(base)
        when = start + dt.timedelta(hours=6 * i)
        rec["time"] = rec["started_at"] = when.isoformat().replace("+00:00", "Z")
        rec["commit"] = hashlib.sha1(f"commit {i}".encode()).hexdigest()  # noqa: S324  # nosec B324: a made-up commit id
        rec["branch"] = "main" if i % 3 else f"feature/change-{i}"
        rec["actor"] = {"name": ("octocat", "hubot", "mona")[i % 3], "source": "test"}
        checks = rec["checks"]
        coverage = min(95.0, 62.0 + i * 30.0 / max(n, 1) + (i % 5) * 0.4)
        checks["coverage"]["metrics"]["total"] = round(coverage, 2)
        checks["coverage"]["status"] = "pass" if coverage >= 80 else "fail"
        vulns = (i // 7) % 4 if i < n * 0.8 else 0
        checks["dependencies"]["metrics"]["vulnerabilities"] = vulns
        checks["dependencies"]["status"] = "fail" if vulns else "pass"
        high, medium, low = max(0, 6 - i * 12 // max(n, 1)), (i // 4) % 5 if i < n * 0.7 else 0, 3 + i % 4
        checks["security"]["metrics"]["counts"] = {"high": high, "medium": medium, "low": low}
        checks["security"]["status"] = "fail" if high or medium else "pass"
        denied = 1 if i < n // 3 else 0
        checks["licenses"]["metrics"]["packages_by_verdict"] = {"allowed": 40, "denied": denied}
        checks["licenses"]["status"] = "fail" if denied else "pass"
        if i % 10 == 9:
            checks["sbom"]["status"] = "error"
            checks["sbom"]["error"] = "cyclonedx-py timed out"
        statuses = [c["status"] for c in checks.values()]
        rec["verdict"] = "error" if "error" in statuses else "fail" if "fail" in statuses else "pass"
        rec["waivers"] = {
            "applied": ["w-asserts"] + (["w-legacy-gpl"] if i < n // 3 else []),
            "expired": ["w-legacy-gpl"] if i >= n // 3 else [],
            "unused": ["w-old-cve"] if i >= n // 2 else [],
        }
        out.append(rec)
    return out


def write_log(path: Path, records: list[dict[str, Any]], key: bytes | None = None) -> str:
    """Write ``records`` as a chained (and, with ``key``, signed) audit log; return the head digest."""
    prev = GENESIS
    lines = []
    for seq, record in enumerate(records, 1):
        data = {k: v for k, v in record.items() if k not in ("seq", "prev", "sig")}
        data["seq"], data["prev"] = seq, prev
        if key:
            data["sig"] = sign(data, key)
        line = json.dumps(data, sort_keys=True, ensure_ascii=False)
        prev = line_digest(line.encode("utf-8"))
        lines.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return prev
