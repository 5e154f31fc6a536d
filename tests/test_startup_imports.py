"""What a run does not need is not imported: a check's start-up time is paid on every pull request."""

from __future__ import annotations

import subprocess
import sys


def imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    return set(done.stdout.split())


def test_the_audit_record_and_the_timestamp_settings_load_no_cryptography_and_no_http_client() -> None:
    """cryptography is loaded where a key is used, urllib.request where an authority is asked."""
    loaded = imported_after(
        "from gatekeeper import audit, attestation, timestamp\n"
        "assert audit.signer_from_env() is None\n"
        "assert timestamp.authority_from({}, __import__('pathlib').Path('.')) is None\n"
    )
    assert "gatekeeper.audit" in loaded and "gatekeeper.timestamp" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "cryptography"}
    assert "urllib.request" not in loaded and "http.client" not in loaded


def test_a_signing_key_still_signs_and_verifies() -> None:
    from gatekeeper import signing

    signer = signing.generate()
    data = b"record"
    assert signer.keyring().verify(signer.key_id, data, signer.sign(data))
    assert not signer.keyring().verify(signer.key_id, data + b"!", signer.sign(data))
