"""A distribution the project requires that its own environment does not hold, in the three
environment checks: unaudited, license unknown, named by the SBOM; never passed as clean.

The environment is a real venv with real pip installs (pip itself and a wheel built here); the
counts of what IS installed stay those of pip-licenses and cyclonedx-py by hand.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gatekeeper.findings import Status
from tests.helpers.dists import run_gate
from tests.helpers.osv import RECORDS, write_db

pytestmark = pytest.mark.slow

CHECKS = ("dependencies", "licenses", "sbom")


def _wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    """A real wheel of one module, MIT, requiring ``requires``."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": "VALUE = 1\n",
        f"{info}/METADATA": "\n".join(
            ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", "License-Expression: MIT"]
            + [f"Requires-Dist: {r}" for r in requires]
        )
        + "\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def row(path: str, text: str) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        return f"{path},sha256={digest},{len(text.encode())}"

    record = "".join(row(p, t) + "\n" for p, t in files.items()) + f"{info}/RECORD,,\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in {**files, f"{info}/RECORD": record}.items():
            zf.writestr(path, text)
    return wheel


@pytest.fixture(scope="module")
def project_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real venv (pip installed in it by ensurepip) holding ``helper-lib`` 1.0, installed by pip,
    which requires ``transitive-gone`` (not installed)."""
    base = tmp_path_factory.mktemp("declared")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    wheel = _wheel(base / "wheels", "helper_lib", "1.0", ["transitive-gone>=1"])
    # from an index folder, as from PyPI: a wheel named by its path would be a local build (unaudited)
    install = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--find-links", str(wheel.parent)]
    install.append("helper-lib==1.0")
    subprocess.run(install, check=True, timeout=300, capture_output=True)
    return python


def _project(root: Path, python: Path, deps: list[str], unknown: str = "fail", licenses: str = "") -> Path:
    root.mkdir(parents=True)
    dep_lines = "".join(f"  {json.dumps(d)},\n" for d in deps)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo-app"\nversion = "0.1"\ndependencies = [\n{dep_lines}]\n'
        '[project.optional-dependencies]\nfast = ["not-selected>=1"]\n',
        encoding="utf-8",
    )
    db = write_db(root, RECORDS, "flat")
    (root / "gatekeeper.toml").write_text(
        f'[audit]\nenabled = false\n[environment]\npython = "{python}"\nscope = "all"\n'
        f'[checks.dependencies]\nadvisory_db = "{db}"\n'
        f'[checks.licenses]\nunknown = "{unknown}"\nallow = ["MIT"]\n{licenses}',
        encoding="utf-8",
    )
    return root


def _by_hand_licenses(python: Path) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "piplicenses", "--format=json", "--with-system", "--python", str(python)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    return sorted(e["Name"] for e in json.loads(out))


def test_a_declared_dependency_not_installed_in_the_project_s_environment_is_unaudited_and_unknown(
    project_env: Path, tmp_path: Path
) -> None:
    """scope "all" in the project's own venv: ``absent-pkg`` is declared and not installed, and the
    installed ``helper-lib`` requires ``transitive-gone``, not installed either. The licenses check
    passed with a note and the dependencies check said nothing. A dependency whose marker excludes
    this Python, an extra nobody selected and the project requiring itself are not missing."""
    deps = ["helper-lib>=1", "pip", "absent-pkg>=1", "gone ; python_version < '3'", "demo-app[fast]"]
    root = _project(tmp_path / "p", project_env, deps)
    gate = run_gate(root, CHECKS)
    deps_check, licenses, sbom = (gate.check(name) for name in CHECKS)
    assert deps_check is not None and licenses is not None and sbom is not None
    missing = ["absent-pkg", "transitive-gone"]

    assert deps_check.status is Status.FAIL
    assert deps_check.metrics["unaudited"] == missing
    reason = deps_check.metrics["unaudited_reasons"]["absent-pkg"]
    assert reason == "required by the project but not installed in the environment"
    assert "2 could not be audited: absent-pkg, transitive-gone" in deps_check.summary

    assert licenses.status is Status.FAIL  # unknown = "fail": a license never read blocks
    unknown = [f for f in licenses.findings if f.package and f.package.name in missing]
    assert [(f.rule_id, f.package.name if f.package else "", f.blocking) for f in unknown] == [
        ("license.unknown", "absent-pkg", True),
        ("license.unknown", "transitive-gone", True),
    ]
    assert unknown[0].properties["manifest"] == {"path": "pyproject.toml", "line": 7}  # where it is declared
    assert licenses.metrics["missing"] == missing
    # the counts are pip-licenses' listing of what is installed, by hand
    listed = sorted(p["name"] for p in licenses.metrics["packages"])
    assert listed == [n for n in _by_hand_licenses(project_env) if n != "pip-licenses"]
    assert sum(licenses.metrics["counts"].values()) == len(listed)
    assert (
        "2 required by the project but not installed, license never read, so unknown: absent-pkg, transitive-gone"
        in licenses.summary
    )

    bom = json.loads((root / "out" / "sbom.cdx.json").read_text(encoding="utf-8"))
    names = sorted(c["name"] for c in bom["components"])
    assert names == listed  # cyclonedx-py lists what is installed, no more
    assert sbom.metrics["missing"] == missing
    assert "2 required by the project but not installed, not listed: absent-pkg, transitive-gone" in sbom.summary


def test_with_unknown_warn_the_missing_dependency_is_named_but_does_not_block(project_env: Path, tmp_path: Path) -> None:
    """The policy's keys decide: ``unknown = "warn"`` names it without blocking; with every declared
    dependency installed there is nothing missing and nothing more is said."""
    root = _project(tmp_path / "p", project_env, ["pip", "absent-pkg"], unknown="warn")
    licenses = run_gate(root, ("licenses",)).check("licenses")
    assert licenses is not None and licenses.status is Status.PASS
    assert [(f.package.name if f.package else "", f.blocking) for f in licenses.findings] == [("absent-pkg", False)]

    ignored = _project(tmp_path / "i", project_env, ["pip", "absent-pkg"], licenses='ignore_packages = ["Absent_Pkg"]\n')
    left = run_gate(ignored, ("licenses",)).check("licenses")
    assert left is not None and left.status is Status.PASS and left.findings == () and left.metrics["missing"] == []

    whole = _project(tmp_path / "q", project_env, ["pip", "helper-lib ; python_version < '3'"])
    gate = run_gate(whole, CHECKS)
    assert {c.name: c.status for c in gate.checks} == dict.fromkeys(CHECKS, Status.PASS)
    assert all(not c.metrics.get("missing") and "not installed" not in c.summary for c in gate.checks)


def _dynamic(root: Path, python: Path, backend: str, requirements: str) -> Path:
    """A project whose pyproject.toml leaves its dependencies to the build backend, not installed in
    its environment: ``backend`` "setuptools" reads them from requirements.txt, "hatchling" from a hook."""
    _project(root, python, [])
    table = (
        '[tool.setuptools.dynamic]\ndependencies = { file = ["requirements.txt"] }\n'
        if backend == "setuptools"
        else '[tool.hatch.metadata.hooks.custom]\npath = "deps_hook.py"\n'
    )
    build = "setuptools.build_meta" if backend == "setuptools" else "hatchling.build"
    (root / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["{backend}"]\nbuild-backend = "{build}"\n'
        f'[project]\nname = "demo-app"\nversion = "0.1"\ndynamic = ["dependencies"]\n{table}',
        encoding="utf-8",
    )
    (root / "requirements.txt").write_text(requirements, encoding="utf-8")
    return root


def test_dynamic_dependencies_a_backend_reads_from_a_file_are_required_though_the_project_is_not_installed(
    project_env: Path, tmp_path: Path
) -> None:
    """setuptools' ``dependencies = { file = [...] }``: the file lists them, the project is not
    installed (``pip install -r requirements.txt`` alone). The three checks passed without a word of
    ``absent-pkg``; it is now required and not installed, as a static declaration of it is."""
    requirements = (
        "# run-time\nhelper-lib>=1\n\nabsent-pkg>=1  # the one pip never installed\n--index-url https://example.org/simple\n"
    )
    root = _dynamic(tmp_path / "p", project_env, "setuptools", requirements)
    gate = run_gate(root, CHECKS)
    missing = ["absent-pkg", "transitive-gone"]
    deps_check, licenses, sbom = (gate.check(name) for name in CHECKS)
    assert deps_check is not None and licenses is not None and sbom is not None
    assert deps_check.status is Status.FAIL and deps_check.metrics["unaudited"] == missing
    assert licenses.status is Status.FAIL and licenses.metrics["missing"] == missing
    assert sbom.metrics["missing"] == missing
    assert "2 required by the project but not installed, not listed: absent-pkg, transitive-gone" in sbom.summary


def test_dynamic_dependencies_nothing_static_names_are_an_error_when_the_project_is_not_installed(
    project_env: Path, tmp_path: Path
) -> None:
    """A backend hook computes them: nothing tells which they are without running it, and the project's
    metadata, which would list them, is not installed. The three checks passed; now each is an error saying so."""
    root = _dynamic(tmp_path / "p", project_env, "hatchling", "absent-pkg>=1\n")
    gate = run_gate(root, CHECKS)
    for check in gate.checks:
        assert check.status is Status.ERROR, (check.name, check.summary)
        assert 'lists "dependencies" in [project] dynamic' in (check.error or ""), check.name
        assert "pip install --no-deps -e ." in (check.error or ""), check.name


def test_a_setup_cfg_file_directive_names_the_required_files(project_env: Path, tmp_path: Path) -> None:
    """setup.cfg's ``install_requires = file: requirements.txt`` of a project not installed: the file
    lists them, as setuptools reads it. The three checks passed without a word of ``absent-pkg``."""
    root = _project(tmp_path / "p", project_env, [])
    (root / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n', encoding="utf-8")
    (root / "setup.cfg").write_text(
        "[metadata]\nname = demo-app\nversion = 0.1\n[options]\ninstall_requires = file: requirements.txt\n", encoding="utf-8"
    )
    (root / "requirements.txt").write_text("helper-lib>=1\nabsent-pkg>=1\n", encoding="utf-8")
    gate = run_gate(root, CHECKS)
    deps_check, licenses, sbom = (gate.check(name) for name in CHECKS)
    assert deps_check is not None and licenses is not None and sbom is not None
    missing = ["absent-pkg", "transitive-gone"]
    assert deps_check.status is Status.FAIL and deps_check.metrics["unaudited"] == missing
    assert licenses.status is Status.FAIL and licenses.metrics["missing"] == missing
    assert sbom.metrics["missing"] == missing
