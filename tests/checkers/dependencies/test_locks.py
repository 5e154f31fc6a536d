"""Lock files as the dependencies check's source: locked by the real uv against a local wheel
folder, audited offline against an OSV database the test writes, and compared with an
independent OSV matcher (written below from the OSV schema) applied to the pins uv itself exports."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from gatekeeper.errors import PolicyError
from gatekeeper.findings import CheckResult, Status
from gatekeeper.policy import load_policy
from tests.helpers.cli import invoke_gatekeeper
from tests.helpers.locks import (
    DISTS,
    MEMBER,
    PYPROJECT,
    build_grouped,
    build_workspace,
    exported_pins,
    poetry,
    simple_index,
    uv,
    wheel_index,
)
from tests.helpers.osv import RECORDS, dep_result, found, run_dependencies, write_db


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wheel_index(tmp_path_factory.mktemp("index") / "wheels", DISTS)


@pytest.fixture
def workspace(tmp_path: Path, wheels: Path) -> Path:
    """A uv workspace (root demo-app, member lib) locked by uv, with an OSV database beside it."""
    root = build_workspace(tmp_path / "ws", wheels)
    write_db(root, RECORDS, "flat")
    return root


def policy(root: Path, checks: str) -> None:
    (root / "gatekeeper.toml").write_text(
        f'[audit]\nenabled = false\n\n[checks.dependencies]\nadvisory_db = "advisories"\n{checks}\n', encoding="utf-8"
    )


def audit(root: Path, checkers: Mapping[str, Any], checks: str) -> CheckResult:
    policy(root, checks)
    return dep_result(run_dependencies(root, checkers))


# --------------------------------------------------------------------------- an independent matcher


def osv_affects(record: Mapping[str, Any], name: str, version: str) -> bool:
    """The OSV schema's own evaluation (ossf.github.io/osv-schema, "Evaluation"): a version is
    affected when it is listed, or when, walking a range's events in version order, the last
    event at or below it is an ``introduced`` (``fixed`` ends the range at it, ``last_affected``
    just after it)."""
    if record.get("withdrawn"):
        return False
    v = Version(version)
    for affected in record.get("affected", []):
        pkg = affected.get("package", {})
        if pkg.get("ecosystem") != "PyPI" or canonicalize_name(pkg.get("name", "")) != canonicalize_name(name):
            continue
        if version in affected.get("versions", []):
            return True
        for rng in affected.get("ranges", []):
            if rng.get("type") != "ECOSYSTEM":
                continue
            hit = False
            for event in sorted(rng["events"], key=lambda e: Version(next(iter(e.values())))):
                kind, at = next(iter(event.items()))
                bound = Version(at)  # "0" is PEP 440's version 0, below every release
                if kind == "introduced" and v >= bound:
                    hit = True
                elif kind == "fixed" and v >= bound:
                    hit = False
                elif kind == "last_affected" and v > bound:
                    hit = False
            if hit:
                return True
    return False


def independent(pins: Mapping[str, str], records: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    return {(r["id"], name) for r in records for name, version in pins.items() if osv_affects(r, name, version)}


# --------------------------------------------------------------------------- the tests


def test_uv_lock_of_a_workspace_is_audited_as_locked_without_installing(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    result = audit(workspace, checkers, 'source = "uv.lock"')
    pins = exported_pins(workspace, wheels, "--no-dev", "--all-packages")
    # every member's run-time closure: lib's foo-bar-baz too; not the dev group, not the extra,
    # not the win32-only package; the members themselves are the project
    assert pins == {"alpha": "1.4", "beta-pkg": "2.0.1", "delta": "0.5", "foo-bar-baz": "1.0", "gamma": "3.1"}
    assert result.metrics["packages_audited"] == len(pins)
    assert result.metrics["unaudited"] == []
    assert found(result) == independent(pins, RECORDS) != set()
    assert result.status is Status.FAIL
    lock = result.metrics["lock"]
    assert lock["format"] == "uv.lock" and lock["members"] == ["demo-app", "lib"] and lock["entries"] == 10
    lines = (workspace / "uv.lock").read_text().splitlines()
    for f in result.findings:
        # each finding points at the lock entry of the package it is about
        assert f.location is not None and f.location.path == "uv.lock"
        assert f.package is not None and lines[f.location.line] == f'name = "{canonicalize_name(f.package.name)}"'
        assert f.properties["lock_entry"] == f"uv.lock:{f.location.line} {f.package.name} {f.package.version}"


def test_groups_extras_and_target_platform_choose_what_counts(workspace: Path, wheels: Path, checkers: Mapping[str, Any]) -> None:
    result = audit(workspace, checkers, 'source = "uv.lock"\ngroups = ["dev"]\nextras = ["extra1"]\ntarget_platform = "win32"')
    win32 = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}
    pins = exported_pins(workspace, wheels, "--all-packages", "--extra", "extra1", platform=win32)
    assert {"toolx", "safe", "winonly"} <= set(pins)
    assert result.metrics["packages_audited"] == len(pins)
    assert found(result) == independent(pins, RECORDS)
    assert ("TEST-2024-TOOL", "toolx") in found(result)
    assert result.metrics["lock"]["groups"] == ["dev"] and result.metrics["lock"]["platform"] == "win32"


def test_a_group_uv_sync_installs_but_the_audit_leaves_out_is_said_with_its_packages(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """uv sync installs the dev group by default (uv export too, uv's own reading of what it
    installs), and toolx there is vulnerable: an audit of the run-time dependencies alone never
    reads as the whole lock. The summary and the lock metric name each group and extra left out,
    how many packages it alone brings, and whether uv sync installs it; `[tool.uv] default-groups`
    changes that last word as it changes what uv installs."""
    runtime = exported_pins(workspace, wheels, "--no-dev", "--all-packages")
    installed = exported_pins(workspace, wheels, "--all-packages")  # what uv sync installs: the dev group too
    assert set(installed) - set(runtime) == {"toolx"}
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert ("TEST-2024-TOOL", "toolx") not in found(result) and result.metrics["packages_audited"] == len(runtime)
    lock = result.metrics["lock"]
    assert lock["counted_groups"] == ["run time"] and lock["installer"] == "uv sync"
    assert lock["left_out"] == [
        {"group": "dev", "packages": len(installed) - len(runtime), "installed_by_default": True},
        {"extras": ["extra1"], "packages": 1, "installed_by_default": False},
    ]
    assert lock["left_out_packages"] == 2
    assert result.summary.endswith(
        "; 2 more packages of uv.lock not audited: only run time counted, not the group dev (1 package, which uv sync "
        "installs by default) nor the extra extra1 (1 package); checks.dependencies.groups and extras count them"
    )

    text = (workspace / "pyproject.toml").read_text()
    (workspace / "pyproject.toml").write_text(text + "[tool.uv]\ndefault-groups = []\n")
    assert exported_pins(workspace, wheels, "--all-packages") == runtime  # uv now installs no group by default
    quiet = audit(workspace, checkers, 'source = "uv.lock"')
    assert quiet.metrics["lock"]["left_out"][0] == {"group": "dev", "packages": 1, "installed_by_default": False}
    assert "not the group dev (1 package) nor the extra extra1 (1 package)" in quiet.summary

    everything = audit(workspace, checkers, 'source = "uv.lock"\ngroups = ["dev"]\nextras = ["extra1"]')
    assert ("TEST-2024-TOOL", "toolx") in found(everything)
    assert everything.metrics["lock"]["counted_groups"] == ["run time", "dev", "extra:extra1"]
    assert everything.metrics["lock"]["left_out"] == [] and everything.metrics["lock"]["left_out_packages"] == 0
    assert "not audited" not in everything.summary


def test_default_groups_all_makes_every_left_out_group_one_uv_sync_installs(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """No dev group: uv sync installs none of tests and typing; with `[tool.uv] default-groups =
    "all"` it installs both (uv's own export says so), and so does the metric and the summary."""
    root = build_grouped(tmp_path / "solo", wheels)
    write_db(root, RECORDS, "flat")
    win32 = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}
    checks = 'source = "uv.lock"\ntarget_platform = "win32"'
    assert exported_pins(root, wheels, "--no-emit-project", platform=win32) == {"winonly": "1.0"}
    plain = audit(root, checkers, checks)
    assert [e["installed_by_default"] for e in plain.metrics["lock"]["left_out"]] == [False, False]
    assert "not the group tests (1 package) nor the group typing (1 package)" in plain.summary
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text() + '[tool.uv]\ndefault-groups = "all"\n')
    installed = exported_pins(root, wheels, "--no-emit-project", platform=win32)
    assert installed == {"winonly": "1.0", "toolx": "1.0", "alpha": "1.4"}
    every = audit(root, checkers, checks)
    assert every.metrics["lock"]["left_out"] == [
        {"group": "tests", "packages": 1, "installed_by_default": True},
        {"group": "typing", "packages": 1, "installed_by_default": True},
    ]
    assert every.metrics["lock"]["left_out_packages"] == len(installed) - every.metrics["packages_audited"] == 2
    assert "not the group tests (1 package, which uv sync installs by default) nor the group typing" in every.summary


def test_pylock_exported_by_uv_gives_the_same_findings(workspace: Path, wheels: Path, checkers: Mapping[str, Any]) -> None:
    uv(["export", "--format", "pylock.toml", "--no-dev", "--all-packages", "-o", "pylock.toml"], workspace, wheels)
    from_uv_lock = audit(workspace, checkers, 'source = "uv.lock"')
    from_pylock = audit(workspace, checkers, 'source = "pylock.toml"')
    assert found(from_pylock) == found(from_uv_lock)
    assert from_pylock.metrics["packages_audited"] == from_uv_lock.metrics["packages_audited"] == 5
    assert from_pylock.metrics["lock"]["members"] == ["demo-app", "lib"]
    (workspace / "pylock.ci.toml").write_text((workspace / "pylock.toml").read_text())
    assert found(audit(workspace, checkers, 'source = "pylock.ci.toml"')) == found(from_uv_lock)


def test_a_workspace_whose_run_time_dependencies_are_all_members_says_what_else_it_locks(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """The project needs only its member at run time: uv exports no package, the audit of nothing is an
    error, and it says why and what the lock holds besides (the dev group, the extra), which counts
    once the policy lists it."""
    root = tmp_path / "ws"
    (root / "packages" / "lib").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        PYPROJECT.replace(
            'dependencies = ["alpha>=1", "beta_pkg[fast]==2.0.1", "lib", "winonly; sys_platform == \'win32\'"]',
            'dependencies = ["lib"]',
        )
    )
    (root / "packages" / "lib" / "pyproject.toml").write_text(MEMBER.replace('["foo-bar-baz"]', "[]"))
    uv(["lock"], root, wheels)
    write_db(root, RECORDS, "flat")
    assert exported_pins(root, wheels, "--no-dev", "--all-packages") == {}  # uv's own reading: nothing but members
    result = audit(root, checkers, 'source = "uv.lock"')
    assert result.status is Status.ERROR and result.error is not None
    assert result.error.startswith("no package was audited (uv.lock; ")
    assert ": its run-time closure holds the project and its workspace members alone (demo-app, lib); " in result.error
    assert "the group dev and the extra extra1, which checks.dependencies.groups and extras count when listed" in result.error
    with_dev = audit(root, checkers, 'source = "uv.lock"\ngroups = ["dev"]')
    assert with_dev.status is not Status.ERROR
    assert with_dev.metrics["packages_audited"] == len(exported_pins(root, wheels, "--only-dev")) > 0


def test_a_lock_whose_run_time_entries_are_all_for_other_targets_says_so(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """tzlocal needs tzdata on Windows alone: its pylock.toml, exported by uv, selects nothing on
    Linux, and the error said the run-time closure held the project alone, though the lock holds
    tzdata. It now says the other entries' markers hold on other targets, which target_platform reaches."""
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1.0"\nrequires-python = ">=3.10"\n'
        "dependencies = [\"winonly; sys_platform == 'win32'\"]\n"
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    uv(["lock"], root, wheels)
    uv(["export", "--format", "pylock.toml", "-o", "pylock.toml"], root, wheels)
    write_db(root, RECORDS, "flat")
    here = audit(root, checkers, 'source = "pylock.toml"\ntarget_platform = "linux"')
    assert here.status is Status.ERROR and here.error is not None
    assert here.metrics["lock"]["entries"] == 2  # winonly and the project's own folder
    python = here.metrics["lock"]["python"]
    assert (
        f"the marker of its 1 other entry holds on other targets only, not for Python {python} on linux "
        "(checks.dependencies.target_python and target_platform choose the target)"
    ) in here.error
    there = audit(root, checkers, 'source = "pylock.toml"\ntarget_platform = "win32"')
    assert there.status is not Status.ERROR and there.metrics["packages_audited"] == 1


def test_a_group_the_lock_does_not_know_is_an_error_not_an_empty_audit(workspace: Path, checkers: Mapping[str, Any]) -> None:
    result = audit(workspace, checkers, 'source = "uv.lock"\ngroups = ["tests"]')
    assert result.status is Status.ERROR
    assert result.error == "uv.lock has no dependency group 'tests' (it has: dev)"


def test_a_name_no_format_uses_is_a_policy_error(workspace: Path, checkers: Mapping[str, Any]) -> None:
    (workspace / "Pipfile.lock").write_text("{}")
    policy(workspace, 'source = "Pipfile.lock"')
    with pytest.raises(PolicyError) as caught:
        load_policy(workspace, {n: c.options for n, c in checkers.items()})
    assert "checks.dependencies.source" in str(caught.value) and "'Pipfile.lock' is neither" in str(caught.value)


def test_a_lock_under_a_requirements_name_is_never_read_line_by_line(workspace: Path, checkers: Mapping[str, Any]) -> None:
    (workspace / "requirements.txt").write_text((workspace / "uv.lock").read_text())
    result = audit(workspace, checkers, 'source = "requirements.txt"')
    assert result.status is Status.ERROR and result.findings == ()
    assert result.error is not None and result.error.startswith("requirements.txt:1 is not a requirements file")


def test_a_lock_name_with_other_content_or_broken_toml_is_an_error_naming_file_and_line(
    workspace: Path, checkers: Mapping[str, Any]
) -> None:
    text = (workspace / "uv.lock").read_text()
    (workspace / "uv.lock").write_text("alpha==1.4\n")
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.status is Status.ERROR and "uv.lock:1: not a readable uv.lock" in str(result.error)
    (workspace / "uv.lock").write_text(text.replace('version = "1.4"', 'version = "1.4'))
    result = audit(workspace, checkers, 'source = "uv.lock"')
    line = text.splitlines().index('version = "1.4"') + 1
    assert result.status is Status.ERROR and str(result.error).startswith(f"uv.lock:{line}: not a readable uv.lock")
    (workspace / "uv.lock").write_text('[metadata]\nlock-version = "2.1"\ncontent-hash = "x"\n')
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.status is Status.ERROR and str(result.error).startswith("uv.lock is not a uv lock file")


POETRY_PROJECT = """\
[project]
name = "demo-app"
version = "0.3.0"
requires-python = ">=3.10"
dependencies = ["alpha>=1", "beta_pkg[fast]==2.0.1", "winonly; sys_platform == 'win32'"]
[project.optional-dependencies]
extra1 = ["safe"]
[tool.poetry.group.dev.dependencies]
toolx = "*"
[[tool.poetry.source]]
name = "local"
url = "{index}"
priority = "primary"
"""

# stated by hand from POETRY_PROJECT and DISTS: beta_pkg[fast] brings delta and gamma
POETRY_RUNTIME = {"alpha": "1.4", "beta-pkg": "2.0.1", "delta": "0.5", "gamma": "3.1"}


@pytest.mark.slow
def test_poetry_lock_written_by_poetry_counts_the_chosen_groups_extras_and_platform(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    root = tmp_path / "poetry-project"
    root.mkdir()
    with simple_index(wheels, tmp_path / "index") as url:
        (root / "pyproject.toml").write_text(POETRY_PROJECT.format(index=url))
        poetry(["lock"], root)
    write_db(root, RECORDS, "flat")
    result = audit(root, checkers, 'source = "poetry.lock"')
    audited = {canonicalize_name(f.package.name) for f in result.findings if f.package}
    assert result.metrics["packages_audited"] == len(POETRY_RUNTIME) and result.metrics["unaudited"] == []
    assert found(result) == independent(POETRY_RUNTIME, RECORDS) and audited <= set(POETRY_RUNTIME)
    lines = (root / "poetry.lock").read_text().splitlines()
    for f in result.findings:
        assert f.location is not None and f.location.path == "poetry.lock" and f.location.line is not None
        assert lines[f.location.line - 1] == "[[package]]" and f.package is not None
        assert lines[f.location.line] == f'name = "{canonicalize_name(f.package.name)}"'

    everything = audit(root, checkers, 'source = "poetry.lock"\ngroups = ["dev"]\nextras = ["extra1"]\ntarget_platform = "win32"')
    pins = {**POETRY_RUNTIME, "toolx": "1.0", "safe": "5.0", "winonly": "1.0"}
    assert everything.metrics["packages_audited"] == len(pins)
    assert found(everything) == independent(pins, RECORDS)
    assert ("TEST-2024-TOOL", "toolx") in found(everything)


@pytest.mark.slow
def test_poetry_lock_says_which_left_out_groups_poetry_install_installs(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """poetry install installs every group not marked optional: the dev group's vulnerable toolx is
    left out of the run-time audit, and the summary says poetry install installs it; the optional
    docs group is left out as well, without that word. Poetry's own dry run is the reference."""
    root = tmp_path / "poetry-project"
    root.mkdir()
    docs = '[tool.poetry.group.docs]\noptional = true\n[tool.poetry.group.docs.dependencies]\nsafe = "*"\n'
    with simple_index(wheels, tmp_path / "index") as url:
        (root / "pyproject.toml").write_text(POETRY_PROJECT.format(index=url) + docs)
        poetry(["lock"], root)
        dry_run = poetry(["install", "--dry-run", "--no-root"], root).stdout
    installed = {canonicalize_name(m[0]) for m in re.findall(r"Installing (\S+) \((\S+)\)", dry_run)}
    assert installed - set(POETRY_RUNTIME) == {"toolx"}  # main and dev, not the optional docs group
    write_db(root, RECORDS, "flat")
    result = audit(root, checkers, 'source = "poetry.lock"')
    assert ("TEST-2024-TOOL", "toolx") not in found(result)
    lock = result.metrics["lock"]
    assert lock["counted_groups"] == ["main"] and lock["installer"] == "poetry install"
    assert lock["left_out"] == [
        {"group": "dev", "packages": 1, "installed_by_default": True},
        {"group": "docs", "packages": 1, "installed_by_default": False},
        {"extras": ["extra1"], "packages": 1, "installed_by_default": False},
    ]
    assert lock["left_out_packages"] == 2  # safe is in docs and in extra1: one package
    assert (
        "; 2 more packages of poetry.lock not audited: only main counted, not the group dev (1 package, which poetry "
        "install installs by default), the group docs (1 package) nor the extra extra1 (1 package); "
        "checks.dependencies.groups and extras count them"
    ) in result.summary


def test_hashed_requirements_exported_by_uv_audit_like_the_lock(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    # locked against an index whose links carry sha256 (as PyPI's do): uv.lock records the hashes,
    # and its requirements export has --hash lines; read as a requirements file, it audits the
    # same pins as the lock
    with simple_index(wheels, tmp_path / "index") as url:
        root = build_workspace(tmp_path / "ws", url)
        export = ["export", "--format", "requirements.txt", "--no-dev", "--all-packages", "--no-emit-workspace"]
        uv([*export, "-o", "requirements.txt"], root, url)
    write_db(root, RECORDS, "flat")
    assert "--hash=sha256:" in (root / "requirements.txt").read_text()
    hashed = audit(root, checkers, 'source = "requirements.txt"')
    locked = audit(root, checkers, 'source = "uv.lock"')
    assert found(hashed) == found(locked) != set()
    assert hashed.metrics["packages_audited"] == locked.metrics["packages_audited"] == 5


@pytest.mark.parametrize("editable", [True, False])
def test_a_uv_export_naming_the_project_and_its_members_audits_like_the_lock(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any], editable: bool
) -> None:
    # uv export lists the project and its workspace members by path ("-e ." or "."): they are the
    # project itself, not dependencies that could not be audited; any other folder still is one
    args = ["export", "--format", "requirements.txt", "--no-dev", "--no-hashes", *([] if editable else ["--no-editable"])]
    text = uv(args, workspace, wheels).stdout
    member = "-e ./packages/lib" if editable else "./packages/lib"
    assert member in text.splitlines() and ("-e ." if editable else ".") in text.splitlines()
    (workspace.parent / "elsewhere").mkdir()
    (workspace.parent / "elsewhere" / "pyproject.toml").write_text('[project]\nname = "elsewhere"\nversion = "1.0"\n')
    (workspace / "requirements.txt").write_text(text + "-e ../elsewhere\n", encoding="utf-8")
    exported = audit(workspace, checkers, 'source = "requirements.txt"')
    locked = audit(workspace, checkers, 'source = "uv.lock"')
    assert found(exported) == found(locked) != set()
    assert exported.metrics["packages_audited"] == locked.metrics["packages_audited"]
    (outside,) = exported.metrics["unaudited"]  # ../elsewhere alone
    assert "editable requirement has no pinned version" in exported.metrics["unaudited_reasons"][outside]
    assert exported.metrics["project"] == "demo-app" and exported.metrics["members"] == ["lib"]


def test_policy_validate_reads_what_the_sources_name(workspace: Path) -> None:
    policy(workspace, 'source = "uv.lock"')
    ok = invoke_gatekeeper(["policy", "validate"], workspace)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (workspace / "requirements.txt").write_text((workspace / "uv.lock").read_text())
    policy(workspace, 'source = "requirements.txt"')
    done = invoke_gatekeeper(["policy", "validate"], workspace)
    assert done.returncode == 2
    assert "checks.dependencies.source: requirements.txt:1 is not a requirements file" in done.stdout + done.stderr
    (workspace / "pdm.lock").write_text("alpha==1.4\n")
    (workspace / "gatekeeper.toml").write_text('[audit]\nenabled = false\n[checks.sbom]\nsource = "pdm.lock"\n')
    done = invoke_gatekeeper(["policy", "validate"], workspace)
    assert done.returncode == 2 and "checks.sbom.source: pdm.lock:1: not a readable pdm.lock" in done.stdout + done.stderr
    (workspace / "gatekeeper.toml").write_text('[audit]\nenabled = false\n[checks.licenses]\nlock = "pylock.toml"\n')
    (workspace / "pylock.toml").write_text('version = 1\n[[package]]\nname = "x"\n')
    done = invoke_gatekeeper(["policy", "validate"], workspace)
    assert done.returncode == 2 and "checks.licenses.lock: pylock.toml is not a pylock.toml file" in done.stdout + done.stderr


def test_a_uv_member_a_locked_dependency_resolves_to_is_counted_not_the_project(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """uv resolves beta_pkg's dependency on delta to a workspace member called delta: that folder
    stands in for the dependency (any copy of it), so it is counted, unaudited, never the project."""
    root = tmp_path / "ws"
    (root / "packages" / "delta").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo-app"\nversion = "0.3.0"\nrequires-python = ">=3.10"\ndependencies = ["beta_pkg==2.0.1"]\n'
        '[tool.uv.workspace]\nmembers = ["packages/delta"]\n',
        encoding="utf-8",
    )
    (root / "packages" / "delta" / "pyproject.toml").write_text(
        '[project]\nname = "delta"\nversion = "0.5"\nrequires-python = ">=3.10"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        encoding="utf-8",
    )
    uv(["lock"], root, wheels)
    assert 'source = { editable = "packages/delta" }' in (root / "uv.lock").read_text()  # uv's own choice
    write_db(root, RECORDS, "flat")
    result = audit(root, checkers, 'source = "uv.lock"')
    assert result.metrics["lock"]["members"] == ["demo-app"]
    assert result.metrics["unaudited"] == ["delta"]
    assert result.status is Status.FAIL and "dependencies.unaudited" in {f.rule_id for f in result.findings if f.blocking}
    # the reason says why a member is counted: the package from the index that depends on it
    reason = result.metrics["unaudited_reasons"]["delta"]
    assert "locked from a directory that beta-pkg, locked from an index, depends on, so the folder stands in" in reason


def test_a_vendored_folder_in_a_pylock_is_a_package_built_from_a_folder_not_the_project(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """uv exports a path dependency (``[tool.uv.sources] alpha = { path = "vendor/alpha" }``, a
    vendored copy) as a ``directory`` entry, as it does the project and its members: only the
    folder the lock lies in and the workspace's members are the project; the vendored alpha is
    counted, unaudited, as the uv.lock it was exported from has it (it was taken for the project,
    neither audited nor said to be unaudited)."""
    root = tmp_path / "ws"
    (root / "vendor" / "alpha" / "alpha").mkdir(parents=True)
    (root / "vendor" / "alpha" / "alpha" / "__init__.py").write_text("", encoding="utf-8")
    (root / "vendor" / "alpha" / "pyproject.toml").write_text(
        '[project]\nname = "alpha"\nversion = "1.4"\nrequires-python = ">=3.10"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        encoding="utf-8",
    )
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo-app"\nversion = "0.3.0"\nrequires-python = ">=3.10"\ndependencies = ["alpha", "gamma==3.1"]\n'
        '[tool.uv.sources]\nalpha = { path = "vendor/alpha" }\n',
        encoding="utf-8",
    )
    uv(["lock"], root, wheels)
    uv(["export", "--format", "pylock.toml", "--all-packages", "-o", "pylock.toml"], root, wheels)
    assert 'directory = { path = "vendor/alpha"' in (root / "pylock.toml").read_text()  # uv's own export
    write_db(root, RECORDS, "flat")
    from_uv_lock = audit(root, checkers, 'source = "uv.lock"')
    from_pylock = audit(root, checkers, 'source = "pylock.toml"')
    assert from_uv_lock.metrics["unaudited"] == from_pylock.metrics["unaudited"] == ["alpha"]
    assert found(from_pylock) == found(from_uv_lock)
    assert from_pylock.metrics["packages_audited"] == from_uv_lock.metrics["packages_audited"] == 1
    assert "alpha" not in from_pylock.metrics["lock"]["members"]


def test_a_uv_lock_member_the_project_does_not_declare_is_a_package_built_from_a_folder(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """The lock is the pull request's text: one that names a vendored folder among its workspace
    members (``[manifest] members``, ``source = { editable = ... }``) is installed as it says by
    ``uv sync --frozen``, so that copy is counted, unaudited, unless the project's own
    ``[tool.uv.workspace]`` declares it (it was taken for the project, and nothing was said)."""
    root = tmp_path / "ws"
    (root / "vendor" / "alpha").mkdir(parents=True)
    (root / "vendor" / "alpha" / "pyproject.toml").write_text(
        '[project]\nname = "alpha"\nversion = "1.4"\nrequires-python = ">=3.10"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        encoding="utf-8",
    )
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo-app"\nversion = "0.3.0"\nrequires-python = ">=3.10"\ndependencies = ["alpha", "gamma==3.1"]\n'
        '[tool.uv.sources]\nalpha = { path = "vendor/alpha" }\n',
        encoding="utf-8",
    )
    uv(["lock"], root, wheels)
    lock = (root / "uv.lock").read_text(encoding="utf-8")
    assert 'source = { directory = "vendor/alpha" }' in lock and "[manifest]" not in lock  # uv's own lock
    forged = lock.replace('source = { directory = "vendor/alpha" }', 'source = { editable = "vendor/alpha" }')
    forged = forged.replace(
        'requires-python = ">=3.10"\n', 'requires-python = ">=3.10"\n\n[manifest]\nmembers = ["alpha", "demo-app"]\n', 1
    )
    (root / "uv.lock").write_text(forged, encoding="utf-8")
    installs = uv(["export", "--frozen", "--no-hashes"], root, None).stdout
    assert "-e ./vendor/alpha" in installs.splitlines()  # what uv sync --frozen installs
    write_db(root, RECORDS, "flat")
    result = audit(root, checkers, 'source = "uv.lock"')
    assert result.metrics["lock"]["members"] == ["demo-app"]
    assert result.metrics["unaudited"] == ["alpha"]
    assert result.status is Status.FAIL and "dependencies.unaudited" in {f.rule_id for f in result.findings if f.blocking}


def test_the_dependency_groups_of_a_virtual_workspace_root_are_groups_of_the_lock(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """A workspace root with no [project] (jaraco.collections and jaraco.text as members of a virtual
    root whose dev group is pytest and coverage): uv locks the root's groups in [manifest]
    dependency-groups, not in an entry, and uv sync installs them. The lock "had no dependency group
    'dev' (it has: none)", and the run-time audit left it out unmentioned; it is a group like a
    member's, with what uv itself exports for it (an extra of a requirement included)."""
    root = tmp_path / "ws"
    (root / "packages" / "lib").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["packages/lib"]\n\n[dependency-groups]\ndev = ["toolx", "beta_pkg[fast]"]\n'
    )
    (root / "packages" / "lib" / "pyproject.toml").write_text(MEMBER)
    uv(["lock"], root, wheels)
    assert "[manifest.dependency-groups]" in (root / "uv.lock").read_text()
    write_db(root, RECORDS, "flat")
    runtime = exported_pins(root, wheels, "--no-dev", "--all-packages")
    installed = exported_pins(root, wheels, "--all-packages")  # what uv sync installs: the root's dev group too
    assert set(runtime) == {"foo-bar-baz"} and set(installed) - set(runtime) == {"toolx", "beta-pkg", "gamma", "delta"}
    result = audit(root, checkers, 'source = "uv.lock"')
    assert result.metrics["packages_audited"] == len(runtime)
    assert result.metrics["lock"]["left_out"] == [{"group": "dev", "packages": 4, "installed_by_default": True}]
    assert "not the group dev (4 packages, which uv sync installs by default)" in result.summary
    with_dev = audit(root, checkers, 'source = "uv.lock"\ngroups = ["dev"]')
    assert with_dev.status is not Status.ERROR, with_dev.error
    assert with_dev.metrics["packages_audited"] == len(installed)
    assert ("TEST-2024-TOOL", "toolx") in found(with_dev)


def test_a_lock_pyproject_toml_has_moved_past_is_an_error_not_the_audit_of_the_old_lock(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """A run-time dependency added to pyproject.toml without locking again (uv sync without
    --locked, or pip install ., installs it) or pinned where the lock has another version: the
    audit of uv.lock judged what the project no longer asks for. uv itself calls the lock stale."""
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace('"alpha>=1", ', '"alpha>=1", "safe==5.0; python_version >= \'3\'", '))
    with pytest.raises(AssertionError, match="needs to be updated"):
        uv(["lock", "--check"], workspace, wheels)
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.status is Status.ERROR
    assert result.error == (
        "uv.lock is not the lock of pyproject.toml: pyproject.toml requires \"safe==5.0; python_version >= '3'\" "
        "and the lock counts no safe (run uv lock to lock it again)"
    )
    pyproject.write_text(PYPROJECT.replace('"alpha>=1"', '"alpha>=2"'))
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.error == (
        "uv.lock is not the lock of pyproject.toml: pyproject.toml requires 'alpha>=2' and the lock has alpha 1.4 "
        "(run uv lock to lock it again)"
    )
    # what the markers leave out on the target, or an extra not selected, needs no entry
    pyproject.write_text(PYPROJECT.replace('"alpha>=1", ', '"alpha>=1", "gone; sys_platform == \'win32\'", '))
    assert audit(workspace, checkers, 'source = "uv.lock"').status is Status.FAIL


def test_a_selected_group_pyproject_toml_has_moved_past_is_an_error_not_the_audit_of_the_old_lock(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """A package added to a dependency group the policy audits (groups = ["dev"]) without locking again:
    uv sync (without --locked) installs it, uv lock --check calls the lock stale, and the audit of the
    old lock passed (only run-time dependencies and extras were held to pyproject.toml). A group the
    policy does not select needs no entry."""
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace('dev = ["toolx"]', 'dev = ["toolx", {include-group = "more"}]\nmore = ["safe==5.0"]'))
    with pytest.raises(AssertionError, match="needs to be updated"):
        uv(["lock", "--check"], workspace, wheels)
    result = audit(workspace, checkers, 'source = "uv.lock"\ngroups = ["dev"]')
    assert result.status is Status.ERROR
    assert result.error == (
        "uv.lock is not the lock of pyproject.toml: its group dev requires 'safe==5.0' and the lock counts no safe "
        "(run uv lock to lock it again)"
    )
    pyproject.write_text(PYPROJECT.replace('dev = ["toolx"]', 'dev = ["toolx>=9"]'))
    result = audit(workspace, checkers, 'source = "uv.lock"\ngroups = ["dev"]')
    assert result.error is not None and "its group dev requires 'toolx>=9' and the lock has toolx" in result.error
    assert audit(workspace, checkers, 'source = "uv.lock"').status is not Status.ERROR  # dev not selected


def test_a_selected_group_of_a_virtual_workspace_root_is_held_to_the_lock(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """A package added to the dev group of a workspace root with no [project] (a virtual root: its
    groups are the [manifest] dependency-groups of the lock) without locking again: uv sync installs it,
    uv lock --check calls the lock stale, and with groups = ["dev"] the audit of the old lock passed,
    as only a root with static [project] dependencies was compared with the lock."""
    root = tmp_path / "ws"
    (root / "packages" / "lib").mkdir(parents=True)
    pyproject = root / "pyproject.toml"
    pyproject.write_text('[tool.uv.workspace]\nmembers = ["packages/lib"]\n\n[dependency-groups]\ndev = ["toolx"]\n')
    (root / "packages" / "lib" / "pyproject.toml").write_text(MEMBER)
    uv(["lock"], root, wheels)
    write_db(root, RECORDS, "flat")
    assert audit(root, checkers, 'source = "uv.lock"\ngroups = ["dev"]').status is not Status.ERROR
    pyproject.write_text(pyproject.read_text().replace('dev = ["toolx"]', 'dev = ["toolx", "safe==5.0"]'))
    with pytest.raises(AssertionError, match="needs to be updated"):
        uv(["lock", "--check"], root, wheels)
    result = audit(root, checkers, 'source = "uv.lock"\ngroups = ["dev"]')
    assert result.status is Status.ERROR
    assert result.error == (
        "uv.lock is not the lock of pyproject.toml: its group dev requires 'safe==5.0' and the lock counts no safe "
        "(run uv lock to lock it again)"
    )
    assert audit(root, checkers, 'source = "uv.lock"').status is not Status.ERROR  # dev not selected


def test_a_workspace_member_pyproject_toml_has_moved_past_is_an_error_not_the_audit_of_the_old_lock(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """A run-time dependency added to a workspace member's pyproject.toml without locking again: uv sync
    installs it, uv lock --check calls the lock stale, and the audit of the old lock passed, as only
    the root's pyproject.toml was compared with the lock."""
    member = workspace / "packages" / "lib" / "pyproject.toml"
    member.write_text(MEMBER.replace('["foo-bar-baz"]', '["foo-bar-baz", "safe==5.0"]'))
    with pytest.raises(AssertionError, match="needs to be updated"):
        uv(["lock", "--check"], workspace, wheels)
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.status is Status.ERROR
    assert result.error == (
        "uv.lock is not the lock of packages/lib/pyproject.toml: packages/lib/pyproject.toml requires 'safe==5.0' "
        "and the lock counts no safe (run uv lock to lock it again)"
    )


def test_a_uv_source_moved_to_a_url_or_path_over_a_lock_of_the_index_release_is_an_error(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """[tool.uv.sources] gives alpha an archive (here a path; a url or git alike) while pyproject.toml still names
    alpha alone, over a uv.lock locking alpha 1.4 from the index: uv sync installs the archive, uv
    lock --check calls the lock stale, and the audit of the index release passed (only a URL written
    in the requirement itself was compared)."""
    archive = next(wheels.glob("alpha-*.whl"))
    pyproject = workspace / "pyproject.toml"
    for source in (f'{{ path = "{archive}" }}', f'[{{ path = "{archive}", marker = "sys_platform == \'linux\'" }}]'):
        pyproject.write_text(PYPROJECT.replace("lib = { workspace = true }", f"lib = {{ workspace = true }}\nalpha = {source}"))
        with pytest.raises(AssertionError, match="needs to be updated"):
            uv(["lock", "--check"], workspace, wheels)
        result = audit(workspace, checkers, 'source = "uv.lock"')
        assert result.error == (
            "uv.lock is not the lock of pyproject.toml: pyproject.toml requires 'alpha>=1' and the lock has alpha 1.4 "
            "from an index where [tool.uv.sources] names another source (run uv lock to lock it again)"
        )
    uv(["lock"], workspace, wheels)  # locked again: the archive is the lock's
    assert audit(workspace, checkers, 'source = "uv.lock"').status is not Status.ERROR
    # a member's requirement takes the root's sources too
    member_archive = next(wheels.glob("foo_bar_baz-*.whl"))
    pyproject.write_text(
        PYPROJECT.replace(
            "lib = { workspace = true }", f'lib = {{ workspace = true }}\nfoo-bar-baz = {{ path = "{member_archive}" }}'
        )
    )
    with pytest.raises(AssertionError, match="needs to be updated"):
        uv(["lock", "--check"], workspace, wheels)
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.error is not None and result.error.startswith("uv.lock is not the lock of packages/lib/pyproject.toml"), (
        result.error
    )


def test_a_workspace_member_pattern_no_glob_reads_is_an_error_naming_it(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """members = ["packages/**x"] (uv lock refuses it too) was "checker crashed: ValueError" from pathlib."""
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace('members = ["packages/lib"]', 'members = ["packages/lib", "packages/**x"]'))
    with pytest.raises(AssertionError, match="packages/"):
        uv(["lock", "--check"], workspace, wheels)
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.status is Status.ERROR
    assert result.error is not None and result.error.startswith(
        "pyproject.toml [tool.uv.workspace] members: 'packages/**x' is no glob: Invalid pattern"
    ), result.error


def test_a_requirement_uv_overrides_is_held_to_the_override_not_to_itself(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """[tool.uv] override-dependencies = ["alpha==1.4"] beside a requirement alpha>=1.5: uv resolves
    alpha by the override alone (uv lock --check calls the lock current), and the lock was called
    stale ("requires 'alpha>=1.5' and the lock has alpha 1.4"). The lock is held to the override:
    one moved on without locking again is an error; one naming a package nothing locks is none."""
    pyproject = workspace / "pyproject.toml"
    overriding = PYPROJECT.replace('"alpha>=1"', '"alpha>=1.5"').replace(
        "[tool.uv.workspace]", '[tool.uv]\noverride-dependencies = ["alpha==1.4", "absent==9"]\n[tool.uv.workspace]'
    )
    pyproject.write_text(overriding)
    uv(["lock"], workspace, wheels)
    uv(["lock", "--check"], workspace, wheels)
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.status is not Status.ERROR, result.error
    pyproject.write_text(overriding.replace('"alpha==1.4"', '"alpha==1.3"'))
    with pytest.raises(AssertionError, match=r"alpha==1\.3"):  # no release of it: uv cannot lock it at all
        uv(["lock", "--check"], workspace, wheels)
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.error == (
        "uv.lock is not the lock of pyproject.toml: its [tool.uv] override-dependencies ask 'alpha==1.3' and the lock "
        "has alpha 1.4 (run uv lock to lock it again)"
    )
    # an override whose marker leaves out the target leaves the requirement in force there
    pyproject.write_text(overriding.replace('"alpha==1.4"', "\"alpha==1.4; sys_platform == 'win32'\""))
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.error is not None and "requires 'alpha>=1.5' and the lock has alpha 1.4" in result.error, result.error


POETRY_CLASSIC = """\
[tool.poetry]
name = "demo-app"
version = "0.3.0"
description = ""
authors = []
[tool.poetry.dependencies]
python = "^3.10"
alpha = "^1.0"
beta_pkg = {{ version = "2.0.1", extras = ["fast"] }}
winonly = {{ version = "*", platform = "win32" }}
[tool.poetry.group.dev.dependencies]
toolx = "*"
[[tool.poetry.source]]
name = "local"
url = "{index}"
priority = "primary"
[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"""


@pytest.mark.slow
def test_a_poetry_lock_tool_poetry_dependencies_have_moved_past_is_an_error_not_the_audit_of_the_old_lock(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """cleo 2.1.0's layout: no [project] table, its dependencies under [tool.poetry.dependencies], which
    poetry-core builds the package's requirements from. One added without locking again (pip install .
    installs it; poetry check --lock calls the lock stale) was not compared with the lock, which only
    [project] dependencies were: jinja2 = "2.10" over cleo's poetry.lock passed, its 2 run-time packages
    audited. Poetry's constraints are read as Poetry reads them (^1.0 is >=1.0,<2), the selected groups
    of [tool.poetry.group] too."""
    root = tmp_path / "poetry-project"
    root.mkdir()
    with simple_index(wheels, tmp_path / "index") as url:
        (root / "pyproject.toml").write_text(POETRY_CLASSIC.format(index=url))
        poetry(["lock"], root)
        write_db(root, RECORDS, "flat")
        result = audit(root, checkers, 'source = "poetry.lock"')
        assert result.status is not Status.ERROR, result.error
        assert result.metrics["packages_audited"] == len(POETRY_RUNTIME)
        assert audit(root, checkers, 'source = "poetry.lock"\ngroups = ["dev"]').status is not Status.ERROR

        pyproject = root / "pyproject.toml"
        pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('alpha = "^1.0"', 'alpha = "^1.0"\nsafe = "5.0"'))
        with pytest.raises(AssertionError, match="changed significantly"):
            poetry(["check", "--lock"], root)
        result = audit(root, checkers, 'source = "poetry.lock"')
        assert result.status is Status.ERROR
        assert result.error == (
            "poetry.lock is not the lock of pyproject.toml: pyproject.toml [tool.poetry.dependencies] requires 'safe==5.0' "
            "and the lock counts no safe (run poetry lock to lock it again)"
        )
        pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('alpha = "^1.0"', 'alpha = "^2.0"'))
        result = audit(root, checkers, 'source = "poetry.lock"')
        assert result.error == (
            "poetry.lock is not the lock of pyproject.toml: pyproject.toml [tool.poetry.dependencies] requires "
            "'alpha>=2.0,<3' and the lock has alpha 1.4 (run poetry lock to lock it again)"
        )
        pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('toolx = "*"', 'toolx = ">=9"'))
        result = audit(root, checkers, 'source = "poetry.lock"\ngroups = ["dev"]')
        said = "[tool.poetry.group.dev.dependencies] requires 'toolx>=9' and the lock has"
        assert result.error is not None and said in result.error
        assert audit(root, checkers, 'source = "poetry.lock"').status is not Status.ERROR  # dev not selected
        # what the target's platform or Python leaves out needs no entry
        gone = '"^1.0"\ngone = { version = "*", platform = "win32" }\nold = { version = "*", python = "<3.8" }'
        pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('"^1.0"', gone, 1))
        assert audit(root, checkers, 'source = "poetry.lock"').status is not Status.ERROR


@pytest.mark.slow
def test_a_poetry_alternative_or_url_the_lock_has_moved_past_is_an_error_not_the_audit_of_the_old_lock(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """Poetry's alternatives (^2.0 || ^3.0) hold the lock to one of them, and a dependency named by a
    url or git repository to a lock that does not take it from an index: both kept the name alone, so
    alpha = "^2.0 || ^3.0" or alpha = { url = ".../alpha-1.4-py3-none-any.whl" } over the poetry.lock
    of alpha 1.4 from the index (poetry check --lock calls both stale) passed as that lock's audit."""
    root = tmp_path / "poetry-project"
    root.mkdir()
    with simple_index(wheels, tmp_path / "index") as url:
        (root / "pyproject.toml").write_text(POETRY_CLASSIC.format(index=url))
        poetry(["lock"], root)
        write_db(root, RECORDS, "flat")
        pyproject = root / "pyproject.toml"
        for alpha in ('"^1.0 || ^3.0"', '">=0.5,<1 || >=1.2,<2"', '"^2.0 | >=1.4"'):
            pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('"^1.0"', alpha))
            result = audit(root, checkers, 'source = "poetry.lock"')
            assert result.status is not Status.ERROR, (alpha, result.error)
        pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('"^1.0"', '"^2.0 || ^3.0"'))
        with pytest.raises(AssertionError, match="changed significantly"):
            poetry(["check", "--lock"], root)
        result = audit(root, checkers, 'source = "poetry.lock"')
        assert result.error == (
            "poetry.lock is not the lock of pyproject.toml: pyproject.toml [tool.poetry.dependencies] requires "
            "'alpha>=2.0,<3 || alpha>=3.0,<4' and the lock has alpha 1.4 (run poetry lock to lock it again)"
        )
        archive = url.replace("/simple/", "/files/alpha-1.4-py3-none-any.whl")
        for moved in (f'{{ url = "{archive}" }}', '{ git = "https://example.org/alpha.git", tag = "v1.4" }'):
            pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('"^1.0"', moved))
            with pytest.raises(AssertionError, match="changed significantly"):
                poetry(["check", "--lock"], root)
            result = audit(root, checkers, 'source = "poetry.lock"')
            assert result.error is not None and result.error.endswith(
                "and the lock has alpha 1.4 from an index (run poetry lock to lock it again)"
            ), result.error
        # a constraint of Python with an alternative that leaves out the target needs no entry
        old = '"^1.0"\nold = { version = "*", python = "~2.7 || <3.6" }'
        pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('"^1.0"', old, 1))
        assert audit(root, checkers, 'source = "poetry.lock"').status is not Status.ERROR
        old = '"^1.0"\nsafe = { version = "*", python = "~2.7 || >=3.6" }'
        pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('"^1.0"', old, 1))
        result = audit(root, checkers, 'source = "poetry.lock"')
        assert result.error is not None and "and the lock counts no safe" in result.error, result.error
        # as poetry-core's markers say: python = "3.11" is python_version == "3.11", 3.11.4's; "<=3.11" is
        # python_full_version <= "3.11.0", not 3.11.4's
        cases = (('"3.11"', True), ('"==3.11"', True), ('">3.11"', True), ('"~3.11.5"', False), ('"<=3.11"', False))
        for python, applies in cases:
            old = f'"^1.0"\nsafe = {{ version = "*", python = {python} }}'
            pyproject.write_text(POETRY_CLASSIC.format(index=url).replace('"^1.0"', old, 1))
            result = audit(root, checkers, 'source = "poetry.lock"\ntarget_python = "3.11.4"')
            assert (result.status is Status.ERROR) is applies, (python, result.error)


POETRY_2 = """\
[project]
name = "demo-app"
version = "0.3.0"
requires-python = ">=3.10"
dependencies = ["alpha>=1"]
[tool.poetry.dependencies]
{enrich}
[[tool.poetry.source]]
name = "local"
url = "{index}"
priority = "primary"
[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"""


@pytest.mark.slow
def test_a_poetry_2_requirement_its_poetry_table_gives_a_path_over_the_index_release_is_an_error(
    tmp_path: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """Poetry 2: [project] names alpha, [tool.poetry.dependencies] gives it a path (Poetry's way to
    give a [project] requirement a source). Over the poetry.lock of alpha 1.4 from the index (poetry
    check --lock calls it stale; poetry install installs the archive) the audit of the index release
    passed: the table was not read once [project] states dependencies."""
    root = tmp_path / "poetry-project"
    root.mkdir()
    archive = next(wheels.glob("alpha-*.whl"))
    with simple_index(wheels, tmp_path / "index") as url:
        pyproject = root / "pyproject.toml"
        pyproject.write_text(POETRY_2.format(index=url, enrich=""))
        poetry(["lock"], root)
        write_db(root, RECORDS, "flat")
        assert audit(root, checkers, 'source = "poetry.lock"').status is not Status.ERROR
        pyproject.write_text(POETRY_2.format(index=url, enrich=f'alpha = {{ path = "{archive}" }}'))
        with pytest.raises(AssertionError, match="changed significantly"):
            poetry(["check", "--lock"], root)
        result = audit(root, checkers, 'source = "poetry.lock"')
        assert result.error == (
            "poetry.lock is not the lock of pyproject.toml: pyproject.toml requires 'alpha>=1' and the lock has alpha "
            "1.4 from an index where [tool.poetry.dependencies] names another source (run poetry lock to lock it again)"
        )
        poetry(["lock"], root)
        assert audit(root, checkers, 'source = "poetry.lock"').status is not Status.ERROR
        # Poetry 1's layout: the table's own path dependency, locked from no index
        classic = POETRY_CLASSIC.format(index=url)
        (root / "poetry.lock").unlink()  # else poetry lock keeps the archive it locked, which ^1.0 takes
        pyproject.write_text(classic)
        poetry(["lock"], root)
        assert audit(root, checkers, 'source = "poetry.lock"').status is not Status.ERROR
        pyproject.write_text(classic.replace('alpha = "^1.0"', f'alpha = {{ path = "{archive}" }}'))
        with pytest.raises(AssertionError, match="changed significantly"):
            poetry(["check", "--lock"], root)
        result = audit(root, checkers, 'source = "poetry.lock"')
        assert result.error is not None and result.error.endswith(
            "requires 'alpha' and the lock has alpha 1.4 from an index where [tool.poetry.dependencies] names another "
            "source (run poetry lock to lock it again)"
        ), result.error
        poetry(["lock"], root)
        assert audit(root, checkers, 'source = "poetry.lock"').status is not Status.ERROR
        # a selected group's path dependency alike
        (root / "poetry.lock").unlink()
        pyproject.write_text(classic)
        poetry(["lock"], root)
        toolx = next(wheels.glob("toolx-*.whl"))
        pyproject.write_text(classic.replace('toolx = "*"', f'toolx = {{ path = "{toolx}" }}'))
        with pytest.raises(AssertionError, match="changed significantly"):
            poetry(["check", "--lock"], root)
        result = audit(root, checkers, 'source = "poetry.lock"\ngroups = ["dev"]')
        assert result.error is not None and result.error.endswith(
            "from an index where [tool.poetry.group.dev.dependencies] names another source (run poetry lock to lock it again)"
        ), result.error
        assert audit(root, checkers, 'source = "poetry.lock"').status is not Status.ERROR  # dev not selected


def test_a_requirement_moved_to_a_url_over_a_lock_of_the_index_release_is_an_error(
    workspace: Path, wheels: Path, checkers: Mapping[str, Any]
) -> None:
    """alpha named by a URL in pyproject.toml (an archive the branch points to) over a uv.lock that
    still locks alpha 1.4 from the index: uv sync installs the archive, uv lock --check calls the lock
    stale, and the audit of the index release passed (a requirement with a URL was never compared)."""
    archive = next(wheels.glob("alpha-*.whl"))
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace('"alpha>=1"', f'"alpha @ {archive.as_uri()}"'))
    with pytest.raises(AssertionError, match="needs to be updated"):
        uv(["lock", "--check"], workspace, wheels)
    result = audit(workspace, checkers, 'source = "uv.lock"')
    assert result.status is Status.ERROR
    assert result.error == (
        f"uv.lock is not the lock of pyproject.toml: pyproject.toml requires 'alpha @ {archive.as_uri()}' and the "
        "lock has alpha 1.4 from an index (run uv lock to lock it again)"
    )
    uv(["lock"], workspace, wheels)  # locked again: the archive is the lock's, unaudited as any URL
    assert audit(workspace, checkers, 'source = "uv.lock"').status is not Status.ERROR
