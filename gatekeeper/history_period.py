"""What the history page says about a period as a whole: exceptions, controls and policy changes.

Every figure comes from the runs' records, in log order. A waiver is followed by its id: its terms
(reason, approver, expiry) as the latest run in which the policy held it recorded them, its first
use, each renewal (its expiry moved later), the runs and the findings it covered, and where it
stood at the end of the period, so that a waiver that expired and was renewed reads as renewed,
not expired. A control is counted per run by the status its record stored.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gatekeeper.controls import FAIL, NOT_EVIDENCED, PASS, PASS_WITH_EXCEPTIONS, STATUSES, catalogue_names, load_catalogue
from gatekeeper.reports._common import MISSING

#: the most lines a policy diff shows; the rest is counted
MAX_DIFF_LINES = 120


class RunLike(Protocol):
    """What these summaries read from a run of the page."""

    @property
    def invalid(self) -> bool: ...
    @property
    def suspect(self) -> bool: ...
    @property
    def seq(self) -> str: ...
    @property
    def time(self) -> str: ...
    @property
    def commit(self) -> str: ...
    @property
    def applied(self) -> list[str]: ...
    @property
    def expired(self) -> list[str]: ...
    @property
    def unused(self) -> list[str]: ...
    @property
    def terms(self) -> Mapping[str, Any]: ...
    @property
    def controls(self) -> Mapping[str, str]: ...
    @property
    def policy(self) -> str: ...
    @property
    def policy_path(self) -> str: ...
    @property
    def policy_files(self) -> tuple[tuple[str, str, str], ...]: ...


@dataclass
class Exception_:
    """One waiver over the period (mutable while the runs are read, then only shown)."""

    id: str
    check: str = MISSING
    covers: str = MISSING
    reason: str = MISSING
    approved_by: str = MISSING
    expires: str = MISSING
    first_seen: str = MISSING
    first_use: str = MISSING
    last_use: str = MISSING
    runs: int = 0
    findings: int = 0
    fingerprints: set[str] = field(default_factory=set)
    renewals: list[str] = field(default_factory=list)
    state: str = MISSING  # at the last run that mentions it: applied, expired or unused
    expired_runs: int = 0
    unused_runs: int = 0


def exceptions(runs: Sequence[RunLike]) -> list[Exception_]:
    """Every waiver the runs mention, in the order they first appear."""
    rows: dict[str, Exception_] = {}
    for r in runs:
        if r.invalid:
            continue
        for kind, ids in (("applied", r.applied), ("expired", r.expired), ("unused", r.unused)):
            for wid in ids:
                row = rows.get(wid)
                if row is None:
                    row = rows[wid] = Exception_(wid, first_seen=r.time)
                _update(row, kind, r)
    return list(rows.values())


def _update(row: Exception_, kind: str, r: RunLike) -> None:
    terms = r.terms.get(row.id)
    if isinstance(terms, Mapping):
        expires = str(terms.get("expires") or "")
        if expires and row.expires not in (MISSING, expires) and expires > row.expires:
            row.renewals.append(f"{row.expires} to {expires} (run #{r.seq}, {r.time})")
        row.expires = expires or row.expires
        row.check = str(terms.get("check") or row.check)
        covers = ", ".join(f"{k} {terms[k]}" for k in ("rule", "package", "path") if terms.get(k))
        row.covers = covers or row.covers
        row.reason = str(terms.get("reason") or row.reason)
        row.approved_by = str(terms.get("approved_by") or row.approved_by)
        if kind == "applied":
            found = terms.get("findings")
            row.findings += found if isinstance(found, int) and not isinstance(found, bool) else 0
            prints = terms.get("fingerprints")
            if isinstance(prints, list):
                row.fingerprints.update(str(p) for p in prints if isinstance(p, str))
    row.state = kind
    if kind == "applied":
        row.runs += 1
        row.last_use = r.time
        if row.first_use == MISSING:
            row.first_use = r.time
    elif kind == "expired":
        row.expired_runs += 1
    else:
        row.unused_runs += 1


@dataclass(frozen=True)
class ControlRow:
    """One control over the period: how many runs gave it each status, and how many did not record it."""

    id: str
    title: str
    counts: Mapping[str, int]
    not_recorded: int

    @property
    def status(self) -> str:
        """The period's status: the worst any run gave it (``not evidenced`` when no run recorded it)."""
        for s in STATUSES:
            if self.counts.get(s):
                return s
        return NOT_EVIDENCED


def controls(runs: Sequence[RunLike]) -> list[ControlRow]:
    """Per control any run recorded: runs passing, passing with exceptions, failing, not evidenced."""
    valid = [r for r in runs if not r.invalid]
    ids = sorted({cid for r in valid for cid in r.controls})
    titles = _titles()
    rows = []
    for cid in ids:
        counts = dict.fromkeys((PASS, PASS_WITH_EXCEPTIONS, FAIL, NOT_EVIDENCED), 0)
        missing = 0
        for r in valid:
            status = r.controls.get(cid)
            if status in counts:
                counts[status] += 1
            else:
                missing += 1
        rows.append(ControlRow(cid, titles.get(cid, ""), counts, missing))
    return rows


def _titles() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in catalogue_names():
        for c in load_catalogue(name):
            out.setdefault(c["id"], c["title"])
    return out


@dataclass(frozen=True)
class PolicyChange:
    """A run from which the effective policy (by digest) differs from the run before it."""

    seq: str
    time: str
    commit: str
    path: str
    sha256: str
    previous: str
    diff: tuple[str, ...]  # unified diff lines of each file that changed; empty when no text is known
    note: str


def policy_changes(runs: Sequence[RunLike], texts: Mapping[str, tuple[str, str]]) -> list[PolicyChange]:
    """The first run, then every run whose effective policy digest differs from the previous run's,
    with the diff of each file of the policy that changed where ``texts`` (``{sha256: (text, where)}``)
    knows both versions."""
    out: list[PolicyChange] = []
    previous: RunLike | None = None
    for r in runs:
        if r.invalid or not r.policy or (previous is not None and r.policy == previous.policy):
            continue
        if previous is None:
            out.append(
                PolicyChange(
                    r.seq, r.time, r.commit, r.policy_path, r.policy, "", (), "the policy in force at the start of the period"
                )
            )
        else:
            diff, notes = _file_diffs(previous.policy_files, r.policy_files, texts)
            note = "; ".join(notes) or ("" if diff else "the same files: a default of gatekeeper's changed")
            out.append(PolicyChange(r.seq, r.time, r.commit, r.policy_path, r.policy, previous.policy, diff, note))
        previous = r
    return out


def _file_diffs(
    before: Sequence[tuple[str, str, str]], after: Sequence[tuple[str, str, str]], texts: Mapping[str, tuple[str, str]]
) -> tuple[tuple[str, ...], list[str]]:
    """The unified diffs of the files whose digest changed (by role and path), and notes for the rest."""
    old = {(role, path): digest for role, path, digest in before}
    new = {(role, path): digest for role, path, digest in after}
    lines: list[str] = []
    notes: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, ""), new.get(key, "")
        if a == b:
            continue
        label = f"{key[0]} {key[1]}"
        if not a or not b:
            notes.append(f"{label} {'added' if b else 'no longer used'}")
            continue
        if a not in texts or b not in texts:
            unknown = ", ".join(d[:12] for d in (a, b) if d not in texts)
            notes.append(
                f"{label}: no diff, the text of {unknown} was not found in the repository's history or the shipped presets"
            )
            continue
        lines.extend(
            difflib.unified_diff(
                texts[a][0].splitlines(), texts[b][0].splitlines(),
                f"{a[:12]} ({texts[a][1]})", f"{b[:12]} ({texts[b][1]})", lineterm="", n=1,
            )
        )  # fmt: skip
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more line(s)"]
    return tuple(lines), notes
