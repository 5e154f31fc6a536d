"""Trusted time that cannot be bent: a token dated outside its authority's certificate or ahead of the
verifier's clock, evidence without a token when a certificate is given, a record appended later and
backdated, and a run whose own clock the authority contradicts. Real runs, a real openssl authority."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gatekeeper import audit, engine, signing, timestamp
from gatekeeper.cli import app
from gatekeeper.resultsig import part_signature, signature_path
from gatekeeper.timestamp import Authority, request_stamp, token_info, verify_stamp
from tests.helpers.projects import git_init, only, write
from tests.helpers.tsa import LocalTSA, make_pki, sign_token

RISKY = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def _cli(args: list[str]) -> Result:
    return CliRunner().invoke(app, args)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _project(tmp_path: Path, tsa: LocalTSA, extra: str = "", code: str = "def add(a, b):\n    return a + b\n") -> Path:
    root = write(tmp_path / "proj", {"app.py": code})
    authority = f'[audit]\ntimestamp_url = "{tsa.url}"\ntimestamp_ca = "{tsa.pki.ca}"\n'
    write(root, {"gatekeeper.toml": only("security", extra=extra).replace("[audit]\nenabled = false\n", authority)})
    write(root, {".gitignore": "gatekeeper-reports/\n.gatekeeper/\n"})
    git_init(root)
    return root


def _check(root: Path, monkeypatch: pytest.MonkeyPatch, key: signing.Signer, *args: str) -> Result:
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(key))  # each run takes it out of the environment
    monkeypatch.chdir(root)
    return _cli(["check", str(root), *args])


def test_a_token_dated_before_its_authoritys_certificate_was_issued_is_refused(tmp_path: Path) -> None:
    # an authority whose clock was set back signs a token dated before its certificate existed; once
    # the certificate is valid, openssl checking "as of today" accepts the token
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=6)
    pki = make_pki(tmp_path / "pki", tsa_window=(start, start + dt.timedelta(days=30)))
    key = signing.generate()
    log = tmp_path / "audit.jsonl"
    signed: list[bytes] = []

    def stamp(digest: str) -> dict[str, Any]:
        token = sign_token(pki, digest, tmp_path / "sign")
        signed.append(token)
        return {"kind": "rfc3161", "url": "http://tsa.invalid/", "digest": "sha256:" + digest,
                "time": token_info(token).time, "token": base64.b64encode(token).decode("ascii")}  # fmt: skip

    audit.append(log, {"time": _iso(dt.datetime.now(dt.timezone.utc)), "verdict": "pass", "checks": {}}, key, stamp)
    gen_time = token_info(signed[0]).time
    assert gen_time < _iso(start)
    time.sleep(max(0.0, (start - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 1.5)
    (tmp_path / "t.der").write_bytes(signed[0])
    record = json.loads(log.read_text())
    by_hand = ["openssl", "ts", "-verify", "-digest", audit.stamped_digest(record), "-token_in", "-in", "t.der"]
    today = subprocess.run([*by_hand, "-CAfile", str(pki.ca)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert today.returncode == 0  # as of today, openssl alone accepts it
    (tmp_path / "pub.pem").write_text(key.public_pem())
    done = _cli(["audit", "verify", str(log), "--public-key", str(tmp_path / "pub.pem"), "--tsa-cert", str(pki.ca)])
    assert done.exit_code == 1 and "intact" not in done.output
    assert "record #1: timestamp: the authority's certificate was not yet valid at the token's time" in done.output


def test_a_token_dated_after_the_verifiers_clock_is_refused(local_tsa: LocalTSA, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = timestamp.digest_of(b"a record")
    stamp = request_stamp(Authority(local_tsa.url, local_tsa.pki.ca), digest)
    assert verify_stamp(stamp, digest, local_tsa.pki.ca).ok
    # the verifying machine's clock reads an hour earlier than the authority's: the token is from its future
    earlier = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    monkeypatch.setattr(timestamp, "_clock", lambda: earlier)
    check = verify_stamp(stamp, digest, local_tsa.pki.ca)
    assert not check.ok and f"signed it at {stamp['time']}, later than this machine's clock" in str(check.problem)


def test_a_certificate_given_asks_for_a_token_and_evidence_without_one_is_not_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    root = _project(tmp_path, local_tsa)
    assert _check(root, monkeypatch, key, "--bundle", str(tmp_path / "run.zip")).exit_code == 0
    # whoever holds the key signs a new statement for the old run today, naming a wheel the gate never saw;
    # no authority will date it back, so it carries no token
    envelope = json.loads((root / "gatekeeper-reports" / "gatekeeper.intoto.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    (tmp_path / "evil.whl").write_bytes(b"not the release")
    statement["subject"].append({"name": "dist/evil.whl", "digest": {"sha256": timestamp.digest_of(b"not the release")}})
    from gatekeeper.attestation import envelope as make_envelope
    from gatekeeper.attestation import serialize

    forged = tmp_path / "forged.intoto.json"
    forged.write_text(json.dumps(make_envelope(serialize(statement), key)))
    monkeypatch.chdir(tmp_path)
    args = ["attestation", "verify", str(forged), "--public-key", str(tmp_path / "k.pub"), "--subject", "evil.whl"]
    assert _cli(args).exit_code == 0  # without a certificate: signed by the key, which is all it claims
    done = _cli([*args, "--tsa-cert", str(local_tsa.pki.ca)])
    assert done.exit_code == 1 and "REJECTED" in done.output and "verified, signed" not in done.output
    assert "timestamp: the statement carries no trusted timestamp, though a certificate was given" in done.output
    # a bundle of a run made without an authority holds nothing to check against the certificate given
    plain = tmp_path / "plain"
    plain.mkdir()
    bare = write(plain / "proj", {"app.py": "x = 1\n", "gatekeeper.toml": only("security").replace("enabled = false\n", "", 1)})
    git_init(bare)
    assert _check(bare, monkeypatch, key, "--bundle", str(plain / "bare.zip")).exit_code == 0
    done = _cli(
        [
            "bundle",
            "verify",
            str(plain / "bare.zip"),
            "--public-key",
            str(tmp_path / "k.pub"),
            "--tsa-cert",
            str(local_tsa.pki.ca),
        ]
    )
    assert done.exit_code == 1 and "NOT VERIFIED (its timestamps could not be checked)" in done.output
    assert "audit/record.jsonl: record #1: timestamp: carries no trusted timestamp" in done.output
    assert "attestation/gatekeeper.intoto.json: timestamp: carries no trusted timestamp" in done.output


def test_a_record_appended_later_and_backdated_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    root = _project(tmp_path, local_tsa)
    for _ in range(2):
        assert _check(root, monkeypatch, key).exit_code == 0
    log = root / ".gatekeeper" / "audit.jsonl"
    first_head = audit.line_digest(log.read_bytes().splitlines()[0])
    # whoever holds the key appends a passing run of an old commit, dated a month back, with no token
    forged = json.loads(log.read_bytes().splitlines()[-1])
    for name in ("seq", "prev", "sig", "timestamp"):
        forged.pop(name)
    month_ago = _iso(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30))
    forged.update(time=month_ago, started_at=month_ago, commit="f" * 40)
    audit.append(log, forged, key)
    base = ["audit", "verify", str(log), "--public-key", str(tmp_path / "k.pub")]
    assert _cli(base).exit_code == 0  # signed and chained: only the authority's times tell
    done = _cli([*base, "--tsa-cert", str(local_tsa.pki.ca)])
    assert done.exit_code == 1 and "intact" not in done.output
    assert f"record #3: it says it was written at {month_ago}, but record #2 ahead of it in the log was stamped" in done.output
    # the history page an auditor files checks the same times when given the certificate
    page = tmp_path / "history.html"
    report = ["audit", "report", str(log), "--public-key", str(tmp_path / "k.pub"), "--output", str(page)]
    assert _cli(report).exit_code == 0  # without the certificate the page cannot tell
    done = _cli([*report, "--tsa-cert", str(local_tsa.pki.ca)])
    assert done.exit_code == 1 and f"TAMPERED at line 3: its times do not hold against {local_tsa.pki.ca}" in done.output
    assert "Chain BROKEN" in page.read_text() and f"it says it was written at {month_ago}" in page.read_text()
    # an anchor vouches only for the records up to it, and says so
    done = _cli([*base, "--anchor", first_head])
    assert done.exit_code == 0 and "anchor: found at record #1" in done.output
    assert "records #2..#3 came after the anchor, which vouches for none of them" in done.output


def test_a_record_no_token_fixes_post_dated_past_a_later_stamp_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    root = _project(tmp_path, local_tsa)
    assert _check(root, monkeypatch, key).exit_code == 0
    log = root / ".gatekeeper" / "audit.jsonl"
    # a failing run whose authority failed (the runner can block it), its clock set three days ahead: a report of
    # today's runs leaves it out, and only the next run's token, which fixes it, says it cannot be that late
    red = json.loads(log.read_bytes().splitlines()[-1])
    for name in ("seq", "prev", "sig"):
        red.pop(name)
    later = _iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3))
    red.update(time=later, started_at=later, verdict="fail", exit_code=1)
    red["timestamp"] = {"kind": "rfc3161", "url": local_tsa.url, "error": "the authority did not answer"}
    audit.append(log, red, key)
    assert _check(root, monkeypatch, key).exit_code == 0
    base = ["audit", "verify", str(log), "--public-key", str(tmp_path / "k.pub")]
    assert _cli(base).exit_code == 0  # signed and chained: only the authority's times tell
    done = _cli([*base, "--tsa-cert", str(local_tsa.pki.ca)])
    assert done.exit_code == 1 and "intact" not in done.output
    assert f"record #2: it says it was written at {later}, but record #3 after it in the log was stamped" in done.output
    assert "(it was post-dated)" in done.output
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    page = tmp_path / "history.html"
    report = ["audit", "report", str(log), "--public-key", str(tmp_path / "k.pub"), "--output", str(page)]
    done = _cli([*report, "--since", today, "--until", today, "--tsa-cert", str(local_tsa.pki.ca)])
    assert done.exit_code == 1 and f"TAMPERED at line 2: its times do not hold against {local_tsa.pki.ca}" in done.output
    assert "Chain BROKEN" in page.read_text()
    # the next run's own time, within a minute of drift ahead of its token, still holds
    assert _cli([*base, "--tsa-cert", str(local_tsa.pki.ca)]).output.count("post-dated") == 1
    # nor can its time be one no period holds: a report of any days left it out
    lines = log.read_bytes().splitlines()
    red = json.loads(lines[-1])
    for name in ("seq", "prev", "sig"):
        red.pop(name)
    red.update(time="soon", verdict="fail", exit_code=1)
    red["timestamp"] = {"kind": "rfc3161", "url": local_tsa.url, "error": "the authority did not answer"}
    log.write_bytes(b"".join(line + b"\n" for line in lines[:1]))
    audit.append(log, red, key)
    assert _check(root, monkeypatch, key).exit_code == 0
    done = _cli([*base, "--tsa-cert", str(local_tsa.pki.ca)])
    assert done.exit_code == 1 and "record #2: its time 'soon' cannot be compared with the authority's time" in done.output


def test_a_record_whose_time_has_another_offset_falls_on_its_utc_day_in_a_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    root = _project(tmp_path, local_tsa)
    assert _check(root, monkeypatch, key).exit_code == 0
    log = root / ".gatekeeper" / "audit.jsonl"
    # a failing run written at the very moment the authority stamps, but at UTC-12: its time's first ten
    # characters are yesterday, so a report of today's runs left it out while every time held
    red = json.loads(log.read_bytes().splitlines()[-1])
    for name in ("seq", "prev", "sig", "timestamp"):
        red.pop(name)
    moment = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    west = moment.astimezone(dt.timezone(dt.timedelta(hours=-12))).isoformat()
    red.update(time=west, started_at=west, verdict="fail", exit_code=1)
    authority = Authority(local_tsa.url, local_tsa.pki.ca)
    audit.append(log, red, key, lambda digest: request_stamp(authority, digest))
    assert _check(root, monkeypatch, key).exit_code == 0
    ca = ["--public-key", str(tmp_path / "k.pub"), "--tsa-cert", str(local_tsa.pki.ca)]
    assert _cli(["audit", "verify", str(log), *ca]).exit_code == 0  # the same moment as the authority's
    day = moment.date().isoformat()
    out = tmp_path / "csv"
    done = _cli(["audit", "report", str(log), *ca, "--since", day, "--until", day, "--format", "csv", "--output", str(out)])
    assert done.exit_code == 0, done.output
    rows = (out / "runs.csv").read_text().splitlines()[1:]
    assert [r.split(",")[:4] for r in rows][1] == ["2", moment.strftime("%Y-%m-%d %H:%M:%SZ"), "check", "fail"]
    assert len(rows) == 3


def test_a_run_whose_clock_the_authority_contradicts_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    # a waiver that expired a month ago, on a runner whose clock is set back 200 days: by that clock it
    # still applies, and the gate passed
    expired = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    waiver = (
        f'[[waivers]]\ncheck = "security"\nrule = "B602"\nreason = "kept until the rewrite lands"\n'
        f'approved_by = "sec@example.com"\nexpires = {expired}\n'
        f'[[waivers]]\ncheck = "security"\nrule = "B404"\nreason = "kept until the rewrite lands"\n'
        f'approved_by = "sec@example.com"\nexpires = {expired}\n'
    )
    root = _project(tmp_path, local_tsa, extra=waiver, code=RISKY)
    key = signing.generate()
    assert _check(root, monkeypatch, key).exit_code == 1  # today: the waivers have expired
    real = engine.run_checks

    def set_back(request: engine.RunRequest, *args: Any, **kwargs: Any) -> Any:
        clock = lambda: engine.utc_now() - dt.timedelta(days=200)  # noqa: E731
        return real(dataclasses.replace(request, clock=clock), *args, **kwargs)

    monkeypatch.setattr(engine, "run_checks", set_back)
    done = _check(root, monkeypatch, key)
    assert "verdict: PASS" in done.output  # what the set-back clock decided
    assert done.exit_code == 3, done.output
    assert "the runner's clock says" in done.output and "the runner's clock was wrong or set back" in done.output
    assert "which waivers had expired" in done.output and "the run fails closed" in done.output


def test_a_pass_resting_on_waivers_says_so_and_which_have_expired_since(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a run 60 days ago passed because two findings were waived; one waiver has expired since
    back = dt.date.today() - dt.timedelta(days=60)
    waivers = "".join(
        f'[[waivers]]\nid = "{ident}"\ncheck = "security"\nrule = "{rule}"\nreason = "kept until the rewrite lands"\n'
        f'approved_by = "sec@example.com"\nexpires = {expires.isoformat()}\n'
        for ident, rule, expires in (
            ("W-SHELL", "B602", back + dt.timedelta(days=30)),
            ("W-IMPORT", "B404", back + dt.timedelta(days=300)),
        )
    )
    root = write(tmp_path / "proj", {"app.py": RISKY})
    write(root, {"gatekeeper.toml": only("security", extra=waivers).replace("[audit]\nenabled = false\n", "")})
    write(root, {".gitignore": "gatekeeper-reports/\n.gatekeeper/\n"})
    git_init(root)
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    real = engine.run_checks

    def then(request: engine.RunRequest, *args: Any, **kwargs: Any) -> Any:
        clock = lambda: engine.utc_now() - dt.timedelta(days=60)  # noqa: E731
        return real(dataclasses.replace(request, clock=clock), *args, **kwargs)

    monkeypatch.setattr(engine, "run_checks", then)
    assert _check(root, monkeypatch, key, "--bundle", str(tmp_path / "run.zip")).exit_code == 0
    done = _cli(["bundle", "verify", str(tmp_path / "run.zip"), "--public-key", str(tmp_path / "k.pub")])
    assert done.exit_code == 0, done.output
    shell, imports = (back + dt.timedelta(days=d) for d in (30, 300))
    assert (
        f"verdict: pass with 2 finding(s) accepted by waiver(s) W-SHELL (until {shell}, expired since), "
        f"W-IMPORT (until {imports}), of a complete run" in done.output
    )
    envelope = root / "gatekeeper-reports" / "gatekeeper.intoto.json"
    done = _cli(["attestation", "verify", str(envelope), "--public-key", str(tmp_path / "k.pub")])
    assert done.exit_code == 0 and "(verdict pass with 2 waiver(s) applied, commit " in done.output


def test_a_merge_made_hours_after_its_parts_is_checked_by_its_own_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    # the shards ran two hours before the merge job got a runner: the merge's record and attestation
    # say when it made its verdict, which is what the authority's time agrees with
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    root = _project(tmp_path, local_tsa)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(key))
    monkeypatch.chdir(root)
    earlier = _iso(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2))
    for i in (1, 2):
        part = tmp_path / f"part-{i}.json"
        done = _cli(["check", str(root), "--shard", f"{i}/2", "--results-out", str(part), "--no-audit"])
        assert done.exit_code == 0, done.output
        data = json.dumps({**json.loads(part.read_text()), "started_at": earlier, "finished_at": earlier})
        part.write_text(data)  # as the shard would have written it two hours ago, signed by the run's key
        signature_path(part).write_text(part_signature(data.encode("utf-8"), key))
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(key))
    done = _cli(["merge", str(tmp_path / "part-1.json"), str(tmp_path / "part-2.json"), "--project", str(root)])
    assert done.exit_code == 0, done.output  # the merging runner's clock agrees with the authority
    ca = str(local_tsa.pki.ca)
    log = root / ".gatekeeper" / "audit.jsonl"
    done = _cli(["audit", "verify", str(log), "--public-key", str(tmp_path / "k.pub"), "--tsa-cert", ca])
    assert done.exit_code == 0 and "intact" in done.output, done.output
    envelope = root / "gatekeeper-reports" / "gatekeeper.intoto.json"
    done = _cli(["attestation", "verify", str(envelope), "--public-key", str(tmp_path / "k.pub"), "--tsa-cert", ca])
    assert done.exit_code == 0, done.output
    result = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert result["finished_at"] == earlier and result["merged"]["at"] > earlier  # the parts' end is kept
    record = json.loads(log.read_bytes().splitlines()[-1])
    assert record["time"] == result["merged"]["at"] and record["merged"]["at"] == result["merged"]["at"]


def test_a_merge_whose_clock_reads_before_its_parts_ended_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the parts ran now; the merging runner's clock reads 200 days back (as `faketime -f -200d`
    # gatekeeper merge showed): its record and attestation were dated before the runs they merge
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    root = write(tmp_path / "proj", {"app.py": "x = 1\n", ".gitignore": "gatekeeper-reports/\n.gatekeeper/\n"})
    write(root, {"gatekeeper.toml": only("security").replace("[audit]\nenabled = false\n", "")})
    git_init(root)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(key))
    monkeypatch.chdir(root)
    later = _iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=200))  # the parts' end, seen from the merge
    for i in (1, 2):
        part = tmp_path / f"part-{i}.json"
        done = _cli(["check", str(root), "--shard", f"{i}/2", "--results-out", str(part), "--no-audit"])
        assert done.exit_code == 0, done.output
        data = json.loads(part.read_text())
        data = json.dumps({**data, "finished_at": later if i == 2 else data["finished_at"]})
        part.write_text(data)
        signature_path(part).write_text(part_signature(data.encode("utf-8"), key))
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(key))
    done = _cli(["merge", str(tmp_path / "part-1.json"), str(tmp_path / "part-2.json"), "--project", str(root)])
    assert done.exit_code == 2, done.output
    assert f"part-2.json finished ({later}): the clock is wrong or set back" in done.output
    assert not (root / ".gatekeeper" / "audit.jsonl").exists()  # nothing recorded with the wrong date


def test_a_last_record_written_again_in_other_bytes_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    # the signature and the token cover what a record parses to; nothing after the last line covers
    # its bytes. Without any key: a "verdict": "pass" put before the failing run's own key reads as
    # pass to a reader that keeps the first of two keys (json keeps the last), and the head moves
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    root = _project(tmp_path, local_tsa)
    assert _check(root, monkeypatch, key).exit_code == 0
    (root / "app.py").write_text(RISKY)
    assert _check(root, monkeypatch, key).exit_code == 1
    log = root / ".gatekeeper" / "audit.jsonl"
    lines = log.read_bytes().splitlines()
    assert b'"verdict": "fail"' in lines[-1]
    base = ["audit", "verify", str(log), "--public-key", str(tmp_path / "k.pub"), "--tsa-cert", str(local_tsa.pki.ca)]
    assert _cli(base).exit_code == 0
    record = json.loads(lines[-1])
    for edited in (
        b'{"verdict": "pass", ' + lines[-1][1:],  # a key twice
        json.dumps(record, sort_keys=True, ensure_ascii=False, indent=None, separators=(",", ":")).encode(),  # compact
        json.dumps(dict(reversed(record.items())), ensure_ascii=False).encode(),  # the keys in another order
    ):
        assert json.loads(edited)["verdict"] == "fail" and edited != lines[-1]
        log.write_bytes(b"\n".join([*lines[:-1], edited]) + b"\n")
        done = _cli(base)
        assert done.exit_code == 1 and "intact" not in done.output, done.output
        assert "TAMPERED at line 2: not as gatekeeper writes a record (a key twice, other spacing or escapes)" in done.output


def test_an_access_token_in_the_authoritys_url_reaches_no_report_record_or_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    token = "Zx81kQm2Lp0vRt7yWb3nHs5dJf9gKc4e"  # an authority that takes its client's key in the query
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    root = write(tmp_path / "proj", {"app.py": "def add(a, b):\n    return a + b\n", ".gitignore": "out/\n.gatekeeper/\n"})
    authority = f'[audit]\ntimestamp_url = "{local_tsa.url}?access_token={token}"\ntimestamp_ca = "{local_tsa.pki.ca}"\n'
    policy = only("security").replace("[audit]\nenabled = false\n", authority).replace('["json"]', '["json", "html", "markdown"]')
    write(root, {"gatekeeper.toml": policy})
    git_init(root)
    asked = local_tsa.requests
    done = _check(root, monkeypatch, key, "--output-dir", "out", "--bundle", str(tmp_path / "run.zip"))
    assert done.exit_code == 0, done.output
    assert local_tsa.requests == asked + 2 and "access_token=[REDACTED]" in done.output and token not in done.output
    written = [*sorted((root / "out").iterdir()), root / ".gatekeeper" / "audit.jsonl"]
    with zipfile.ZipFile(tmp_path / "run.zip") as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    leaks = [p.name for p in written if token.encode() in p.read_bytes()] + [n for n, d in entries.items() if token.encode() in d]
    assert leaks == []
    assert '"url": "' + local_tsa.url + '?access_token=[REDACTED]"' in (root / ".gatekeeper" / "audit.jsonl").read_text()
    # the stamps still verify: what they cover never held the URL
    pub, ca = str(tmp_path / "k.pub"), str(local_tsa.pki.ca)
    log = str(root / ".gatekeeper" / "audit.jsonl")
    assert _cli(["audit", "verify", log, "--public-key", pub, "--tsa-cert", ca]).exit_code == 0
    assert _cli(["bundle", "verify", str(tmp_path / "run.zip"), "--public-key", pub, "--tsa-cert", ca]).exit_code == 0


def test_a_log_rewritten_with_a_stolen_key_keeps_no_token_and_is_refused(tmp_path: Path) -> None:
    # a key signs again, it cannot stamp again: whoever stole the key and rewrote the log from some
    # record on (a failing run made to pass) had to drop the tokens of every record from there
    pki = make_pki(tmp_path / "pki")
    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    tokens: list[bytes] = []

    def stamp(digest: str) -> dict[str, Any]:
        tokens.append(sign_token(pki, digest, tmp_path / f"sign{len(tokens)}"))
        return {"kind": "rfc3161", "url": "http://tsa.invalid/", "digest": "sha256:" + digest,
                "time": token_info(tokens[-1]).time, "token": base64.b64encode(tokens[-1]).decode("ascii")}  # fmt: skip

    log = tmp_path / "audit.jsonl"
    for verdict in ("pass", "fail", "pass"):
        audit.append(log, {"time": _iso(dt.datetime.now(dt.timezone.utc)), "verdict": verdict, "checks": {}}, key, stamp)
    records = [json.loads(line) for line in log.read_bytes().splitlines()]

    def rewrite(name: str, stamped: int) -> list[str]:
        """The log as the thief writes it again: the first ``stamped`` records as they were, the rest passing, unstamped."""
        forged = tmp_path / name
        for i, record in enumerate(records):
            body = {k: v for k, v in record.items() if k not in ("seq", "prev", "sig", "timestamp")}
            kept = None if i >= stamped else (lambda _, old=record["timestamp"]: old)
            audit.append(forged, {**body, "verdict": "pass" if i >= stamped else body["verdict"]}, key, kept)
        return ["audit", "verify", str(forged), "--public-key", str(tmp_path / "k.pub")]

    ca = str(pki.ca)
    honest = ["audit", "verify", str(log), "--public-key", str(tmp_path / "k.pub"), "--tsa-cert", ca]
    done = _cli(honest)
    assert done.exit_code == 0 and "intact, 3 record(s)" in done.output and "timestamps: 3 record(s) verified" in done.output
    for name, stamped, span, after in (
        ("tail.jsonl", 1, "records #2..#3", "record #1 is the last whose token verified"),
        ("whole.jsonl", 0, "records #1..#3", "no record's token verified"),
    ):
        args = rewrite(name, stamped)
        assert json.loads(Path(args[2]).read_bytes().splitlines()[1])["verdict"] == "pass"
        assert _cli(args).exit_code == 0  # the key alone vouches for it: it is the key's
        done = _cli([*args, "--tsa-cert", ca])
        assert done.exit_code == 1 and "intact" not in done.output, done.output
        assert f"{span}: no trusted timestamp fixes them, though a certificate was given to check one ({after}" in done.output
        assert "whoever holds the signing key could have rewritten them" in done.output
        page = tmp_path / f"{name}.html"
        done = _cli(["audit", "report", args[2], "--public-key", args[4], "--output", str(page), "--tsa-cert", ca])
        shown = page.read_text()
        assert done.exit_code == 1 and "Chain BROKEN" in shown and "no trusted timestamp fixes them" in shown
    # a record without a token (the authority was down) that a stamped record follows is fixed by that token
    gap = tmp_path / "gap.jsonl"
    for i, record in enumerate(records):
        body = {k: v for k, v in record.items() if k not in ("seq", "prev", "sig", "timestamp")}
        audit.append(gap, body, key, None if i == 1 else stamp)
    done = _cli(["audit", "verify", str(gap), "--public-key", str(tmp_path / "k.pub"), "--tsa-cert", ca])
    assert done.exit_code == 0 and "intact, 3 record(s)" in done.output, done.output
    assert "1 record(s) have no trusted time" in done.output


def test_a_retired_keys_hand_over_that_also_states_a_run_vouches_for_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    # a hand-over to a trusted key counts whenever it was signed; the old key's thief writes one that is also a
    # passing run of a commit whose only run failed, stamped today, after the key was retired
    old = signing.write_key_pair(tmp_path / "old.key", tmp_path / "old.pub")
    new = signing.write_key_pair(tmp_path / "new.key", tmp_path / "new.pub")
    root = _project(tmp_path, local_tsa, code=RISKY)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"], cwd=root, check=True)
    assert _check(root, monkeypatch, old).exit_code == 1
    log = root / ".gatekeeper" / "audit.jsonl"
    time.sleep(1.2)  # genTimes are whole seconds
    retired = f"{old.key_id}={_iso(dt.datetime.now(dt.timezone.utc))}"
    time.sleep(1.2)
    forged = json.loads(log.read_bytes().splitlines()[-1])
    for name in ("seq", "prev", "sig", "timestamp"):
        forged.pop(name)
    forged.update(time=_iso(dt.datetime.now(dt.timezone.utc)), verdict="pass", exit_code=0)
    forged["checks"]["security"]["status"] = "pass"
    rotation = {"from": old.key_id, "to": new.key_id, "alg": signing.ED25519, "public_key": new.public_pem().strip() + "\n"}
    authority = Authority(local_tsa.url, local_tsa.pki.ca)
    audit.append(log, forged, old, lambda digest: request_stamp(authority, digest), exact={"rotate": rotation})
    keys = ["--public-key", str(tmp_path / "old.pub"), "--public-key", str(tmp_path / "new.pub")]
    keys += ["--tsa-cert", str(local_tsa.pki.ca), "--retired", retired]
    done = _cli(["audit", "verify", str(log), *keys])
    assert done.exit_code == 1 and "intact" not in done.output, done.output
    assert f"record #2: signed by key {old.key_id}, retired since {retired.split('=')[1]}" in done.output
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=root, capture_output=True, text=True).stdout.strip()
    out = tmp_path / "csv"
    report = [
        "audit",
        "report",
        str(log),
        *keys,
        "--branch",
        branch,
        "--repo",
        str(root),
        "--format",
        "csv",
        "--output",
        str(out),
    ]
    done = _cli(report)
    assert done.exit_code == 1 and f"line 2: record #2: signed by key {old.key_id}, retired since" in done.output
    assert ",gated," not in (out / "gated.csv").read_text() and "not gated" in (out / "gated.csv").read_text()
    # a bare hand-over, as key rotate writes it, still counts whenever it was signed
    bare = tmp_path / "bare.jsonl"
    bare.write_bytes(log.read_bytes().splitlines(keepends=True)[0])
    audit.rotate_key(bare, old, new.public_pem(), stamp=lambda digest: request_stamp(authority, digest))
    done = _cli(["audit", "verify", str(bare), *keys])
    assert done.exit_code == 0 and "intact, 2 record(s)" in done.output, done.output


def test_a_key_retired_since_a_time_vouches_only_for_what_a_token_fixes_before_it(tmp_path: Path) -> None:
    # whoever holds a rotated-out (or stolen) key can fork the log before its rotation, or sign a new
    # statement, and have both stamped today: an authority stamps whatever it is sent
    pki = make_pki(tmp_path / "pki")
    old = signing.write_key_pair(tmp_path / "old.key", tmp_path / "old.pub")
    new = signing.write_key_pair(tmp_path / "new.key", tmp_path / "new.pub")
    signed: list[bytes] = []

    def stamp(digest: str) -> dict[str, Any]:
        signed.append(sign_token(pki, digest, tmp_path / f"sign{len(signed)}"))
        return {"kind": "rfc3161", "url": "http://tsa.invalid/", "digest": "sha256:" + digest,
                "time": token_info(signed[-1]).time, "token": base64.b64encode(signed[-1]).decode("ascii")}  # fmt: skip

    def attest(name: str) -> Path:
        from gatekeeper.attestation import envelope, serialize, statement
        from gatekeeper.attestation import stamped_digest as pae_digest

        now = _iso(dt.datetime.now(dt.timezone.utc))
        body = statement([{"name": "commit", "digest": {"gitCommit": "f" * 40}}], {"verdict": "pass", "finishedAt": now})
        env = envelope(serialize(body), old)
        env["timestamp"] = stamp(pae_digest(env))
        (tmp_path / name).write_text(json.dumps(env))
        return tmp_path / name

    log = tmp_path / "audit.jsonl"
    audit.append(log, {"time": _iso(dt.datetime.now(dt.timezone.utc)), "verdict": "pass", "checks": {}}, old, stamp)
    before = attest("before.intoto.json")
    time.sleep(1.2)  # genTimes are whole seconds
    retired = f"{old.key_id}={_iso(dt.datetime.now(dt.timezone.utc))}"
    time.sleep(1.2)
    fork = tmp_path / "fork.jsonl"
    fork.write_bytes(log.read_bytes())
    audit.rotate_key(log, old, new.public_pem())
    audit.append(log, {"time": _iso(dt.datetime.now(dt.timezone.utc)), "verdict": "fail", "checks": {}}, new, stamp)
    # the fork: the old key's holder appends a passing run after the rotation it leaves out, stamped today
    audit.append(fork, {"time": _iso(dt.datetime.now(dt.timezone.utc)), "verdict": "pass", "checks": {}}, old, stamp)
    after = attest("after.intoto.json")
    ca = ["--tsa-cert", str(pki.ca)]
    keys = ["--public-key", str(tmp_path / "old.pub"), "--public-key", str(tmp_path / "new.pub"), *ca]
    for verified in (["audit", "verify", str(fork), *keys], ["attestation", "verify", str(after), *keys]):
        assert _cli(verified).exit_code == 0  # a key trusted for its time, with no end to that time
    done = _cli(["audit", "verify", str(log), *keys, "--retired", retired])
    assert done.exit_code == 0 and "intact, 3 record(s)" in done.output, done.output  # the rotation hands over to a trusted key
    assert f"retired: key {old.key_id} since {retired.split('=')[1]}" in done.output
    done = _cli(["audit", "verify", str(fork), *keys, "--retired", retired])
    assert done.exit_code == 1 and "intact" not in done.output, done.output
    since = retired.split("=")[1]
    assert f"record #2: signed by key {old.key_id}, retired since {since}, and the authority's first time" in done.output
    assert "record #1" not in done.output  # stamped before the key was retired
    # the history page an auditor files breaks there too
    report = ["audit", "report", "--output", str(tmp_path / "fork.html"), *keys, "--retired", retired]
    done = _cli([*report[:2], str(fork), *report[2:]])
    assert done.exit_code == 1 and f"line 2: record #2: signed by key {old.key_id}, retired since" in done.output
    assert "Chain BROKEN" in (tmp_path / "fork.html").read_text()
    assert _cli([*report[:2], str(log), *report[2:]]).exit_code == 0
    assert _cli(["attestation", "verify", str(before), *keys, "--retired", retired]).exit_code == 0
    done = _cli(["attestation", "verify", str(after), *keys, "--retired", retired])
    assert done.exit_code == 1 and f"the statement is signed by key {old.key_id}, retired since" in done.output
    # a thief's hand-over to a key of the thief's own is no way around it
    thief = signing.generate()
    audit.rotate_key(fork, old, thief.public_pem())
    audit.append(fork, {"time": _iso(dt.datetime.now(dt.timezone.utc)), "verdict": "pass", "checks": {}}, thief, stamp)
    done = _cli(["audit", "verify", str(fork), *keys, "--retired", retired])
    assert done.exit_code == 1 and "record #3: signed by key" in done.output
    # only the authority's time can tell: the signer's clock is the thief's
    for command in (["audit", "verify", str(log)], ["attestation", "verify", str(before)]):
        done = _cli([*command, "--public-key", str(tmp_path / "old.pub"), "--retired", retired])
        assert done.exit_code == 2 and "--retired needs --tsa-cert" in done.output
    done = _cli(["audit", "verify", str(log), *keys, "--retired", f"{old.key_id[:20]}=2026-01-01"])
    assert done.exit_code == 2 and "give KEYID=TIME" in done.output
