"""Shared test helpers: run the real CLI in a subprocess, the way a CI job does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.base import CheckContext
from gatekeeper.cli import _load_checkers
from gatekeeper.policy import load_policy

REPO = Path(__file__).resolve().parents[1]


def run_gatekeeper(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``python -m gatekeeper ARGS`` in ``cwd`` with a clean, colourless environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "GATEKEEPER_"))}
    full_env.update({"NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"})
    full_env.pop("CI", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(autouse=True, scope="session")
def _private_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """gatekeeper's default cache (and its secret) go to a folder of this test session, not the user's."""
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


@pytest.fixture
def gk() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The CLI runner as a fixture."""
    return run_gatekeeper


def install_plugin(site: Path, dist: str, module: str, source: str, entries: Mapping[str, str]) -> Path:
    """Write a third-party checker package with its dist-info into ``site`` (use it via PYTHONPATH)."""
    (site / module).mkdir(parents=True, exist_ok=True)
    (site / module / "__init__.py").write_text(source, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\nLicense: MIT\n", encoding="utf-8")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[gatekeeper.checkers]\n{lines}", encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    return site


@pytest.fixture
def make_plugin() -> Callable[..., Path]:
    """``install_plugin`` as a fixture, for test modules in subfolders."""
    return install_plugin


@pytest.fixture
def own_coverage_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Projects built by a test use their own coverage configuration, even when this suite runs
    under coverage (CI's ``coverage run`` exports its data file and subprocess settings)."""
    for name in ("COVERAGE_FILE", "COVERAGE_RCFILE", "COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def checker_options() -> Mapping[str, Any]:
    """The options of every installed checker, as the policy loader validates against them."""
    return _load_checkers()[1]


@pytest.fixture
def make_ctx(checker_options: Mapping[str, Any]) -> Callable[..., CheckContext]:
    """A real check context for a project root (its own policy, if any, is loaded), for checker tests."""

    def make(root: Path, **kwargs: Any) -> CheckContext:
        policy = load_policy(root, checker_options)
        kwargs.setdefault("output_dir", root / "gatekeeper-reports")
        return CheckContext(root=root, policy=policy, deadline=time.monotonic() + 300, **kwargs)

    return make
