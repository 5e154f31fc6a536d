"""A bundle's pieces are of one run: a result, a report or an attestation of another run is refused,
even when each piece verifies alone and the manifest is signed again with the real key (an insider)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gatekeeper import signing
from gatekeeper.audit import canonical
from gatekeeper.bundle import manifest_bytes
from gatekeeper.cli import app
from tests.helpers.projects import git_init, only, write
from tests.helpers.tsa import LocalTSA

SAFE = "def add(a, b):\n    return a + b\n"
RISKY = SAFE + "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def _cli(args: list[str]) -> Result:
    return CliRunner().invoke(app, args)


#: the variables by which a run knows it runs in CI (gatekeeper.provenance)
_CI_MARKS = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "CIRCLECI", "TF_BUILD", "BUILDKITE", "GATEKEEPER_CI_RUN_ID")


@pytest.fixture
def two_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA) -> dict[str, Path]:
    """Two signed, timestamped runs of one project: ``pass`` (clean code), then ``fail`` (shell=True),
    each with its own output folder and bundle; the log, keys and CA beside them."""
    for name in _CI_MARKS:  # runs outside any CI, whatever machine runs this suite
        monkeypatch.delenv(name, raising=False)
    signer = signing.write_key_pair(tmp_path / "gatekeeper.key", tmp_path / "gatekeeper.pub")
    root = write(tmp_path / "proj", {"app.py": SAFE})
    authority = f'[audit]\ntimestamp_url = "{local_tsa.url}"\ntimestamp_ca = "{local_tsa.pki.ca}"\n'
    policy = only("security").replace("[audit]\nenabled = false\n", authority).replace('["json"]', '["json", "html", "markdown"]')
    write(root, {"gatekeeper.toml": policy, ".gitignore": "out-*/\n.gatekeeper/\n"})
    git_init(root)
    monkeypatch.chdir(root)
    places: dict[str, Path] = {"root": root, "pub": tmp_path / "gatekeeper.pub", "ca": local_tsa.pki.ca}
    for verdict, code, expected in (("pass", SAFE, 0), ("fail", RISKY, 1)):
        (root / "app.py").write_text(code)
        commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", verdict]
        subprocess.run(["git", *commit], cwd=root, check=True, capture_output=True, timeout=60)
        monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(signer))  # a run takes it out of the environment
        done = _cli(["check", str(root), "--output-dir", f"out-{verdict}", "--bundle", str(tmp_path / f"{verdict}.zip")])
        assert done.exit_code == expected, done.output
        places[verdict] = tmp_path / f"{verdict}.zip"
    places["log"] = root / ".gatekeeper" / "audit.jsonl"
    return places


def _resigned(src: Path, dst: Path, replace: dict[str, bytes], key: Path, facts: dict[str, object] | None = None) -> Path:
    """The bundle ``src`` with the entries ``replace`` swapped in (and the manifest's ``facts``), its
    manifest rehashed and signed again with the real key: what whoever holds the signing key can do to a bundle."""
    signer = signing.signer_from_text(key.read_text())
    with zipfile.ZipFile(src) as zf:
        entries = {name: zf.read(name) for name in zf.namelist() if name != "manifest.json"}
        manifest = json.loads(zf.read("manifest.json"))
    entries.update(replace)
    manifest.update(facts or {})
    manifest["files"] = [{"path": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in sorted(entries.items())]
    manifest.pop("sig")
    manifest["sig"] = signing.signature(signer, canonical(manifest))
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(entries.items()):
            zf.writestr(name, data)
        zf.writestr("manifest.json", manifest_bytes(manifest))
    return dst


def _entry(bundle: Path, name: str) -> bytes:
    with zipfile.ZipFile(bundle) as zf:
        return zf.read(name)


def _verify(bundle: Path, runs: dict[str, Path]) -> Result:
    args = ["bundle", "verify", str(bundle), "--public-key", str(runs["pub"]), "--tsa-cert", str(runs["ca"])]
    return _cli([*args, "--log", str(runs["log"])])


def test_both_runs_bundles_verify_as_they_are(two_runs: dict[str, Path]) -> None:
    for verdict in ("pass", "fail"):
        done = _verify(two_runs[verdict], two_runs)
        assert done.exit_code == 0, done.output
        assert "intact" in done.output and f"verdict: {verdict}, of a complete run" in done.output
        assert "NOT checked" not in done.output
    # without the certificate the tokens are not checked, and the auditor is told so
    done = _cli(["bundle", "verify", str(two_runs["pass"]), "--public-key", str(two_runs["pub"])])
    assert done.exit_code == 0 and "intact" in done.output
    assert "note: audit/record.jsonl and attestation/gatekeeper.intoto.json carry RFC 3161 timestamps, NOT checked" in done.output


def test_another_runs_attestation_in_a_bundle_is_refused(two_runs: dict[str, Path], tmp_path: Path) -> None:
    # the failing run's bundle with the passing run's attestation: each piece verifies alone
    attestation = "attestation/gatekeeper.intoto.json"
    mixed = _resigned(
        two_runs["fail"],
        tmp_path / "mixed.zip",
        {attestation: _entry(two_runs["pass"], attestation)},
        two_runs["root"].parent / "gatekeeper.key",
    )
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "a.json").write_bytes(_entry(mixed, attestation))
    done = _cli(
        ["attestation", "verify", str(alone / "a.json"), "--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])]
    )
    assert done.exit_code == 0 and "verdict pass" in done.output  # a genuine attestation, of the other run
    done = _verify(mixed, two_runs)
    assert done.exit_code == 1 and "TAMPERED" in done.output and "intact" not in done.output
    assert f"{attestation}: its statement does not name this bundle's reports/gatekeeper.json" in done.output
    assert f"{attestation}: not the file the run wrote under that name (record #2 lists sha256" in done.output
    # the bundle command never pairs them: the passing run's attestation beside the failing run's result
    folder = two_runs["root"] / "out-fail"
    shutil.copy(two_runs["root"] / "out-pass" / "gatekeeper.intoto.json", folder / "gatekeeper.intoto.json")
    done = _cli(["bundle", str(folder / "gatekeeper.json"), "--output", str(tmp_path / "built.zip")])
    assert done.exit_code == 2 and "the attestation beside the result is of another run" in done.output
    assert not (tmp_path / "built.zip").exists()


def test_a_report_page_of_another_run_in_a_bundle_is_refused(two_runs: dict[str, Path], tmp_path: Path) -> None:
    # the failing run's result and record, with the passing run's HTML page and Markdown summary
    pages = {name: _entry(two_runs["pass"], name) for name in ("reports/gatekeeper.html", "reports/gatekeeper.md")}
    assert b"PASS" in pages["reports/gatekeeper.html"] and b"FAIL" in _entry(two_runs["fail"], "reports/gatekeeper.html")
    mixed = _resigned(two_runs["fail"], tmp_path / "pages.zip", pages, two_runs["root"].parent / "gatekeeper.key")
    done = _verify(mixed, two_runs)
    assert done.exit_code == 1 and "TAMPERED" in done.output and "intact" not in done.output
    for name in pages:
        assert f"{name}: not the file the run wrote under that name (record #2 lists sha256" in done.output


def test_a_manifest_or_readme_re_signed_with_another_runs_commit_or_verdict_is_refused(
    two_runs: dict[str, Path], tmp_path: Path
) -> None:
    key = two_runs["root"].parent / "gatekeeper.key"
    with zipfile.ZipFile(two_runs["fail"]) as zf:
        failing_commit = json.loads(zf.read("manifest.json"))["commit"]
    with zipfile.ZipFile(two_runs["pass"]) as zf:
        passing_commit = json.loads(zf.read("manifest.json"))["commit"]
    # the passing run's bundle, its manifest re-signed to name the failing run's commit: verify printed
    # "intact ... commit <failing> ... verdict: pass"
    signer = signing.signer_from_text(key.read_text())
    with zipfile.ZipFile(two_runs["pass"]) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(entries["manifest.json"])
    manifest["commit"] = failing_commit
    manifest.pop("sig")
    manifest["sig"] = signing.signature(signer, canonical(manifest))
    entries["manifest.json"] = json.dumps(manifest).encode()
    relabelled = tmp_path / "relabelled.zip"
    with zipfile.ZipFile(relabelled, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    done = _verify(relabelled, two_runs)
    assert done.exit_code == 1 and "TAMPERED" in done.output and "intact" not in done.output
    assert f"manifest.json: commit says '{failing_commit}', but audit record #1 behind the result says '{passing_commit}'" in (
        done.output
    )
    # the failing run's README turned into a pass, the manifest rehashed and re-signed
    readme = _entry(two_runs["fail"], "README.md").replace(b"- Verdict: **fail**", b"- Verdict: **pass**")
    rewritten = _resigned(two_runs["fail"], tmp_path / "readme.zip", {"README.md": readme}, key)
    done = _verify(rewritten, two_runs)
    assert done.exit_code == 1 and "README.md: Verdict says 'pass', but audit record #2 behind the result says 'fail'" in (
        done.output
    )


def test_a_bundle_made_later_keeps_the_pages_the_run_wrote(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a later gatekeeper release renders the page differently: the bundle keeps the run's own page,
    # the one its record lists, and refuses to put a new rendering under the run's name
    import gatekeeper.reports.html as html

    monkeypatch.setattr(html, "render_html", lambda result, **_: "<html>rendered by another release</html>")
    folder = two_runs["root"] / "out-fail"
    later = tmp_path / "later.zip"
    signer = two_runs["root"].parent / "gatekeeper.key"
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signer.read_text())
    done = _cli(["bundle", str(folder / "gatekeeper.json"), "--output", str(later)])
    assert done.exit_code == 0, done.output
    assert _entry(later, "reports/gatekeeper.html") == (folder / "gatekeeper.html").read_bytes()
    assert _verify(later, two_runs).exit_code == 0
    (folder / "gatekeeper.html").unlink()
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signer.read_text())
    done = _cli(["bundle", str(folder / "gatekeeper.json"), "--output", str(tmp_path / "gone.zip")])
    assert done.exit_code == 2 and "the run's gatekeeper.html is not beside the result any more" in done.output
    assert not (tmp_path / "gone.zip").exists()


def test_the_policy_files_in_a_bundle_re_signed_by_the_key_holder_must_be_the_runs(
    two_runs: dict[str, Path], tmp_path: Path
) -> None:
    # the failing run applied a policy with only the security check; the key holder ships one that
    # enables every check with a strict coverage threshold, so the bundle reads as a stricter gate
    key = two_runs["root"].parent / "gatekeeper.key"
    source = "policy/files/01-policy-gatekeeper.toml"
    stricter = _entry(two_runs["fail"], source).decode().replace("enabled = false\n", "min_total = 90\n")
    effective = _entry(two_runs["fail"], "policy/effective-policy.toml").decode()
    assert "enabled = false" in effective
    strict_effective = effective.replace("enabled = false", "enabled = true").encode()
    replaced = {source: stricter.encode(), "policy/effective-policy.toml": strict_effective}
    forged = _resigned(two_runs["fail"], tmp_path / "policy.zip", replaced, key)
    done = _verify(forged, two_runs)
    assert done.exit_code == 1 and "TAMPERED, 2 problem(s)" in done.output and "intact" not in done.output
    assert f"{source}: not the file the run's policy was built from (its audit record lists sha256" in done.output
    assert "policy/effective-policy.toml: not the policy the run applied (its audit record lists effective sha256" in done.output
    # a file the policy was not built from, added beside it
    extra = _resigned(two_runs["fail"], tmp_path / "extra.zip", {"policy/files/02-extends-strict.toml": b"[gate]\n"}, key)
    done = _verify(extra, two_runs)
    assert done.exit_code == 1
    assert "policy/files/02-extends-strict.toml: not a file the run's policy was built from" in done.output


def test_bundle_verify_names_the_files_only_the_manifest_signature_vouches_for(two_runs: dict[str, Path], tmp_path: Path) -> None:
    done = _verify(two_runs["fail"], two_runs)
    assert done.exit_code == 0 and "intact" in done.output
    with zipfile.ZipFile(two_runs["fail"]) as zf:
        total = len(zf.namelist()) - 1
        assert "reports/gatekeeper.gl-sast.json" in zf.namelist()  # a format the run did not write: rendered by bundle
    assert (
        f"covered: {total} of {total} file(s) are fixed by the audit record, the attestation it lists, or gatekeeper's "
        "own rendering and copy\n" in done.output
    )
    # the key holder replaces a format the bundle rendered (in no audit record), the verifier script and
    # a line of the README that verify does not compare with the record
    sast = json.loads(_entry(two_runs["fail"], "reports/gatekeeper.gl-sast.json"))
    sast["vulnerabilities"] = []
    readme = _entry(two_runs["fail"], "README.md").decode()
    assert "- Advisory database: none (the dependencies check did not run)" in readme
    readme = readme.replace("none (the dependencies check did not run)", "sha256:00ff, newest record yesterday")
    forged = _resigned(
        two_runs["fail"],
        tmp_path / "sast.zip",
        {
            "reports/gatekeeper.gl-sast.json": json.dumps(sast).encode(),
            "verify/verify_attestation.py": b"print('verified')\n",
            "README.md": readme.encode(),
        },
        two_runs["root"].parent / "gatekeeper.key",
    )
    done = _verify(forged, two_runs)
    assert done.exit_code == 0, done.output  # signed by the key: nothing the record pins was touched
    assert (
        "the manifest's signature alone vouches for README.md, reports/gatekeeper.gl-sast.json, verify/verify_attestation.py "
        "(whoever holds the signing key could have replaced them)" in done.output
    )
    assert "note: reports/gatekeeper.gl-sast.json: not the bytes this gatekeeper writes from the bundle's" in done.output
    assert "note: README.md: not the bytes this gatekeeper writes from the bundle's" in done.output


def test_an_artifact_in_a_bundle_must_be_one_the_run_attested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_tsa: LocalTSA
) -> None:
    signer = signing.write_key_pair(tmp_path / "gatekeeper.key", tmp_path / "gatekeeper.pub")
    root = write(tmp_path / "proj", {"app.py": SAFE, ".gitignore": "out/\n.gatekeeper/\n"})
    authority = f'[audit]\ntimestamp_url = "{local_tsa.url}"\ntimestamp_ca = "{local_tsa.pki.ca}"\n'
    write(root, {"gatekeeper.toml": only("sbom", "licenses").replace("[audit]\nenabled = false\n", authority)})
    git_init(root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(signer))
    done = _cli(["check", str(root), "--output-dir", "out", "--bundle", str(tmp_path / "run.zip")])
    assert done.exit_code in (0, 1), done.output  # the licenses of gatekeeper's own environment decide which
    runs = {"pub": tmp_path / "gatekeeper.pub", "ca": local_tsa.pki.ca, "log": root / ".gatekeeper" / "audit.jsonl"}
    done = _verify(tmp_path / "run.zip", runs)
    assert done.exit_code == 0 and "intact" in done.output
    with zipfile.ZipFile(tmp_path / "run.zip") as zf:
        total = len(zf.namelist()) - 1
        assert "licenses/licenses.csv" in zf.namelist()  # the check's own table, written when the bundle was made
    assert f"covered: {total} of {total} file(s)" in done.output
    # the key holder marks every package of the license table allowed and signs the manifest again
    table = _entry(tmp_path / "run.zip", "licenses/licenses.csv").decode()
    relaxed = "".join(line.rsplit(",", 1)[0] + ",allowed\n" for line in table.splitlines())
    forged = _resigned(
        tmp_path / "run.zip", tmp_path / "table.zip", {"licenses/licenses.csv": relaxed.encode()}, tmp_path / "gatekeeper.key"
    )
    done = _verify(forged, runs)
    assert "the manifest's signature alone vouches for licenses/licenses.csv" in done.output
    assert "note: licenses/licenses.csv: not the bytes this gatekeeper writes from the bundle's" in done.output
    # the key holder trims the SBOM to three components and signs the manifest again
    sbom = json.loads(_entry(tmp_path / "run.zip", "artifacts/sbom/sbom.cdx.json"))
    assert len(sbom["components"]) > 3
    sbom["components"] = sbom["components"][:3]
    forged = _resigned(
        tmp_path / "run.zip", tmp_path / "trimmed.zip", {"artifacts/sbom/sbom.cdx.json": json.dumps(sbom).encode()},
        tmp_path / "gatekeeper.key",
    )  # fmt: skip
    done = _verify(forged, runs)
    assert done.exit_code == 1 and "TAMPERED" in done.output
    assert "artifacts/sbom/sbom.cdx.json: not an artifact the run attested" in done.output


def test_an_old_passing_attestation_replayed_for_a_new_commit_is_refused_when_asked(
    two_runs: dict[str, Path], tmp_path: Path
) -> None:
    # the failing commit is the head; the passing run's attestation is genuine, of the commit before it
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=two_runs["root"], capture_output=True, text=True, check=True)
    commit = head.stdout.strip()
    old = two_runs["root"] / "out-pass" / "gatekeeper.intoto.json"
    new = two_runs["root"] / "out-fail" / "gatekeeper.intoto.json"
    base = ["attestation", "verify", "--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])]
    done = _cli([*base, str(old)])
    assert done.exit_code == 0 and "verdict pass" in done.output  # authentic: verification alone says nothing more
    done = _cli([*base, str(old), "--commit", commit, "--require-pass"])
    assert done.exit_code == 1 and "REJECTED" in done.output
    assert f"--commit {commit}: the statement is about commit " in done.output and "(another run's attestation)" in done.output
    # the head's own attestation is of a failing run: authentic, and it does not let the commit through
    assert _cli([*base, str(new), "--commit", commit.upper()]).exit_code == 0
    done = _cli([*base, str(new), "--commit", commit, "--require-pass"])
    assert done.exit_code == 1 and "--require-pass: the verdict is fail" in done.output
    for short in (commit[:12], commit[:39], commit[:6]):  # a commit made to start with it would match a prefix
        done = _cli([*base, str(new), "--commit", short])
        assert done.exit_code == 1 and f"--commit {short}: give the commit's full id" in done.output


def test_a_bundles_record_written_again_with_a_key_twice_is_refused(two_runs: dict[str, Path], tmp_path: Path) -> None:
    # its signature and token cover what it parses to (the last "verdict"); a reader keeping the first sees pass
    record = _entry(two_runs["fail"], "audit/record.jsonl")
    assert b'"verdict": "fail"' in record
    forged = _resigned(
        two_runs["fail"], tmp_path / "twice.zip", {"audit/record.jsonl": b'{"verdict": "pass", ' + record[1:]},
        two_runs["root"].parent / "gatekeeper.key",
    )  # fmt: skip
    done = _cli(["bundle", "verify", str(forged), "--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])])
    assert done.exit_code == 1 and "intact" not in done.output
    assert "audit/record.jsonl: record #2 is not as gatekeeper writes a record (a key twice" in done.output


def test_the_facts_a_manifest_re_signed_by_the_key_holder_states_must_be_the_runs(
    two_runs: dict[str, Path], tmp_path: Path
) -> None:
    key = two_runs["root"].parent / "gatekeeper.key"
    manifest = json.loads(_entry(two_runs["fail"], "manifest.json"))
    assert manifest["branch"] and manifest["advisory_database"] is None and manifest["key_id"].startswith("sha256:")
    facts = {
        "branch": "release/1.0",
        "advisory_database": {"kind": "osv-db", "digest": {"sha256": "00" * 32}, "as_of": "2026-12-07T00:00:00Z"},
        "created_from": {"finished_at": "2026-01-01T00:00:00Z", "verdict": "fail"},
    }
    forged = _resigned(two_runs["fail"], tmp_path / "facts.zip", {}, key, facts)
    done = _verify(forged, two_runs)
    assert done.exit_code == 1 and "TAMPERED, 3 problem(s)" in done.output, done.output
    for name in ("branch", "advisory_database", "created_from.finished_at"):
        assert f"manifest.json: {name} says " in done.output
    assert "the manifest was signed again with other facts" in done.output


def test_the_script_without_gatekeeper_refuses_another_commit_and_a_run_that_did_not_pass_when_asked(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the verifier a third party runs, as the bundle ships it
    with zipfile.ZipFile(two_runs["fail"]) as zf:
        (tmp_path / "verify_attestation.py").write_bytes(zf.read("verify/verify_attestation.py"))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=two_runs["root"], capture_output=True, text=True, check=True)
    commit = head.stdout.strip()
    old = two_runs["root"] / "out-pass" / "gatekeeper.intoto.json"
    new = two_runs["root"] / "out-fail" / "gatekeeper.intoto.json"

    def script(*args: str | Path) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-I", str(tmp_path / "verify_attestation.py"), *map(str, args)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)

    done = script(old, two_runs["pub"])
    assert done.returncode == 0 and done.stdout.startswith("verified: verdict pass"), done.stderr
    done = script(old, two_runs["pub"], "--commit", commit, "--require-pass")
    assert done.returncode == 1 and not done.stdout
    assert f"REJECTED: --commit {commit}: the statement is about commit " in done.stderr
    assert "(another run's attestation)" in done.stderr
    assert script(new, two_runs["pub"], "--commit", commit.upper()).returncode == 0
    done = script(new, two_runs["pub"], "--commit", commit, "--require-pass")
    assert done.returncode == 1 and "REJECTED: --require-pass: the verdict is fail" in done.stderr
    for short in (commit[:12], commit[:6]):  # a commit made to start with it would match a prefix
        done = script(new, two_runs["pub"], "--commit", short)
        assert done.returncode == 1 and f"REJECTED: --commit {short}: give the commit's full id" in done.stderr
    # a pass of part of the policy (one shard of two, of the clean code) lets no commit through
    (two_runs["root"] / "app.py").write_text(SAFE)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "gatekeeper.key").read_text())
    shard = _cli(["check", str(two_runs["root"]), "--shard", "1/2", "--output-dir", "out-shard", "--no-audit"])
    assert shard.exit_code in (0, 1), shard.output
    part = two_runs["root"] / "out-shard" / "gatekeeper.intoto.json"
    assert script(part, two_runs["pub"], "--commit", commit).returncode == 0
    done = script(part, two_runs["pub"], "--commit", commit, "--require-pass")
    assert done.returncode == 1 and "REJECTED: --require-pass: the run was partial (" in done.stderr
    assert script(part, two_runs["pub"], "--bogus").returncode == 2  # a bad argument is a usage error


def test_a_bundle_of_a_failing_run_or_another_commit_is_refused_when_asked(two_runs: dict[str, Path]) -> None:
    # intact is not passing: a release job that gates on bundle verify names the commit and asks for a pass
    def commit_of(verdict: str) -> str:
        return str(json.loads(_entry(two_runs[verdict], "audit/record.jsonl"))["commit"])

    passed, failed = commit_of("pass"), commit_of("fail")
    assert len(passed) == 40 and passed != failed
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])]
    done = _cli(["bundle", "verify", str(two_runs["fail"]), *keyed])
    assert done.exit_code == 0 and "intact" in done.output and "verdict: fail" in done.output  # authentic, not passing
    done = _cli(["bundle", "verify", str(two_runs["fail"]), *keyed, "--commit", failed, "--require-pass"])
    assert done.exit_code == 1
    assert "REJECTED: --require-pass: the verdict is fail: this bundle does not let the commit" in done.output
    # the old passing run's bundle replayed for the new commit
    done = _cli(["bundle", "verify", str(two_runs["pass"]), *keyed, "--commit", failed, "--require-pass"])
    assert done.exit_code == 1
    assert f"REJECTED: --commit {failed}: audit record #1 behind the result is about commit {passed}, not this one" in done.output
    done = _cli(["bundle", "verify", str(two_runs["pass"]), *keyed, "--commit", passed[:12]])
    assert done.exit_code == 1 and "give the commit's full id (40 or 64 hex digits), not an abbreviation" in done.output
    done = _cli(["bundle", "verify", str(two_runs["pass"]), *keyed, "--commit", passed.upper(), "--require-pass"])
    assert done.exit_code == 0 and "REJECTED" not in done.output, done.output
    # without a key anyone could have written the verdict: nothing to gate on
    done = _cli(["bundle", "verify", str(two_runs["pass"]), "--commit", passed, "--require-pass"])
    assert done.exit_code == 1 and "--commit and --require-pass: the bundle is not authenticated (no --public-key" in done.output
    done = _cli(["bundle", str(two_runs["root"] / "out-pass" / "gatekeeper.json"), "--output", "x.zip", "--require-pass"])
    assert done.exit_code == 2 and "only 'bundle verify' takes them" in done.output


def test_a_bundle_entry_an_unzip_could_write_outside_its_folder_is_refused(two_runs: dict[str, Path], tmp_path: Path) -> None:
    # gatekeeper never writes such a name or a link: whoever holds the key (or, without keys, anyone)
    # could list one in the manifest, and the README tells the auditor to unzip the bundle
    key = two_runs["root"].parent / "gatekeeper.key"
    for name, why in (
        ("../../.bashrc", "a '..', '.' or empty part of its path"),
        ("/etc/cron.d/gate", "an absolute path"),
        ("reports\\..\\..\\evil.bat", "a backslash"),
    ):
        tricked = _resigned(two_runs["pass"], tmp_path / "tricked.zip", {name: b"echo owned\n"}, key)
        for keys in ([], ["--public-key", str(two_runs["pub"])]):
            done = _cli(["bundle", "verify", str(tricked), *keys])
            assert done.exit_code == 1 and "TAMPERED" in done.output and "consistent" not in done.output, done.output
            assert f"unsafe: {name} ({why}" in done.output and "do not extract this bundle" in done.output
    # a symbolic link entry (unzip recreates links), and the file meant to be written through it
    linked = _resigned(two_runs["pass"], tmp_path / "linked.zip", {}, key)
    with zipfile.ZipFile(linked, "a") as zf:
        link = zipfile.ZipInfo("artifacts/home")
        link.create_system, link.external_attr = 3, (0o120777 << 16)
        zf.writestr(link, "/home")
    done = _cli(["bundle", "verify", str(linked), "--public-key", str(two_runs["pub"])])
    assert done.exit_code == 1 and "unsafe: artifacts/home (a symbolic link)" in done.output


def test_a_manifest_written_again_with_a_key_twice_is_refused(two_runs: dict[str, Path], tmp_path: Path) -> None:
    # no key needed: the signature covers what the manifest parses to (json keeps the last of two
    # keys), so a first "commit" put before the signed one reads as another commit to a reader that keeps the first
    other = str(json.loads(_entry(two_runs["fail"], "audit/record.jsonl"))["commit"])
    raw = _entry(two_runs["pass"], "manifest.json")
    edited = raw.replace(b"{", b'{\n  "commit": "' + other.encode() + b'",', 1)
    assert json.loads(edited) == json.loads(raw)
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(two_runs["pass"]) as src, zipfile.ZipFile(forged, "w") as zf:
        for info in src.infolist():
            zf.writestr(info, edited if info.filename == "manifest.json" else src.read(info))
    done = _verify(forged, two_runs)
    assert done.exit_code == 1 and "intact" not in done.output, done.output
    assert "changed: manifest.json (not as gatekeeper writes a manifest: a key twice, other spacing or escapes)" in done.output


def test_a_record_re_signed_with_a_better_verdict_than_its_result_is_refused(two_runs: dict[str, Path], tmp_path: Path) -> None:
    # whoever holds the key writes the failing run's record again as a pass (and the manifest and
    # README with it); the record still lists the run's own gatekeeper.json, which says fail
    from gatekeeper import audit
    from gatekeeper.auditchain import stored_line

    key = two_runs["root"].parent / "gatekeeper.key"
    signer = signing.signer_from_text(key.read_text())
    record = json.loads(_entry(two_runs["fail"], "audit/record.jsonl"))
    assert record["verdict"] == "fail" and record["checks"]["security"]["status"] == "fail"
    record.update(verdict="pass", exit_code=0)
    record["checks"]["security"]["status"] = "pass"
    for name in ("sig", "timestamp"):
        record.pop(name)
    record["sig"] = audit.sign_record(record, signer)
    manifest = json.loads(_entry(two_runs["fail"], "manifest.json"))
    readme = _entry(two_runs["fail"], "README.md").replace(b"- Verdict: **fail**", b"- Verdict: **pass**")
    forged = _resigned(
        two_runs["fail"], tmp_path / "better.zip",
        {"audit/record.jsonl": stored_line(record) + b"\n", "README.md": readme}, key,
        {"created_from": {**manifest["created_from"], "verdict": "pass"}},
    )  # fmt: skip
    done = _cli(["bundle", "verify", str(forged), "--public-key", str(two_runs["pub"]), "--require-pass"])
    assert done.exit_code == 1 and "intact" not in done.output and "verdict: pass" not in done.output, done.output
    assert (
        "audit record #2: verdict says 'pass', but the result it lists (reports/gatekeeper.json) says 'fail': "
        "the record was signed again with other facts than its run's"
    ) in done.output
    assert "audit record #2: checks says {'security': {'status': 'pass'" in done.output


def test_a_bundle_signed_by_a_key_retired_before_its_tokens_is_refused(two_runs: dict[str, Path]) -> None:
    # the same bundle, its key retired after the run (it holds) or before it (a thief's, stamped later)
    key_id = signing.signer_from_text((two_runs["root"].parent / "gatekeeper.key").read_text()).key_id
    args = ["bundle", "verify", str(two_runs["pass"]), "--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])]
    done = _cli([*args, "--retired", f"{key_id}=2099-01-01"])
    assert done.exit_code == 0 and "intact" in done.output and "REJECTED" not in done.output, done.output
    done = _cli([*args, "--retired", f"{key_id}=2020-01-01"])
    assert done.exit_code == 1, done.output
    for name in ("audit/record.jsonl", "attestation/gatekeeper.intoto.json"):
        assert (
            f"REJECTED: {name}: signed by key {key_id}, retired since 2020-01-01T00:00:00Z, and the authority's first time"
        ) in done.output
    done = _cli([*args[:5], "--retired", f"{key_id}=2020-01-01"])
    assert done.exit_code == 2 and "--retired needs --tsa-cert" in done.output


WAIVE_SHELL = (
    '[[waivers]]\nid = "W9"\ncheck = "security"\nrule = "B602"\nreason = "the command is a trusted constant"\n'
    'approved_by = "dev@example.com"\nexpires = 2027-06-30\n'
)


def test_a_bundle_judged_under_another_policy_is_refused_when_the_auditor_names_the_policy(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the failing code, judged again under the same policy file read with a waivers file that accepts
    # its finding: a genuine, signed, stamped pass, of a weaker policy than the one approved
    root = two_runs["root"]
    top = 'waivers_file = "waivers.toml"\n' + (root / "gatekeeper.toml").read_text()
    write(root, {"lax/gatekeeper.toml": top, "lax/waivers.toml": WAIVE_SHELL})
    approved = write(tmp_path / "approved", {"gatekeeper.toml": top, "waivers.toml": ""})  # the auditor's copy
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "gatekeeper.key").read_text())
    lax = tmp_path / "lax.zip"
    done = _cli(["check", str(root), "--policy", "lax/gatekeeper.toml", "--output-dir", "out-lax", "--bundle", str(lax)])
    assert done.exit_code == 0, done.output
    assert _verify(lax, two_runs).exit_code == 0  # intact: authentic, and of a policy nobody approved
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])]
    done = _cli(["bundle", "verify", str(lax), *keyed, "--policy", str(approved / "gatekeeper.toml")])
    assert done.exit_code == 1, done.output
    assert "REJECTED: --policy " in done.output and "audit record #3 was judged under another policy: " in done.output
    assert "waivers.toml (waivers) is not the file the run read as its waivers lax/waivers.toml: sha256 " in done.output
    # the project's own policy (no waivers file) differs in its top file
    done = _cli(["bundle", "verify", str(lax), *keyed, "--policy", "gatekeeper.toml"])
    assert done.exit_code == 1 and "gatekeeper.toml (policy) is not the file the run read as its policy" in done.output
    done = _cli(["bundle", "verify", str(two_runs["fail"]), *keyed, "--policy", "gatekeeper.toml"])
    assert (
        done.exit_code == 0 and "policy: audit record #2 was judged under gatekeeper.toml (every file by sha256)" in done.output
    )
    # the effective policy's digest, as 'policy validate' prints it
    said = _cli(["policy", "validate", "gatekeeper.toml"])
    effective = said.output.split("effective sha256: ", 1)[1].split()[0]
    assert effective == json.loads(_entry(two_runs["pass"], "audit/record.jsonl"))["policy"]["effective_sha256"]
    done = _cli(["bundle", "verify", str(two_runs["pass"]), *keyed, "--policy-sha256", effective.upper()])
    assert done.exit_code == 0 and "REJECTED" not in done.output, done.output
    done = _cli(["bundle", "verify", str(lax), *keyed, "--policy-sha256", effective])
    assert (
        done.exit_code == 1
        and f"REJECTED: --policy-sha256 {effective}: the run was judged under the effective policy" in done.output
    )
    done = _cli(["bundle", "verify", str(lax), *keyed, "--policy-sha256", effective[:12]])
    assert done.exit_code == 1 and "give the effective policy's full sha256 (64 hex digits)" in done.output
    # without a key the policy a bundle states is anyone's word
    done = _cli(["bundle", "verify", str(two_runs["pass"]), "--policy", "gatekeeper.toml"])
    assert done.exit_code == 1 and "REJECTED: --policy: the bundle is not authenticated (no --public-key" in done.output
    # the attestation, with gatekeeper and with the script the bundle ships
    attested = root / "out-lax" / "gatekeeper.intoto.json"
    args = ["attestation", "verify", str(attested), "--public-key", str(two_runs["pub"])]
    done = _cli([*args, "--policy", str(approved / "gatekeeper.toml")])
    assert done.exit_code == 1 and "REJECTED" in done.output and "the run was judged under another policy" in done.output
    assert _cli([*args, "--policy-sha256", effective]).exit_code == 1
    assert _cli([*args, "--policy", "lax/gatekeeper.toml"]).exit_code == 0
    good = ["attestation", "verify", str(root / "out-pass" / "gatekeeper.intoto.json"), "--public-key", str(two_runs["pub"])]
    assert _cli([*good, "--policy", "gatekeeper.toml", "--policy-sha256", effective]).exit_code == 0
    script = [sys.executable, "-I", str(Path(__file__).parents[1] / "gatekeeper" / "verify_attestation.py")]
    for envelope, code in ((attested, 1), (root / "out-pass" / "gatekeeper.intoto.json", 0)):
        ran = subprocess.run([*script, str(envelope), str(two_runs["pub"]), "--policy-sha256", effective],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert ran.returncode == code, ran.stderr
        assert ("REJECTED: --policy-sha256 " in ran.stderr) == bool(code), ran.stderr


def test_an_attestation_naming_two_commits_is_refused_and_the_checked_one_is_printed(
    two_runs: dict[str, Path], tmp_path: Path
) -> None:
    # whoever holds the key signs a statement whose predicate names the new commit while its
    # gitCommit subject (what --commit checks) is the old one: a verifier printed the one and checked the other
    import base64

    from gatekeeper.attestation import pae

    signer = signing.signer_from_text((tmp_path / "gatekeeper.key").read_text())
    new = str(json.loads(_entry(two_runs["fail"], "audit/record.jsonl"))["commit"])
    envelope = json.loads((two_runs["root"] / "out-pass" / "gatekeeper.intoto.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    old = next(s["digest"]["gitCommit"] for s in statement["subject"] if "gitCommit" in s["digest"])
    assert old != new
    statement["predicate"]["repository"]["commit"] = new
    payload = json.dumps(statement).encode()
    envelope["payload"] = base64.b64encode(payload).decode()
    envelope["signatures"] = [
        {"keyid": signer.key_id, "sig": base64.b64encode(signer.sign(pae(envelope["payloadType"], payload))).decode()}
    ]
    envelope.pop("timestamp")
    forged = tmp_path / "two-commits.intoto.json"
    forged.write_text(json.dumps(envelope))
    script = [sys.executable, "-I", str(Path(__file__).parents[1] / "gatekeeper" / "verify_attestation.py")]
    ran = subprocess.run([*script, str(forged), str(two_runs["pub"])], capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 1 and not ran.stdout, ran.stdout
    said = f"REJECTED: the statement's predicate says commit {new}, but its gitCommit subject is {old}"
    assert said in ran.stderr
    done = _cli(["attestation", "verify", str(forged), "--public-key", str(two_runs["pub"]), "--commit", old])
    assert done.exit_code == 1 and said[len("REJECTED: ") :] in done.output, done.output
    assert "REJECTED (verdict pass, commit not one (it names two), 4 subject(s))" in done.output
    # the genuine statement prints the commit --commit checks
    genuine = two_runs["root"] / "out-pass" / "gatekeeper.intoto.json"
    ran = subprocess.run(
        [*script, str(genuine), str(two_runs["pub"]), "--commit", old], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0 and f"commit {old}, " in ran.stdout, ran.stderr


def test_bundle_verify_holds_the_log_it_is_given_to_a_retired_key_as_audit_verify_does(
    two_runs: dict[str, Path], local_tsa: LocalTSA
) -> None:
    # the key is retired after both runs; its holder then appends a passing run to the log, stamped
    # today: audit verify --retired refuses the log, and so must a bundle verified against that log
    import datetime as dt
    import time

    from gatekeeper import audit
    from gatekeeper.timestamp import Authority, stamper

    signer = signing.signer_from_text((two_runs["root"].parent / "gatekeeper.key").read_text())
    time.sleep(1.2)  # genTimes are whole seconds
    since = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.2)
    stamp = stamper(Authority(local_tsa.url, local_tsa.pki.ca), [])
    audit.append(two_runs["log"], {"time": since, "verdict": "pass", "checks": {}}, signer, stamp)
    retired = ["--retired", f"{signer.key_id}={since}"]
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])]
    done = _cli(["audit", "verify", str(two_runs["log"]), *keyed, *retired])
    assert done.exit_code == 1 and f"record #3: signed by key {signer.key_id}, retired since {since}" in done.output
    bundle = ["bundle", "verify", str(two_runs["pass"]), *keyed]
    assert _cli([*bundle, *retired]).exit_code == 0  # the bundle's own record and attestation were stamped before
    done = _cli([*bundle, "--log", str(two_runs["log"]), *retired])
    assert done.exit_code == 1, done.output
    assert f"REJECTED: {two_runs['log']}: record #3: signed by key {signer.key_id}, retired since {since}" in done.output
    assert "record #1" not in done.output.split("REJECTED", 1)[1]
    assert _cli([*bundle, "--log", str(two_runs["log"])]).exit_code == 0  # a key no one retired vouches for it


def test_a_pass_a_baseline_let_findings_through_says_so_and_names_the_baseline(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failing commit judged again with a baseline that holds its shell=True finding: a genuine,
    signed, stamped pass under the approved policy file. The baseline is no file of the policy, so
    --policy and --require-pass hold; the verdict line must not read as a clean pass, and must name
    the baseline by its sha256, as it names the waivers a pass rests on."""
    root = two_runs["root"]
    key = (tmp_path / "gatekeeper.key").read_text()
    baseline = tmp_path / "known.json"
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", key)
    assert _cli(["baseline", "create", str(root), "--output", str(baseline)]).exit_code == 0
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", key)  # a run takes it out of the environment
    known = tmp_path / "known.zip"
    done = _cli(["check", str(root), "--baseline", str(baseline), "--output-dir", "out-known", "--bundle", str(known)])
    assert done.exit_code == 0, done.output
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"]), "--policy", "gatekeeper.toml"]
    for bundle, clean in ((known, False), (two_runs["fail"], True)):
        done = _cli(["bundle", "verify", str(bundle), *keyed])
        assert done.exit_code == 0, done.output
        line = next(line for line in done.output.splitlines() if line.startswith("verdict: "))
        assert ("let through as known (not by the policy)" not in line) is clean, line
    record = json.loads(_entry(known, "audit/record.jsonl"))
    digest = hashlib.sha256(baseline.read_bytes()).hexdigest()
    line = next(
        line for line in _cli(["bundle", "verify", str(known), *keyed]).output.splitlines() if line.startswith("verdict: ")
    )
    assert line == (
        f"verdict: pass, 2 finding(s) in the baseline {baseline} (sha256 {digest}) let through as known (not by the policy), "
        "of a complete run (every check the policy enables ran)"
    )
    assert record["baseline"] == {"path": str(baseline), "sha256": digest, "fingerprints": 2, "matched": 2}


def test_require_pass_refuses_a_pass_a_baseline_let_findings_through_unless_the_auditor_accepts_it(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failing commit's shell=True finding put in a baseline, then the commit judged again: a
    genuine, signed, stamped pass under the approved policy, of the failing run's commit. The policy
    never judged that finding acceptable, so --require-pass refuses it unless the auditor says that
    a pass on new findings alone is what they gate on (--accept-baseline)."""
    root = two_runs["root"]
    key = (tmp_path / "gatekeeper.key").read_text()
    baseline = tmp_path / "known.json"
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", key)
    assert _cli(["baseline", "create", str(root), "--output", str(baseline)]).exit_code == 0
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", key)
    known = tmp_path / "known.zip"
    done = _cli(["check", str(root), "--baseline", str(baseline), "--output-dir", "out-known", "--bundle", str(known)])
    assert done.exit_code == 0, done.output
    commit = json.loads(_entry(known, "audit/record.jsonl"))["commit"]
    gate = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"]), "--policy", "gatekeeper.toml"]
    gate += ["--commit", commit, "--require-pass"]
    done = _cli(["bundle", "verify", str(known), *gate])
    assert done.exit_code == 1, done.output
    digest = hashlib.sha256(baseline.read_bytes()).hexdigest()
    assert (
        f"REJECTED: --require-pass: the pass rests on 2 finding(s) in the baseline {baseline} (sha256 {digest}), "
        "let through as known, not judged by the policy: pass --accept-baseline"
    ) in done.output
    done = _cli(["bundle", "verify", str(known), *gate, "--accept-baseline"])
    assert done.exit_code == 0 and "REJECTED" not in done.output, done.output
    # the attestation says so too, to gatekeeper and to the script without it
    envelope = root / "out-known" / "gatekeeper.intoto.json"
    keyed = [str(envelope), "--public-key", str(two_runs["pub"]), "--commit", commit, "--require-pass"]
    said = "--require-pass: the pass rests on 2 finding(s) in the baseline"
    done = _cli(["attestation", "verify", *keyed])
    assert done.exit_code == 1 and said in done.output, done.output
    assert _cli(["attestation", "verify", *keyed, "--accept-baseline"]).exit_code == 0
    script = [sys.executable, "-I", str(Path(__file__).parents[1] / "gatekeeper" / "verify_attestation.py")]
    plain = [*script, str(envelope), str(two_runs["pub"]), "--commit", commit, "--require-pass"]
    ran = subprocess.run(plain, capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 1 and f"REJECTED: {said}" in ran.stderr, ran.stderr
    ran = subprocess.run([*plain, "--accept-baseline"], capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
    # a clean pass needs no such leave, and the flag qualifies --require-pass alone
    first = json.loads(_entry(two_runs["pass"], "audit/record.jsonl"))["commit"]
    assert _cli(["bundle", "verify", str(two_runs["pass"]), *gate[:-3], "--commit", first, "--require-pass"]).exit_code == 0
    done = _cli(["bundle", "verify", str(known), *gate[:-3], "--accept-baseline"])
    assert done.exit_code == 2 and "--accept-baseline and --folder: they qualify --require-pass" in done.output


def test_bundle_verify_with_a_certificate_holds_the_log_to_its_timestamps(two_runs: dict[str, Path]) -> None:
    """Whoever holds the signing key appends a signed record without a token (it cannot stamp one
    today for a time it claims): audit verify --tsa-cert refuses the log, and so does bundle verify
    given that log and the certificate, --retired or not."""
    from gatekeeper import audit
    from gatekeeper.engine import iso_utc

    signer = signing.signer_from_text((two_runs["root"].parent / "gatekeeper.key").read_text())
    audit.append(two_runs["log"], {"time": iso_utc(), "verdict": "pass", "checks": {}}, signer)
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])]
    done = _cli(["audit", "verify", str(two_runs["log"]), *keyed])
    said = "record #3: no trusted timestamp fixes it, though a certificate was given to check one"
    assert done.exit_code == 1 and said in done.output, done.output
    done = _cli(["bundle", "verify", str(two_runs["pass"]), *keyed, "--log", str(two_runs["log"])])
    assert done.exit_code == 1, done.output
    assert f"REJECTED: {two_runs['log']}: {said}" in done.output
    # without the certificate nothing asks for trusted time: the chain and signatures hold
    assert _cli(["bundle", "verify", str(two_runs["pass"]), *keyed[:2], "--log", str(two_runs["log"])]).exit_code == 0


def test_a_pass_that_let_findings_present_at_the_reference_through_says_so() -> None:
    """A --new-code-since run's record counts the findings REF's result let through (``existing``)."""
    from gatekeeper.recordfacts import known_of

    commit = "537bc7c723439b9194a358f64d871dd326c18887"
    assert known_of({"new_code": {"ref": "origin/main", "commit": commit, "existing": 3}}) == (
        f"3 finding(s) present at origin/main (commit {commit})",
    )
    assert known_of({"new_code": {"ref": "origin/main", "commit": commit, "existing": 0}, "baseline": {"matched": 0}}) == ()


def test_how_waivers_were_judged_is_recorded_and_shown(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--strict-waivers is no part of the policy, so its digest cannot say how waivers were judged:
    the same commit and policy, with a waiver that matches nothing, pass without the option and fail
    with it. The record says which, and bundle verify names the waiver a lenient judgement let pass."""
    import datetime as dt

    root = two_runs["root"]
    expires = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=30)).isoformat()
    waiver = (
        '[[waivers]]\nid = "W-OLD"\ncheck = "security"\nrule = "B999"\nreason = "a rule this code no longer breaks"\n'
        f'approved_by = "sec@example.com"\nexpires = {expires}\n'
    )
    (root / "app.py").write_text(SAFE)
    (root / "gatekeeper.toml").write_text((root / "gatekeeper.toml").read_text() + waiver)
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "waiver"]
    subprocess.run(["git", *commit], cwd=root, check=True, capture_output=True, timeout=60)
    key = (tmp_path / "gatekeeper.key").read_text()
    records = []
    for strict, code in ((False, 0), (True, 1)):
        monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", key)
        bundle = tmp_path / f"strict-{strict}.zip"
        flags = ["--strict-waivers"] if strict else []
        done = _cli(["check", str(root), *flags, "--output-dir", f"out-{strict}", "--bundle", str(bundle)])
        assert done.exit_code == code, done.output
        record = json.loads(_entry(bundle, "audit/record.jsonl"))
        assert record["strict_waivers"] is strict and record["waivers"]["unused"] == ["W-OLD"]
        assert json.loads(_entry(bundle, "reports/gatekeeper.json"))["strict_waivers"] is strict
        records.append(record)
        done = _cli(["bundle", "verify", str(bundle), "--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])])
        assert done.exit_code == 0, done.output
        said = next(line for line in done.output.splitlines() if line.startswith("waivers: "))
        assert said == (
            "waivers: judged strictly (an expired or unused waiver fails the gate)"
            if strict
            else "waivers: not judged strictly (an expired or unused waiver does not fail the gate): "
            "W-OLD (unused) did not fail the gate"
        )
    assert records[0]["policy"] == records[1]["policy"]  # the policy's digests cannot tell the two apart


def test_a_record_saying_waivers_were_judged_strictly_cannot_pass_with_a_lapsed_waiver() -> None:
    from gatekeeper.recordfacts import waivers_of

    record = {"verdict": "pass", "strict_waivers": True, "waivers": {"applied": [], "expired": ["W1"], "unused": ["W2"]}}
    assert waivers_of(record)["record_lapsed"] == ("W1 (expired)", "W2 (unused)")
    assert waivers_of({**record, "strict_waivers": "yes"})["record_strict"] is None  # an odd shape says nothing


def test_a_run_whose_clock_was_set_back_as_it_started_fails_closed_and_is_refused(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failing commit, its shell=True finding waived until yesterday. The runner's clock reads
    yesterday as the run starts (waivers are judged then) and is right again as it ends, so the
    record's time (its end) agrees with the authority's: a signed, stamped pass on an expired waiver.
    The run's monotonic duration gives it away, at the run (exit 3) and to every verifier."""
    import dataclasses
    import datetime as dt

    from gatekeeper import engine

    now = dt.datetime.now(dt.timezone.utc)
    yesterday = (now - dt.timedelta(days=1)).replace(hour=23, minute=50)
    root = two_runs["root"]
    waiver = (
        '[[waivers]]\nid = "W-SHELL"\ncheck = "security"\nrule = "B602"\nreason = "the command is a constant here"\n'
        f'approved_by = "sec@example.com"\nexpires = {yesterday.date().isoformat()}\n'
    )
    (root / "gatekeeper.toml").write_text((root / "gatekeeper.toml").read_text() + waiver)
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "waiver"]
    subprocess.run(["git", *commit], cwd=root, check=True, capture_output=True, timeout=60)
    real = engine.run_checks

    def set_back_as_it_starts(request: engine.RunRequest, *args: object, **kwargs: object) -> object:
        readings = iter([yesterday])
        return real(dataclasses.replace(request, clock=lambda: next(readings, None) or engine.utc_now()), *args, **kwargs)

    monkeypatch.setattr(engine, "run_checks", set_back_as_it_starts)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "gatekeeper.key").read_text())
    bundle = tmp_path / "late.zip"
    done = _cli(["check", str(root), "--output-dir", "out-late", "--bundle", str(bundle)])
    assert done.exit_code == 3, done.output
    # the run's own monotonic duration, in whole seconds (1 s or more on a loaded machine)
    assert re.search(r"but the run took \d+ s: the runner's clock was set back while it ran", done.output), done.output
    record = json.loads(_entry(bundle, "audit/record.jsonl"))
    assert record["waivers"]["applied"] == ["W-SHELL"] and record["started_at"].startswith(yesterday.date().isoformat())
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"])]
    done = _cli(["bundle", "verify", str(bundle), *keyed])
    assert done.exit_code == 1 and f"record #{record['seq']}: the runner's clock says the run started at" in done.output
    done = _cli(["audit", "verify", str(two_runs["log"]), *keyed])
    assert done.exit_code == 1 and "the runner's clock was set back while it ran" in done.output
    done = _cli(["attestation", "verify", str(root / "out-late" / "gatekeeper.intoto.json"), *keyed])
    assert done.exit_code == 1 and "timestamp: the runner's clock says the run started at" in done.output


def test_require_pass_judges_waivers_at_the_runs_latest_possible_start_by_trusted_time() -> None:
    """A waiver applies through its expiry day, and the run judges it as it starts. The verifier
    judges it as of the latest moment the run can have started: the authority's time of the record
    less the run's monotonic duration. An honest run that started at 23:58 on the last day and was
    stamped after midnight passes; a run whose start that puts after midnight (a slow clock, whatever
    it wrote) is refused, and a record that states no duration is judged at the stamp itself."""
    from gatekeeper.bundleverify import BundleCheck
    from gatekeeper.commands.bundledemands import demands

    def stamped_at(at: str, took: float | None) -> list[str]:
        run = BundleCheck(files=1, signature="valid", backing="record", record_seq=5, record_verdict="pass",
                          record_scope={"complete": True}, record_waivers=(("W-SHELL", "2026-06-30"),),
                          stamps=(f"audit/record.jsonl: stamped {at}",), record_duration=took)  # fmt: skip
        return demands(run, None, (True, False, "."), (None, None))

    assert stamped_at("2026-06-30T23:58:00Z", 4.0) == []
    assert stamped_at("2026-07-01T00:03:00Z", 300.0) == []  # started 23:58, ran five minutes across midnight
    assert stamped_at("2026-07-01T00:05:00Z", 240.0) == [
        "--require-pass: waiver(s) W-SHELL (until 2026-06-30) let findings through, but by trusted time their term "
        "had ended when the run started: audit record #5 was stamped by the authority, which puts the run's start no "
        "later than 2026-07-01T00:01:00Z (the authority's time 2026-07-01T00:05:00Z less the run's 240 s) (the "
        "runner's clock judged them): this bundle does not let the commit through the gate"
    ]
    assert stamped_at("2026-07-01T00:03:00Z", None) == [
        "--require-pass: waiver(s) W-SHELL (until 2026-06-30) let findings through, but by trusted time their term "
        "had ended when the run started: audit record #5 was stamped by the authority, which puts the run's start no "
        "later than 2026-07-01T00:03:00Z (the authority's time; the evidence does not state the run's duration) (the "
        "runner's clock judged them): this bundle does not let the commit through the gate"
    ]


def test_a_pass_of_one_folder_does_not_pass_for_the_whole_commit(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failing commit's repository gains a folder of clean code, and `gatekeeper check clean/`
    judges that folder alone, under the approved policy: a genuine, signed, stamped pass of a complete
    run, naming the whole tree's commit, whose shell=True call in app.py no check looked at."""
    root = two_runs["root"]
    write(root, {"clean/ok.py": SAFE})
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", *commit, "add", "clean"], cwd=root, check=True, capture_output=True, timeout=60)
    subprocess.run(["git", *commit, "commit", "-qm", "clean"], cwd=root, check=True, capture_output=True, timeout=60)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "gatekeeper.key").read_text())
    bundle = tmp_path / "folder.zip"
    done = _cli(
        ["check", str(root / "clean"), "--policy", "gatekeeper.toml", "--output-dir", "out-folder", "--bundle", str(bundle)]
    )
    assert done.exit_code == 0, done.output
    record = json.loads(_entry(bundle, "audit/record.jsonl"))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    assert record["commit"] == head and record["folder"] == "clean" and record["scope"]["complete"] is True
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"]), "--policy", "gatekeeper.toml"]
    gate = [*keyed, "--commit", head, "--require-pass"]
    done = _cli(["bundle", "verify", str(bundle), *gate])
    assert done.exit_code == 1, done.output
    assert (
        "REJECTED: --require-pass: the run judged the folder clean of the repository alone, not the whole repository"
    ) in done.output
    assert "verdict: pass, of the folder clean/ alone (not the whole repository), of a complete run" in done.output
    assert _cli(["bundle", "verify", str(bundle), *gate, "--folder", "./clean/"]).exit_code == 0
    envelope = root / "out-folder" / "gatekeeper.intoto.json"
    signed = [str(envelope), "--public-key", str(two_runs["pub"]), "--commit", head, "--require-pass"]
    done = _cli(["attestation", "verify", *signed])
    assert done.exit_code == 1 and "the run judged the folder clean of the repository alone" in done.output, done.output
    assert _cli(["attestation", "verify", *signed, "--folder", "clean"]).exit_code == 0
    # a run of the whole tree is not one of the folder, and the whole tree's runs say so
    done = _cli(["bundle", "verify", str(two_runs["pass"]), *keyed, "--require-pass", "--folder", "clean"])
    assert done.exit_code == 1 and "the run judged its top, the whole repository, not the folder clean" in done.output
    assert json.loads(_entry(two_runs["pass"], "audit/record.jsonl"))["folder"] == "."


def test_a_bundle_of_a_run_in_another_repository_is_refused_when_the_auditor_names_the_repository(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit pushed to another repository whose pipeline runs the gate under the same signing
    key (a fork, a copy whose jobs an insider controls): a genuine pass of that commit under the
    approved policy, judged in that pipeline's environment. --repository holds the record to the
    repository whose CI ran it, as the CI named it."""
    root = two_runs["root"]
    (root / "app.py").write_text(SAFE)
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "safe"]
    subprocess.run(["git", *commit], cwd=root, check=True, capture_output=True, timeout=60)
    for name, value in {"GITLAB_CI": "true", "CI_PROJECT_PATH": "insider/copy", "CI_PIPELINE_ID": "77"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "gatekeeper.key").read_text())
    bundle = tmp_path / "copy.zip"
    assert _cli(["check", str(root), "--output-dir", "out-copy", "--bundle", str(bundle)]).exit_code == 0
    record = json.loads(_entry(bundle, "audit/record.jsonl"))
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"]), "--policy", "gatekeeper.toml"]
    gate = [*keyed, "--commit", record["commit"], "--require-pass"]
    done = _cli(["bundle", "verify", str(bundle), *gate])
    assert done.exit_code == 0 and "run: gitlab-ci, repository insider/copy, run_id 77" in done.output, done.output
    done = _cli(["bundle", "verify", str(bundle), *gate, "--repository", "acme/app"])
    assert done.exit_code == 1, done.output
    assert (
        f"REJECTED: --repository acme/app: audit record #{record['seq']} was made by a run in insider/copy, "
        "not in this repository (another repository's bundle)"
    ) in done.output
    assert _cli(["bundle", "verify", str(bundle), *gate, "--repository", "Insider/Copy"]).exit_code == 0
    # a run outside CI names no repository, so it proves none
    done = _cli(["bundle", "verify", str(two_runs["pass"]), *keyed, "--repository", "acme/app"])
    assert done.exit_code == 1 and "names no repository (no CI run)" in done.output, done.output


def test_a_pass_of_a_work_tree_that_is_not_the_commits_does_not_pass_for_the_commit(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step before the gate puts the clean code back into the failing commit's checkout, uncommitted:
    a genuine, signed, stamped pass of a complete run under the approved policy, naming the failing
    commit, whose shell=True call no check looked at. ``audit report`` counts no such pass as gating
    its commit; neither do the verifiers' --require-pass."""
    root = two_runs["root"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    (root / "app.py").write_text(SAFE)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "gatekeeper.key").read_text())
    bundle = tmp_path / "dirty.zip"
    assert _cli(["check", str(root), "--output-dir", "out-dirty", "--bundle", str(bundle)]).exit_code == 0
    record = json.loads(_entry(bundle, "audit/record.jsonl"))
    assert record["commit"] == head and record["dirty"] is True and record["scope"]["complete"] is True
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"]), "--policy", "gatekeeper.toml"]
    gate = [*keyed, "--commit", head, "--require-pass"]
    done = _cli(["bundle", "verify", str(bundle), *gate])
    assert done.exit_code == 1, done.output
    assert (
        "REJECTED: --require-pass: the run judged a work tree whose tracked files differed from the commit (dirty: "
        "uncommitted changes), not the commit's own code: this bundle does not let the commit through the gate"
    ) in done.output
    assert "verdict: pass, on a work tree whose tracked files differed from the commit (dirty: not the commit's own code)" in (
        done.output
    )
    assert _cli(["bundle", "verify", str(bundle), *keyed, "--commit", head]).exit_code == 0  # authentic, of that commit
    envelope = root / "out-dirty" / "gatekeeper.intoto.json"
    signed = [str(envelope), "--public-key", str(two_runs["pub"]), "--commit", head]
    assert _cli(["attestation", "verify", *signed]).exit_code == 0
    done = _cli(["attestation", "verify", *signed, "--require-pass"])
    assert done.exit_code == 1 and "REJECTED (verdict pass, on a work tree whose tracked files differed" in done.output
    assert "this attestation does not let the commit through the gate" in done.output
    with zipfile.ZipFile(bundle) as zf:  # the verifier a third party runs, as the bundle ships it
        (tmp_path / "verify_attestation.py").write_bytes(zf.read("verify/verify_attestation.py"))
    argv = [sys.executable, "-I", str(tmp_path / "verify_attestation.py"), str(envelope), str(two_runs["pub"])]
    done = subprocess.run([*argv, "--commit", head, "--require-pass"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "REJECTED: --require-pass: the run judged a work tree whose tracked files" in done.stderr
    # the same code committed is the commit's own: its pass gates it
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "safe again"]
    subprocess.run(["git", *commit], cwd=root, check=True, capture_output=True, timeout=60)
    clean = tmp_path / "clean.zip"
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "gatekeeper.key").read_text())  # a run takes it out
    assert _cli(["check", str(root), "--output-dir", "out-clean", "--bundle", str(clean)]).exit_code == 0
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    done = _cli(["bundle", "verify", str(clean), *keyed, "--commit", head, "--require-pass"])
    assert done.exit_code == 0 and "dirty" not in done.output, done.output


def test_a_pass_of_a_work_tree_git_could_not_compare_with_the_commit_does_not_pass_for_it(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git's comparison of the work tree with the commit runs out of time (here: a deadline no hash of
    the tracked files meets; in CI, a tree too big to hash in time): the run cannot tell whether it judged
    the commit's code. It says so (``dirty: null``) in its result, record and statement, and no verifier's
    --require-pass, nor ``audit report``, takes its pass as the commit's; left out, it read as clean."""
    from gatekeeper import gitinfo

    root = two_runs["root"]
    (root / "app.py").write_text(SAFE)  # the failing commit's checkout, its clean code put back uncommitted
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "safe"]
    subprocess.run(["git", *commit], cwd=root, check=True, capture_output=True, timeout=60)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    monkeypatch.setattr(gitinfo, "HASH_TIMEOUT_S", 1e-6)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "gatekeeper.key").read_text())
    bundle = tmp_path / "untold.zip"
    assert _cli(["check", str(root), "--output-dir", "out-untold", "--bundle", str(bundle)]).exit_code == 0
    result = json.loads((root / "out-untold" / "gatekeeper.json").read_text())
    record = json.loads(_entry(bundle, "audit/record.jsonl"))
    assert result["repository"]["dirty"] is None and record["dirty"] is None and record["commit"] == head
    assert "unknown: git could not compare the work tree with the commit" in (root / "out-untold" / "gatekeeper.html").read_text()
    keyed = ["--public-key", str(two_runs["pub"]), "--tsa-cert", str(two_runs["ca"]), "--policy", "gatekeeper.toml"]
    done = _cli(["bundle", "verify", str(bundle), *keyed, "--commit", head, "--require-pass"])
    assert done.exit_code == 1, done.output
    assert "REJECTED: --require-pass: the run could not tell whether its work tree was the commit's" in done.output
    assert "verdict: pass, on a work tree git could not compare with the commit" in done.output
    assert _cli(["bundle", "verify", str(bundle), *keyed, "--commit", head]).exit_code == 0  # authentic, of that commit
    envelope = root / "out-untold" / "gatekeeper.intoto.json"
    signed = [str(envelope), "--public-key", str(two_runs["pub"]), "--commit", head]
    done = _cli(["attestation", "verify", *signed, "--require-pass"])
    assert done.exit_code == 1 and "the run could not tell whether its work tree was the commit's" in done.output, done.output
    with zipfile.ZipFile(bundle) as zf:  # the verifier a third party runs, as the bundle ships it
        (tmp_path / "verify_attestation.py").write_bytes(zf.read("verify/verify_attestation.py"))
    argv = [sys.executable, "-I", str(tmp_path / "verify_attestation.py"), str(envelope), str(two_runs["pub"])]
    done = subprocess.run([*argv, "--commit", head, "--require-pass"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "the run could not tell whether its work tree was the commit's" in done.stderr
    asked = ["git", "branch", "--show-current"]
    branch = subprocess.run(asked, cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    out = tmp_path / "csv"
    report = ["audit", "report", str(two_runs["log"]), "--branch", branch, "--repo", str(root), "--format", "csv"]
    report += ["--output", str(out)]
    done = _cli([*report, "--public-key", str(two_runs["pub"])])
    assert done.exit_code == 0, done.output
    rows = {r["commit"]: r for r in csv.DictReader(io.StringIO((out / "gated.csv").read_text()))}
    assert rows[head]["status"] != "gated" and "tree git could not compare" in str(rows[head]), rows[head]


def test_a_pass_the_projects_own_comments_narrowed_says_so(
    two_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failing commit's shell=True call marked ``# nosec``: the policy honours the project's own
    comments, so the run passes, and its record counts what they hid. A verifier that showed only
    "verdict: pass, of a complete run" would present that pass as a clean one."""
    root = two_runs["root"]
    (root / "app.py").write_text(RISKY.replace("shell=True)", "shell=True)  # nosec"))
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "nosec"]
    subprocess.run(["git", *commit], cwd=root, check=True, capture_output=True, timeout=60)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", (tmp_path / "gatekeeper.key").read_text())
    bundle = tmp_path / "nosec.zip"
    assert _cli(["check", str(root), "--output-dir", "out-nosec", "--bundle", str(bundle)]).exit_code == 0
    narrowing = json.loads(_entry(bundle, "audit/record.jsonl"))["checks"]["security"]["narrowing"]
    assert narrowing == {"kinds": {"line-comments": 1}, "records": 1, "suppressed": 1}
    done = _verify(bundle, two_runs)
    assert done.exit_code == 0, done.output
    assert (
        "narrowed: by the project's own configuration or comments, which the policy honours (project_config): "
        "security (line-comments × 1; 1 finding(s) hidden where the tool counts them)"
    ) in done.output
    assert "narrowed:" not in _verify(two_runs["pass"], two_runs).output


def _hidden(src: Path, dst: Path, where: str) -> Path:
    """``src`` with a local entry named like one of its reports that no central directory record lists
    (``where``: first, or last before the central directory), as anyone can write without the key."""
    forged = b"# gatekeeper: PASS (a copy the central directory does not list)\n"
    with zipfile.ZipFile(src) as zf, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        if where == "first":
            out.writestr("reports/gatekeeper.md", forged)
        for info in zf.infolist():
            out.writestr(info, zf.read(info))
        listed = out.NameToInfo["reports/gatekeeper.md"] if where == "first" else None
        if where == "last":
            listed = out.NameToInfo["reports/gatekeeper.md"]
            out.writestr("reports/gatekeeper.md", forged)
        out.filelist = [i for i in out.filelist if not (i.filename == "reports/gatekeeper.md" and i is not listed)]
        out.NameToInfo["reports/gatekeeper.md"] = listed  # type: ignore[assignment]
    return dst


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_an_entry_the_central_directory_hides_is_refused(two_runs: dict[str, Path], tmp_path: Path) -> None:
    """zipfile and unzip read the central directory; an extractor that reads the entries one after
    another (jar x, Java's ZipInputStream, a streaming unzip) also writes a local entry it leaves out,
    over the verified file of that name when it comes last. No key is needed to add one."""
    for where, said in (("last", "byte(s) between the last entry and the central directory"), ("first", "follows bytes")):
        tricked = _hidden(two_runs["pass"], tmp_path / f"hidden-{where}.zip", where)
        with zipfile.ZipFile(tricked) as zf:  # every listed entry is the bundle's own
            assert sorted(zf.namelist()) == sorted(zipfile.ZipFile(two_runs["pass"]).namelist())
            assert zf.read("reports/gatekeeper.md") == _entry(two_runs["pass"], "reports/gatekeeper.md")
        done = _cli(["bundle", "verify", str(tricked), "--public-key", str(two_runs["pub"])])
        assert done.exit_code == 1 and "TAMPERED" in done.output and "intact" not in done.output, done.output
        assert "unsafe: " in done.output and said in done.output and "do not extract this bundle" in done.output
    # a bundle whose entries carry data descriptors (zipped to a stream) accounts for every byte
    with zipfile.ZipFile(two_runs["pass"]) as zf:
        entries = [(info.filename, zf.read(info)) for info in zf.infolist()]

    class Stream(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, chunk: Any) -> int:
            self.data += chunk
            return len(chunk)

    stream = Stream()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o644 << 16
            out.writestr(info, data, zipfile.ZIP_DEFLATED)
    (tmp_path / "streamed.zip").write_bytes(bytes(stream.data))
    assert all(i.flag_bits & 0x08 for i in zipfile.ZipFile(tmp_path / "streamed.zip").infolist())
    done = _cli(["bundle", "verify", str(tmp_path / "streamed.zip"), "--public-key", str(two_runs["pub"])])
    assert done.exit_code == 0 and "intact" in done.output, done.output


def test_an_entry_unzip_would_write_under_another_name_is_refused(two_runs: dict[str, Path], tmp_path: Path) -> None:
    """Info-ZIP's Unicode Path extra field (0x7075) names the file unzip writes, which zipfile does not
    read: the verifier script's bytes written over the verified reports/gatekeeper.md, and no verify/
    folder, while every entry zipfile reads matched. No key is needed to add one, in the central
    directory or in the local header a streaming extractor reads."""
    import struct
    import zlib

    for where in ("central", "local"):
        tricked = tmp_path / f"renamed-{where}.zip"
        with zipfile.ZipFile(two_runs["pass"]) as zf, zipfile.ZipFile(tricked, "w", zipfile.ZIP_DEFLATED) as out:
            for info in zf.infolist():
                copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                copy.external_attr, copy.compress_type = info.external_attr, zipfile.ZIP_DEFLATED
                if info.filename == "verify/verify_attestation.py":
                    field = b"\x01" + struct.pack("<I", zlib.crc32(info.filename.encode())) + b"reports/gatekeeper.md"
                    copy.extra = struct.pack("<HH", 0x7075, len(field)) + field
                out.writestr(copy, zf.read(info))
                if where == "local":
                    copy.extra = b""  # the central directory's record carries none
        done = _cli(["bundle", "verify", str(tricked), "--public-key", str(two_runs["pub"])])
        assert done.exit_code == 1 and "TAMPERED" in done.output and "intact" not in done.output, done.output
        said = (
            "unsafe: verify/verify_attestation.py (an extra field (0x7075), from which unzip may take another name"
            if where == "central"
            else "unsafe: verify/verify_attestation.py: its local header carries another extra field than the central"
        )
        assert said in done.output and "do not extract this bundle" in done.output, done.output


def test_bundle_verify_says_when_the_policy_was_not_held_to_one_approved(two_runs: dict[str, Path]) -> None:
    """A pull request can weaken the policy in its checkout and the run judges by it: a verifier that
    names no approved policy says so, with the digest the record states, rather than nothing."""
    record = json.loads(_entry(two_runs["pass"], "audit/record.jsonl"))
    digest = record["policy"]["effective_sha256"]
    done = _verify(two_runs["pass"], two_runs)
    assert done.exit_code == 0, done.output
    assert (
        "policy: not held to one you approved: the record says the run was judged under "
        f"{record['policy']['path']} (effective sha256 {digest}); pass --policy FILE or --policy-sha256 HEX"
    ) in done.output
    for named in (["--policy-sha256", digest], ["--policy", "gatekeeper.toml"]):
        done = _cli(["bundle", "verify", str(two_runs["pass"]), "--public-key", str(two_runs["pub"]), *named])
        assert done.exit_code == 0 and "not held to one you approved" not in done.output, done.output


def _resigned_statement(envelope: Path, key: Path, change: Any, dst: Path) -> Path:
    """The statement of ``envelope`` with ``change(statement)`` applied, signed again with the real key and
    written to ``dst`` without a token: what whoever holds the key (or an older gatekeeper) can sign."""
    import base64

    from gatekeeper.attestation import pae

    signer = signing.signer_from_text(key.read_text())
    found = json.loads(envelope.read_text())
    statement = json.loads(base64.b64decode(found["payload"]))
    change(statement)
    payload = json.dumps(statement).encode()
    found["payload"] = base64.b64encode(payload).decode()
    found["signatures"] = [
        {"keyid": signer.key_id, "sig": base64.b64encode(signer.sign(pae(found["payloadType"], payload))).decode()}
    ]
    found.pop("timestamp", None)
    dst.write_text(json.dumps(found))
    return dst


def test_a_pass_whose_statement_does_not_say_the_run_was_complete_is_refused_by_every_verifier(
    two_runs: dict[str, Path], tmp_path: Path
) -> None:
    # a genuine pass whose predicate has no scope (as a statement of a gatekeeper before scope was recorded):
    # bundle verify refuses a record without one; attestation verify and the script took it as a complete run
    genuine = two_runs["root"] / "out-pass" / "gatekeeper.intoto.json"
    unscoped = _resigned_statement(
        genuine, tmp_path / "gatekeeper.key", lambda s: s["predicate"].pop("scope"), tmp_path / "unscoped.intoto.json"
    )
    script = [sys.executable, "-I", str(Path(__file__).parents[1] / "gatekeeper" / "verify_attestation.py")]
    said = "--require-pass: the statement does not say the run was complete (its predicate has no scope.complete"
    for envelope, code in ((genuine, 0), (unscoped, 1)):
        ran = subprocess.run([*script, str(envelope), str(two_runs["pub"]), "--require-pass"],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert ran.returncode == code, ran.stderr
        assert (f"REJECTED: {said}" in ran.stderr) == bool(code), ran.stderr
        done = _cli(["attestation", "verify", str(envelope), "--public-key", str(two_runs["pub"]), "--require-pass"])
        assert done.exit_code == code, done.output
        assert (said in done.output) == bool(code), done.output
    # authentic it still is: without --require-pass both verify it
    assert _cli(["attestation", "verify", str(unscoped), "--public-key", str(two_runs["pub"])]).exit_code == 0
    ran = subprocess.run([*script, str(unscoped), str(two_runs["pub"])], capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
    # and the bundle verifier, of a record without a scope, in the same words
    from gatekeeper import audit
    from gatekeeper.auditchain import stored_line

    signer = signing.signer_from_text((tmp_path / "gatekeeper.key").read_text())
    record = json.loads(_entry(two_runs["pass"], "audit/record.jsonl"))
    for name in ("sig", "timestamp", "scope"):
        record.pop(name)
    record["sig"] = audit.sign_record(record, signer)
    forged = _resigned(two_runs["pass"], tmp_path / "unscoped.zip", {"audit/record.jsonl": stored_line(record) + b"\n"},
                       tmp_path / "gatekeeper.key")  # fmt: skip
    done = _cli(["bundle", "verify", str(forged), "--public-key", str(two_runs["pub"]), "--require-pass"])
    assert done.exit_code == 1, done.output
    assert "--require-pass: audit record #1 does not say the run was complete (it has no scope.complete" in done.output


def test_a_retired_key_is_judged_by_the_signature_that_verifies_not_by_the_key_id_named(
    two_runs: dict[str, Path], tmp_path: Path
) -> None:
    # a second trusted key, never retired; the run's own key is retired since 2020, before every token
    assert _cli(["key", "generate", "--private", str(tmp_path / "b.key"), "--public", str(tmp_path / "b.pub")]).exit_code == 0
    other = signing.signer_from_text((tmp_path / "b.key").read_text()).key_id
    signer = signing.signer_from_text((tmp_path / "gatekeeper.key").read_text()).key_id
    # the run's attestation, its signature labelled with the other key's id (the signature itself untouched)
    envelope = json.loads((two_runs["root"] / "out-pass" / "gatekeeper.intoto.json").read_text())
    envelope["signatures"][0]["keyid"] = other
    relabelled = tmp_path / "relabelled.intoto.json"
    relabelled.write_text(json.dumps(envelope))
    said = f"a signature names key {other}, but it verifies with key {signer}: gatekeeper writes the id of the key that signs"
    keys = ["--public-key", str(two_runs["pub"]), "--public-key", str(tmp_path / "b.pub")]
    done = _cli(["attestation", "verify", str(relabelled), *keys])
    assert done.exit_code == 1 and said in done.output, done.output
    script = [sys.executable, "-I", str(Path(__file__).parents[1] / "gatekeeper" / "verify_attestation.py")]
    ran = subprocess.run(
        [*script, str(relabelled), str(two_runs["pub"])], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 1 and f"REJECTED: {said}" in ran.stderr and not ran.stdout, ran.stderr
    # the bundle's manifest names the other key as the attestation's signer, signed again with the run's key
    renamed = _resigned(two_runs["pass"], tmp_path / "renamed.zip", {}, tmp_path / "gatekeeper.key", {"key_id": other})
    stamped = [*keys, "--tsa-cert", str(two_runs["ca"])]
    done = _cli(["bundle", "verify", str(renamed), *stamped])
    assert done.exit_code == 1 and "intact" not in done.output, done.output
    assert (
        f"manifest.json: key_id says the attestation was signed by {other}, but the signature that verifies on it is by "
        f"key {signer}: the manifest names another signer than the one that signed"
    ) in done.output
    # the genuine bundle, its key retired: the attestation is judged by the key that signed it
    done = _cli(["bundle", "verify", str(two_runs["pass"]), *stamped, "--retired", f"{signer}=2020-01-01"])
    assert done.exit_code == 1, done.output
    assert f"REJECTED: attestation/gatekeeper.intoto.json: signed by key {signer}, retired since 2020-01-01" in done.output
    done = _cli(["bundle", "verify", str(two_runs["pass"]), *stamped, "--retired", f"{other}=2020-01-01"])
    assert done.exit_code == 0 and "REJECTED" not in done.output, done.output
    assert _cli(["attestation", "verify", str(two_runs["root"] / "out-pass" / "gatekeeper.intoto.json"), *keys]).exit_code == 0
