"""The sarif report (not built yet)."""

from __future__ import annotations

from gatekeeper.findings import GateResult


def render_sarif(result: GateResult) -> str:
    """Not built yet."""
    raise NotImplementedError("the sarif report is not implemented yet")
