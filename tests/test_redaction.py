"""Redaction keeps digests, which are evidence, and still masks what looks like a secret."""

from __future__ import annotations

import hashlib

import pytest

from gatekeeper.bundle import policy_file
from gatekeeper.redaction import MASK, redact

SHA256 = hashlib.sha256(b"policy").hexdigest()
SHA1 = hashlib.sha1(b"commit").hexdigest()  # noqa: S324  # a git commit id's length, not a security use


def test_the_effective_policy_in_a_bundle_keeps_the_digest_of_its_file() -> None:
    text = policy_file("[gate]\nfail_on_error = true\n", "gatekeeper.toml", SHA256).decode()
    assert f"sha256 of that file: {SHA256}" in text and MASK not in text


def test_a_digest_named_by_its_algorithm_is_kept() -> None:
    for line in (f"key id sha256:{SHA256}", f"sha256 {SHA256}", f"commit {SHA1}", f"gitCommit: {SHA1}", f"SHA-1 = {SHA1}"):
        assert redact(line) == line


def test_hex_of_the_wrong_length_for_its_label_or_without_a_label_is_still_masked() -> None:
    assert redact(f"sha1 {SHA256}") == f"sha1 {MASK}"  # a sha1 is 40 hex digits, not 64
    assert redact(f"token {SHA256}") == f"token {MASK}"
    assert redact(f"sha256 first, then on the next line:\n{SHA256}").endswith(MASK)
    assert redact(f"sha256 {'A1b2C3d4' * 5}").endswith(MASK)  # not lowercase hex: not a digest


def test_a_label_does_not_protect_a_known_secret_or_an_assignment() -> None:
    secret = "s3cr3t-" + SHA256
    assert secret not in redact(f"sha256 {SHA256} password={secret}")
    assert redact(f"sha256:{SHA256}", secrets=[SHA256]) == f"sha256:{MASK}"  # the environment's secret wins
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    assert redact(f"sha256 {token}") == f"sha256 {MASK}"


def test_a_secret_set_after_the_environment_was_read_is_masked_and_one_unset_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment's secrets are remembered between calls, never past a change of the environment."""
    line = "token s3cr3t-value-0123 and other-value-4567"
    monkeypatch.delenv("GK_TEST_API_TOKEN", raising=False)
    assert redact(line, heuristic=False) == line
    monkeypatch.setenv("GK_TEST_API_TOKEN", "s3cr3t-value-0123")
    assert redact(line, heuristic=False) == "token [REDACTED] and other-value-4567"
    monkeypatch.setenv("GK_TEST_API_TOKEN", "other-value-4567")
    assert redact(line, heuristic=False) == "token s3cr3t-value-0123 and [REDACTED]"
    monkeypatch.delenv("GK_TEST_API_TOKEN")
    assert redact(line, heuristic=False) == line
