"""The HTML template is ready before the checks end (compiled ahead of time, shipped as
``reports/_page.py``, or compiled while the checks run), and the page is the same either way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jinja2
import pytest

from gatekeeper import reports
from gatekeeper.reports import _page, html, pagecode
from tests.helpers.samples import errored_result, failing_result, passing_result


@pytest.fixture(autouse=True)
def _fresh_template() -> Iterator[None]:
    html._environment.cache_clear()
    html._precompiled.cache_clear()
    yield
    html._environment.cache_clear()
    html._precompiled.cache_clear()


def _stale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_page, "TEMPLATE_SOURCE", _page.TEMPLATE_SOURCE + "{# edited #}")


def test_the_shipped_page_code_is_the_template_compiled_by_the_installed_jinja2() -> None:
    stale = "reports/_page.py is out of date: run `python -m gatekeeper.reports.pagecode`"
    assert pagecode.PAGE.read_text(encoding="utf-8") == pagecode.page_source(), stale


def test_the_page_is_rendered_from_the_shipped_code_without_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_compile(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the template was compiled at run time")

    monkeypatch.setattr(jinja2.Environment, "compile", no_compile)
    assert "<!DOCTYPE html>" in html.render_html(failing_result())


@pytest.mark.parametrize("make", [failing_result, passing_result, errored_result])
def test_shipped_code_and_a_template_compiled_at_run_time_give_the_same_bytes(monkeypatch: pytest.MonkeyPatch, make: Any) -> None:
    shipped = html.render_html(make())
    html._precompiled.cache_clear()
    _stale(monkeypatch)
    compiled = html.render_html(make())
    assert [name for _, name in html._environment().cache.keys()] == [html.TEMPLATE]  # type: ignore[union-attr]
    assert compiled == shipped


@pytest.mark.parametrize("change", ["template", "jinja2"])
def test_stale_shipped_code_is_not_used(monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    if change == "template":
        _stale(monkeypatch)
    else:
        monkeypatch.setattr(_page, "JINJA2_VERSION", "0.0")
    assert html._precompiled(html._environment()) is None
    assert html._template().root_render_func is not _page.root


def test_warm_up_loads_the_html_template_ahead_of_rendering() -> None:
    reports.warm_up(["json", "sarif", "html"]).join(timeout=60)
    assert html._precompiled.cache_info().currsize == 1
    assert html._template().root_render_func is _page.root


def test_warm_up_compiles_a_template_the_shipped_code_does_not_match(monkeypatch: pytest.MonkeyPatch) -> None:
    _stale(monkeypatch)
    reports.warm_up(["json", "sarif", "html"]).join(timeout=60)
    assert [name for _, name in html._environment().cache.keys()] == [html.TEMPLATE]  # type: ignore[union-attr]


def test_a_format_that_fails_to_prepare_is_left_to_its_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("template missing")

    monkeypatch.setattr(html, "prepare", broken)
    thread = reports.warm_up(["html", "json"])
    thread.join(timeout=60)
    assert not thread.is_alive()


def test_after_the_warm_up_the_reports_render_without_importing_or_reading_metadata() -> None:
    """What the JSON, SARIF and HTML renderers load on first use (the HTML's escapes and scope
    wording, gatekeeper's home page from its metadata) is loaded by the warm-up, while the checks
    run: the rendering after the checks imports nothing and reads no metadata."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from importlib import metadata\n"
        "from gatekeeper import reports\n"
        "from gatekeeper.checkers import installed\n"
        "from gatekeeper.redaction import redact_result\n"
        "from tests.helpers.samples import failing_result\n"
        "installed()\n"
        "result = redact_result(failing_result())\n"
        "reports.warm_up(['json', 'sarif', 'html'], ['gatekeeper.attestation']).join(timeout=60)\n"
        "assert 'gatekeeper.attestation' in sys.modules  # what the caller uses after the checks, loaded too\n"
        "before = set(sys.modules)\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('metadata read while rendering')\n"
        "metadata.metadata = refuse\n"
        "for fmt in ('json', 'sarif', 'html'):\n"
        "    assert ''.join(reports._chunks(fmt, result))\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("checks", [1, 2, 3])
def test_the_templates_compile_in_the_background_only_once_a_check_ended_while_another_still_runs(
    monkeypatch: pytest.MonkeyPatch, checks: int
) -> None:
    """Begun with the checks, the warm-up took the interpreter's lock from their own work (a lone
    lint check took half as long again); with nothing left to wait for, the reports load as they render."""
    import io

    from gatekeeper import gate
    from gatekeeper.console import Console

    warmed: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    monkeypatch.setattr(reports, "warm_up", lambda formats, modules=(): warmed.append((tuple(formats), tuple(modules))))
    output = io.StringIO()
    progress = gate._warming_up(Console(output, live=False), ("json", "html"))
    results = failing_result().checks[:checks]
    for result in results:
        progress.started(result.name)
    progress.running()
    assert warmed == []  # every check runs: none of them is slowed
    for result in results:
        progress.finished(result)
        assert warmed == ([] if checks == 1 else [(("json", "html"), ("gatekeeper.attestation",))])
    assert all(r.name in output.getvalue() for r in results)
