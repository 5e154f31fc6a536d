"""A link in the checkout leading outside its git work tree is refused before any tool reads it.

The tools follow links: a pull request adding ``conf.py -> ~/.git-credentials`` had mypy quote the
runner's file (``Name "..." is not defined``) in the console, ``gatekeeper.json`` and the SARIF
uploaded to the code-scanning service, where no redaction rule masks it. Each test shows the tool by
hand reading the file outside, then runs the real checks and greps every output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.lint import LintChecker
from gatekeeper.checkers.secrets import SecretsChecker
from gatekeeper.checkers.security import SecurityChecker
from gatekeeper.checkers.types import TypesChecker
from gatekeeper.findings import Status, Verdict
from tests.test_checkout import repo
from tests.test_engine import run

#: what the runner's file holds; split so that this file does not hold it whole
SECRET = "Sup3rS3cret" + "Passw0rd"
CHECKS = ("lint", "types", "security", "secrets")
POLICY = "".join(f"[checks.{name}]\nenabled = true\n" for name in CHECKS)
FORMATS = ["--format", "json,sarif,html,markdown,junit"]


def runner_file(tmp_path: Path) -> Path:
    """A file of the runner's holding a credential as ``~/.git-credentials`` does."""
    home = tmp_path / "home" / "runner"
    home.mkdir(parents=True)
    secret = home / ".git-credentials"
    secret.write_text(f"user:{SECRET}\n", encoding="utf-8")
    return secret


def mypy_by_hand(root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", *args], cwd=root, capture_output=True, text=True, timeout=300
    )
    return done.stdout + done.stderr


def every_output(root: Path, done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    out = {"stdout": done.stdout, "stderr": done.stderr}
    for path in sorted((root / "gatekeeper-reports").rglob("*")):
        if path.is_file():
            out[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    audit = root / ".gatekeeper" / "audit.jsonl"
    if audit.is_file():
        out[str(audit)] = audit.read_text(encoding="utf-8")
    return out


@pytest.mark.parametrize("how", ["absolute", "climbing", "chain", "folder", "dangling", "proc", "git-config"])
def test_a_tracked_link_leading_outside_refuses_the_run_and_nothing_it_leads_to_reaches_an_output(
    tmp_path: Path, cli: Any, how: str
) -> None:
    secret = runner_file(tmp_path)
    root = tmp_path / "work" / "proj"
    files = {"m.py": "def f(x: int) -> int:\n    return x\n", "gatekeeper.toml": POLICY}
    write_files(root, files)
    if how == "absolute":
        links = {"conf.py": str(secret)}
    elif how == "climbing":  # relative, climbing out with ..
        links = {"pkg/conf.py": "../../../home/runner/.git-credentials"}
    elif how == "chain":  # a link inside the tree to a link leading out
        links = {"conf.py": "alias.py", "alias.py": str(secret)}
    elif how == "folder":  # every file below it would be read
        (secret.parent / "creds.py").write_text(f"user:{SECRET}\n", encoding="utf-8")
        links = {"vendor": str(secret.parent)}
    elif how == "dangling":  # the job or the tests could create it
        links = {"conf.py": str(tmp_path / "not-yet" / "conf.py")}
    elif how == "proc":
        links = {"env.py": "/proc/self/environ"}
    else:  # inside the work tree, but git's own: actions/checkout persists its token there
        links = {"conf.py": ".git/config"}
    for name, target in links.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)
    repo(root, {})
    if how == "git-config":
        with (root / ".git" / "config").open("a", encoding="utf-8") as config:
            config.write(f'[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic {SECRET}\n')
    if how in ("absolute", "chain"):  # the hole: mypy by hand quotes the runner's file
        assert f'Name "{SECRET}" is not defined' in mypy_by_hand(root, ".")
    done = cli(["check", "--only", ",".join(CHECKS), *FORMATS], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "error"
    assert {c["name"]: c["status"] for c in report["checks"]} == dict.fromkeys(CHECKS, "error")  # none ran
    resolved = {name: os.path.realpath(root / name) for name in links}
    named = sorted(f"{name} -> {target}" for name, target in resolved.items())
    assert report["checkout"]["links_out"] == named
    assert f"leading outside its git work tree, which the tools would follow: {named[0]}" in done.stdout
    assert "remove the link, point it inside the repository, or commit the file itself" in done.stdout
    assert "verdict: ERROR (a link in the checkout leads outside its git work tree" in done.stdout
    for where, text in every_output(root, done).items():
        assert SECRET not in text, f"the runner's file leaked into {where}"
        assert "PATH=" not in text, where


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def test_links_inside_the_tree_are_read_as_before(tmp_path: Path) -> None:
    """A link to a file, a folder link, one climbing with .., a chain passing outside and coming back,
    and an untracked virtualenv whose interpreter links outside (no check reads it): every check
    runs, and mypy's findings are those mypy reports by hand."""
    root = tmp_path / "proj"
    write_files(root, {"pkg/__init__.py": "", "pkg/a.py": "x: int = 'a'\n", "pkg/deep/__init__.py": "", "app.py": "import os\n"})
    (root / "alias.py").symlink_to("pkg/a.py")
    (root / "pkg" / "deep" / "up.py").symlink_to(Path("..") / "a.py")
    (root / "linked").symlink_to("pkg", target_is_directory=True)
    (tmp_path / "hop.py").symlink_to(root / "pkg" / "a.py")  # outside, leading back inside
    (root / "back.py").symlink_to(tmp_path / "hop.py")
    repo(root, {".gitignore": "gatekeeper.toml\nout/\n"})
    venv = root / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\n")
    (venv / "bin" / "python").symlink_to(sys.executable)
    checkers = {"lint": LintChecker(), "types": TypesChecker(), "security": SecurityChecker(), "secrets": SecretsChecker()}
    result = run(root, checkers, POLICY)
    assert {c.name: c.status for c in result.checks} == {
        "lint": Status.FAIL, "secrets": Status.PASS, "security": Status.PASS, "types": Status.FAIL,
    }  # fmt: skip
    assert "links_out" not in result.extra["checkout"] and result.verdict is Verdict.FAIL, result.extra["checkout"]
    types = next(c for c in result.checks if c.name == "types")
    assert sorted(f.location.path for f in types.findings if f.location) == sorted(
        line.split(":", 1)[0] for line in mypy_by_hand(root, ".").splitlines() if ": error:" in line
    )


def test_an_ignored_folder_linking_outside_that_mypy_follows_an_import_into_is_refused(tmp_path: Path) -> None:
    """``vendor`` is git-ignored (so never compared) and leads to a folder of the runner's; mypy
    follows ``import vendor`` into it and quotes the file. The types check is an error whose
    message names the link, and nothing of the file reaches the result."""
    secret = runner_file(tmp_path)
    (secret.parent / "__init__.py").write_text(f"user:{SECRET}\n", encoding="utf-8")
    root = repo(tmp_path / "proj", {"m.py": "import vendor\n", ".gitignore": "vendor\ngatekeeper.toml\nout/\n"})
    (root / "vendor").symlink_to(secret.parent, target_is_directory=True)
    assert f'Name "{SECRET}" is not defined' in mypy_by_hand(root, "m.py")
    result = run(root, {"types": TypesChecker()}, '[checks.types]\nenabled = true\npaths = ["m.py"]\n')
    named = f"vendor -> {os.path.realpath(secret.parent)}"
    assert result.verdict is Verdict.ERROR and result.exit_code == 3
    assert result.checks[0].status is Status.ERROR and named in (result.checks[0].error or "")
    assert result.extra["checkout"]["links_out"] == [named]
    assert SECRET not in json.dumps(result.to_dict())


def test_an_untracked_link_leading_outside_that_bandit_would_scan_is_refused(tmp_path: Path) -> None:
    """An untracked link git does not ignore (the job made it) leads to a file outside that bandit,
    walking its paths, scans and quotes; the security check is an error naming it, and the lint check,
    which never reads it, runs."""
    outside = tmp_path / "elsewhere" / "deploy.py"
    outside.parent.mkdir()
    outside.write_text(f'import subprocess\nsubprocess.call("deploy --password {SECRET}", shell=True)\n', encoding="utf-8")
    root = repo(tmp_path / "proj", {"app.py": "x = 1\n", ".gitignore": "gatekeeper.toml\nout/\n"})
    (root / "deploy.py").symlink_to(outside)
    by_hand = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-f", "json", "-r", "."], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert SECRET in by_hand.stdout  # bandit follows it and quotes the line
    result = run(root, {"security": SecurityChecker(), "lint": LintChecker()}, "[checks.lint]\nenabled = true\n")
    named = f"deploy.py -> {os.path.realpath(outside)}"
    statuses = {c.name: c.status for c in result.checks}
    assert statuses["security"] is Status.ERROR and named in (next(c for c in result.checks if c.name == "security").error or "")
    assert result.extra["checkout"]["links_out"] == [named] and result.verdict is Verdict.ERROR
    assert SECRET not in json.dumps(result.to_dict())


def test_an_untracked_link_leading_outside_in_a_submodule_is_refused_too(tmp_path: Path) -> None:
    """A checked-out submodule's files are compared as a work tree of their own, so the
    superproject's snapshot holds no stat data for them: its untracked link leading out, which
    bandit walks into, is refused all the same."""
    outside = tmp_path / "elsewhere" / "deploy.py"
    outside.parent.mkdir()
    outside.write_text(f'import subprocess\nsubprocess.call("deploy --password {SECRET}", shell=True)\n', encoding="utf-8")
    repo(tmp_path / "lib", {"lib.py": "y = 2\n"})
    root = repo(tmp_path / "proj", {"app.py": "x = 1\n", ".gitignore": "gatekeeper.toml\nout/\n"})
    subprocess.run(
        ["git", "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(tmp_path / "lib"), "vendored"],
        cwd=root, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    (root / "vendored" / "deploy.py").symlink_to(outside)
    result = run(root, {"security": SecurityChecker()}, "[checks.security]\nenabled = true\n")
    named = f"vendored/deploy.py -> {os.path.realpath(outside)}"
    assert result.checks[0].status is Status.ERROR and named in (result.checks[0].error or ""), result.checks[0]
    assert result.extra["checkout"]["links_out"] == [named] and result.verdict is Verdict.ERROR
    assert SECRET not in json.dumps(result.to_dict())
