"""Redaction keeps digests, which are evidence, and still masks what looks like a secret."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from gatekeeper.bundle import policy_file
from gatekeeper.checkers.base import resolve
from gatekeeper.findings import CheckResult, Finding, GateResult, Location, Narrowing, Severity, Status, Verdict
from gatekeeper.redaction import MASK, Ahead, redact, redact_result

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


def _findings_with_a_secret() -> tuple[Finding, ...]:
    def made(rule: str, message: str) -> Finding:
        return Finding(rule_id=rule, severity=Severity.HIGH, message=message, blocking=True,
                       location=Location("app.py", 3), fingerprint=f"fp-{rule}")  # fmt: skip

    return (made("R1", "call with s3cr3t-value-0123"), made("R2", "password=hunter22 in app.py"), made("R3", "plain"))


def test_findings_redacted_as_their_check_ends_read_as_a_whole_result_redacted_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate redacts each check's findings as its result arrives (``Ahead``): the result it
    reports is byte for byte the result redacted at the end, a finding a waiver replaced afterwards
    (its waiver's text included) redacted too."""
    from gatekeeper.engine import Progress, RunRequest, run_checks
    from gatekeeper.policy import load_policy
    from gatekeeper.reports.json import render_json
    from tests.test_engine import Fixed

    monkeypatch.setenv("GK_TEST_API_TOKEN", "s3cr3t-value-0123")
    policy = (
        '[[waivers]]\ncheck = "a"\nrule = "R3"\nreason = "accepted; s3cr3t-value-0123 rotated"\n'
        f'approved_by = "security@example.com"\nexpires = {dt.date.today() + dt.timedelta(days=30)}\n'
    )
    (tmp_path / "gatekeeper.toml").write_text(policy, encoding="utf-8")
    checkers = {"a": Fixed("a", _findings_with_a_secret()), "b": Fixed("b", _findings_with_a_secret()[:1])}
    ahead = Ahead()

    class Redacting(Progress):
        def finished(self, result: CheckResult) -> None:
            ahead.redact(result)

    request = RunRequest(
        root=tmp_path, policy=load_policy(tmp_path, {n: c.options for n, c in checkers.items()}), output_dir=tmp_path / "out"
    )
    result = run_checks(request, {name: resolve(name, c) for name, c in checkers.items()}, Redacting())
    text = render_json(redact_result(result, ahead))
    assert text == render_json(redact_result(result))
    assert "s3cr3t-value-0123" not in text and "hunter22" not in text
    (waived,) = [f for c in redact_result(result, ahead).checks for f in c.findings if f.waiver is not None]
    assert waived.waiver is not None and waived.waiver.reason == f"accepted; {MASK} rotated"


def test_findings_redacted_ahead_are_redacted_again_when_the_secrets_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GK_TEST_API_TOKEN", raising=False)
    check = CheckResult(name="a", status=Status.FAIL, summary="found", findings=_findings_with_a_secret())
    result = GateResult(verdict=Verdict.FAIL, checks=(check,), tool_version="0", started_at="", finished_at="", duration_s=0.0,
                        repository={}, policy={}, waivers={})  # fmt: skip
    ahead = Ahead()
    ahead.redact(check)
    monkeypatch.setenv("GK_TEST_API_TOKEN", "s3cr3t-value-0123")
    messages = [f.message for f in redact_result(result, ahead).checks[0].findings]
    assert messages == [f"call with {MASK}", f"password={MASK} in app.py", "plain"]


def test_a_relative_path_with_digits_in_its_folders_is_kept_and_a_key_in_it_is_not() -> None:
    """frozenlist 1.4.1 keeps its build backend in packaging/pep517_backend/: the coverage narrowing
    record listing those files, and the offline advisory record vulns/setuptools/PYSEC-2022-43012.yaml,
    came out of every report as "[REDACTED].py" and "[REDACTED].yaml"."""
    for path in (
        "packaging/pep517_backend/_cython_configuration.py",
        "packaging/pep517_backend/_transformers.py",
        "vulns/setuptools/PYSEC-2022-43012.yaml",
        "[lint] line-comments packaging/pep517_backend/_transformers.py:12",
    ):
        assert redact(path) == path
    key = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    assert redact(f"config/my_keys/{key}.pem") == f"{MASK}.pem"  # a random folder still masks the path
    base64 = "q83vEjRWeJq8/3eIZnQ1h2Gx7KdPz0Rm9wYbT4Lc1sUo"  # the standard alphabet: "/" and no "_" or "-"
    assert redact(f"secret {base64}") == f"secret {MASK}"
    backend = ("packaging/pep517_backend/_transformers.py",)
    record = Narrowing("exclude", ".coveragerc", None, "[run] source_pkgs = frozenlist", "left out", backend)
    check = CheckResult(name="coverage", status=Status.PASS, summary="total 98%", narrowing=(record,))
    result = GateResult(verdict=Verdict.PASS, checks=(check,), tool_version="0", started_at="", finished_at="", duration_s=0.0,
                        repository={}, policy={}, waivers={})  # fmt: skip
    (kept,) = redact_result(result).checks[0].narrowing
    assert kept.files == backend


#: commit ids as the PyPA advisory database's TensorFlow and Pillow records quote them (PYSEC-2021-*)
COMMIT = "460e000de3a83278fb00b61a16d161b1964f15f4"
FIX_COMMITS = (
    "537bc7c723439b9194a358f64d871dd326c18887",
    "4a91f2069f7145aab6ba2d8cfe41be8a110c18a5",
    "8933b8a21280696ab119b63263babdb54c298538",
)
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
RANDOM_40 = "Zq7Xw2Lr9Tb4Kd8Vn3Hs6Jp1Mc5Fy0Gu2Ea7Ri4O"  # base62, no token shape: masked as random


def test_a_commit_in_a_forge_link_is_kept_and_a_credential_beside_it_is_not() -> None:
    """An offline dependencies run over old TensorFlow pins masked 180 links of its advisories'
    texts ("the implementation(https://github.[REDACTED].cc#L57-L60)"): the commit folder of a
    forge's URL is a name. A token in the same link, or random text in that folder, still goes."""
    kept = (
        f"the implementation(https://github.com/tensorflow/tensorflow/blob/{COMMIT}/tensorflow/lite/kernels/div.cc#L57-L60) only",
        f"fixed in [commit](https://github.com/tensorflow/tensorflow/commit/{FIX_COMMITS[0]})",
        f"https://gitlab.com/group/project/-/blob/{SHA256}/src/app_module.py#L3",
        f"https://github.com/pallets/flask/tree/{FIX_COMMITS[1]}/docs and vulns/langchain/GHSA-2qmj-7962-cjq8.yaml",
    )
    for text in kept:
        assert redact(text) == text
    link = f"https://github.com/o/r/blob/{COMMIT}"
    assert redact(f"{link}/{GITHUB_TOKEN}/x.py") == f"{link}/{MASK}/x.py"  # a token as one folder
    assert redact(f"https://x/{GITHUB_TOKEN}") == f"https://x/{MASK}"
    assert redact(f"/tmp/AKIAIOSFODNN7EXAMPLE/file {link}") == f"/tmp/{MASK}/file {link}"
    for text in (
        f"https://github.com/o/r/blob/{RANDOM_40}/tensorflow/lite/kernels/div.cc",  # not a commit id
        f"https://hooks.example.com/services/{COMMIT}/post",  # hex, but no forge folder names it
        f"https://github.com/o/r/blob/{COMMIT.upper()}/x_y.py",  # git spells commit ids lowercase
        f"/srv/keys/blobs/{COMMIT}/id_rsa",  # "blobs" names no commit
        f"https://github.com/o/r/blob/{COMMIT}{COMMIT}/x_y.py",  # 80 hex: no commit id is that long
    ):
        assert MASK in redact(text), text


def test_a_list_of_commits_in_an_advisory_is_kept_and_other_words_in_it_are_not() -> None:
    """TensorFlow's advisories say "We have patched the issue in GitHub commits A, B and C": each
    commit id is named by the label, not only the first; a word that is no commit id is judged alone
    and ends the list."""
    text = f"We have patched the issue in GitHub commits {FIX_COMMITS[0]}, {FIX_COMMITS[1]} and {FIX_COMMITS[2]}. The fix"
    assert redact(text) == text
    assert redact(f"commits {FIX_COMMITS[0]}, {RANDOM_40} and {FIX_COMMITS[1]}") == (
        f"commits {FIX_COMMITS[0]}, {MASK} and {MASK}"
    )
    assert redact(f"commits {FIX_COMMITS[0]} and {SHA256[:50]}") == f"commits {FIX_COMMITS[0]} and {MASK}"  # 50 hex: no commit
    assert redact(f"commits {FIX_COMMITS[0]} and token={FIX_COMMITS[1]}") == f"commits {FIX_COMMITS[0]} and token={MASK}"
    assert redact(f"commits {FIX_COMMITS[0]} and {GITHUB_TOKEN}") == f"commits {FIX_COMMITS[0]} and {MASK}"
    assert redact(f"the fix is {FIX_COMMITS[0]}") == f"the fix is {MASK}"  # no label: 40 hex may be a key


def test_what_advisories_say_of_a_patch_an_auth_scheme_or_an_alias_is_kept_and_a_credential_is_not() -> None:
    """Texts of the PyPA advisory database that the random-token, ``Basic`` and assignment rules
    masked in an offline dependencies run over every package it lists; the credentials these rules
    exist for are still masked."""
    kept = (
        "Upgrading to version 3.0.10 is able to address this issue. The name of the patch is "
        "1aac7f83fa2c2b41d59ba02748912953461f3fac. It is recommended to upgrade the affected component.",
        "We have patched the issue in 4f663d4b8f0bec1b48da6fa091a7d29609980fa4 and will release TensorFlow 2.5.0",
        "(CVE-2021-32793, GHSA-pjc4-3w99-j7v4, SNYK-PYTHON-FLASKUNCHAINED-1293189): This affects",
        "servers when HTTP Basic Authentication is enabled",
        "the workaround is to stop using basic authentication and use the token",
        "protocol_factory(credentials=...). An attacker",
    )
    for text in kept:
        assert redact(text) == text
    assert redact("Authorization: Basic dXNlcjpwYXNzd29yZA==") == f"Authorization: Basic {MASK}"
    assert redact("Bearer authentication-Zq7Xw2Lr9Tb4") == f"Bearer {MASK}"  # a word of the scheme's prose, then more
    assert redact("credentials=...hunter22") == f"credentials={MASK}"
    assert redact(f"patch the token {FIX_COMMITS[0]}") == f"patch the token {MASK}"  # a secret word undoes the label
    assert redact("SNYK-a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5-1") == MASK  # no Snyk id: random
    assert redact(f"The name of the patch is {GITHUB_TOKEN}.") == f"The name of the patch is {MASK}."


def test_a_standard_base64_key_beside_an_underscore_or_a_hyphen_is_still_masked() -> None:
    """A key in the standard base64 alphabet holds "/" but never "_" or "-": one written right after
    a name (``deploy_<key>``), in a branch name (``ci/rotate-<key>``) or a vault path, sits in a run
    with both, which is judged folder by folder; its folders are each shorter than a key."""
    key = "q8Zt3nV0x/Lp9Wk2+R7yHd4Mb6Fs1Ju5Cg0Ae8Qi"
    assert redact(key) == MASK
    for text in (f"deploy_{key}", f"ci/rotate-{key}", f"aws-creds/{key}", f"rotate_key/{key}"):
        assert key not in redact(text), text
        assert "q8Zt3nV0x" not in redact(f"pushed to {text} from CI"), text
    # the paths that came out as [REDACTED] before folder-by-folder judging still do not
    for path in ("packaging/pep517_backend/_cython_configuration.py", "vulns/setuptools/PYSEC-2022-43012.yaml",
                 "tests/fixtures/projects/with_src_layout/src/pkg_one/module_two.py"):  # fmt: skip
        assert redact(path) == path


def test_a_hex_key_after_a_call_or_an_assignment_is_not_named_by_a_label_before_it() -> None:
    """bandit's B113 flags ``requests.patch(url, headers=...)`` and its excerpt quotes that line: the
    ``patch`` of the call labels no commit, and a 40-hex key in it (a classic GitHub token's shape) is
    masked; so is one assigned to another name after ``git commit``."""
    key = "8f14e45fceea167a5a36dedd4bea2543a1b2c3d4"
    for text in (
        f"requests.patch(url, headers={{'X-Api': '{key}'}})",
        f"git commit -m wip && export GH={key}",
        f"repo.commit({key!r})",
    ):
        assert key not in redact(text), text
    for text in (f"The name of the patch is {key}.", f"commit={key}", f"fixed in commit {key}"):
        assert redact(text) == text
