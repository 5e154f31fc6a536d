"""A checker plugin whose code comes from the project under review is never imported.

A checker runs inside gatekeeper beside every other check: a plugin of the checkout (an editable
install of it, a folder of it on ``sys.path``, a package installed from it) could rewrite any check's
result. The project here has a real bandit finding; its plugin, imported, would turn the security
check into a pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.plugin import install_plugin
from tests.helpers.projects import bandit_json, git_init, only, write

#: imported, this module leaves a mark and makes the security check report a pass over bandit's finding
HOSTILE = """\
from pathlib import Path
Path(__file__).resolve().parent.parent.joinpath("imported.txt").write_text("imported")
from gatekeeper.checkers import security
from gatekeeper.findings import CheckResult, Status


def _pass(self, section, ctx):
    return CheckResult(name="security", status=Status.PASS, summary="0 issues", tool_name="bandit", tool_version="",
                       metrics={"files_scanned": 1, "lines_scanned": 3, "counts": {"high": 0, "medium": 0, "low": 0}})


security.SecurityChecker.run = _pass


class Checker:
    name = "a0"
    description = "style"
    enabled_by_default = False
    options = {}

    def run(self, section, ctx):
        raise RuntimeError("never run")
"""


def _project(root: Path) -> Path:
    write(root, {
        "app.py": "import subprocess\n\n\ndef go(cmd):\n    return subprocess.call(cmd, shell=True)\n",
        "gatekeeper.toml": only("security"),
        ".gitignore": "gatekeeper-reports/\nimported.txt\n",
    })  # fmt: skip
    return root


@pytest.mark.parametrize("where", ["in the tree", "installed from the tree"])
def test_a_checker_from_the_checkout_is_not_imported_and_the_run_is_an_error(tmp_path: Path, where: str, gk) -> None:
    root = _project(tmp_path / "proj")
    if where == "in the tree":  # as an editable install's path entry puts it on sys.path
        site = install_plugin(root / "vendor", "hostile-gate", "hostile_gate", HOSTILE, {"a0": "hostile_gate:Checker"})
    else:  # copied into an environment outside the tree, its direct_url.json naming the project (pip install .)
        site = install_plugin(tmp_path / "site", "hostile-gate", "hostile_gate", HOSTILE, {"a0": "hostile_gate:Checker"})
        info = site / "hostile_gate-1.0.dist-info" / "direct_url.json"
        info.write_text(json.dumps({"url": root.as_uri(), "dir_info": {}}), encoding="utf-8")
    git_init(root)
    assert [r["test_id"] for r in bandit_json(root, "-r", "app.py")["results"]] == ["B404", "B602"]  # bandit by hand

    done = gk(["check", ".", "--no-audit"], cwd=root, env={"PYTHONPATH": str(site)})

    assert done.returncode == 3, done.stdout + done.stderr
    assert not (site / "imported.txt").exists() and not (site.parent / "imported.txt").exists()
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    status = {c["name"]: c for c in report["checks"]}
    assert status["security"]["status"] == "fail"
    assert sorted(f["rule_id"] for f in status["security"]["findings"]) == ["B404", "B602"]
    assert status["a0"]["status"] == "error" and "a checker never runs from the checkout" in status["a0"]["error"]
    named = "vendor/hostile_gate/__init__.py" if where == "in the tree" else "per its direct_url.json"
    assert named in status["a0"]["error"]
    assert report["verdict"] == "error"


def test_a_checker_installed_outside_the_checkout_still_runs(tmp_path: Path, gk) -> None:
    root = _project(tmp_path / "proj")
    (root / "app.py").write_text("def go():\n    return 1\n", encoding="utf-8")
    source = "class Checker:\n    name = 'a0'\n    options = {}\n\n    def run(self, section, ctx):\n"
    source += "        raise RuntimeError('ran')\n"
    site = install_plugin(tmp_path / "site", "fine-gate", "fine_gate", source, {"a0": "fine_gate:Checker"})
    git_init(root)
    done = gk(["check", ".", "--no-audit"], cwd=root, env={"PYTHONPATH": str(site)})
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    status = {c["name"]: c for c in report["checks"]}
    assert done.returncode == 3 and "RuntimeError: ran" in status["a0"]["error"]  # imported and run: its own error
    assert status["security"]["status"] == "pass"


def test_the_security_hook_imports_no_checker_of_the_checkout(tmp_path: Path, gk) -> None:
    root = _project(tmp_path / "proj")
    site = install_plugin(root / "vendor", "hostile-gate", "hostile_gate", HOSTILE, {"a0": "hostile_gate:Checker"})
    git_init(root)
    done = gk(["hook", "security", "app.py"], cwd=root, env={"PYTHONPATH": str(site)})
    assert done.returncode == 1, done.stdout + done.stderr  # bandit's B602 blocks, as bandit by hand says
    assert "B602" in done.stdout + done.stderr
    assert not (site / "imported.txt").exists() and not (site.parent / "imported.txt").exists()


def _marks(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("imported.txt"))


def test_a_distribution_in_the_tree_calling_itself_gatekeeper_is_not_exempt(tmp_path: Path, gk) -> None:
    # only gatekeeper's own package is trusted: metadata in the tree may claim any distribution name
    root = _project(tmp_path / "proj")
    site = install_plugin(root / "src", "hostile-gate", "hostile_gate", HOSTILE, {"a0": "hostile_gate:Checker"})
    meta = site / "hostile_gate-1.0.dist-info" / "METADATA"
    meta.write_text(meta.read_text(encoding="utf-8").replace("Name: hostile-gate", "Name: gatekeeper"), encoding="utf-8")
    git_init(root)

    done = gk(["check", ".", "--no-audit"], cwd=root, env={"PYTHONPATH": str(site)})

    assert done.returncode == 3, done.stdout + done.stderr
    assert _marks(root) == []
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    status = {c["name"]: c for c in report["checks"]}
    assert sorted(f["rule_id"] for f in status["security"]["findings"]) == ["B404", "B602"]
    assert status["a0"]["status"] == "error" and "src/hostile_gate/__init__.py" in status["a0"]["error"]


def test_a_run_of_one_folder_imports_no_checker_from_elsewhere_in_its_work_tree(tmp_path: Path, gk) -> None:
    # the pull request controls the whole checkout, not only the folder the run judges
    repo = tmp_path / "repo"
    root = _project(repo / "service")
    site = install_plugin(repo / "tools", "hostile-gate", "hostile_gate", HOSTILE, {"a0": "hostile_gate:Checker"})
    write(repo, {".gitignore": "imported.txt\n"})
    git_init(repo)

    done = gk(["check", "service", "--no-audit"], cwd=repo, env={"PYTHONPATH": str(site)})

    assert done.returncode == 3, done.stdout + done.stderr
    assert _marks(repo) == []
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    status = {c["name"]: c for c in report["checks"]}
    assert sorted(f["rule_id"] for f in status["security"]["findings"]) == ["B404", "B602"]
    assert "a checker never runs from the checkout" in status["a0"]["error"]


def test_commands_that_judge_no_run_import_no_checker_of_the_checkout_they_run_in(tmp_path: Path, gk) -> None:
    # a renderer, a policy command or a verifier run in the checkout (a later CI step, the same environment)
    root = _project(tmp_path / "proj")
    site = install_plugin(root / "vendor", "hostile-gate", "hostile_gate", HOSTILE, {"a0": "hostile_gate:Checker"})
    git_init(root)
    done = gk(["check", ".", "--no-audit"], cwd=root, env={"PYTHONPATH": str(site)})
    assert done.returncode == 3 and _marks(root) == [], done.stdout + done.stderr
    results = root / "gatekeeper-reports" / "gatekeeper.json"

    commands = (
        ["report", str(results), "--format", "html", "--output-dir", str(tmp_path / "out")],
        ["policy", "validate"],
        ["policy", "show"],
        ["attestation", "verify", str(results.parent / "gatekeeper.intoto.json"), "--policy", "gatekeeper.toml"],
    )
    for args in commands:
        done = gk(args, cwd=root, env={"PYTHONPATH": str(site)})
        assert _marks(root) == [], (args, done.stdout + done.stderr)
        assert "Traceback" not in done.stderr, args
    page = (tmp_path / "out" / "gatekeeper.html").read_text(encoding="utf-8")
    assert "B602" in page
