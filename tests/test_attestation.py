"""Attestations: the in-toto statement of a real run in a DSSE envelope, verified with gatekeeper and without it."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatekeeper import signing
from gatekeeper.attestation import PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE, pae
from gatekeeper.cli import app
from tests.helpers.projects import git_init, only, write
from tests.helpers.tsa import LocalTSA

REPORTS = "gatekeeper-reports"
VERIFY_SCRIPT = Path(__file__).resolve().parents[1] / "gatekeeper" / "verify_attestation.py"


def test_pae_is_the_dsse_specs_encoding() -> None:
    # the test vector of the DSSE protocol (secure-systems-lab/dsse, protocol.md)
    assert pae("http://example.com/HelloWorld", b"hello world") == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    assert pae(PAYLOAD_TYPE, "é".encode()) == b"DSSEv1 28 application/vnd.in-toto+json 2 \xc3\xa9"  # lengths in bytes


def _project(tmp_path: Path, extra: str = "") -> Path:
    root = write(tmp_path / "proj", {"app.py": "def add(a, b):\n    return a + b\n", "dist/app-1.0-py3-none-any.whl": "wheel"})
    write(root, {"gatekeeper.toml": only("security", extra=extra)})
    git_init(root)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    subprocess.run(["git", "commit", "-qm", "release"], cwd=root, env=env, check=True, capture_output=True)
    return root


def _check(root: Path, monkeypatch: pytest.MonkeyPatch, key: str | None, *args: str) -> str:
    if key is None:
        monkeypatch.delenv("GATEKEEPER_AUDIT_KEY", raising=False)
    else:
        monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", key)
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["check", str(root), "--format", "json,sarif", *args])
    assert done.exit_code == 0, done.output
    return done.output


@pytest.fixture
def keys(tmp_path: Path) -> tuple[signing.Signer, Path]:
    signer = signing.write_key_pair(tmp_path / "gatekeeper.key", tmp_path / "gatekeeper.pub")
    return signer, tmp_path / "gatekeeper.pub"


def test_a_run_attests_its_commit_reports_and_release_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: tuple[signing.Signer, Path]
) -> None:
    signer, public = keys
    root = _project(tmp_path)
    output = _check(root, monkeypatch, signing.private_pem(signer), "--subject", "dist/*.whl")
    assert f"key id {signer.key_id}" in output and "time: the runner's own clock" in output
    envelope = json.loads((root / REPORTS / "gatekeeper.intoto.json").read_text())
    assert envelope["payloadType"] == PAYLOAD_TYPE and envelope["signatures"][0]["keyid"] == signer.key_id
    payload = base64.b64decode(envelope["payload"])
    statement = json.loads(payload)
    assert statement["_type"] == STATEMENT_TYPE and statement["predicateType"] == PREDICATE_TYPE
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    subjects = {s["name"]: s["digest"] for s in statement["subject"]}
    assert subjects["commit"] == {"gitCommit": head}
    for name in (f"{REPORTS}/gatekeeper.json", f"{REPORTS}/gatekeeper.sarif", "dist/app-1.0-py3-none-any.whl"):
        assert subjects[name] == {"sha256": hashlib.sha256((root / name).read_bytes()).hexdigest()}, name
    predicate = statement["predicate"]
    assert predicate["verdict"] == "pass" and [c["name"] for c in predicate["checks"]] == ["security"]
    assert predicate["checks"][0]["status"] == "pass" and predicate["tools"]["bandit"]
    assert predicate["policy"]["sha256"] == hashlib.sha256((root / "gatekeeper.toml").read_bytes()).hexdigest()
    assert predicate["clock"]["source"] == "runner" and predicate["clock"]["authority"] == ""
    # the signature is Ed25519 over DSSE's PAE, checkable with the public key alone
    key = signing.Keyring()
    key.add_files([public])
    assert key.verify(signer.key_id, pae(PAYLOAD_TYPE, payload), base64.b64decode(envelope["signatures"][0]["sig"]))
    # GitHub's keyless step gets the same predicate and the file subjects
    assert json.loads((root / REPORTS / "gatekeeper.predicate.json").read_text()) == predicate
    sums = (root / REPORTS / "gatekeeper.subjects.sha256").read_text().splitlines()
    assert f"{subjects['dist/app-1.0-py3-none-any.whl']['sha256']}  dist/app-1.0-py3-none-any.whl" in sums


def test_gatekeeper_verifies_with_the_public_key_and_rejects_what_does_not_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: tuple[signing.Signer, Path]
) -> None:
    signer, public = keys
    root = _project(tmp_path)
    _check(root, monkeypatch, signing.private_pem(signer), "--subject", str(root / "dist" / "*.whl"))
    attestation = str(root / REPORTS / "gatekeeper.intoto.json")
    wheel = str(root / "dist" / "app-1.0-py3-none-any.whl")
    done = CliRunner().invoke(app, ["attestation", "verify", attestation, "--public-key", str(public), "--subject", wheel])
    assert done.exit_code == 0, done.output
    assert f"verified, signed by key {signer.key_id} (verdict pass" in done.output and "1 file(s) given" in done.output
    # no approved policy named: the run's own policy, which its checkout could have weakened, and how to hold it
    predicate = json.loads(base64.b64decode(json.loads(Path(attestation).read_text())["payload"]))["predicate"]
    effective = predicate["policy"]["effective_sha256"]
    assert (
        f"policy: not held to one you approved: the statement says the run was judged under {predicate['policy']['path']} "
        f"(effective sha256 {effective}); pass --policy FILE or --policy-sha256 HEX"
    ) in done.output
    done = CliRunner().invoke(
        app, ["attestation", "verify", attestation, "--public-key", str(public), "--policy-sha256", effective]
    )
    assert done.exit_code == 0 and "not held to one you approved" not in done.output, done.output
    # without a key it is never "verified"
    done = CliRunner().invoke(app, ["attestation", "verify", attestation])
    assert done.exit_code == 1 and "NOT authenticated" in done.output
    # another key
    other = signing.write_key_pair(tmp_path / "other.key", tmp_path / "other.pub")
    done = CliRunner().invoke(app, ["attestation", "verify", attestation, "--public-key", str(tmp_path / "other.pub")])
    assert done.exit_code == 1 and "no signature verifies" in done.output and other.key_id not in done.output
    # a file that is not a subject
    (root / "dist" / "app-1.0-py3-none-any.whl").write_text("another wheel")
    done = CliRunner().invoke(app, ["attestation", "verify", attestation, "--public-key", str(public), "--subject", wheel])
    assert done.exit_code == 1 and "not a subject" in done.output
    # a statement edited (fail turned into pass is the same edit as this one), the signature kept
    envelope = json.loads(Path(attestation).read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["verdict"] = "fail"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    Path(attestation).write_text(json.dumps(envelope))
    done = CliRunner().invoke(app, ["attestation", "verify", attestation, "--public-key", str(public)])
    assert done.exit_code == 1 and "REJECTED" in done.output


@pytest.mark.parametrize("scheme", ["ed25519", "hmac"])
def test_key_env_holds_the_signing_key_as_every_command_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: tuple[signing.Signer, Path], scheme: str
) -> None:
    """``--key-env NAME`` names a variable holding the run's key as ``GATEKEEPER_AUDIT_KEY`` holds it: a PEM
    Ed25519 private key (its public key is trusted, as for audit verify and bundle verify) or an HMAC
    secret. An Ed25519 key was taken for an HMAC secret: the genuine statement was "altered, or another key"."""
    signer, public = keys
    key = signing.private_pem(signer) if scheme == "ed25519" else "a shared secret of the earlier scheme"
    root = _project(tmp_path)
    _check(root, monkeypatch, key)
    attestation = str(root / REPORTS / "gatekeeper.intoto.json")
    monkeypatch.setenv("VERIFY_KEY", key)
    done = CliRunner().invoke(app, ["attestation", "verify", attestation, "--key-env", "VERIFY_KEY"])
    assert done.exit_code == 0, done.output
    assert "verified, signed by key" in done.output
    monkeypatch.setenv("VERIFY_KEY", public.read_text())  # a public key is no secret to verify with
    done = CliRunner().invoke(app, ["attestation", "verify", attestation, "--key-env", "VERIFY_KEY"])
    assert done.exit_code == 2 and "--key-env VERIFY_KEY" in done.output


def test_an_unsigned_run_writes_an_attestation_that_never_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    output = _check(root, monkeypatch, None)
    assert "NOT signed: no signing key set" in output
    envelope = json.loads((root / REPORTS / "gatekeeper.intoto.json").read_text())
    assert envelope["signatures"] == []


def test_a_subject_glob_that_matches_nothing_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["check", str(root), "--subject", "dist/*.tar.gz"])
    assert done.exit_code == 2 and "--subject 'dist/*.tar.gz' matches no file" in done.output
    assert not (root / REPORTS).exists()  # refused before anything ran


def test_the_script_without_gatekeeper_verifies_with_cryptography_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: tuple[signing.Signer, Path]
) -> None:
    signer, public = keys
    root = _project(tmp_path)
    _check(root, monkeypatch, signing.private_pem(signer))
    script = tmp_path / "elsewhere" / "verify_attestation.py"
    script.parent.mkdir()
    script.write_bytes(VERIFY_SCRIPT.read_bytes())
    # any import of gatekeeper fails in the child: the script stands on the standard library and cryptography
    blocker = (
        "import sys, runpy\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'gatekeeper': raise ImportError('gatekeeper is not installed here')\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.argv = sys.argv[1:]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )

    def run(*args: Path) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-I", "-c", blocker, str(script), *map(str, args)]
        return subprocess.run(argv, cwd=script.parent, capture_output=True, text=True, timeout=60)

    report = root / REPORTS / "gatekeeper.json"
    done = run(root / REPORTS / "gatekeeper.intoto.json", public, report)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("verified: verdict pass, commit ") and "1 file(s) matched" in done.stdout
    signing.write_key_pair(tmp_path / "other.key", tmp_path / "other.pub")
    done = run(root / REPORTS / "gatekeeper.intoto.json", tmp_path / "other.pub")
    assert done.returncode == 1 and "REJECTED: no signature verifies" in done.stderr
    done = run(root / REPORTS / "gatekeeper.intoto.json", public, root / "app.py")
    assert done.returncode == 1 and "app.py is not a subject" in done.stderr
    # bad input is a message and exit 2, never a traceback: a file that is no envelope, a key of another kind
    ec = tmp_path / "ec.pub"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.key"], cwd=tmp_path, check=True)
    subprocess.run(["openssl", "ec", "-in", "ec.key", "-pubout", "-out", str(ec)], cwd=tmp_path, check=True, capture_output=True)
    for args, said in (
        ((report, public), "is not a DSSE envelope (payload and payloadType are required)"),
        ((root / REPORTS / "gatekeeper.intoto.json", ec), "ec.pub is not an Ed25519 public key"),
        ((root / REPORTS / "gatekeeper.intoto.json", tmp_path / "ec.key"), "verify_attestation.py: "),
        ((tmp_path / "missing.json", public), "No such file or directory"),
    ):
        done = run(*args)
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_with_an_authority_the_attestation_carries_a_timestamp_checked_against_its_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: tuple[signing.Signer, Path], local_tsa: LocalTSA
) -> None:
    signer, public = keys
    extra = f'[audit]\ntimestamp_url = "{local_tsa.url}"\ntimestamp_ca = "{local_tsa.pki.ca}"\n'
    root = _project(tmp_path, extra="")
    toml = (root / "gatekeeper.toml").read_text().replace("[audit]\nenabled = false\n", extra)
    (root / "gatekeeper.toml").write_text(toml)
    output = _check(root, monkeypatch, signing.private_pem(signer))
    assert f"RFC 3161 timestamps from {local_tsa.url}" in output
    attestation = str(root / REPORTS / "gatekeeper.intoto.json")
    envelope = json.loads(Path(attestation).read_text())
    assert envelope["timestamp"]["kind"] == "rfc3161" and envelope["timestamp"]["url"] == local_tsa.url
    args = ["attestation", "verify", attestation, "--public-key", str(public)]
    done = CliRunner().invoke(app, [*args, "--tsa-cert", str(local_tsa.pki.ca)])
    assert done.exit_code == 0, done.output
    assert f"timestamp: {envelope['timestamp']['time']}, verified against {local_tsa.pki.ca}" in done.output
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0 and "RFC 3161 timestamp, not checked: pass --tsa-cert" in done.output


def test_a_subject_rewritten_while_the_checks_ran_is_attested_as_it_was_and_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: tuple[signing.Signer, Path]
) -> None:
    # the project's tests (run under coverage, with the job's rights) swap the release wheel mid-run
    swap = 'import pathlib\n\n\ndef test_swap():\n    pathlib.Path("dist/app-1.0-py3-none-any.whl").write_bytes(b"swapped")\n'
    root = _project(tmp_path)
    policy = only(
        "security", "coverage", extra='[checks.coverage]\nrun = ["pytest", "-q", "-p", "no:cacheprovider"]\nmin_total = 0\n'
    )
    write(root, {"gatekeeper.toml": policy})
    write(root, {"test_swap.py": swap, ".gitignore": "dist/\n.coverage*\ngatekeeper-reports/\n.gatekeeper/\n"})
    for args in (["rm", "-q", "--cached", "dist/app-1.0-py3-none-any.whl"], ["add", "-A"]):  # a build output, ignored
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    wheel = root / "dist" / "app-1.0-py3-none-any.whl"
    before = hashlib.sha256(wheel.read_bytes()).hexdigest()
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(keys[0]))
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["check", str(root), "--format", "json", "--subject", "dist/*.whl"])
    assert wheel.read_bytes() == b"swapped" and "verdict: PASS" in done.output, done.output
    assert done.exit_code == 3, done.output
    assert f"--subject files changed while the checks ran: {wheel} (sha256 {before[:16]}... before the checks" in done.output
    attestation = str(root / REPORTS / "gatekeeper.intoto.json")
    statement = json.loads(base64.b64decode(json.loads(Path(attestation).read_text())["payload"]))
    assert {"name": "dist/app-1.0-py3-none-any.whl", "digest": {"sha256": before}} in statement["subject"]
    verify = ["attestation", "verify", attestation, "--public-key", str(keys[1]), "--subject", str(wheel)]
    done = CliRunner().invoke(app, verify)
    assert done.exit_code == 1 and "not a subject of this attestation" in done.output


def test_require_pass_judges_an_attestations_waivers_and_database_at_the_runs_latest_possible_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """attestation verify --require-pass --tsa-cert applies bundle verify's time rule to the statement's
    own token: its waiver terms and the database's as-of time and limit, judged as of the token's time
    less the run's durationS. A statement made before those were written says, in notes, which of
    these checks could not apply."""
    from gatekeeper.commands.attestation import _time_demands

    predicate = {
        "verdict": "pass", "durationS": 300.0, "waivers": {"applied": 1},
        "waiverTerms": [{"id": "W-SHELL", "expires": "2026-06-30"}],
        "advisoryDatabase": {"kind": "osv-db", "as_of": "2026-06-23T23:00:00Z", "max_age_days": 7},
    }  # fmt: skip
    assert _time_demands(predicate, "2026-07-01T00:03:00Z") == []  # started 23:58 on the last day, 7.0 days
    late = _time_demands(predicate, "2026-07-01T01:30:00Z")
    assert late == [
        "--require-pass: waiver(s) W-SHELL (until 2026-06-30) let findings through, but by trusted time their term had "
        "ended when the run started: the attestation was stamped by the authority, which puts the run's start no later "
        "than 2026-07-01T01:25:00Z (the authority's time 2026-07-01T01:30:00Z less the run's 300 s) (the runner's clock "
        "judged them): this attestation does not let the commit through the gate",
        "--require-pass: the advisory database (newest record 2026-06-23T23:00:00Z) was 7.1 days old when the run "
        "started by trusted time (the attestation was stamped by the authority, which puts the run's start no later than "
        "2026-07-01T01:25:00Z (the authority's time 2026-07-01T01:30:00Z less the run's 300 s)), over "
        "checks.dependencies.max_db_age_days = 7: the runner's clock judged it fresh: this attestation does not let the "
        "commit through the gate",
    ]
    capsys.readouterr()
    older = {
        "verdict": "pass",
        "waivers": {"applied": 1},
        "advisoryDatabase": {"kind": "osv-db", "as_of": "2026-01-01T00:00:00Z"},
    }
    assert _time_demands(older, "2026-07-01T01:30:00Z") == []
    notes = capsys.readouterr().out
    assert "note: the statement does not list its waivers' expiries (made before gatekeeper wrote them)" in notes
    assert "note: the statement does not state its advisory database's age limit" in notes


def test_the_attestations_files_are_synced_together_before_any_is_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The envelope, the predicate and the checksums are synced together (the file system commits
    them at once; each file was written, synced and renamed in turn, three commits in a row), and all
    three are on disk before the first is renamed into place."""

    from gatekeeper.attestation import ENVELOPE_FILE, PREDICATE_FILE, SUBJECTS_FILE, AttestRequest, write_attestation
    from gatekeeper.findings import CheckResult, GateResult, Status, Verdict
    from tests.helpers.reports import record_syncs

    events = record_syncs(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    check = CheckResult(name="demo", status=Status.PASS, summary="clean")
    result = GateResult(
        verdict=Verdict.PASS, checks=(check,), tool_version="0", started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z", duration_s=1.0, repository={}, policy={}, waivers={}, extra={},
    )  # fmt: skip
    written = write_attestation(AttestRequest(result, tmp_path, out, {}))
    assert events == ["fsync"] * 3 + ["replace"] * 3
    names = sorted([ENVELOPE_FILE, PREDICATE_FILE, SUBJECTS_FILE])
    assert sorted(Path(p).name for p in written) == names == sorted(p.name for p in out.iterdir())
