"""One run of the audit log as the history page and its exports (CSV) show it, and how an audit
record becomes one (``run_view``: its statuses, CI, policy files and the trend values).

A module of its own below both: the page (``history``) builds runs, and the exports
(``history_export``) and the period summaries read them, without importing the page.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from gatekeeper.display import Trend
from gatekeeper.gated import partial_note
from gatekeeper.reports._common import MISSING


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
    metrics: tuple[float | None, ...]  # the trend values, in the order of TREND_SERIES
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


def as_dict(value: Any) -> dict[str, Any]:
    # records come from json.loads: a dict check is exact, and much cheaper than the Mapping ABC's
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if value.__class__ is int or value.__class__ is float:  # not bool, not a str that looks like a number
        return float(value) if math.isfinite(value) else None
    return None


def _ids(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


#: the series the trend charts plot; each is fed by a checker's ``trends`` (``_trend_sources``)
TREND_SERIES = ("coverage", "vulnerabilities", "sec_high", "sec_medium", "sec_low", "denied", "coverage_min")


def utc_time(when: str) -> str:
    """``when`` (ISO 8601) in UTC as gatekeeper writes it (``2026-12-08T01:00:00Z``), so its first 10 characters are
    its UTC day: a time written with another offset (``2026-12-07T13:00:00-12:00``, the same moment an authority
    stamped) would otherwise fall on another day of a period. A time without an offset, or unreadable, as it is."""
    if when.endswith("Z"):
        return when
    try:
        moment = dt.datetime.fromisoformat(when)
    except ValueError:
        return when
    if moment.tzinfo is None:
        return when
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_view(rec: Mapping[str, Any], number: int, suspect: bool) -> Run:
    """One record as a ``Run`` (a line that is not a valid record as an ``invalid`` one)."""
    if rec.get("invalid"):
        return INVALID._replace(line=number, suspect=suspect)
    when = utc_time(str(rec.get("time") or ""))
    raw = rec.get("checks")
    checks = {str(k): v for k, v in raw.items() if isinstance(v, dict)} if isinstance(raw, dict) else {}
    waivers = as_dict(rec.get("waivers"))
    ci = as_dict(rec.get("ci"))
    verdict = str(rec.get("verdict") or "unknown")
    scope = partial_note(rec.get("scope"))
    waived = sum(int(_number(c.get("waived")) or 0) for c in checks.values())
    policy = as_dict(rec.get("policy"))
    dirty = rec.get("dirty")
    return Run(
        line=number,
        suspect=suspect,
        invalid=False,
        seq=str(rec.get("seq", "?")),
        time=when.replace("T", " ") or MISSING,
        date=when[:10],
        command=str(rec.get("command") or ""),
        commit=str(rec.get("commit") or ""),
        branch=str(rec.get("branch") or "") or MISSING,
        actor=str(as_dict(rec.get("actor")).get("name") or "") or MISSING,
        verdict=verdict,
        status=_status(verdict, scope, waived),
        scope=scope,
        checks={name: str(c.get("status") or "?") for name, c in checks.items()},
        metrics=trend_values(checks),
        applied=_ids(waivers.get("applied")),
        expired=_ids(waivers.get("expired")),
        unused=_ids(waivers.get("unused")),
        event=event_kind(rec.get("ci")),
        ci_url=ci_url(ci),
        ci_label=" ".join(str(ci.get(k) or "") for k in ("provider", "run_id") if ci.get(k)),
        controls={str(k): str(v) for k, v in as_dict(rec.get("controls")).items()},
        policy=str(policy.get("effective_sha256") or policy.get("sha256") or ""),
        policy_path=str(policy.get("path") or ""),
        policy_files=policy_files(policy),
        dirty=dirty if isinstance(dirty, bool) else None,
        reports={str(k): str(v) for k, v in as_dict(rec.get("reports")).items()},
        terms=as_dict(rec.get("waiver_terms")),
        waived=waived,
    )


_NO_METRICS: tuple[float | None, ...] = (None,) * len(TREND_SERIES)


INVALID = Run(
    line=0, suspect=False, invalid=True, seq="?", time=MISSING, date="", command="", commit="", branch="", actor="",
    verdict="", status="", scope="", checks={}, metrics=_NO_METRICS, applied=[], expired=[], unused=[], event="",
    ci_url="", ci_label="", controls={}, policy="", policy_path="", policy_files=(), dirty=None, reports={}, terms={}, waived=0,
)  # fmt: skip


def policy_files(policy: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """``(role, path, sha256)`` of every file a record's policy was built from (the top file alone
    for a record from before gatekeeper kept the list)."""
    files = policy.get("files")
    if isinstance(files, list) and files:
        return tuple(
            (str(f.get("role") or ""), str(f.get("path") or ""), str(f.get("sha256") or "")) for f in files if isinstance(f, dict)
        )
    if policy.get("sha256"):
        return (("policy", str(policy.get("path") or ""), str(policy["sha256"])),)
    return ()


def _status(verdict: str, scope: str, waived: int) -> str:
    if verdict != "pass":
        return verdict
    if scope:
        return "partial pass"
    return "pass with exceptions" if waived else "pass"


def event_kind(ci: Any) -> str:
    """The kind of event a record's CI run was: ``EVENTS``' names, the CI's own otherwise, ``local`` without CI."""
    if not isinstance(ci, dict):
        return "local"
    ref = str(ci.get("ref") or "")
    event = str(ci.get("event") or "")
    if ref.startswith("refs/tags/") or event == "tag":
        return "tag"
    aliases = {"merge_request_event": "pull_request", "pull_request_target": "pull_request", "workflow_dispatch": "manual",
               "web": "manual", "trigger": "manual", "api": "manual"}  # fmt: skip
    return aliases.get(event, event) or "unknown"


def ci_url(ci: Mapping[str, Any]) -> str:
    """The CI run's address: the recorded ``run_url``, else one built from GitHub's server, repository
    and run id; only http(s) addresses (a ``javascript:`` one is never a link)."""
    url = str(ci.get("run_url") or "")
    if not url and ci.get("provider") == "github-actions" and ci.get("repository") and ci.get("run_id"):
        url = f"https://github.com/{ci['repository']}/actions/runs/{ci['run_id']}"
    return url if url.lower().startswith(("https://", "http://")) else ""


def _metrics_of(checks: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    check = checks.get(name)
    return as_dict(check.get("metrics")) if check is not None else {}


def trend_values(checks: dict[str, dict[str, Any]]) -> tuple[float | None, ...]:
    """The numbers the trend charts plot, from one record's checks, in the order of ``TREND_SERIES``:
    each series read where the installed checker that feeds it says (its ``trends``)."""
    out: list[float | None] = []
    for source in _trend_sources():
        value = None
        if source is not None:
            metrics = _metrics_of(checks, source[0])
            value = _number(_at(metrics, source[1].path))
            if value is None and source[1].zero_if and _number(_at(metrics, source[1].zero_if)) is not None:
                value = 0.0  # e.g. the packages were counted and none was denied
        out.append(value)
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _trend_sources() -> tuple[tuple[str, Trend] | None, ...]:
    """For each series of ``TREND_SERIES``, the installed check that feeds it and how (None: no checker does)."""
    from gatekeeper.checkers import installed

    fed = {t.key: (name, t) for name, checker in installed().items() for t in checker.trends}
    return tuple(fed.get(key) for key in TREND_SERIES)


def _at(metrics: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = metrics
    for part in path:
        if node.__class__ is not dict:
            return None
        node = node.get(part)
    return node
