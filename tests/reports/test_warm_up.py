"""The reports' templates compile while the checks run, and the page is the same."""

from __future__ import annotations

import pytest

from gatekeeper import reports
from gatekeeper.reports import html


def test_warm_up_compiles_the_html_template_ahead_of_rendering() -> None:
    html._environment.cache_clear()
    reports.warm_up(["json", "sarif", "html"]).join(timeout=60)
    assert [name for _, name in html._environment().cache.keys()] == [html.TEMPLATE]  # type: ignore[union-attr]


def test_a_format_that_fails_to_prepare_is_left_to_its_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("template missing")

    monkeypatch.setattr(html, "prepare", broken)
    thread = reports.warm_up(["html", "json"])
    thread.join(timeout=60)
    assert not thread.is_alive()
