"""bandit's results as the check's findings and metrics: each result mapped to a ``Finding`` (severity,
confidence, a fingerprint from the code, not the line number), tallied file by file as they arrive."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gatekeeper.checkers.security.scan import FileScan, ScanPlan, excerpt
from gatekeeper.errors import ToolError
from gatekeeper.findings import (
    NO_BASELINE,
    CheckResult,
    Finding,
    Location,
    Severity,
    decide_status,
    fingerprint,
    normalize_snippet,
)
from gatekeeper.secretprints import SECURITY_TESTS

CHECK = "security"

RANK = {"UNDEFINED": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}

_SEVERITY = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW, "UNDEFINED": Severity.LOW}

_CODE_LINE = re.compile(r"^(\d+) (.*)$")


class Tally:
    """The scan's findings and metrics, built file by file as bandit's results arrive (from a
    worker's report or the cache), so that bandit's raw results are never all held at once.

    Thread-safe: the pool's threads add batches as they come. Strings that repeat across findings
    (a test's message, name and link, a confidence) are kept once.
    """

    def __init__(self, section: Mapping[str, Any], root: Path | None = None) -> None:
        self._root = root  # where the scanned files are, read again for each finding's excerpt
        self.prior: dict[str, str] = {}  # ``CheckResult.prior_prints``
        self.min_conf = RANK[str(section.get("min_confidence", "low")).upper()]
        self.fail_on = Severity(str(section.get("fail_on_severity", "medium")))
        self._files: dict[str, tuple[Finding, ...]] = {}
        self.counts = {"high": 0, "medium": 0, "low": 0}
        self.below = self.nosec = self.skipped_tests = self.loc = self.scanned = 0
        self.parse_errors: dict[str, str] = {}
        self.nosec_files: dict[str, int] = {}  # issues each file's # nosec marks hid
        self.baseline_files: dict[str, int] = {}  # issues the project's bandit baseline kept out of each file's results
        self._shared: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, path: object) -> bool:
        return path in self._files

    def add(self, path: str, scan: FileScan) -> None:
        """Count ``scan``'s metrics and map its results (those at or above the confidence) to findings."""
        with self._lock:
            found: list[Finding] = []
            if scan.metrics is not None:
                self.scanned += 1
                self.loc += int(scan.metrics.get("loc", 0))
                nosec, skipped = int(scan.metrics.get("nosec", 0)), int(scan.metrics.get("skipped_tests", 0))
                self.nosec += nosec
                self.skipped_tests += skipped
                if nosec + skipped:
                    self.nosec_files[path] = nosec + skipped
            if scan.baseline_hidden:
                self.baseline_files[path] = scan.baseline_hidden
            if scan.error is not None:
                self.parse_errors[path] = scan.error
                found.append(_parse_error(path, scan.error))
            kept = [r for r in scan.results if RANK.get(str(r["issue_confidence"]).upper(), 0) >= self.min_conf]
            self.below += len(scan.results) - len(kept)
            places = _occurrences(kept)
            data = self._read(path) if any("code_lines" in r for r in kept) else b""
            for n, r in enumerate(kept):
                if "code_lines" in r:  # bandit's excerpt, made again from the file (never cached: ``scan.withheld``)
                    r = {**{k: v for k, v in r.items() if k != "code_lines"}, "code": excerpt(data, r["code_lines"])}
                finding = to_finding(path, r, self.fail_on, self._shared, places.get(n), self.prior)
                self.counts[finding.severity.value] += 1
                found.append(finding)
            self._files[path] = tuple(found)

    def _read(self, path: str) -> bytes:
        if self._root is None:
            return b""
        try:
            return (self._root / path).read_bytes()
        except OSError:
            return b""

    def result(self, plan: ScanPlan, files: Sequence[str], targets: Sequence[str]) -> CheckResult:
        """The check's result (status, summary, metrics), findings in file order; every file of
        ``files`` must have been added (a file with no verdict is never counted as clean)."""
        missing = [f for f in files if f not in self._files]
        if missing:
            raise ToolError(f"no bandit verdict on {len(missing)} of the {len(files)} files to scan (e.g. {missing[0]})")
        findings = [f for path in sorted(self._files) for f in self._files[path]]
        counts = self.counts
        total = sum(counts.values())
        parts = [f"{counts[s]:,} {s}" for s in ("high", "medium", "low") if counts[s]]
        head = f"{total:,} finding{'s' if total != 1 else ''}" + (f": {', '.join(parts)}" if parts else "")
        summary = (
            f"{head} ({self.scanned:,} file{'' if self.scanned == 1 else 's'}, {self.loc:,} line{'' if self.loc == 1 else 's'})"
        )
        if self.parse_errors:
            summary += f", {len(self.parse_errors)} not parsed"
        metrics = {
            "files_scanned": self.scanned,
            "lines_scanned": self.loc,
            "counts": dict(counts),
            "nosec": self.nosec,
            "skipped_tests": self.skipped_tests,
            "below_confidence": self.below,
            "parse_errors": [{"path": p, "reason": self.parse_errors[p]} for p in sorted(self.parse_errors)],
            "command": plan.command(targets),
            "config": plan.config or plan.ini or None,
        }
        return CheckResult(
            name=CHECK,
            status=decide_status(findings),
            summary=summary,
            metrics=metrics,
            findings=tuple(findings),
            prior_prints=dict(self.prior),
        )


def _parse_error(path: str, reason: str) -> Finding:
    return Finding(
        rule_id="security.parse_error",
        severity=Severity.LOW,
        message=f"bandit could not scan {path}: {reason}",
        blocking=False,
        location=Location(path),
        fingerprint=fingerprint(CHECK, "security.parse_error", path),
        rule_name="file not scanned",
        tags=("security", "not-scanned", NO_BASELINE),
        properties={"reason": reason},
    )


def _occurrences(results: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """For each of ``results`` (by index) from a test in ``SECURITY_TESTS``: its place among that
    test's results in the file, by line and column (``to_finding``'s ``occurrence``)."""

    def position(n: int) -> tuple[int, int]:
        col = results[n].get("col_offset")
        return int(results[n]["line_number"]), col if isinstance(col, int) else 0

    seen: dict[str, int] = {}
    out = {}
    for n in sorted((n for n, r in enumerate(results) if str(r["test_id"]) in SECURITY_TESTS), key=position):
        test = str(results[n]["test_id"])
        out[n] = seen.get(test, 0)
        seen[test] = out[n] + 1
    return out


def to_finding(  # noqa: PLR0913  # the last three: what repeats, a password's place, the fingerprints before masking
    path: str,
    r: Mapping[str, Any],
    fail_on: Severity,
    shared: dict[Any, Any] | None = None,
    occurrence: int | None = None,
    prior: dict[str, str] | None = None,
) -> Finding:
    """One bandit result as a finding; its fingerprint hashes the flagged code, not its line numbers,
    with credential-looking spans masked (``prior`` gets the fingerprint it had before, where masking
    changed it: ``CheckResult.prior_prints``).
    For a test that flags a hardcoded password (``secretprints.SECURITY_TESTS``) it hashes no code, whose line
    holds the password: it is the test, the file and ``occurrence``, the result's place among that
    test's results in the file (the first has no number), as the secrets check's fingerprints are.

    With ``shared``, values that repeat across findings (strings, the CWE object, the tags) are
    taken from it, so that 100,000 findings of a few tests hold each text once.
    """
    one: dict[Any, Any] = shared if shared is not None else {}
    severity = _SEVERITY.get(str(r["issue_severity"]).upper(), Severity.LOW)
    lines = [int(n) for n in r.get("line_range") or [r["line_number"]]]
    code = str(r.get("code") or "")
    cwe = r.get("issue_cwe") if isinstance(r.get("issue_cwe"), dict) else None
    cwe_id = cwe.get("id") if cwe else None
    link = str(cwe.get("link", "")) if cwe else ""
    cwe_value = one.setdefault(("cwe", cwe_id, link), {"id": cwe_id, "link": link}) if cwe and cwe_id else None
    tags = one.setdefault(("tags", cwe_id), ("security", f"CWE-{cwe_id}") if cwe_id else ("security",))
    col = r.get("col_offset")
    print_ = ""
    if occurrence is None:
        print_ = fingerprint(CHECK, r["test_id"], path, snippet_hash(code, lines))
        before = fingerprint(CHECK, r["test_id"], path, snippet_hash(code, lines, masked=False)) if prior is not None else print_
        if prior is not None and before != print_:
            prior[print_] = before

    def text(value: Any) -> str:
        s = str(value or "")
        return one.setdefault(s, s)  # type: ignore[no-any-return]

    return Finding(
        rule_id=text(r["test_id"]),
        severity=severity,
        message=text(r["issue_text"]),
        blocking=severity.at_least(fail_on),
        location=Location(
            path, line=int(r["line_number"]), end_line=max(lines), column=int(col) + 1 if isinstance(col, int) else None
        ),
        fingerprint=print_ or fingerprint(CHECK, r["test_id"], path, *([occurrence] if occurrence else [])),
        help_uri=text(r.get("more_info")),
        rule_name=text(r.get("test_name")),
        tags=tags,
        properties={
            "confidence": text(str(r["issue_confidence"]).lower()),
            "bandit_severity": text(r["issue_severity"]),
            "cwe": cwe_value,
            "test_name": text(r.get("test_name")),
            **({"code": code} if occurrence is None else {}),
            "line_range": lines,
            "col_offset": col,
            "end_col_offset": r.get("end_col_offset"),
        },
    )


def snippet_hash(code: str, lines: Sequence[int], masked: bool = True) -> str:
    """A hash of the flagged lines of bandit's ``code`` excerpt, line numbers and indentation removed,
    and (``masked``) credential-looking spans masked as ``source.line_hash`` masks a line."""
    from gatekeeper.checkers.source import masked_line

    wanted = set(lines)
    picked: list[str] = []
    everything: list[str] = []
    for raw in code.splitlines():
        match = _CODE_LINE.match(raw)
        text = match.group(2) if match else raw
        text = masked_line(text) if masked else text
        everything.append(text)
        if match and int(match.group(1)) in wanted:
            picked.append(text)
    body = normalize_snippet("\n".join(picked or everything))
    return hashlib.sha256(body.encode("utf-8", "surrogateescape")).hexdigest()[:16]
