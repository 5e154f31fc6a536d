"""Fixtures for the coverage and security checker tests: a real check context on a tmp project."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.base import CheckContext
from gatekeeper.cli import _load_checkers
from gatekeeper.policy import load_policy


@pytest.fixture(scope="session")
def checker_options() -> Mapping[str, Any]:
    return _load_checkers()[1]


@pytest.fixture
def make_ctx(checker_options: Mapping[str, Any]) -> Callable[..., CheckContext]:
    def make(root: Path, **kwargs: Any) -> CheckContext:
        policy = load_policy(root, checker_options)
        kwargs.setdefault("output_dir", root / "gatekeeper-reports")
        return CheckContext(root=root, policy=policy, deadline=time.monotonic() + 300, **kwargs)

    return make


@pytest.fixture(autouse=True)
def _own_coverage_settings(own_coverage_settings: None) -> None:
    """The tmp projects use their own coverage configuration, even when this suite runs under coverage."""
