"""A uv workspace checked through its environment: the members installed from their folders are the
project (as the lock file's workspace members are), never dependencies that "could not be audited"."""

from __future__ import annotations

import json
from pathlib import Path

from gatekeeper.engine import RunRequest, run_checks
from gatekeeper.findings import GateResult, Status
from gatekeeper.policy import load_policy
from tests.helpers.cli import installed_checkers, installed_options
from tests.helpers.osv import FRESH, make_env


def _editable(site: Path, dist: str, folder: Path) -> None:
    """The PEP 610 record ``uv sync`` or ``pip install -e FOLDER`` leaves for an editable install."""
    (site / f"{dist}.dist-info" / "direct_url.json").write_text(
        json.dumps({"url": folder.resolve().as_uri(), "dir_info": {"editable": True}}), encoding="utf-8"
    )


def _workspace(tmp_path: Path, root_project: str, alib_requires: tuple[str, ...] = ("indexpkg>=1",)) -> tuple[Path, Path]:
    """A uv workspace (members ``packages/*`` less ``packages/legacy``, plus a glob that leaves the
    root) and a venv in which every folder of it is installed as ``uv sync`` leaves them."""
    root = tmp_path / "ws"
    member_globs = '["packages/*", "../elsewhere"]'
    (root / "packages").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'{root_project}[tool.uv.workspace]\nmembers = {member_globs}\nexclude = ["packages/legacy"]\n', encoding="utf-8"
    )
    folders = {
        "alib": root / "packages" / "alib",  # a member
        "legacy": root / "packages" / "legacy",  # excluded from the workspace
        "vlib": root / "vendor" / "vlib",  # a path dependency inside the root, not a member
        "outside": tmp_path / "elsewhere",  # matched by a member glob, but not the code under review
    }
    for name, folder in folders.items():
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "1.0"\n', encoding="utf-8")
    python = make_env(
        tmp_path / "venv",
        [
            ("alib", "1.0", list(alib_requires)),
            ("legacy", "1.0", []),
            ("vlib", "1.0", []),
            ("outside", "1.0", []),
            ("indexpkg", "2.0", []),
            ("otherpkg", "3.0", []),
        ],
    )
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    for name, folder in folders.items():
        _editable(site, f"{name}-1.0", folder)
    db = tmp_path / "db" / "vulns" / "indexpkg"
    db.mkdir(parents=True)
    (db / "TEST-1.yaml").write_text(
        f"id: TEST-1\nmodified: '{FRESH}'\naffected:\n- package: {{name: indexpkg, ecosystem: PyPI}}\n  versions: ['2.0']\n",
        encoding="utf-8",
    )
    return root, python


def _gate(root: Path, python: Path, scope: str, only: tuple[str, ...], source: str = "environment") -> GateResult:
    db = root.parent / "db"
    (root / "gatekeeper.toml").write_text(
        f'[environment]\npython = "{python}"\nscope = "{scope}"\n'
        f'[checks.dependencies]\nadvisory_db = "{db}"\nsource = "{source}"\n[checks.licenses]\nunknown = "warn"\n',
        encoding="utf-8",
    )
    policy = load_policy(root, installed_options())
    request = RunRequest(root=root, policy=policy, output_dir=root / "out", only=only, use_cache=False)
    return run_checks(request, installed_checkers())


def test_workspace_members_are_the_project_not_unaudited_dependencies(tmp_path: Path) -> None:
    root, python = _workspace(tmp_path, '[project]\nname = "ws"\nversion = "0.1"\ndependencies = ["alib"]\n')
    gate = _gate(root, python, "all", ("dependencies", "licenses", "sbom"))
    dep, lic, sbom = (gate.check(n) for n in ("dependencies", "licenses", "sbom"))
    assert dep is not None and lic is not None and sbom is not None
    assert dep.status is Status.FAIL, dep.error  # indexpkg 2.0 is vulnerable: the audit ran
    assert {f.rule_id for f in dep.findings if f.package is not None and f.package.name == "indexpkg"} == {"TEST-1"}
    # only the member is the project: the excluded folder, a path dependency and a folder outside
    # the root are still built from folders whose advisories cannot be known
    assert dep.metrics["unaudited"] == ["legacy", "outside", "vlib"]
    reasons = dep.metrics["unaudited_reasons"]
    assert reasons["outside"] == (
        "installed from a local folder, not a release from the package index: its advisories cannot be known"
    )
    for name, folder in (("legacy", "packages/legacy"), ("vlib", "vendor/vlib")):  # a monorepo's own folders are named
        assert reasons[name].startswith(f"installed from the folder {folder} inside the project, not a release from the")
        assert reasons[name].endswith(f'a waiver of rule "dependencies.unaudited" for package "{name}" accounts for it)')
    assert dep.metrics["members"] == ["alib"]
    assert dep.metrics["packages_audited"] == 2  # indexpkg, otherpkg
    assert lic.metrics["members"] == ["alib"]
    # the console says why the counts are below the environment's (pip list names alib too)
    not_counted = "; not counted: the uv workspace member alib (the project's own code)"
    assert dep.summary.endswith(not_counted) and lic.summary.endswith(not_counted)
    assert sorted(p["name"] for p in lic.metrics["packages"]) == ["indexpkg", "legacy", "otherpkg", "outside", "vlib"]
    # the SBOM describes the product: the member stays a component, as in an SBOM of the lock
    assert sbom.status is Status.PASS, sbom.error
    written = json.loads((root / "out" / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert sorted(c["name"] for c in written["components"]) == ["alib", "indexpkg", "legacy", "otherpkg", "outside", "vlib"]


def test_a_virtual_workspace_root_takes_its_members_dependencies_in_project_scope(tmp_path: Path) -> None:
    """uv's virtual workspace root has no [project] table: the members' requirements are the closure's roots."""
    root, python = _workspace(tmp_path, "")
    dep = _gate(root, python, "project", ("dependencies",)).check("dependencies")
    assert dep is not None and dep.status is Status.FAIL, dep.error
    assert dep.metrics["packages_audited"] == 1 and dep.metrics["unaudited"] == []
    assert dep.metrics["members"] == ["alib"]
    assert {f.rule_id for f in dep.findings} == {"TEST-1"}


def test_the_pyproject_source_skips_members_and_never_audits_a_folder_build_as_a_release(tmp_path: Path) -> None:
    """Unpinned dependencies are audited at their installed version only when that is an index release."""
    deps = 'dependencies = ["alib", "vlib", "indexpkg"]\n'
    root, python = _workspace(tmp_path, f'[project]\nname = "ws"\nversion = "0.1"\n{deps}')
    dep = _gate(root, python, "all", ("dependencies",), source="pyproject.toml").check("dependencies")
    assert dep is not None and dep.status is Status.FAIL, dep.error
    assert dep.metrics["unaudited"] == ["vlib"]  # built from vendor/vlib: the database's silence proves nothing
    reason = dep.metrics["unaudited_reasons"]["vlib"]
    assert reason.startswith("pyproject.toml: 'vlib': installed from the folder vendor/vlib inside the project")
    assert dep.metrics["members"] == ["alib"]  # the project itself, neither audited nor "not installed"
    assert dep.metrics["packages_audited"] == 1
    assert {f.rule_id for f in dep.findings} == {"TEST-1", "dependencies.unaudited"}


def test_a_member_a_dependency_requires_by_its_name_stays_unaudited(tmp_path: Path) -> None:
    """A member folder named after a real package, that an index package requires, stands in for that
    dependency (any copy of it, a known-vulnerable one included): it is audited as a build from a
    folder, unaudited, never waved through as the project's own code."""
    root = tmp_path / "ws"
    for folder, name in ((root / "packages" / "alib", "alib"), (root / "packages" / "indexpkg", "indexpkg")):
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "2.0"\n', encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "ws"\nversion = "0.1"\ndependencies = ["alib", "webfw"]\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        encoding="utf-8",
    )
    python = make_env(
        tmp_path / "venv",
        [("alib", "2.0", []), ("indexpkg", "2.0", []), ("webfw", "1.0", ["indexpkg>=1"])],
    )
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    _editable(site, "alib-2.0", root / "packages" / "alib")
    _editable(site, "indexpkg-2.0", root / "packages" / "indexpkg")
    db = tmp_path / "db" / "vulns" / "indexpkg"
    db.mkdir(parents=True)
    (db / "TEST-1.yaml").write_text(
        f"id: TEST-1\nmodified: '{FRESH}'\naffected:\n- package: {{name: indexpkg, ecosystem: PyPI}}\n  versions: ['2.0']\n",
        encoding="utf-8",
    )
    for scope in ("all", "project"):
        gate = _gate(root, python, scope, ("dependencies", "licenses"))
        dep, lic = gate.check("dependencies"), gate.check("licenses")
        assert dep is not None and lic is not None
        assert dep.status is Status.FAIL, dep.error
        assert dep.metrics["members"] == ["alib"]  # a member no dependency requires is the project
        assert dep.metrics["unaudited"] == ["indexpkg"]
        reason = dep.metrics["unaudited_reasons"]["indexpkg"]
        assert "installed from the folder packages/indexpkg inside the project" in reason
        # why a member is not the project here: the message names the package that requires it
        assert "a member of its uv workspace, but webfw, from outside the project, requires indexpkg" in reason
        # as for any build from a folder, an advisory on its name and version is reported too
        assert sorted(f.rule_id for f in dep.findings if f.blocking) == ["TEST-1", "dependencies.unaudited"]
        assert sorted(p["name"] for p in lic.metrics["packages"]) == ["indexpkg", "webfw"]


def test_a_release_under_the_projects_name_that_a_dependency_requires_is_audited(tmp_path: Path) -> None:
    """A pyproject.toml that takes the name of a dependency (``jinja2``, which the installed Flask
    requires) does not make the release installed under that name the project: it is audited."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "IndexPkg"\nversion = "0.1"\n', encoding="utf-8")
    python = make_env(tmp_path / "venv", [("indexpkg", "2.0", []), ("webfw", "1.0", ["indexpkg>=1"])])
    db = tmp_path / "db" / "vulns" / "indexpkg"
    db.mkdir(parents=True)
    (db / "TEST-1.yaml").write_text(
        f"id: TEST-1\nmodified: '{FRESH}'\naffected:\n- package: {{name: indexpkg, ecosystem: PyPI}}\n  versions: ['2.0']\n",
        encoding="utf-8",
    )
    gate = _gate(root, python, "all", ("dependencies", "licenses"))
    dep, lic = gate.check("dependencies"), gate.check("licenses")
    assert dep is not None and lic is not None
    assert dep.status is Status.FAIL, dep.error
    assert {f.rule_id for f in dep.findings} == {"TEST-1"} and dep.metrics["packages_audited"] == 2
    assert "project" not in dep.metrics
    assert sorted(p["name"] for p in lic.metrics["packages"]) == ["indexpkg", "webfw"]
    # a wheel built into the root (dist/) is the project's own build, whoever requires it
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    wheel = (root / "dist" / "indexpkg-2.0-py3-none-any.whl").as_uri()
    (site / "indexpkg-2.0.dist-info" / "direct_url.json").write_text(json.dumps({"url": wheel, "archive_info": {}}))
    dep = _gate(root, python, "all", ("dependencies",)).check("dependencies")
    assert dep is not None and dep.metrics["project"] == "indexpkg" and dep.metrics["packages_audited"] == 1
    (site / "indexpkg-2.0.dist-info" / "direct_url.json").unlink()
    # nothing else requiring it, the distribution of the project's name is the project, as before
    (root / "pyproject.toml").write_text('[project]\nname = "WebFw"\nversion = "0.1"\n', encoding="utf-8")
    dep = _gate(root, python, "all", ("dependencies",)).check("dependencies")
    assert dep is not None and dep.metrics["project"] == "webfw" and dep.metrics["packages_audited"] == 1


def test_a_member_only_a_package_out_of_scope_requires_is_the_project_in_project_scope(tmp_path: Path) -> None:
    """griffe's shape: its member griffelib is also required by mkdocstrings-python, a docs tool the
    project does not depend on. With scope = "all" the tool is in scope, so the member stands in for
    its dependency (unaudited, the reason naming the tool); with scope = "project" the tool is left
    out, and the member was unaudited all the same: a failing gate on the project's own code."""
    root = tmp_path / "ws"
    for name in ("corelib", "cli"):
        (root / "packages" / name).mkdir(parents=True)
        (root / "packages" / name / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "1.0"\n', encoding="utf-8"
        )
    (root / "pyproject.toml").write_text(
        '[project]\nname = "ws"\nversion = "0.1"\ndependencies = ["cli"]\n[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        encoding="utf-8",
    )
    python = make_env(
        tmp_path / "venv",
        [
            ("corelib", "1.0", []),
            ("cli", "1.0", ["corelib", "indexpkg"]),
            ("indexpkg", "2.0", []),
            ("docstool", "1.0", ["corelib>=1"]),
        ],
    )
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    for name in ("corelib", "cli"):
        _editable(site, f"{name}-1.0", root / "packages" / name)
    (tmp_path / "db" / "vulns").mkdir(parents=True)
    (tmp_path / "db" / "vulns" / "TEST-0.yaml").write_text(
        f"id: TEST-0\nmodified: '{FRESH}'\naffected:\n- package: {{name: nothing, ecosystem: PyPI}}\n  versions: ['1']\n",
        encoding="utf-8",
    )
    dep = _gate(root, python, "project", ("dependencies",)).check("dependencies")
    assert dep is not None and dep.status is Status.PASS, dep.error
    assert dep.metrics["members"] == ["cli", "corelib"] and dep.metrics["unaudited"] == []
    assert dep.metrics["packages_audited"] == 1 and "docstool" in dep.metrics["left_out"]
    dep = _gate(root, python, "all", ("dependencies",)).check("dependencies")
    assert dep is not None and dep.status is Status.FAIL
    assert dep.metrics["unaudited"] == ["corelib"]
    assert "but docstool, from outside the project, requires corelib" in dep.metrics["unaudited_reasons"]["corelib"]


def test_with_scope_all_the_members_requirements_are_required_too(tmp_path: Path) -> None:
    """A virtual workspace root (no [project] of its own): its members' requirements are the project's.
    The installed member alib requires absent-pkg, and the member blib, not installed, declares
    gone-pkg; neither is installed. With scope "all" both passed unmentioned; the members themselves
    are the project's code, never missing."""
    root, python = _workspace(tmp_path, "", ("indexpkg>=1", "absent-pkg>=1"))
    blib = root / "packages" / "blib"
    blib.mkdir()
    (blib / "pyproject.toml").write_text('[project]\nname = "blib"\nversion = "1.0"\ndependencies = ["gone-pkg>=1", "alib"]\n')
    gate = _gate(root, python, "all", ("dependencies", "licenses", "sbom"))
    dep, lic, sbom = (gate.check(n) for n in ("dependencies", "licenses", "sbom"))
    assert dep is not None and lic is not None and sbom is not None
    reasons = dep.metrics["unaudited_reasons"]
    assert reasons["absent-pkg"] == reasons["gone-pkg"] == "required by the project but not installed in the environment"
    assert lic.metrics["missing"] == sbom.metrics["missing"] == ["absent-pkg", "gone-pkg"]
    assert "alib" not in reasons and "blib" not in reasons
