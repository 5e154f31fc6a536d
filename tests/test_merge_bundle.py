"""A merged run's evidence bundle holds the SBOM its shard wrote: the part carries it (under the
part's signature), the merge writes it into its own output folder, its attestation names it, and
``bundle verify`` passes; an SBOM edited in the bundle, or in an unsigned part, does not pass as the run's."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gatekeeper import signing
from gatekeeper.audit import canonical
from gatekeeper.bundle import manifest_bytes
from gatekeeper.cli import app
from tests.helpers.projects import git_init, only, write

#: the variables by which a run knows it runs in CI (gatekeeper.provenance)
_CI_MARKS = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "CIRCLECI", "TF_BUILD", "BUILDKITE", "GATEKEEPER_CI_RUN_ID")

#: shards a run
pytestmark = pytest.mark.slow

SBOM = "artifacts/sbom/sbom.cdx.json"


def _cli(args: list[str]) -> Result:
    return CliRunner().invoke(app, args)


@pytest.fixture
def sharded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A project checked as two signed shards (security split, sbom whole), each shard's output folder
    gone afterwards as in a CI matrix: only the parts and their signatures reach the merging job."""
    for name in _CI_MARKS:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "keys").mkdir()
    signer = signing.write_key_pair(tmp_path / "keys" / "gatekeeper.key", tmp_path / "keys" / "gatekeeper.pub")
    ignored = "out*/\n.gatekeeper/\npart-*\n"
    root = write(tmp_path / "proj", {"app.py": "def add(a, b):\n    return a + b\n", ".gitignore": ignored})
    write(root, {"gatekeeper.toml": only("sbom", "security").replace("[audit]\nenabled = false\n", "")})
    git_init(root)
    monkeypatch.chdir(root)
    for i in (1, 2):
        monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(signer))  # a run takes it out of the environment
        shard = ["--shard", f"{i}/2", "--results-out", f"part-{i}.json"]
        done = _cli(["check", str(root), *shard, "--output-dir", f"out-{i}", "--no-audit"])
        assert done.exit_code in (0, 1), done.output
    shards = {i: json.loads((root / f"part-{i}.json").read_text()) for i in (1, 2)}
    ran = next(i for i, part in shards.items() if "sbom" in [c["name"] for c in part["checks"]])
    sbom = (root / f"out-{ran}" / "sbom.cdx.json").read_bytes()
    (tmp_path / "shard-sbom.json").write_bytes(sbom)
    for i in (1, 2):
        shutil.rmtree(root / f"out-{i}")
    return {"root": root, "pub": tmp_path / "keys" / "gatekeeper.pub", "key": tmp_path / "keys" / "gatekeeper.key",
            "sbom": tmp_path / "shard-sbom.json", "part": root / f"part-{ran}.json"}  # fmt: skip


def _merge_and_bundle(places: dict[str, Path], out: str, *keys: str) -> tuple[Result, Result]:
    with pytest.MonkeyPatch.context() as env:  # each command takes the key out of the environment
        env.setenv("GATEKEEPER_AUDIT_KEY", places["key"].read_text())
        merged = _cli(["merge", "part-1.json", "part-2.json", "--project", str(places["root"]), "--output-dir", out, *keys])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GATEKEEPER_AUDIT_KEY", places["key"].read_text())
        bundle = _cli(["bundle", f"{out}/gatekeeper.json", "--output", f"{out}.zip"])
    return merged, bundle


def _verify(places: dict[str, Path], bundle: Path) -> Result:
    log = places["root"] / ".gatekeeper" / "audit.jsonl"
    return _cli(["bundle", "verify", str(bundle), "--public-key", str(places["pub"]), "--log", str(log)])


def test_a_merged_runs_bundle_holds_the_shards_sbom_and_verifies(sharded: dict[str, Path]) -> None:
    merged, bundle = _merge_and_bundle(sharded, "merged", "--public-key", str(sharded["pub"]))
    assert merged.exit_code in (0, 1), merged.output
    assert bundle.exit_code == 0, bundle.output
    root = sharded["root"]
    # the SBOM is the shard's, byte for byte, and the merge's attestation names it
    assert (root / "merged" / "sbom.cdx.json").read_bytes() == sharded["sbom"].read_bytes()
    with zipfile.ZipFile(root / "merged.zip") as zf:
        assert zf.read(SBOM) == sharded["sbom"].read_bytes()
    envelope = json.loads((root / "merged" / "gatekeeper.intoto.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    digest = hashlib.sha256(sharded["sbom"].read_bytes()).hexdigest()
    assert digest in [s["digest"].get("sha256") for s in statement["subject"]]
    done = _verify(sharded, root / "merged.zip")
    assert done.exit_code == 0 and "intact" in done.output, done.output

    # the key holder trims the SBOM in the bundle and signs the manifest again: not the artifact the merge attested
    with zipfile.ZipFile(root / "merged.zip") as zf:
        entries = {n: zf.read(n) for n in zf.namelist() if n != "manifest.json"}
        manifest = json.loads(zf.read("manifest.json"))
    sbom = json.loads(entries[SBOM])
    sbom["components"] = sbom["components"][:1]
    entries[SBOM] = json.dumps(sbom).encode()
    manifest["files"] = [{"path": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in sorted(entries.items())]
    manifest.pop("sig")
    manifest["sig"] = signing.signature(signing.signer_from_text(sharded["key"].read_text()), canonical(manifest))
    with zipfile.ZipFile(root / "trimmed.zip", "w") as zf:
        for name, data in sorted(entries.items()):
            zf.writestr(name, data)
        zf.writestr("manifest.json", manifest_bytes(manifest))
    done = _verify(sharded, root / "trimmed.zip")
    assert done.exit_code == 1 and "TAMPERED" in done.output
    assert f"{SBOM}: not an artifact the run attested" in done.output


def test_a_carried_sbom_that_does_not_match_its_digest_is_refused(sharded: dict[str, Path]) -> None:
    # an unsigned merge still checks each carried artifact against the sha256 its part gives it
    part = json.loads(sharded["part"].read_text())
    entry = next(e for e in part["artifact_files"] if e["name"] == "sbom")
    entry["base64"] = base64.b64encode(b'{"bomFormat": "CycloneDX", "components": []}\n').decode()
    sharded["part"].write_text(json.dumps(part))
    merged = _cli(["merge", "part-1.json", "part-2.json", "--project", str(sharded["root"]), "--output-dir", "edited"])
    assert merged.exit_code == 2, merged.output
    assert "does not have the sha256 the part gives it" in merged.output
    assert not (sharded["root"] / "edited" / "sbom.cdx.json").exists()


def test_a_file_no_part_carried_is_not_attested_as_the_merges(sharded: dict[str, Path]) -> None:
    # a part that carries no SBOM (written by an older release): the file already in the folder is another run's
    part = json.loads(sharded["part"].read_text())
    del part["artifact_files"]
    sharded["part"].write_text(json.dumps(part))
    write(sharded["root"] / "stale", {"sbom.cdx.json": '{"bomFormat": "CycloneDX", "components": []}\n'})
    merged = _cli(["merge", "part-1.json", "part-2.json", "--project", str(sharded["root"]), "--output-dir", "stale"])
    assert merged.exit_code == 2, merged.output
    assert "is carried by no part" in merged.output
    assert not (sharded["root"] / "stale" / "gatekeeper.intoto.json").exists()
