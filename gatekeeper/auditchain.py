"""Reading the audit log back: the hash chain, and who vouches for each record.

``verify_log`` walks the chain (each line's ``prev`` is the sha256 of the line before it) and then
authenticates the records with the keys it is given: every record after an explicitly accepted
prefix signed by a trusted key, the key changing only through a rotation record signed by the key
in force. Without keys the structure is still checked (signing that starts, or changes key,
without a rotation record; an unsigned record after a signed one) and the outcome is at best
"chain consistent, not authenticated". ``gatekeeper.audit`` writes the log and re-exports these names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper import readback, signing
from gatekeeper.errors import UsageError
from gatekeeper.signing import Keyring, SigningKeyError

GENESIS = "0" * 64
#: a record is a few kilobytes (texts and metrics are capped): a longer line was not written by gatekeeper
MAX_RECORD_BYTES = 4 * 1024 * 1024


def line_digest(line: bytes) -> str:
    """sha256 of one log line as stored (without its newline)."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


# what json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds on each call
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(record: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the record without ``sig``, as sorted compact JSON."""
    body = {k: v for k, v in record.items() if k != "sig"}
    return _CANONICAL.encode(body).encode("utf-8")


# what json.dumps(record, sort_keys=True, ensure_ascii=False) builds: how every line of the log is stored
_STORED = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def stored_line(record: Mapping[str, Any]) -> bytes:
    """The one way a record is stored as a log line (without its newline): sorted keys, json's default
    spacing, UTF-8. A line that reads back to a record but is not these bytes was edited."""
    return _STORED.encode(record).encode("utf-8")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Segment:
    """Records ``first``..``last`` (by seq), signed with the key ``key_id``."""

    key_id: str
    first: int
    last: int


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Verification:
    """The outcome of ``verify_log``: ``problem`` is None when nothing is wrong.

    ``line`` names the first bad line; ``head`` is the sha256 of the last line (an anchor to keep
    outside the log). ``signed`` counts signatures checked and valid, ``unchecked`` those present
    but not checked (no key given). ``authenticated`` is True only when keys were given and every
    record after the ``accepted`` prefix is signed by a trusted key, key changes going through
    rotation records (``rotations``: seq, old key id, new key id). ``unauthenticated`` marks a
    problem that is about authentication (a segment no key vouches for, an unknown key), not a
    broken chain. ``segments`` lists the runs of records signed by one key.
    """

    records: int
    head: str
    problem: str | None = None
    line: int | None = None
    signed: int = 0
    unchecked: int = 0
    anchor_seq: int | None = None
    keys_given: bool = False
    authenticated: bool = False
    unauthenticated: bool = False
    accepted: int = 0
    segments: tuple[Segment, ...] = ()
    rotations: tuple[tuple[int, str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when no problem was found (which, without keys, still does not mean authenticated)."""
        return self.problem is None

    @property
    def status(self) -> str:
        """One phrase for people: ``intact`` (authenticated), ``chain consistent, not authenticated``,
        ``NOT AUTHENTICATED`` or ``TAMPERED``."""
        if self.problem is not None:
            return "NOT AUTHENTICATED" if self.unauthenticated else "TAMPERED"
        return "intact" if self.authenticated else "chain consistent, not authenticated"


def log_lines(log: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line without newline, whether more lines follow) for each stored line; a line
    longer than ``MAX_RECORD_BYTES`` is a ``LimitError`` naming the log and the line."""
    try:
        fh = open(log, "rb")
    except FileNotFoundError:
        raise UsageError(
            "audit log not found", file=str(log), hint="run 'gatekeeper check' first, or pass the log's path"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read the audit log: {exc.strerror or exc}", file=str(log)) from None
    with fh:
        pending: bytes | None = None
        number = 0
        for raw in readback.lines(fh, str(log), MAX_RECORD_BYTES):
            if pending is not None:
                yield number, pending, True
            number += 1
            pending = raw[:-1] if raw.endswith(b"\n") else raw
        if pending is not None:
            yield number, pending, False


def verify_log(
    log: Path,
    keys: Keyring | bytes | None = None,
    anchor: str | None = None,
    collect: list[dict[str, Any]] | None = None,
    accept_prefix: int = 0,
) -> Verification:
    """Walk the chain and report the first broken line; authenticate the records with ``keys``.

    ``keys``: the trusted keys (a ``Keyring``; bytes are taken as one private key's text). With
    keys, every record after the first ``accept_prefix`` must carry a valid signature by a trusted
    key, or by the key a valid rotation record named (its public key travels in that record). The
    first signed record after unsigned or otherwise-keyed records, with no rotation record linking
    them, makes the log "not authenticated" unless those records are within ``accept_prefix``;
    without keys the same structure is checked, and the signatures are counted as not checked.
    ``anchor`` is a line digest recorded earlier (e.g. the head a CI run printed): it must still
    be in the chain, which catches records removed from the end. ``collect``, when given, receives
    each record that verified, so a caller that also needs them reads the log once.
    """
    ring = signing.signer_from_text(keys).keyring() if isinstance(keys, bytes) else (keys or Keyring())
    chain = _walk_chain(log, anchor)
    outcome = _authenticate(chain, ring, max(0, accept_prefix))
    if collect is not None:
        collect.extend(data for number, data in chain.rows if outcome.line is None or number < outcome.line)
    return outcome


class _Unauthenticated(Exception):
    """Raised inside ``_Walk`` at the first record that cannot be authenticated."""

    def __init__(self, message: str, *, chain_problem: bool = False) -> None:
        super().__init__(message)
        self.chain_problem = chain_problem


@dataclass(eq=False, repr=False)
class _Walk:
    """The signing state while records are read in order: the key in force, the keys trusted so far."""

    trusted: Keyring
    keys_given: bool
    current: str | None = None
    signed: int = 0
    unchecked: int = 0
    segments: list[Segment] = field(default_factory=list)
    rotations: list[tuple[int, str, str]] = field(default_factory=list)

    def record(self, seq: int, data: Mapping[str, Any], after_unsigned: int) -> None:
        """Authenticate one record; ``after_unsigned`` counts the records since the accepted prefix
        that no key vouches for. Raises ``_Unauthenticated``."""
        sig = data.get("sig")
        if sig is None:
            self._unsigned(seq)
            return
        kid = signing.signature_key_id(sig)
        if kid is None:
            raise _Unauthenticated("its sig is not a signature gatekeeper writes (the record was edited)", chain_problem=True)
        self._continues(seq, kid, after_unsigned)
        check = signing.check_signature(self.trusted, sig, canonical(data))
        if check.status == signing.VALID:
            self.signed += 1
        elif check.status == signing.UNCHECKED:
            self.unchecked += 1
        elif check.status == signing.UNKNOWN_KEY:
            given = ", ".join(self.trusted.ids()) or "none"
            raise _Unauthenticated(
                f"signed with key {kid}, which is not in the keyring (trusted: {given}): another key signed it, "
                "or the record was re-signed after an edit"
            )
        else:
            raise _Unauthenticated(
                "signature does not match (the record was altered after signing, or another key signed it)", chain_problem=True
            )
        if self.current is None or check.key_id != "hmac:?":
            self.current = check.key_id
        self._extend(seq, self.current)
        self._rotation(seq, data, self.current)

    def _unsigned(self, seq: int) -> None:
        raise _Unauthenticated(
            f"not signed, though the record before it was (with {self.current}): a signed record was replaced, "
            "or a run without the key wrote to a signed log",
            chain_problem=True,
        )

    def _continues(self, seq: int, kid: str, after_unsigned: int) -> None:
        if self.current is None:
            if after_unsigned:
                raise _Unauthenticated(
                    f"signing with {kid} starts here, after {after_unsigned} record(s) that no key vouches for "
                    "(unsigned, or signed with another key without a rotation record): they could have been "
                    f"rewritten before this run. To accept records #1..#{seq - 1} as they stand, pass "
                    f"--accept-unsigned-prefix {seq - 1}"
                )
            return
        legacy = "hmac:?" in (kid, self.current) and kid.startswith("hmac:") and self.current.startswith("hmac:")
        if kid != self.current and not legacy:
            raise _Unauthenticated(
                f"signed with {kid}, but the records before it were signed with {self.current}, and no rotation "
                f"record signed by {self.current} names {kid}: the records before it could have been rewritten"
            )

    def _extend(self, seq: int, kid: str) -> None:
        if self.segments and self.segments[-1].key_id == kid and self.segments[-1].last == seq - 1:
            self.segments[-1] = Segment(kid, self.segments[-1].first, seq)
        else:
            self.segments.append(Segment(kid, seq, seq))

    def _rotation(self, seq: int, data: Mapping[str, Any], old: str) -> None:
        rotation = data.get("rotate")
        if rotation is None:
            return
        new = rotation.get("to") if isinstance(rotation, dict) else None
        if not isinstance(new, str) or not new.startswith("sha256:"):
            raise _Unauthenticated("a rotation record that names no new key (rotate.to)", chain_problem=True)
        pem = rotation.get("public_key")
        if isinstance(pem, str) and self.keys_given:
            try:
                kid = self.trusted.add_public_pem(pem)
            except SigningKeyError as exc:
                raise _Unauthenticated(f"the rotation record's public key cannot be read ({exc})", chain_problem=True) from None
            if kid != new:
                raise _Unauthenticated(f"the rotation record names {new} but carries the public key {kid}", chain_problem=True)
        self.rotations.append((seq, old, new))
        self.current = new


def _authenticate(chain: _Chain, ring: Keyring, accept: int) -> Verification:
    rows = chain.rows
    trusted = Keyring()
    trusted.update(ring)
    walk = _Walk(trusted, keys_given=bool(ring))
    unvouched: list[int] = []  # lines of the unsigned records before the first signed one
    for index, (number, data) in enumerate(rows):
        if index < accept:
            continue
        if data.get("sig") is None and walk.current is None:
            unvouched.append(number)  # reported when a signed record follows, or below with keys
            continue
        try:
            walk.record(index + 1, data, len(unvouched))
        except _Unauthenticated as exc:
            return chain.bad(number, str(exc), walk, unauthenticated=not exc.chain_problem, accepted=accept)
    if walk.keys_given and walk.current is None and unvouched:
        message = "not signed, but keys were given: no record of this log is signed after the accepted prefix"
        return chain.bad(unvouched[0], message, walk, unauthenticated=True, accepted=accept)
    if walk.keys_given and chain.problem is None and rows and len(rows) <= accept:
        # only a signed record after the prefix pins it (its prev covers every line before): a prefix
        # reaching the end vouches for nothing, a record appended after the last signed one included
        message = (
            f"every record lies within the accepted prefix (--accept-unsigned-prefix {accept}): keys were given, but "
            "no record is authenticated, and no signed record after them pins those accepted; accept only the "
            "records written before signing started"
        )
        return chain.bad(rows[-1][0], message, walk, unauthenticated=True, accepted=accept)
    authenticated = walk.keys_given and chain.problem is None and all(d.get("sig") is not None for _, d in rows[accept:])
    return Verification(
        records=chain.records,
        head=chain.head,
        problem=chain.problem,
        line=chain.line,
        signed=walk.signed,
        unchecked=walk.unchecked,
        anchor_seq=chain.anchor_seq,
        keys_given=walk.keys_given,
        authenticated=authenticated,
        accepted=min(accept, chain.records),
        segments=tuple(walk.segments),
        rotations=tuple(walk.rotations),
    )


@dataclass(eq=False, repr=False)
class _Chain:
    """The hash chain walked up to its first problem: the records before it, as parsed rows."""

    rows: list[tuple[int, dict[str, Any]]]
    heads: list[str]  # heads[i]: sha256 of the line before rows[i] (GENESIS for the first)
    records: int
    head: str
    problem: str | None = None
    line: int | None = None
    anchor_seq: int | None = None

    def bad(self, number: int, message: str, walk: _Walk, *, unauthenticated: bool, accepted: int) -> Verification:
        """The verification that fails at line ``number`` (a record that is already in ``rows``)."""
        index = next(i for i, (n, _) in enumerate(self.rows) if n == number)
        return Verification(
            records=number - 1, head=self.heads[index], problem=f"line {number}: {message}", line=number,
            signed=walk.signed, unchecked=walk.unchecked, keys_given=walk.keys_given, unauthenticated=unauthenticated,
            accepted=accepted, segments=tuple(walk.segments), rotations=tuple(walk.rotations),
        )  # fmt: skip


def _walk_chain(log: Path, anchor: str | None) -> _Chain:
    prev, expected_seq, anchor_seq = GENESIS, 1, None
    anchor = anchor.strip().lower() if anchor else None
    rows: list[tuple[int, dict[str, Any]]] = []
    heads: list[str] = []

    def bad(line: int, message: str) -> _Chain:
        return _Chain(rows, heads, records=line - 1, head=prev, problem=f"line {line}: {message}", line=line)

    for number, line, _more in log_lines(log):
        if not line.strip():
            return bad(number, "empty line (a record was removed or the file was edited)")
        try:
            data = readback.loads(line, str(log), line=number)
        except ValueError:
            return bad(number, "not valid JSON (the line was edited or truncated)")
        except readback.LimitError as exc:  # nested too deep, a number out of range: gatekeeper never wrote it
            return bad(number, f"beyond the reading limits ({exc.message}): not a record gatekeeper wrote")
        if not isinstance(data, dict):
            return bad(number, "not an audit record (the line was edited)")
        if stored_line(data) != line:
            # the record's signature and timestamp cover what it parses to: a key written twice (json keeps
            # the last, another reader the first), other spacing or escapes would pass for the bytes chained
            return bad(number, "not as gatekeeper writes a record (a key twice, other spacing or escapes): the line was edited")
        seq = data.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            return bad(number, "has no sequence number (the line was edited or is not a gatekeeper audit record)")
        if seq != expected_seq:
            if seq > expected_seq:
                what = f"{seq - expected_seq} record(s) before it were deleted, or records were reordered"
            else:
                what = "a record was inserted, or records were reordered"
            return bad(number, f"record #{seq} where #{expected_seq} was expected: {what}")
        if data.get("prev") != prev:
            if number == 1:
                return bad(number, "does not start the chain (records before it were deleted, or the line was edited)")
            rows.pop()  # the previous line is the edited one: it does not count as verified
            return _Chain(
                rows,
                heads,
                records=number - 2,
                head=heads.pop(),
                problem=f"line {number - 1}: edited: its sha256 no longer matches the prev recorded on line {number}",
                line=number - 1,
            )
        rows.append((number, data))
        heads.append(prev)
        prev = line_digest(line)
        if anchor and prev == anchor:
            anchor_seq = seq
        expected_seq += 1
    records = expected_seq - 1
    if anchor and anchor_seq is None:
        return _Chain(
            rows,
            heads,
            records=records,
            head=prev,
            problem=f"anchor {anchor[:16]}... is not in the log: records were removed from its end, or the log was rewritten",
            line=records + 1,
        )
    return _Chain(rows, heads, records=records, head=prev, anchor_seq=anchor_seq)
