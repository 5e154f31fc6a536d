"""Licenses with the project's lock: the real uv installs the locked workspace from a local wheel
folder; an installed version that differs from the lock, or a locked package that is missing, is
a finding of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.checkers.licenses import LicensesChecker
from gatekeeper.findings import CheckResult, Status
from tests.helpers.dists import context
from tests.helpers.locks import DISTS, build_grouped, build_wheel, build_workspace, uv, wheel_index


def _licenses(root: Path) -> CheckResult:
    (root / "gatekeeper.toml").write_text(
        '[audit]\nenabled = false\n[environment]\npython = ".venv/bin/python"\nscope = "all"\n'
        '[checks.licenses]\nunknown = "warn"\nlock = "uv.lock"\n'
    )
    ctx = context(root)
    return LicensesChecker().run(ctx.policy.checks["licenses"], ctx)


@pytest.mark.slow
def test_installed_versions_that_differ_from_the_lock_are_findings(tmp_path: Path) -> None:
    wheels = wheel_index(tmp_path / "wheels", DISTS)
    root = build_workspace(tmp_path / "ws", wheels)
    uv(["sync", "--frozen", "--no-install-workspace"], root, wheels)  # the locked run-time closure and the dev group
    clean = _licenses(root)
    assert [f for f in clean.findings if f.rule_id.startswith("licenses.lock")] == []
    assert "toolx" in {p["name"] for p in clean.metrics["packages"]}  # uv sync installed the dev group's toolx
    assert clean.metrics["lock"] == {
        "path": "uv.lock",
        "format": "uv.lock",
        "locked": 5,
        "drift": [],
        "counted_groups": ["run time"],
        "left_out": [
            {"group": "dev", "packages": 1, "installed_by_default": True},
            {"extras": ["extra1"], "packages": 1, "installed_by_default": False},
        ],
        "left_out_packages": 2,
        "installer": "uv sync",
    }
    assert clean.summary.endswith(
        "; 0 of 5 locked packages drift from uv.lock; 2 more packages of uv.lock not compared: only run time counted, "
        "not the group dev (1 package, which uv sync installs by default) nor the extra extra1 (1 package); "
        "checks.licenses.groups and extras count them"
    )

    older = build_wheel(tmp_path / "other", "alpha", "1.3")
    uv(["pip", "install", "--python", ".venv/bin/python", str(older)], root, wheels)
    uv(["pip", "uninstall", "--python", ".venv/bin/python", "delta"], root, None)
    drifted = _licenses(root)
    by_rule = {(f.rule_id, f.package.name if f.package else "", f.package.version if f.package else "") for f in drifted.findings}
    assert {r for r in by_rule if r[0].startswith("licenses.lock")} == {
        ("licenses.lock_drift", "alpha", "1.3"),
        ("licenses.lock_not_installed", "delta", "0.5"),
    }
    lines = (root / "uv.lock").read_text().splitlines()
    for f in drifted.findings:
        if f.rule_id.startswith("licenses.lock"):
            assert f.blocking and f.location is not None and f.location.path == "uv.lock"
            assert lines[f.location.line] == f'name = "{f.package.name if f.package else ""}"'
    assert drifted.status is Status.FAIL
    assert sorted(drifted.metrics["lock"]["drift"]) == ["alpha", "delta"]


@pytest.mark.slow
def test_a_lock_that_selects_no_package_compares_nothing_and_is_an_error(tmp_path: Path) -> None:
    """A project whose only run-time dependency is for another platform, its tools in PEP 735 groups:
    the lock's selection holds nothing, so "0 of 0 locked packages drift" would be a pass on nothing.
    It is an error naming the groups the lock holds; with one listed, its package is compared."""
    import sys

    wheels = wheel_index(tmp_path / "wheels", DISTS)
    root = build_grouped(tmp_path / "solo", wheels)
    policy = (
        f'[audit]\nenabled = false\n[environment]\npython = "{sys.executable}"\nscope = "all"\n'
        '[checks.licenses]\nunknown = "warn"\nlock = "uv.lock"\ntarget_platform = "linux"\n'
    )
    (root / "gatekeeper.toml").write_text(policy)
    ctx = context(root)
    empty = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
    assert empty.status is Status.ERROR, empty.summary
    assert empty.summary.startswith("the lock uv.lock selects no package to compare the environment with")
    assert "it also locks the groups tests, typing, which checks.licenses.groups and extras count when listed" in empty.summary
    (root / "gatekeeper.toml").write_text(policy + 'groups = ["tests"]\n')
    ctx = context(root)
    listed = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
    assert listed.metrics["lock"]["locked"] == 1 and listed.metrics["lock"]["drift"] == ["toolx"]  # not installed here
    assert listed.status is Status.FAIL
