"""Keys retired at a known time (rotated out, or known to be compromised since): ``--retired KEYID=TIME``
of ``audit verify``, ``audit report``, ``attestation verify`` and ``bundle verify``.

A key a verifier still trusts for the evidence it signed while in force would otherwise vouch for
anything signed with it later: whoever holds a rotated-out or stolen key can fork the audit log
before the rotation and append runs, or sign a new attestation, and fetch genuine RFC 3161 tokens
for them today (an authority stamps whatever it is sent). A signature by a retired key therefore
counts only for evidence that an authority's token, verified against the certificate given, fixes
before the key's retirement: the record's own token, or that of a record after it (a token covers
its record's ``prev``, so the line before it, and every line before that). The signer's clock
cannot show it, so retiring a key needs ``--tsa-cert``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.errors import UsageError

if TYPE_CHECKING:
    from gatekeeper.timestamp import LogStamps

_KEY_ID = re.compile(r"sha256:[0-9a-f]{64}|hmac:[0-9a-f]{16}")
#: every key of the record ``key rotate`` writes (``audit.rotate_key``), its stamp and signature included
_HAND_OVER_KEYS = frozenset(
    {"v", "seq", "prev", "time", "started_at", "command", "gatekeeper", "actor", "ci", "verdict", "checks", "waivers",
     "reports", "rotate", "timestamp", "sig"}
)  # fmt: skip
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def parse_retired(values: Sequence[str], tsa_cert: object) -> dict[str, str]:
    """The ``--retired KEYID=TIME`` options as {key id: time, ISO 8601 UTC}; TIME is a day (its
    start, UTC) or a time with ``Z`` or an offset. A malformed value, or any value without
    ``--tsa-cert`` (``tsa_cert`` None), is a ``UsageError``."""
    retired: dict[str, str] = {}
    for value in values:
        key_id, _, when = value.partition("=")
        key_id = key_id.strip().lower()
        if not _KEY_ID.fullmatch(key_id):
            raise UsageError(f"--retired {value}: give KEYID=TIME, the key id as 'gatekeeper key id' prints it (sha256:<64 hex>)")
        try:
            moment = dt.datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--retired {value}: the time is not ISO 8601 (2026-10-01 or 2026-10-01T08:30:00Z)") from None
        if moment.tzinfo is None and "T" in when:
            raise UsageError(f"--retired {value}: give the time's zone (Z for UTC)")
        moment = moment.replace(tzinfo=moment.tzinfo or dt.timezone.utc)
        retired[key_id] = moment.astimezone(dt.timezone.utc).strftime(_FORMAT)
    if retired and tsa_cert is None:
        raise UsageError(
            "--retired needs --tsa-cert: only the timestamp authority's time can show that evidence was signed "
            "before the key was retired, not the signer's own clock"
        )
    return retired


def retired_problem(key_id: str, fixed: str, retired: Mapping[str, str]) -> str | None:
    """What is wrong with evidence signed by ``key_id`` that a verified token fixes at ``fixed`` (its
    genTime, "" when no token fixes it), when the key is retired since a time in ``retired``."""
    since = retired.get(key_id.lower())
    if since is None or (fixed and fixed < since):
        return None
    when = f"the authority's first time that fixes it is {fixed}" if fixed else "no verified timestamp fixes it"
    return (
        f"signed by key {key_id}, retired since {since}, and {when}: whoever holds that key could have signed it "
        "after it was retired"
    )


def log_problems(
    records: Sequence[Mapping[str, Any]], fixed: Sequence[tuple[int, str]], retired: Mapping[str, str], trusted: Collection[str]
) -> list[tuple[int, str]]:
    """``retired_problem`` (seq, words) for every record of the log ``records`` signed by a retired key; ``fixed``
    holds (seq, genTime) of each record whose token verified, in log order: a record is fixed by the
    earliest of them at or after it. A rotation record that hands over to a key the verifier trusts
    itself (``trusted``, the keys given) counts whenever it was signed: it is how the key was
    retired, and a thief's hand-over could only name a key of the thief's own. Only a bare hand-over, as
    ``key rotate`` writes it (``hand_over_only``): one that also states a run (a verdict, checks, a commit)
    is judged as any record, else the retired key would vouch for that run whenever it was signed."""
    from gatekeeper.signing import signature_key_id

    if not retired:
        return []
    problems = []
    for record in records:
        key_id = signature_key_id(record.get("sig"))
        seq = record.get("seq")
        rotation = record.get("rotate")
        if key_id is None or not isinstance(seq, int):
            continue
        if isinstance(rotation, Mapping) and rotation.get("to") in trusted and hand_over_only(record):
            continue
        at = min((time for number, time in fixed if number >= seq), default="")
        if (problem := retired_problem(key_id, at, retired)) is not None:
            problems.append((seq, f"record #{seq}: {problem}"))
    return problems


def hand_over_only(record: Mapping[str, Any]) -> bool:
    """True when ``record`` is a key rotation and nothing else, as ``key rotate`` writes it: its command and
    verdict those of a rotation, no check, report, waiver or other field (a commit, a scope) beside it."""
    waivers = record.get("waivers")
    return (
        set(record) <= _HAND_OVER_KEYS
        and record.get("command") == "key rotate"
        and record.get("verdict") == "key rotation"
        and record.get("checks") in (None, {})
        and record.get("reports") in (None, {})
        and (waivers is None or (isinstance(waivers, Mapping) and not any(waivers.values())))
    )


def log_refusals(
    records: list[dict[str, Any]], ca: Path | None, retired: Mapping[str, str], trusted: Collection[str]
) -> tuple[LogStamps, list[str]]:
    """The log's timestamps (``records``, already verified as a chain with the keys ``trusted``)
    checked against ``ca``, and what ``audit verify --tsa-cert --retired`` refuses in it: a token
    that does not verify (or a time it contradicts), records after the last token that verified, and
    ``log_problems``. ``bundle verify --log`` holds the log it is given to the same."""
    from gatekeeper.timestamp import check_records, tail_problem

    stamps = check_records(records, ca)
    return stamps, [
        *stamps.problems,
        *filter(None, [tail_problem(stamps)]),
        *(words for _, words in log_problems(records, stamps.fixed, retired, trusted)),
    ]
