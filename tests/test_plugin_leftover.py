"""A process a third-party checker starts itself (around ``CheckContext.run``) and leaves running is
killed with what it started as the check ends, as the layer kills a tool's process group at its
end: it cannot write into the checkout after the comparison, nor outlive the run with what it read.
The plugin is a real distribution, built into a wheel and installed into a virtualenv."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.env import clean_env
from tests.helpers.plugin import plugin_wheel_venv
from tests.helpers.projects import BUILTINS, git_init, write

pytestmark = pytest.mark.slow  # builds a wheel and a virtualenv

#: a leftover that sleeps, then writes into the checkout; it first starts a grandchild that does the same
LEFTOVER = (
    "import pathlib, subprocess, sys, time\n"
    "if sys.argv[1] == 'child':\n"
    "    subprocess.Popen([sys.executable, __file__, 'grandchild'])\n"
    "time.sleep(3)\n"
    "pathlib.Path('late-' + sys.argv[1]).write_text('written after the check ended')\n"
)

PLUGIN = '''
"""acme_leftover: a check that starts a process itself and returns without waiting for it."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import CheckContext, CheckerBase, Option
from gatekeeper.findings import CheckResult, Status

LEFTOVER = __LEFTOVER__


class AcmeLeftover(CheckerBase):
    name = "leftover"
    options = {"session": Option("bool", False, "start it in a session of its own")}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        script = pathlib.Path(tempfile.mkdtemp()) / "leftover.py"
        script.write_text(LEFTOVER)
        subprocess.Popen([sys.executable, str(script), "child"], cwd=ctx.root, start_new_session=section["session"])
        return CheckResult("leftover", Status.PASS, "clean", "acme")
'''.replace("__LEFTOVER__", repr(LEFTOVER))


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv that sees gatekeeper, with the plugin's wheel installed."""
    return plugin_wheel_venv(
        tmp_path_factory.mktemp("leftover"), "acme-leftover", PLUGIN, {"leftover": "acme_leftover:AcmeLeftover"}
    )


@pytest.mark.parametrize("session", [False, True])
def test_what_a_plugin_left_running_is_killed_as_its_check_ends(tmp_path: Path, venv_python: Path, session: bool) -> None:
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    own = f"[checks.leftover]\nsession = {str(session).lower()}\n"
    policy = f'[reports]\nformats = ["json"]\n[audit]\nenabled = false\n{off}{own}'
    root = write(tmp_path / "project", {"app.py": "x = 1\n", "gatekeeper.toml": policy})
    git_init(root)
    gate = [str(venv_python), "-m", "gatekeeper", "check"]
    done = subprocess.run(gate, cwd=root, env=clean_env(), capture_output=True, text=True)
    assert done.returncode == 3, done.stdout + done.stderr
    (check,) = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))["checks"]
    assert check["status"] == "error"
    assert "leftover.py child (still running as the check ended: killed)" in check["error"]
    time.sleep(5)  # longer than the leftover sleeps: neither it nor what it started wrote anything
    assert not list(root.glob("late-*"))
