"""Signed JSON results: the ``PATH.sig`` file ``check --results-out`` writes beside a result when the
signing key is set, and the check of one against trusted keys. ``merge`` authenticates its parts
this way, and a new-code run its stored REF result (``--new-code-result`` with ``--public-key``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from gatekeeper import readback, signing
from gatekeeper.errors import UsageError
from gatekeeper.signing import Keyring, Signer

PART_SIGNATURE_FORMAT = "gatekeeper-part-signature"
#: a part's signature file is a few hundred bytes; anything much larger was not written by gatekeeper
_MAX_SIGNATURE_BYTES = 64 * 1024


def signature_path(part: Path) -> Path:
    """Where the signature of the part ``part`` lives: ``PART.sig`` beside it."""
    return part.with_name(part.name + ".sig")


def part_signature(data: bytes, signer: Signer) -> str:
    """The text of a part's signature file: the sha256 of the part's bytes and ``sig`` over those bytes."""
    document = {
        "format": PART_SIGNATURE_FORMAT,
        "version": 1,
        "sha256": hashlib.sha256(data).hexdigest(),
        "sig": signing.signature(signer, data),
    }
    return json.dumps(document, indent=2) + "\n"


def signed_by(path: Path, keys: Keyring, label: str, hint: str) -> tuple[str, bytes]:
    """The key id among ``keys`` that validly signed the JSON result ``path`` (its ``PATH.sig``, as
    ``check --results-out`` writes it), and the bytes it signed (read once: parse these, not the file
    again); else a ``UsageError`` that starts with ``label`` and says why."""
    sig_file = signature_path(path)
    try:
        data = path.read_bytes()
        if sig_file.stat().st_size > _MAX_SIGNATURE_BYTES:
            raise ValueError("larger than any signature gatekeeper writes")
        document = readback.loads(sig_file.read_bytes(), str(sig_file))
        sig = document["sig"] if isinstance(document, dict) else None
    except FileNotFoundError as exc:
        raise UsageError(f"{label} is not signed: {exc.filename} is missing", hint=hint) from None
    except OSError as exc:
        raise UsageError(f"{label}: cannot read it or its signature ({exc.strerror or exc})") from None
    except (ValueError, KeyError, readback.LimitError) as exc:
        raise UsageError(f"{label}: its signature file {sig_file} is not one gatekeeper writes ({exc})") from None
    check = signing.check_signature(keys, sig, data)
    if check.status == signing.UNKNOWN_KEY:
        raise UsageError(f"{label} is signed by {check.key_id}, which is not among the keys given")
    if not check.valid:
        raise UsageError(f"{label}: its signature does not match (it was changed after it was written)")
    return check.key_id, data
