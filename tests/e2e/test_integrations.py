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
#: the reason and approver every waiver needs
ACCEPTED = 'reason = "asserts are tolerated here"\napproved_by = "lead@example.com"\n'


if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def test_hook_security_scans_only_the_staged_files(tmp_path: Path, cli) -> None:
    (tmp_path / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "risky.py").write_text("import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n")
    (tmp_path / "gatekeeper.toml").write_text('[checks.security]\nfail_on_severity = "high"\n')
    clean = cli(["hook", "security", "clean.py"], cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "(1 file, 2 lines)" in clean.stdout
    risky = cli(["hook", "security", "clean.py", "risky.py"], cwd=tmp_path)
    assert risky.returncode == 1, risky.stdout + risky.stderr
    assert "B602 risky.py:5" in risky.stdout and "verdict: FAIL" in risky.stdout
    assert not (tmp_path / "gatekeeper-reports").exists() and not (tmp_path / ".gatekeeper" / "audit.jsonl").exists()
    assert cli(["hook", "security"], cwd=tmp_path).returncode == 0  # nothing staged: nothing to do


def test_hook_policy_validates(tmp_path: Path, cli) -> None:
    (tmp_path / "gatekeeper.toml").write_text("[gate]\nfail_on_eror = true\n")
    done = cli(["hook", "policy"], cwd=tmp_path)
    assert done.returncode == 2 and "did you mean 'fail_on_error'" in done.stderr
    (tmp_path / "gatekeeper.toml").write_text("[gate]\nfail_on_error = true\n")
    assert cli(["hook", "policy"], cwd=tmp_path).returncode == 0


def test_pre_commit_hooks_name_real_commands() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    entries = {h["id"]: h["entry"] for h in hooks}
    assert entries == {"gatekeeper-security": "gatekeeper hook security", "gatekeeper-policy": "gatekeeper hook policy"}


def test_pyproject_table_behaves_exactly_like_gatekeeper_toml(tmp_path: Path, cli) -> None:
    policy = '[checks.coverage]\nmin_total = 91.5\n\n[checks.security]\nfail_on_severity = "high"\n\n[[waivers]]\n'
    policy += f'check = "security"\nrule = "B101"\n{ACCEPTED}expires = {SOON}\n'
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "gatekeeper.toml").write_text(policy)
    nested = policy.replace("[checks.", "[tool.gatekeeper.checks.").replace("[[waivers]]", "[[tool.gatekeeper.waivers]]")
    (b / "pyproject.toml").write_text('[project]\nname = "b"\nversion = "1"\n\n' + nested)
    shown_a, shown_b = cli(["policy", "show"], cwd=a), cli(["policy", "show"], cwd=b)
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
def test_every_command_has_help_with_an_example(command: tuple[str, ...], tmp_path: Path, cli) -> None:
    done = cli([*command, "--help"], cwd=tmp_path)
    assert done.returncode == 0
    assert "Example" in done.stdout and "gatekeeper " in done.stdout.split("Example", 1)[1]


@pytest.mark.slow
def test_the_action_runs_check_uploads_sarif_and_reports_and_keeps_the_exit_code() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {"policy", "output-dir"} <= set(action["inputs"])
    steps = action["runs"]["steps"]
    scripts = " ".join(str(s.get("run", "")) for s in steps)
    uses = [s.get("uses", "") for s in steps]
    scripts += (REPO / "action" / "gate.sh").read_text()  # the check step runs this script
    assert "gatekeeper check" in scripts and "--format json,sarif,html,markdown,junit" in scripts
    assert any(u.startswith("github/codeql-action/upload-sarif") for u in uses)
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    assert steps[-1]["run"].strip().startswith("exit")  # the job fails when the gate fails


def _action_step(steps: list[dict], step_id: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    return next((i, s) for i, s in enumerate(steps) if s.get("id") == step_id)


def _run_action_script(step: dict, env: dict[str, str], cwd: Path) -> dict[str, str]:  # type: ignore[type-arg]
    """Run a `run:` step of the Action with bash as the runner would; return what it wrote to $GITHUB_OUTPUT."""
    import os
    import subprocess

    out = cwd / f"github-output-{step['id']}"
    out.write_text("")
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_"))}
    full.update({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "GITHUB_OUTPUT": str(out), **env})
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    outputs: dict[str, str] = {}
    lines = iter(out.read_text().splitlines())
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep:  # name<<DELIMITER ... DELIMITER
            name, _, delimiter = line.partition("<<")
            value = "\n".join(iter(lines.__next__, delimiter))
        outputs[name] = value
    return outputs


@pytest.mark.slow
def test_the_action_restores_and_saves_the_cache_under_a_key_from_os_python_tools_and_policy(tmp_path: Path, cli) -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    steps = action["runs"]["steps"]
    k, key_step = _action_step(steps, "cache-key")
    r, restore = _action_step(steps, "cache-restore")
    g, gate = _action_step(steps, "gate")
    s, save = next((i, st) for i, st in enumerate(steps) if str(st.get("uses", "")).startswith("actions/cache/save@"))
    assert k < r < g < s  # key, restore, check, save
    assert restore["uses"].startswith("actions/cache/restore@") and "inputs.cache-secret != ''" in key_step["if"]
    assert restore["with"] == {
        "path": "${{ steps.cache-key.outputs.dir }}",
        "key": "${{ steps.cache-key.outputs.key }}",
        "restore-keys": "${{ steps.cache-key.outputs.restore-keys }}",
    }
    assert save["with"] == {"path": restore["with"]["path"], "key": restore["with"]["key"]}
    assert "always()" in save["if"] and "cache-hit != 'true'" in save["if"]
    assert "runner.os" in key_step["env"]["GK_OS"] and "cache-secret" in gate["env"]["GK_CACHE_SECRET"]

    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n")
    (project / "gatekeeper.toml").write_text('[checks.security]\npaths = ["app.py"]\n[audit]\nenabled = false\n')
    home = {"XDG_CACHE_HOME": str(tmp_path / "runner-cache")}
    outputs = _run_action_script(
        key_step, {"GK_PATH": "project", "GK_POLICY": "", "GK_OS": "Linux", "GITHUB_SHA": "c0ffee", **home}, tmp_path
    )
    printed = cli(["cache", "key", "project"], cwd=tmp_path, env=home).stdout.strip()
    assert outputs["key"] == f"gatekeeper-Linux-{printed}-c0ffee"
    exact, broad = outputs["restore-keys"].splitlines()
    assert exact == f"gatekeeper-Linux-{printed}-" and broad == f"gatekeeper-Linux-{printed.rpartition('-policy.')[0]}-"
    assert outputs["dir"] == cli(["cache", "dir", "project"], cwd=tmp_path, env=home).stdout.strip()
    assert outputs["dir"].startswith(str(tmp_path / "runner-cache" / "gatekeeper" / "repos"))

    secret = "a-repository-secret-of-forty-characters!"
    gate_env = {
        "GK_PATH": "project",
        "GK_POLICY": "",
        "GK_OUT": "reports",
        "GK_ARGS": "--only security",
        "GK_CACHE_SECRET": secret,
        "ACTION_PATH": str(REPO),
        **home,
    }
    import json

    reports = str((tmp_path / "reports").resolve())
    for cached in (0, 1):  # a cold run, then one that finds the saved entries under the same secret
        assert _run_action_script(gate, gate_env, tmp_path) == {
            "exit-code": "1",
            "verdict": "fail",
            "report-dir": reports,
            "sarif": f"{reports}/gatekeeper.sarif",
            "new-code-ref": "",  # a full run: no new-code input
            "new-code-result": "",
        }
        security = next(
            c for c in json.loads((tmp_path / "reports" / "gatekeeper.json").read_text())["checks"] if c["name"] == "security"
        )
        assert security["metrics"]["cached_files"] == cached and security["metrics"]["cache_rejected"] == 0
    assert not (tmp_path / "runner-cache" / "gatekeeper" / "secret.key").exists()
    assert not any(secret.encode() in p.read_bytes() for p in Path(outputs["dir"]).rglob("*") if p.is_file())
