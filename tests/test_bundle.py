"""Evidence bundles from a real run of the whole gate on the sample project, and their verification."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from gatekeeper import signing, tomlio
from gatekeeper.audit import canonical, line_digest
from gatekeeper.bundle import manifest_bytes
from gatekeeper.reports.json import schema
from tests.helpers.cli import REPO, run_gatekeeper
from tests.helpers.env import clean_env

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = pytest.mark.usefixtures("own_coverage_settings")

SAMPLE = REPO / "fixtures" / "sample-project"
CONTROLS = """
[gate]
controls = ["nist-ssdf-1.1"]

[[controls]]
id = "ORG-12"
title = "Releases ship with an SBOM and an approved license set"
checks = ["sbom", "licenses"]
framework = "Acme secure release policy"
"""


def _env(**extra: str) -> dict[str, str]:
    return clean_env(extra, coverage=False)


def _gk(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_gatekeeper(args, cwd, _env(**env), timeout=600)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, signing.Signer]:
    """A real Ed25519 key pair: (private key text, public key file, signer)."""
    folder = tmp_path_factory.mktemp("keys")
    signer = signing.write_key_pair(folder / "audit.key", folder / "audit.pub")
    return (folder / "audit.key").read_text(encoding="ascii"), folder / "audit.pub", signer


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory, keys: tuple[str, Path, signing.Signer]
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """The sample project checked once with controls and ``--bundle``, the audit key set: (project, bundle, run)."""
    root = tmp_path_factory.mktemp("bundle") / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("gatekeeper-reports", ".gatekeeper", ".coverage*"))
    with open(root / "gatekeeper.toml", "a", encoding="utf-8") as fh:
        fh.write(CONTROLS)
    ident = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release"]):
        subprocess.run(["git", *args], cwd=root, env=_env(**ident), check=True, capture_output=True)
    bundle = root.parent / "evidence.zip"
    done = _gk(["check", "--bundle", str(bundle)], root, GATEKEEPER_AUDIT_KEY=keys[0])
    return root, bundle, done


def _rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """A copy of the bundle with its entries changed by ``change`` (the manifest left as it was)."""
    with zipfile.ZipFile(src) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    change(entries)
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return dst


def test_check_writes_a_bundle_with_every_piece_of_evidence(
    run: tuple[Path, Path, subprocess.CompletedProcess[str]], keys: tuple[str, Path, signing.Signer]
) -> None:
    root, bundle, done = run
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"bundle: {bundle}" in done.stdout and "manifest signed by sha256:" in done.stdout
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        files = {n: zf.read(n) for n in names}
    assert names == {
        "manifest.json",
        "reports/gatekeeper.json",
        "reports/gatekeeper.sarif",
        "reports/gatekeeper.html",
        "reports/gatekeeper.md",
        "reports/gatekeeper.junit.xml",
        "reports/gatekeeper.codequality.json",
        "reports/gatekeeper.gl-sast.json",
        "reports/gatekeeper.gl-dependency-scanning.json",
        "reports/gatekeeper.vex.cdx.json",  # no OpenVEX document: the run found no advisory to state
        "artifacts/sbom/sbom.cdx.json",
        "policy/effective-policy.toml",
        "policy/files/01-policy-gatekeeper.toml",  # the files the policy was built from, as the run read them
        "policy/files/02-extends-default.toml",
        "licenses/licenses.csv",
        "audit/record.jsonl",
        "attestation/gatekeeper.intoto.json",
        "verify/verify_attestation.py",
        "README.md",
    }
    assert files["policy/files/01-policy-gatekeeper.toml"] == (root / "gatekeeper.toml").read_bytes()
    reports = root / "gatekeeper-reports"
    # the reports and the SBOM are byte for byte what the run wrote
    for name in ("gatekeeper.json", "gatekeeper.sarif", "gatekeeper.html", "gatekeeper.md", "gatekeeper.junit.xml"):
        assert files[f"reports/{name}"] == (reports / name).read_bytes(), name
    assert files["artifacts/sbom/sbom.cdx.json"] == (reports / "sbom.cdx.json").read_bytes()
    assert json.loads(files["artifacts/sbom/sbom.cdx.json"])["bomFormat"] == "CycloneDX"
    # the audit record is the log's own line, the one the run appended
    log_lines = (root / ".gatekeeper" / "audit.jsonl").read_bytes().splitlines()
    assert files["audit/record.jsonl"].rstrip(b"\n") == log_lines[-1]
    assert line_digest(files["audit/record.jsonl"]) in done.stdout
    # the effective policy names the controls; the license table lists the closure
    policy = files["policy/effective-policy.toml"].decode()
    effective = tomlio.loads(policy)
    assert effective["gate"]["controls"] == ["nist-ssdf-1.1"] and [c["id"] for c in effective["controls"]] == ["ORG-12"]
    table = list(csv.DictReader(io.StringIO(files["licenses/licenses.csv"].decode())))
    assert {r["name"].lower() for r in table} == {"jinja2", "markupsafe"} and {r["verdict"] for r in table} == {"allowed"}
    manifest = json.loads(files["manifest.json"])
    assert manifest["gatekeeper"] and manifest["sig"]["alg"] == "ed25519" and manifest["sig"]["keyid"] == keys[2].key_id
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    assert manifest["commit"] == commit and len(commit) == 40  # a commit id is kept, not redacted as a token
    assert {f["path"] for f in manifest["files"]} == names - {"manifest.json"}
    # it stands alone: the attestation the run wrote, the key that signed it, the advisory database's digest
    assert files["attestation/gatekeeper.intoto.json"] == (reports / "gatekeeper.intoto.json").read_bytes()
    assert manifest["key_id"] == keys[2].key_id and manifest["attestation"] == "attestation/gatekeeper.intoto.json"
    pipeline = "find . -type f | cut -c3- | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -f1 -d' '"
    by_hand = subprocess.run(["bash", "-c", pipeline], cwd=root / "advisory-db", capture_output=True, text=True, check=True)
    assert manifest["advisory_database"]["digest"] == {"dirHash1": by_hand.stdout.strip()}
    readme = files["README.md"].decode()
    assert f"dirHash1:{by_hand.stdout.strip()}" in readme and f"`{manifest['key_id']}`" in readme and commit in readme
    # no digest is ever redacted: the policy file's and every other
    assert f"sha256 of that file: {manifest['policy_sha256']}" in policy and "[REDACTED]" not in policy


def test_the_run_reports_its_controls(run: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    root = run[0]
    result = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    jsonschema.validate(result, schema())
    statuses = {(c["framework"], c["id"]): c["status"] for c in result["controls"]}
    ssdf = "NIST SSDF 1.1 (SP 800-218)"
    assert statuses == {
        (ssdf, "PW.4"): "pass",
        (ssdf, "PW.7"): "pass",
        (ssdf, "PW.8"): "pass",
        (ssdf, "PS.3"): "pass",
        (ssdf, "RV.1"): "pass",
        ("Acme secure release policy", "ORG-12"): "pass",
    }
    markdown = (root / "gatekeeper-reports" / "gatekeeper.md").read_text()
    assert "### Controls" in markdown and "| NIST SSDF 1.1 (SP 800-218) | PW.7 |" in markdown
    html = (root / "gatekeeper-reports" / "gatekeeper.html").read_text()
    assert html.index('id="control-matrix"') < html.index('id="run"')  # right under the verdict


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_only_some_checks_leave_the_other_controls_not_evidenced(
    run: tuple[Path, Path, subprocess.CompletedProcess[str]],
) -> None:
    root = run[0]
    done = _gk(["check", "--only", "security", "--no-audit", "--output-dir", "only-security"], root)
    assert done.returncode == 0, done.stderr
    result = json.loads((root / "only-security" / "gatekeeper.json").read_text())
    statuses = {c["id"]: c["status"] for c in result["controls"]}
    assert statuses["PW.7"] == "pass"
    assert {statuses[i] for i in ("PW.4", "PW.8", "PS.3", "RV.1", "ORG-12")} == {"not evidenced"}


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_verify_authenticates_the_bundle_and_its_record_with_the_public_key_alone(
    run: tuple[Path, Path, subprocess.CompletedProcess[str]], keys: tuple[str, Path, signing.Signer], tmp_path: Path
) -> None:
    root, bundle, _ = run
    public = str(keys[1])
    done = _gk(["bundle", "verify", str(bundle), "--public-key", public, "--log", ".gatekeeper/audit.jsonl"], root)
    assert done.returncode == 0, done.stderr
    assert "intact, 18 file(s) match the manifest" in done.stdout
    assert f"signature: the manifest is signed by {keys[2].key_id}" in done.stdout
    assert f"result: backed by audit record #1, signed by {keys[2].key_id}, which lists this gatekeeper.json" in done.stdout
    assert "record: line 1 of .gatekeeper/audit.jsonl is this record (intact)" in done.stdout
    unkeyed = _gk(["bundle", "verify", str(bundle)], root)
    assert unkeyed.returncode == 0 and "consistent, not authenticated, 18 file(s)" in unkeyed.stdout
    assert "intact" not in unkeyed.stdout and "its signature was not checked (no key)" in unkeyed.stdout
    # a verifier trusting another key rejects it
    other = tmp_path / "other.pub"
    signing.write_key_pair(tmp_path / "other.key", other)
    wrong = _gk(["bundle", "verify", str(bundle), "--public-key", str(other)], root)
    assert wrong.returncode == 1 and f"signed with key {keys[2].key_id}, which is not among the keys given" in wrong.stderr


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_verify_names_each_edited_added_and_removed_file(
    run: tuple[Path, Path, subprocess.CompletedProcess[str]], keys: tuple[str, Path, signing.Signer], tmp_path: Path
) -> None:
    root, bundle, _ = run

    def edit(entries: dict[str, bytes]) -> None:
        entries["reports/gatekeeper.json"] = entries["reports/gatekeeper.json"].replace(
            b'"verdict": "pass"', b'"verdict": "fail"', 1
        )

    def add(entries: dict[str, bytes]) -> None:
        entries["reports/extra-evidence.txt"] = b"trust me\n"

    def remove(entries: dict[str, bytes]) -> None:
        del entries["audit/record.jsonl"]

    expected = {
        "edited": (edit, "changed: reports/gatekeeper.json"),
        "added": (add, "added: reports/extra-evidence.txt"),
        "removed": (remove, "missing: audit/record.jsonl"),
    }
    for label, (change, message) in expected.items():
        tampered = _rewrite(bundle, tmp_path / f"{label}.zip", change)
        done = _gk(["bundle", "verify", str(tampered)], root)
        assert done.returncode == 1, label
        assert "TAMPERED" in done.stderr and message in done.stderr, (label, done.stderr)
    # all three at once: each is named
    both = _rewrite(bundle, tmp_path / "all.zip", lambda e: (edit(e), add(e), remove(e)))
    done = _gk(["bundle", "verify", str(both)], root)
    assert done.returncode == 1
    assert all(message in done.stderr for _, message in expected.values())

    # a rewritten manifest (hashes recomputed) still fails against the key
    def forge(entries: dict[str, bytes]) -> None:
        edit(entries)
        manifest = json.loads(entries["manifest.json"])
        for f in manifest["files"]:
            f["sha256"] = hashlib.sha256(entries[f["path"]]).hexdigest()
            f["size"] = len(entries[f["path"]])
        entries["manifest.json"] = json.dumps(manifest).encode()

    forged = _rewrite(bundle, tmp_path / "forged.zip", forge)
    # the embedded audit record still names the original gatekeeper.json, key or no key
    unkeyed = _gk(["bundle", "verify", str(forged)], root)
    assert unkeyed.returncode == 1 and "record #1 does not list this bundle's reports/gatekeeper.json" in unkeyed.stderr
    keyed = _gk(["bundle", "verify", str(forged), "--public-key", str(keys[1])], root)
    assert keyed.returncode == 1 and "manifest.json: signature does not match" in keyed.stderr

    # the record edited to match as well: without a key, hashes alone cannot tell
    def forge_record(entries: dict[str, bytes]) -> None:
        record = json.loads(entries["audit/record.jsonl"])
        record["reports"] = {"gatekeeper-reports/gatekeeper.json": "0" * 64}
        entries["audit/record.jsonl"] = json.dumps(record).encode() + b"\n"
        edit(entries)
        record["reports"] = {"gatekeeper-reports/gatekeeper.json": hashlib.sha256(entries["reports/gatekeeper.json"]).hexdigest()}
        entries["audit/record.jsonl"] = json.dumps(record).encode() + b"\n"
        manifest = json.loads(entries["manifest.json"])
        for f in manifest["files"]:
            f["sha256"] = hashlib.sha256(entries[f["path"]]).hexdigest()
            f["size"] = len(entries[f["path"]])
        entries["manifest.json"] = json.dumps(manifest).encode()

    forged = _rewrite(bundle, tmp_path / "forged-record.zip", forge_record)
    # the attestation still names the original gatekeeper.json: the pieces are not of one run
    unkeyed = _gk(["bundle", "verify", str(forged)], root)
    assert unkeyed.returncode == 1 and "intact" not in unkeyed.stdout
    assert "attestation/gatekeeper.intoto.json: its statement does not name this bundle's reports/gatekeeper.json" in (
        unkeyed.stderr
    )
    keyed = _gk(["bundle", "verify", str(forged), "--public-key", str(keys[1])], root)
    assert keyed.returncode == 1 and "manifest.json: signature does not match" in keyed.stderr
    assert "record #1 is not authenticated by the keys given: signature invalid" in keyed.stderr


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_bundle_after_the_fact_from_the_json_result(
    run: tuple[Path, Path, subprocess.CompletedProcess[str]], keys: tuple[str, Path, signing.Signer], tmp_path: Path
) -> None:
    root, bundle, _ = run
    later = tmp_path / "later.zip"
    done = _gk(["bundle", "gatekeeper-reports/gatekeeper.json", "--output", str(later)], root, GATEKEEPER_AUDIT_KEY=keys[0])
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(bundle) as a, zipfile.ZipFile(later) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            if name != "manifest.json":
                assert a.read(name) == b.read(name), name  # the same evidence, the audit record found by the report's sha256
    assert _gk(["bundle", "verify", str(later), "--public-key", str(keys[1])], root).returncode == 0
    assert not list(tmp_path.glob(".later.zip*"))  # written through a temporary file, renamed into place


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_a_hand_edited_result_is_bundled_as_not_backed_and_verify_says_so(
    run: tuple[Path, Path, subprocess.CompletedProcess[str]], keys: tuple[str, Path, signing.Signer], tmp_path: Path
) -> None:
    root, _, _ = run
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    results = copy / "gatekeeper-reports" / "gatekeeper.json"
    data = json.loads(results.read_text())
    data["checks"][0]["summary"] = "edited by hand"
    results.write_text(json.dumps(data, indent=2))
    out = tmp_path / "edited.zip"
    # the run's attestation beside it names the result as the run wrote it: the two are never bundled together
    done = _gk(["bundle", str(results), "--output", str(out)], copy, GATEKEEPER_AUDIT_KEY=keys[0])
    assert done.returncode == 2 and "the attestation beside the result is of another run" in done.stderr
    assert not out.exists()
    (results.parent / "gatekeeper.intoto.json").unlink()
    done = _gk(["bundle", str(results), "--output", str(out)], copy, GATEKEEPER_AUDIT_KEY=keys[0])
    assert done.returncode == 0 and "NOT BACKED by an audit record" in done.stdout
    keyed = _gk(["bundle", "verify", str(out), "--public-key", str(keys[1])], copy)
    assert keyed.returncode == 1 and "NOTHING BACKS THE RESULT" in keyed.stderr
    assert "result: NOT BACKED by any audit record" in keyed.stderr and "intact" not in keyed.stdout
    unkeyed = _gk(["bundle", "verify", str(out)], copy)
    assert unkeyed.returncode == 0 and "consistent, not authenticated" in unkeyed.stdout
    assert "result: NOT BACKED by any audit record" in unkeyed.stdout


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_a_license_verdict_edited_in_the_bundle_is_not_authenticated(
    run: tuple[Path, Path, subprocess.CompletedProcess[str]], keys: tuple[str, Path, signing.Signer], tmp_path: Path
) -> None:
    """A denied package turned into an allowed one, every hash recomputed: without a key the bundle
    is only "consistent"; with the public key the manifest's signature gives it away."""
    _, bundle, _ = run

    def relicense(entries: dict[str, bytes]) -> None:
        table = entries["licenses/licenses.csv"].decode()
        entries["licenses/licenses.csv"] = (table + "chardet,5.2.0,MIT,LGPL-2.1-or-later,allowed\n").encode()
        manifest = json.loads(entries["manifest.json"])
        for f in manifest["files"]:
            f["sha256"] = hashlib.sha256(entries[f["path"]]).hexdigest()
            f["size"] = len(entries[f["path"]])
        entries["manifest.json"] = manifest_bytes(manifest)

    edited = _rewrite(bundle, tmp_path / "relicensed.zip", relicense)
    unkeyed = _gk(["bundle", "verify", str(edited)], tmp_path)
    assert unkeyed.returncode == 0 and "consistent, not authenticated" in unkeyed.stdout and "intact" not in unkeyed.stdout
    keyed = _gk(["bundle", "verify", str(edited), "--public-key", str(keys[1])], tmp_path)
    assert keyed.returncode == 1 and "manifest.json: signature does not match" in keyed.stderr
    # re-signed with the editor's own key: not a key the verifier trusts
    editor = signing.generate()

    def resign(entries: dict[str, bytes]) -> None:
        relicense(entries)
        manifest = json.loads(entries["manifest.json"])
        manifest["sig"] = signing.signature(editor, canonical(manifest))
        entries["manifest.json"] = manifest_bytes(manifest)

    resigned = _rewrite(bundle, tmp_path / "resigned.zip", resign)
    keyed = _gk(["bundle", "verify", str(resigned), "--public-key", str(keys[1])], tmp_path)
    assert keyed.returncode == 1 and f"signed with key {editor.key_id}, which is not among the keys given" in keyed.stderr


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_bundle_refuses_a_policy_that_changed_since_the_run(
    run: tuple[Path, Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    root, _, _ = run
    copy = tmp_path / "changed"
    shutil.copytree(root, copy)
    with open(copy / "gatekeeper.toml", "a", encoding="utf-8") as fh:
        fh.write("\n# edited after the run\n")
    done = _gk(["bundle", "gatekeeper-reports/gatekeeper.json", "--output", str(tmp_path / "x.zip")], copy)
    assert done.returncode == 2
    assert "is not the one the run used" in done.stderr
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_bad_input_is_a_clear_usage_error(tmp_path: Path) -> None:
    (tmp_path / "not.zip").write_text("hello", encoding="utf-8")
    done = _gk(["bundle", "verify", str(tmp_path / "not.zip")], tmp_path)
    assert done.returncode == 2 and "not a readable zip" in done.stderr and "Traceback" not in done.stderr
    missing = _gk(["bundle", "verify", str(tmp_path / "absent.zip")], tmp_path)
    assert missing.returncode == 2 and "bundle not found" in missing.stderr
    no_output = _gk(["bundle", str(tmp_path / "gatekeeper.json")], tmp_path)
    assert no_output.returncode == 2 and "--output" in no_output.stderr
    with zipfile.ZipFile(tmp_path / "plain.zip", "w") as zf:
        zf.writestr("readme.txt", "no manifest")
    plain = _gk(["bundle", "verify", str(tmp_path / "plain.zip")], tmp_path)
    assert plain.returncode == 1 and "missing: manifest.json" in plain.stderr
