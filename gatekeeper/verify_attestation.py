"""Verify a gatekeeper attestation without gatekeeper: Python's standard library and ``cryptography``.

Copy this file anywhere (evidence bundles carry it as ``verify/verify_attestation.py``) and run:

    python verify_attestation.py gatekeeper.intoto.json gatekeeper.pub [FILE ...] [--commit SHA] [--require-pass]

It checks that the DSSE envelope's signature over PAE(payloadType, payload) verifies with the
Ed25519 public key, that the payload is an in-toto Statement v1 of gatekeeper's predicate, and that
each FILE's sha256 is one of the statement's subjects; then it prints the verdict (for a partial run,
with the checks that did not run) and the commit. Authentic is not passing: ``--commit SHA`` refuses
a statement about another commit (an old passing run's attestation replayed for a new one), and
``--require-pass`` one whose verdict is not pass or whose run was partial.
Exit 0 when everything holds, 1 otherwise, 2 for bad arguments (a file that is not an envelope or an
Ed25519 public key). It imports nothing from gatekeeper, on purpose.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://gatekeeper.dev/attestation/gate/v1"
#: a commit named in full (SHA-1 or SHA-256): an abbreviation can be matched by a commit made to share it
_FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, as DSSE allows both."""
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def commit_problem(statement: dict[str, Any], commit: str | None) -> str:
    """Why ``--commit`` refuses the statement ("" when it is about that commit, or none was asked):
    only a full id counts, since any commit can be made to start with a chosen prefix. The same
    rule for ``gatekeeper attestation verify``, which calls this."""
    if commit is None:
        return ""
    wanted = commit.strip().lower()
    subjects = statement.get("subject")
    named = {
        str(s["digest"]["gitCommit"]).lower()
        for s in (subjects if isinstance(subjects, list) else [])
        if isinstance(s, dict) and isinstance(s.get("digest"), dict) and "gitCommit" in s["digest"]
    }
    if not _FULL_ID.fullmatch(wanted):  # a prefix is matched by any commit made to start with it
        return f"--commit {commit}: give the commit's full id (40 or 64 hex digits), not an abbreviation"
    if wanted not in named:
        said = ", ".join(sorted(named)) or "none"
        return f"--commit {commit}: the statement is about commit {said}, not this one (another run's attestation)"
    return ""


def demands(statement: dict[str, Any], commit: str | None, require_pass: bool) -> list[str]:
    """What ``--commit`` and ``--require-pass`` ask that the statement does not say (the same
    contract and words as ``gatekeeper attestation verify``)."""
    refused = commit_problem(statement, commit)
    problems = [refused] if refused else []
    predicate = statement.get("predicate")
    predicate = predicate if isinstance(predicate, dict) else {}
    verdict = str(predicate.get("verdict", "?"))
    scope = predicate.get("scope")
    partial = isinstance(scope, dict) and scope.get("complete") is False
    if require_pass and (verdict != "pass" or partial):
        left = ", ".join(str(x) for x in (scope.get("left_out") or [])) if isinstance(scope, dict) else ""
        left = left or "part of the gate"
        why = f"the verdict is {verdict}" if verdict != "pass" else f"the run was partial ({left} did not run)"
        problems.append(f"--require-pass: {why}: this attestation does not let the commit through the gate")
    return problems


def main(argv: list[str]) -> int:
    """Verify ``argv`` = envelope, public key, files... [--commit SHA] [--require-pass]; print what holds
    and return the exit code."""
    parser = argparse.ArgumentParser(prog="verify_attestation.py", description="Verify a gatekeeper attestation.")
    parser.add_argument("envelope", metavar="ENVELOPE.json")
    parser.add_argument("public_key", metavar="PUBLIC_KEY.pem")
    parser.add_argument("files", metavar="FILE", nargs="*", help="a file whose sha256 must be a subject")
    parser.add_argument("--commit", metavar="SHA", help="the commit the statement must be about, its full id, e.g. $GITHUB_SHA")
    parser.add_argument("--require-pass", action="store_true", help="the verdict must be pass, of a complete run")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage; bad arguments are exit 2
        return 2 if exc.code else 0
    try:  # bad input is exit 2 with its reason, never a traceback
        with open(args.envelope, "rb") as fh:
            envelope = json.load(fh)
        if not isinstance(envelope, dict) or not all(isinstance(envelope.get(k), str) for k in ("payload", "payloadType")):
            raise ValueError(f"{args.envelope} is not a DSSE envelope (payload and payloadType are required)")
        payload = b64decode(envelope["payload"])
        with open(args.public_key, "rb") as fh:
            key = load_pem_public_key(fh.read())
    except (OSError, ValueError, UnsupportedAlgorithm, RecursionError) as exc:
        print(f"verify_attestation.py: {exc}", file=sys.stderr)
        return 2
    if not isinstance(key, Ed25519PublicKey):
        print(f"verify_attestation.py: {args.public_key} is not an Ed25519 public key", file=sys.stderr)
        return 2
    message = pae(envelope["payloadType"], payload)
    valid = False
    signatures = envelope.get("signatures")
    for signature in signatures if isinstance(signatures, list) else []:
        try:
            key.verify(b64decode(signature["sig"]), message)
            valid = True
        except (InvalidSignature, ValueError, KeyError, TypeError):
            continue
    if not valid or envelope["payloadType"] != PAYLOAD_TYPE:
        print("REJECTED: no signature verifies with this key (altered, or signed by another key)", file=sys.stderr)
        return 1
    statement = json.loads(payload)
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        print("REJECTED: not a gatekeeper in-toto statement", file=sys.stderr)
        return 1
    digests = {s["digest"].get("sha256") for s in statement["subject"]}
    for path in args.files:
        with open(path, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() not in digests:
                print(f"REJECTED: {path} is not a subject of this attestation", file=sys.stderr)
                return 1
    problems = demands(statement, args.commit, args.require_pass)
    if problems:
        for problem in problems:
            print(f"REJECTED: {problem}", file=sys.stderr)
        return 1
    predicate = statement["predicate"]
    scope = predicate.get("scope") or {}
    if scope.get("complete") is False:  # --only, --skip or one shard: a pass of part of the policy gates no commit
        left = ", ".join(scope.get("left_out") or []) or "part of the gate"
        predicate["verdict"] += f" (partial run: {left} did not run; it gates no commit)"
    print(
        f"verified: verdict {predicate['verdict']}, commit {predicate['repository']['commit'] or 'not recorded'}, "
        f"{len(statement['subject'])} subject(s), {len(args.files)} file(s) matched"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
