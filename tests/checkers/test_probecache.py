"""The environment probe's answer reused from the cache (``probecache``): only while nothing it was
read from changed, on a real virtual environment whose distributions are edited between runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers import probecache
from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.inventory import load_inventory, read_environment
from gatekeeper.findings import CheckResult, Status, Verdict
from tests.helpers.dists import bare_venv, write_dist
from tests.helpers.projects import check_context
from tests.test_engine import Fixed, run

LISTED = (
    "import importlib.metadata as m, json; "
    "print(json.dumps(sorted((d.metadata['Name'], d.version, d.metadata['License'] or '') for d in m.distributions())))"
)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return bare_venv(tmp_path_factory.mktemp("env") / "venv")


@pytest.fixture
def env(venv: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the module's venv's site-packages state: its interpreter and site-packages."""
    python, site = venv
    for entry in site.iterdir():
        if entry.name.endswith((".dist-info", ".pth")):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    write_dist(site, "alpha", "1.0", ["License: MIT"], "MIT License\n", {})
    write_dist(site, "beta", "2.0", ["License: BSD"], None, {})
    (site / "beta-2.0.dist-info" / "licenses").mkdir()
    (site / "beta-2.0.dist-info" / "licenses" / "README").write_text("see COPYING\n", encoding="utf-8")
    return python, site


def listed(python: Path) -> list[tuple[str, str, str]]:
    """The distributions as the interpreter itself lists them (with site)."""
    done = subprocess.run([str(python), "-I", "-c", LISTED], capture_output=True, text=True, check=True)
    return [tuple(d) for d in json.loads(done.stdout)]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The (empty) project folder the checks run in."""
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


def inventoried(ctx: CheckContext, python: Path) -> list[tuple[str, str, str]]:
    _, _, dists = read_environment(ctx, str(python))
    return sorted((d.name, d.version, d.license) for d in dists)


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every probe started (the interpreter asked), by interpreter; files just written count as settled."""
    monkeypatch.setattr(probecache, "RACY_NS", 0)
    started: list[str] = []
    run = CheckContext.run

    def counting(self: CheckContext, args: Any, *a: Any, **kw: Any) -> Any:
        if "-S" in args:
            started.append(str(args[0]))
        return run(self, args, *a, **kw)

    monkeypatch.setattr(CheckContext, "run", counting)
    return started


def test_an_unchanged_environment_is_asked_once_and_its_answer_reused(
    env: tuple[Path, Path], probes: list[str], tmp_path: Path, root: Path
) -> None:
    python, _ = env
    first = inventoried(check_context(root, cache_dir=tmp_path / "cache"), python)
    again = inventoried(check_context(root, cache_dir=tmp_path / "cache"), python)
    assert first == again == listed(python) and {d[0] for d in first} >= {"alpha", "beta"}
    assert len(probes) == 1
    inventoried(check_context(root), python)  # no cache: asked every time
    assert len(probes) == 2


def _install(site: Path, tmp: Path) -> None:
    write_dist(site, "gamma", "3.0", ["License: Apache-2.0"], None, {})


def _uninstall(site: Path, tmp: Path) -> None:
    shutil.rmtree(site / "beta-2.0.dist-info")


def _edit_in_place(site: Path, tmp: Path) -> None:
    # the same size and modification time: only the change time tells
    meta = site / "alpha-1.0.dist-info" / "METADATA"
    st = meta.stat()
    meta.write_text(meta.read_text(encoding="utf-8").replace("License: MIT", "License: ISC"), encoding="utf-8")
    os.utime(meta, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert meta.stat().st_size == st.st_size


def _license_file_added(site: Path, tmp: Path) -> None:
    # into a folder of the distribution's: its own folder's listing stays the same
    (site / "beta-2.0.dist-info" / "licenses" / "COPYING").write_text("BSD\n", encoding="utf-8")


CHANGES: dict[str, Callable[[Path, Path], None]] = {
    "installed": _install,
    "uninstalled": _uninstall,
    "metadata-edited-in-place": _edit_in_place,
    "license-file-added": _license_file_added,
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_a_changed_environment_is_asked_again(
    env: tuple[Path, Path], probes: list[str], tmp_path: Path, root: Path, change: str
) -> None:
    python, site = env
    ctx = check_context(root, cache_dir=tmp_path / "cache")
    before = inventoried(ctx, python)
    CHANGES[change](site, tmp_path)
    after = inventoried(check_context(root, cache_dir=tmp_path / "cache"), python)
    assert len(probes) == 2 and after == listed(python)
    if change == "license-file-added":  # the same metadata, one more license file to read
        _, _, dists = read_environment(check_context(root, cache_dir=tmp_path / "cache"), str(python))
        (beta,) = [d for d in dists if d.name == "beta"]
        assert [Path(f).name for f in beta.license_files] == ["COPYING"]
    else:
        assert after != before


def test_a_folder_a_pth_file_named_before_it_existed_is_listed_once_it_does(
    env: tuple[Path, Path], probes: list[str], tmp_path: Path, root: Path
) -> None:
    python, site = env
    later = tmp_path / "later"
    (site / "vendored.pth").write_text(f"{later}\n", encoding="utf-8")
    before = inventoried(check_context(root, cache_dir=tmp_path / "cache"), python)
    later.mkdir()
    write_dist(later, "delta", "4.0", ["License: MIT"], None, {})
    after = inventoried(check_context(root, cache_dir=tmp_path / "cache"), python)
    assert "delta" not in {d[0] for d in before} and "delta" in {d[0] for d in after}
    assert after == listed(python) and len(probes) == 2


def test_an_answer_read_from_files_changed_just_before_is_not_stored(
    env: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # files written within RACY_NS of the probe: their next write may keep every timestamp
    python, _ = env
    calls: list[int] = []

    def run() -> str:
        calls.append(1)
        done = subprocess.run(
            [str(python), "-I", "-S", "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
        )  # fmt: skip
        return done.stdout

    from gatekeeper.checkers import inventory, sitepaths

    probe = sitepaths.PRELUDE + inventory._PROBE
    first = probecache.answer(tmp_path / "cache", str(python), probe, run)
    again = probecache.answer(tmp_path / "cache", str(python), probe, run)
    assert first.output == again.output and len(calls) == 2
    monkeypatch.setattr(probecache, "RACY_NS", 0)
    probecache.answer(tmp_path / "cache", str(python), probe, run)
    probecache.answer(tmp_path / "cache", str(python), probe, run)
    assert len(calls) == 3


def test_a_pth_file_beside_the_interpreter_is_a_change(
    env: tuple[Path, Path], probes: list[str], tmp_path: Path, root: Path
) -> None:
    # the interpreter reads ``<executable>._pth`` before anything runs, and it replaces sys.path:
    # no folder on the old path, nor any file the probe read, changes
    python, site = env
    before = inventoried(check_context(root, cache_dir=tmp_path / "cache"), python)
    bare = [str(python), "-I", "-S", "-c", "import sys; print(*sys.path, sep='\\n')"]
    first = subprocess.run(bare, capture_output=True, text=True, check=True)
    extra = tmp_path / "extra"
    extra.mkdir()
    write_dist(extra, "epsilon", "5.0", ["License: MIT"], None, {})
    pth = python.parent / f"{python.name}._pth"
    pth.write_text("\n".join([*first.stdout.split(), str(site), str(extra)]) + "\n", encoding="utf-8")
    try:
        after = inventoried(check_context(root, cache_dir=tmp_path / "cache"), python)
        assert "epsilon" not in {d[0] for d in before} and "epsilon" in {d[0] for d in after}
        assert after == listed(python) and len(probes) == 2
    finally:
        pth.unlink()


class Lists(Fixed):
    """A check that judges the environment's distributions (as dependencies, licenses, sbom do),
    once ``ready`` is set, then sets ``listed``."""

    inspects_environment = True

    def __init__(self, name: str, ready: threading.Event, listed: threading.Event) -> None:
        super().__init__(name)
        self.ready, self.listed = ready, listed
        self.names: list[str] = []

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        self.ready.wait(10)
        self.names = [d.name for d in load_inventory(ctx).packages]
        self.listed.set()
        return CheckResult(name=self.name, status=Status.PASS, summary=f"{len(self.names)} packages judged")


class Hides(Fixed):
    """The tests of checks.coverage.run, as a hostile pull request writes them: a distribution's
    folder renamed away while the environment is listed, then put back."""

    def __init__(self, name: str, folder: Path | None, ready: threading.Event, listed: threading.Event) -> None:
        super().__init__(name)
        self.folder, self.ready, self.listed = folder, ready, listed

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        away = self.folder.with_name(self.folder.name + ".away") if self.folder is not None else None
        if self.folder is not None and away is not None:
            self.folder.rename(away)
        self.ready.set()
        self.listed.wait(10)
        if self.folder is not None and away is not None:
            away.rename(self.folder)
        return CheckResult(name=self.name, status=Status.PASS, summary="tests passed")


@pytest.mark.parametrize("cache", ["cache", "no-cache"])
def test_a_distribution_hidden_while_the_environment_is_listed_is_an_error(
    env: tuple[Path, Path], tmp_path: Path, root: Path, cache: str
) -> None:
    python, site = env
    policy = f'[environment]\npython = "{python}"\n' + ("" if cache == "cache" else "[cache]\nenabled = false\n")
    ready, seen = threading.Event(), threading.Event()
    lists = Lists("lists", ready, seen)
    result = run(root, {"lists": lists, "tests": Hides("tests", site / "beta-2.0.dist-info", ready, seen)}, policy)
    assert "beta" not in lists.names and "beta" in {d[0] for d in listed(python)}  # judged without it
    (judged,) = [c for c in result.checks if c.name == "lists"]
    assert judged.status is Status.ERROR and "changed during the run" in (judged.error or "")
    assert result.verdict is Verdict.ERROR
    ready, seen = threading.Event(), threading.Event()  # the same run, nothing hidden: judged as it is
    lists = Lists("lists", ready, seen)
    result = run(root, {"lists": lists, "tests": Hides("tests", None, ready, seen)}, policy)
    assert result.verdict is Verdict.PASS and "beta" in lists.names
