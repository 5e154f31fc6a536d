"""A process a third-party checker starts while it is imported is seen, as one started while it runs.

gatekeeper imports the installed checkers before any check runs (``checkers.load``), and the
watch of the processes a plugin starts around the layer (``gatekeeper.spawnwatch``) began only with
the run: a plugin whose module ran ruff with ``subprocess`` as it was imported (``python -m ruff``
in the project root, no ``-I``: the checkout's ``ruff/`` package ran) passed its check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.plugin import install_plugin
from tests.helpers.projects import git_init, write

#: the checkout's ruff: leaves a mark beside the project when it runs
PLANTED = "import pathlib\npathlib.Path.cwd().parent.joinpath('planted-ran').write_text('yes')\n"
#: a checker whose module runs ruff around the layer as it is imported, then passes
SPAWNS = """\
import os, subprocess, sys, threading


def ruff():
    subprocess.run([sys.executable, "-m", "ruff", "--version"], cwd=os.getcwd(), capture_output=True)


HOW


class Checker:
    name = "a0"
    description = "style"
    enabled_by_default = True
    options = {}

    def run(self, section, ctx):
        from gatekeeper.findings import CheckResult, Status

        return CheckResult(name="a0", status=Status.PASS, summary="clean", tool_name="ruff")
"""


@pytest.mark.parametrize("how", ["ruff()", "threading.Thread(target=ruff).start()"])
def test_a_process_a_plugin_starts_as_it_is_imported_makes_its_check_an_error(tmp_path: Path, gk, how: str) -> None:
    """Run at once, or from a thread the import starts and leaves running (its start noted during the
    import, or before the run watches)."""
    root = tmp_path / "proj"
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in ("coverage", "security", "dependencies", "sbom", "licenses"))
    write(root, {"app.py": "x = 1\n", "ruff/__init__.py": "", "ruff/__main__.py": PLANTED, "gatekeeper.toml": off})
    git_init(root)
    source = SPAWNS.replace("HOW", how)
    site = install_plugin(tmp_path / "site", "acme-spawns", "acme_spawns", source, {"a0": "acme_spawns:Checker"})
    done = gk(["check", ".", "--no-audit", "--format", "json"], cwd=root, env={"PYTHONPATH": str(site)})
    assert (tmp_path / "planted-ran").exists()  # what the layer would have stopped, had the plugin used it
    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    (check,) = report["checks"]
    assert check["status"] == "error"
    assert "-m ruff" in check["error"], check["error"]
    if how == "ruff()":
        assert "started a process while it was imported (subprocess.Popen: " in check["error"]
