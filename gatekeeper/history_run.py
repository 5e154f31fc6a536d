"""One run of the audit log as the history page and its exports (CSV) show it.

A module of its own below both: the page (``history``) builds runs, and the exports
(``history_export``) and the period summaries read them, without importing the page.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Run(NamedTuple):
    """One run as the page and the exports show it (a tuple: ten thousand of them are built per page)."""

    line: int
    suspect: bool
    invalid: bool
    seq: str
    time: str
    date: str
    command: str
    commit: str  # in full
    branch: str
    actor: str
    verdict: str
    status: str  # the verdict as the page shows it: "pass with exceptions", "partial pass", ...
    scope: str  # "" for a complete run, else why it was partial
    checks: dict[str, str]  # check name -> status
    metrics: tuple[float | None, ...]  # the trend values, in the order of history._METRICS
    applied: list[str]
    expired: list[str]
    unused: list[str]
    event: str
    ci_url: str
    ci_label: str
    controls: dict[str, str]
    policy: str  # the effective policy's sha256 (the top file's, for a record from before it was kept)
    policy_path: str
    policy_files: tuple[tuple[str, str, str], ...]  # (role, path, sha256) of each file it was built from
    dirty: bool | None
    reports: dict[str, str]  # report name -> sha256
    terms: dict[str, Any]  # waiver id -> its terms as recorded
    waived: int
