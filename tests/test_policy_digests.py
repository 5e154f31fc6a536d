"""The policy's digests cover every file it was built from: the top file, each file it ``extends``,
its ``waivers_file``, plus the effective policy. They are in gatekeeper.json, the audit record and
the HTML report; ``merge`` and ``bundle`` compare them with the policy they load, naming a changed file."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from gatekeeper.audit import build_record
from gatekeeper.cli import app
from gatekeeper.policy import Policy, load_policy
from gatekeeper.reports.html import render_html
from gatekeeper.reports.json import render_json, schema
from tests.helpers.cli import installed_options
from tests.helpers.samples import failing_result

BASE = '[checks.security]\nfail_on_severity = "low"\n[audit]\nenabled = false\n'
WAIVERS = (
    '[[waivers]]\nid = "w1"\ncheck = "security"\nrule = "B101"\nreason = "asserts in scripts"\n'
    'approved_by = "sec@example.com"\nexpires = 2099-01-01\n'
)


def _project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "shared").mkdir(exist_ok=True)
    (root / "shared" / "base.toml").write_text(BASE)
    (root / "waivers.toml").write_text(WAIVERS)
    (root / "gatekeeper.toml").write_text(
        'extends = "shared/base.toml"\nwaivers_file = "waivers.toml"\n[gate]\nmax_waiver_days = 36600\n'
    )
    return root


def _load(root: Path) -> Policy:
    return load_policy(root, installed_options())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_file_the_policy_was_built_from_has_its_digest(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    policy = _load(root)
    assert [f.to_dict() for f in policy.files] == [
        {"role": "policy", "path": "gatekeeper.toml", "sha256": _sha(root / "gatekeeper.toml")},
        {"role": "extends", "path": "shared/base.toml", "sha256": _sha(root / "shared" / "base.toml")},
        {"role": "waivers", "path": "waivers.toml", "sha256": _sha(root / "waivers.toml")},
    ]
    assert policy.sha256 == _sha(root / "gatekeeper.toml")
    before = policy.effective_sha256
    (root / "shared" / "base.toml").write_text(BASE.replace('"low"', '"high"'))  # FAIL -> PASS for a low finding
    changed = _load(root)
    assert changed.sha256 == policy.sha256  # the top file's digest alone cannot tell
    assert changed.effective_sha256 != before and changed.files[1].sha256 != policy.files[1].sha256
    (root / "waivers.toml").write_text(WAIVERS.replace("B101", "B102"))
    assert _load(root).effective_sha256 not in (before, changed.effective_sha256)


def test_a_preset_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "gatekeeper.toml").write_text('extends = "strict"\n')
    policy = _load(tmp_path)
    assert [(f.role, f.path) for f in policy.files] == [
        ("policy", "gatekeeper.toml"),
        ("extends", "(preset) strict.toml"),
        ("extends", "(preset) default.toml"),  # strict extends default
    ]
    assert (
        policy.files[1].data == (Path(__import__("gatekeeper").__file__).parent.parent / "policies" / "strict.toml").read_bytes()
    )


def _result_under(policy: Policy) -> Any:
    return replace(failing_result(), policy=policy.describe(), extra={})


def test_the_json_result_the_audit_record_and_the_html_carry_them(tmp_path: Path) -> None:
    policy = _load(_project(tmp_path / "p"))
    result = _result_under(policy)
    data = json.loads(render_json(result))
    jsonschema.validate(data, schema())
    assert data["policy"]["effective_sha256"] == policy.effective_sha256
    assert [f["path"] for f in data["policy"]["files"]] == ["gatekeeper.toml", "shared/base.toml", "waivers.toml"]
    record = build_record(result, {}, "check")
    assert record["policy"]["effective_sha256"] == policy.effective_sha256
    assert record["policy"]["files"] == [f.to_dict() for f in policy.files]
    page = render_html(result)
    assert policy.effective_sha256 in page
    for f in policy.files:
        assert f"{f.path} <code>{f.sha256}</code>" in page


def _write_result(path: Path, result: Any) -> Path:
    """``gatekeeper.json`` and the artifacts its checks name, beside it (as a run leaves them)."""
    path.write_text(render_json(result))
    for check in result.checks:
        for name in check.artifacts.values():
            (path.parent / name).write_text("{}")
    return path


def test_bundle_of_an_older_result_refuses_a_changed_extended_file_and_embeds_the_files_as_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "p")
    monkeypatch.chdir(root)
    policy = _load(root)
    results = _write_result(root / "gatekeeper.json", _result_under(policy))
    ok = CliRunner().invoke(app, ["bundle", str(results), "--output", str(tmp_path / "ok.zip")])
    assert ok.exit_code == 0, ok.output
    with zipfile.ZipFile(tmp_path / "ok.zip") as zf:
        sources = sorted(n for n in zf.namelist() if n.startswith("policy/files/"))
        assert sources == [
            "policy/files/01-policy-gatekeeper.toml",
            "policy/files/02-extends-base.toml",
            "policy/files/03-waivers-waivers.toml",
        ]
        assert zf.read(sources[1]) == (root / "shared" / "base.toml").read_bytes()
        manifest = json.loads(zf.read("manifest.json"))
        assert [(e["path"], e["sha256"], e["entry"]) for e in manifest["policy_files"]] == [
            (f.path, f.sha256, name) for f, name in zip(policy.files, sources, strict=True)
        ]
        assert f"sha256 of the effective policy: {policy.effective_sha256}" in zf.read("policy/effective-policy.toml").decode()

    (root / "shared" / "base.toml").write_text(BASE.replace('"low"', '"high"'))
    refused = CliRunner().invoke(app, ["bundle", str(results), "--output", str(tmp_path / "no.zip")])
    assert refused.exit_code == 2
    assert "shared/base.toml (extends) changed since the run" in refused.output
    assert not (tmp_path / "no.zip").exists()


def test_an_older_result_without_file_digests_bundles_only_a_policy_without_other_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "p")
    monkeypatch.chdir(root)
    policy = _load(root)
    old = {"path": policy.path, "sha256": policy.sha256, "source": "file"}  # what results recorded before
    results = _write_result(root / "gatekeeper.json", replace(failing_result(), policy=old))
    refused = CliRunner().invoke(app, ["bundle", str(results), "--output", str(tmp_path / "no.zip")])
    assert refused.exit_code == 2
    assert "recorded only the digest of gatekeeper.toml, but the policy also reads shared/base.toml (extends)" in refused.output


def test_merge_refuses_parts_checked_before_an_extended_file_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "p")
    monkeypatch.chdir(root)
    part = _write_result(tmp_path / "part.json", _result_under(_load(root)))
    (root / "waivers.toml").write_text(WAIVERS.replace("B101", "B102"))
    run = CliRunner().invoke(app, ["merge", str(part), "--output-dir", str(tmp_path / "out"), "--no-audit"])
    assert run.exit_code == 2, run.output
    assert "is not the one the parts were checked with: waivers.toml (waivers) changed since the run" in run.output
    assert not (tmp_path / "out").exists()
