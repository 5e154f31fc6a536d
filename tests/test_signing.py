"""Signing keys: Ed25519 pairs verified with the public key alone, HMAC secrets of the earlier scheme."""

from __future__ import annotations

import hashlib
import stat
import subprocess
from pathlib import Path

import pytest

from gatekeeper import signing


def test_a_generated_pair_verifies_with_the_public_key_alone_and_openssl_agrees(tmp_path: Path) -> None:
    private, public = tmp_path / "key.pem", tmp_path / "key.pub"
    signer = signing.write_key_pair(private, public)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    data = b"record body"
    sig = signer.sign(data)
    ring = signing.Keyring()
    assert ring.add_files([public]) == [signer.key_id]
    assert ring.verify(signer.key_id, data, sig)
    assert not ring.verify(signer.key_id, data + b"!", sig)
    # a third party without gatekeeper: openssl verifies the same signature with the public key
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "sig").write_bytes(sig)
    out = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(public),
            "-rawin",
            "-in",
            str(tmp_path / "data"),
            "-sigfile",
            str(tmp_path / "sig"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    # the key id is the sha256 of the raw public key, as openssl derives it
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(public), "-outform", "DER"], capture_output=True, check=True
    ).stdout

    assert signer.key_id == "sha256:" + hashlib.sha256(der[-32:]).hexdigest()
    with pytest.raises(FileExistsError):
        signing.write_key_pair(private, public)


def test_a_signature_under_another_key_is_refused_and_pem_text_round_trips(tmp_path: Path) -> None:
    one, other = signing.generate(), signing.generate()
    again = signing.signer_from_text(signing.private_pem(one))
    assert again.key_id == one.key_id and again.algorithm == signing.ED25519
    ring = one.keyring()
    assert not ring.verify(other.key_id, b"x", other.sign(b"x"))
    assert not ring.verify(one.key_id, b"x", other.sign(b"x"))


def test_a_shared_secret_is_the_hmac_scheme_and_its_id_hides_the_secret() -> None:
    signer = signing.signer_from_text("correct horse battery staple")
    assert signer.algorithm == signing.HMAC_SHA256
    assert "horse" not in signer.key_id
    assert signer.keyring().verify(signer.key_id, b"x", signer.sign(b"x"))
    with pytest.raises(signing.SigningKeyError):
        signer.public_pem()
    with pytest.raises(signing.SigningKeyError):
        signing.signer_from_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----")
