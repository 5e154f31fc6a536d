"""A new user's first runs, on a real setup.py project installed in editable mode in its own .venv/.

The project has a pyproject.toml without a PEP 621 ``[project]`` table (only ``[build-system]``
and a tool table, as python-dateutil has) and names itself only in setup.py; its one
dependency is a real wheel built here and installed by name. pip and setuptools run offline
(``--no-index``, ``--no-build-isolation``) from the test environment. gatekeeper runs from its
own interpreter (this test's), outside the project's environment, as a pipx install would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gatekeeper.reports.json import schema
from tests.helpers.cli import run_gatekeeper

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

SETUP_PY = """\
from setuptools import setup
setup(name="tinydate", version="1.2.3", packages=["tinydate"], install_requires=["helperlib"], license="BSD")
"""
PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[tool.towncrier]
package = "tinydate"
"""
HELPER_SETUP = """\
from setuptools import setup
setup(name="helperlib", version="0.1", packages=["helperlib"], license="MIT",
      classifiers=["License :: OSI Approved :: MIT License"])
"""
#: a fresh database: the dependencies check refuses one older than max_db_age_days
MODIFIED = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
ADVISORY = {
    "id": "TEST-2024-OTHER",
    "modified": MODIFIED,
    "affected": [
        {"package": {"name": "other", "ecosystem": "PyPI"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}
    ],
}


def _pip(python: Path | str, *args: str, cwd: Path) -> None:
    """Our pip (and setuptools, on PYTHONPATH) run by ``python``, offline."""
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "PIP_NO_INDEX": "1"}
    env.pop("PIP_FIND_LINKS", None)
    subprocess.run([str(python), "-m", "pip", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def helper_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the wheel of helperlib (MIT), the project's one dependency."""
    base = tmp_path_factory.mktemp("helper")
    (base / "helper" / "helperlib").mkdir(parents=True)
    (base / "helper" / "setup.py").write_text(HELPER_SETUP, encoding="utf-8")
    (base / "helper" / "helperlib" / "__init__.py").write_text("", encoding="utf-8")
    _pip(sys.executable, "wheel", "-q", "--no-build-isolation", "--no-deps", "-w", str(base / "wheels"), "./helper", cwd=base)
    return base / "wheels"


@pytest.fixture
def project(tmp_path: Path, helper_wheels: Path) -> Path:
    """The setup.py project with ``pip install -e .`` in its own .venv/, and a policy for offline checks."""
    root = tmp_path / "tinydate"
    (root / "tinydate").mkdir(parents=True)
    (root / "setup.py").write_text(SETUP_PY, encoding="utf-8")
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "tinydate" / "__init__.py").write_text("def today():\n    return 1\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True)
    python = root / ".venv" / "bin" / "python"
    _pip(python, "install", "-q", "--no-build-isolation", "--no-deps", "--find-links", str(helper_wheels), "helperlib", cwd=root)
    _pip(python, "install", "-q", "--no-build-isolation", "--no-deps", "-e", ".", cwd=root)
    db = tmp_path / "advisories"
    db.mkdir()
    (db / "TEST-2024-OTHER.json").write_text(json.dumps(ADVISORY), encoding="utf-8")
    (root / "gatekeeper.toml").write_text(
        f'[checks.coverage]\nenabled = false\n[checks.security]\nenabled = false\n[checks.dependencies]\nadvisory_db = "{db}"\n',
        encoding="utf-8",
    )
    return root


#: console lines that name a path (never broken, so they may run past 80 columns): the interpreter,
#: each report, the attestation and each check's tool
PATH_LINES = ("environment: ", "report: ", "attestation: ", "tool: ")


def _check(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, dict[str, Any]]:
    run_env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    run_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "check", str(root), "--no-audit", "--format", "json,sarif", *args],
        capture_output=True,
        text=True,
        env=run_env,
        cwd=root.parent,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    return done.returncode, done.stdout, report


def _metrics(report: dict[str, Any], name: str) -> dict[str, Any]:
    check = next(c for c in report["checks"] if c["name"] == name)
    assert check["status"] == "pass", check
    metrics: dict[str, Any] = check["metrics"]
    return metrics


def test_setup_py_project_with_an_editable_install_passes_out_of_the_box(project: Path) -> None:
    code, out, report = _check(project)
    assert code == 0, out
    python = project / ".venv" / "bin" / "python"
    line = f"environment: {python} (the project's .venv/, found in the project root)"
    lines = out.splitlines()
    assert line in lines
    assert lines.index(line) + 1 == next(i for i, t in enumerate(lines) if t.startswith("check "))  # just before the table
    assert report["environment"] == {"python": str(python), "chosen_by": "project_venv", "gatekeeper_own": False, "scope": "all"}
    jsonschema.validate(report, schema())
    deps, licenses, sbom = (_metrics(report, n) for n in ("dependencies", "licenses", "sbom"))
    # the project is recognised from its PEP 610 direct_url.json (its name is only in setup.py)
    assert deps["project"] == "tinydate" and deps["unaudited"] == []
    assert licenses["project"] == "tinydate"
    assert [p["name"] for p in licenses["packages"]] == ["helperlib"]
    # the SBOM: no --pyproject for a non-PEP 621 pyproject.toml; root from the installed project
    bom = json.loads((project / "gatekeeper-reports" / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert (bom["metadata"]["component"]["name"], bom["metadata"]["component"]["version"]) == ("tinydate", "1.2.3")
    assert [c["name"] for c in bom["components"]] == ["helperlib"]
    assert sbom["root"] == {"name": "tinydate", "version": "1.2.3"}
    # the three environment checks count the same packages
    assert deps["packages_audited"] == len(licenses["packages"]) == sbom["components"] == 1
    # every line fits 80 columns but those naming a path (the verdict and the time line included)
    attestation = f"attestation: {project / 'gatekeeper-reports' / 'gatekeeper.intoto.json'} (in-toto statement"
    assert any(t.startswith(attestation) for t in lines) and "verdict: PASS (every enabled check passed)" in lines
    assert any(t.startswith("time: the runner's own clock") for t in lines)
    assert max(len(t) for t in lines if not t.startswith(PATH_LINES)) <= 80, out


def test_finding_lines_fit_80_columns_and_name_the_package_once(project: Path, tmp_path: Path) -> None:
    details = (
        'When installing a package from a Mercurial VCS URL  (ie "pip install\n'
        'hg+...") with helperlib prior to v0.2, the specified Mercurial revision could be used to inject arbitrary\n'
        'configuration options to the "hg clone" call (ie "--config"). Controlling the Mercurial configuration '
        "can modify how and which repositories are installed."
    )
    record = {
        "id": "PYSEC-2099-1",
        "modified": MODIFIED,
        "details": details,
        "affected": [
            {
                "package": {"name": "helperlib", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.2"}]}],
            }
        ],
    }
    (tmp_path / "advisories" / "PYSEC-2099-1.json").write_text(json.dumps(record), encoding="utf-8")
    code, out, report = _check(project, "--only", "dependencies")
    assert code == 1, out
    assert max(len(t) for t in out.splitlines() if not t.startswith(PATH_LINES)) <= 80, out
    assert "helperlib 0.1 helperlib 0.1" not in " ".join(out.split())
    finding = next(c for c in report["checks"] if c["name"] == "dependencies")["findings"][0]
    # the summary folds whitespace and cuts at a word with an ellipsis, not at the first line break
    assert finding["message"] == (
        'helperlib 0.1 is affected by PYSEC-2099-1: When installing a package from a Mercurial VCS URL (ie "pip install '
        'hg+...") with helperlib prior to v0.2, the specified Mercurial revision could be used to…; fixed in 0.2'
    )


def test_gatekeeper_installed_into_the_project_environment_is_not_a_dependency(project: Path) -> None:
    site = next((project / ".venv" / "lib").glob("python3*/site-packages"))
    info = site / "gatekeeper-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gatekeeper\nVersion: 0.1.0\nLicense: MIT\n", encoding="utf-8")
    (info / "direct_url.json").write_text(json.dumps({"url": "file:///opt/src/gatekeeper", "dir_info": {}}), encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    code, out, report = _check(project)
    assert code == 0, out
    assert "installed from a local folder" not in out
    deps = _metrics(report, "dependencies")
    assert deps["unaudited"] == [] and "gatekeeper" in deps["left_out"]
    assert [p["name"] for p in _metrics(report, "licenses")["packages"]] == ["helperlib"]
    assert _metrics(report, "sbom")["components"] == 1


def test_virtual_env_comes_before_the_project_venv(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "active"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other)], check=True)
    _, out, report = _check(project, "--only", "dependencies", env={"VIRTUAL_ENV": str(other)})
    assert f"environment: {other / 'bin' / 'python'} (the active virtualenv, $VIRTUAL_ENV)" in out
    assert report["environment"] == {
        "python": str(other / "bin" / "python"),
        "chosen_by": "virtual_env",
        "gatekeeper_own": False,
        "scope": "all",
    }


def test_a_venv_committed_to_the_checkout_is_never_run(project: Path) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "add", "-f", ".venv/pyvenv.cfg"], check=True)
    _, out, report = _check(project, "--only", "dependencies")
    assert ".venv/ passed over: it holds files tracked by git, so the checkout (not the job) made it" in out
    assert report["environment"]["chosen_by"] == "gatekeeper"
    assert report["environment"]["gatekeeper_own"] is True
    assert f"environment: {sys.executable} (gatekeeper's own: no [environment] python, $VIRTUAL_ENV or .venv/ found)" in out
    assert "; gatekeeper's own dependencies are among the packages" in out


def test_a_venv_whose_interpreter_is_a_file_of_the_checkout_is_never_run(project: Path) -> None:
    python = project / ".venv" / "bin" / "python"
    python.unlink()
    python.write_text('#!/bin/sh\necho pwned > "$(dirname "$0")/../../pwned"\n', encoding="utf-8")
    python.chmod(0o755)
    _, out, report = _check(project, "--only", "dependencies")
    assert ".venv/ passed over: its interpreter is a file of the checkout, not a link to one outside it" in out
    assert report["environment"]["chosen_by"] == "gatekeeper"
    assert not (project / "pwned").exists()


def _gk(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_gatekeeper(args, cwd)


def _plain_project(tmp_path: Path) -> Path:
    root = tmp_path / "tinydate"
    (root / "tinydate").mkdir(parents=True)
    (root / "setup.py").write_text(SETUP_PY, encoding="utf-8")
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return root


def test_policy_init_pyproject_waiver_template_applies_once_uncommented(tmp_path: Path) -> None:
    root = _plain_project(tmp_path)
    assert _gk("policy", "init", "--pyproject", ".", cwd=root).returncode == 0
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert "# [[tool.gatekeeper.waivers]]" in text and "# [[waivers]]" not in text
    start = text.index("# [[tool.gatekeeper.waivers]]")
    uncommented = text[:start] + "\n".join(line.removeprefix("# ") for line in text[start:].splitlines()) + "\n"
    (root / "pyproject.toml").write_text(uncommented, encoding="utf-8")
    assert _gk("policy", "validate", cwd=root).returncode == 0
    shown = _gk("policy", "show", ".", cwd=root)
    assert 'reason = "asserts are allowed in scripts"' in shown.stdout


def test_a_top_level_waivers_table_in_pyproject_is_an_error_not_ignored(tmp_path: Path) -> None:
    root = _plain_project(tmp_path)
    text = PYPROJECT + '\n[tool.gatekeeper]\nextends = "default"\n\n[[waivers]]\ncheck = "security"\nrule = "B101"\n'
    (root / "pyproject.toml").write_text(text, encoding="utf-8")
    done = _gk("policy", "validate", cwd=root)
    assert done.returncode == 2
    assert "[[tool.gatekeeper.waivers]]" in done.stderr and "pyproject.toml" in done.stderr


def test_policy_init_seeds_min_total_from_the_projects_fail_under(tmp_path: Path) -> None:
    root = _plain_project(tmp_path)
    (root / "setup.cfg").write_text("[coverage:report]\nfail_under = 93.5\n", encoding="utf-8")
    (root / ".gitignore").write_text("gatekeeper-reports/\n", encoding="utf-8")
    done = _gk("policy", "init", ".", cwd=root)
    assert done.returncode == 0
    assert "checks.coverage.min_total = 93.5, from the project's coverage fail_under (setup.cfg)" in done.stdout
    assert "consider adding .gatekeeper/ to .gitignore" in done.stdout
    shown = _gk("policy", "show", ".", cwd=root)
    assert "min_total = 93.5" in shown.stdout


def test_html_shows_coverage_as_coverage_py_does(tmp_path: Path) -> None:
    root = _plain_project(tmp_path)
    lines = [f"X{i} = {i}" for i in range(9)] + ["if X0:", "    X9 = 9"]  # 11 statements, 10 run: 90.91%
    (root / "tinydate" / "__init__.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "run.py").write_text("import tinydate\n", encoding="utf-8")
    (root / ".coveragerc").write_text("[run]\nsource = tinydate\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "coverage", "run", "run.py"], cwd=root, check=True, capture_output=True)
    report = subprocess.run([sys.executable, "-m", "coverage", "report"], cwd=root, check=True, capture_output=True, text=True)
    assert report.stdout.splitlines()[-1].split()[-1] == "91%"
    (root / "gatekeeper.toml").write_text("[checks.coverage]\nmin_total = 50\n", encoding="utf-8")
    done = _gk("check", ".", "--only", "coverage", "--format", "html", "--no-audit", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    html = (root / "gatekeeper-reports" / "gatekeeper.html").read_text(encoding="utf-8")
    assert "91% (90.91% before coverage.py rounds it)" in html
    assert "91.00%" not in html and "≥ 50%" in html


def test_without_pyproject_sarif_points_at_a_file_that_exists(project: Path, tmp_path: Path) -> None:
    bsd = tmp_path / "bsdlib"
    (bsd / "bsdlib").mkdir(parents=True)
    (bsd / "bsdlib" / "__init__.py").write_text("", encoding="utf-8")
    (bsd / "setup.py").write_text(
        'from setuptools import setup\nsetup(name="bsdlib", version="2.0", packages=["bsdlib"],\n'
        '      classifiers=["License :: OSI Approved :: BSD License"])\n',
        encoding="utf-8",
    )
    wheels = tmp_path / "bsd-wheels"
    _pip(sys.executable, "wheel", "-q", "--no-build-isolation", "--no-deps", "-w", str(wheels), str(bsd), cwd=tmp_path)
    _pip(project / ".venv" / "bin" / "python", "install", "-q", "--no-deps", "--find-links", str(wheels), "bsdlib", cwd=tmp_path)
    (project / "pyproject.toml").unlink()
    code, out, report = _check(project, "--only", "licenses")
    assert code == 1, out
    finding = next(c for c in report["checks"] if c["name"] == "licenses")["findings"][0]
    assert finding["package"]["name"] == "bsdlib"
    # bsdlib has no license file: the reason does not cite one
    assert "the distribution has no license file to say which BSD license" in finding["message"]
    assert "the license file does not say" not in finding["message"]
    sarif = json.loads((project / "gatekeeper-reports" / "gatekeeper.sarif").read_text(encoding="utf-8"))
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for result in run["results"]
        for loc in result["locations"]
    }
    assert uris == {"setup.py"}
    assert all((project / uri).is_file() for uri in uris)
