"""The one time rule every verifier applies to a pass (``bundle verify``, ``attestation verify``):
a run judges its waivers and its offline advisory database's age by the runner's clock, which
whoever runs the job can set, so with trusted time a verifier judges them again **as of the latest
moment the run can have started: the authority's time of its evidence less the run's duration by
the monotonic clock**, of which at most ``MAX_CREDIT_S`` counts. The token is made after the run
ends, so an honest run that straddles a midnight is judged as of its start, not of its stamp. But
the duration is the runner's word as much as its clock: a key holder signs any ``duration_s``, and
the job's own process runs on clocks its runner sets (libfaketime fakes ``CLOCK_MONOTONIC`` too, a
time namespace offsets it), so a duration counted in full would move the judged moment back as far
as the runner likes, a stale database or an ended waiver with it. Counting at most the 15 minutes a
stamp may follow its record bounds that to what the authority's time already allows; a longer honest
run that straddles the line is judged as of its stamp less those 15 minutes, and refused (fail
closed). Evidence that does not state its duration is judged as of the authority's time itself
(later, hence stricter)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

#: the most of a run's stated duration a verifier counts: the 15 minutes a stamp may follow the time
#: the run wrote (``timestamp.MAX_SKEW_S``), since the duration is the runner's word
MAX_CREDIT_S = 900.0


def judged_at(stamp_time: str, duration_s: object) -> dt.datetime | None:
    """The latest moment the run can have started: ``stamp_time`` (the authority's) less ``duration_s``
    (the run's monotonic duration, counted up to ``MAX_CREDIT_S``; not a non-negative number: 0, the
    stamp itself); None when the stamp's time cannot be read."""
    try:
        stamped = dt.datetime.fromisoformat(stamp_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamped.tzinfo is None:
        return None
    took = duration_s if isinstance(duration_s, (int, float)) and not isinstance(duration_s, bool) else 0.0
    return stamped - dt.timedelta(seconds=min(max(float(took), 0.0), MAX_CREDIT_S))


def moment(at: dt.datetime, stamp_time: str, duration_s: object) -> str:
    """How a refusal names the moment it judged by: ``2026-12-07T00:00:03Z (the authority's time … less the run's 4 s)``."""
    shown = at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(duration_s, (int, float)) and not isinstance(duration_s, bool):
        if float(duration_s) > MAX_CREDIT_S:  # the runner's word: no more than the stamp's own leeway counts
            return (
                f"{shown} (the authority's time {stamp_time} less {MAX_CREDIT_S:.0f} s: the run says it took "
                f"{float(duration_s):.0f} s, and a verifier counts at most {MAX_CREDIT_S:.0f} s of a duration the runner states)"
            )
        return f"{shown} (the authority's time {stamp_time} less the run's {float(duration_s):.0f} s)"
    return f"{shown} (the authority's time; the evidence does not state the run's duration)"


def lapsed_waivers(waivers: Iterable[tuple[str, str]], at: dt.datetime) -> list[str]:
    """The waivers (id, expiry ``YYYY-MM-DD``) whose term had ended at ``at``: a waiver applies up to and
    including its expiry day (UTC), as the run applies it (``waivers.apply_waivers``)."""
    day = at.astimezone(dt.timezone.utc).date().isoformat()
    return [f"{ident} (until {until[:10]})" for ident, until in waivers if until and until[:10] < day]


def waiver_problem(waivers: Iterable[tuple[str, str]], stamp_time: str, duration_s: object, what: str) -> str:
    """Why the pass rests on a waiver whose term had ended by the run's latest possible start ("" when
    none had, or the stamp cannot be read); ``what`` names the stamped evidence (``audit record #3``)."""
    at = judged_at(stamp_time, duration_s)
    late = lapsed_waivers(waivers, at) if at is not None else []
    if at is None or not late:
        return ""
    return (
        f"waiver(s) {', '.join(late)} let findings through, but by trusted time their term had ended when the run "
        f"started: {what} was stamped by the authority, which puts the run's start no later than "
        f"{moment(at, stamp_time, duration_s)} (the runner's clock judged them)"
    )


def database_problem(database: Mapping[str, Any] | None, stamp_time: str, duration_s: object, what: str) -> str:
    """Why the offline advisory database (its ``as_of`` time and ``max_age_days`` limit) was older than
    its limit at the run's latest possible start, in days to one decimal as the check judges its age
    ("" when it was not, or the evidence does not say)."""
    as_of, limit = (database or {}).get("as_of"), (database or {}).get("max_age_days")
    at = judged_at(stamp_time, duration_s)
    if at is None or not isinstance(as_of, str) or not isinstance(limit, int) or isinstance(limit, bool):
        return ""
    try:
        then = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        age = round(max((at - then).total_seconds(), 0.0) / 86400, 1)
    except (ValueError, TypeError):
        return ""
    if age <= limit:
        return ""
    return (
        f"the advisory database (newest record {as_of}) was {age:g} days old when the run started by trusted time "
        f"({what} was stamped by the authority, which puts the run's start no later than "
        f"{moment(at, stamp_time, duration_s)}), over checks.dependencies.max_db_age_days = {limit}: "
        "the runner's clock judged it fresh"
    )
