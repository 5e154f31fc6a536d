"""Trusted time: RFC 3161 timestamp tokens from an authority (a TSA), requested and checked with openssl.

A token is the authority's signature over a digest and the time it saw it (``genTime``). With
``[audit] timestamp_url`` every audit record and every attestation carries one, as a ``stamp``:

    {"kind": "rfc3161", "url": ..., "digest": "sha256:<hex>", "time": <genTime, ISO 8601 UTC>,
     "token": <base64 DER TimeStampToken>}

The token is what counts: ``time`` and ``digest`` are repeated for people reading the JSON, and
``verify_stamp`` re-reads both from the token. The request is built by ``openssl ts -query``
(SHA-256 imprint, a nonce, the TSA's certificate requested), sent by HTTP POST as
``application/timestamp-query``, and the reply is checked by ``openssl ts -verify`` against the
query (imprint and nonce) and against ``[audit] timestamp_ca`` (the signature, the chain, and the
TSA certificate's critical ``timeStamping`` extended key usage) before it is kept.

Fail closed: an authority that cannot be reached, refuses, or answers with a token that does not
verify raises ``TimestampError`` (exit 3); openssl missing is an error the moment the feature is
configured (``require_openssl``). Without an authority nothing is stamped and every report says the
times it shows are the runner's own clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper import process
from gatekeeper.errors import GatekeeperError, ToolError
from gatekeeper.tokenhash import imprint_problem, signature_problem

KIND = "rfc3161"
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
#: what every report says about its times when no authority is configured (the console's line fits 80 columns)
RUNNER_CLOCK = "the runner's own clock (no timestamp authority set: [audit] timestamp_url)"
MAX_REPLY_BYTES = 1024 * 1024
_OPENSSL_TIMEOUT_S = 30.0
#: the most a stamp may follow the runner's own time for the record it covers (the record is written
#: seconds after the run ends; the Action may re-append it after a push race): beyond, the clock lied
MAX_SKEW_S = 900.0
#: how far the runner's clock may run ahead of the authority's (the two clocks' drift)
_DRIFT_S = 60.0
#: what ``openssl ts -reply -text`` prints (compiled by ``re`` on first use, not at every start-up)
_GEN_TIME = r"(?m)^Time stamp: (.+?)\s*$"
_IMPRINT = r"(?m)^Message data:\s*\n((?:\s+[0-9a-f]{4} - .*\n?)+)"


class TimestampError(GatekeeperError):
    """The timestamp authority or openssl failed; the evidence lacks the trusted time the policy asks for (exit 3)."""

    exit_code = 3


@dataclass(frozen=True)
class Authority:
    """Where tokens come from (``url``) and the certificate(s) they must chain to (``ca``, a PEM file)."""

    url: str
    ca: Path
    timeout_s: float = 15.0

    @property
    def shown(self) -> str:
        """The URL as every report, record, token entry and message names it: redacted like any other
        output (an access token in its query, ``user:password@``), since it is only ever asked, never read back."""
        from gatekeeper.redaction import redact

        return redact(self.url)


def clock_info(authority: Authority | None) -> dict[str, str]:
    """Where a run's times come from, for every report and the audit record (``clock``)."""
    if authority is None:
        return {"source": "runner", "authority": "", "note": RUNNER_CLOCK}
    return {
        "source": "runner",
        "authority": authority.shown,
        "note": f"the runner's own clock; the audit record and the attestation carry RFC 3161 timestamps from {authority.shown}",
    }


def stamper(authority: Authority, failures: list[str]) -> Callable[[str], dict[str, Any]]:
    """A ``stamp(digest)`` for ``audit.append`` and attestations that never raises: a failure
    becomes a stamp holding ``error`` (so the record shows it has no trusted time) and is added to
    ``failures``, which the caller turns into exit 3 once the evidence is written."""

    def stamp(digest_hex: str) -> dict[str, Any]:
        try:
            return request_stamp(authority, digest_hex)
        except TimestampError as exc:
            failures.append(exc.message)
            return {"kind": KIND, "url": authority.shown, "digest": "sha256:" + digest_hex, "error": exc.message}

    return stamp


def require_ca_file(ca: Path | None) -> None:
    """Refuse (``UsageError``, exit 2) a ``--tsa-cert`` that holds no PEM certificate: ``openssl ts -verify``
    would refuse every token against it, and a verifier would call intact evidence altered."""
    from gatekeeper.errors import UsageError

    if ca is None:
        return
    try:
        data = ca.read_bytes()
    except OSError as exc:
        why = "file not found" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror or exc})"
        raise UsageError(f"--tsa-cert: {why}", file=str(ca)) from None
    from cryptography import x509

    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        found = []
    if not found:
        raise UsageError(
            "--tsa-cert: holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA certificate the "
            "authority's certificate chains to (the policy's timestamp_ca)",
            file=str(ca),
        )


def require_openssl() -> str:
    """The openssl executable; ``TimestampError`` naming what to install when it is missing."""
    from gatekeeper.searchpath import which

    found = which("openssl")  # PATH's absolute folders: a relative one could be the checkout's
    if found is None:
        raise TimestampError(
            "[audit] timestamp_url needs the openssl command (it builds the RFC 3161 requests and checks the tokens), "
            "and it is not on PATH: install openssl (e.g. apt-get install openssl) or remove audit.timestamp_url"
        )
    return found


def authority_from(section: Mapping[str, Any], root: Path) -> Authority | None:
    """The authority the policy's ``[audit]`` section names, or None; a URL without ``timestamp_ca``,
    a URL that is not http(s), a missing CA file or a missing openssl is an error."""
    from gatekeeper.errors import PolicyError

    url = str(section.get("timestamp_url") or "").strip()
    if not url:
        return None
    if not re.match(r"(?i)https?://", url):
        raise PolicyError(f"expected an http:// or https:// URL, got {url!r}", key="audit.timestamp_url")
    ca_text = str(section.get("timestamp_ca") or "").strip()
    if not ca_text:
        raise PolicyError(
            "a timestamp authority needs the certificate its tokens are checked against",
            key="audit.timestamp_ca",
            hint="set it to a PEM file holding the authority's CA (or its own) certificate",
        )
    ca = Path(ca_text) if Path(ca_text).is_absolute() else root / ca_text
    if not ca.is_file():
        raise PolicyError(f"the authority's certificate file {ca} does not exist", key="audit.timestamp_ca")
    require_openssl()
    return Authority(url=url, ca=ca)


def digest_of(data: bytes) -> str:
    """The hex sha256 of ``data``: what a stamp covers."""
    return hashlib.sha256(data).hexdigest()


def _openssl(args: list[str], what: str) -> process.Completed:
    try:
        return process.run([require_openssl(), *args], timeout=_OPENSSL_TIMEOUT_S)
    except ToolError as exc:
        raise TimestampError(f"{what}: {exc}") from None


def _last_line(done: process.Completed) -> str:
    lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("Using configuration")]
    return "; ".join(useful[-3:]) or f"openssl exited with {done.returncode}"


def request_stamp(authority: Authority, digest_hex: str) -> dict[str, Any]:
    """A stamp over ``digest_hex`` (sha256, hex) from ``authority``, checked against its certificate.

    Raises ``TimestampError`` saying what failed: the request, the HTTP exchange, the reply's status,
    or the token's check against the query (imprint, nonce) and ``authority.ca``.
    """
    with tempfile.TemporaryDirectory(prefix="gatekeeper-tsa-") as scratch:
        folder = Path(scratch)
        query, reply, token = folder / "request.tsq", folder / "reply.tsr", folder / "token.der"
        done = _openssl(["ts", "-query", "-digest", digest_hex, "-sha256", "-cert", "-out", str(query)], "openssl ts -query")
        if done.returncode != 0:
            raise TimestampError(f"openssl could not build the timestamp request: {_last_line(done)}")
        reply.write_bytes(_post(authority, query.read_bytes()))
        done = _openssl(
            ["ts", "-verify", "-queryfile", str(query), "-in", str(reply), "-CAfile", str(authority.ca)], "openssl ts -verify"
        )
        if done.returncode != 0:
            raise TimestampError(
                f"the timestamp authority {authority.shown} answered, but its reply does not verify against the query and "
                f"{authority.ca}: {_last_line(done)}"
            )
        done = _openssl(["ts", "-reply", "-in", str(reply), "-token_out", "-out", str(token)], "openssl ts -reply")
        if done.returncode != 0:
            raise TimestampError(f"the token could not be taken out of the authority's reply: {_last_line(done)}")
        data = token.read_bytes()
        info = token_info(data)
    return {
        "kind": KIND,
        "url": authority.shown,
        "digest": "sha256:" + digest_hex,
        "time": info.time,
        "token": base64.b64encode(data).decode("ascii"),
    }


def _post(authority: Authority, body: bytes) -> bytes:
    import urllib.error  # here: most runs ask no authority, and urllib.request costs a run's start-up time
    import urllib.request

    request = urllib.request.Request(  # noqa: S310  # http(s) only, checked in authority_from
        authority.url, data=body, method="POST", headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE}
    )
    try:
        # http(s) only, checked in authority_from
        with urllib.request.urlopen(request, timeout=authority.timeout_s) as response:  # noqa: S310  # nosec B310
            data: bytes = response.read(MAX_REPLY_BYTES + 1)
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        exc.close()  # the error holds the open response
        refused = f"HTTP {exc.code} {exc.reason}"
        raise TimestampError(f"the timestamp authority {authority.shown} refused the request: {refused}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TimestampError(f"the timestamp authority {authority.shown} could not be reached: {reason}") from None
    if len(data) > MAX_REPLY_BYTES:
        raise TimestampError(f"the timestamp authority {authority.shown} answered with more than {MAX_REPLY_BYTES} bytes")
    if kind.split(";")[0].strip().lower() != REPLY_TYPE:
        raise TimestampError(
            f"the timestamp authority {authority.shown} answered with {kind or 'no content type'}, not {REPLY_TYPE}"
        )
    return data


@dataclass(frozen=True, eq=False, repr=False)
class TokenInfo:
    """What a token says: ``time`` (genTime, ISO 8601 UTC) and ``digest`` (the hex imprint it covers)."""

    time: str
    digest: str


def token_info(token: bytes) -> TokenInfo:
    """The time and imprint inside a DER TimeStampToken (``openssl ts -reply -token_in -text``)."""
    with tempfile.TemporaryDirectory(prefix="gatekeeper-tsa-") as scratch:
        path = Path(scratch) / "token.der"
        path.write_bytes(token)
        done = _openssl(["ts", "-reply", "-token_in", "-in", str(path), "-text"], "openssl ts -reply -text")
        found = re.search(_GEN_TIME, done.stdout)
        imprint = re.search(_IMPRINT, done.stdout)
        if done.returncode != 0 or found is None or imprint is None:
            raise TimestampError(f"not a readable RFC 3161 token: {_last_line(done)}")
        signed = _openssl(["cms", "-cmsout", "-print", "-inform", "DER", "-in", str(path)], "openssl cms -print")
    refused = imprint_problem(done.stdout) or signature_problem(signed.stdout if signed.returncode == 0 else "")
    if refused is not None:  # openssl ts -verify accepts a token signed over SHA-1 or MD5
        raise TimestampError(f"the token is refused: {refused}")
    return TokenInfo(time=_iso(found.group(1)), digest=_hex_dump(imprint.group(1)))


def _iso(text: str) -> str:
    """openssl's ``Dec  6 19:33:04 2026 GMT`` (fractions optional) as ``2026-12-06T19:33:04Z``."""
    cleaned = re.sub(r"\.\d+", "", " ".join(text.replace("GMT", "").split()))
    try:
        when = dt.datetime.strptime(cleaned, "%b %d %H:%M:%S %Y")
    except ValueError:
        raise TimestampError(f"the token's time {text!r} cannot be read") from None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex_dump(dump: str) -> str:
    """The bytes of openssl's ``0000 - 58 91 b5 ...   X...`` lines, as hex."""
    out = []
    for line in dump.splitlines():
        if " - " in line:
            out.extend(re.findall(r"\b[0-9a-f]{2}\b", line.split(" - ", 1)[1][:48]))
    return "".join(out)


@dataclass(frozen=True, eq=False, repr=False)
class StampCheck:
    """The outcome of ``verify_stamp``: ``problem`` is None when the token verifies; ``time`` is its
    genTime; ``note`` says what a verifier should show beside a token that verified (the authority's
    certificate has expired since the token's time)."""

    time: str = ""
    problem: str | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        """True when the token is the authority's, over the expected digest."""
        return self.problem is None


def verify_stamp(stamp: Any, digest_hex: str, ca: Path) -> StampCheck:
    """Check a stamp: its token is signed by an authority chaining to ``ca`` (``openssl ts -verify``)
    and covers ``digest_hex``; the ``time`` shown is the token's own genTime.

    The certificates are checked as of that genTime (``-attime``), the time the authority says it
    signed, as code-signing verifiers check a countersignature: a token made while the authority's
    certificate was valid still verifies once it has expired (with a ``note`` saying so), and a
    token whose genTime lies outside the certificate's validity (before it was issued, after it
    expired) is refused, as is one whose genTime is later than this machine's clock.
    """
    if not isinstance(stamp, Mapping) or stamp.get("kind") != KIND or not isinstance(stamp.get("token"), str):
        return StampCheck(problem="not an RFC 3161 stamp (kind rfc3161 with a base64 token)")
    try:
        token = base64.b64decode(str(stamp["token"]).encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return StampCheck(problem="the token is not valid base64")
    try:
        info = token_info(token)
    except TimestampError as exc:
        return StampCheck(problem=exc.message)
    when = _epoch(info.time)
    now = _clock()
    if when > now.timestamp() + _FUTURE_S:
        return StampCheck(
            time=info.time,
            problem=f"the token says the authority signed it at {info.time}, later than this machine's clock "
            f"({now.strftime('%Y-%m-%dT%H:%M:%SZ')}): no authority signs in the future (its clock was wrong, or this one is)",
        )
    with tempfile.TemporaryDirectory(prefix="gatekeeper-tsa-") as scratch:
        path = Path(scratch) / "token.der"
        path.write_bytes(token)
        args = ["ts", "-verify", "-digest", digest_hex, "-token_in", "-in", str(path), "-CAfile", str(ca)]
        done = _openssl([*args, "-attime", str(when)], "openssl ts -verify -attime")
    if done.returncode != 0:
        return StampCheck(problem=_refusal(ca, _last_line(done)))
    if info.digest != digest_hex:
        return StampCheck(problem="the token covers another digest")
    if stamp.get("time") not in (None, info.time):
        return StampCheck(time=info.time, problem=f"the stamp says {stamp.get('time')}, but its token says {info.time}")
    return StampCheck(time=info.time, note=_expired_since(token, now, info.time))


def _clock() -> dt.datetime:
    """This machine's time (UTC): what a token's genTime must not lie after."""
    return dt.datetime.now(dt.timezone.utc)


#: how far a token's genTime may lie ahead of the verifying machine's clock (the two clocks' drift)
_FUTURE_S = 300


def _expired_since(token: bytes, now: dt.datetime, when: str) -> str:
    """The note for a token that verified as of its genTime ``when`` while a certificate it carries
    has expired since (openssl, checking as of today, would refuse it); "" otherwise."""
    from cryptography.hazmat.primitives.serialization import pkcs7

    try:
        certificates = pkcs7.load_der_pkcs7_certificates(token)
    except ValueError:  # a token that carries no certificate: it verified as of its time, nothing more to say
        return ""
    if any(c.not_valid_after_utc < now for c in certificates):
        return f"the authority's certificate has expired since; it was valid at the token's time, {when}"
    return ""


def _epoch(when: str) -> int:
    """Seconds since the epoch of a genTime as ``token_info`` gives it (``2026-12-06T19:33:04Z``)."""
    return int(dt.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp())


# openssl's reasons that are about the authority's certificate, not about what the token covers
_EXPIRED = "certificate has expired"
_CERTIFICATE_REASONS = {
    _EXPIRED: "the authority's certificate had already expired at the token's time (checked as of the time the authority signed)",
    "certificate is not yet valid": "the authority's certificate was not yet valid at the token's time (checked as of the time "
    "the authority says it signed, which lies before the certificate was issued: the authority's clock was wrong)",
    "unable to get local issuer certificate": "the authority's certificate does not chain to {ca} (give the CA certificate "
    "that issued it, the policy's timestamp_ca, not the authority's own certificate or another CA)",
    "self-signed certificate": "the authority's certificate does not chain to {ca} (give the CA certificate that issued it)",
}

NOT_ALTERED = "the certificate given cannot vouch for the token; this alone does not show the content altered"
#: what a verifier given the authority's certificate says of evidence that carries no token to check
NO_TRUSTED_TIME = "carries no trusted timestamp, though a certificate was given to check one"


def _refusal(ca: Path, detail: str) -> str:
    """Why ``openssl ts -verify`` refused a token, in words: a certificate that cannot vouch for it (an
    expired authority, the wrong CA) is told apart from a token over other content."""
    for reason, words in _CERTIFICATE_REASONS.items():
        if reason in detail:
            return f"{words.format(ca=ca)}; {NOT_ALTERED}: {detail}"
    if "message imprint mismatch" in detail:
        return f"the token was issued for other content (its digest is not this content's): {detail}"
    return f"the token does not verify against {ca} for this content: {detail}"


def clock_skew_s(runner_time: str, stamp_time: str) -> float | None:
    """Seconds from the runner's clock (``runner_time``) to the authority's (``stamp_time``); None if unreadable."""
    try:
        a = dt.datetime.fromisoformat(runner_time.replace("Z", "+00:00"))
        b = dt.datetime.fromisoformat(stamp_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if a.tzinfo is None:
        a = a.replace(tzinfo=dt.timezone.utc)
    if b.tzinfo is None:
        b = b.replace(tzinfo=dt.timezone.utc)
    return (b - a).total_seconds()


def start_problem(started_at: str, duration_s: float, stamp_time: str) -> str | None:
    """What is wrong when a run says it started longer before the authority's time than it ran (by the
    monotonic clock) plus ``MAX_SKEW_S``: a clock set back as it started and right as it ended, whose
    end alone agrees with the authority (the run judged its waivers and database age by the start)."""
    since = clock_skew_s(started_at, stamp_time)
    if since is None or since <= duration_s + MAX_SKEW_S:
        return None
    return (
        f"the runner's clock says the run started at {started_at}, {since / 3600:.1f} h before the authority stamped it "
        f"at {stamp_time}, but the run took {duration_s:.0f} s: the runner's clock was set back while it ran"
    )


def skew_problem(runner_time: str, stamp_time: str) -> str | None:
    """What is wrong when the runner's clock disagrees with the authority's: the stamp must follow
    the runner's time by at most ``MAX_SKEW_S`` (and precede it by no more than a minute of drift)."""
    skew = clock_skew_s(runner_time, stamp_time)
    if skew is None:
        return f"the runner's time {runner_time!r} cannot be compared with the authority's {stamp_time}"
    if -_DRIFT_S <= skew <= MAX_SKEW_S:
        return None
    return (
        f"the runner's clock says {runner_time}, the authority stamped it at {stamp_time} "
        f"({abs(skew) / 3600:.1f} h apart): the runner's clock was wrong or set back"
    )


@dataclass(frozen=True, eq=False, repr=False)
class LogStamps:
    """The audit log's timestamps (``check_records``): how many records carry one, how many verified,
    and the problems found (a token that does not verify, a clock that disagrees with the authority)."""

    records: int = 0
    stamped: int = 0
    verified: int = 0
    failed: int = 0  # records whose stamp says the authority failed when they were written
    problems: tuple[str, ...] = ()
    first: str = ""
    last: str = ""
    notes: tuple[str, ...] = ()  # what to show beside records that verified (a certificate expired since)
    first_problem: int | None = None  # the seq of the first record with a problem
    unpinned: tuple[int, ...] = ()  # with ``ca``: the seqs after the last record whose token verified
    fixed: tuple[tuple[int, str], ...] = ()  # (seq, genTime) of each record whose token verified


def check_records(records: list[dict[str, Any]], ca: Path | None) -> LogStamps:
    """Check each record's ``timestamp`` against ``ca`` (covering ``audit.stamped_digest`` of the
    record, and within ``MAX_SKEW_S`` of its ``time``); without ``ca`` only count them.

    With ``ca`` the records' order is checked against the authority's times too: records are
    appended one after another, so a record (stamped or not) whose time lies more than
    ``MAX_SKEW_S`` before a trusted time of a record ahead of it claims a time it cannot have had
    (a record appended later and backdated, say, to make an old commit look gated).

    ``unpinned`` names the records after the last one whose token verified (every record, when
    none did): a token covers its record's ``prev``, so it fixes every line before it, but nothing
    fixes those after it, which whoever holds the signing key could have rewritten (``tail_problem``).
    A record no token of its own fixes must not claim a time after that of the token that does (the first
    verified one after it, plus a minute of drift): a record dated ahead of the records after it (a failing
    run post-dated out of the period an audit report covers) claims a time it cannot have had either."""
    from gatekeeper.audit import stamped_digest

    stamped = verified = failed = pinned = 0
    problems: list[tuple[int, str]] = []  # (index in records, words), one a record at most
    notes: list[str] = []
    times: list[str] = []
    fixed: list[tuple[int, str]] = []
    own: dict[int, str] = {}  # index -> the authority's time, for each record whose own token verified
    latest: tuple[str, str] | None = None  # the latest trusted time so far, and whose it is
    for index, record in enumerate(records):
        where = f"record #{record.get('seq', '?')}"
        count, before = len(problems), latest
        stamp = record.get("timestamp")
        if stamp is not None:
            stamped += 1
            if isinstance(stamp, Mapping) and stamp.get("error"):
                failed += 1
            elif ca is not None:
                check = verify_stamp(stamp, stamped_digest(record), ca)
                skew = skew_problem(str(record.get("time", "")), check.time) if check.ok else None
                if skew is None and check.ok and (began := _began(record)) is not None:
                    skew = start_problem(*began, check.time)
                if not check.ok:
                    problems.append((index, f"{where}: timestamp: {check.problem}"))
                elif skew is not None:
                    problems.append((index, f"{where}: {skew}"))
                else:
                    verified += 1
                    pinned = index + 1
                    times.append(check.time)
                    fixed.append((int(record["seq"]) if isinstance(record.get("seq"), int) else 0, check.time))
                    own[index] = check.time
                    if latest is None or check.time >= latest[0]:
                        latest = (check.time, where)
                    if check.note:
                        notes.append(f"{where}: {check.note}")
        # one problem a record: its own token's time already bounds a stamped record's
        if len(problems) == count and ca is not None and before is not None and (order := _order_problem(record, *before)):
            problems.append((index, f"{where}: {order}"))
    if ca is not None:
        problems = sorted([*problems, *_postdated(records, own, {index for index, _ in problems})], key=lambda p: p[0])
    first = next((int(s) for i, _ in problems if isinstance(s := records[i].get("seq"), int)), None)
    unpinned = tuple(int(r["seq"]) if isinstance(r.get("seq"), int) else 0 for r in records[pinned:]) if ca else ()
    return LogStamps(
        len(records), stamped, verified, failed, tuple(words for _, words in problems), min(times, default=""),
        max(times, default=""), tuple(notes), first, unpinned, tuple(fixed),
    )  # fmt: skip


def _postdated(records: list[dict[str, Any]], own: Mapping[int, str], refused: Collection[int]) -> list[tuple[int, str]]:
    """(index, words) for each record no token of its own fixes (``own``: index -> its token's time) whose time, or
    start, lies more than a minute (the clocks' drift) after the authority's time of the first record after it whose
    token verified, which fixes it, or whose time cannot be read; records already ``refused`` are left out (one problem
    a record)."""
    found: list[tuple[int, str]] = []
    fixer: tuple[str, object] | None = None  # the earliest trusted time after the record, and whose it is
    for index in range(len(records) - 1, -1, -1):
        record = records[index]
        if index in own:
            if fixer is None or own[index] <= fixer[0]:
                fixer = (own[index], record.get("seq", "?"))
            continue
        if fixer is None or index in refused:
            continue
        if clock_skew_s(str(record.get("time", "")), fixer[0]) is None:  # a period report could place it nowhere
            found.append((index, (
                f"record #{record.get('seq', '?')}: its time {str(record.get('time', ''))[:40]!r} cannot be compared with "
                f"the authority's time {fixer[0]} of record #{fixer[1]} after it, which fixes it"
            )))  # fmt: skip
            continue
        for field, what in (("time", "was written"), ("started_at", "started")):
            claimed = record.get(field)
            skew = clock_skew_s(claimed, fixer[0]) if isinstance(claimed, str) else None
            if skew is not None and skew < -_DRIFT_S:
                found.append((index, (
                    f"record #{record.get('seq', '?')}: it says it {what} at {claimed}, but record #{fixer[1]} after it in "
                    f"the log was stamped by the authority at {fixer[0]}: records are appended in order, so its time is "
                    "false (it was post-dated)"
                )))  # fmt: skip
                break
    return found


def _began(record: Mapping[str, Any]) -> tuple[str, float] | None:
    """The start and monotonic duration a run's record states (a merge's start is its parts'), or None."""
    started, took = record.get("started_at"), record.get("duration_s")
    if record.get("command") == "merge" or not isinstance(started, str) or isinstance(took, bool):
        return None
    return (started, float(took)) if isinstance(took, (int, float)) else None


def tail_problem(found: LogStamps) -> str | None:
    """What is wrong when records follow the last one whose token verified (``found.unpinned``): a
    key signs again, it cannot stamp again, so a key holder (a stolen key) who rewrote the log from
    some record on had to leave those records without a token; a verifier given the authority's
    certificate does not take them on the key's word."""
    if not found.unpinned:
        return None
    first, last = found.unpinned[0], found.unpinned[-1]
    span, them = (f"record #{first}", "it") if first == last else (f"records #{first}..#{last}", "them")
    after = "no record's token verified" if first == 1 else f"record #{first - 1} is the last whose token verified"
    return (
        f"{span}: no trusted timestamp fixes {them}, though a certificate was given to check one ({after}; a token "
        f"fixes its record and every line before it): whoever holds the signing key could have rewritten {them} "
        "(a key signs again, it cannot stamp again)"
    )


def _order_problem(record: Mapping[str, Any], trusted: str, whose: str) -> str | None:
    """What is wrong when ``record`` claims a time more than ``MAX_SKEW_S`` before ``trusted``, the
    authority's time for ``whose``, a record ahead of it in the log."""
    claimed = str(record.get("time", ""))
    skew = clock_skew_s(claimed, trusted)
    if skew is None or skew <= MAX_SKEW_S:
        return None
    return (
        f"it says it was written at {claimed}, but {whose} ahead of it in the log was stamped by the authority at "
        f"{trusted}: records are appended in order, so its time is false (it was appended later, backdated)"
    )
