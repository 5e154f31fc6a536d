"""What a third-party checker's findings say of where they are and what they say is checked before the
reports believe it: a location that is not a path relative to the root (absolute, as a tool given
``ctx.root / name`` prints it, or climbing out with ``..``) makes the check an error naming it, and a
finding with a message of megabytes still reaches the SARIF file, its message cut there. The plugin
is a real distribution, built into a wheel and installed into a virtualenv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import clean_env
from tests.helpers.plugin import plugin_wheel_venv
from tests.helpers.projects import BUILTINS, git_init, write

pytestmark = pytest.mark.slow  # builds a wheel and a virtualenv

PLUGIN = '''
"""acme_places: one blocking finding, located and worded as the policy's mode says."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import CheckContext, CheckerBase, Option
from gatekeeper.findings import CheckResult, Finding, Location, Severity, decide_status, fingerprint


class AcmePlaces(CheckerBase):
    name = "places"
    modes = ("relative", "absolute", "climb", "huge", "manifest")
    options = {"mode": Option("str", "relative", "where the finding is", choices=modes)}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        mode = section["mode"]
        path = {"absolute": str(ctx.root / "app.py"), "climb": "../app.py"}.get(mode, "app.py")
        message = "Unused name x. " + "It is never read. " * 300_000 if mode == "huge" else "unused name x"
        finding = Finding(
            "ACME9", Severity.LOW, message, blocking=True, location=Location(path, 1),
            fingerprint=fingerprint("places", "ACME9", path, "x = 1"),
        )
        if mode == "manifest":  # no location: the manifest property locates it, absolute
            manifest = {"path": str(ctx.root / "requirements.txt"), "line": 1}
            finding = Finding(
                "ACME9", Severity.LOW, message, blocking=True, properties={"manifest": manifest},
                fingerprint=fingerprint("places", "ACME9", "requirements.txt", "x = 1"),
            )
        return CheckResult("places", decide_status((finding,)), "1 finding", "acme", "1.0", findings=(finding,))
'''


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv that sees gatekeeper, with the plugin's wheel installed."""
    return plugin_wheel_venv(tmp_path_factory.mktemp("places"), "acme-places", PLUGIN, {"places": "acme_places:AcmePlaces"})


def _check(tmp_path: Path, python: Path, mode: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], dict[str, Any]]:
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    policy = f'[reports]\nformats = ["json", "sarif"]\n[audit]\nenabled = false\n{off}[checks.places]\nmode = "{mode}"\n'
    root = write(tmp_path / "project", {"app.py": "x = 1\n", "gatekeeper.toml": policy})
    git_init(root)
    done = subprocess.run([str(python), "-m", "gatekeeper", "check"], cwd=root, env=clean_env(), capture_output=True, text=True)
    reports = root / "gatekeeper-reports"
    (check,) = json.loads((reports / "gatekeeper.json").read_text(encoding="utf-8"))["checks"]
    return done, check, json.loads((reports / "gatekeeper.sarif").read_text(encoding="utf-8"))


@pytest.mark.parametrize("mode", ["absolute", "climb", "manifest"])
def test_a_finding_located_outside_the_roots_relative_paths_makes_the_check_an_error(
    tmp_path: Path, venv_python: Path, mode: str
) -> None:
    """A finding without a location whose manifest property was absolute had the SARIF file re-root it
    (tmp/.../requirements.txt) and the check pass through as a fail."""
    done, check, _ = _check(tmp_path, venv_python, mode)
    assert done.returncode == 3, done.stdout + done.stderr
    assert check["status"] == "error"
    shown = {"absolute": str(tmp_path / "project" / "app.py"), "climb": "../app.py"}.get(mode, "")
    where = f"located at {shown!r}"
    if mode == "manifest":
        where = f"located by its manifest property at {str(tmp_path / 'project' / 'requirements.txt')!r}"
    assert f"finding 1 ('ACME9') is {where}, which is not a path relative to the project root" in check["error"]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_finding_with_a_relative_path_fails_the_check_and_is_located_in_the_sarif(tmp_path: Path, venv_python: Path) -> None:
    done, check, sarif = _check(tmp_path, venv_python, "relative")
    assert done.returncode == 1, done.stdout + done.stderr
    assert check["status"] == "fail"
    (result,) = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app.py"


def test_a_findings_message_of_megabytes_is_cut_in_the_sarif_not_its_finding_left_out(tmp_path: Path, venv_python: Path) -> None:
    done, check, sarif = _check(tmp_path, venv_python, "huge")
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(check["findings"][0]["message"]) > 5_000_000  # gatekeeper.json keeps it whole
    (run,) = sarif["runs"]
    assert "truncated" not in run["properties"]["gatekeeper"]
    (result,) = run["results"]
    text = result["message"]["text"]
    assert text.startswith("Unused name x. It is never read.") and text.endswith(" …") and len(text) <= 4000
    (rule,) = run["tool"]["driver"]["rules"]
    assert len(rule["help"]["text"]) <= 4000
