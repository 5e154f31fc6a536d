"""Audit records signed with Ed25519: verified with public keys alone, across rotations, and the
attacks a shared key or a fresh signing segment let through before."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from gatekeeper import audit, signing
from gatekeeper.cli import app
from tests.helpers.cli import Runner
from tests.helpers.plugin import plugin_env, policy_text

LOG = ".gatekeeper/audit.jsonl"
FAILING_CODE = "x = eval('1')\n"  # the test plugin's pattern check blocks eval


def _project(tmp: Path, code: str = "print('hello')\n") -> Path:
    (tmp / "app.py").write_text(code, encoding="utf-8")
    (tmp / "advisories.json").write_text("[]", encoding="utf-8")
    (tmp / "gatekeeper.toml").write_text(policy_text(), encoding="utf-8")
    return tmp


def _pair(tmp: Path, name: str) -> tuple[signing.Signer, Path, str]:
    """A real key pair on disk: (signer, public key file, private key text as CI would hold it)."""
    private, public = tmp / f"{name}.key", tmp / f"{name}.pub"
    signer = signing.write_key_pair(private, public)
    return signer, public, private.read_text(encoding="ascii")


def _cli(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The CLI in-process: (exit code, stdout, stderr)."""
    run = CliRunner().invoke(app, args, env={"GATEKEEPER_AUDIT_KEY": "", **(env or {})})
    return run.exit_code, run.stdout, run.stderr


def _records(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_bytes().splitlines()]


def _relink(records: list[dict[str, object]], resign: signing.Signer | None = None) -> bytes:
    """The records as a log whose chain is recomputed (and, with ``resign``, whose signatures are
    made again with that key): what someone with write access to the log can do."""
    prev, out = audit.GENESIS, b""
    for rec in records:
        rec["prev"] = prev
        if resign is not None:
            rec["sig"] = audit.sign_record(rec, resign)
        line = json.dumps(rec, sort_keys=True, ensure_ascii=False).encode()
        out += line + b"\n"
        prev = hashlib.sha256(line).hexdigest()
    return out


def _signed_log(tmp: Path, signer: signing.Signer, count: int) -> Path:
    log = tmp / "audit.jsonl"
    for i in range(count):
        audit.append(log, {"command": "check", "verdict": "fail" if i == 1 else "pass", "run": i}, signer)
    return log


# --------------------------------------------------------------------------- public keys


def test_real_runs_signed_with_ed25519_verify_with_the_public_key_alone(tmp_path: Path, plugin_gk: Runner) -> None:
    signer, public, private_text = _pair(tmp_path, "audit")
    (tmp_path / "p").mkdir()
    project = _project(tmp_path / "p")
    for _ in range(2):
        done = plugin_gk(["check", "."], cwd=project, env=plugin_env(GATEKEEPER_AUDIT_KEY=private_text))
        assert done.returncode == 0, done.stderr
    log = project / LOG
    text = log.read_text()
    assert "PRIVATE KEY" not in text and private_text.splitlines()[1] not in text
    for rec in _records(log):
        assert rec["sig"] == {"alg": "ed25519", "keyid": signer.key_id, "value": rec["sig"]["value"]}  # type: ignore[index]

    code, out, _ = _cli(["audit", "verify", str(log), "--public-key", str(public)])
    assert code == 0, out
    assert f"audit log {log}: intact, 2 record(s)" in out
    assert "signatures: 2 checked, all valid" in out and f"key {signer.key_id}: records #1..#2" in out

    # a verifier without gatekeeper: openssl checks a record's signature over its canonical bytes
    rec = _records(log)[1]
    (tmp_path / "body").write_bytes(audit.canonical(rec))
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(rec["sig"]["value"]))  # type: ignore[index]
    ossl = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin",
         "-in", str(tmp_path / "body"), "-sigfile", str(tmp_path / "sig.bin")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ossl.returncode == 0 and "Signature Verified Successfully" in ossl.stdout


def test_without_any_key_nothing_is_called_intact(tmp_path: Path) -> None:
    signer, _, _ = _pair(tmp_path, "audit")
    log = _signed_log(tmp_path, signer, 3)
    code, out, _ = _cli(["audit", "verify", str(log)])
    assert code == 0
    assert "chain consistent, not authenticated, 3 record(s)" in out and "intact" not in out
    assert "3 of 3 record(s) are signed; no key was given" in out
    page = tmp_path / "history.html"
    code, out, _ = _cli(["audit", "report", str(log), "--output", str(page)])
    assert code == 0 and "chain consistent, not authenticated" in out
    html = page.read_text()
    assert 'id="chain-status">NOT AUTHENTICATED<' in html and "INTACT" not in html
    assert 'class="chain chain-unauthenticated"' in html and "status-pass" not in html.split('id="chain-status"')[0][-80:]


def test_a_record_edited_and_re_signed_with_another_key_is_rejected(tmp_path: Path) -> None:
    real, public, _ = _pair(tmp_path, "real")
    other, _, _ = _pair(tmp_path, "other")
    log = _signed_log(tmp_path, real, 3)
    records = _records(log)
    records[1]["verdict"] = "pass"  # the failing run, turned into a pass
    for rec in records[1:]:
        rec.pop("sig")
    # record 2 onward re-signed with another key, chain recomputed
    prev, out = audit.GENESIS, b""
    for i, rec in enumerate(records):
        rec["prev"] = prev
        if i:
            rec["sig"] = audit.sign_record(rec, other)
        line = json.dumps(rec, sort_keys=True).encode()
        out, prev = out + line + b"\n", hashlib.sha256(line).hexdigest()
    log.write_bytes(out)
    code, _, err = _cli(["audit", "verify", str(log), "--public-key", str(public)])
    assert code == 1
    assert (
        f"NOT AUTHENTICATED at line 2: signed with {other.key_id}, but the records before it were signed with {real.key_id}"
        in err
    )
    # the whole log re-signed with the other key: its key id is not in the keyring
    log.write_bytes(_relink(records, resign=other))
    code, _, err = _cli(["audit", "verify", str(log), "--public-key", str(public)])
    assert code == 1 and f"line 1: signed with key {other.key_id}, which is not in the keyring" in err
    assert signing.Keyring().add_files([public]) == [real.key_id]


def test_the_rewritten_past_before_a_new_signing_segment_is_not_authenticated(tmp_path: Path, plugin_gk: Runner) -> None:
    """Strip the signatures, flip a past fail to pass, relink, then one real signed run: the new
    segment must not vouch for the rewritten past."""
    _, public, private_text = _pair(tmp_path, "audit")
    (tmp_path / "p").mkdir()
    project = _project(tmp_path / "p")
    env = plugin_env(GATEKEEPER_AUDIT_KEY=private_text)
    assert plugin_gk(["check", "."], cwd=project, env=env).returncode == 0
    (project / "app.py").write_text(FAILING_CODE, encoding="utf-8")
    assert plugin_gk(["check", "."], cwd=project, env=env).returncode == 1
    (project / "app.py").write_text("print('fixed')\n", encoding="utf-8")
    assert plugin_gk(["check", "."], cwd=project, env=env).returncode == 0
    log = project / LOG
    records = _records(log)
    assert [r["verdict"] for r in records] == ["pass", "fail", "pass"]
    for rec in records:
        rec.pop("sig")
    records[1]["verdict"] = "pass"
    records[1]["exit_code"] = 0
    log.write_bytes(_relink(records))
    done = plugin_gk(["check", "."], cwd=project, env=env)  # one real signed run
    assert done.returncode == 0 and "starts after unsigned records" in done.stdout + done.stderr

    code, _, err = _cli(["audit", "verify", str(log), "--public-key", str(public)])
    assert code == 1
    assert "NOT AUTHENTICATED at line 4: signing with sha256:" in err
    assert "after 3 record(s) that no key vouches for" in err and "--accept-unsigned-prefix 3" in err
    code, _, err = _cli(["audit", "verify", str(log)])
    assert code == 1 and "NOT AUTHENTICATED at line 4" in err
    page = tmp_path / "history.html"
    code, _, err = _cli(["audit", "report", str(log), "--output", str(page), "--public-key", str(public)])
    assert code == 1 and 'id="chain-status">NOT AUTHENTICATED<' in page.read_text()
    # accepting the prefix is an explicit, visible decision
    code, out, _ = _cli(["audit", "verify", str(log), "--public-key", str(public), "--accept-unsigned-prefix", "3"])
    assert code == 0 and "intact, 4 record(s)" in out
    assert "records #1..#3 were accepted without authentication (--accept-unsigned-prefix)" in out


def test_an_accepted_prefix_that_reaches_the_end_vouches_for_nothing(tmp_path: Path) -> None:
    """Only a signed record after the accepted prefix pins it: a record appended unsigned after the
    last signed one (a forged tail) is not made "intact" by accepting a prefix that covers it."""
    signer, public, _ = _pair(tmp_path, "audit")
    log = tmp_path / "audit.jsonl"
    audit.append(log, {"command": "check", "verdict": "fail", "run": 0})  # before signing started
    audit.append(log, {"command": "check", "verdict": "fail", "run": 1}, signer)
    audit.append(log, {"command": "check", "verdict": "pass", "run": 2})  # forged: no key
    verify = ["audit", "verify", str(log), "--public-key", str(public)]
    code, _, err = _cli([*verify, "--accept-unsigned-prefix", "1"])
    assert code == 1 and "TAMPERED at line 3: not signed, though the record before it was" in err
    for accepted in ("3", "5"):
        code, out, err = _cli([*verify, "--accept-unsigned-prefix", accepted])
        assert code == 1 and "intact" not in out, out
        within = f"every record lies within the accepted prefix (--accept-unsigned-prefix {accepted})"
        assert f"NOT AUTHENTICATED at line 3: {within}" in err
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:2]))  # the forged tail removed
    code, out, _ = _cli([*verify, "--accept-unsigned-prefix", "1"])
    assert code == 0 and "intact, 2 record(s)" in out
    code, out, err = _cli([*verify, "--accept-unsigned-prefix", "2"])
    assert code == 1 and "every record lies within the accepted prefix" in err


# --------------------------------------------------------------------------- rotation


def test_a_rotation_record_hands_over_to_the_new_key(tmp_path: Path) -> None:
    old, old_pub, old_text = _pair(tmp_path, "old")
    new, new_pub, new_text = _pair(tmp_path, "new")
    _, third_pub, _ = _pair(tmp_path, "third")
    log = _signed_log(tmp_path, old, 2)
    # only the key in force may rotate, and only to another key
    code, _, err = _cli(["key", "rotate", str(log), "--new-public", str(third_pub)], {"GATEKEEPER_AUDIT_KEY": new_text})
    assert code == 2 and f"{new.key_id} is not the key in force" in err
    code, _, err = _cli(["key", "rotate", str(log), "--new-public", str(old_pub)], {"GATEKEEPER_AUDIT_KEY": old_text})
    assert code == 2 and "the new key is the key in force" in err
    # a key not in force handing over to itself is told it is not in force, not that it is
    code, _, err = _cli(["key", "rotate", str(log), "--new-public", str(new_pub)], {"GATEKEEPER_AUDIT_KEY": new_text})
    assert code == 2 and f"{new.key_id} is not the key in force" in err and "the new key is the key in force" not in err
    code, _, err = _cli(["key", "rotate", str(log), "--new-public", str(new_pub)])
    assert code == 2 and "GATEKEEPER_AUDIT_KEY is not set" in err
    code, out, _ = _cli(["key", "rotate", str(log), "--new-public", str(new_pub)], {"GATEKEEPER_AUDIT_KEY": old_text})
    assert code == 0 and "appended rotation record #3" in out
    rotation = _records(log)[2]
    assert rotation["rotate"]["from"] == old.key_id and rotation["rotate"]["to"] == new.key_id  # type: ignore[index]
    assert rotation["sig"]["keyid"] == old.key_id  # type: ignore[index]
    for i in range(2):
        assert not audit.append(log, {"command": "check", "verdict": "pass", "run": 10 + i}, new).warning

    # the old public key alone verifies the whole log: the rotation record carries the new one
    code, out, _ = _cli(["audit", "verify", str(log), "--public-key", str(old_pub)])
    assert code == 0 and "intact, 5 record(s)" in out
    assert f"rotation: record #3, signed by {old.key_id}, hands over to {new.key_id}" in out
    assert f"key {old.key_id}: records #1..#3" in out and f"key {new.key_id}: records #4..#5" in out
    code, out, _ = _cli(["audit", "verify", str(log), "--public-key", str(old_pub), "--public-key", str(new_pub)])
    assert code == 0 and "intact" in out
    # the new key alone cannot vouch for what the old one signed
    code, _, err = _cli(["audit", "verify", str(log), "--public-key", str(new_pub)])
    assert code == 1 and f"line 1: signed with key {old.key_id}, which is not in the keyring" in err
    # the retired key signing after the rotation is caught
    appended = audit.append(log, {"command": "check", "verdict": "pass"}, old)
    assert "no rotation record links them" in appended.warning
    code, _, err = _cli(["audit", "verify", str(log), "--public-key", str(old_pub)])
    assert code == 1 and f"line 6: signed with {old.key_id}, but the records before it were signed with {new.key_id}" in err


def test_a_forged_rotation_record_is_caught(tmp_path: Path) -> None:
    old, old_pub, _ = _pair(tmp_path, "old")
    attacker, attacker_pub, _ = _pair(tmp_path, "attacker")
    log = _signed_log(tmp_path, old, 2)
    # someone without the old key appends a "rotation" to their own key, signed by their own key
    last = log.read_bytes().splitlines()[-1]
    forged: dict[str, object] = {"command": "key rotate", "verdict": "key rotation", "seq": 3, "prev": audit.line_digest(last)}
    forged["rotate"] = {"from": old.key_id, "to": attacker.key_id, "alg": "ed25519", "public_key": attacker_pub.read_text()}
    forged["sig"] = audit.sign_record(forged, attacker)
    with open(log, "ab") as fh:
        fh.write(json.dumps(forged, sort_keys=True).encode() + b"\n")
    code, _, err = _cli(["audit", "verify", str(log), "--public-key", str(old_pub)])
    assert code == 1 and f"line 3: signed with {attacker.key_id}, but the records before it were signed with {old.key_id}" in err


# --------------------------------------------------------------------------- the earlier scheme, keys


def test_logs_of_the_earlier_hmac_scheme_still_verify_with_their_key(tmp_path: Path) -> None:
    secret = "correct horse battery staple 42"
    # a log as the earlier gatekeeper wrote it: "sig": "hmac-sha256:<hex>", no key id
    records: list[dict[str, object]] = [{"command": "check", "verdict": v, "seq": i + 1} for i, v in enumerate(["fail", "pass"])]
    prev, out = audit.GENESIS, b""
    for rec in records:
        rec["prev"] = prev
        rec["sig"] = audit.sign(rec, secret.encode())
        line = json.dumps(rec, sort_keys=True).encode()
        out, prev = out + line + b"\n", hashlib.sha256(line).hexdigest()
    log = tmp_path / "audit.jsonl"
    log.write_bytes(out)
    code, out_text, _ = _cli(["audit", "verify", str(log)], {"GATEKEEPER_AUDIT_KEY": secret})
    assert code == 0 and "intact, 2 record(s)" in out_text and "signatures: 2 checked, all valid" in out_text
    code, _, err = _cli(["audit", "verify", str(log)], {"GATEKEEPER_AUDIT_KEY": "a guess"})
    assert code == 1 and "line 1: signature does not match" in err
    code, out_text, _ = _cli(["audit", "verify", str(log)])
    assert code == 0 and "chain consistent, not authenticated" in out_text
    # the same secret keeps signing (now with a key id), and the log still verifies
    appended = audit.append(log, {"command": "check", "verdict": "pass"}, secret.encode())
    assert not appended.warning and _records(log)[-1]["sig"]["alg"] == "hmac-sha256"  # type: ignore[index]
    code, out_text, _ = _cli(["audit", "verify", str(log)], {"GATEKEEPER_AUDIT_KEY": secret})
    assert code == 0 and "intact, 3 record(s)" in out_text


def test_key_generate_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    private, public = tmp_path / "k.key", tmp_path / "k.pub"
    code, out, _ = _cli(["key", "generate", "--private", str(private), "--public", str(public)])
    assert code == 0 and private.stat().st_mode & 0o777 == 0o600
    kid = signing.Keyring().add_files([public])[0]
    assert f"key id:      {kid}" in out
    assert signing.signer_from_text(private.read_text()).key_id == kid
    code, out, _ = _cli(["key", "id", str(public)])
    assert code == 0 and out.startswith(kid)
    before = private.read_bytes()
    code, _, err = _cli(["key", "generate", "--private", str(private), "--public", str(tmp_path / "other.pub")])
    assert code == 2 and "never overwritten" in err and private.read_bytes() == before
    code, _, err = _cli(["audit", "verify", str(tmp_path / "x.jsonl"), "--public-key", str(private)])
    assert code == 2 and "holds no PEM public key" in err


BAD_PEM = "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"


def test_a_bad_signing_key_is_a_clear_error_before_anything_runs(tmp_path: Path, plugin_gk: Runner) -> None:
    signer, _, _ = _pair(tmp_path, "audit")
    log = _signed_log(tmp_path, signer, 1)
    code, _, err = _cli(["audit", "verify", str(log)], {"GATEKEEPER_AUDIT_KEY": BAD_PEM})
    assert code == 2 and "GATEKEEPER_AUDIT_KEY: the PEM private key cannot be read" in err and "Traceback" not in err
    (tmp_path / "p").mkdir()
    project = _project(tmp_path / "p")
    done = plugin_gk(["check", "."], cwd=project, env=plugin_env(GATEKEEPER_AUDIT_KEY=BAD_PEM))
    assert done.returncode == 2 and "the PEM private key cannot be read" in done.stderr
    assert not (project / "gatekeeper-reports").exists() and not (project / LOG).exists()  # nothing ran, nothing written


def test_pem_text_that_is_no_ed25519_private_key_is_refused_never_taken_for_a_shared_secret(
    tmp_path: Path, plugin_gk: Runner
) -> None:
    signer, public, _ = _pair(tmp_path, "audit")
    public_text = public.read_text(encoding="ascii")
    # the public key pasted into the secret by mistake: as an HMAC secret, everyone given the public
    # key to verify could sign a record that verification with that variable calls intact
    log = tmp_path / "forged.jsonl"
    as_secret = public_text.encode("ascii")  # what anyone holding the public key computes
    forger = signing.Signer(signing.HMAC_SHA256, signing.hmac_key_id(as_secret), _secret=as_secret)
    audit.append(log, {"command": "check", "verdict": "pass", "commit": "f" * 40}, forger)
    code, out, err = _cli(["audit", "verify", str(log)], {"GATEKEEPER_AUDIT_KEY": public_text})
    assert code == 2 and "intact" not in out, out
    assert "GATEKEEPER_AUDIT_KEY: it holds a PEM PUBLIC KEY, not a private key" in err and "Traceback" not in err
    # private keys of other kinds, made with openssl as their owners would: never an HMAC secret either
    openssl = {
        "EC PRIVATE KEY": ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "k.pem"],
        "RSA PRIVATE KEY": ["genrsa", "-traditional", "-out", "k.pem", "2048"],
        "ENCRYPTED PRIVATE KEY": ["pkcs8", "-topk8", "-in", str(tmp_path / "audit.key"), "-passout", "pass:x", "-out", "k.pem"],
    }
    for label, args in openssl.items():
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True, timeout=60)
        text = (tmp_path / "k.pem").read_text(encoding="ascii")
        assert f"-----BEGIN {label}-----" in text
        code, out, err = _cli(["audit", "verify", str(log)], {"GATEKEEPER_AUDIT_KEY": text})
        assert code == 2 and f"GATEKEEPER_AUDIT_KEY: it holds a PEM {label}: gatekeeper signs with an unencrypted Ed25519" in err
    from cryptography.hazmat.primitives import serialization

    openssh = signer._private.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode("ascii")
    code, _, err = _cli(["key", "rotate", "--new-public", str(public), str(log)], {"GATEKEEPER_AUDIT_KEY": openssh})
    assert code == 2 and "it holds a PEM OPENSSH PRIVATE KEY" in err
    # a run stops before anything is checked, as for a key that cannot be read
    (tmp_path / "p").mkdir()
    project = _project(tmp_path / "p")
    done = plugin_gk(["check", "."], cwd=project, env=plugin_env(GATEKEEPER_AUDIT_KEY=public_text))
    assert done.returncode == 2 and "it holds a PEM PUBLIC KEY, not a private key" in done.stderr
    assert not (project / "gatekeeper-reports").exists() and not (project / LOG).exists()
    # any other text stays a shared secret of the earlier scheme
    assert signing.signer_from_text("a long shared secret, not PEM").algorithm == signing.HMAC_SHA256
