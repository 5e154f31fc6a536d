"""The audit history as CSV (runs, exceptions, findings) and the kept reports a record names.

A record lists each report its run wrote with the report's sha256; a report is *kept* when a file
with that digest is found in a folder given to ``audit report --reports`` (e.g. CI artifacts
downloaded per run) or still at its recorded place: found by content, a report that was edited or
swapped is never taken for the run's. The findings CSV lists the findings of every run of the period
whose ``gatekeeper.json`` was kept; the other runs are counted, never guessed at.

Cells are neutralised for spreadsheets: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return gets a leading apostrophe, so a branch name cannot become a formula.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper.gated import GatedChanges
from gatekeeper.history_period import exceptions
from gatekeeper.history_run import Run

#: files larger than this are not hashed when looking for kept reports
MAX_REPORT_BYTES = 256 * 1024 * 1024
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def find_reports(
    folders: Sequence[Path], digests: Iterable[str], names: Iterable[str] = (), root: Path | None = None
) -> dict[str, Path]:
    """``{sha256: file}`` for each of ``digests`` found among the files under ``folders`` or at the
    recorded report ``names`` under ``root``."""
    wanted = set(digests)
    found: dict[str, Path] = {}
    candidates: list[Path] = [root / n for n in sorted(set(names))] if root is not None else []
    for folder in folders:
        for top, _dirs, files in os.walk(folder):
            candidates.extend(Path(top) / f for f in sorted(files))
    for path in candidates:
        if wanted <= set(found):
            break
        try:
            if not path.is_file() or path.stat().st_size > MAX_REPORT_BYTES:
                continue
            digest = _sha256(path)
        except OSError:
            continue
        if digest in wanted:
            found.setdefault(digest, path)
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


_METRIC_HEADS = (
    "coverage_total",
    "vulnerabilities",
    "security_high",
    "security_medium",
    "security_low",
    "licenses_denied",
    "coverage_min",
)


def runs_csv(runs: Sequence[Run]) -> str:
    """One row per run of the period, in log order."""
    checks = sorted({n for r in runs for n in r.checks})
    header = ["seq", "time_utc", "command", "verdict", "status", "complete", "scope", "commit", "branch", "event", "actor",
              "ci_run", "ci_url", "policy_sha256", "dirty", *[f"check_{n}" for n in checks], *_METRIC_HEADS,
              "waivers_applied", "waivers_expired", "waivers_unused", "controls", "reports", "chain"]  # fmt: skip
    rows: list[list[Any]] = []
    for r in runs:
        if r.invalid:
            rows.append([r.seq, "", "", "", "not a valid record", "", "", "", "", "", "", "", "", "", None]
                        + [""] * (len(checks) + len(_METRIC_HEADS) + 5) + ["suspect" if r.suspect else "verified"])  # fmt: skip
            continue
        rows.append(
            [r.seq, r.time, r.command, r.verdict, r.status, not r.scope, r.scope, r.commit, r.branch, r.event, r.actor,
             r.ci_label, r.ci_url, r.policy, r.dirty, *[r.checks.get(n, "") for n in checks], *r.metrics,
             " ".join(r.applied), " ".join(r.expired), " ".join(r.unused),
             "; ".join(f"{k}={v}" for k, v in sorted(r.controls.items())),
             " ".join(f"{k}={v}" for k, v in sorted(r.reports.items())), "suspect" if r.suspect else "verified"]
        )  # fmt: skip
    return _csv(header, rows)


def gated_csv(gated: GatedChanges) -> str:
    """One row per commit of the branch's first-parent history in the period (newest first): its status
    (gated, qualified pass, not gated, no run), what kind of pass gated it, and its runs."""
    header = ["commit", "committed", "author", "subject", "status", "kind_of_pass", "runs"]
    rows = [[c.sha, c.date, c.author, c.subject, c.status, c.kind, "; ".join(c.runs)] for c in gated.commits]
    return _csv(header, rows)


def exceptions_csv(runs: Sequence[Run]) -> str:
    """One row per waiver the period's runs mention (see ``history_period.exceptions``)."""
    header = ["waiver", "check", "covers", "reason", "approved_by", "expires", "first_seen", "first_use", "last_use",
              "runs_applied", "findings_covered", "distinct_fingerprints", "renewals", "state_at_end", "runs_expired",
              "runs_unused"]  # fmt: skip
    rows = [
        [w.id, w.check, w.covers, w.reason, w.approved_by, w.expires, w.first_seen, w.first_use, w.last_use, w.runs,
         w.findings, len(w.fingerprints), " | ".join(w.renewals), w.state, w.expired_runs, w.unused_runs]
        for w in exceptions(runs)
    ]  # fmt: skip
    return _csv(header, rows)


@dataclass(frozen=True)
class FindingsExport:
    """The findings CSV and how many runs it covers (``kept``) or could not (``not_kept``)."""

    text: str
    kept: int
    not_kept: int


def findings_csv(runs: Sequence[Run], kept: Mapping[str, Path]) -> FindingsExport:
    """One row per finding of each run whose ``gatekeeper.json`` was kept (``kept``: sha256 -> file)."""
    header = ["seq", "time_utc", "commit", "branch", "check", "severity", "state", "rule", "path", "line", "package",
              "version", "message", "waiver", "fingerprint"]  # fmt: skip
    rows: list[list[Any]] = []
    found = missing = 0
    for r in runs:
        data = _kept_result(r.reports, kept)
        if data is None:
            missing += 0 if r.invalid else 1
            continue
        found += 1
        for check in data["checks"]:
            for f in check.get("findings", []) if isinstance(check, dict) else []:
                if isinstance(f, dict):
                    rows.append([r.seq, r.time, r.commit, r.branch, check.get("name"), *_finding_cells(f)])
    return FindingsExport(_csv(header, rows), found, missing)


def _kept_result(reports: Mapping[str, str], kept: Mapping[str, Path]) -> dict[str, Any] | None:
    """The run's kept JSON result: among its kept ``.json`` reports (``gatekeeper.json`` first), the
    first that is a result (a verdict and a list of checks), not e.g. an attestation."""
    names = sorted((n for n in reports if n.endswith(".json")), key=lambda n: (n.rsplit("/", 1)[-1] != "gatekeeper.json", n))
    for name in names:
        path = kept.get(reports[name])
        if path is None:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(data, dict) and isinstance(data.get("checks"), list) and isinstance(data.get("verdict"), str):
            return _without_secret_digests(data)
    return None


def _without_secret_digests(data: dict[str, Any]) -> dict[str, Any]:
    """A kept result as ``secretprints.upgraded`` reads it: one an earlier gatekeeper wrote with a
    hash of each secret (or the password bandit quoted) in its findings is listed without them.
    One that cannot be read as a whole result is listed as it is."""
    from gatekeeper.findings import GateResult
    from gatekeeper.secretprints import upgraded

    try:
        result = GateResult.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return data
    new = upgraded(result)
    return data if new is result else new.to_dict()


def _finding_cells(f: Mapping[str, Any]) -> list[Any]:
    loc: Mapping[str, Any] = f["location"] if isinstance(f.get("location"), dict) else {}
    pkg: Mapping[str, Any] = f["package"] if isinstance(f.get("package"), dict) else {}
    waiver: Mapping[str, Any] = f["waiver"] if isinstance(f.get("waiver"), dict) else {}
    if waiver:
        state = {"baseline": "baselined", "existing": "existing"}.get(str(waiver.get("kind")), "waived")
    else:
        state = "blocking" if f.get("blocking") else "advisory"
    return [f.get("severity"), state, f.get("rule_id"), loc.get("path"), loc.get("line"), pkg.get("name"), pkg.get("version"),
            f.get("message"), waiver.get("id", ""), f.get("fingerprint")]  # fmt: skip
