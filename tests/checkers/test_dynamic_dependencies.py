"""``scope = "project"`` for a project whose pyproject.toml leaves its dependencies to the build
backend (``dynamic = ["dependencies"]``, read from requirements.txt): the closure starts from what
its installed distribution requires, as pip installed it, never from the empty table."""

from __future__ import annotations

import json
from pathlib import Path

from gatekeeper.engine import RunRequest, run_checks
from gatekeeper.findings import GateResult, Status
from gatekeeper.policy import load_policy
from tests.helpers.cli import installed_checkers, installed_options
from tests.helpers.osv import FRESH, make_env

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "dynproj"
version = "0.1"
dynamic = ["dependencies"]

[tool.setuptools.dynamic]
dependencies = { file = ["requirements.txt"] }
"""


def _advisory_db(db: Path) -> None:
    """An offline advisory database holding one advisory: TEST-1, indexpkg 2.0."""
    folder = db / "vulns" / "indexpkg"
    folder.mkdir(parents=True)
    (folder / "TEST-1.yaml").write_text(
        f"id: TEST-1\nmodified: '{FRESH}'\naffected:\n- package: {{name: indexpkg, ecosystem: PyPI}}\n  versions: ['2.0']\n",
        encoding="utf-8",
    )


def _project(tmp_path: Path, installed: bool) -> tuple[Path, Path]:
    root = tmp_path / "dynproj"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "requirements.txt").write_text("indexpkg>=1\n", encoding="utf-8")
    dists = [("indexpkg", "2.0", []), ("otherpkg", "3.0", [])]
    python = make_env(tmp_path / "venv", [("dynproj", "0.1", ["indexpkg>=1"])] * installed + dists)
    if installed:  # the PEP 610 record pip install -e . leaves
        site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
        record = {"url": root.resolve().as_uri(), "dir_info": {"editable": True}}
        (site / "dynproj-0.1.dist-info" / "direct_url.json").write_text(json.dumps(record), encoding="utf-8")
    _advisory_db(tmp_path / "db")
    (root / "gatekeeper.toml").write_text(
        f'[environment]\npython = "{python}"\nscope = "project"\n'
        f'[checks.dependencies]\nadvisory_db = "{tmp_path / "db"}"\n[checks.licenses]\nunknown = "warn"\n',
        encoding="utf-8",
    )
    return root, python


def _gate(root: Path) -> GateResult:
    policy = load_policy(root, installed_options())
    request = RunRequest(root=root, policy=policy, output_dir=root / "out", only=("dependencies", "licenses"), use_cache=False)
    return run_checks(request, installed_checkers())


def test_the_closure_starts_from_the_installed_projects_requirements(tmp_path: Path) -> None:
    """Taken from the empty [project] table, the closure held nothing: every check was an error
    ("no package was audited") on a project that needs indexpkg, whose advisory went unseen."""
    root, _ = _project(tmp_path, installed=True)
    gate = _gate(root)
    dep, lic = gate.check("dependencies"), gate.check("licenses")
    assert dep is not None and lic is not None
    assert dep.status is Status.FAIL, dep.error
    assert dep.metrics["packages_audited"] == 1 and dep.metrics["project"] == "dynproj"
    assert [(f.rule_id, f.package.name if f.package else "") for f in dep.findings] == [("TEST-1", "indexpkg")]
    assert "otherpkg" in dep.metrics["left_out"]
    assert [p["name"] for p in lic.metrics["packages"]] == ["indexpkg"]


def test_a_project_not_installed_is_an_error_that_says_why(tmp_path: Path) -> None:
    root, _ = _project(tmp_path, installed=False)
    dep = _gate(root).check("dependencies")
    assert dep is not None and dep.status is Status.ERROR
    assert dep.error is not None and 'lists "dependencies" in [project] dynamic' in dep.error
    assert "pip install -e ." in dep.error


def test_the_pyproject_source_of_such_a_project_is_an_error_naming_what_to_audit(tmp_path: Path) -> None:
    """``source = "pyproject.toml"`` read the empty table: "no package was audited", whose cure it
    gave was allow_empty, a pass on nothing."""
    root, _ = _project(tmp_path, installed=True)
    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text().replace("[checks.dependencies]\n", '[checks.dependencies]\nsource = "pyproject.toml"\n'))
    dep = _gate(root).check("dependencies")
    assert dep is not None and dep.status is Status.ERROR and dep.error is not None
    assert dep.error.startswith('pyproject.toml lists "dependencies" in [project] dynamic')
    assert 'or to "environment"' in dep.error


def test_the_pyproject_source_of_a_project_whose_packages_are_in_groups_names_them(tmp_path: Path) -> None:
    """MarkupSafe 3.0.3 has no run-time dependency and its tests' in ``[dependency-groups] tests``:
    ``source = "pyproject.toml"`` audited nothing, and the error offered allow_empty alone, not
    saying the groups it does not read hold the packages."""
    root = tmp_path / "grouped"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "grouped"\nversion = "1"\n[project.optional-dependencies]\nspeed = []\n'
        '[dependency-groups]\ntests = ["indexpkg"]\ntyping = ["otherpkg"]\nempty = []\n',
        encoding="utf-8",
    )
    python = make_env(tmp_path / "venv", [("indexpkg", "2.0", []), ("otherpkg", "3.0", [])])
    _advisory_db(tmp_path / "db")
    (root / "gatekeeper.toml").write_text(
        f'[environment]\npython = "{python}"\n'
        f'[checks.dependencies]\nsource = "pyproject.toml"\nadvisory_db = "{tmp_path / "db"}"\n',
        encoding="utf-8",
    )
    dep = _gate(root).check("dependencies")
    assert dep is not None and dep.status is Status.ERROR and dep.error is not None
    assert dep.error.startswith("no package was audited (pyproject.toml; ")
    assert dep.error.endswith(
        ": its [project] dependencies name none; this source does not read its [dependency-groups] tests, typing"
        ' (source = "environment" audits them as installed); set checks.dependencies.allow_empty = true if that is expected'
    )
