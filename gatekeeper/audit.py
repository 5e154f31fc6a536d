"""The audit log: JSON Lines, one record per run, each chained to the previous line by sha256.

Every record carries ``seq`` (its 1-based line number) and ``prev`` (the sha256 of the previous
line as stored; the first line chains to ``GENESIS``). Appends hold an exclusive ``flock`` and
are fsynced before returning, so concurrent runs neither interleave nor lose records. When
``GATEKEEPER_AUDIT_KEY`` holds a private key each record also carries ``sig``: ``{"alg", "keyid",
"value"}`` over its content (``prev`` and ``seq`` included), Ed25519 for a PEM key (verified with
the public key alone), HMAC-SHA256 for any other text (the earlier scheme, whose records stored
``"sig": "hmac-sha256:<hex>"`` and still verify with their secret).

What the chain proves, and what it cannot: an edited, deleted, inserted or reordered record is
found as long as a later record follows it. Removing records from the end (or editing the very
last one) leaves a shorter chain that is valid on its own; only an anchor kept outside the log
(the head digest that ``check`` prints and ``audit verify --anchor`` checks) detects that. Without
keys, someone who can write the file can recompute every digest after an edit: a verifier
without keys says "chain consistent, not authenticated", never "intact". With keys, every record
must be signed by a trusted key; the signing key changes only through a rotation record signed
by the old key and naming the new one, and records before a signed segment that no such record
links to are "not authenticated" unless the verifier accepts that prefix explicitly. Reading the
log back and verifying it live in ``gatekeeper.auditchain`` (its names are re-exported here).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper import __version__, childenv, readback, signing
from gatekeeper.auditchain import GENESIS as GENESIS
from gatekeeper.auditchain import MAX_RECORD_BYTES as MAX_RECORD_BYTES
from gatekeeper.auditchain import Segment as Segment
from gatekeeper.auditchain import Verification as Verification
from gatekeeper.auditchain import canonical as canonical
from gatekeeper.auditchain import line_digest as line_digest
from gatekeeper.auditchain import log_lines as _lines
from gatekeeper.auditchain import stored_line
from gatekeeper.auditchain import verify_log as verify_log
from gatekeeper.auditrecord import RECORD_VERSION, commit_of, policy_block, text_of
from gatekeeper.auditrecord import build_record as build_record  # re-exported
from gatekeeper.auditrecord import key_metrics as key_metrics  # re-exported
from gatekeeper.errors import OutputError, UsageError
from gatekeeper.fileio import resolve_for_write
from gatekeeper.findings import GateResult
from gatekeeper.policy import Policy
from gatekeeper.provenance import actor_info, ci_info
from gatekeeper.redaction import redact_tree
from gatekeeper.signing import Keyring, Signer, SigningKeyError

KEY_ENV = "GATEKEEPER_AUDIT_KEY"

SIG_PREFIX = "hmac-sha256:"


def stamped_digest(record: Mapping[str, Any]) -> str:
    """What a record's RFC 3161 ``timestamp`` covers: the hex sha256 of the record without ``sig``
    and ``timestamp`` (``seq``, ``prev`` and the signing mark included), as ``canonical`` writes it."""
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "timestamp"})).hexdigest()


def sign(record: Mapping[str, Any], key: bytes) -> str:
    """The earlier scheme's ``sig`` value of ``record`` under the HMAC secret ``key`` (``hmac-sha256:<hex>``).

    New records are signed with ``sign_record``; this stays so that old logs can be read and rebuilt.
    """
    return SIG_PREFIX + hmac.digest(key, canonical(record), "sha256").hex()


def sign_record(record: Mapping[str, Any], signer: Signer) -> dict[str, str]:
    """The ``sig`` object of ``record``: ``{"alg", "keyid", "value"}`` over ``canonical(record)``."""
    return signing.signature(signer, canonical(record))


def signer_from_env(name: str = KEY_ENV) -> Signer | None:
    """The signer for the private key in the environment variable ``name`` (taken out of the
    environment, as ``key_from_env``), or None when unset; a key that cannot be used is a ``UsageError``."""
    key = key_from_env(name)
    if key is None:
        return None
    try:
        return signing.signer_from_text(key)
    except SigningKeyError as exc:
        raise UsageError(f"{name}: {exc}") from None


def keyring_from(public_keys: Sequence[Path] = (), key_env: str | None = KEY_ENV) -> Keyring:
    """The keys a verifier trusts: every PEM public key in the files ``public_keys``, plus the key
    in the environment variable ``key_env`` when set (an Ed25519 private key contributes its public
    key; any other text is an HMAC secret of the earlier scheme). Bad key files are a ``UsageError``."""
    ring = Keyring()
    try:
        ring.add_files(public_keys)
    except SigningKeyError as exc:
        raise UsageError(f"--public-key: {exc}") from None
    signer = signer_from_env(key_env) if key_env else None
    if signer is not None:
        ring.update(signer.keyring())
    return ring


def key_from_env(name: str = KEY_ENV) -> bytes | None:
    """The signing key from the environment variable ``name``, or None when unset or empty.

    The variable is read once and removed from the environment (``childenv.take``), so that no
    process gatekeeper starts inherits it.
    """
    value = childenv.take(name)
    return value.encode("utf-8") if value else None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Appended:
    """Where a record landed: the log, its sequence number and the sha256 of its line (the new head)."""

    log: Path
    seq: int
    digest: str
    warning: str = ""  # said when this record breaks the log's signing (see ``_continuity``)


def _tail(fd: int, log: Path) -> tuple[bytes, bool]:
    """The last non-empty line of the open file and whether the file ends with a newline; a last
    line longer than ``MAX_RECORD_BYTES`` is a ``LimitError`` (it is never read whole)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return b"", True
    window = 65536
    while True:
        start = max(0, size - window)
        data = os.pread(fd, size - start, start)
        stripped = data.rstrip(b"\n")
        cut = stripped.rfind(b"\n")
        if cut >= 0 or start == 0:
            if len(stripped) - cut - 1 > MAX_RECORD_BYTES:
                break
            return stripped[cut + 1 :], data.endswith(b"\n")
        if len(stripped) > MAX_RECORD_BYTES:
            break
        window *= 4
    raise readback.LimitError(f"the last line is longer than {MAX_RECORD_BYTES} bytes: not a gatekeeper record", file=str(log))


def _last_record(last: bytes, log: Path) -> dict[str, Any] | None:
    """The log's last line as a record, or None when it is not a JSON object (a damaged line, which
    ``audit verify`` reports); a line beyond the reading limits is a ``LimitError`` naming the log."""
    try:
        data = readback.loads(last, str(log), line=None)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def check_tail(log: Path) -> None:
    """Raise ``LimitError`` when the log's last line is beyond the reading limits, so that a run
    stops (exit 2) before it checks or writes anything rather than at its append. A log that is
    missing, cannot be opened or is no regular file (a folder opens, then fails every read) is left
    to the append, which creates it or names the problem."""
    try:
        fd = os.open(log, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        last, _ = _tail(fd, log)
    finally:
        os.close(fd)
    if last:
        _last_record(last, log)


def _count_lines(fd: int) -> int:
    size = os.fstat(fd).st_size
    count, offset = 0, 0
    while offset < size:
        chunk = os.pread(fd, min(1 << 20, size - offset), offset)
        count += chunk.count(b"\n")
        offset += len(chunk)
    return count


def append(
    log: Path,
    record: Mapping[str, Any],
    key: Signer | bytes | None = None,
    stamp: Callable[[str], Mapping[str, Any]] | None = None,
    exact: Mapping[str, Any] | None = None,
) -> Appended:
    """Append ``record`` chained to the last line, under an exclusive lock, fsynced to disk.

    ``seq`` and ``prev`` are set here, under the lock; ``stamp`` (an RFC 3161 authority, see
    ``gatekeeper.timestamp``) then stamps ``stamped_digest`` of the record, and with ``key`` (a
    ``Signer``, or private key text as ``signing.signer_from_text`` reads it) the record, its stamp
    included, is signed (``sig``). A last line beyond the reading limits (``readback``) is a
    ``LimitError`` and nothing is appended. Every
    key and value of the record is redacted first (``redaction.redact_tree``). The log is opened
    without following a link (``O_NOFOLLOW``): a link where the log should be is an error, never
    a way to append to some other file. ``exact`` holds fields gatekeeper built itself from values
    it checked (key ids, public keys), added after redaction, which would mask them as tokens.
    """
    signer = signing.signer_from_text(key) if isinstance(key, bytes) else key
    record = redact_tree(record)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        created = not log.exists()
        fd = os.open(log, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        if log.is_symlink():
            raise OutputError(f"refusing to append to the audit log {log}: it is a symbolic link") from exc
        raise OutputError(f"cannot open the audit log {log}: {exc.strerror or exc}") from exc
    size = -1  # the log's size before this append, once locked: a failed write is cut back to it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        last, ends_with_newline = _tail(fd, log)
        previous = _last_record(last, log) if last else None
        seq = 1
        if last:
            try:
                seq = int(previous["seq"]) + 1  # type: ignore[index]
            except (ValueError, KeyError, TypeError):  # a damaged last line: count lines instead
                seq = _count_lines(fd) + (0 if ends_with_newline else 1) + 1
        data = dict(record)
        data["seq"] = seq
        data["prev"] = line_digest(last) if last else GENESIS
        data.update(exact or {})
        data.pop("sig", None)
        data.pop("signing", None)
        data.pop("timestamp", None)
        if stamp is not None:
            data["timestamp"] = dict(stamp(stamped_digest(data)))
        if signer is not None:
            data["sig"] = sign_record(data, signer)
        warning = _continuity(previous, bool(last), signer)
        line = stored_line(data)
        payload = (b"" if ends_with_newline else b"\n") + line + b"\n"
        while payload:
            written = os.write(fd, payload)
            payload = payload[written:]
        os.fsync(fd)
        if created:
            _fsync_dir(log.parent)
        return Appended(log=log, seq=seq, digest=line_digest(line), warning=warning)
    except OSError as exc:
        raise OutputError(f"cannot append to the audit log {log}: {exc.strerror or exc}{_cut_back(fd, size)}") from exc
    finally:
        os.close(fd)  # closing releases the lock


def _cut_back(fd: int, size: int) -> str:
    """Remove what a failed append wrote (a disk that filled up mid-line leaves part of one, which
    would read as a damaged record for good, and every later record would chain to it): the log is
    cut back to ``size``, its length before the append, while the lock is still held. Only this
    append's bytes go; what the text says is added to the error."""
    if size < 0:
        return ""
    try:
        if os.fstat(fd).st_size == size:
            return "; nothing was appended"
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError as exc:
        return f"; the part of the record written could not be removed ({exc.strerror or exc}): audit verify will report it"
    return "; the part of the record written was removed, the log is as it was"


def _fsync_dir(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def log_path(root: Path, policy: Policy) -> Path:
    """The policy's audit log (``audit.log``), relative paths taken from the project root."""
    log = Path(str(policy.audit["log"]))
    return log if log.is_absolute() else root / log


def _writable_log(root: Path, policy: Policy) -> Path:
    """``log_path`` resolved for appending: a link on the way inside the project is refused (exit 2)."""
    return resolve_for_write(log_path(root, policy), root)


def record_run(  # noqa: PLR0913  # the run's parts, and how to stamp its record
    root: Path,
    policy: Policy,
    result: GateResult,
    reports: Mapping[str, str],
    command: str,
    stamp: Callable[[str], Mapping[str, Any]] | None = None,
) -> Appended:
    """Append the record of a run to the policy's audit log, signed when ``GATEKEEPER_AUDIT_KEY`` is
    set, stamped by ``stamp`` when given."""
    record = build_record(result, reports, command, root)
    return append(_writable_log(root, policy), record, signer_from_env(), stamp)


def rotate_key(
    log: Path,
    signer: Signer,
    new_public_pem: str,
    stamp: Callable[[str], Mapping[str, Any]] | None = None,
    now: str | None = None,
) -> Appended:
    """Append a rotation record: signed by ``signer`` (the key in force), it names the new key's id
    and carries its public key, so a verifier holding the old public key follows it to the new one.
    ``stamp`` (the policy's authority) stamps it as a run's record is stamped, fixing when the new
    key took over; ``now`` is the record's ``time`` (default: the clock now).

    Refuses (``UsageError``) when the log is not signed, when ``signer`` is not the key that signed
    its last record (or that the last rotation named), and when the new key is the same key.
    """
    ring = Keyring()
    try:
        new_id = ring.add_public_pem(new_public_pem)
    except SigningKeyError as exc:
        raise UsageError(f"--new-public: {exc}") from None
    try:
        with open(log, "rb") as fh:
            last, _ = _tail(fh.fileno(), log)
    except FileNotFoundError:
        raise UsageError("audit log not found: there is no signing to hand over", file=str(log)) from None
    except OSError as exc:
        raise UsageError(f"cannot read the audit log: {exc.strerror or exc}", file=str(log)) from None
    if not last or b'"sig"' not in last:
        raise UsageError(
            "the log's last record is not signed: there is no signing key to hand over",
            file=str(log),
            hint="set the signing key and run check: 'audit verify --accept-unsigned-prefix' then accepts the unsigned records",
        )
    if _continuity(_last_record(last, log), True, signer):
        raise UsageError(
            f"{signer.key_id} is not the key in force (the one that signed the last record, or that the last rotation named)",
            file=str(log),
            hint="run 'key rotate' with the key in force in the signing-key variable",
        )
    if new_id == signer.key_id:  # asked once the signer is known to be the key in force, which it then names
        raise UsageError(f"the new key is the key in force ({new_id}): generate a new pair with 'gatekeeper key generate'")
    now = now or _now()
    record: dict[str, Any] = {
        "v": RECORD_VERSION, "time": now, "started_at": now, "command": "key rotate", "gatekeeper": __version__,
        "actor": actor_info(), "ci": ci_info(), "verdict": "key rotation", "checks": {},
        "waivers": {"applied": [], "expired": [], "unused": []}, "reports": {},
    }  # fmt: skip
    rotation = {"from": signer.key_id, "to": new_id, "alg": signing.ED25519, "public_key": new_public_pem.strip() + "\n"}
    return append(log, record, signer, stamp, exact={"rotate": rotation})


def _now() -> str:
    from gatekeeper.engine import iso_utc

    return iso_utc()


def append_interrupted(  # noqa: PLR0913  # and the repository as git told it
    root: Path, policy: Policy, started_at: str, reason: str, command: str = "check", repo: Mapping[str, Any] | None = None
) -> Appended:
    """Record a run that was interrupted (Ctrl-C, SIGTERM) before it reached a verdict.

    The record has verdict ``interrupted``, no checks and no reports; ``reason`` says what stopped it.
    ``repo``: ``gitinfo.repository_info`` of ``root``, asked before the tools were stopped (no
    process starts after that); asked here when not given.
    """
    from gatekeeper.engine import iso_utc
    from gatekeeper.gitinfo import repository_info

    repo = repo if repo is not None else repository_info(root)
    now = iso_utc()
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "time": now,
        "started_at": started_at,
        "command": command,
        "gatekeeper": __version__,
        "actor": actor_info(),
        "ci": ci_info(),
        "commit": commit_of(repo.get("commit", "")),
        "branch": text_of(repo.get("branch", "")),
        "policy": policy_block(policy.describe()),
        "verdict": "interrupted",
        "interrupted": True,
        "reason": text_of(reason),
        "checks": {},
        "waivers": {"applied": [], "expired": [], "unused": []},
        "reports": {},
    }
    return append(_writable_log(root, policy), record, signer_from_env())


def _continuity(previous: Mapping[str, Any] | None, has_last: bool, signer: Signer | None) -> str:
    """What ``audit verify`` will say about a record signed by ``signer`` after the record
    ``previous`` (None when the log is empty, ``has_last`` False, or its last line is damaged), when
    it breaks the log's signing: empty when it continues it (same key, or the key a rotation record
    named), or when the log is not signed at all."""
    before = signing.signature_key_id(previous.get("sig")) if isinstance(previous, dict) else None
    rotation = previous.get("rotate") if isinstance(previous, dict) else None
    if isinstance(rotation, dict) and isinstance(rotation.get("to"), str):
        before = str(rotation["to"])
    if signer is None:
        return f"this record is not signed, but the one before it is ({before}): set the signing key" if before else ""
    if before is None:
        if not has_last:
            return ""
        return (
            f"signing with {signer.key_id} starts after unsigned records: 'audit verify' reports them as not "
            "authenticated unless told to accept them (--accept-unsigned-prefix)"
        )
    if before == signer.key_id or (before == "hmac:?" and signer.algorithm == signing.HMAC_SHA256):
        return ""
    return (
        f"this record is signed with {signer.key_id}, the one before it with {before}, and no rotation record "
        "links them: run 'gatekeeper key rotate' with the old key first, or 'audit verify' reports the change"
    )


def read_records(log: Path, first: int = 1) -> list[dict[str, Any]]:
    """Every record of the log from line ``first`` on, in order; a line that is not a JSON object
    (or is beyond the reading limits) becomes ``{"line": its number, "invalid": True}``."""
    out: list[dict[str, Any]] = []
    for number, line, _more in _lines(log):
        if number < first:
            continue
        try:
            data = readback.loads(line, str(log), line=number)
        except (ValueError, readback.LimitError):
            data = None
        out.append(data if isinstance(data, dict) else {"line": number, "invalid": True})
    return out


def format_table(records: list[dict[str, Any]]) -> str:
    """The records as a plain-text table: seq, time, command, verdict, commit, branch, actor, checks.

    A log is data anyone with write access may have edited: every cell is shown as the console
    shows foreign text (``escapes.clean_line``: control characters escaped, one line), so that a
    verdict of ``"fail\\r... pass"`` cannot display as a passing row.
    """
    from gatekeeper.escapes import clean_line

    header = ("SEQ", "TIME (UTC)", "COMMAND", "VERDICT", "COMMIT", "BRANCH", "ACTOR", "CHECKS")
    rows: list[tuple[str, ...]] = []
    for rec in records:
        if rec.get("invalid"):
            rows.append(("?", f"(line {rec.get('line')} is not a valid record)", "", "", "", "", "", ""))
            continue
        checks: dict[str, Any] = rec["checks"] if isinstance(rec.get("checks"), dict) else {}
        statuses = " ".join(f"{name}:{(c or {}).get('status', '?')}" for name, c in sorted(checks.items()) if isinstance(c, dict))
        actor: dict[str, Any] = rec["actor"] if isinstance(rec.get("actor"), dict) else {}
        waivers: dict[str, Any] = rec["waivers"] if isinstance(rec.get("waivers"), dict) else {}
        notes = [f"{k} waivers: {_ids(v)}" for k, v in sorted(waivers.items()) if k != "applied" and v]
        rows.append(
            (
                str(rec.get("seq", "?")),
                str(rec.get("time", "")).replace("T", " ").rstrip("Z"),
                str(rec.get("command", "")),
                str(rec.get("verdict", "")) + (" (partial)" if _partial(rec) else ""),
                str(rec.get("commit", ""))[:12],
                str(rec.get("branch", "")),
                str(actor.get("name", "")),
                " ".join([statuses, *notes]).strip() or "-",
            )
        )
    rows = [tuple(clean_line(cell) for cell in row) for row in rows]
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in (header, *rows)]
    return "\n".join(lines) + "\n"


def _ids(value: Any) -> str:
    """A record's list of waiver ids as text; anything else (an edited record) as it stands."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _partial(rec: Mapping[str, Any]) -> bool:
    """True when the record says its run covered only part of the policy (``--only``, ``--skip``, one shard)."""
    scope = rec.get("scope")
    return isinstance(scope, Mapping) and scope.get("complete") is False


def records_json(records: list[dict[str, Any]]) -> str:
    """The records as indented JSON that is safe to print: C1 control characters, Unicode line
    separators and invisible format characters (bidirectional controls) as ``\\uXXXX`` escapes,
    and a ``##[`` (which a CI runner would obey anywhere in a line) as ``##\\u005b``; the JSON
    still means the same records."""
    from gatekeeper.escapes import INVISIBLE

    text = json.dumps(records, indent=2, ensure_ascii=False)
    text = re.sub(f"[\x7f-\x9f\u2028\u2029{INVISIBLE}]", lambda m: f"\\u{ord(m.group()):04x}", text)
    return text.replace("##[", "##\\u005b")
