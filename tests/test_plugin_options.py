"""A third-party checker's options are checked as it is loaded: a default its own kind refuses, or an
option redeclaring a key every check section takes, makes it a broken checker (``gatekeeper plugins``
says why, its check is an error), never a traceback of the run nor a section no policy could write.
A ``timeout_s = Option("str", "soon")`` made the engine's reading of the check's time limit raise
ValueError out of ``gatekeeper check`` (exit 1). Real wheel, real virtualenv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.env import clean_env
from tests.helpers.plugin import plugin_wheel_venv
from tests.helpers.projects import BUILTINS, git_init, write

pytestmark = pytest.mark.slow  # builds a wheel and a virtualenv

PLUGIN = '''
"""acme_opts: checkers whose options their authors got wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import CheckContext, CheckerBase, Option
from gatekeeper.findings import CheckResult, Status


class _Clean(CheckerBase):
    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        return CheckResult(self.name, Status.PASS, f"section {dict(section)}", "acme")


class Quoted(_Clean):
    name = "quoted"
    options = {"min_confidence": Option("int", "80", "a number written as a string")}


class Timed(_Clean):
    name = "timed"
    options = {"timeout_s": Option("str", "soon", "a key every section takes, of another kind")}


class Sound(_Clean):
    name = "sound"
    options = {"min_confidence": Option("int", 80, "lowest confidence reported", minimum=0, maximum=100)}
'''


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv that sees gatekeeper, with the plugin's wheel installed."""
    return plugin_wheel_venv(
        tmp_path_factory.mktemp("opts"),
        "acme-opts",
        PLUGIN,
        {"quoted": "acme_opts:Quoted", "timed": "acme_opts:Timed", "sound": "acme_opts:Sound"},
    )


def test_plugins_names_each_checker_whose_options_are_unsound_as_broken(tmp_path: Path, venv_python: Path) -> None:
    done = subprocess.run(
        [str(venv_python), "-m", "gatekeeper", "plugins"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line[:1].strip()}
    assert (
        "BROKEN: checker 'quoted' (acme_opts:Quoted): option 'min_confidence' has a default its own kind (int) refuses"
        in (lines["quoted"])
    )
    assert (
        "BROKEN: checker 'timed' (acme_opts:Timed): option 'timeout_s' is a key every check section already takes"
        in (lines["timed"])
    )
    assert "BROKEN" not in lines["sound"]


def test_a_run_with_such_checkers_installed_makes_their_checks_errors_and_runs_the_others(
    tmp_path: Path, venv_python: Path
) -> None:
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    policy = f'[reports]\nformats = ["json"]\n[audit]\nenabled = false\n{off}'
    root = write(tmp_path / "project", {"app.py": "x = 1\n", "gatekeeper.toml": policy})
    git_init(root)
    done = subprocess.run(
        [str(venv_python), "-m", "gatekeeper", "check"], cwd=root, env=clean_env(), capture_output=True, text=True
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    checks = {
        c["name"]: c for c in json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))["checks"]
    }
    assert checks["quoted"]["status"] == checks["timed"]["status"] == "error"
    assert "has a default its own kind (int) refuses" in checks["quoted"]["error"]
    assert checks["sound"]["status"] == "pass"
    assert checks["sound"]["summary"] == "section {'enabled': True, 'allow_empty': False, 'timeout_s': 0.0, 'min_confidence': 80}"
