"""REF's tests in a new-code run's worktree measure REF's code, with the project installed in editable
mode in its own .venv/ by the real build backends: setuptools' and hatchling's ``.pth`` file, and
the finders setuptools (two package folders) and hatchling's ``dev-mode-exact`` (``editables``)
append to ``sys.meta_path``. REF's figures equal ``coverage run -m pytest`` by hand in a clean clone
of REF with REF installed, and nothing REF's tests write lands in the checkout. pip and the
backends run offline (``--no-index``, ``--no-build-isolation``) from the test environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gatekeeper.cli import app
from tests.helpers.env import clean_env

pytestmark = pytest.mark.slow

OWN_SITE = sysconfig.get_paths()["purelib"]  # coverage.py, pytest and the build backends, for the project's venv

SETUPTOOLS = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
HATCHLING = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
PROJECT = '[project]\nname = "calc"\nversion = "0.1"\n\n[tool.coverage.report]\nprecision = 2\n'

#: backend, extra pyproject.toml text, the package's folder, a second package's folder (or "")
LAYOUTS = {
    "setuptools-pth": (SETUPTOOLS, "", "src/calc", ""),
    "setuptools-finder": (
        SETUPTOOLS,
        '[tool.setuptools]\npackages = ["calc", "extra"]\npackage-dir = {"calc" = "src/calc", "extra" = "lib/extra"}\n',
        "src/calc",
        "lib/extra",
    ),
    "hatchling-pth": (HATCHLING, '[tool.hatch.build.targets.wheel]\npackages = ["src/calc"]\n', "src/calc", ""),
    "hatchling-editables": (
        HATCHLING,
        '[tool.hatch.build.targets.wheel]\npackages = ["src/calc"]\ndev-mode-exact = true\n',
        "src/calc",
        "",
    ),
    # the package's folder has another name: no folder on sys.path can stand in for the finder's mapping
    "setuptools-renamed": (
        SETUPTOOLS,
        '[tool.setuptools]\npackages = ["calc"]\npackage-dir = {"calc" = "source/calculator"}\n',
        "source/calculator",
        "",
    ),
}
MEASURED = [name for name in LAYOUTS if name != "setuptools-renamed"]

REF_CODE = "def add(a, b):\n    return a + b\n\n\ndef sign(x):\n    if x < 0:\n        return -1\n    return 1\n"
#: REF's tests write beside the module they imported: in REF's worktree, never in the checkout
REF_TESTS = (
    "from pathlib import Path\n\nimport calc\n\n\ndef test_add():\n    assert calc.add(1, 2) == 3\n"
    "    Path(calc.__file__).with_name('written-by-ref-tests').write_text('x')\n"
)
HEAD_CODE = REF_CODE + "\n\ndef mul(a, b):\n    return a * b\n\n\ndef neg(a):\n    return -a\n"
HEAD_TESTS = "import calc\n\n\ndef test_add():\n    assert calc.add(1, 2) == 3 and calc.mul(2, 2) == 4\n"
POLICY = """\
[audit]
enabled = false
[reports]
formats = ["json"]
[checks.coverage]
run = ["pytest", "-q", "-p", "no:cacheprovider"]
min_total = 10
[checks.security]
enabled = false
[checks.dependencies]
enabled = false
[checks.sbom]
enabled = false
[checks.licenses]
enabled = false
"""


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message)


def _pip_editable(python: Path, folder: Path) -> None:
    """``pip install -e folder`` with the real backend, offline."""
    env = {**clean_env(coverage=False), "PYTHONPATH": OWN_SITE, "PIP_NO_INDEX": "1"}
    env.pop("PIP_FIND_LINKS", None)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "-e", str(folder)],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


def _write(root: Path, layout: str, code: str, tests: str) -> None:
    backend, extra, package, second = LAYOUTS[layout]
    (root / "pyproject.toml").write_text(backend + PROJECT + extra)
    (root / package).mkdir(parents=True, exist_ok=True)
    (root / package / "__init__.py").write_text(code)
    if second:
        (root / second).mkdir(parents=True, exist_ok=True)
        (root / second / "__init__.py").write_text("VALUE = 1\n")
        tests = (
            tests.replace("import calc\n", "import calc\nimport extra\n") + "\n\ndef test_extra():\n    assert extra.VALUE == 1\n"
        )
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "test_calc.py").write_text(tests)


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path, str]:
    """(checkout, its .venv's python, layout): REF on main, the head on a branch, the head installed
    in editable mode in the checkout's own .venv/."""
    layout = str(request.param)
    root = tmp_path / "project"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _write(root, layout, REF_CODE, REF_TESTS)
    (root / "gatekeeper.toml").write_text(POLICY)
    ignored = [".venv/", "gatekeeper-reports/", ".gatekeeper/", "__pycache__/", "*.egg-info/", "build/"]
    (root / ".gitignore").write_text("\n".join(ignored) + "\n")
    _commit(root, "REF")
    _git(root, "checkout", "-q", "-b", "feature")
    _write(root, layout, HEAD_CODE, HEAD_TESTS)
    _commit(root, "HEAD")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True, timeout=120)
    python = root / ".venv" / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "gatekeeper_own.pth").write_text(OWN_SITE + "\n")
    _pip_editable(python, root)
    return root, python, layout


def _by_hand(tmp_path: Path, root: Path, python: Path) -> str:
    """``coverage report``'s total of ``coverage run -m pytest`` in a clean clone of REF with REF
    installed in editable mode in the same environment."""
    clean = tmp_path / "clean"
    subprocess.run(["git", "clone", "-q", "--branch", "main", str(root), str(clean)], check=True, capture_output=True)
    _pip_editable(python, clean)
    env = {**clean_env(coverage=False), "VIRTUAL_ENV": str(python.parent.parent)}
    env["PATH"] = f"{python.parent}{os.pathsep}{env['PATH']}"
    run = [str(python), "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    subprocess.run(run, cwd=clean, env=env, check=True, capture_output=True, timeout=300)
    report = subprocess.run(
        [str(python), "-m", "coverage", "report", "--format=total"], cwd=clean, env=env, capture_output=True, text=True
    )
    return report.stdout.strip()


@pytest.mark.parametrize("project", MEASURED, indirect=True)
def test_ref_tests_in_the_worktree_measure_refs_code_installed_in_editable_mode(
    project: tuple[Path, Path, str], tmp_path: Path
) -> None:
    root, python, layout = project
    done = CliRunner().invoke(app, ["check", str(root), "--new-code-since", "main", "--no-cache"], env=clean_env(coverage=False))
    data: dict[str, Any] = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert data["new_code"]["result"] == "worktree", done.output
    assert data["new_code"]["ref_checks"]["coverage"] == "pass", data["new_code"]["note"]
    coverage = next(c for c in data["checks"] if c["name"] == "coverage")
    # nothing REF's tests wrote is in the checkout: they imported REF's worktree's code
    assert not list(root.rglob("written-by-ref-tests")) and data["verdict"] != "error"
    assert _git(root, "status", "--porcelain") == ""
    ref_total = coverage["metrics"]["new_code"]["ref_total"]
    assert f"{ref_total:.2f}" == _by_hand(tmp_path, root, python), layout
    # the head's figures are its own: REF's were not the checkout's
    assert coverage["metrics"]["total"] != ref_total


@pytest.mark.parametrize("project", ["setuptools-renamed"], indirect=True)
def test_ref_tests_that_import_the_checkouts_code_all_the_same_fail_closed_naming_the_files(
    project: tuple[Path, Path, str],
) -> None:
    root, _, _ = project
    CliRunner().invoke(app, ["check", str(root), "--new-code-since", "main", "--no-cache"], env=clean_env(coverage=False))
    data: dict[str, Any] = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert data["new_code"]["ref_checks"]["coverage"] == "error"
    said = "coverage at REF: REF's tests imported 1 file(s) of the checkout, not REF's: source/calculator/__init__.py;"
    assert said in data["new_code"]["note"]
    # so the head's total is held to min_total, not to figures of the checkout's code taken for REF's
    coverage = next(c for c in data["checks"] if c["name"] == "coverage")
    assert coverage["metrics"]["thresholds"]["min_total"] == 10 and coverage["metrics"]["new_code"]["ref_total"] is None
