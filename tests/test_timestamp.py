"""RFC 3161 stamps from a real authority on the loopback (openssl ts -reply), checked with openssl ts -verify."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest
from markupsafe import escape as html_escape
from typer.testing import CliRunner, Result

from gatekeeper import audit
from gatekeeper.cli import app
from gatekeeper.errors import PolicyError
from gatekeeper.timestamp import (
    RUNNER_CLOCK,
    Authority,
    TimestampError,
    authority_from,
    request_stamp,
    stamper,
    token_info,
    verify_stamp,
)
from tests.helpers.projects import only, write
from tests.helpers.services import closed_port
from tests.helpers.tsa import LocalTSA, make_pki, running_tsa, sign_token

DIGEST = hashlib.sha256(b"an audit record").hexdigest()


def test_a_stamp_from_the_authority_verifies_against_its_ca_and_carries_its_time(local_tsa: LocalTSA) -> None:
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    stamp = request_stamp(Authority(local_tsa.url, local_tsa.pki.ca), DIGEST)
    assert stamp["kind"] == "rfc3161" and stamp["url"] == local_tsa.url and stamp["digest"] == "sha256:" + DIGEST
    when = dt.datetime.fromisoformat(stamp["time"].replace("Z", "+00:00"))
    assert before - dt.timedelta(seconds=2) <= when <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    check = verify_stamp(stamp, DIGEST, local_tsa.pki.ca)
    assert check.ok and check.time == stamp["time"]


def test_a_stamp_does_not_verify_for_other_content_another_ca_or_an_edited_time(local_tsa: LocalTSA, tmp_path: Path) -> None:
    stamp = request_stamp(Authority(local_tsa.url, local_tsa.pki.ca), DIGEST)
    other = hashlib.sha256(b"another record").hexdigest()
    assert "the token was issued for other content" in str(verify_stamp(stamp, other, local_tsa.pki.ca).problem)
    stranger = make_pki(tmp_path / "other", name="Other")
    refused = str(verify_stamp(stamp, DIGEST, stranger.ca).problem)
    assert f"the authority's certificate does not chain to {stranger.ca}" in refused and "not show the content altered" in refused
    edited = {**stamp, "time": "2026-09-01T09:00:00Z"}
    assert "its token says" in str(verify_stamp(edited, DIGEST, local_tsa.pki.ca).problem)
    assert not verify_stamp({**stamp, "token": "not base64!"}, DIGEST, local_tsa.pki.ca).ok


def test_a_reply_signed_by_an_authority_the_ca_does_not_know_is_refused(local_tsa: LocalTSA, tmp_path: Path) -> None:
    stranger = make_pki(tmp_path / "other", name="Other")
    with pytest.raises(TimestampError, match="does not verify against the query and"):
        request_stamp(Authority(local_tsa.url, stranger.ca), DIGEST)


@pytest.mark.parametrize(
    ("mode", "message"),
    [("refuse", "refused the request: HTTP 503"), ("garbage", "does not verify against the query")],
)
def test_an_authority_that_fails_is_an_error_naming_it(local_tsa: LocalTSA, mode: str, message: str) -> None:
    local_tsa.mode = mode
    with pytest.raises(TimestampError, match=message) as caught:
        request_stamp(Authority(local_tsa.url, local_tsa.pki.ca), DIGEST)
    assert local_tsa.url in str(caught.value) and caught.value.exit_code == 3


def test_an_unreachable_authority_is_an_error(offline_env: None, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/tsa"
    with pytest.raises(TimestampError, match="could not be reached"):
        request_stamp(Authority(url, tmp_path / "ca.pem", timeout_s=5), DIGEST)


def test_the_policy_names_the_authority_and_its_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ca.pem").write_text("not checked here")
    assert authority_from({"timestamp_url": ""}, tmp_path) is None
    found = authority_from({"timestamp_url": "http://tsa.example/", "timestamp_ca": "ca.pem"}, tmp_path)
    assert found == Authority("http://tsa.example/", tmp_path / "ca.pem")
    with pytest.raises(PolicyError, match=r"audit\.timestamp_ca"):
        authority_from({"timestamp_url": "http://tsa.example/"}, tmp_path)
    with pytest.raises(PolicyError, match="http:// or https://"):
        authority_from({"timestamp_url": "file:///etc/passwd", "timestamp_ca": "ca.pem"}, tmp_path)
    with pytest.raises(PolicyError, match="does not exist"):
        authority_from({"timestamp_url": "http://tsa.example/", "timestamp_ca": "missing.pem"}, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no openssl on PATH
    with pytest.raises(TimestampError, match="needs the openssl command"):
        authority_from({"timestamp_url": "http://tsa.example/", "timestamp_ca": "ca.pem"}, tmp_path)


# --------------------------------------------------------------------------- the audit log and the reports


def _project(tmp_path: Path, audit: str) -> Path:
    root = write(tmp_path / "proj", {"app.py": "def add(a, b):\n    return a + b\n"})
    policy = only("security").replace("[audit]\nenabled = false\n", f"[audit]\n{audit}")
    (root / "gatekeeper.toml").write_text(policy)
    return root


def _authority(tsa: LocalTSA) -> str:
    return f'timestamp_url = "{tsa.url}"\ntimestamp_ca = "{tsa.pki.ca}"\n'


def _run(args: list[str], root: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(root)
    return CliRunner().invoke(app, args)


def test_each_record_carries_a_timestamp_that_audit_verify_checks_against_the_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    root = _project(tmp_path, _authority(local_tsa))
    for _ in range(2):
        done = _run(["check", str(root), "--format", "json,html"], root, monkeypatch)
        assert done.exit_code == 0, done.output
    records = [json.loads(line) for line in (root / ".gatekeeper" / "audit.jsonl").read_text().splitlines()]
    assert [r["timestamp"]["kind"] for r in records] == ["rfc3161", "rfc3161"]
    assert records[0]["clock"]["authority"] == local_tsa.url
    ca = str(local_tsa.pki.ca)
    done = _run(["audit", "verify", "--tsa-cert", ca], root, monkeypatch)
    assert done.exit_code == 0, done.output
    assert f"timestamps: 2 record(s) verified against {ca} (stamped {records[0]['timestamp']['time']} .. " in done.output
    done = _run(["audit", "verify"], root, monkeypatch)
    assert done.exit_code == 0 and "2 record(s) carry RFC 3161 timestamps, NOT checked" in done.output
    stranger = make_pki(tmp_path / "other", name="Other")
    done = _run(["audit", "verify", "--tsa-cert", str(stranger.ca)], root, monkeypatch)
    assert done.exit_code == 1 and "record #1: timestamp: the authority's certificate does not chain to" in done.output
    assert "intact" not in done.output and "REJECTED" in done.output


def test_a_record_edited_after_it_was_stamped_no_longer_matches_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    log = tmp_path / "audit.jsonl"
    failures: list[str] = []
    audit.append(
        log,
        {"time": _now(), "verdict": "fail", "checks": {}},
        stamp=stamper(Authority(local_tsa.url, local_tsa.pki.ca), failures),
    )
    assert not failures
    log.write_text(log.read_text().replace('"verdict": "fail"', '"verdict": "pass"'))  # the last line: the chain still holds
    done = _run(["audit", "verify", str(log), "--tsa-cert", str(local_tsa.pki.ca)], tmp_path, monkeypatch)
    assert done.exit_code == 1 and "record #1: timestamp: the token was issued for other content" in done.output
    assert "intact" not in done.output and "REJECTED" in done.output


def test_a_faked_clock_is_caught_by_the_authoritys_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    # runs "dated" September, written today: each record's time disagrees with its stamp
    log = tmp_path / "audit.jsonl"
    stamp = stamper(Authority(local_tsa.url, local_tsa.pki.ca), [])
    for day in ("2026-09-01", "2026-10-01"):
        audit.append(log, {"time": f"{day}T09:00:00Z", "verdict": "pass", "checks": {}}, stamp=stamp)
    done = _run(["audit", "verify", str(log), "--tsa-cert", str(local_tsa.pki.ca)], tmp_path, monkeypatch)
    assert done.exit_code == 1, done.output
    assert "record #1: the runner's clock says 2026-09-01T09:00:00Z, the authority stamped it at " in done.output
    assert "the runner's clock was wrong or set back" in done.output and "record #2" in done.output


def test_an_authority_that_fails_during_a_run_fails_it_closed_and_the_record_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    root = _project(tmp_path, _authority(local_tsa))
    local_tsa.mode = "refuse"
    done = _run(["check", str(root), "--format", "json"], root, monkeypatch)
    assert done.exit_code == 3, done.output
    assert f"the timestamp authority {local_tsa.url} refused the request: HTTP 503" in done.output
    assert "written WITHOUT a trusted timestamp" in done.output
    record = json.loads((root / ".gatekeeper" / "audit.jsonl").read_text())
    assert "HTTP 503" in record["timestamp"]["error"] and "token" not in record["timestamp"]
    envelope = json.loads((root / "gatekeeper-reports" / "gatekeeper.intoto.json").read_text())
    assert "HTTP 503" in envelope["timestamp"]["error"]
    done = _run(["audit", "verify"], root, monkeypatch)
    assert done.exit_code == 0 and "1 record(s) have no trusted time" in done.output
    # asked for trusted time, the verifier does not take the last record on the runner's word
    done = _run(["audit", "verify", "--tsa-cert", str(local_tsa.pki.ca)], root, monkeypatch)
    assert done.exit_code == 1 and "record #1: no trusted timestamp fixes it" in done.output


def test_without_an_authority_every_report_says_the_time_is_the_runners_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, "")
    done = _run(["check", str(root), "--format", "json,html"], root, monkeypatch)
    assert done.exit_code == 0, done.output
    assert f"time: {RUNNER_CLOCK}" in done.output
    result = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert result["clock"] == {"source": "runner", "authority": "", "note": RUNNER_CLOCK}
    html = (root / "gatekeeper-reports" / "gatekeeper.html").read_text()
    assert f'<dd id="clock">{html_escape(RUNNER_CLOCK)}</dd>' in html
    record = json.loads((root / ".gatekeeper" / "audit.jsonl").read_text())
    assert record["clock"]["note"] == RUNNER_CLOCK and "timestamp" not in record
    done = _run(["audit", "verify"], root, monkeypatch)
    assert "time: no record carries a trusted timestamp: every time in this log is the runner's own clock" in done.output


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_baseline_record_is_stamped_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA) -> None:
    root = _project(tmp_path, _authority(local_tsa))
    done = _run(["baseline", "create", str(root)], root, monkeypatch)
    assert done.exit_code == 0, done.output
    record = json.loads((root / ".gatekeeper" / "audit.jsonl").read_text())
    assert record["command"] == "baseline create" and record["timestamp"]["kind"] == "rfc3161"
    done = _run(["audit", "verify", "--tsa-cert", str(local_tsa.pki.ca)], root, monkeypatch)
    assert done.exit_code == 0 and "timestamps: 1 record(s) verified" in done.output


def test_a_key_rotation_is_stamped_like_a_runs_record_and_fails_closed_without_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    # the moment a new key takes over is what --retired KEYID=TIME reasons about: the authority fixes it
    from gatekeeper import signing

    root = _project(tmp_path, _authority(local_tsa))
    keys = {name: signing.write_key_pair(tmp_path / f"{name}.key", tmp_path / f"{name}.pub") for name in ("a", "b", "c")}
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "a.key").read_text())
    assert _run(["check", str(root), "--format", "json"], root, monkeypatch).exit_code == 0
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "a.key").read_text())
    done = _run(["key", "rotate", "--new-public", str(tmp_path / "b.pub")], root, monkeypatch)
    assert done.exit_code == 0 and "appended rotation record #2" in done.output, done.output
    log = root / ".gatekeeper" / "audit.jsonl"
    rotation = json.loads(log.read_bytes().splitlines()[1])
    assert rotation["rotate"]["to"] == keys["b"].key_id and rotation["timestamp"]["kind"] == "rfc3161"
    verify = ["audit", "verify", "--public-key", str(tmp_path / "a.pub"), "--tsa-cert", str(local_tsa.pki.ca)]
    done = _run(verify, root, monkeypatch)
    assert done.exit_code == 0 and "timestamps: 2 record(s) verified" in done.output, done.output
    gen_time = rotation["timestamp"]["time"]
    assert f"rotation: record #2, the hand-over from {keys['a'].key_id}, was in the log by {gen_time}" in done.output
    # an authority that fails: the record is appended saying so, and the rotation exits 3 as a run does
    local_tsa.mode = "refuse"
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "b.key").read_text())
    done = _run(["key", "rotate", "--new-public", str(tmp_path / "c.pub")], root, monkeypatch)
    assert done.exit_code == 3, done.output
    assert f"the timestamp authority {local_tsa.url} refused the request: HTTP 503" in done.output
    assert "the rotation record #3 was appended WITHOUT a trusted time for the hand-over" in done.output
    failed = json.loads(log.read_bytes().splitlines()[2])
    assert "HTTP 503" in failed["timestamp"]["error"] and "token" not in failed["timestamp"]
    done = _run(verify, root, monkeypatch)
    assert done.exit_code == 1 and "record #3: no trusted timestamp fixes it" in done.output


def test_bundle_checks_the_keys_and_the_timestamp_it_is_given_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    """``bundle --public-key --tsa-cert`` writes only a bundle that ``bundle verify`` would pass with
    the same keys and certificate; anything else exits 1 and writes nothing."""
    from gatekeeper import signing

    root = _project(tmp_path, _authority(local_tsa))
    signer = signing.write_key_pair(tmp_path / "audit.key", tmp_path / "audit.pub")
    private = (tmp_path / "audit.key").read_text(encoding="ascii")
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", private)
    assert _run(["check", str(root), "--format", "json"], root, monkeypatch).exit_code == 0
    results, ca = "gatekeeper-reports/gatekeeper.json", str(local_tsa.pki.ca)
    stranger = make_pki(tmp_path / "other", name="Other")
    signing.write_key_pair(tmp_path / "other.key", tmp_path / "other.pub")

    def bundle(out: str, *extra: str) -> Result:
        monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", private)  # read once, then taken out of the environment
        return _run(["bundle", results, "--output", str(tmp_path / out), *extra], root, monkeypatch)

    done = bundle("ok.zip", "--public-key", str(tmp_path / "audit.pub"), "--tsa-cert", ca)
    assert done.exit_code == 0, done.output
    assert f"result: backed by audit record #1, signed by {signer.key_id}" in done.output
    for stamped in ("audit/record.jsonl", "attestation/gatekeeper.intoto.json"):
        assert f"timestamp: {stamped}: stamped " in done.output
    assert _run(["bundle", "verify", str(tmp_path / "ok.zip"), "--tsa-cert", ca], root, monkeypatch).exit_code == 0
    refused = {
        "other-ca.zip": (["--tsa-cert", str(stranger.ca)], "timestamp: the authority's certificate does not chain to"),
        "other-key.zip": (["--public-key", str(tmp_path / "other.pub")], "not among the keys given"),
    }
    for out, (extra, why) in refused.items():
        done = bundle(out, *extra)
        assert done.exit_code == 1 and "bundle not written" in done.output and why in done.output, done.output
        assert "nothing in the bundle carries" not in done.output  # it carries two, which did not verify
        assert not (tmp_path / out).exists()
    for option in ("--tsa-cert", "--public-key", "--log", "--policy"):
        done = bundle("missing.zip", option, "/nonexistent/file.pem")
        assert done.exit_code == 2 and f"{option}: file not found" in done.output, done.output
        assert not (tmp_path / "missing.zip").exists()
    # a run without an authority: a certificate to check leaves nothing to check, so nothing is written
    plain = tmp_path / "plain"
    plain.mkdir()
    root2 = _project(plain, "")
    assert _run(["check", str(root2), "--format", "json"], root2, monkeypatch).exit_code == 0
    done = _run(["bundle", results, "--output", str(plain / "x.zip"), "--tsa-cert", ca], root2, monkeypatch)
    assert done.exit_code == 1 and "attestation/gatekeeper.intoto.json: timestamp: carries no trusted timestamp" in done.output
    assert not (plain / "x.zip").exists()


def _stamp(token: bytes) -> dict[str, str]:
    return {
        "kind": "rfc3161", "url": "http://tsa.invalid/", "digest": "sha256:" + DIGEST,
        "time": token_info(token).time, "token": base64.b64encode(token).decode("ascii"),
    }  # fmt: skip


def _by_hand(token: bytes, digest: str, ca: Path, folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    (folder / "token.der").write_bytes(token)
    args = ["openssl", "ts", "-verify", "-digest", digest, "-token_in", "-in", "token.der", "-CAfile", str(ca), *extra]
    return subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=60)


def test_a_record_stamped_while_the_authoritys_certificate_was_valid_still_verifies_after_it_expired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline_env: None
) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    expires = now + dt.timedelta(seconds=4)
    pki = make_pki(tmp_path / "pki", tsa_window=(now - dt.timedelta(days=1), expires))
    log, failures = tmp_path / "audit.jsonl", []
    with running_tsa(tmp_path / "tsa", pki) as tsa:
        audit.append(log, {"time": _now(), "verdict": "pass", "checks": {}}, stamp=stamper(Authority(tsa.url, pki.ca), failures))
    assert not failures
    record = json.loads(log.read_text())
    stamp, digest = record["timestamp"], audit.stamped_digest(record)
    assert not verify_stamp(stamp, digest, pki.ca).note  # valid today: nothing to say
    time.sleep(max(0.0, (expires - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 1.5)
    today = _by_hand(base64.b64decode(stamp["token"]), digest, pki.ca, tmp_path)  # openssl alone: as valid today
    assert today.returncode != 0 and "certificate has expired" in today.stdout + today.stderr
    check = verify_stamp(stamp, digest, pki.ca)
    assert check.ok and check.time == stamp["time"]
    note = f"the authority's certificate has expired since; it was valid at the token's time, {stamp['time']}"
    assert check.note == note
    done = _run(["audit", "verify", str(log), "--tsa-cert", str(pki.ca)], tmp_path, monkeypatch)
    assert done.exit_code == 0, done.output
    assert "timestamps: 1 record(s) verified against" in done.output and f"note: record #1: {note}" in done.output
    # still bound to its content and its time
    assert "issued for other content" in str(verify_stamp(stamp, DIGEST, pki.ca).problem)
    assert "its token says" in str(verify_stamp({**stamp, "time": "2026-09-01T09:00:00Z"}, digest, pki.ca).problem)


def test_a_token_made_after_the_authoritys_certificate_expired_is_refused(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    pki = make_pki(tmp_path / "pki", tsa_window=(now - dt.timedelta(days=2), now - dt.timedelta(days=1)))
    token = sign_token(pki, DIGEST, tmp_path / "sign")  # openssl signs with the expired certificate
    at = int(dt.datetime.fromisoformat(token_info(token).time.replace("Z", "+00:00")).timestamp())
    assert _by_hand(token, DIGEST, pki.ca, tmp_path, "-attime", str(at)).returncode != 0  # expired at its own time too
    check = verify_stamp(_stamp(token), DIGEST, pki.ca)
    assert not check.ok and "had already expired at the token's time" in str(check.problem)
    assert "does not show the content altered" in str(check.problem)


def test_a_token_resting_on_sha1_or_another_imprint_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline_env: None
) -> None:
    # openssl ts -verify accepts an authority that signs over SHA-1, whose collisions can be made
    pki = make_pki(tmp_path / "pki")
    config = pki.config.read_text()
    weak = config.replace("signer_digest = sha256", "signer_digest = sha1")
    pki.config.write_text(weak)
    token = sign_token(pki, DIGEST, tmp_path / "weak")
    shown = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(tmp_path / "weak" / "t.der")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "algorithm: sha1 (1.3.14.3.2.26)" in shown.stdout.partition("signerInfos:")[2]
    by_hand = ["openssl", "ts", "-verify", "-digest", DIGEST, "-token_in", "-in", "t.der", "-CAfile", str(pki.ca)]
    assert subprocess.run(by_hand, cwd=tmp_path / "weak", capture_output=True, timeout=60).returncode == 0
    stamp = {"kind": "rfc3161", "url": "http://tsa.invalid/", "token": base64.b64encode(token).decode("ascii")}
    refused = str(verify_stamp(stamp, DIGEST, pki.ca).problem)
    assert "the token is refused: the authority signed it over sha1 (digestAlgorithm), whose collisions can be made" in refused
    # a token whose imprint is another digest than the SHA-256 one gatekeeper asks for
    pki.config.write_text(config)
    other = tmp_path / "other"
    other.mkdir()
    query = ["openssl", "ts", "-query", "-digest", hashlib.sha512(b"an audit record").hexdigest(), "-sha512", "-out", "q.tsq"]
    subprocess.run(query, cwd=other, check=True, capture_output=True, timeout=60)
    subprocess.run(["openssl", "ts", "-reply", "-config", str(pki.config), "-queryfile", "q.tsq", "-token_out", "-out", "t.der"],
                   cwd=other, check=True, capture_output=True, timeout=60)  # fmt: skip
    stamp["token"] = base64.b64encode((other / "t.der").read_bytes()).decode("ascii")
    assert "its imprint is a sha512 digest, not the SHA-256 one" in str(verify_stamp(stamp, DIGEST, pki.ca).problem)
    # a run whose authority signs over SHA-1 keeps no token and fails closed
    pki.config.write_text(weak)
    with running_tsa(tmp_path / "tsa", pki) as tsa:
        root = _project(tmp_path, _authority(tsa))
        done = _run(["check", str(root), "--format", "json"], root, monkeypatch)
    assert done.exit_code == 3, done.output
    assert "the authority signed it over sha1" in done.output and "written WITHOUT a trusted timestamp" in done.output
    record = json.loads((root / ".gatekeeper" / "audit.jsonl").read_text())
    assert "token" not in record["timestamp"] and "sha1" in record["timestamp"]["error"]


def test_a_certificate_file_that_holds_no_certificate_is_a_usage_error_never_tampering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    """An auditor who passes the authority's key, the signing key's public key or an empty file as
    --tsa-cert made openssl refuse every token: intact, stamped evidence was called TAMPERED (exit 1)."""
    root = _project(tmp_path, _authority(local_tsa))
    bundle = tmp_path / "evidence.zip"
    assert _run(["check", str(root), "--bundle", str(bundle)], root, monkeypatch).exit_code == 0
    envelope = str(root / "gatekeeper-reports" / "gatekeeper.intoto.json")
    commands = (
        ["bundle", "verify", str(bundle)],
        ["attestation", "verify", envelope],
        ["audit", "verify"],
        ["audit", "report", "--output", str(tmp_path / "page.html")],
        ["bundle", str(root / "gatekeeper-reports" / "gatekeeper.json"), "--output", str(tmp_path / "again.zip")],
    )
    (tmp_path / "empty.pem").write_text("")
    for wrong in (local_tsa.pki.folder / "tsa.key", tmp_path / "empty.pem"):
        for args in commands:
            done = _run([*args, "--tsa-cert", str(wrong)], root, monkeypatch)
            assert done.exit_code == 2, (args, done.output)
            assert "--tsa-cert: holds no PEM certificate (-----BEGIN CERTIFICATE-----)" in done.output, done.output
            assert "TAMPERED" not in done.output and "Traceback" not in done.output
    assert not (tmp_path / "again.zip").exists()
    for args in (commands[0], commands[2]):  # the right certificate: the same evidence verifies
        assert _run([*args, "--tsa-cert", str(local_tsa.pki.ca)], root, monkeypatch).exit_code == 0, args
