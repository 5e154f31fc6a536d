"""The markdown report (not built yet)."""

from __future__ import annotations

from gatekeeper.findings import GateResult


def render_markdown(result: GateResult) -> str:
    """Not built yet."""
    raise NotImplementedError("the markdown report is not implemented yet")
