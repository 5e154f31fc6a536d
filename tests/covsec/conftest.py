"""Fixtures for the coverage and security checker tests (the check context comes from tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_coverage_settings(own_coverage_settings: None) -> None:
    """The tmp projects use their own coverage configuration, even when this suite runs under coverage."""
