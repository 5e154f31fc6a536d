"""Merge parts signed by the gatekeeper process that wrote them: with keys, a part edited, unsigned
or signed by another key is refused; without keys, the merged verdict says it rests on unauthenticated parts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import signing
from gatekeeper.resultsig import part_signature
from tests.helpers.cli import Runner
from tests.helpers.plugin import plugin_env, policy_text


def _sharded(tmp: Path, plugin_gk: Runner, key_text: str | None) -> tuple[Path, list[Path]]:
    """A project whose pattern check fails, run as two shards (signed when ``key_text`` is given)."""
    (tmp / "app.py").write_text("x = eval('1')\n", encoding="utf-8")
    (tmp / "advisories.json").write_text("[]", encoding="utf-8")
    (tmp / "gatekeeper.toml").write_text(policy_text(), encoding="utf-8")
    env = plugin_env(GATEKEEPER_AUDIT_KEY=key_text) if key_text else plugin_env()
    parts = []
    for i in (1, 2):
        part = tmp / f"part-{i}.json"
        done = plugin_gk(["check", "--shard", f"{i}/2", "--results-out", str(part), "--no-audit"], cwd=tmp, env=env)
        assert done.returncode in (0, 1), done.stderr
        parts.append(part)
    return tmp, parts


def _merge(plugin_gk: Runner, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return plugin_gk(["merge", "part-1.json", "part-2.json", "--format", "json", *args], cwd=project)  # type: ignore[no-any-return]


def _passing(part: Path) -> None:
    """The hostile edit: the part's failing check emptied of findings and marked as passing."""
    data: dict[str, Any] = json.loads(part.read_text())
    for check in data["checks"]:
        check["findings"], check["status"] = [], "pass"
    data["verdict"] = "pass"
    part.write_text(json.dumps(data, indent=2))


def test_signed_parts_merge_and_an_edited_part_is_refused(tmp_path: Path, plugin_gk: Runner) -> None:
    key, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    signer = signing.write_key_pair(key, public)
    (tmp_path / "p").mkdir()
    project, parts = _sharded(tmp_path / "p", plugin_gk, key.read_text())
    for part in parts:
        sig = json.loads((part.parent / (part.name + ".sig")).read_text())
        assert sig["sig"]["keyid"] == signer.key_id and sig["sig"]["alg"] == "ed25519"

    done = _merge(plugin_gk, project, "--public-key", str(public))
    assert done.returncode == 1, done.stderr  # the pattern check's finding survives the merge
    assert "unauthenticated" not in done.stdout + done.stderr
    merged = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert merged["merged"]["authenticated"] is True and merged["merged"]["signing_keys"] == 1
    record = json.loads((project / ".gatekeeper" / "audit.jsonl").read_text().splitlines()[-1])
    assert record["merged"]["authenticated"] is True

    failing = next(p for p in parts if '"status": "fail"' in p.read_text())
    _passing(failing)
    edited = _merge(plugin_gk, project, "--public-key", str(public))
    assert edited.returncode == 2 and f"part {failing.name}: its signature does not match" in edited.stderr
    # re-signed by whoever edited it, with their own key: not a key the merge trusts
    (failing.parent / (failing.name + ".sig")).write_text(part_signature(failing.read_bytes(), signing.generate()))
    resigned = _merge(plugin_gk, project, "--public-key", str(public))
    assert resigned.returncode == 2 and "which is not among the keys given" in resigned.stderr
    (failing.parent / (failing.name + ".sig")).unlink()
    unsigned = _merge(plugin_gk, project, "--public-key", str(public))
    assert unsigned.returncode == 2 and f"part {failing.name} is not signed" in unsigned.stderr


def test_without_a_key_the_verdict_says_it_rests_on_unauthenticated_parts(tmp_path: Path, plugin_gk: Runner) -> None:
    project, parts = _sharded(tmp_path, plugin_gk, None)
    assert not list(tmp_path.glob("*.sig"))
    failing = next(p for p in parts if '"status": "fail"' in p.read_text())
    _passing(failing)
    done = _merge(plugin_gk, project)
    assert done.returncode == 0  # the edit goes through: nothing could tell...
    assert "warning: the verdict rests on 2 unauthenticated part(s)" in done.stdout  # ...and the merge says so
    merged = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert merged["merged"]["authenticated"] is False and merged["merged"]["unauthenticated_parts"] == 2
    record = json.loads((project / ".gatekeeper" / "audit.jsonl").read_text().splitlines()[-1])
    assert record["merged"] == {"authenticated": False, "count": 2, "parts": 2, "unauthenticated_parts": 2, "at": record["time"]}


def _github(run: str, attempt: str = "1") -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": run, "GITHUB_RUN_ATTEMPT": attempt}


def test_a_signed_shard_of_another_ci_run_is_refused_and_a_rerun_of_one_shard_merges(tmp_path: Path, plugin_gk: Runner) -> None:
    key, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    signing.write_key_pair(key, public)
    project = tmp_path / "p"
    project.mkdir()
    (project / "app.py").write_text("x = eval('1')\n", encoding="utf-8")
    (project / "advisories.json").write_text("[]", encoding="utf-8")
    (project / "gatekeeper.toml").write_text(policy_text(), encoding="utf-8")

    def shard(i: int, env: dict[str, str], name: str) -> None:
        args = ["check", "--shard", f"{i}/2", "--results-out", name, "--no-audit"]
        done = plugin_gk(args, cwd=project, env=plugin_env(GATEKEEPER_AUDIT_KEY=key.read_text(), **env))
        assert done.returncode in (0, 1), done.stderr

    def merge(first: str, second: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        args = ["merge", first, second, "--format", "json", "--public-key", str(public)]
        return plugin_gk(args, cwd=project, env=plugin_env(**env))  # type: ignore[no-any-return]

    shard(1, _github("111"), "old-1.json")  # an old run of the same commit and policy, genuinely signed
    shard(1, _github("222"), "part-1.json")
    shard(2, _github("222"), "part-2.json")
    fine = merge("part-1.json", "part-2.json", _github("222"))
    assert fine.returncode in (0, 1) and "different CI runs" not in fine.stderr, fine.stderr
    mixed = merge("old-1.json", "part-2.json", _github("222"))
    assert mixed.returncode == 2, mixed.stderr
    assert "the parts come from different CI runs (old-1.json: run 111, part-2.json: run 222)" in mixed.stderr
    # every part of the old run, merged in a new run: still another run's verdict
    shard(2, _github("111"), "old-2.json")
    replayed = merge("old-1.json", "old-2.json", _github("222"))
    assert replayed.returncode == 2 and "written in CI run 111, and this merge runs in run 222" in replayed.stderr
    local = plugin_gk(["check", "--shard", "1/2", "--results-out", "local-1.json", "--no-audit"], cwd=project,
                      env=plugin_env(GATEKEEPER_AUDIT_KEY=key.read_text()))  # fmt: skip
    assert local.returncode in (0, 1), local.stderr
    nowhere = merge("local-1.json", "part-2.json", _github("222"))
    assert nowhere.returncode == 2 and "local-1.json: no CI run, part-2.json: run 222" in nowhere.stderr
    # GitHub's "re-run failed jobs": shard 2 again in the same run, a later attempt
    shard(2, _github("222", attempt="2"), "part-2.json")
    rerun = merge("part-1.json", "part-2.json", _github("222", attempt="2"))
    assert rerun.returncode in (0, 1) and "CI run" not in rerun.stderr, rerun.stderr
    assert json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())["merged"]["parts"] == 2


def test_runs_are_compared_only_where_a_rerun_keeps_the_run_id() -> None:
    from gatekeeper.errors import UsageError
    from gatekeeper.findings import GateResult, Verdict
    from gatekeeper.merge import _check_one_run
    from gatekeeper.provenance import ci_info

    def part(ci: dict[str, str]) -> GateResult:
        return GateResult(Verdict.PASS, (), "0", "", "", 0.0, extra={"ci": ci})

    circle = [part({"provider": "circleci", "run_id": "wf-1"}), part({"provider": "circleci", "run_id": "wf-2"})]
    _check_one_run(circle, ["a", "b"], {"provider": "circleci", "run_id": "wf-2"})  # "rerun from failed": a new workflow
    gitlab = [part({"provider": "gitlab-ci", "run_id": "7"}), part({"provider": "gitlab-ci", "run_id": "8"})]
    with pytest.raises(UsageError, match=r"different CI runs \(a: run 7, b: run 8\)"):
        _check_one_run(gitlab, ["a", "b"], None)
    # a workflow_run job merging the parts of the run that triggered it names that run
    github = [part({"provider": "github-actions", "run_id": "111"})] * 2
    later = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "222"}
    with pytest.raises(UsageError, match="this merge runs in run 222"):
        _check_one_run(github, ["a", "b"], ci_info(later))
    _check_one_run(github, ["a", "b"], ci_info({**later, "GATEKEEPER_CI_RUN_ID": "111"}))


#: run at gatekeeper's start (``sitecustomize``): right after each part's signature is checked, the
#: part file is rewritten as ``_passing`` would, the swap a process racing the merge could make
_SWAP_AFTER_CHECK = """
import importlib.abc, importlib.util, json, sys

def _swapping(module):
    real = module.signed_by
    def signed_by(path, *args, **kwargs):
        answer = real(path, *args, **kwargs)
        data = json.loads(path.read_text())
        for check in data["checks"]:
            check["findings"], check["status"] = [], "pass"
        data["verdict"] = "pass"
        path.write_text(json.dumps(data, indent=2))
        return answer
    module.signed_by = signed_by

class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "gatekeeper.merge":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            _swapping(module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _Finder())
"""


def test_a_part_rewritten_after_its_signature_was_checked_is_merged_as_signed(tmp_path: Path, plugin_gk: Runner) -> None:
    """The bytes merged are the bytes whose signature was checked, never a second read of the file."""
    key, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    signing.write_key_pair(key, public)
    (tmp_path / "p").mkdir()
    project, parts = _sharded(tmp_path / "p", plugin_gk, key.read_text())
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_SWAP_AFTER_CHECK, encoding="utf-8")
    env = plugin_env()
    env["PYTHONPATH"] = f"{hook}:{env['PYTHONPATH']}"
    args = ["merge", "part-1.json", "part-2.json", "--format", "json", "--public-key", str(public)]
    done = plugin_gk(args, cwd=project, env=env)
    assert any('"verdict": "pass"' in p.read_text() for p in parts)  # the files were swapped after the check
    assert done.returncode == 1, done.stdout + done.stderr  # the signed parts' failure, not the swapped pass
    merged = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert merged["verdict"] == "fail" and merged["merged"]["authenticated"] is True
