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


POLICY_V1 = '[gate]\ncontrols = ["nist-ssdf-1.1"]\n\n[checks.coverage]\nmin_total = 85.0\n'
POLICY_V2 = POLICY_V1.replace("min_total = 85.0", "min_total = 90.0")
CONTROL_IDS = ("PS.3", "PW.4", "PW.7", "PW.8", "RV.1")
_CONTROL_CHECKS = {"PS.3": ("sbom",), "PW.4": ("dependencies", "licenses"), "PW.7": ("security",), "PW.8": ("coverage",),
                   "RV.1": ("dependencies",)}  # fmt: skip


def quarter_records(commits: list[tuple[str, str]], start: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One record per ``(commit, branch)`` with what a current gatekeeper records: CI run (GitHub
    Actions: push, pull_request, schedule and tag events), scope (every seventh run ``--only
    security``), control statuses, the policy (its digest changes when the coverage floor goes from
    85 to 90, at the middle run) and waiver terms (a vulnerability waiver that expires, goes stale for
    a while and is renewed; an LGPL license waiver applied throughout)."""
    base = template_record()
    start = start or dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.timezone.utc)
    v1, v2 = (hashlib.sha256(p.encode()).hexdigest() for p in (POLICY_V1, POLICY_V2))
    out = []
    for i, (commit, branch) in enumerate(commits):
        rec = copy.deepcopy(base)
        when = start + dt.timedelta(hours=37 * i)
        rec["time"] = rec["started_at"] = when.isoformat().replace("+00:00", "Z")
        rec["commit"], rec["branch"] = commit, branch
        event = "pull_request" if branch != "main" else ("schedule" if i % 11 == 5 else "push")
        ref = f"refs/heads/{branch}" if event != "pull_request" else f"refs/pull/{i}/merge"
        if i == len(commits) - 1:
            event, ref = "push", "refs/tags/v1.4.0"
        rec["ci"] = {"provider": "github-actions", "run_id": str(9000 + i), "run_attempt": "1", "job": "gate", "workflow": "gate",
                     "run_url": f"https://github.com/acme/shop/actions/runs/{9000 + i}", "ref": ref, "event": event,
                     "repository": "acme/shop"}  # fmt: skip
        partial = i % 7 == 3
        rec["scope"] = {"complete": not partial, "only": ["security"] if partial else [], "skip": [], "left_out": []}
        second_half = i >= len(commits) // 2
        rec["policy"] = {"path": "gatekeeper.toml", "sha256": v2 if second_half else v1}
        checks = rec["checks"]
        floor = 90.0 if second_half else 85.0
        coverage = 84.0 + (i % 9) * 1.1
        checks["coverage"]["metrics"]["total"] = round(coverage, 2)
        checks["coverage"]["metrics"]["thresholds"] = {"min_total": floor, "min_file": 0.0, "min_diff": 0.0}
        statuses = {"coverage": "pass" if coverage >= floor else "fail", "security": "pass", "dependencies": "pass",
                    "sbom": "pass", "licenses": "pass"}  # fmt: skip
        if i % 13 == 12:
            statuses["dependencies"] = "fail"
        checks["security"]["metrics"]["counts"] = {"high": i % 3, "medium": 1, "low": 2 + i % 4}
        checks["dependencies"]["metrics"]["vulnerabilities"] = 1
        checks["licenses"]["metrics"]["packages_by_verdict"] = {"allowed": 40, "denied": 0}
        if partial:
            checks = rec["checks"] = {"security": checks["security"]}
            statuses = {"security": "pass"}
        for name, status in statuses.items():
            checks[name]["status"] = status
            checks[name]["waived"] = 0
        expired = 20 <= i < 26  # the vulnerability waiver lapsed for six runs, then was renewed
        vuln_terms = {"check": "dependencies", "rule": "GHSA-jfhm-5ghh-2f97", "path": "", "package": "urllib3",
                      "reason": "the proxy code path is not used by the shop", "approved_by": "security@acme.example",
                      "expires": "2026-08-01" if i < 26 else "2026-11-30", "findings": 1, "fingerprints": ["f" * 32]}  # fmt: skip
        lgpl_terms = {"check": "licenses", "rule": "LGPL-3.0-only", "path": "", "package": "chardet",
                      "reason": "dynamically linked, not modified", "approved_by": "legal@acme.example",
                      "expires": "2026-12-31", "findings": 1, "fingerprints": ["e" * 32]}  # fmt: skip
        applied = ["w-lgpl-chardet"] + ([] if expired else ["w-urllib3-proxy"])
        rec["waivers"] = {"applied": applied, "expired": ["w-urllib3-proxy"] if expired else [], "unused": []}
        rec["waiver_terms"] = {"w-urllib3-proxy": vuln_terms, "w-lgpl-chardet": lgpl_terms}
        if partial:
            rec["waivers"] = {"applied": [], "expired": [], "unused": []}
            rec["waiver_terms"] = {}
        else:
            checks["licenses"]["waived"] = 1
            if not expired:
                checks["dependencies"]["waived"] = 1
            else:
                statuses["dependencies"] = checks["dependencies"]["status"] = "fail"
        rec["controls"] = _controls(statuses, rec["waivers"]["applied"])
        rec["verdict"] = "fail" if "fail" in statuses.values() else "pass"
        rec["exit_code"] = 1 if rec["verdict"] == "fail" else 0
        rec["dirty"] = i == 17
        out.append(rec)
    return out


def _controls(statuses: dict[str, str], applied: list[str]) -> dict[str, str]:
    excepted = {"dependencies"} if "w-urllib3-proxy" in applied else set()
    excepted |= {"licenses"} if "w-lgpl-chardet" in applied else set()
    out = {}
    for cid, names in _CONTROL_CHECKS.items():
        got = [statuses.get(n) for n in names]
        if "fail" in got:
            out[cid] = "fail"
        elif any(s != "pass" for s in got):
            out[cid] = "not evidenced"
        else:
            out[cid] = "pass with exceptions" if excepted & set(names) else "pass"
    return out
