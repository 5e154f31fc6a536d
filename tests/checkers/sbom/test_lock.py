"""The sbom checker with a lock file as its source: the real uv locks a workspace against a local
wheel folder; the SBOM lists exactly what uv exports for the same selection, with purls, the
lock's hashes and graph, and passes the strict CycloneDX validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from gatekeeper.checkers.sbom import SbomChecker
from gatekeeper.errors import PolicyError, ToolError
from gatekeeper.findings import CheckResult, Status
from tests.helpers.dists import context
from tests.helpers.locks import DISTS, build_grouped, build_workspace, exported_pins, uv, wheel_index


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wheel_index(tmp_path_factory.mktemp("index") / "wheels", DISTS)


def _sbom(root: Path, checks: str) -> tuple[CheckResult, dict[str, Any]]:
    (root / "gatekeeper.toml").write_text(f"[audit]\nenabled = false\n[checks.sbom]\n{checks}\n")
    ctx = context(root)
    result = SbomChecker().run(ctx.policy.checks["sbom"], ctx)
    return result, json.loads((root / "out" / "sbom.cdx.json").read_text())


@pytest.mark.parametrize("spec", ["1.4", "1.6"])
def test_sbom_of_a_uv_lock_lists_what_uv_exports_and_is_valid(tmp_path: Path, wheels: Path, spec: str) -> None:
    root = build_workspace(tmp_path / "ws", wheels)
    result, bom = _sbom(root, f'source = "uv.lock"\nspec_version = "{spec}"\ngroups = ["dev"]')
    assert result.status is Status.PASS, (result.summary, result.findings)
    assert result.metrics["valid"] is True
    pins = exported_pins(root, wheels, "--all-packages")  # uv's own export of the run-time + dev closure
    listed = {canonicalize_name(c["name"]): c.get("version") for c in bom["components"] if c.get("purl")}
    assert listed == pins
    assert {c["purl"] for c in bom["components"] if c.get("purl")} == {f"pkg:pypi/{n}@{v}" for n, v in pins.items()}
    # the project is the root; the workspace member lib is a component without a purl
    assert bom["metadata"]["component"]["name"] == "demo-app" and bom["metadata"]["component"]["version"] == "0.3.0"
    assert [c["name"] for c in bom["components"] if not c.get("purl")] == ["lib"]
    graph = {d["ref"]: d["dependsOn"] for d in bom["dependencies"]}
    assert graph["beta-pkg@2.0.1"] == ["delta@0.5", "gamma@3.1"]
    assert graph["lib@0.1.0"] == ["foo-bar-baz@1.0"]
    assert set(graph["demo-app@0.3.0"]) == {"alpha@1.4", "beta-pkg@2.0.1", "lib@0.1.0", "toolx@1.0"}


def test_sbom_of_a_pylock_carries_its_hashes(tmp_path: Path, wheels: Path) -> None:
    root = build_workspace(tmp_path / "ws", wheels)
    uv(["export", "--format", "pylock.toml", "--no-dev", "--all-packages", "-o", "pylock.toml"], root, wheels)
    result, bom = _sbom(root, 'source = "pylock.toml"\nrequire_purl = false')
    assert result.status is Status.PASS and result.metrics["valid"] is True
    lock_text = (root / "pylock.toml").read_text()
    for c in bom["components"]:
        if c.get("purl"):
            (digest,) = [h["content"] for h in c["hashes"] if h["alg"] == "SHA-256"]
            assert f'sha256 = "{digest}"' in lock_text
            assert f"{c['name'].replace('-', '_')}-{c['version']}-py3-none-any.whl" in lock_text
    assert result.metrics["with_hashes"] == 5


def test_a_lock_under_another_name_never_becomes_an_sbom(tmp_path: Path, wheels: Path) -> None:
    root = build_workspace(tmp_path / "ws", wheels)
    (root / "requirements.txt").write_text((root / "uv.lock").read_text())
    with pytest.raises(ToolError, match=r"^requirements\.txt:1 is not a requirements file"):
        _sbom(root, 'source = "requirements.txt"')  # the engine reports it as the check's error
    assert not (root / "out" / "sbom.cdx.json").exists()
    (root / "gatekeeper.toml").write_text('[audit]\nenabled = false\n[checks.sbom]\nsource = "uv.lock.bak"\n')
    with pytest.raises(PolicyError, match=r"'uv\.lock\.bak' is neither"):
        context(root)


def test_a_lock_whose_run_time_closure_is_empty_names_the_groups_it_holds(tmp_path: Path, wheels: Path) -> None:
    """A project whose only run-time dependency is for another platform, its test and typing tools in
    PEP 735 dependency groups: the SBOM of the lock lists nothing, an error that says which groups
    the lock holds and that checks.sbom.groups counts them; listed, the SBOM is what uv exports."""
    root = build_grouped(tmp_path / "solo", wheels)
    assert exported_pins(root, wheels, "--no-dev", "--no-emit-project", platform={"sys_platform": "linux"}) == {}
    result, _ = _sbom(root, 'source = "uv.lock"\ntarget_platform = "linux"')
    assert result.status is Status.ERROR and result.error is not None
    assert result.error.startswith("the SBOM lists no component (scope lock): ")
    assert "it also locks the groups tests, typing, which checks.sbom.groups and extras count when listed" in result.error
    result, bom = _sbom(root, 'source = "uv.lock"\ntarget_platform = "linux"\ngroups = ["tests"]')
    assert result.status is Status.PASS, result.summary
    pins = exported_pins(root, wheels, "--only-group", "tests", "--no-emit-project")
    assert {canonicalize_name(c["name"]): c["version"] for c in bom["components"]} == pins == {"toolx": "1.0"}


def test_an_sbom_of_the_run_time_dependencies_says_what_the_lock_holds_besides(tmp_path: Path, wheels: Path) -> None:
    """The SBOM still lists what uv exports without the dev group; its summary and lock metric say
    that the dev group, which uv sync installs by default, and the extra are left out, and how many
    packages they hold; listed, they are in the SBOM and nothing is said left out."""
    root = build_workspace(tmp_path / "ws", wheels)
    result, bom = _sbom(root, 'source = "uv.lock"')
    assert result.status is Status.PASS, result.summary
    listed = {canonicalize_name(c["name"]): c.get("version") for c in bom["components"] if c.get("purl")}
    assert listed == exported_pins(root, wheels, "--no-dev", "--all-packages")
    assert result.metrics["lock"]["counted_groups"] == ["run time"] and result.metrics["lock"]["left_out_packages"] == 2
    assert result.metrics["lock"]["left_out"][0] == {"group": "dev", "packages": 1, "installed_by_default": True}
    assert (
        "; 2 more packages of uv.lock not listed: only run time counted, not the group dev (1 package, which uv sync "
        "installs by default) nor the extra extra1 (1 package); checks.sbom.groups and extras count them"
    ) in result.summary
    result, bom = _sbom(root, 'source = "uv.lock"\ngroups = ["dev"]\nextras = ["extra1"]')
    listed = {canonicalize_name(c["name"]): c.get("version") for c in bom["components"] if c.get("purl")}
    assert listed == exported_pins(root, wheels, "--all-packages", "--extra", "extra1")
    assert result.metrics["lock"]["left_out_packages"] == 0 and "not listed" not in result.summary
