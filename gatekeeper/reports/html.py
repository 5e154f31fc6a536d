"""The html report (not built yet)."""

from __future__ import annotations

from gatekeeper.findings import GateResult


def render_html(result: GateResult) -> str:
    """Not built yet."""
    raise NotImplementedError("the html report is not implemented yet")
