"""The junit report (not built yet)."""

from __future__ import annotations

from gatekeeper.findings import GateResult


def render_junit(result: GateResult) -> str:
    """Not built yet."""
    raise NotImplementedError("the junit report is not implemented yet")
