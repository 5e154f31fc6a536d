"""A module a third-party checker runs with gatekeeper's own interpreter is located there, even after
the check located a module of that name in ``gate.tool_python``: two virtualenvs made from one Python
share the interpreter's real path, yet not their packages. The check that located ``acmetool`` in a
clean tools venv then ran ``[sys.executable, "-m", "acmetool"]``, whose ``acmetool`` in gatekeeper's
environment was installed from the checkout: it ran unvetted and the check passed. Real wheels, real
virtualenvs."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers.env import clean_env
from tests.helpers.projects import BUILTINS, git_init, write

pytestmark = pytest.mark.slow  # builds wheels and virtualenvs

PLUGIN = '''
"""acme_twice: locates its tool in the tool interpreter, then runs it with gatekeeper's own."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import CheckContext, CheckerBase
from gatekeeper.errors import ToolError
from gatekeeper.findings import CheckResult, Status


class AcmeTwice(CheckerBase):
    name = "twice"
    options = {}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        origin = ctx.tool("acmetool", "acmetool", "pip install acmetool")
        done = ctx.run([sys.executable, "-m", "acmetool"])
        if done.returncode != 0 or done.stdout.strip() != "clean":
            raise ToolError(f"acmetool said {done.stdout.strip()!r}")
        return CheckResult("twice", Status.PASS, "clean", "acmetool", origin.version)
'''


def _project(name: str, module: str, body: str, entry: str = "") -> dict[str, str]:
    pyproject = (
        f'[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n[project]\nname = "{name}"\n'
        f'version = "1.0"\n{entry}\n[tool.hatch.build.targets.wheel]\npackages = ["{module}"]\n'
    )
    return {f"{module}/__init__.py": "", f"{module}/__main__.py": body, "pyproject.toml": pyproject}


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def _install(python: Path, source: Path, wheels: Path) -> None:
    env = clean_env()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True, env=env)
    (wheel,) = wheels.glob("*.whl")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], check=True, env=env)


def test_a_module_run_with_gatekeepers_interpreter_is_located_there_not_taken_from_the_tool_python(tmp_path: Path) -> None:
    entry = '\n[project.entry-points."gatekeeper.checkers"]\ntwice = "acme_twice:AcmeTwice"\n'
    plugin = write(tmp_path / "acme-twice", {**_project("acme-twice", "acme_twice", "", entry), "acme_twice/__init__.py": PLUGIN})
    plugin.joinpath("acme_twice/__main__.py").unlink()
    clean_tool = write(tmp_path / "acmetool-src", _project("acmetool", "acmetool", "print('clean')\n"))
    gate_python = _venv(tmp_path / "gate-venv")
    tools_python = _venv(tmp_path / "tools-venv")
    _install(gate_python, plugin, tmp_path / "w1")
    _install(tools_python, clean_tool, tmp_path / "w2")
    site = subprocess.run(
        [str(gate_python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "zz_gatekeeper.pth").write_text(f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")

    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    policy = f'[gate]\ntool_python = "{tools_python}"\n[reports]\nformats = ["json"]\n[audit]\nenabled = false\n{off}'
    # the project under review is itself an acmetool, installed (not editable) into gatekeeper's environment
    root = write(tmp_path / "project", {**_project("acmetool", "acmetool", "print('clean')\n"), "gatekeeper.toml": policy})
    git_init(root)
    env = clean_env()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [*pip, "--python", str(gate_python), "install", "--no-deps", "--no-index", "--no-build-isolation", str(root)],
        check=True,
        env=env,
    )

    done = subprocess.run([str(gate_python), "-m", "gatekeeper", "check"], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 3, done.stdout + done.stderr
    (check,) = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))["checks"]
    assert check["status"] == "error"
    assert "acmetool" in check["error"] and "project under review" in check["error"], check["error"]
