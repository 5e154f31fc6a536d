"""The Action's check step (action/gate.sh): its verdict comes from this run's exit code and its own
fresh report, never from what the checkout committed; only this run's files are uploaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.cli import REPO
from tests.helpers.projects import only

SCRIPT = REPO / "action" / "gate.sh"
FORGED = {"verdict": "pass", "checks": [], "forged": True}


def _gate(cwd: Path, tmp_path: Path, **env: str) -> dict[str, str]:
    """Run gate.sh as the Action's step does; return what it wrote to $GITHUB_OUTPUT."""
    outputs = tmp_path / "github-output"
    outputs.write_text("")
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_", "GK_"))}
    full.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # the `gatekeeper` command
        GITHUB_OUTPUT=str(outputs),
        RUNNER_TEMP=str(tmp_path / "runner-temp"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        GK_PATH=".",
        **env,
    )
    (tmp_path / "runner-temp").mkdir(exist_ok=True)
    done = subprocess.run(["bash", str(SCRIPT)], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(line.partition("=")[::2] for line in outputs.read_text().splitlines())


def _hostile_checkout(root: Path, elsewhere: Path) -> None:
    """A pull request's checkout: a committed report saying pass (SARIF and HTML beside it), and
    ``.gatekeeper`` a link out of the tree (so the real check stops with exit 2)."""
    root.mkdir()
    (root / "app.py").write_text("import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n")
    (root / "gatekeeper.toml").write_text(
        only("security").replace("[audit]\nenabled = false\n", "") + '[checks.security]\npaths = ["app.py"]\n'
    )
    committed = root / "gatekeeper-reports"
    committed.mkdir()
    (committed / "gatekeeper.json").write_text(json.dumps(FORGED))
    (committed / "gatekeeper.sarif").write_text('{"runs": []}')
    (committed / "gatekeeper.html").write_text("<p>all clear</p>")
    elsewhere.mkdir()
    (root / ".gatekeeper").symlink_to(elsewhere)


@pytest.mark.parametrize("output_dir", ["", "gatekeeper-reports"])
def test_a_committed_passing_report_is_never_this_runs_verdict(tmp_path: Path, output_dir: str) -> None:
    root = tmp_path / "checkout"
    _hostile_checkout(root, tmp_path / "elsewhere")
    got = _gate(root, tmp_path, GK_OUT=output_dir)
    assert (got["exit-code"], got["verdict"], got["sarif"]) == ("2", "error", "")  # the link stopped the check
    report_dir = Path(got["report-dir"])
    assert list(report_dir.iterdir()) == []  # nothing committed is uploaded as this run's output
    if output_dir:
        assert report_dir == (root / output_dir).resolve()  # emptied before the run
    else:
        assert tmp_path / "runner-temp" in report_dir.parents  # a fresh folder outside the checkout
        assert (root / "gatekeeper-reports" / "gatekeeper.json").read_text() == json.dumps(FORGED)
    assert list((tmp_path / "elsewhere").iterdir()) == []  # and nothing written through the link


def test_the_verdict_is_this_runs_own(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    _hostile_checkout(root, tmp_path / "elsewhere")
    (root / ".gatekeeper").unlink()
    got = _gate(root, tmp_path, GK_OUT="gatekeeper-reports")
    assert (got["exit-code"], got["verdict"]) == ("1", "fail")  # B602 in app.py, whatever was committed
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert report["verdict"] == "fail" and "forged" not in report
    assert got["sarif"] == str((root / "gatekeeper-reports" / "gatekeeper.sarif").resolve())
    (root / "app.py").write_text("def add(a, b):\n    return a + b\n")
    got = _gate(root, tmp_path)
    assert (got["exit-code"], got["verdict"]) == ("0", "pass")
    assert json.loads((Path(got["report-dir"]) / "gatekeeper.json").read_text())["verdict"] == "pass"


def test_a_pass_its_own_report_does_not_confirm_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    _hostile_checkout(root, tmp_path / "elsewhere")
    (root / ".gatekeeper").unlink()
    (root / "app.py").write_text("x = 1\n")
    # --output-dir among the extra arguments sends the reports elsewhere: the folder gate.sh reads stays empty
    got = _gate(root, tmp_path, GK_ARGS=f"--output-dir {tmp_path / 'other'}")
    assert (got["exit-code"], got["verdict"]) == ("3", "error")


@pytest.mark.parametrize("where", ["link", "parent"])
def test_an_output_dir_it_must_not_empty_is_refused(tmp_path: Path, where: str) -> None:
    root = tmp_path / "checkout"
    _hostile_checkout(root, tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "keep.txt").write_text("not ours to delete")
    output_dir = ".gatekeeper/reports" if where == "link" else ".."
    got = _gate(root, tmp_path, GK_OUT=output_dir)
    assert (got["exit-code"], got["verdict"], got["report-dir"]) == ("2", "error", "")
    assert (tmp_path / "elsewhere" / "keep.txt").exists() and (root / "app.py").exists()


def test_the_action_runs_the_script_and_uploads_only_what_it_names() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    steps = {s.get("name"): s for s in action["runs"]["steps"]}
    assert steps["gatekeeper check"]["run"].strip() == 'bash "$ACTION_PATH/action/gate.sh"'
    sarif, reports = steps["Upload SARIF to code scanning"], steps["Upload reports"]
    assert sarif["with"]["sarif_file"] == "${{ steps.gate.outputs.sarif }}" and "steps.gate.outputs.sarif != ''" in sarif["if"]
    assert reports["with"]["path"] == "${{ steps.gate.outputs.report-dir }}"
    assert action["inputs"]["output-dir"]["default"] == ""
