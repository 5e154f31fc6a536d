"""The suite's fixtures, all in one place; what they are built from lives in tests/helpers/.

Every fixture is safe under pytest-xdist: whatever a test writes goes under its own tmp_path (or
a session's tmp_path_factory folder, which is per worker), environment changes go through
monkeypatch or a child's own environment, and servers listen on port 0 of the loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.base import CheckContext
from gatekeeper.findings import GateResult
from tests.helpers import dists, faults, osv, services, tsa
from tests.helpers.cli import Runner, installed_checkers, installed_options, invoke_gatekeeper, run_gatekeeper
from tests.helpers.plugin import PLUGIN_DIR, install_plugin, plugin_env
from tests.helpers.projects import check_context

#: fixtures that run gatekeeper as a process: a test using one is end to end, and slow
PROCESS_FIXTURES = frozenset({"gk", "plugin_gk"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that runs gatekeeper as a process (``gk``, ``plugin_gk``) is end to end: marked ``slow``,
    out of the fast loop (``pytest -m "not slow"``); what it checks in-process stays there."""
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def _private_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """gatekeeper's default cache (and its secret) go to a folder of this test session (of this
    worker, under xdist), not the user's."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(autouse=True)
def _no_remembered_key() -> None:
    """Each test starts with no audit signing key remembered from an earlier one."""
    from gatekeeper import childenv

    childenv.forget()


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def gk() -> Runner:
    """The real CLI in a subprocess: ``gk([ARGS], cwd=..., env={extra}, timeout=...)`` (see run_gatekeeper)."""
    return run_gatekeeper


@pytest.fixture
def cli() -> Runner:
    """The CLI in this process, ``gk``'s signature and answer (see invoke_gatekeeper): for tests of a
    command's messages and exit code that need no process of their own."""
    return invoke_gatekeeper


@pytest.fixture
def plugin_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runner]:
    """``cli`` with the test plugin (tests/data/plugin) installed in this process: its folder on
    sys.path and the installed checkers loaded afresh (and again after the test, without it)."""
    from gatekeeper.checkers import installed

    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    installed.cache_clear()
    yield invoke_gatekeeper
    monkeypatch.undo()
    installed.cache_clear()


@pytest.fixture
def plugin_gk() -> Runner:
    """``gk`` with the test plugin (tests/data/plugin) importable unless ``env`` says otherwise."""

    def run(args: list[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600) -> Any:
        return run_gatekeeper(args, cwd, plugin_env() if env is None else env, timeout)

    return run


@pytest.fixture
def record_timing(record_property: Callable[[str, object], None]) -> Callable[[str, float], None]:
    """``record_timing(what, seconds)``: a wall-clock time reported, never asserted (the machine may be
    busy). It goes into the JUnit XML (``--junitxml``) as a property and into the terminal summary."""

    def record(what: str, seconds: float) -> None:
        record_property(f"timing: {what}", f"{seconds:.2f}s")

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the timings the tests recorded (also under xdist: user properties travel with the reports)."""
    rows = [
        (report.nodeid, name.removeprefix("timing: "), value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if isinstance(report, pytest.TestReport) and report.when == "call"
        for name, value in report.user_properties
        if name.startswith("timing: ")
    ]
    if rows:
        terminalreporter.section("timings (reported, not asserted)")
        for nodeid, what, value in sorted(rows):
            terminalreporter.write_line(f"{value:>9}  {what}  ({nodeid})")


@pytest.fixture
def make_plugin() -> Callable[..., Path]:
    """``install_plugin``: write a third-party checker package with its dist-info into a folder."""
    return install_plugin


@pytest.fixture
def own_coverage_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Projects built by a test use their own coverage configuration, even when this suite runs
    under coverage (CI's ``coverage run`` exports its data file and subprocess settings)."""
    for name in ("COVERAGE_FILE", "COVERAGE_RCFILE", "COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- checkers in-process


@pytest.fixture(scope="session")
def checker_options() -> Mapping[str, Any]:
    """The options of every installed checker, as the policy loader validates against them."""
    return installed_options()


@pytest.fixture(scope="session")
def checkers() -> Mapping[str, Any]:
    """Every installed checker by name (the policy validates every section)."""
    return installed_checkers()


@pytest.fixture
def make_ctx() -> Callable[..., CheckContext]:
    """A real check context for a project root (its own policy, if any, is loaded), for checker tests."""
    return check_context


@pytest.fixture
def demo_checkers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """Instances of the test plugin's checkers for driving the engine in-process."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    import gk_demo_checkers

    yield {"pattern": gk_demo_checkers.PatternChecker(), "advisories": gk_demo_checkers.AdvisoryChecker()}
    sys.modules.pop("gk_demo_checkers", None)


@pytest.fixture
def installed(demo_checkers: dict[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """Every installed checker (the built-ins and the test plugin, found through entry points) and their options."""
    from gatekeeper.checkers import discover, load

    found = {name: load(info) for name, info in discover().items()}
    assert {"pattern", "advisories"} <= set(found)
    return found, {name: c.options for name, c in found.items()}


# --------------------------------------------------------------------------- environments to inspect


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The interpreter of a real virtual environment with no third-party package at all (no pip either)."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    return str(venv / "bin" / "python")


@pytest.fixture(scope="session")
def dist_env(tmp_path_factory: pytest.TempPathFactory) -> dists.FakeEnv:
    """A real venv (no pip) holding dists.DISTS, shared by the sbom and licenses tests (read-only)."""
    return dists.build_dist_env(tmp_path_factory.mktemp("fakeenv") / "venv")


@pytest.fixture(scope="session")
def deps_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a shared environment holding osv.FAKE_DISTS (read-only for tests)."""
    return osv.make_env(tmp_path_factory.mktemp("depsenv") / "venv", osv.FAKE_DISTS)


@pytest.fixture
def deps_project(tmp_path: Path, deps_python: Path) -> Callable[..., Path]:
    """A project auditing ``deps_python``: ``deps_project(checks=..., environment=..., extra=..., deps=...)``."""

    def build(**kwargs: Any) -> Path:
        return osv.deps_project(tmp_path / "project", deps_python, **kwargs)

    return build


@pytest.fixture
def run_deps(checkers: Mapping[str, Any]) -> Callable[[Path], GateResult]:
    """Run only the dependencies check of the project at ``root`` through the engine."""
    return lambda root: osv.run_dependencies(root, checkers)


# --------------------------------------------------------------------------- faults injected into real tools


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project every built-in checks (see faults.build_template); copied by ``project``."""
    return faults.build_template(tmp_path_factory.mktemp("template") / "proj")


@pytest.fixture
def project(tmp_path: Path, project_template: Path) -> Callable[..., Path]:
    """A fresh copy of the template with a gatekeeper.toml; keyword arguments fill in faults.POLICY."""
    import shutil

    def build(gate: str = "", security: str = "", data_file: str = "coverage.json", advisory_db: str = "osv") -> Path:
        root = tmp_path / "proj"
        shutil.copytree(project_template, root, symlinks=True)
        text = faults.POLICY.format(gate=gate, security=security, data_file=data_file, advisory_db=advisory_db)
        (root / "gatekeeper.toml").write_text(text, encoding="utf-8")
        return root

    return build


@pytest.fixture
def faulty_python(tmp_path: Path) -> Callable[[str, str], Path]:
    """``faulty_python(module, fault)``: an interpreter that runs ``fault`` (sh) instead of ``-m module``
    (see faults.faulty_interpreter); anything else goes to the real interpreter."""
    return lambda module, fault: faults.faulty_interpreter(tmp_path / f"python-{module}", module, fault)


# --------------------------------------------------------------------------- a real browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright (one per test module); without it the browser tests fail saying how to install it."""
    from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the HTML pages are tested in Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# --------------------------------------------------------------------------- network services, on the loopback


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every proxied request goes to a closed loopback port unless a test routes it elsewhere."""
    services.route_offline(monkeypatch)


@pytest.fixture
def osv_service(offline_env: None) -> Iterator[tuple[str, list[dict[str, Any]], services.Answers]]:
    """(query URL, the queries received, {(name, version): records to answer}) of a loopback api.osv.dev."""
    queries: list[dict[str, Any]] = []
    answers: services.Answers = {}
    server = services.LoopbackServer(("127.0.0.1", 0), services.osv_handler(queries, answers))
    with services.serve(server):
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query", queries, answers


# --------------------------------------------------------------------------- trusted time


@pytest.fixture(scope="session")
def _tsa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tsa.LocalTSA]:
    with tsa.running_tsa(tmp_path_factory.mktemp("tsa")) as authority:
        yield authority


@pytest.fixture
def local_tsa(_tsa_server: tsa.LocalTSA, offline_env: None) -> tsa.LocalTSA:
    """A real RFC 3161 authority on the loopback (``openssl ts -reply`` signs; ``.url``, ``.pki.ca``),
    answering normally; a test may set ``.mode`` to ``"refuse"`` or ``"garbage"``."""
    _tsa_server.mode = "ok"
    return _tsa_server
