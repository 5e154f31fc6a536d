"""A bundle that stands alone: its README's commands, run as written, verify it with and without gatekeeper."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatekeeper import signing
from gatekeeper.cli import app
from tests.helpers.projects import git_init, only, write
from tests.helpers.tsa import LocalTSA


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA) -> tuple[Path, signing.Signer]:
    """A signed, timestamped run of a small project with ``--bundle``: (the bundle, the signer)."""
    signer = signing.write_key_pair(tmp_path / "gatekeeper.key", tmp_path / "gatekeeper.pub")
    root = write(tmp_path / "proj", {"app.py": "def add(a, b):\n    return a + b\n"})
    authority = f'[audit]\ntimestamp_url = "{local_tsa.url}"\ntimestamp_ca = "{local_tsa.pki.ca}"\n'
    write(root, {"gatekeeper.toml": only("security").replace("[audit]\nenabled = false\n", authority)})
    git_init(root)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(signer))
    monkeypatch.chdir(root)
    target = tmp_path / "evidence.zip"
    done = CliRunner().invoke(app, ["check", str(root), "--format", "json,html", "--bundle", str(target)])
    assert done.exit_code == 0, done.output
    return target, signer


def _blocks(readme: str, section: str) -> list[str]:
    part = readme.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", part, flags=re.S)


def test_the_bundle_says_what_it_holds_and_which_key_signed_it(bundle: tuple[Path, signing.Signer], local_tsa: LocalTSA) -> None:
    target, signer = bundle
    with zipfile.ZipFile(target) as zf:
        readme = zf.read("README.md").decode()
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["key_id"] == signer.key_id and f"- Signing key id: `{signer.key_id}`" in readme
    assert manifest["readme"] == "README.md" and manifest["advisory_database"] is None  # no dependencies check ran
    assert "- Trusted timestamp: the attestation carries an RFC 3161 token" in readme
    assert f"RFC 3161 timestamps from {local_tsa.url}" in readme
    for name in ("reports/gatekeeper.json", "attestation/gatekeeper.intoto.json", "verify/verify_attestation.py"):
        assert f"- `{name}`: " in readme


def test_bundle_verify_checks_the_timestamps_against_the_authority(
    bundle: tuple[Path, signing.Signer], local_tsa: LocalTSA, tmp_path: Path
) -> None:
    target, _ = bundle
    done = CliRunner().invoke(app, ["bundle", "verify", str(target), "--tsa-cert", str(local_tsa.pki.ca)])
    assert done.exit_code == 0, done.output
    assert "timestamp: audit/record.jsonl: stamped " in done.output
    assert "timestamp: attestation/gatekeeper.intoto.json: stamped " in done.output
    from tests.helpers.tsa import make_pki

    # a certificate that cannot vouch for the authority is told apart from altered content
    stranger = make_pki(tmp_path / "other", name="Other")
    for certificate in (stranger.ca, local_tsa.pki.tsa_cert):  # another CA; the authority's own certificate
        done = CliRunner().invoke(app, ["bundle", "verify", str(target), "--tsa-cert", str(certificate)])
        assert done.exit_code == 1 and "NOT VERIFIED (its timestamps could not be checked), 2 problem(s)" in done.output
        assert "TAMPERED" not in done.output
        assert (
            f"audit/record.jsonl: record #1: timestamp: the authority's certificate does not chain to {certificate}"
            in done.output
        )
        assert "this alone does not show the content altered" in done.output
    # an entry added to the bundle is tampering, whatever words its name quotes
    from gatekeeper.timestamp import NOT_ALTERED

    with zipfile.ZipFile(target, "a") as zf:
        zf.writestr(f"notes; {NOT_ALTERED}.txt", "hello")
    for extra in ([], ["--tsa-cert", str(stranger.ca)]):
        done = CliRunner().invoke(app, ["bundle", "verify", str(target), *extra])
        assert done.exit_code == 1 and "TAMPERED" in done.output and "NOT VERIFIED" not in done.output
        assert f"added: notes; {NOT_ALTERED}.txt (not in the manifest)" in done.output


def test_the_readmes_commands_verify_the_bundle_without_gatekeeper(
    bundle: tuple[Path, signing.Signer], local_tsa: LocalTSA, tmp_path: Path
) -> None:
    target, _ = bundle
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(target) as zf:
        zf.extractall(folder)
    shutil.copy(tmp_path / "gatekeeper.pub", folder / "gatekeeper.pub")
    shutil.copy(local_tsa.pki.ca, folder / "tsa-ca.pem")
    readme = (folder / "README.md").read_text()
    files, stamp = _blocks(readme, "Verify without gatekeeper")

    def sh(script: str) -> subprocess.CompletedProcess[str]:
        # gatekeeper's own folder is not importable from here (the script must not need it)
        env = {"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"}
        python = shutil.which("python3", path=str(Path(sys.executable).parent))
        return subprocess.run(
            ["bash", "-e", "-c", script.replace("python3 ", f"{python} -I ")], cwd=folder, env=env, capture_output=True, text=True
        )

    done = sh(files)
    assert done.returncode == 0, done.stderr
    assert "every file matches manifest.json" in done.stdout and done.stdout.count("verified: verdict pass") == 1
    done = sh(stamp)
    assert done.returncode == 0, done.stderr
    assert "Verification: OK" in done.stdout and "Time stamp:" in done.stdout
    # an edited report: the manifest check names it, and the attestation no longer names it as a subject
    report = folder / "reports" / "gatekeeper.json"
    report.write_text(report.read_text().replace('"verdict": "pass"', '"verdict": "fail"'))
    done = sh(files)
    assert "changed: reports/gatekeeper.json" in done.stdout and done.returncode == 1
    assert "REJECTED: reports/gatekeeper.json is not a subject" in done.stderr


@pytest.mark.slow
def test_a_partial_run_says_so_wherever_its_evidence_is_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a run with --skip is signed like any other: a verifier that showed only "verdict pass" would let
    # a check the policy enables be dropped from the gate without anyone noticing
    signer = signing.write_key_pair(tmp_path / "gatekeeper.key", tmp_path / "gatekeeper.pub")
    root = write(tmp_path / "proj", {"app.py": "def add(a, b):\n    return a + b\n"})
    policy = only("security", "lint", extra="[checks.lint]\nenabled = true\n")
    write(root, {"gatekeeper.toml": policy.replace("[audit]\nenabled = false\n", "")})
    git_init(root)
    monkeypatch.chdir(root)
    runner = CliRunner()
    for skip, target in (([], tmp_path / "complete.zip"), (["--skip", "lint"], tmp_path / "partial.zip")):
        monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(signer))  # a run takes it from the environment
        done = runner.invoke(app, ["check", str(root), "--bundle", str(target), *skip])
        assert done.exit_code == 0, done.output
    monkeypatch.delenv("GATEKEEPER_AUDIT_KEY", raising=False)
    key = str(tmp_path / "gatekeeper.pub")
    done = runner.invoke(app, ["bundle", "verify", str(tmp_path / "complete.zip"), "--public-key", key])
    assert done.exit_code == 0 and "verdict: pass, of a complete run (every check the policy enables ran)" in done.output
    done = runner.invoke(app, ["bundle", "verify", str(tmp_path / "partial.zip"), "--public-key", key])
    assert done.exit_code == 0, done.output
    assert "verdict: pass (partial: skip lint): a partial run gates no commit" in done.output
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(tmp_path / "partial.zip") as zf:
        zf.extractall(folder)
        assert "- Verdict: **pass** (partial: skip lint: a partial run gates no commit)" in zf.read("README.md").decode()
    envelope = str(folder / "attestation" / "gatekeeper.intoto.json")
    done = runner.invoke(app, ["attestation", "verify", envelope, "--public-key", key])
    assert done.exit_code == 0 and "(verdict pass (partial: skip lint; it gates no commit), commit " in done.output
    script = folder / "verify" / "verify_attestation.py"
    done = subprocess.run([sys.executable, "-I", str(script), envelope, key], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("verified: verdict pass (partial run: lint did not run; it gates no commit), commit ")


def test_bundle_verify_takes_a_log_signed_only_from_some_run_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a project starts signing after some runs (the README's "Starting to sign an existing log"): the
    # auditor with the log must be able to accept those first records, as audit verify lets them
    signer = signing.write_key_pair(tmp_path / "gatekeeper.key", tmp_path / "gatekeeper.pub")
    root = write(tmp_path / "proj", {"app.py": "def add(a, b):\n    return a + b\n"})
    write(root, {"gatekeeper.toml": only("security").replace("[audit]\nenabled = false\n", "")})
    git_init(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("GATEKEEPER_AUDIT_KEY", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["check", str(root)]).exit_code == 0  # record #1, unsigned
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(signer))
    target = tmp_path / "evidence.zip"
    done = runner.invoke(app, ["check", str(root), "--bundle", str(target)])  # record #2, signed
    assert done.exit_code == 0, done.output
    verify = [
        "bundle",
        "verify",
        str(target),
        "--public-key",
        str(tmp_path / "gatekeeper.pub"),
        "--log",
        ".gatekeeper/audit.jsonl",
    ]
    done = runner.invoke(app, verify)
    assert done.exit_code == 1 and "record #2 is not among the 1 verified record(s)" in done.output
    assert "NOT AUTHENTICATED at line 2" in done.output and "pass --accept-unsigned-prefix 1" in done.output
    done = runner.invoke(app, [*verify, "--accept-unsigned-prefix", "1"])
    assert done.exit_code == 0, done.output
    assert "record: line 2 of .gatekeeper/audit.jsonl is this record (intact)" in done.output
    assert "note: records #1..#1 of .gatekeeper/audit.jsonl were accepted without authentication" in done.output
    done = runner.invoke(app, ["bundle", "verify", str(target), "--accept-unsigned-prefix", "1"])
    assert done.exit_code == 2 and "it applies to the log given with --log" in done.output
