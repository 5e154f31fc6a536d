"""The Action's durable audit log: restored from and pushed to a branch of a real (local, bare) remote."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gatekeeper import audit, auditbranch
from gatekeeper.attestation import PREDICATE_TYPE
from gatekeeper.audit import verify_log
from gatekeeper.cli import app
from gatekeeper.signing import Keyring, Signer, generate, private_pem
from tests.helpers.cli import REPO
from tests.helpers.projects import only, write

KEY = "audit-branch-key-for-tests-only"
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **IDENTITY}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository holding a project with an audited policy on ``main``."""
    bare = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = write(tmp_path / "seed", {"app.py": "def add(a, b):\n    return a + b\n"})
    write(seed, {"gatekeeper.toml": only("security").replace("[audit]\nenabled = false\n", "[audit]\nenabled = true\n")})
    _git(seed, "init", "-q", "-b", "main")
    _git(seed, "add", "-A")
    _git(seed, "commit", "-qm", "project")
    _git(seed, "push", "-q", str(bare), "main")
    return bare


def _job(remote: Path, where: Path) -> Path:
    """A CI job's fresh checkout of ``main``."""
    _git(remote.parent, "clone", "-q", str(remote), str(where))
    return where


def _step(monkeypatch: pytest.MonkeyPatch, event: str, ref: str, *argv: str) -> int:
    monkeypatch.setenv("GITHUB_EVENT_NAME", event)
    monkeypatch.setenv("GITHUB_REF", ref)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", KEY)
    return auditbranch.main([*argv, "--default-branch", "main"])


def _check(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", KEY)
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["check", str(root), "--format", "json"])
    assert done.exit_code == 0, done.output


def _remote_log(remote: Path) -> list[dict[str, object]]:
    text = _git(remote, "show", f"{auditbranch.BRANCH}:{auditbranch.LOG_FILE}")
    return [json.loads(line) for line in text.splitlines()]


def test_trusted_runs_append_to_the_branch_and_a_pull_request_run_leaves_it_alone(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    push = ("push", "refs/heads/main")
    # the first trusted run: no branch yet, so the log starts on a new one
    first = _job(remote, tmp_path / "job1")
    assert _step(monkeypatch, *push, "restore", "--project", str(first)) == 0
    assert "restored 0 record(s) from a new gatekeeper-audit branch" in capsys.readouterr().out
    _check(monkeypatch, first)
    assert _step(monkeypatch, *push, "save", "--project", str(first)) == 0
    assert "pushed 1 record(s) to gatekeeper-audit" in capsys.readouterr().out
    assert [r["seq"] for r in _remote_log(remote)] == [1]
    # two trusted runs at once (a schedule and a tag): both restore record 1 and append their own
    nightly, tag = _job(remote, tmp_path / "job2"), _job(remote, tmp_path / "job3")
    assert _step(monkeypatch, "schedule", "refs/heads/main", "restore", "--project", str(nightly)) == 0
    assert _step(monkeypatch, "push", "refs/tags/v1.0", "restore", "--project", str(tag)) == 0
    _check(monkeypatch, nightly)
    _check(monkeypatch, tag)
    capsys.readouterr()
    assert _step(monkeypatch, "schedule", "refs/heads/main", "save", "--project", str(nightly)) == 0
    assert "attempt 1" in capsys.readouterr().out
    # the tag's push is not a fast-forward any more: it appends its record after the nightly's and retries
    assert _step(monkeypatch, "push", "refs/tags/v1.0", "save", "--project", str(tag)) == 0
    assert "pushed 1 record(s) to gatekeeper-audit" in (out := capsys.readouterr().out) and "attempt 2" in out
    log = _remote_log(remote)
    assert [r["seq"] for r in log] == [1, 2, 3]
    written = [
        hashlib.sha256((job / "gatekeeper-reports" / "gatekeeper.json").read_bytes()).hexdigest() for job in (nightly, tag)
    ]
    assert [r["reports"]["gatekeeper-reports/gatekeeper.json"] for r in log[1:]] == written  # each run's own record
    history = _git(remote, "log", "--format=%s", auditbranch.BRANCH).splitlines()
    assert len(history) == 3  # one commit per push, never rewritten
    # the durable log verifies, its signatures included
    copy = tmp_path / "durable.jsonl"
    copy.write_text(_git(remote, "show", f"{auditbranch.BRANCH}:{auditbranch.LOG_FILE}"))
    outcome = verify_log(copy, KEY.encode())
    assert outcome.ok and outcome.records == 3 and outcome.signed == 3, outcome.problem
    # a pull request's run: neither restored nor saved; its record stays in its own (artifact) log
    before = _git(remote, "rev-parse", auditbranch.BRANCH)
    pr = _job(remote, tmp_path / "pr")
    (pr / ".gatekeeper").mkdir()
    (pr / ".gatekeeper" / "audit.jsonl").write_text('{"planted": true}\n')
    assert _step(monkeypatch, "pull_request", "refs/pull/7/merge", "restore", "--project", str(pr)) == 0
    assert "pull_request on refs/pull/7/merge is not a trusted event" in capsys.readouterr().out
    (pr / ".gatekeeper" / "audit.jsonl").unlink()
    _check(monkeypatch, pr)
    artifacts = tmp_path / "pr-artifacts"
    assert (
        _step(monkeypatch, "pull_request", "refs/pull/7/merge", "save", "--project", str(pr), "--artifact-dir", str(artifacts))
        == 0
    )
    assert _git(remote, "rev-parse", auditbranch.BRANCH) == before and len(_remote_log(remote)) == 3
    assert len((artifacts / "audit.jsonl").read_text().splitlines()) == 1  # its own record, as an artifact


def test_a_broken_log_on_the_branch_is_refused(remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = _job(remote, tmp_path / "job")
    assert _step(monkeypatch, "push", "refs/heads/main", "restore", "--project", str(job)) == 0
    _check(monkeypatch, job)
    _check(monkeypatch, job)
    assert _step(monkeypatch, "push", "refs/heads/main", "save", "--project", str(job)) == 0
    # someone with push access rewrites the branch, deleting record 1
    editor = _job(remote, tmp_path / "editor")
    _git(editor, "checkout", "-q", auditbranch.BRANCH)
    lines = (editor / auditbranch.LOG_FILE).read_text().splitlines()
    (editor / auditbranch.LOG_FILE).write_text(lines[1] + "\n")
    _git(editor, "commit", "-qam", "tidy")
    _git(editor, "push", "-q", "origin", auditbranch.BRANCH)
    later = _job(remote, tmp_path / "later")
    assert _step(monkeypatch, "push", "refs/heads/main", "restore", "--project", str(later)) == 1


@pytest.mark.parametrize(
    ("event", "ref", "trusted"),
    [
        ("push", "refs/heads/main", True),
        ("push", "refs/tags/v2", True),
        ("schedule", "refs/heads/main", True),
        ("workflow_dispatch", "refs/heads/main", True),
        ("push", "refs/heads/feature", False),
        ("workflow_dispatch", "refs/heads/feature", False),
        ("pull_request", "refs/pull/1/merge", False),
        ("pull_request_target", "refs/heads/main", False),
        ("", "", False),
    ],
)
def test_only_trusted_events_touch_the_durable_log(
    event: str, ref: str, trusted: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert auditbranch.trusted_event({"GITHUB_EVENT_NAME": event, "GITHUB_REF": ref}, "main") is trusted
    monkeypatch.setenv("GITHUB_EVENT_NAME", event)
    monkeypatch.setenv("GITHUB_REF", ref)
    assert auditbranch.main(["event", "--default-branch", "main"]) == 0
    assert capsys.readouterr().out == ("trusted\n" if trusted else "untrusted\n")  # what action.yml branches on


# --------------------------------------------------------------------------- the Action's own steps


def _steps() -> dict[str, dict[str, Any]]:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    return {s["id"]: s for s in action["runs"]["steps"] if "id" in s}


def _bash(step: dict[str, Any], env: dict[str, str], cwd: Path) -> str:
    """A ``run:`` step as the runner runs it (bash, its env, GITHUB_OUTPUT); returns what it wrote there."""
    out = cwd / f"output-{step['id']}"
    out.write_text("")
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_"))}
    full.update({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "GITHUB_OUTPUT": str(out), **env})
    full.update(IDENTITY)
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_text() + done.stdout


@pytest.mark.slow
def test_the_actions_steps_keep_the_log_on_trusted_events_only(remote: Path, tmp_path: Path) -> None:
    steps = _steps()
    attest = steps["attest"]
    assert attest["uses"].startswith("actions/attest@") and "steps.event.outputs.kind == 'trusted'" in attest["if"]
    assert attest["with"]["predicate-type"] == PREDICATE_TYPE
    assert attest["with"]["subject-checksums"].endswith("/gatekeeper.subjects.sha256")
    assert attest["with"]["predicate-path"].endswith("/gatekeeper.predicate.json")
    assert "steps.event.outputs.kind == 'trusted'" in steps["audit-restore"]["if"]

    def job(name: str, event: str, ref: str) -> tuple[Path, str]:
        workspace = tmp_path / name
        workspace.mkdir()
        _job(remote, workspace / "project")
        runner = {"GITHUB_EVENT_NAME": event, "GITHUB_REF": ref, "DEFAULT_BRANCH": "main", "GK_PATH": "project", "GK_POLICY": ""}
        kind = _bash(steps["event"], runner, workspace).strip().removeprefix("kind=")
        if kind == "trusted":
            _bash(steps["audit-restore"], {**runner, "GK_BRANCH": auditbranch.BRANCH}, workspace)
        gate = {
            **runner,
            "GK_OUT": "reports",
            "GK_ARGS": "",
            "GK_CACHE_SECRET": "",
            "GK_SIGNING_KEY": KEY,
            "GK_SUBJECTS": "project/app.py",
            "ACTION_PATH": str(REPO),
            "RUNNER_TEMP": str(workspace),
        }
        assert "exit-code=0" in _bash(steps["gate"], gate, workspace)
        save = {**runner, "GK_OUT": "reports", "GK_BRANCH": auditbranch.BRANCH, "GK_SIGNING_KEY": KEY}
        return workspace, kind + "\n" + _bash(steps["audit-save"], save, workspace)

    workspace, said = job("push", "push", "refs/heads/main")
    assert said.startswith("trusted\n") and "pushed 1 record(s) to gatekeeper-audit" in said
    subjects = (workspace / "reports" / "gatekeeper.subjects.sha256").read_text()
    assert "  app.py\n" in subjects and "  gatekeeper.json\n" in subjects  # --subject from the input, and the reports
    workspace, said = job("tag", "push", "refs/tags/v1")
    assert "pushed 1 record(s)" in said and [r["seq"] for r in _remote_log(remote)] == [1, 2]
    workspace, said = job("pr", "pull_request", "refs/pull/3/merge")
    assert said.startswith("untrusted\n") and "is not a trusted event" in said
    assert [r["seq"] for r in _remote_log(remote)] == [1, 2]  # the pull request's run pushed nothing
    assert len((workspace / "reports" / "audit" / "audit.jsonl").read_text().splitlines()) == 1  # its record, as an artifact


def _run_step(monkeypatch: pytest.MonkeyPatch, key_text: str, *argv: str) -> int:
    """An Action step on a push to main, with ``key_text`` as its signing key."""
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", key_text)
    return auditbranch.main([*argv, "--default-branch", "main"])


def _two_jobs_on_a_log_signed_by(remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: Signer) -> tuple[Path, Path]:
    """The branch holding one record signed by ``old``; two jobs that both restored it."""
    first = _job(remote, tmp_path / "first")
    assert _run_step(monkeypatch, private_pem(old), "restore", "--project", str(first)) == 0
    audit.append(first / ".gatekeeper" / "audit.jsonl", {"command": "check", "verdict": "pass"}, old)
    assert _run_step(monkeypatch, private_pem(old), "save", "--project", str(first)) == 0
    jobs = _job(remote, tmp_path / "a"), _job(remote, tmp_path / "b")
    for job in jobs:
        assert _run_step(monkeypatch, private_pem(old), "restore", "--project", str(job)) == 0
    return jobs


def _durable(remote: Path, tmp_path: Path, *public: str) -> Any:
    copy = tmp_path / "durable.jsonl"
    copy.write_text(_git(remote, "show", f"{auditbranch.BRANCH}:{auditbranch.LOG_FILE}"))
    ring = Keyring()
    for pem in public:
        ring.add_public_pem(pem)
    return verify_log(copy, ring)


def test_a_rotation_appended_again_after_a_concurrent_push_is_signed_by_the_key_it_hands_over_from(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = generate(), generate()
    nightly, rotating = _two_jobs_on_a_log_signed_by(remote, tmp_path, monkeypatch, old)
    audit.append(nightly / ".gatekeeper" / "audit.jsonl", {"command": "check", "verdict": "pass"}, old)
    assert _run_step(monkeypatch, private_pem(old), "save", "--project", str(nightly)) == 0
    audit.rotate_key(rotating / ".gatekeeper" / "audit.jsonl", old, new.public_pem())
    capsys.readouterr()
    assert _run_step(monkeypatch, private_pem(old), "save", "--project", str(rotating)) == 0
    assert "attempt 2" in capsys.readouterr().out  # appended again after the nightly's record
    rotation = _remote_log(remote)[-1]
    assert rotation["seq"] == 3 and rotation["sig"]["keyid"] == old.key_id  # type: ignore[index]
    assert rotation["rotate"]["public_key"] == new.public_pem().strip() + "\n"  # type: ignore[index]  # never redacted
    outcome = _durable(remote, tmp_path, old.public_pem())  # the old public key alone follows the rotation
    assert outcome.ok and outcome.records == 3 and outcome.rotations == ((3, old.key_id, new.key_id),), outcome.problem
    audit.append(tmp_path / "durable.jsonl", {"command": "check", "verdict": "pass"}, new)  # the new key takes over
    assert verify_log(tmp_path / "durable.jsonl", _ring(old)).ok


def _ring(*signers: Signer) -> Keyring:
    ring = Keyring()
    for signer in signers:
        ring.add_public_pem(signer.public_pem())
    return ring


@pytest.mark.parametrize("case", ["rotation-then-new-key", "retired-by-another-run"])
def test_records_one_key_cannot_sign_again_after_a_concurrent_push_are_refused_and_nothing_is_pushed(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    old, new = generate(), generate()
    other, late = _two_jobs_on_a_log_signed_by(remote, tmp_path, monkeypatch, old)
    if case == "rotation-then-new-key":  # the other run only checked; this one rotated and then checked with the new key
        audit.append(other / ".gatekeeper" / "audit.jsonl", {"command": "check", "verdict": "pass"}, old)
        audit.rotate_key(late / ".gatekeeper" / "audit.jsonl", old, new.public_pem())
        audit.append(late / ".gatekeeper" / "audit.jsonl", {"command": "check", "verdict": "pass"}, new)
        assert _run_step(monkeypatch, private_pem(old), "save", "--project", str(other)) == 0
        saving_key, expected = new, f"must be signed by the key in force at the end of the log, which is now {old.key_id}"
    else:  # the other run rotated to the new key; this one still signs with the retired key
        audit.rotate_key(other / ".gatekeeper" / "audit.jsonl", old, new.public_pem())
        audit.append(late / ".gatekeeper" / "audit.jsonl", {"command": "check", "verdict": "pass"}, old)
        assert _run_step(monkeypatch, private_pem(old), "save", "--project", str(other)) == 0
        saving_key, expected = old, f"the log's key in force is now {new.key_id}"
    before = _git(remote, "rev-parse", auditbranch.BRANCH)
    capsys.readouterr()
    assert _run_step(monkeypatch, private_pem(saving_key), "save", "--project", str(late)) == 1
    err = capsys.readouterr().err
    assert "another run pushed 1 record(s) to gatekeeper-audit first" in err and expected in err
    assert "nothing was pushed" in err and "run the workflow again" in err
    assert _git(remote, "rev-parse", auditbranch.BRANCH) == before  # the durable log still verifies, as it was
    assert _durable(remote, tmp_path, old.public_pem()).ok
