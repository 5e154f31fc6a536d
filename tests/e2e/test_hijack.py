"""What the gate writes and prints cannot be hijacked, and never carries a secret.

Each test mounts an attack a pull request can make with files it adds (symbolic links, a hostile
policy, a hostile requirements file, hostile file names, an edited audit log) against the real
``gatekeeper check`` and the real tools, then greps every output: the console, the annotations,
the job summary, every report format and the audit log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.env import clean_env

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

ONLY = ["check", "--only", "coverage,security,dependencies"]
ALL_FORMATS = ["--format", "json,sarif,html,markdown,junit"]

#: secrets the attacks try to exfiltrate; split so that this file does not hold them whole
URL_TOKEN = "glpat-" + "Qm3xT9vK2pL7wZ5rN8bY"  # a GitLab token in a URL's user-info
ENV_SECRET = "s3cr3t-deploy-" + "value-42"  # the job's DEPLOY_TOKEN: no recognisable shape
SIGNING_KEY = "audit-signing-key-" + "0123456"  # GATEKEEPER_AUDIT_KEY
GIT_CREDENTIAL = "eC1hY2Nlc3MtdG9rZW46Z2hzX2Zha2Vf" + "dG9rZW4xMjM0NTY="  # actions/checkout's extraheader
SECRETS = (URL_TOKEN, ENV_SECRET, SIGNING_KEY, GIT_CREDENTIAL)
JOB_ENV = {"DEPLOY_TOKEN": ENV_SECRET, "GATEKEEPER_AUDIT_KEY": SIGNING_KEY}


def _every_output(root: Path, done: subprocess.CompletedProcess[str], *extra: Path) -> dict[str, str]:
    """{where: text} for the console streams and every file gatekeeper wrote."""
    out = {"stdout": done.stdout, "stderr": done.stderr}
    files = [p for p in (root / "gatekeeper-reports").rglob("*") if p.is_file()] if (root / "gatekeeper-reports").is_dir() else []
    files += [root / ".gatekeeper" / "audit.jsonl", *extra]
    for path in files:
        if path.is_file():
            out[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return out


def _workflow_commands(stdout: str) -> list[str]:
    """Lines a GitHub Actions runner would obey: ``::`` after leading whitespace, or ``##[`` anywhere."""
    return [line for line in stdout.splitlines() if line.lstrip().startswith("::") or "##[" in line]


# --------------------------------------------------------------------------- symbolic links


@pytest.mark.parametrize(
    ("link", "target_is_dir", "args", "named"),
    [
        ("gatekeeper-reports", True, [], "gatekeeper-reports"),
        (".gatekeeper/audit.jsonl", False, [], ".gatekeeper/audit.jsonl"),
        (".gatekeeper", True, [], ".gatekeeper"),
        (".gatekeeper/cache", True, [], ".gatekeeper/cache"),
        ("gatekeeper-reports/sbom.cdx.json", False, [], "gatekeeper-reports/sbom.cdx.json"),
        ("parts", True, ["--results-out", "parts/part-1.json"], "parts"),
        ("out", True, ["--output-dir", "out/reports"], "out"),
    ],
    ids=["reports-dir", "audit-log", "audit-parent", "cache-dir", "sbom", "results-out", "cli-output-dir"],
)
def test_a_link_in_the_checkout_is_never_written_through(
    project, gk, tmp_path: Path, link: str, target_is_dir: bool, args: list[str], named: str
) -> None:
    """Even with a trusted --policy from outside the checkout: exit 2, the link named, nothing
    written where it points (the audit record would have been appended to a shell rc file)."""
    root = project()
    trusted = tmp_path / "trusted.toml"
    (root / "gatekeeper.toml").rename(trusted)
    if link == ".gatekeeper/cache":  # the default cache lives outside the checkout: name one inside it
        trusted.write_text(trusted.read_text() + '\n[cache]\ndir = ".gatekeeper/cache"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    rc_file = elsewhere / ".bashrc"
    rc_file.write_text("# the runner's shell start-up file\n")
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).symlink_to(elsewhere if target_is_dir else rc_file, target_is_directory=target_is_dir)
    done = gk([*ONLY, "--policy", str(trusted), *args], cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{named} in the project is a symbolic link" in done.stderr, done.stderr
    assert "verdict:" not in done.stdout and "Traceback" not in done.stderr  # nothing was checked
    assert sorted(p.name for p in elsewhere.iterdir()) == [".bashrc"]
    assert rc_file.read_text() == "# the runner's shell start-up file\n"


def test_command_line_paths_may_point_anywhere(project, gk, tmp_path: Path) -> None:
    """--output-dir and --results-out outside the project (and through links outside it) are fine."""
    root = project()
    outside = tmp_path / "ci-artifacts"
    outside.mkdir()
    via_link = tmp_path / "artifacts-link"
    via_link.symlink_to(outside, target_is_directory=True)
    done = gk([*ONLY, "--output-dir", str(via_link / "reports"), "--results-out", str(outside / "part.json")], cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (outside / "reports" / "gatekeeper.json").is_file() and (outside / "part.json").is_file()


@pytest.mark.parametrize(
    ("table", "key", "value"),
    [
        ("reports", "output_dir", "/tmp/gk-elsewhere"),
        ("reports", "output_dir", "../../gk-elsewhere"),
        ("audit", "log", "../audit.jsonl"),
        ("cache", "dir", "/tmp/gk-cache"),
        ("checks.sbom", "output", "../../x"),
        # named as a requirements file: /proc/self/environ is refused by its name before its place
        ("checks.dependencies", "source", "/proc/self/cwd/requirements.txt"),
    ],
)
def test_policy_paths_stay_inside_the_project(project, gk, table: str, key: str, value: str) -> None:
    root = project()
    policy = root / "gatekeeper.toml"
    text = policy.read_text()
    header = f"[{table}]\n"
    line = f"{key} = {json.dumps(value)}\n"
    if f"{header}{key} = " in text.replace("\n\n", "\n"):  # the table sets the key already: replace its value
        text = text.replace('source = "requirements.txt"\n', line)
    elif header in text:
        text = text.replace(header, header + line)
    else:
        text += f"\n{header}{line}"
    policy.write_text(text)
    done = gk(ONLY, cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "gatekeeper.toml:" in done.stderr and f"{table}.{key}: " in done.stderr and "leaves the project" in done.stderr
    assert "verdict:" not in done.stdout
    assert not (root.parent / "gk-elsewhere").exists() and not (root.parent.parent / "x").exists()


def test_a_dependency_source_not_named_as_one_is_refused(project, gk) -> None:
    """A policy pointing source at /proc/self/environ (the job's environment, secrets included) is a
    policy error for its name, before anything is read."""
    root = project()
    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text().replace('source = "requirements.txt"\n', 'source = "/proc/self/environ"\n'))
    done = gk([*ONLY, "--no-audit"], cwd=root, env=JOB_ENV)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "checks.dependencies.source: '/proc/self/environ' is neither the environment" in done.stderr
    assert "verdict:" not in done.stdout and ENV_SECRET not in done.stdout + done.stderr


# --------------------------------------------------------------------------- secrets


GIT_CONFIG = f"""[core]
\trepositoryformatversion = 0
[remote "origin"]
\turl = https://github.com/example/project
[http "https://github.com/"]
\textraheader = AUTHORIZATION: basic {GIT_CREDENTIAL}
"""


def test_no_secret_reaches_any_output(project, gk, tmp_path: Path) -> None:
    """requirements.txt holds URLs with a token in their user-info, then includes .git/config (holding
    a checkout credential); the code quotes the job's DEPLOY_TOKEN; the job signs the audit log."""
    root = project()
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text(GIT_CONFIG)
    urls = (
        "safe-pkg==2.0\n"
        f"private-pkg @ https://ci:{URL_TOKEN}@packages.example.com/private_pkg-1.0-py3-none-any.whl\n"
        f"https://{URL_TOKEN}@packages.example.com/other-1.0-py3-none-any.whl\n"
    )
    (root / "requirements.txt").write_text(urls)
    (root / "settings.py").write_text(f'password = "{ENV_SECRET}"\n')
    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text().replace('paths = ["app.py"]', 'paths = ["app.py", "settings.py"]'))
    summary = tmp_path / "step-summary.md"
    env = {**JOB_ENV, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    done = gk([*ONLY, *ALL_FORMATS], cwd=root, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    outputs = _every_output(root, done, summary)
    assert len(outputs) == 2 + 5 + 3 + 2  # console, five reports, the attestation's three files, the audit log, the job summary
    for where, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret[:8]}... leaked into {where}"
    # what the user learns instead: where the unparseable line is, the URLs without user-info
    report = json.loads(outputs[str(root / "gatekeeper-reports" / "gatekeeper.json")])
    unaudited = json.dumps(next(c for c in report["checks"] if c["name"] == "dependencies"))
    assert "requirements.txt:2" in unaudited and "requirements.txt:3" in unaudited
    assert "https://packages.example.com/private_pkg-1.0-py3-none-any.whl" in unaudited
    security = next(c for c in report["checks"] if c["name"] == "security")
    passwords = [f["message"] for f in security["findings"] if f["rule_id"] == "B105"]
    assert passwords == ["Possible hardcoded password (the value is not reported)"]  # found, the value withheld
    assert _workflow_commands(done.stdout) == [line for line in done.stdout.splitlines() if line.startswith("::error ")]
    # the include of .git/config: its first line, a table header, shows it is no requirements file, so
    # the check is an error naming that line (never one "unaudited" per line), and no line of it is shown
    (root / "requirements.txt").write_text(urls + "-r .git/config\n")
    done = gk([*ONLY, *ALL_FORMATS], cwd=root, env=env)
    assert done.returncode == 3, done.stdout + done.stderr
    for where, text in _every_output(root, done, summary).items():
        for secret in SECRETS:
            assert secret not in text, f"{secret[:8]}... leaked into {where}"
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    deps = next(c for c in report["checks"] if c["name"] == "dependencies")
    assert deps["status"] == "error" and ".git/config:1 is not a requirements file" in deps["summary"], deps
    assert "[core]" not in json.dumps(deps) and "extraheader" not in done.stdout + done.stderr
    assert _workflow_commands(done.stdout) == [line for line in done.stdout.splitlines() if line.startswith("::error ")]


@pytest.mark.parametrize("how", ["absolute", "through-a-link"])
def test_requirements_cannot_include_files_outside_the_project(project, gk, how: str) -> None:
    root = project()
    if how == "through-a-link":
        (root / "more.txt").symlink_to("/proc/self/environ")
        include = "-r more.txt"
    else:
        include = "-r /proc/self/environ"
    (root / "requirements.txt").write_text(f"safe-pkg==2.0\n{include}\n-c ../constraints.txt\n")
    done = gk([*ONLY, *ALL_FORMATS, "--no-audit"], cwd=root, env=JOB_ENV)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "requirements.txt:2: -r" in done.stdout and "leads outside the project" in done.stdout
    for where, text in _every_output(root, done).items():
        assert ENV_SECRET not in text, where
        assert "PATH=" not in text, where  # nothing of the environment


# --------------------------------------------------------------------------- forged workflow commands


FORGED = f"x\n::add-mask::{ENV_SECRET}\n  ::notice title=gatekeeper::verdict PASS ##[error]forged.py"
ESCAPED = "a\x1b[2J.py"


def test_file_names_cannot_forge_workflow_commands(project, gk) -> None:
    """A file name holding newlines, indented ``::`` commands, ``##[`` and an escape sequence reaches
    the console and the annotations through coverage data and a bandit finding."""
    root = project()
    env = clean_env()
    (root / FORGED).write_text("def f(flag):\n    if flag:\n        return 1\n    return 2\n\n\nf(False)\n")
    (root / ESCAPED).write_text("import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n")
    subprocess.run([sys.executable, "-m", "coverage", "run", FORGED], cwd=root, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "coverage", "json", "-q"], cwd=root, env=env, check=True, capture_output=True)
    policy = root / "gatekeeper.toml"
    text = (
        policy.read_text()
        .replace("min_total = 0", "min_total = 0\nmin_file = 100")
        .replace('paths = ["app.py"]', f"paths = [{json.dumps(ESCAPED)}]")
    )
    policy.write_text(text)
    done = gk([*ONLY, *ALL_FORMATS], cwd=root, env={**JOB_ENV, "GITHUB_ACTIONS": "true"})
    assert done.returncode == 1, done.stdout + done.stderr
    commands = _workflow_commands(done.stdout)
    assert commands and all(line.startswith("::error file=") for line in commands), commands
    assert "##[" not in done.stdout and "##\\[error]forged.py" in done.stdout  # shown, defused
    assert "x\\n::add-mask::[REDACTED]\\n  ::notice" in done.stdout  # folded onto one line
    # the escape sequence is shown escaped, so the file named is the real one, not "a.py"
    assert "a\\x1b[2J.py" in done.stdout and "\x1b" not in done.stdout
    assert "file=a\\x1b[2J.py" in done.stdout
    assert ENV_SECRET not in done.stdout


def test_audit_show_sanitises_every_field(project, gk) -> None:
    root = project()
    done = gk(["check", "--only", "security"], cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    log = root / ".gatekeeper" / "audit.jsonl"
    record = json.loads(log.read_text())
    record.update(verdict="fail\r" + " " * 40 + "pass", branch="main\n  ::error::forged ##[warning]x", command="check\x1b[2J")
    log.write_text(json.dumps(record) + "\n")
    show = gk(["audit", "show"], cwd=root)
    assert show.returncode == 0, show.stderr
    assert "\r" not in show.stdout and "\x1b" not in show.stdout
    assert "fail\\x0d" in show.stdout and "check\\x1b[2J" in show.stdout
    assert _workflow_commands(show.stdout) == [] and "main\\n  ::error::forged ##\\[warning]x" in show.stdout
    as_json = gk(["audit", "show", "--json"], cwd=root)
    assert as_json.returncode == 0 and _workflow_commands(as_json.stdout) == []
    (shown,) = json.loads(as_json.stdout)
    assert shown["verdict"] == record["verdict"] and shown["branch"] == record["branch"]  # same data, safely printed
