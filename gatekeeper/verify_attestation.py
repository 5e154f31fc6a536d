"""Verify a gatekeeper attestation without gatekeeper: Python's standard library and ``cryptography``.

Copy this file anywhere (evidence bundles carry it as ``verify/verify_attestation.py``) and run:

    python verify_attestation.py gatekeeper.intoto.json gatekeeper.pub [FILE ...]

It checks that the DSSE envelope's signature over PAE(payloadType, payload) verifies with the
Ed25519 public key, that the payload is an in-toto Statement v1 of gatekeeper's predicate, and that
each FILE's sha256 is one of the statement's subjects; then it prints the verdict (for a partial run,
with the checks that did not run) and the commit.
Exit 0 when everything holds, 1 otherwise. It imports nothing from gatekeeper, on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://gatekeeper.dev/attestation/gate/v1"


def b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, as DSSE allows both."""
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def main(argv: list[str]) -> int:
    """Verify ``argv`` = [envelope, public key, files...]; print what holds and return the exit code."""
    if len(argv) < 2:
        print("usage: verify_attestation.py ENVELOPE.json PUBLIC_KEY.pem [FILE ...]", file=sys.stderr)
        return 2
    with open(argv[0], "rb") as fh:
        envelope = json.load(fh)
    with open(argv[1], "rb") as fh:
        key = load_pem_public_key(fh.read())
    if not isinstance(key, Ed25519PublicKey):
        print("the public key is not an Ed25519 key", file=sys.stderr)
        return 1
    payload = b64decode(envelope["payload"])
    message = pae(envelope["payloadType"], payload)
    valid = False
    for signature in envelope.get("signatures") or []:
        try:
            key.verify(b64decode(signature["sig"]), message)
            valid = True
        except (InvalidSignature, ValueError, KeyError):
            continue
    if not valid or envelope["payloadType"] != PAYLOAD_TYPE:
        print("REJECTED: no signature verifies with this key (altered, or signed by another key)", file=sys.stderr)
        return 1
    statement = json.loads(payload)
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        print("REJECTED: not a gatekeeper in-toto statement", file=sys.stderr)
        return 1
    digests = {s["digest"].get("sha256") for s in statement["subject"]}
    for path in argv[2:]:
        with open(path, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() not in digests:
                print(f"REJECTED: {path} is not a subject of this attestation", file=sys.stderr)
                return 1
    predicate = statement["predicate"]
    scope = predicate.get("scope") or {}
    if scope.get("complete") is False:  # --only, --skip or one shard: a pass of part of the policy gates no commit
        left = ", ".join(scope.get("left_out") or []) or "part of the gate"
        predicate["verdict"] += f" (partial run: {left} did not run; it gates no commit)"
    print(
        f"verified: verdict {predicate['verdict']}, commit {predicate['repository']['commit'] or 'not recorded'}, "
        f"{len(statement['subject'])} subject(s), {len(argv) - 2} file(s) matched"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
