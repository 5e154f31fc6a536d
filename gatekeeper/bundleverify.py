"""Verifying an evidence bundle (``gatekeeper bundle verify``): every file against the manifest, the
manifest's signature, the audit record that backs the result (and, with the log, its place in the
chain), and the RFC 3161 timestamps; each problem named, never a bundle half-believed."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper import readback, signing
from gatekeeper.audit import canonical, line_digest
from gatekeeper.auditchain import stored_line
from gatekeeper.bundle import (
    AUDIT_FILE,
    BUNDLE_FORMAT,
    MANIFEST,
    MAX_ENTRY_BYTES,
    MAX_MANIFEST_BYTES,
    manifest_bytes,
)
from gatekeeper.bundlepins import Pins, bundle_pins
from gatekeeper.errors import UsageError
from gatekeeper.recordfacts import database_of, duration_of, known_of, narrowed_of, ran_of, vex_of, waivers_of
from gatekeeper.signing import Keyring

#: the log given to ``bundle verify``: its path, first records accepted unauthenticated, the CA, retired keys
LogGiven = tuple[Path | None, int, Path | None, Mapping[str, str]]


@dataclass(frozen=True)
class BundleCheck:
    """The outcome of ``verify_bundle``: ``problems`` is empty when nothing was found altered.

    ``signature`` is the manifest's ``signing.SignatureCheck`` status (``unsigned`` when it has
    none); ``backing`` says what backs the result: ``record`` (the audit record, authenticated),
    ``unchecked-record`` (a record, not authenticated: no keys) or ``none``; ``record_seq`` is that
    record's place in its log, ``chain`` what the log given with ``--log`` said about it;
    ``record_verdict``, ``record_scope``, ``record_commit`` and ``record_policy`` are the verdict,
    scope (which of the policy's checks ran), commit and policy digests the record states,
    ``record_waivers`` the waivers it applied (id, expiry) and ``record_waived`` how many findings they accepted.
    """

    files: int
    problems: tuple[str, ...] = ()
    signature: str = "unsigned"
    key_id: str = ""
    keys_given: bool = False
    backing: str = "none"
    record_seq: int | None = None
    record_key_id: str = ""
    attestation_key_id: str = ""  # the trusted key whose signature on the attestation verified ("" none, or no keys)
    chain: str = ""
    record_verdict: str = ""
    record_scope: Mapping[str, Any] | None = None
    record_commit: str = ""
    record_vex: tuple[tuple[str, str], ...] | None = None  # (path, sha256) of each VEX document read; None: not said
    record_ran: tuple[str, ...] = ()  # the checks the record says ran (not skipped)
    record_database: Mapping[str, Any] | None = None  # the dependencies check's advisory database as recorded
    record_ci: Mapping[str, Any] | None = None  # the CI run the record names (provider, run, repository...), or None
    record_folder: str | None = None  # the folder of the work tree the run judged ("." its top; None: not said)
    # whether tracked files differed from the commit ("unknown": git could not tell; None: not said)
    record_dirty: bool | str | None = None
    record_policy: Mapping[str, Any] | None = None
    log_refused: tuple[str, ...] = ()  # with ``--log`` and ``--retired``: what ``audit verify --retired`` refuses
    record_waivers: tuple[tuple[str, str], ...] = ()
    record_waived: int = 0
    record_strict: bool | None = None  # whether the record says waivers were judged strictly (None: it does not say)
    record_lapsed: tuple[str, ...] = ()  # the waivers it lists as expired or unused, e.g. ``W2 (expired)``
    record_known: tuple[str, ...] = ()  # what let findings through as known: a baseline, REF's result (``known_of``)
    record_narrowed: tuple[str, ...] = ()  # the checks the project's own configuration or comments narrowed (``narrowed_of``)
    record_duration: float | None = None  # the run's monotonic duration (None: not said, or a merge's: other runners')
    manifest: Mapping[str, Any] = field(default_factory=dict)
    stamps: tuple[str, ...] = ()  # the files whose RFC 3161 timestamps verified (with ``tsa_ca``)
    unchecked_stamps: tuple[str, ...] = ()  # without ``tsa_ca``: the files that carry a token nobody checked
    unpinned: tuple[str, ...] = ()  # the entries only the manifest's signature vouches for (``bundlepins``)
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing was changed, added or removed and no signature or record contradicts it."""
        return not self.problems

    @property
    def authenticated(self) -> bool:
        """True when keys were given, the manifest is validly signed and an authenticated record backs the result."""
        return self.ok and self.signature == signing.VALID and self.backing == "record"

    @property
    def stamp_times(self) -> dict[str, str]:
        """{entry: the genTime its verified token fixes it at}, read from ``stamps`` (``NAME: stamped TIME ...``)."""
        return {name: rest.split()[1] for name, _, rest in (stamp.partition(": ") for stamp in self.stamps)}

    @property
    def signed(self) -> bool:
        """True when the manifest carries a signature (checked or not)."""
        return self.signature != "unsigned"


def verify_bundle(  # noqa: PLR0913  # the bundle, and what to hold it to
    path: Path,
    key: Keyring | bytes | None = None,
    tsa_ca: Path | None = None,
    log: Path | None = None,
    accept_prefix: int = 0,
    retired: Mapping[str, str] | None = None,
) -> BundleCheck:
    """Check every file of the bundle at ``path`` against its manifest, the manifest's signature
    against the keys ``key``, the audit record that backs the result (against ``log`` when given,
    its first ``accept_prefix`` records accepted unauthenticated, as ``audit verify`` does) and,
    with ``tsa_ca``, the RFC 3161 timestamps of its audit record and attestation; with keys
    ``retired`` since a time, the ``log`` as ``audit verify --tsa-cert --retired`` holds it (``log_refused``).

    A file that cannot be read as a zip is a ``UsageError``; everything else is a problem named in the result.
    """
    ring = signing.signer_from_text(key).keyring() if isinstance(key, bytes) else (key or Keyring())
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise UsageError("bundle not found", file=str(path)) from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"not a gatekeeper evidence bundle (not a readable zip: {exc})", file=str(path)) from None
    with zf:
        names = [i.filename for i in zf.infolist()]
        problems: list[str] = [
            f"added: {n} (a second entry with this name)" for n in sorted({n for n in names if names.count(n) > 1})
        ]
        problems.extend(  # before anything is read: a name or link an unzip could write outside its folder through
            f"unsafe: {i.filename} ({why}): gatekeeper never writes such an entry; do not extract this bundle"
            for i in zf.infolist()
            if (why := readback.unsafe_member(i)) is not None
        )
        if (hidden := readback.hidden_bytes(zf)) is not None:  # what an extractor reading entry after entry finds
            problems.append(
                f"unsafe: {hidden}: gatekeeper never writes such a zip; an extractor that reads its entries one after "
                "another (jar x, a streaming unzip) could write a file bundle verify never saw; do not extract this bundle"
            )
        if MANIFEST not in names:
            return BundleCheck(files=0, problems=(*problems, f"missing: {MANIFEST} (nothing in the bundle can be verified)"))
        try:  # never inflated past MAX_MANIFEST_BYTES, read within the limits (nesting, numbers)
            raw = readback.read_member(zf, zf.getinfo(MANIFEST), MAX_MANIFEST_BYTES, str(path))
            manifest = readback.loads(raw, str(path))
            listed = {str(f["path"]): (str(f["sha256"]), int(f["size"])) for f in manifest["files"]}
            if manifest.get("format") != BUNDLE_FORMAT:
                raise ValueError(f"format is {manifest.get('format')!r}")
        except readback.LimitError as exc:
            return BundleCheck(files=0, problems=(*problems, f"changed: {MANIFEST} ({exc.message})"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return BundleCheck(files=0, problems=(*problems, f"changed: {MANIFEST} (unreadable: {exc})"))
        for name in sorted(listed):
            problem = _entry_problem(zf, name, *listed[name]) if name in names else f"missing: {name}"
            if problem is not None:
                problems.append(problem)
        for name in sorted(set(names) - set(listed) - {MANIFEST}):
            problems.append(f"added: {name} (not in the manifest)")
        check = _manifest_signature(manifest, ring, problems)
        record = _record_of(zf, manifest, listed, names)
        pinned = Pins(unpinned=tuple(sorted(listed)))
        attested_by = ""
        if not problems:  # every entry is the one its manifest line names: are they of one run?
            attested_by = _one_run(zf, listed, record, ring, problems)
            _claimed_signer(manifest, attested_by, problems)
            _stated_facts(zf, manifest, record, problems)
            pinned = _pins(zf, listed, record, manifest)
            problems.extend(pinned.problems)
        if raw != manifest_bytes(manifest):  # signed is what it parses to: a first-of-two-keys reader sees other facts
            problems.append(f"changed: {MANIFEST} (not as gatekeeper writes a manifest: a key twice, other spacing or escapes)")
        stamps: tuple[str, ...] = ()
        if tsa_ca is not None and not problems:
            stamps, stamp_problems = _stamps(zf, tsa_ca)
            problems.extend(stamp_problems)
        unchecked = _tokens(zf) if tsa_ca is None and not problems else ()
    backing = _backing(record, listed, ring, (log, accept_prefix, tsa_ca, retired or {}), problems)
    return BundleCheck(
        files=len(listed), problems=tuple(problems), signature=check.status if check else "unsigned",
        key_id=check.key_id if check else "", keys_given=bool(ring), manifest=manifest, stamps=stamps,
        unchecked_stamps=unchecked, unpinned=pinned.unpinned, notes=pinned.notes, attestation_key_id=attested_by, **backing,
    )  # fmt: skip


def _pins(zf: zipfile.ZipFile, listed: Mapping[str, tuple[str, int]], record: bytes | None, manifest: Mapping[str, Any]) -> Pins:
    """``bundlepins.bundle_pins`` of the bundle's entries against the record behind the result."""
    digests = {name: digest for name, (digest, _) in listed.items()}
    return bundle_pins(digests, _record_data(record), lambda n: _member(zf, n), manifest)


def _tokens(zf: zipfile.ZipFile) -> tuple[str, ...]:
    """The bundle's pieces (the audit record, the attestation) that carry an RFC 3161 token."""
    from gatekeeper.bundleguide import ATTESTATION_FILE

    found = []
    for name in (AUDIT_FILE, ATTESTATION_FILE):
        stamp = _json_object(zf, name).get("timestamp") if name in zf.namelist() else None
        if isinstance(stamp, Mapping) and "token" in stamp:
            found.append(name)
    return tuple(found)


def vouch_for(data: bytes, keys: Keyring, tsa_ca: Path | None) -> tuple[list[str], list[str]]:
    """Verify the bundle ``data`` about to be written as ``bundle verify`` would: (what held up, problems).

    With ``keys`` the manifest must be signed by one of them and an audit record they authenticate
    must back the result; with ``tsa_ca`` the bundle must carry an RFC 3161 timestamp and every
    timestamp it carries must verify against that certificate.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gatekeeper-bundle-") as folder:
        path = Path(folder) / "bundle.zip"
        path.write_bytes(data)
        outcome = verify_bundle(path, keys, tsa_ca)
    problems = list(outcome.problems)
    held: list[str] = []
    if keys:
        if outcome.signature != signing.VALID:
            why = outcome.signature
            problems.append(f"{MANIFEST}: not signed by a key given ({why}): set the signing key's variable (--key-env)")
        if outcome.backing == "record":
            held.append(f"result: backed by audit record #{outcome.record_seq}, signed by {outcome.record_key_id}")
        elif outcome.backing == "none":
            problems.append("the result is NOT BACKED by any audit record (auditing was off, or the result was edited)")
    if tsa_ca is not None:
        if outcome.stamps:
            held.extend(f"timestamp: {stamp}, verified against {tsa_ca}" for stamp in outcome.stamps)
        elif not any("timestamp: " in problem for problem in outcome.problems):  # those say why theirs failed
            problems.append(f"nothing in the bundle carries an RFC 3161 timestamp to check against {tsa_ca}")
    return held, problems


def _manifest_signature(manifest: Mapping[str, Any], ring: Keyring, problems: list[str]) -> signing.SignatureCheck | None:
    """The manifest's signature checked against ``ring`` (None when unsigned); what is wrong goes to ``problems``."""
    sig = manifest.get("sig")
    if sig is None:
        if ring:
            problems.append(f"{MANIFEST}: not signed, but keys were given (the bundle was made without the key, or rewritten)")
        return None
    check = signing.check_signature(ring, sig, canonical(manifest))
    if check.status == signing.UNKNOWN_KEY:
        problems.append(f"{MANIFEST}: signed with key {check.key_id or '?'}, which is not among the keys given")
    elif check.status in (signing.INVALID, signing.MALFORMED):
        problems.append(f"{MANIFEST}: signature does not match (the manifest was altered, or another key signed it)")
    return check


def _record_of(zf: zipfile.ZipFile, manifest: Mapping[str, Any], listed: Mapping[str, Any], names: list[str]) -> bytes | None:
    """The audit record line the bundle carries (when its manifest lists one and the entry is sane)."""
    if manifest.get("audit_record") != AUDIT_FILE or AUDIT_FILE not in listed or AUDIT_FILE not in names:
        return None
    try:
        return readback.read_member(zf, zf.getinfo(AUDIT_FILE), MAX_MANIFEST_BYTES, AUDIT_FILE).rstrip(b"\n")
    except readback.LimitError:
        return None  # the entry's own check names what is wrong with it


def _one_run(zf: zipfile.ZipFile, listed: Mapping[str, tuple[str, int]], record: bytes | None, ring: Keyring,
             problems: list[str]) -> str:  # fmt: skip
    """Check that the bundle's pieces are of one run: each report and the attestation are the files
    the audit record lists under their names (the record is what the log and its timestamp pin), and
    the attestation names this ``gatekeeper.json`` among its subjects, signed by a key given. A piece
    of another run (an HTML page that shows another verdict, another run's attestation) is a problem
    even when every piece verifies alone. Returns the id of the key whose signature on the attestation
    verified ("" when none did, or no keys were given)."""
    from gatekeeper.bundleguide import ATTESTATION_FILE

    data = _record_data(record)
    written: dict[str, set[str]] = {}
    reports = data.get("reports") if isinstance(data.get("reports"), Mapping) else {}
    for path, digest in (reports or {}).items():
        written.setdefault(str(path).rsplit("/", 1)[-1], set()).add(str(digest))
    for name, (digest, _) in sorted(listed.items()):
        if not (name.startswith("reports/") or name == ATTESTATION_FILE):
            continue
        recorded = written.get(name.rsplit("/", 1)[-1])
        if recorded and digest not in recorded and name in zf.namelist():
            problems.append(
                f"{name}: not the file the run wrote under that name (record #{data.get('seq', '?')} lists sha256 "
                f"{sorted(recorded)[0][:16]}..., this one is {digest[:16]}...): another run's, or edited after the run"
            )
    if ATTESTATION_FILE in listed and ATTESTATION_FILE in zf.namelist():
        return _attestation_of_this_run(zf, _results_digest(listed), ring, problems)
    return ""


def _claimed_signer(manifest: Mapping[str, Any], attested_by: str, problems: list[str]) -> None:
    """The manifest's ``key_id`` (the key it tells a reader signed the attestation, which the bundle's
    README repeats) must be the key whose signature on it verified: a key retired since a time is
    judged by the key that signed, and a manifest naming another would have it judged by that one."""
    said = manifest.get("key_id")
    if attested_by and said and str(said) != attested_by:
        problems.append(
            f"{MANIFEST}: key_id says the attestation was signed by {str(said)[:80]}, but the signature that verifies on it "
            f"is by key {attested_by}: the manifest names another signer than the one that signed"
        )


def _stated_facts(zf: zipfile.ZipFile, manifest: Mapping[str, Any], record: bytes | None, problems: list[str]) -> None:
    """The commit and verdict the manifest and the README state (what ``bundle verify`` prints, what an
    auditor reads first) must be the audit record's: whoever holds the signing key can re-sign a
    manifest or README naming another commit, but not the record the log and its timestamp pin."""
    import re

    from gatekeeper.bundleguide import README_FILE

    data = _record_data(record)
    if not data:
        return
    commit, verdict = str(data.get("commit") or ""), str(data.get("verdict") or "")
    created = manifest.get("created_from") if isinstance(manifest.get("created_from"), Mapping) else {}
    stated = [(f"{MANIFEST}: commit", str(manifest.get("commit") or ""), commit)]
    stated.append((f"{MANIFEST}: created_from.verdict", str((created or {}).get("verdict") or ""), verdict))
    if README_FILE in zf.namelist():
        text = _member(zf, README_FILE).decode("utf-8", "replace")
        said = re.search(r"(?m)^- Commit: `([^`\n]*)`", text)
        judged = re.search(r"(?m)^- Verdict: \*\*([^*\n]*)\*\*", text)
        stated.append((f"{README_FILE}: Commit", said.group(1) if said else "(not stated)", commit or "not recorded"))
        stated.append((f"{README_FILE}: Verdict", judged.group(1) if judged else "(not stated)", verdict))
    for where, says, recorded in stated:
        if says != recorded:
            problems.append(
                f"{where} says {says!r}, but audit record #{data.get('seq', '?')} behind the result says {recorded!r}: "
                "the bundle was re-signed with another run's facts"
            )


def _record_data(record: bytes | None) -> dict[str, Any]:
    """The embedded audit record as an object ({} when there is none or it is not one: ``_backing`` says so)."""
    if record is None:
        return {}
    try:
        data = readback.loads(record, AUDIT_FILE)
    except (ValueError, readback.LimitError):
        return {}
    return data if isinstance(data, dict) else {}


def _attestation_of_this_run(zf: zipfile.ZipFile, results: str, ring: Keyring, problems: list[str]) -> str:
    """The bundle's attestation must name its ``reports/gatekeeper.json`` (by sha256) and, with keys, be
    signed by one of them; what is wrong goes to ``problems``. Returns the id of the key whose signature
    verified ("" when none did, or no keys were given)."""
    from gatekeeper.attestation import subject_digests, verify_envelope
    from gatekeeper.bundleguide import ATTESTATION_FILE

    digests = subject_digests(_member(zf, ATTESTATION_FILE))
    if results and results not in digests:
        problems.append(
            f"{ATTESTATION_FILE}: its statement does not name this bundle's reports/gatekeeper.json among its subjects: "
            "it is the attestation of another run (or of an edited result)"
        )
    if not ring:
        return ""
    check = verify_envelope(_json_object(zf, ATTESTATION_FILE), ring)
    if not check.authenticated:
        problems.append(
            f"{ATTESTATION_FILE}: no signature on it verifies with the keys given (another key signed it, or it was altered)"
        )
    problems.extend(f"{ATTESTATION_FILE}: {p}" for p in check.problems if p.startswith("a signature names key"))
    return check.key_id


def _results_digest(listed: Mapping[str, tuple[str, int]]) -> str:
    entry = listed.get("reports/gatekeeper.json")
    return entry[0] if entry else ""


def _backing(record: bytes | None, listed: Mapping[str, tuple[str, int]], ring: Keyring,
             log: LogGiven, problems: list[str]) -> dict[str, Any]:  # fmt: skip
    """What backs the bundle's result: the embedded audit record, checked (signature, that it lists this
    ``gatekeeper.json``, and its place in the log ``log[0]`` whose first ``log[1]`` records are accepted
    unauthenticated, held to the certificate ``log[2]`` and the retired keys ``log[3]``); what
    contradicts it goes to ``problems``."""
    if record is None:
        return {"backing": "none"}
    try:
        data = readback.loads(record, AUDIT_FILE)
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (ValueError, readback.LimitError):
        problems.append(f"{AUDIT_FILE}: not an audit record")
        return {"backing": "none"}
    seq = data.get("seq") if isinstance(data.get("seq"), int) else None
    if stored_line(data) != record:  # a key twice, other spacing: readers could take another verdict than this one
        problems.append(
            f"{AUDIT_FILE}: record #{seq} is not as gatekeeper writes a record (a key twice, other spacing or escapes)"
        )
    reports = data.get("reports")
    if not isinstance(reports, dict):
        reports = {}
    digests = {str(v) for k, v in reports.items() if str(k).endswith("gatekeeper.json")}
    if _results_digest(listed) not in digests:
        problems.append(
            f"{AUDIT_FILE}: record #{seq} does not list this bundle's reports/gatekeeper.json: it does not back this result"
        )
    sig = data.get("sig")
    check = signing.check_signature(ring, sig, canonical(data)) if sig is not None else None
    if ring and (check is None or not check.valid):
        why = "not signed" if check is None else f"signature {check.status} (key {check.key_id or '?'})"
        problems.append(f"{AUDIT_FILE}: record #{seq} is not authenticated by the keys given: {why}")
    waived = waivers_of(data)
    if waived["record_strict"] is True and data.get("verdict") == "pass" and waived["record_lapsed"]:
        problems.append(
            f"{AUDIT_FILE}: record #{seq} says waivers were judged strictly, yet its verdict is pass with "
            f"{', '.join(waived['record_lapsed'])}: a strict judgement fails such a run"
        )
    chain, refused = _chain_position(record, seq, ring, log, problems) if log[0] is not None else ("", ())
    backed = bool(ring) and check is not None and check.valid
    scope = data.get("scope") if isinstance(data.get("scope"), Mapping) else None
    return {"backing": "record" if backed else "unchecked-record", "record_seq": seq,
            "record_key_id": check.key_id if check else "", "chain": chain,
            "record_verdict": str(data.get("verdict") or ""), "record_scope": scope,
            "record_commit": str(data.get("commit") or ""), "log_refused": refused,
            "record_folder": data["folder"] if isinstance(data.get("folder"), str) else None,
            "record_dirty": data["dirty"] if isinstance(data.get("dirty"), bool) else ("unknown" if "dirty" in data else None),
            "record_ci": data["ci"] if isinstance(data.get("ci"), Mapping) else None, "record_vex": vex_of(data),
            "record_ran": ran_of(data), "record_database": database_of(data),
            "record_policy": data.get("policy") if isinstance(data.get("policy"), Mapping) else None,
            "record_known": known_of(data), "record_narrowed": narrowed_of(data), "record_duration": duration_of(data),
            **waived}  # fmt: skip


def _chain_position(record: bytes, seq: int | None, ring: Keyring, given: LogGiven,
                    problems: list[str]) -> tuple[str, tuple[str, ...]]:  # fmt: skip
    """Verify the log ``given`` with ``ring``, and that its record #``seq`` is ``record`` byte for
    byte: (the chain's status, what ``keyretire.log_refusals`` refuses in it, with a certificate and retired keys)."""
    from gatekeeper.audit import verify_log

    log, accept_prefix, ca, retired = given
    if log is None:
        return "", ()
    records: list[dict[str, Any]] = []
    outcome = verify_log(log, ring, accept_prefix=accept_prefix, collect=records)
    if seq is None or not 1 <= seq <= outcome.records:
        problems.append(f"{AUDIT_FILE}: record #{seq} is not among the {outcome.records} verified record(s) of {log}")
        if not outcome.ok:  # why the log stops verifying before it (a fix may be named there)
            problems.append(f"{log}: {outcome.status} at {outcome.problem}")
        return outcome.status, ()
    with open(log, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if number == seq:
                if line_digest(line) != line_digest(record):
                    problems.append(f"{AUDIT_FILE}: record #{seq} differs from line {seq} of {log}")
                break
    if not outcome.ok or ca is None:  # a certificate given asks for trusted time, the log's included
        problems.extend([f"{log}: {outcome.status} at {outcome.problem}"] if not outcome.ok else [])
        return outcome.status, ()
    from gatekeeper.keyretire import log_refusals

    return outcome.status, tuple(log_refusals(records, ca, retired, ring.ids())[1])


def _stamps(zf: zipfile.ZipFile, ca: Path) -> tuple[tuple[str, ...], list[str]]:
    """Check the timestamps of the bundle's audit record and attestation against ``ca``: (what verified, problems).

    A certificate given asks for trusted time: a record or attestation the bundle holds without a
    token that verifies (none, or the authority's failure noted in its place) is a problem, since
    its times are then the signer's word alone, and a key holder could have signed it at any time.
    """
    from gatekeeper.attestation import stamped_digest
    from gatekeeper.bundleguide import ATTESTATION_FILE
    from gatekeeper.timestamp import NO_TRUSTED_TIME, check_records, skew_problem, verify_stamp

    verified: list[str] = []
    problems: list[str] = []
    names = set(zf.namelist())
    if AUDIT_FILE in names:
        record = _json_object(zf, AUDIT_FILE)
        found = check_records([record], ca)
        problems.extend(f"{AUDIT_FILE}: {p}" for p in found.problems)
        if found.verified:
            verified.append(f"{AUDIT_FILE}: stamped {found.first}" + "".join(f" ({n.split(': ', 1)[1]})" for n in found.notes))
        elif not found.problems:
            why = _unstamped(record.get("timestamp"))
            problems.append(f"{AUDIT_FILE}: record #{record.get('seq', '?')}: timestamp: {NO_TRUSTED_TIME} ({why})")
    if ATTESTATION_FILE in names:
        env = _json_object(zf, ATTESTATION_FILE)
        stamp = env.get("timestamp")
        if not isinstance(stamp, Mapping) or "token" not in stamp:
            problems.append(f"{ATTESTATION_FILE}: timestamp: {NO_TRUSTED_TIME} ({_unstamped(stamp)})")
        else:
            check = verify_stamp(stamp, stamped_digest(env), ca)
            predicate = _predicate(env)
            problem = check.problem or skew_problem(str(predicate.get("mergedAt") or predicate.get("finishedAt", "")), check.time)
            if problem:
                problems.append(f"{ATTESTATION_FILE}: timestamp: {problem}")
            else:
                verified.append(f"{ATTESTATION_FILE}: stamped {check.time}" + (f" ({check.note})" if check.note else ""))
    return tuple(verified), problems


def _unstamped(stamp: object) -> str:
    """Why a record or attestation has no token: none at all, or the authority failed when it was written."""
    if isinstance(stamp, Mapping) and stamp.get("error"):
        return f"the authority failed when it was written: {stamp.get('error')}"
    return "none: it was written without a timestamp authority, or its token was removed"


def _member(zf: zipfile.ZipFile, name: str) -> bytes:
    """The bundle entry ``name`` (a record or an envelope), read within ``MAX_MANIFEST_BYTES``; b"" beyond it."""
    try:
        return readback.read_member(zf, zf.getinfo(name), MAX_MANIFEST_BYTES, name)
    except readback.LimitError:
        return b""


def _json_object(zf: zipfile.ZipFile, name: str) -> dict[str, Any]:
    """The bundle entry ``name`` as a JSON object ({} when it is not one: its digest matched, so the signer wrote it so)."""
    try:
        data = json.loads(_member(zf, name))
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _predicate(env: Mapping[str, Any]) -> dict[str, Any]:
    """The predicate of the DSSE envelope ``env`` ({} when its payload is not a statement)."""
    try:
        statement = json.loads(base64.b64decode(str(env.get("payload", ""))))
    except (ValueError, RecursionError):
        return {}
    found = statement.get("predicate") if isinstance(statement, dict) else None
    return found if isinstance(found, dict) else {}


def _entry_problem(zf: zipfile.ZipFile, name: str, want: str, size: int) -> str | None:
    """What is wrong with the bundle's entry ``name`` against its manifest line (sha256 ``want``, ``size``), or None.

    The entry is never inflated past the size its manifest line states (nor past ``MAX_ENTRY_BYTES``);
    one that is encrypted or compressed by a method gatekeeper never uses is changed, not read.
    """
    info = zf.getinfo(name)
    if info.file_size != size:
        return f"changed: {name} ({info.file_size} bytes, manifest says {size})"
    limit = min(max(size, 0), MAX_ENTRY_BYTES)
    problem = readback.member_problem(info, limit)
    if problem is not None:
        return f"changed: {name} (it {problem}; gatekeeper writes every entry deflated, unencrypted)"
    digest = hashlib.sha256()
    try:
        for chunk in readback.member_chunks(zf, info, limit, name):
            digest.update(chunk)
    except readback.LimitError as exc:
        return f"changed: {name} (damaged: {exc.message})"
    if digest.hexdigest() != want:
        return f"changed: {name} (sha256 {digest.hexdigest()[:16]}..., manifest says {want[:16]}...)"
    return None
