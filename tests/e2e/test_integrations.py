"""Where teams already work: pre-commit hooks, pyproject configuration, help with examples,
and the GitHub Action's definition."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
import yaml

from gatekeeper.cli import app
from tests.helpers.cli import REPO

#: a waiver expiry within gate.max_waiver_days of today
SOON = (dt.date.today() + dt.timedelta(days=180)).isoformat()


if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def test_hook_security_scans_only_the_staged_files(tmp_path: Path, gk) -> None:
    (tmp_path / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "risky.py").write_text("import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n")
    (tmp_path / "gatekeeper.toml").write_text('[checks.security]\nfail_on_severity = "high"\n')
    clean = gk(["hook", "security", "clean.py"], cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 files" in clean.stdout or "(1 files" in clean.stdout
    risky = gk(["hook", "security", "clean.py", "risky.py"], cwd=tmp_path)
    assert risky.returncode == 1, risky.stdout + risky.stderr
    assert "B602 risky.py:5" in risky.stdout and "verdict: FAIL" in risky.stdout
    assert not (tmp_path / "gatekeeper-reports").exists() and not (tmp_path / ".gatekeeper" / "audit.jsonl").exists()
    assert gk(["hook", "security"], cwd=tmp_path).returncode == 0  # nothing staged: nothing to do


def test_hook_policy_validates(tmp_path: Path, gk) -> None:
    (tmp_path / "gatekeeper.toml").write_text("[gate]\nfail_on_eror = true\n")
    done = gk(["hook", "policy"], cwd=tmp_path)
    assert done.returncode == 2 and "did you mean 'fail_on_error'" in done.stderr
    (tmp_path / "gatekeeper.toml").write_text("[gate]\nfail_on_error = true\n")
    assert gk(["hook", "policy"], cwd=tmp_path).returncode == 0


def test_pre_commit_hooks_name_real_commands() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    entries = {h["id"]: h["entry"] for h in hooks}
    assert entries == {"gatekeeper-security": "gatekeeper hook security", "gatekeeper-policy": "gatekeeper hook policy"}


def test_pyproject_table_behaves_exactly_like_gatekeeper_toml(tmp_path: Path, gk) -> None:
    policy = '[checks.coverage]\nmin_total = 91.5\n\n[checks.security]\nfail_on_severity = "high"\n\n[[waivers]]\n'
    policy += f'check = "security"\nrule = "B101"\nreason = "r"\nexpires = {SOON}\n'
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "gatekeeper.toml").write_text(policy)
    nested = policy.replace("[checks.", "[tool.gatekeeper.checks.").replace("[[waivers]]", "[[tool.gatekeeper.waivers]]")
    (b / "pyproject.toml").write_text('[project]\nname = "b"\nversion = "1"\n\n' + nested)
    shown_a, shown_b = gk(["policy", "show"], cwd=a), gk(["policy", "show"], cwd=b)
    assert shown_a.returncode == shown_b.returncode == 0
    body = lambda text: text.split("\n", 1)[1]  # noqa: E731 - the first line names the file
    assert body(shown_a.stdout) == body(shown_b.stdout)
    assert tomllib.loads(body(shown_b.stdout))["checks"]["coverage"]["min_total"] == 91.5


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    import typer.main

    command = typer.main.get_command(group)
    stack = [(prefix, command)]
    while stack:
        path, cmd = stack.pop()
        subs = getattr(cmd, "commands", None)
        if subs:
            stack.extend(((*path, name), sub) for name, sub in subs.items())
        else:
            yield path


@pytest.mark.parametrize("command", sorted(_commands(app)), ids=lambda c: " ".join(c))
def test_every_command_has_help_with_an_example(command: tuple[str, ...], tmp_path: Path, gk) -> None:
    done = gk([*command, "--help"], cwd=tmp_path)
    assert done.returncode == 0
    assert "Example" in done.stdout and "gatekeeper " in done.stdout.split("Example", 1)[1]


def test_the_action_runs_check_uploads_sarif_and_reports_and_keeps_the_exit_code() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {"policy", "output-dir"} <= set(action["inputs"])
    steps = action["runs"]["steps"]
    scripts = " ".join(str(s.get("run", "")) for s in steps)
    uses = [s.get("uses", "") for s in steps]
    assert "gatekeeper check" in scripts and "--format json,sarif,html,markdown,junit" in scripts
    assert any(u.startswith("github/codeql-action/upload-sarif") for u in uses)
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    assert steps[-1]["run"].strip().startswith("exit")  # the job fails when the gate fails
