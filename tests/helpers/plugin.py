"""The test plugin and plugins written by a test.

``tests/data/plugin`` holds a real installed-distribution layout (a module and its dist-info with
an entry point), so that ``gatekeeper check`` run with it on PYTHONPATH discovers two small
checkers exactly as it discovers third-party plugins.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.env import clean_env
from tests.helpers.projects import BUILTINS

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "data" / "plugin"


def policy_text(extra: str = "", formats: str = '["json"]', gate: str = "") -> str:
    """A policy that turns the built-in checkers off and runs the two test checkers; ``gate`` adds [gate] keys."""
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    return f"[reports]\nformats = {formats}\n[gate]\nfail_on_error = true\n{gate}{off}{extra}"


def plugin_env(**extra: str) -> dict[str, str]:
    """The clean environment with the test plugin importable, plus ``extra``."""
    path = os.pathsep.join([str(PLUGIN_DIR), *filter(None, [os.environ.get("PYTHONPATH", "")])])
    return clean_env({"PYTHONPATH": path, **extra})


def install_plugin(site: Path, dist: str, module: str, source: str, entries: Mapping[str, str]) -> Path:
    """Write a third-party checker package with its dist-info into ``site`` (use it via PYTHONPATH)."""
    (site / module).mkdir(parents=True, exist_ok=True)
    (site / module / "__init__.py").write_text(source, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\nLicense: MIT\n", encoding="utf-8")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[gatekeeper.checkers]\n{lines}", encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    return site


def plugin_wheel_venv(tmp: Path, dist: str, source: str, entries: Mapping[str, str]) -> Path:
    """The python of a virtualenv (in ``tmp``) that sees gatekeeper, with a third-party checker
    installed from a real wheel: the package ``dist`` (its module ``dist`` with ``_`` for ``-``, holding
    ``source``) built with hatchling, declaring ``entries`` (check name -> ``module:Class``) in the group
    ``gatekeeper.checkers``, installed as a user installs it (no editable install, nothing on PYTHONPATH)."""
    module = dist.replace("-", "_")
    lines = "".join(f"{name} = {target!r}\n".replace("'", '"') for name, target in entries.items())
    pyproject = (
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{dist}"\nversion = "1.0"\n\n[project.entry-points."gatekeeper.checkers"]\n{lines}\n'
        f'[tool.hatch.build.targets.wheel]\npackages = ["{module}"]\n'
    )
    project = tmp / dist
    (project / module).mkdir(parents=True)
    (project / module / "__init__.py").write_text(source, encoding="utf-8")
    (project / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    env = clean_env()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "w"), str(project)], check=True, env=env)
    (wheel,) = (tmp / "w").glob(f"{module}-1.0-*.whl")
    python = tmp / "venv" / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], check=True, env=env)
    asked = [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    site = subprocess.run(asked, capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "zz_gatekeeper.pth").write_text(f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")
    return python
