"""Attestations: each run as an in-toto Statement (v1) in a DSSE envelope, signed with the run's key.

The statement's subjects are the commit (``gitCommit``) and the sha256 of every file the run
vouches for: the reports, the checks' artifacts (the SBOM) and the release artifacts named with
``check --subject``. Its predicate, of type ``PREDICATE_TYPE``, is the run: verdict, each check's
status and tool, the policy's digests, tool versions, the advisory database's digest and date, and
where its times come from. The envelope follows DSSE v1: ``payload`` is the statement's bytes in
base64, ``payloadType`` is ``application/vnd.in-toto+json``, and each signature is over
``PAE(payloadType, payload)``, naming the signer's key id. With a timestamp authority the envelope
also carries ``timestamp``, an RFC 3161 stamp over the sha256 of that PAE (``gatekeeper.timestamp``).

Three files are written next to the reports: the envelope (``gatekeeper.intoto.json``), and for
GitHub's keyless attestation step the predicate alone (``gatekeeper.predicate.json``) and the file
subjects in ``sha256sum`` form (``gatekeeper.subjects.sha256``). ``verify_envelope`` checks an
envelope with public keys only; ``gatekeeper/verify_attestation.py`` does the same without gatekeeper.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper import __version__
from gatekeeper.errors import UsageError
from gatekeeper.findings import GateResult
from gatekeeper.signing import Keyring, Signer, b64, unb64

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://gatekeeper.dev/attestation/gate/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
ENVELOPE_FILE = "gatekeeper.intoto.json"
PREDICATE_FILE = "gatekeeper.predicate.json"
SUBJECTS_FILE = "gatekeeper.subjects.sha256"
MAX_ENVELOPE_BYTES = 32 * 1024 * 1024


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE's pre-authentication encoding: ``DSSEv1 SP LEN(type) SP type SP LEN(body) SP body``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def sha256_file(path: Path) -> str:
    """The hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expand_subjects(patterns: Sequence[str], base: Path) -> list[Path]:
    """The files ``--subject`` names: each pattern a path or a glob (``**`` included), relative to
    ``base``; a pattern that matches no regular file is a ``UsageError`` (exit 2), never dropped."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        matches = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
        if not matches:
            raise UsageError(
                f"--subject {pattern!r} matches no file", hint="name release artifacts that exist, e.g. --subject 'dist/*.whl'"
            )
        for match in matches:
            found[match.resolve()] = None
    return list(found)


def subject_name(path: Path, root: Path) -> str:
    """A subject's name: its path relative to the project (posix), else its file name."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def _tools(result: GateResult) -> dict[str, str]:
    tools = {"gatekeeper": result.tool_version or __version__}
    for check in result.checks:
        if check.tool_name and check.tool_version:
            tools[check.tool_name] = check.tool_version
    return dict(sorted(tools.items()))


def _database(result: GateResult) -> dict[str, Any] | None:
    check = result.check("dependencies")
    info = check.metrics.get("database") if check is not None else None
    if not isinstance(info, Mapping):
        return None
    keys = ("kind", "location", "source_url", "as_of", "max_age_days", "fetched_at", "queried_at", "digest")
    return {k: info[k] for k in keys if info.get(k) not in (None, "", {})}


def predicate(result: GateResult, command: str, clock: Mapping[str, Any]) -> dict[str, Any]:
    """The run as the ``PREDICATE_TYPE`` predicate (camelCase keys, like in-toto's own predicates)."""
    from gatekeeper.auditrecord import decided_at

    waivers = {k: len(v) for k, v in result.waivers.items() if isinstance(v, list)}
    decided = decided_at(result)
    return {
        "gatekeeper": {"version": result.tool_version or __version__},
        "command": command,
        "verdict": result.verdict.value,
        "exitCode": result.exit_code,
        "startedAt": result.started_at,
        "finishedAt": result.finished_at,
        **({"mergedAt": decided} if decided != result.finished_at else {}),
        # by the monotonic clock: with the token's time it bounds the run's start (a merge's span is its parts' clocks)
        **({"durationS": round(result.duration_s, 3)} if command != "merge" else {}),
        "clock": dict(clock),
        "repository": {
            "commit": result.repository.get("commit", ""),
            "branch": result.repository.get("branch", ""),
            **({"folder": result.repository["folder"]} if isinstance(result.repository.get("folder"), str) else {}),
            # tracked files differed from the commit: the run judged code no commit holds
            # (null: the run lay in a work tree but git could not tell, which no verifier takes as the commit's)
            **({"dirty": result.repository["dirty"]} if _dirty_said(result.repository) else {}),
        },
        "policy": dict(result.policy),
        "checks": [
            {
                "name": c.name,
                "status": c.status.value,
                "summary": c.summary,
                "tool": {"name": c.tool_name, "version": c.tool_version},
                "findings": len(c.findings),
                "blocking": sum(1 for f in c.findings if f.blocking),
            }
            for c in sorted(result.checks, key=lambda c: c.name)
        ],
        "tools": _tools(result),
        "advisoryDatabase": _database(result),
        "waivers": waivers,
        # each waiver that let findings through, with its expiry: a verifier judges it again by trusted time
        "waiverTerms": _waiver_terms(result),
        # findings a baseline or a new-code reference let through as known: the policy never judged them
        "letThrough": _let_through(result),
        **({"strictWaivers": result.extra["strict_waivers"]} if isinstance(result.extra.get("strict_waivers"), bool) else {}),
        "run": {"actor": result.extra.get("actor"), "ci": result.extra.get("ci")},
        # a shard's verdict covers its share only (merge attests the whole)
        "shard": result.extra.get("shard") if isinstance(result.extra.get("shard"), Mapping) else None,
        # which of the policy's checks ran: a pass of part of them gates no commit
        "scope": _scope(result),
        # the VEX documents the run read: the policy names them by path, so their digests pin what they accepted
        **({"vex": _vex(result.extra["vex"])} if isinstance(result.extra.get("vex"), list) else {}),
    }


def _vex(documents: list[Any]) -> list[dict[str, str]]:
    """``[{path, sha256}]`` of each VEX document the run read, as the audit record keeps them."""
    return [{"path": str(d.get("path") or ""), "sha256": str(d.get("sha256") or "")} for d in documents if isinstance(d, Mapping)]


def _waiver_terms(result: GateResult) -> list[dict[str, str]]:
    """``[{id, expires}]`` of each waiver (or VEX statement) the run applied, sorted by id; written for
    every run, so a verifier tells "none" from a statement made before it was written."""
    applied = result.waivers.get("applied")
    terms = [
        {"id": str(w.get("id") or ""), "expires": str(w.get("expires") or "")}
        for w in (applied if isinstance(applied, list) else [])
        if isinstance(w, Mapping)
    ]
    return sorted(terms, key=lambda t: t["id"])


def _let_through(result: GateResult) -> dict[str, Any]:
    """``{baseline: {path, sha256, matched} | None, newCode: {ref, commit, existing} | None}``: what let
    findings through as known (``check --baseline``, ``--new-code-since``); written for every run, so
    a verifier tells "none" from a statement made before it was written."""
    baseline, new_code = result.extra.get("baseline"), result.extra.get("new_code")
    return {
        "baseline": {k: baseline.get(k) for k in ("path", "sha256", "matched")} if isinstance(baseline, Mapping) else None,
        "newCode": {k: new_code.get(k) for k in ("ref", "commit", "existing")} if isinstance(new_code, Mapping) else None,
    }


def _scope(result: GateResult) -> dict[str, Any] | None:
    """The run's scope as the audit record keeps it (``complete``, ``only``, ``skip``, ``left_out``, ``shard``)."""
    scope = result.extra.get("scope")
    if not isinstance(scope, Mapping):
        return None
    return {str(k): v for k, v in scope.items() if isinstance(v, (bool, int, str, list))}


def scope_note(predicate: Mapping[str, Any]) -> str:
    """What a verifier adds to the verdict of a partial run (``partial: skip lint; it gates no commit``);
    "" for a complete run and for a statement that records no scope."""
    from gatekeeper.gated import partial_note

    scope = predicate.get("scope")
    if not isinstance(scope, Mapping) or scope.get("complete") is not False:
        return ""
    return f"{partial_note(scope)}; it gates no commit"


def commit_subject(result: GateResult) -> dict[str, Any] | None:
    """The commit as a subject (``{"gitCommit": <hex>}``), named after the repository; None without one."""
    commit = str(result.repository.get("commit") or "")
    if len(commit) not in (40, 64) or any(c not in "0123456789abcdef" for c in commit):
        return None
    ci = result.extra.get("ci")
    repo = str(ci.get("repository") or "") if isinstance(ci, Mapping) else ""
    github = isinstance(ci, Mapping) and ci.get("provider") == "github-actions"
    name = f"git+https://github.com/{repo}" if repo and github else "commit"
    return {"name": name, "digest": {"gitCommit": commit}}


def statement(subjects: Iterable[Mapping[str, Any]], pred: Mapping[str, Any]) -> dict[str, Any]:
    """The in-toto Statement v1 of ``pred`` about ``subjects``."""
    return {"_type": STATEMENT_TYPE, "subject": list(subjects), "predicateType": PREDICATE_TYPE, "predicate": dict(pred)}


def serialize(document: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: sorted, compact UTF-8 JSON (DSSE signs bytes; no canonical form is needed)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def envelope(payload: bytes, signer: Signer | None) -> dict[str, Any]:
    """The DSSE envelope of ``payload``: signed by ``signer`` (its key id as ``keyid``), or with no signature."""
    signatures = []
    if signer is not None:
        signatures.append({"keyid": signer.key_id, "sig": b64(signer.sign(pae(PAYLOAD_TYPE, payload)))})
    return {"payloadType": PAYLOAD_TYPE, "payload": b64(payload), "signatures": signatures}


def stamped_digest(env: Mapping[str, Any]) -> str:
    """What an envelope's timestamp covers: the hex sha256 of ``PAE(payloadType, payload)``."""
    payload = _decode(str(env.get("payload", ""))) or b""
    return hashlib.sha256(pae(str(env.get("payloadType", "")), payload)).hexdigest()


def subject_digests(envelope: bytes) -> set[str]:
    """The sha256 digests the statement in the DSSE ``envelope`` (its bytes) names as subjects; empty
    when it is unreadable. Nothing is verified here: ``verify_envelope`` does that."""
    try:
        env = json.loads(envelope)
        statement = json.loads(_decode(str(env.get("payload", ""))) or b"{}")
        subjects = statement.get("subject")
    except (ValueError, AttributeError, RecursionError):
        return set()
    return {
        str(s["digest"]["sha256"])
        for s in (subjects if isinstance(subjects, list) else [])
        if isinstance(s, dict) and isinstance(s.get("digest"), dict) and "sha256" in s["digest"]
    }


def checksums(subjects: Iterable[Mapping[str, Any]]) -> str:
    """The file subjects as ``sha256sum`` lines (what ``actions/attest``'s ``subject-checksums`` reads)."""
    lines = [f"{s['digest']['sha256']}  {s['name']}" for s in subjects if "sha256" in s.get("digest", {})]
    return "".join(line + "\n" for line in lines)


Stamp = Callable[[str], Mapping[str, Any]]


def file_subjects(  # noqa: PLR0913  # the run's places, and what it wrote or was named
    result: GateResult,
    root: Path,
    out_dir: Path,
    reports: Mapping[str, str],
    extra: Sequence[Path],
    hashed: Mapping[Path, str] | None = None,
) -> list[dict[str, Any]]:
    """The file subjects: each report written (``reports``: path -> sha256), each artifact a check
    wrote into ``out_dir`` (the SBOM), and each ``--subject`` file, with the digest ``hashed`` holds
    for it (taken before the checks ran), else hashed now. Sorted by name."""
    found: dict[str, str] = {}
    for written, digest in reports.items():
        found[subject_name(Path(written), root)] = digest
    for check in result.checks:
        for relative in check.artifacts.values():
            artifact = out_dir / str(relative)
            if artifact.is_file() and not artifact.is_symlink():
                found[subject_name(artifact, root)] = sha256_file(artifact)
    for named in extra:
        try:
            found[subject_name(named, root)] = (hashed or {}).get(named) or sha256_file(named)
        except OSError as exc:
            raise UsageError(f"--subject {named}: cannot be read ({exc.strerror or exc})") from None
    return [{"name": name, "digest": {"sha256": digest}} for name, digest in sorted(found.items())]


@dataclass(frozen=True, eq=False, repr=False)
class AttestRequest:
    """What ``write_attestation`` needs: the run, where it wrote, and how to sign and stamp."""

    result: GateResult
    root: Path
    out_dir: Path
    reports: Mapping[str, str]
    subjects: Sequence[Path] = ()
    command: str = "check"
    signer: Signer | None = None
    stamp: Stamp | None = None
    hashed: Mapping[Path, str] = field(default_factory=dict)  # the subjects' digests before the checks ran


def write_attestation(request: AttestRequest) -> dict[str, str]:
    """Write the envelope, the predicate and the subjects' checksums into ``out_dir`` (atomically);
    return ``{path: sha256}`` of the three files."""
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.reports import write_atomic_all

    result = request.result
    clock = result.extra.get("clock") if isinstance(result.extra.get("clock"), Mapping) else {}
    files = file_subjects(result, request.root, request.out_dir, request.reports, request.subjects, request.hashed)
    commit = commit_subject(result)
    pred = predicate(result, request.command, clock or {})
    payload = serialize(statement([*([commit] if commit else []), *files], pred))
    env = envelope(payload, request.signer)
    if request.stamp is not None:
        env["timestamp"] = dict(request.stamp(stamped_digest(env)))
    texts = (
        (ENVELOPE_FILE, json.dumps(env, indent=2, ensure_ascii=False) + "\n"),
        (PREDICATE_FILE, json.dumps(pred, indent=2, ensure_ascii=False) + "\n"),
        (SUBJECTS_FILE, checksums(files)),
    )
    # synced together, as the reports are: all three on disk before the first is renamed into place
    return write_atomic_all([(resolve_for_write(request.out_dir / name, request.root), text) for name, text in texts])


# --------------------------------------------------------------------------- verifying


def _decode(text: str) -> bytes | None:
    """Standard or URL-safe base64 (DSSE verifiers must accept both)."""
    data = unb64(text)
    if data is None:
        import base64

        try:
            data = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
        except (ValueError, UnicodeEncodeError):
            return None
    return data


@dataclass(frozen=True, eq=False, repr=False)
class AttestationCheck:
    """``verify_envelope``'s outcome: ``problems`` empty and ``authenticated`` True mean it verified."""

    statement: Mapping[str, Any] = field(default_factory=dict)
    key_id: str = ""
    authenticated: bool = False
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    stamp_time: str = ""

    @property
    def ok(self) -> bool:
        """Signed by a trusted key, and every check asked for passed."""
        return self.authenticated and not self.problems


def load_envelope(path: Path) -> dict[str, Any]:
    """The envelope at ``path``; ``UsageError`` when it is missing, too big or not a DSSE JSON envelope."""
    try:
        if path.stat().st_size > MAX_ENVELOPE_BYTES:
            raise UsageError("larger than any attestation gatekeeper writes", file=str(path))
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UsageError("attestation not found", file=str(path)) from None
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise UsageError(f"not a DSSE envelope (unreadable JSON: {exc})", file=str(path)) from None
    if not isinstance(data, dict) or not {"payload", "payloadType", "signatures"} <= data.keys():
        raise UsageError("not a DSSE envelope (payload, payloadType and signatures are required)", file=str(path))
    return data


def verify_envelope(
    env: Mapping[str, Any], keyring: Keyring, files: Sequence[Path] = (), tsa_ca: Path | None = None
) -> AttestationCheck:
    """Check ``env``: a signature over its PAE by a key of ``keyring`` (the keyid only narrows which
    key to try), the payload an in-toto Statement v1 of gatekeeper's predicate, each file of
    ``files`` one of its subjects (by sha256), and with ``tsa_ca`` its timestamp."""
    problems: list[str] = []
    notes: list[str] = []
    payload = _decode(str(env.get("payload", "")))
    if payload is None:
        return AttestationCheck(problems=("the payload is not base64",))
    if env.get("payloadType") != PAYLOAD_TYPE:
        problems.append(f"payloadType is {env.get('payloadType')!r}, not {PAYLOAD_TYPE}")
    key_id, named = _signed_by(env, keyring, pae(str(env.get("payloadType", "")), payload))
    if not keyring:
        notes.append("no public key given: the signature was not checked, so the statement is NOT authenticated")
    elif named:
        problems.append(named)
    elif not key_id:
        problems.append("no signature verifies with the given key(s): the statement was altered, or another key signed it")
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return AttestationCheck(key_id=key_id, authenticated=bool(key_id), problems=(*problems, "the payload is not JSON"))
    if not isinstance(document, dict) or document.get("_type") != STATEMENT_TYPE:
        problems.append(f"the payload is not an in-toto Statement ({STATEMENT_TYPE})")
        document = document if isinstance(document, dict) else {}
    elif document.get("predicateType") != PREDICATE_TYPE:
        problems.append(f"predicateType is {document.get('predicateType')!r}, not {PREDICATE_TYPE}")
    digests = {
        str(s["digest"]["sha256"])
        for s in document.get("subject", [])
        if isinstance(s, dict) and isinstance(s.get("digest"), dict) and "sha256" in s["digest"]
    }
    for path in files:
        if sha256_file(path) not in digests:
            problems.append(f"{path}: not a subject of this attestation (its sha256 is not among the subjects')")
    stamp_time = _check_stamp(env, tsa_ca, problems, notes)
    pred = document.get("predicate")
    if stamp_time and isinstance(pred, dict):
        from gatekeeper.timestamp import skew_problem, start_problem

        # a merge's own time when it says one (its parts may have ended long before it was made)
        if (problem := skew_problem(str(pred.get("mergedAt") or pred.get("finishedAt", "")), stamp_time)) is not None:
            problems.append(f"timestamp: {problem}")
        elif (took := duration_of(pred)) is not None and (late := start_problem(str(pred.get("startedAt")), took, stamp_time)):
            problems.append(f"timestamp: {late}")  # its waivers and database age were judged by that start
    return AttestationCheck(document, key_id, bool(key_id), tuple(problems), tuple(notes), stamp_time)


def duration_of(predicate: Mapping[str, Any]) -> float | None:
    """The run's monotonic duration the predicate states (``durationS``); None when it does not (a
    statement made before it was written, or a merge's)."""
    took = predicate.get("durationS")
    if predicate.get("mergedAt") or isinstance(took, bool) or not isinstance(took, (int, float)) or took < 0:
        return None
    return float(took)


def _signed_by(env: Mapping[str, Any], keyring: Keyring, message: bytes) -> tuple[str, str]:
    """(the id of the first trusted key whose signature over ``message`` verifies, else ""; why a
    signature that verifies is refused, else ""). A signature whose ``keyid`` names another key than
    the one it verifies with is refused: gatekeeper writes the id of the key that signs, and whatever
    is judged by the signer (a key retired since a time) must be judged by the key that signed, not
    by the one named (``verify_attestation.py`` refuses it in the same words)."""
    signatures = env.get("signatures")
    named = ""
    for entry in signatures if isinstance(signatures, list) else []:
        if not isinstance(entry, dict):
            continue
        sig = _decode(str(entry.get("sig", "")))
        hint = str(entry.get("keyid") or "")
        if sig is None:
            continue
        for key_id in sorted([*keyring.public, *keyring.secrets], key=lambda k: k != hint):  # the named key first
            if not keyring.verify(key_id, message, sig):
                continue
            if hint and hint != key_id:
                named = named or signer_mismatch(hint, key_id)
                break
            return key_id, ""
    return "", named


def signer_mismatch(named: str, signed: str) -> str:
    """Why a signature whose ``keyid`` is ``named`` while it verifies with the key ``signed`` is refused."""
    return (
        f"a signature names key {named[:80]}, but it verifies with key {signed}: gatekeeper writes the id of the "
        "key that signs, so the envelope was relabelled; refused, as a retired key is judged by the key that signed"
    )


def _check_stamp(env: Mapping[str, Any], tsa_ca: Path | None, problems: list[str], notes: list[str]) -> str:
    stamp = env.get("timestamp")
    if not isinstance(stamp, Mapping) or "token" not in stamp:
        failed = stamp.get("error") if isinstance(stamp, Mapping) else None
        why = f"the authority failed when it was written: {failed}" if failed else "none"
        if tsa_ca is not None:  # trusted time was asked for: the signer's word alone is not it
            from gatekeeper.timestamp import NO_TRUSTED_TIME

            problems.append(
                f"timestamp: the statement {NO_TRUSTED_TIME} ({why}): its times are the runner's own clock, and "
                "whoever holds the key could have signed it at any time"
            )
        else:
            notes.append(f"no trusted timestamp{f' ({why})' if failed else ''}: the statement's times are the runner's own clock")
        return ""
    if tsa_ca is None:
        notes.append("it carries an RFC 3161 timestamp, not checked: pass --tsa-cert with the authority's certificate")
        return ""
    from gatekeeper.timestamp import verify_stamp

    check = verify_stamp(stamp, stamped_digest(env), tsa_ca)
    if not check.ok:
        problems.append(f"timestamp: {check.problem}")
    elif check.note:
        notes.append(f"timestamp: {check.note}")
    return check.time


def _dirty_said(repository: Mapping[str, Any]) -> bool:
    """Whether the run said if its tracked files differed from the commit: true or false, or null (in a
    git work tree, git could not tell); absent outside one."""
    return "dirty" in repository and (repository["dirty"] is None or isinstance(repository["dirty"], bool))
