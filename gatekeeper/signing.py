"""Signing keys and keyrings for evidence (audit records, bundles, merge parts, attestations).

Two schemes. Ed25519 (``cryptography``) is the one to use: whoever holds the public key can verify,
only the holder of the private key can sign, and every signature names its key id, the sha256 of
the raw 32-byte public key (``sha256:<hex>``). HMAC-SHA256 over a shared secret is the earlier
scheme, kept so that logs written with it still verify with their key; its key id is derived from
the secret by a second hash, so it names the key without revealing it.

A private key is given as text: a PEM "PRIVATE KEY" block (PKCS#8, as ``write_key_pair`` writes
it, and as CI stores it in a secret variable) is an Ed25519 key; any other PEM text (a public key, an
EC, RSA, OpenSSH or encrypted private key) is refused; any other text is an HMAC secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

# cryptography is imported where a key is used: a run without one (most runs) never loads it
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = "ed25519"
HMAC_SHA256 = "hmac-sha256"
_PEM_PRIVATE = b"-----BEGIN PRIVATE KEY-----"


class SigningKeyError(ValueError):
    """A key file or key text that cannot be used (unreadable, not a key, wrong kind)."""


def key_id_of(public: Ed25519PublicKey) -> str:
    """``sha256:<hex>`` of the raw 32-byte public key: the id every Ed25519 signature names."""
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def hmac_key_id(secret: bytes) -> str:
    """The id of a shared HMAC secret: ``hmac:`` and 16 hex digits of sha256(sha256(secret))."""
    return "hmac:" + hashlib.sha256(hashlib.sha256(secret).digest()).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    """A private key that signs bytes; ``algorithm`` is ``ed25519`` or ``hmac-sha256``."""

    algorithm: str
    key_id: str
    _private: Ed25519PrivateKey | None = field(default=None, repr=False)
    _secret: bytes = field(default=b"", repr=False)

    def sign(self, data: bytes) -> bytes:
        """The raw signature of ``data`` (64 bytes for Ed25519, 32 for HMAC-SHA256)."""
        if self._private is not None:
            return self._private.sign(data)
        return hmac.digest(self._secret, data, "sha256")

    def public_pem(self) -> str:
        """The public key as PEM (SubjectPublicKeyInfo); an HMAC key has none."""
        if self._private is None:
            raise SigningKeyError(
                "a shared HMAC secret has no public key: generate an Ed25519 key pair (gatekeeper key generate)"
            )
        return public_pem(self._private.public_key())

    def keyring(self) -> Keyring:
        """A keyring that verifies this signer's signatures (its public key, or its HMAC secret)."""
        ring = Keyring()
        if self._private is not None:
            ring.add_public(self._private.public_key())
        else:
            ring.add_hmac_secret(self._secret)
        return ring


def public_pem(public: Ed25519PublicKey) -> str:
    """``public`` as a PEM SubjectPublicKeyInfo block (what ``openssl pkey -pubin`` reads)."""
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def signer_from_text(text: str | bytes) -> Signer:
    """The signer for a private key given as text: a PEM Ed25519 key, else (text that holds no PEM
    block) an HMAC secret; other PEM text is a ``SigningKeyError``."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if not data.strip():
        raise SigningKeyError("the signing key is empty")
    if _PEM_PRIVATE in data:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        try:
            private = serialization.load_pem_private_key(data.strip() + b"\n", password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"the PEM private key cannot be read ({exc}); expected unencrypted Ed25519 PKCS#8") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise SigningKeyError(f"the PEM private key is {type(private).__name__.removeprefix('_')}, not Ed25519")
        return Signer(ED25519, key_id_of(private.public_key()), _private=private)
    armor = _PEM_ARMOR.search(data)
    if armor is not None:  # PEM text that is no Ed25519 private key is a mistake, never a shared secret
        raise SigningKeyError(_not_a_signing_key(armor.group(1).decode("ascii")))
    return Signer(HMAC_SHA256, hmac_key_id(data), _secret=data)


#: the armor line of any PEM block: ``-----BEGIN PUBLIC KEY-----``, ``-----BEGIN EC PRIVATE KEY-----``, ...
_PEM_ARMOR = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,40})-----")


def _not_a_signing_key(label: str) -> str:
    """Why PEM text labelled ``label`` cannot be the signing key: taken for an HMAC secret, a public
    key would let everyone who holds it sign, and a key pair of another kind would sign nothing the
    way its owner believes."""
    if "PRIVATE KEY" not in label:
        return (
            f"it holds a PEM {label}, not a private key: it would be a shared HMAC secret that everyone holding "
            "that text can sign with; give the private key (-----BEGIN PRIVATE KEY-----, from gatekeeper key "
            "generate) and the public one to verifiers"
        )
    return (
        f"it holds a PEM {label}: gatekeeper signs with an unencrypted Ed25519 key in PKCS#8 (-----BEGIN PRIVATE "
        "KEY-----, what gatekeeper key generate writes), and would otherwise take this text for a shared HMAC secret"
    )


def generate() -> Signer:
    """A fresh Ed25519 signer."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    return Signer(ED25519, key_id_of(private.public_key()), _private=private)


def private_pem(signer: Signer) -> str:
    """The private key of an Ed25519 signer as unencrypted PKCS#8 PEM."""
    if signer._private is None:
        raise SigningKeyError("only an Ed25519 signer has a private key to write")
    from cryptography.hazmat.primitives import serialization

    return signer._private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def write_key_pair(private_path: Path, public_path: Path) -> Signer:
    """Generate an Ed25519 key pair: the private key to ``private_path`` (created with mode 0600,
    never overwritten) and the public key to ``public_path``; returns the signer."""
    signer = generate()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(private_pem(signer))
        handle.flush()
        os.fsync(handle.fileno())
    public_path.write_text(signer.public_pem(), encoding="ascii")
    return signer


def b64(data: bytes) -> str:
    """Standard base64 text of ``data`` (what DSSE and the records store)."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes | None:
    """The bytes of standard base64 ``text``, or None when it is not valid base64."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None


@dataclass
class Keyring:
    """The keys a verifier trusts, by key id: Ed25519 public keys and (for old logs) HMAC secrets."""

    public: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict, repr=False)

    def add_public(self, key: Ed25519PublicKey) -> str:
        """Trust ``key``; returns its key id."""
        kid = key_id_of(key)
        self.public[kid] = key
        return kid

    def add_public_pem(self, pem: str | bytes) -> str:
        """Trust the Ed25519 public key in PEM text; returns its key id."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        data = pem.encode("ascii") if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"not a PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"the public key is {type(key).__name__.removeprefix('_')}, not Ed25519")
        return self.add_public(key)

    def add_hmac_secret(self, secret: bytes) -> str:
        """Trust a shared HMAC secret (logs of the earlier scheme); returns its key id."""
        kid = hmac_key_id(secret)
        self.secrets[kid] = secret
        return kid

    def add_files(self, paths: Iterable[Path]) -> list[str]:
        """Trust every PEM public key in the files ``paths`` (a file may hold several blocks)."""
        ids: list[str] = []
        for path in paths:
            try:
                text = path.read_bytes()
            except OSError as exc:
                raise SigningKeyError(f"{path}: cannot be read ({exc.strerror or exc})") from None
            blocks = [b"-----BEGIN PUBLIC KEY-----" + part for part in text.split(b"-----BEGIN PUBLIC KEY-----")[1:]]
            if not blocks:
                raise SigningKeyError(f"{path}: holds no PEM public key (-----BEGIN PUBLIC KEY-----)")
            for block in blocks:
                try:
                    ids.append(self.add_public_pem(block))
                except SigningKeyError as exc:
                    raise SigningKeyError(f"{path}: {exc}") from None
        return ids

    def __contains__(self, key_id: object) -> bool:
        return key_id in self.public or key_id in self.secrets

    def __bool__(self) -> bool:
        return bool(self.public or self.secrets)

    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool:
        """True when ``signature`` over ``data`` is valid under the trusted key ``key_id``; False
        for an unknown key id or a wrong signature."""
        public = self.public.get(key_id)
        if public is not None:
            from cryptography.exceptions import InvalidSignature

            try:
                public.verify(signature, data)
            except InvalidSignature:
                return False
            return True
        secret = self.secrets.get(key_id)
        if secret is not None:
            return hmac.compare_digest(hmac.digest(secret, data, "sha256"), signature)
        return False

    def update(self, other: Keyring) -> None:
        """Trust every key ``other`` trusts as well."""
        self.public.update(other.public)
        self.secrets.update(other.secrets)

    def ids(self) -> list[str]:
        """The trusted key ids, sorted."""
        return sorted([*self.public, *self.secrets])


# --------------------------------------------------------------------------- signature objects

#: the earlier scheme's signature: ``"sig": "hmac-sha256:<hex>"`` (no key id; only a secret tells)
LEGACY_PREFIX = "hmac-sha256:"
VALID, INVALID, UNKNOWN_KEY, UNCHECKED, MALFORMED = "valid", "invalid", "unknown-key", "unchecked", "malformed"


def signature(signer: Signer, data: bytes) -> dict[str, str]:
    """The signature object stored with evidence: ``{"alg", "keyid", "value"}`` (value in base64).

    A reader ignores keys it does not know, so later fields (a timestamp over the signature, say)
    can be added beside these three without breaking older verifiers.
    """
    return {"alg": signer.algorithm, "keyid": signer.key_id, "value": b64(signer.sign(data))}


@dataclass(frozen=True, eq=False, repr=False)
class SignatureCheck:
    """What ``check_signature`` found: ``status`` is ``valid``, ``invalid`` (wrong signature),
    ``unknown-key`` (its key id is not trusted), ``unchecked`` (no key given at all) or
    ``malformed``; ``key_id`` is the id the signature names (for the earlier HMAC scheme, the id of
    the secret that matched, or ``hmac:?``)."""

    status: str
    key_id: str
    algorithm: str

    @property
    def valid(self) -> bool:
        """True when the signature is valid under a trusted key."""
        return self.status == VALID


def signature_key_id(sig: object) -> str | None:
    """The key id a stored signature names (``hmac:?`` for the earlier scheme's), None when it is not a signature."""
    if isinstance(sig, str):
        return "hmac:?" if sig.startswith(LEGACY_PREFIX) else None
    if isinstance(sig, dict) and isinstance(sig.get("keyid"), str) and isinstance(sig.get("alg"), str):
        return str(sig["keyid"])
    return None


def check_signature(keyring: Keyring, sig: object, data: bytes) -> SignatureCheck:
    """Check the stored signature ``sig`` (an object from ``signature``, or the earlier scheme's
    ``hmac-sha256:<hex>`` text) over ``data`` against ``keyring``."""
    if isinstance(sig, str):
        if not sig.startswith(LEGACY_PREFIX):
            return SignatureCheck(MALFORMED, "", "")
        if not keyring.secrets:
            return SignatureCheck(UNCHECKED if not keyring else UNKNOWN_KEY, "hmac:?", HMAC_SHA256)
        for secret_id, secret in keyring.secrets.items():
            if hmac.compare_digest(LEGACY_PREFIX + hmac.digest(secret, data, "sha256").hex(), sig):
                return SignatureCheck(VALID, secret_id, HMAC_SHA256)
        return SignatureCheck(INVALID, "hmac:?", HMAC_SHA256)
    if not isinstance(sig, dict):
        return SignatureCheck(MALFORMED, "", "")
    alg, kid, value = sig.get("alg"), sig.get("keyid"), sig.get("value")
    raw = unb64(value) if isinstance(value, str) else None
    if not isinstance(alg, str) or alg not in (ED25519, HMAC_SHA256) or not isinstance(kid, str) or raw is None:
        return SignatureCheck(MALFORMED, str(kid or ""), str(alg or ""))
    if not keyring:
        return SignatureCheck(UNCHECKED, kid, alg)
    if kid not in keyring or (alg == ED25519) != (kid in keyring.public):
        return SignatureCheck(UNKNOWN_KEY, kid, alg)
    return SignatureCheck(VALID if keyring.verify(kid, data, raw) else INVALID, kid, alg)
