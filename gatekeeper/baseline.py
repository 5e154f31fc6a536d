"""Baselines: the findings that existed when a team adopted the gate, and the metrics of that day.

A baseline holds one entry per finding (two identical lines are two entries: matching counts
fingerprints, it is a multiset) and never a finding about a check as a whole (a threshold, an
aggregate, something that could not be checked: tag ``no-baseline``) or of a check that could not
run. Those would switch a gate off for good; the baseline keeps each check's metric values
instead, so that a policy can ratchet (``min_total = "baseline"``).

Version 2 differs from version 1 in the fingerprints of findings that flag a secret only
(``secretprints.placed``: the secrets check's, and ruff's and bandit's hardcoded-password rules'):
version 1's hashed the secret (detect-secrets' unsalted SHA-1 of it, or the line that holds it),
from which a short or common secret is recovered by trying candidates; version 2's are the check,
rule, file and the finding's place among that rule's findings in that file. A version-1 file is
still read: those entries, counted per check, rule and file, become the version-2 fingerprints of
as many findings there (``_carried_over``); its digests are never written again
(``baseline_document`` writes version 2).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper import process, readback, secretprints
from gatekeeper.errors import ToolError, UsageError
from gatekeeper.findings import NO_BASELINE, CheckResult, GateResult, Status, normalize_snippet

BASELINE_VERSION = 2
#: the versions read: version 1's entries that flag a secret are carried over (``_carried_over``)
READABLE_VERSIONS = (1, 2)


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: how many findings had each fingerprint, and each check's numeric metrics."""

    fingerprints: Mapping[str, int] = field(default_factory=dict)
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: the entries of a version-1 file that flag a secret, read in version 2's form (``_carried_over``)
    carried_over: int = 0
    #: the sha256 of the file's bytes ("" for none), which the run's result and audit record state
    sha256: str = ""
    #: the commit the findings were recorded at (a new-code run's REF), where ``unconfirmed`` reads lines
    commit: str = ""

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
        content = path.read_bytes()
        data = readback.loads(content, str(path))
    except FileNotFoundError:
        raise UsageError("baseline file not found", file=str(path), hint="create one with 'gatekeeper baseline create'") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"not a gatekeeper baseline: {exc}", file=str(path)) from None
    if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS or not isinstance(data.get("findings"), list):
        raise UsageError("not a gatekeeper baseline (expected version 1 or 2 with a findings list)", file=str(path))
    entries = [e for e in data["findings"] if isinstance(e, dict) and isinstance(e.get("fingerprint"), str) and e["fingerprint"]]
    carried = [_placed(e) for e in entries] if data["version"] == 1 else [False] * len(entries)
    old_secrets = [e for e, placed in zip(entries, carried, strict=True) if placed]
    prints = Counter(e["fingerprint"] for e, placed in zip(entries, carried, strict=True) if not placed)
    prints.update(_carried_over(old_secrets, path))
    raw = data.get("metrics") or {}
    if not isinstance(raw, dict):
        raise UsageError("not a gatekeeper baseline (metrics is not a table)", file=str(path))
    metrics = {
        str(check): {str(k): float(v) for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for check, values in raw.items()
        if isinstance(values, dict)
    }
    commit = str(data.get("commit") or "") if isinstance(data.get("commit"), str) else ""
    return Baseline(
        fingerprints=dict(prints),
        metrics=metrics,
        carried_over=len(old_secrets),
        sha256=hashlib.sha256(content).hexdigest(),
        commit=commit,
    )


def _placed(entry: Mapping[str, Any]) -> bool:
    """Whether a version-1 entry is of a finding whose fingerprint is now its place (``secretprints``)."""
    return secretprints.placed(str(entry.get("check")), str(entry.get("rule_id")))


def _carried_over(entries: list[dict[str, Any]], path: Path) -> list[str]:
    """Version 2's fingerprints for version 1's entries of findings that flag a secret: an entry of
    check C and rule R in file F stood for one finding there, so the N entries of C and R in F
    become the fingerprints of R's first N findings in F, as C makes them now
    (``secretprints.prints``). The digests of the secrets in those entries are not used."""
    counts: dict[str, Counter[tuple[str, str]]] = {}
    for n, e in enumerate(entries):
        rule, where = e.get("rule_id"), e.get("where")
        if not (isinstance(rule, str) and rule and isinstance(where, str) and where):
            raise UsageError(
                f"baseline version 1: {e.get('check')} entry {n + 1} has no rule_id or where, so the finding it stood for "
                "cannot be told without its secret's digest",
                file=str(path),
                hint="recreate the baseline with 'gatekeeper baseline create' (version 2 holds no digest of a secret)",
            )
        counts.setdefault(str(e["check"]), Counter())[rule, where] += 1
    return [fp for check, c in sorted(counts.items()) for fp in secretprints.prints(check, c)]


def unconfirmed(root: Path, baseline: Baseline, checks: Sequence[CheckResult]) -> frozenset[str]:
    """The fingerprints ``baseline`` holds of findings whose line it knows only with its literals
    masked (``CheckResult.prior_prints``: a line naming a credential) and whose lines, read now, are
    not all lines of their file at the baseline's commit (``git show``, never written anywhere): such a
    print stays one when a literal changes (``"deploy --token "`` to ``"curl ... | sh; echo "`` on a
    line bandit flags), so the finding is the accepted one only if its line was there. Every such
    fingerprint when the commit is unknown or cannot be read (a shallow clone: the finding blocks)."""
    wanted = [
        (f.fingerprint, loc)
        for c in checks
        for f in c.findings
        if f.fingerprint in c.prior_prints and baseline.fingerprints.get(f.fingerprint) and (loc := f.location) is not None
    ]
    then: dict[str, frozenset[str] | None] = {}
    out: set[str] = set()
    for fp, loc in wanted:
        if loc.path not in then:
            then[loc.path] = _lines_at(root, baseline.commit, loc.path)
        now = _lines_now(root, loc.path, loc.line or 0, loc.end_line or loc.line or 0)
        known = then[loc.path]
        if known is None or not now or any(line not in known for line in now):
            out.add(fp)
    return frozenset(out)


def commit_readable(root: Path, commit: str) -> bool:
    """Whether git has ``commit`` in ``root``'s clone (a shallow one may not)."""
    if not commit or commit.startswith("-"):
        return False
    try:
        return process.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], timeout=30, cwd=root).returncode == 0
    except ToolError:
        return False


def _lines_at(root: Path, commit: str, path: str) -> frozenset[str] | None:
    """The lines (whitespace folded) of ``path`` (relative to ``root``) at ``commit``, or None."""
    if not commit or commit.startswith("-"):
        return None
    try:
        done = process.run(["git", "show", f"{commit}:./{path}"], timeout=30, cwd=root)
    except ToolError:
        return None
    return frozenset(normalize_snippet(line) for line in done.stdout.splitlines()) if done.returncode == 0 else None


def _lines_now(root: Path, path: str, first: int, last: int) -> list[str]:
    """Lines ``first`` to ``last`` (1-based) of ``path`` as they are now, whitespace folded ([] if unreadable)."""
    try:
        lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    if first < 1 or last > len(lines):
        return []
    return [normalize_snippet(line) for line in lines[first - 1 : max(first, last)]]
