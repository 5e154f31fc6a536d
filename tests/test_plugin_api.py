"""What a third-party checker is given and held to beyond running tools: the project's files as git
and the checkout's comparison see them (``ctx.project_files``), a status or severity given as a
string refused with the member to use, a finding without a rule (which no waiver could name) refused,
and ``merge`` of shards that did not have the same checkers installed refused saying so. The plugin
is a real distribution, built into a wheel and installed into a virtualenv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import clean_env
from tests.helpers.plugin import plugin_wheel_venv
from tests.helpers.projects import BUILTINS, git_init, write

pytestmark = pytest.mark.slow  # builds a wheel and a virtualenv

PLUGIN = '''
"""acme_api: what the policy's mode asks of the plugin contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import CheckContext, CheckerBase, Option
from gatekeeper.findings import CheckResult, Finding, Location, Severity, Status, decide_status


class AcmeApi(CheckerBase):
    name = "api"
    options = {
        "mode": Option("str", "files", "what to do", choices=("files", "write", "status", "severity", "norule")),
        "exclude": Option("str_list", [], "globs left out"),
    }

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        mode = section["mode"]
        if mode in ("files", "write"):
            files = ctx.project_files((".py",), exclude=section["exclude"])
            if mode == "write":
                for name in files:
                    with open(ctx.root / name, "a", encoding="utf-8") as out:
                        out.write("# seen\\n")
            metrics = {
                "files": files,
                "all": ctx.project_files(),
                "sub": ctx.project_files(".py", paths=["sub"]),
            }
            return CheckResult("api", Status.PASS, f"{len(files)} files", "acme", "1.0", metrics=metrics)
        if mode == "status":
            return CheckResult("api", "pass", "0 findings", "acme", "1.0")  # type: ignore[arg-type]
        severity: Any = "high" if mode == "severity" else Severity.LOW
        rule = "" if mode == "norule" else "ACME1"
        finding = Finding(rule, severity, "unused name x", blocking=True, location=Location("app.py", 1))
        return CheckResult("api", decide_status((finding,)), "1 finding", "acme", "1.0", findings=(finding,))
'''


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv that sees gatekeeper, with the plugin's wheel installed."""
    return plugin_wheel_venv(tmp_path_factory.mktemp("api"), "acme-api", PLUGIN, {"api": "acme_api:AcmeApi"})


def _project(tmp_path: Path, section: str) -> Path:
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    policy = f'[reports]\nformats = ["json"]\n[audit]\nenabled = false\n{off}[checks.api]\n{section}'
    files = {
        "app.py": "x = 1\n",
        "sub/mod.py": "y = 2\n",
        "README.md": "hi\n",
        ".gitignore": "version.py\nbuild/\n",
        "gatekeeper.toml": policy,
    }
    root = write(tmp_path / "project", files)
    git_init(root)
    # after the commit: an untracked file git does not ignore, and generated files it ignores
    write(root, {"new.py": "z = 3\n", "version.py": "__version__ = '1'\n", "build/out.py": "w = 4\n"})
    os.symlink("app.py", root / "link.py")
    return root


def _check(root: Path, python: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = subprocess.run(
        [str(python), "-m", "gatekeeper", "check", *args], cwd=root, env=clean_env(), capture_output=True, text=True
    )
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    return done, report


def test_project_files_are_what_git_and_the_checkouts_comparison_count(tmp_path: Path, venv_python: Path) -> None:
    root = _project(tmp_path, 'exclude = ["sub"]\n')
    done, report = _check(root, venv_python)
    assert done.returncode == 0, done.stdout + done.stderr
    (check,) = report["checks"]
    # the git-ignored version.py and build/out.py are not the project's; the untracked new.py is;
    # a link is not a regular file; the policy's exclude drops sub/
    assert check["metrics"]["files"] == ["app.py", "new.py"]
    assert check["metrics"]["sub"] == ["sub/mod.py"]
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root, capture_output=True, text=True
    ).stdout.split("\0")
    # listed after the run: gatekeeper's own reports folder is not the project's either
    project = sorted(n for n in listed if n and n != "link.py" and not n.startswith("gatekeeper-reports/"))
    assert check["metrics"]["all"] == project
    assert "version.py" not in check["metrics"]["all"]


def test_a_project_file_a_plugin_rewrites_is_a_change_of_the_run(tmp_path: Path, venv_python: Path) -> None:
    root = _project(tmp_path, 'mode = "write"\n')
    done, report = _check(root, venv_python)
    assert done.returncode == 3, done.stdout + done.stderr
    assert report["verdict"] == "error"
    assert {"app.py", "new.py", "sub/mod.py"} <= set(json.dumps(report["checkout"]).replace('"', " ").split())


def test_project_files_outside_git_make_the_check_an_error(tmp_path: Path, venv_python: Path) -> None:
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    policy = f'[reports]\nformats = ["json"]\n[audit]\nenabled = false\n{off}'
    root = write(tmp_path / "plain", {"app.py": "x = 1\n", "gatekeeper.toml": policy})
    done, report = _check(root, venv_python)
    assert done.returncode == 3, done.stdout + done.stderr
    (check,) = report["checks"]
    assert check["status"] == "error" and "git ls-files failed" in check["error"]


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("status", "invalid status 'pass': use Status.PASS (gatekeeper.findings.Status), not the string"),
        ("severity", "severity 'high' is not a Severity: use Severity.HIGH (gatekeeper.findings.Severity), not the string"),
        ("norule", "finding 1 ('unused name x' at app.py) has an empty rule_id: a waiver names the rule it waives"),
    ],
)
def test_a_result_the_contract_refuses_says_what_to_write(tmp_path: Path, venv_python: Path, mode: str, said: str) -> None:
    root = _project(tmp_path, f'mode = "{mode}"\n')
    done, report = _check(root, venv_python)
    assert done.returncode == 3, done.stdout + done.stderr
    (check,) = report["checks"]
    assert check["status"] == "error" and said in check["error"], check["error"]
    assert check["checker"]["distribution"] == "acme-api"
    assert "Traceback" not in done.stdout + done.stderr


def test_the_readme_contract_says_what_narrowing_a_plugin_may_return(venv_python: Path) -> None:
    """A narrowing with no line and a kind of the plugin's own are valid: the contract says so, and
    the engine takes such a record (a line of None and a custom kind are checked by ``problem``)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    contract = readme[readme.index("## Writing a checker") :]
    flat = " ".join(contract.split())
    assert "a plugin may use a word of its own, any non-empty string, when none fits" in flat
    assert "`line` its line, or `None` when the narrowing has no line" in flat
    assert "`ctx.project_files(suffixes=(), *, paths=(), exclude=())`" in flat
    check = (
        "from gatekeeper.findings import Narrowing\n"
        "assert Narrowing('vulture-whitelist', 'whitelist.py', None, 'names', 'hidden').problem() == ''\n"
        "assert Narrowing('', 'x', None, 'd', 'e').problem() == 'kind is empty'\n"
    )
    subprocess.run([str(venv_python), "-c", check], check=True, env=clean_env())


def test_merge_of_shards_that_had_different_checkers_installed_says_so(tmp_path: Path, venv_python: Path) -> None:
    """A plugin installed where shard 1 ran and not where shard 2 ran: whole checks are dealt by
    name among those installed, so the parts did not add up; merge says which check a part lacked,
    not only that the policy digests differ (the effective policy holds the plugin's section)."""
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS if name != "security")
    root = write(tmp_path / "project", {"app.py": "x = 1\n", "gatekeeper.toml": f"[audit]\nenabled = false\n{off}"})
    git_init(root)
    parts = [tmp_path / "part-1.json", tmp_path / "part-2.json"]
    for index, python in ((1, str(venv_python)), (2, sys.executable)):  # gatekeeper alone, without the plugin
        args = [
            python,
            "-m",
            "gatekeeper",
            "check",
            "--shard",
            f"{index}/2",
            "--results-out",
            str(parts[index - 1]),
            "--no-audit",
        ]
        done = subprocess.run(args, cwd=root, env=clean_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    merge = [str(venv_python), "-m", "gatekeeper", "merge", *map(str, parts), "--output-dir", str(tmp_path / "m")]
    done = subprocess.run(merge, cwd=root, env=clean_env(), capture_output=True, text=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"the shards did not have the same checks installed and enabled ({parts[1]} ran without api)" in done.stderr
    assert "install the same checkers, every plugin, wherever a shard runs and where merge runs" in done.stderr
    # the parts of shards that had it, merged where it is not installed
    args = [str(venv_python), "-m", "gatekeeper", "check", "--shard", "2/2", "--results-out", str(parts[1]), "--no-audit"]
    subprocess.run(args, cwd=root, env=clean_env(), capture_output=True, text=True, check=True)
    merge = [sys.executable, "-m", "gatekeeper", "merge", *map(str, parts), "--output-dir", str(tmp_path / "m2")]
    done = subprocess.run(merge, cwd=root, env=clean_env(), capture_output=True, text=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the shards ran api, which is not installed and enabled here: merge needs every check" in done.stderr
