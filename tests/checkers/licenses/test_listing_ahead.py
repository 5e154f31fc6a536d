"""pip-licenses started with the check, beside the environment probe: the same listing, the same
errors in the same order, and nothing left running."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import process
from gatekeeper.checkers.licenses import LicensesChecker
from gatekeeper.checkers.licenses.listing import ListingAhead
from gatekeeper.errors import ToolError, ToolTimeout
from tests.helpers.dists import bare_venv, context, make_project, write_dist


@pytest.fixture
def env(tmp_path: Path) -> tuple[Path, Path]:
    """A real venv (no pip) with two distributions: its interpreter and site-packages."""
    python, site = bare_venv(tmp_path / "venv")
    write_dist(site, "alpha", "1.0", ["License-Expression: MIT"], None, {})
    write_dist(site, "bravo", "2.0", ["License: Apache 2.0"], None, {})
    return python, site


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, float, float]]]:
    """Every process the check starts: (how, what, start, end), ``spawn`` ending when it is reaped."""
    log: list[tuple[str, str, float, float]] = []
    real_run, real_spawn, real_release = process.run, process.spawn, process.release
    spawned: dict[int, tuple[str, float]] = {}

    def what(args: Any) -> str:
        text = " ".join(str(a) for a in args)
        return "pip-licenses" if "piplicenses" in text else "probe" if "importlib.metadata" in text else text

    def run(args: Any, **kw: Any) -> process.Completed:
        t0 = time.monotonic()
        try:
            return real_run(args, **kw)
        finally:
            log.append(("run", what(args), t0, time.monotonic()))

    def spawn(args: Any, **kw: Any) -> subprocess.Popen[bytes]:
        proc = real_spawn(args, **kw)
        spawned[proc.pid] = (what(args), time.monotonic())
        return proc

    def release(proc: subprocess.Popen[bytes], **kw: Any) -> int:
        try:
            return real_release(proc, **kw)
        finally:
            name, t0 = spawned.pop(proc.pid)
            log.append(("spawn", name, t0, time.monotonic()))

    monkeypatch.setattr(process, "run", run)
    monkeypatch.setattr(process, "spawn", spawn)
    monkeypatch.setattr(process, "release", release)
    yield log
    assert not spawned, "a process started ahead was never reaped"


def _policy(python: Path) -> str:
    return f'[environment]\npython = "{python}"\n[checks.licenses]\nunknown = "warn"\n'


def _check(root: Path, cache_dir: Path | None = None) -> Any:
    ctx = context(root, cache_dir=cache_dir)
    return LicensesChecker().run(ctx.policy.checks["licenses"], ctx)


def test_pip_licenses_runs_beside_the_probe_and_gives_the_same_listing(
    env: tuple[Path, Path], tmp_path: Path, started: list[tuple[str, str, float, float]]
) -> None:
    python, _ = env
    root = make_project(tmp_path / "p", _policy(python))
    result = _check(root)
    # started before the probe, and still running while it ran; never run a second time
    assert _order(started) == [("spawn", "pip-licenses"), ("run", "probe")]
    ahead = next(s for s in started if s[1] == "pip-licenses")
    probe = next(s for s in started if s[1] == "probe")
    assert ahead[2] < probe[2] and ahead[3] > probe[2]
    assert not process._LIVE
    table = {p["name"]: (p["license"], p["verdict"], p["raw"]) for p in result.metrics["packages"]}
    assert table == {"alpha": ("MIT", "allowed", "MIT"), "bravo": ("Apache-2.0", "allowed", "Apache 2.0")}

    # with a cache: the first run starts it ahead and stores the listing; once the environment
    # changes, a listing is probably stored for it: pip-licenses waits for the probe, which keys it
    cache_dir = tmp_path / "cache"
    started.clear()
    first = _check(root, cache_dir)
    assert _order(started) == [("spawn", "pip-licenses"), ("run", "probe")]
    assert first.metrics["packages"] == result.metrics["packages"] and first.metrics["cached"] is False
    started.clear()
    write_dist(env[1], "charlie", "3.0", ["License-Expression: GPL-3.0-only"], None, {})
    after = _check(root, cache_dir)
    assert _order(started) == [("run", "probe"), ("run", "pip-licenses")]
    assert after.metrics["cached"] is False
    assert {p["name"]: p["verdict"] for p in after.metrics["packages"]} == {
        "alpha": "allowed", "bravo": "allowed", "charlie": "denied",
    }  # fmt: skip
    started.clear()
    again = _check(root, cache_dir)  # unchanged: nothing runs but the probe
    assert _order(started) == [("run", "probe")]
    assert again.metrics["cached"] is True and again.metrics["packages"] == after.metrics["packages"]


def _order(started: list[tuple[str, str, float, float]]) -> list[tuple[str, str]]:
    return [(how, name) for how, name, *_ in sorted(started, key=lambda s: s[2])]


def test_a_pip_licenses_failure_while_started_ahead_is_an_error(
    env: tuple[Path, Path], tmp_path: Path, started: list[tuple[str, str, float, float]]
) -> None:
    python, site = env
    # a distribution without a Name: the probe passes it over, pip-licenses crashes on it
    (site / "nameless-1.0.dist-info").mkdir()
    (site / "nameless-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nVersion: 1.0\n\n")
    root = make_project(tmp_path / "p", _policy(python))
    with pytest.raises(ToolError, match=r"(?s)pip-licenses failed \(exit 1\): .*TypeError"):
        _check(root)
    assert ("spawn", "pip-licenses") in [s[:2] for s in started]
    assert not process._LIVE


def test_a_probe_failure_stops_the_listing_started_ahead(
    env: tuple[Path, Path], tmp_path: Path, started: list[tuple[str, str, float, float]]
) -> None:
    python, site = env
    # metadata that is not UTF-8: the probe fails on it (a .pth that kills the interpreter would not
    # do: the probe runs without site, so no .pth file's code runs)
    (site / "broken-1.0.dist-info").mkdir()
    (site / "broken-1.0.dist-info" / "METADATA").write_bytes(b"Metadata-Version: 2.1\nName: br\xffoken\nVersion: 1.0\n")
    root = make_project(tmp_path / "p", _policy(python))
    with pytest.raises(ToolError, match="could not list the distributions of"):
        _check(root)
    assert _order(started) == [("spawn", "pip-licenses"), ("run", "probe")]
    assert not process._LIVE


def test_a_listing_started_ahead_is_killed_past_the_deadline(env: tuple[Path, Path], tmp_path: Path) -> None:
    python, _ = env
    ctx = context(make_project(tmp_path / "p", _policy(python)))
    ahead = ListingAhead.start(ctx)
    assert ahead is not None
    with ahead:
        ctx.deadline = time.monotonic()
        with pytest.raises(ToolTimeout, match="did not finish within 0s and was killed"):
            ahead.result()
    assert ahead._run._proc.returncode is not None and not process._LIVE


def test_no_listing_is_started_ahead_without_pip_licenses(env: tuple[Path, Path], tmp_path: Path) -> None:
    """A tool interpreter without pip-licenses starts nothing ahead; the check says why, as before."""
    python, _ = env
    ctx = context(make_project(tmp_path / "p", _policy(python)), tool_python=str(python))
    assert ListingAhead.start(ctx) is None
    with pytest.raises(ToolError, match="pip-licenses is not installed in "):
        LicensesChecker().run(ctx.policy.checks["licenses"], ctx)


def test_what_keys_the_judgement_is_read_while_pip_licenses_runs(
    env: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip-licenses' version and the license-expression release are read from their metadata
    before the listing is awaited, once each: after pip-licenses ends, only the judging is left."""
    import importlib.metadata

    from gatekeeper.checkers import licenses

    python, _ = env
    root = make_project(tmp_path / "p", _policy(python))
    read: list[tuple[str, bool]] = []
    waiting: list[bool] = []
    real_version, real_result = importlib.metadata.version, ListingAhead.result

    def version(name: str) -> str:
        read.append((name, bool(waiting)))
        return real_version(name)

    def result(self: ListingAhead) -> process.Completed:
        waiting.append(True)
        return real_result(self)

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(ListingAhead, "result", result)
    first = _check(root, tmp_path / "cache")
    assert waiting and sorted(read) == [("license-expression", False), ("pip-licenses", False)]
    assert first.tool_version == real_version("pip-licenses")
    assert first.metrics["cached"] is False
    again = _check(root, tmp_path / "cache")  # the same keys: listing and judgement served from the cache
    assert again.metrics["cached"] is True and again.metrics["packages"] == first.metrics["packages"]
    assert not process._LIVE and licenses.expression_library_version() == real_version("license-expression")


def test_pip_licenses_runs_through_runmain_and_prints_what_it_prints_under_dash_m(env: tuple[Path, Path], tmp_path: Path) -> None:
    """pip-licenses runs as ``-m`` runs it, its process ended without the interpreter's teardown:
    the same bytes on stdout, the same exit status when it fails, and the check reads that listing."""
    import sys

    from gatekeeper.checkers.licenses.listing import listing_args, parse_listing

    python, _ = env
    root = make_project(tmp_path / "p", _policy(python))
    ctx = context(root)
    args = listing_args(ctx, str(python))
    assert args[:3] == [ctx.tool_python, "-I", "-c"] and "piplicenses" in args
    flags = args[args.index("piplicenses") + 1 :]
    by_hand = subprocess.run([sys.executable, "-I", "-m", "piplicenses", *flags], capture_output=True, cwd=tmp_path, check=True)
    ours = subprocess.run(args, capture_output=True, cwd=tmp_path, check=True)
    assert ours.stdout == by_hand.stdout and b'"alpha"' in ours.stdout
    done = process.Completed(tuple(args), 0, ours.stdout.decode(), "", 0.0)
    assert [e.name for e in parse_listing(done, ctx.tool_python)] == ["alpha", "bravo"]
    nowhere = [*args[:-1], str(tmp_path / "nowhere")]  # an interpreter that is not there: pip-licenses' own failure
    failed = subprocess.run(nowhere, capture_output=True, cwd=tmp_path, check=False)
    by_hand_failed = subprocess.run(
        [*by_hand.args[:-1], str(tmp_path / "nowhere")], capture_output=True, cwd=tmp_path, check=False
    )
    assert failed.returncode == by_hand_failed.returncode != 0 and failed.stdout == by_hand_failed.stdout
    table = {p["name"]: p["raw"] for p in LicensesChecker().run(ctx.policy.checks["licenses"], ctx).metrics["packages"]}
    assert table == {"alpha": "MIT", "bravo": "Apache 2.0"}


def test_pip_licenses_asks_the_inspected_interpreter_without_its_start_up_code(env: tuple[Path, Path], tmp_path: Path) -> None:
    """pip-licenses asks the interpreter it reads for its sys.path: a ``.pth`` import line of that
    environment never runs, and a folder a ``.pth`` line names is still read, as the probe reads it."""
    import sys

    from gatekeeper.checkers.licenses.listing import listing_args

    python, site = env
    ran = tmp_path / "pth-ran"
    (site / "zz_startup.pth").write_text(f"import os; open({str(ran)!r}, 'w').write('ran')\n", encoding="utf-8")
    extra = tmp_path / "extra"
    write_dist(extra, "charlie", "3.0", ["License-Expression: BSD-3-Clause"], None, {})
    (site / "extra.pth").write_text(f"{extra}\n", encoding="utf-8")
    root = make_project(tmp_path / "p", _policy(python))
    ctx = context(root)
    result = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
    assert not ran.exists()
    table = {p["name"]: (p["license"], p["verdict"]) for p in result.metrics["packages"]}
    assert table == {"alpha": ("MIT", "allowed"), "bravo": ("Apache-2.0", "allowed"), "charlie": ("BSD-3-Clause", "allowed")}
    # pip-licenses by hand lists the same packages (its own question runs the .pth line)
    args = listing_args(ctx, str(python))
    flags = args[args.index("piplicenses") + 1 :]
    by_hand = subprocess.run([sys.executable, "-I", "-m", "piplicenses", *flags], capture_output=True, cwd=tmp_path, check=True)
    assert ran.exists()
    ours = subprocess.run(args, capture_output=True, cwd=tmp_path, check=True)
    assert ours.stdout == by_hand.stdout


def test_a_tool_that_reads_another_interpreter_without_asking_as_gatekeeper_asks_fails(
    env: tuple[Path, Path], tmp_path: Path
) -> None:
    """Should pip-licenses ever ask its interpreter another way than ``subprocess.run([PY, "-c",
    SCRIPT])`` (here a stand-in ``piplicenses`` module on the path, through ``Popen``), its run fails
    (exit 70) instead of giving a listing."""
    import os
    import sys

    from gatekeeper.checkers.licenses.listing import listing_args

    python, _ = env
    tool = tmp_path / "tool"
    tool.mkdir()
    (tool / "piplicenses.py").write_text(
        "import subprocess, sys\n"
        "asked = [sys.argv[sys.argv.index('--python') + 1], '-c', 'import sys; print(sys.path)']\n"
        "subprocess.Popen(asked, stdout=subprocess.PIPE).communicate()\n"
        "print('[]')\n",
        encoding="utf-8",
    )
    root = make_project(tmp_path / "p", _policy(python))
    args = [a for a in listing_args(context(root), str(python)) if a != "-I"]  # the stand-in is found on PYTHONPATH
    env_vars = {**os.environ, "PYTHONPATH": str(tool)}
    done = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env_vars, check=False)
    assert done.returncode == 70 and f"pip-licenses read {python} without asking it" in done.stderr
    assert args[0] == sys.executable
