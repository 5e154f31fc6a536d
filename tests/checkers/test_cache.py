"""The sbom and licenses checkers reuse their results while the inspected environment is unchanged,
and notice when it changes; cache entries are never written through a link."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.checkers import cache
from gatekeeper.checkers.licenses import LicensesChecker
from gatekeeper.checkers.sbom import SbomChecker
from tests.helpers.dists import context, make_project, write_dist


def _venv(path: Path) -> tuple[Path, Path]:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return python, Path(site)


def test_sbom_and_licenses_are_cached_until_the_environment_changes(tmp_path: Path) -> None:
    python, site = _venv(tmp_path / "venv")
    write_dist(site, "alpha", "1.0", ["License-Expression: MIT"], None, {})
    write_dist(site, "bravo", "2.0", ["License: Apache 2.0"], None, {})
    root = make_project(tmp_path / "p", f'[environment]\npython = "{python}"\n[checks.licenses]\nunknown = "warn"\n')
    cache_dir = tmp_path / "cache"

    def run() -> tuple:  # type: ignore[type-arg]
        ctx = context(root, cache_dir=cache_dir)
        sbom = SbomChecker().run(ctx.policy.checks["sbom"], ctx)
        bom = json.loads((root / "out" / "sbom.cdx.json").read_text())
        ctx = context(root, cache_dir=cache_dir)
        licenses = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
        return sbom, bom, licenses

    sbom1, bom1, lic1 = run()
    sbom2, bom2, lic2 = run()
    assert (sbom1.metrics["cached"], sbom2.metrics["cached"]) == (False, True)
    assert (lic1.metrics["cached"], lic2.metrics["cached"]) == (False, True)
    assert sbom2.metrics["components"] == sbom1.metrics["components"] == 2 and sbom2.metrics["valid"]
    assert bom2["components"] == bom1["components"]
    assert bom2["serialNumber"] != bom1["serialNumber"]  # every generated BOM gets its own serial number
    assert lic2.metrics["packages"] == lic1.metrics["packages"]

    # a package is installed: both notice
    write_dist(site, "charlie", "3.0", ["License-Expression: GPL-3.0-only"], None, {})
    sbom3, bom3, lic3 = run()
    assert sorted(c["name"] for c in bom3["components"]) == ["alpha", "bravo", "charlie"]
    assert (sbom3.metrics["cached"], lic3.metrics["cached"]) == (False, False)
    assert sbom3.metrics["components"] == 3
    assert {p["name"]: p["verdict"] for p in lic3.metrics["packages"]}["charlie"] == "denied"

    # a license file appears (same version): the licenses listing is read again
    (site / "alpha-1.0.dist-info" / "LICENSE").write_text("MIT License\n")
    _, _, lic4 = run()
    assert lic4.metrics["cached"] is False

    # corrupt entries are ignored and recomputed
    for entry in cache_dir.rglob("*.json"):
        entry.write_text(entry.read_text()[:-5])
    sbom5, bom5, lic5 = run()
    assert (sbom5.metrics["cached"], lic5.metrics["cached"]) == (False, False)
    assert sbom5.metrics["components"] == 3 and len(bom5["components"]) == 3


def test_cache_entries_are_never_written_through_a_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the per-user secret goes there
    folder = tmp_path / "cache" / "security"
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.json"
    victim.write_text("precious\n")
    linked_folder, linked_entry, plain = "ab" + "0" * 62, "cd" + "1" * 62, "ef" + "2" * 62
    (folder / "cd").mkdir(parents=True)
    (folder / "ab").symlink_to(outside)  # an entry folder that is a link
    (folder / "cd" / f"{linked_entry}.json").symlink_to(victim)  # an entry that is a link
    for _ in range(2):  # a second time too: each entry folder is resolved once, then remembered
        for key in (linked_folder, "ab" + "3" * 62, linked_entry, plain):
            cache.write(folder, key, {"results": [key]})
    assert sorted(p.name for p in outside.iterdir()) == ["victim.json"] and victim.read_text() == "precious\n"
    assert cache.read(folder, plain) == ({"results": [plain]}, False)
