"""Report formats: each renders a ``GateResult`` to text; this module writes them atomically.

Renderers are pure (``render(result) -> str``); only ``write_reports`` touches the disk, through
a temporary file in the same folder and an atomic rename, so a reader never sees half a report.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from pathlib import Path

from gatekeeper import fileio
from gatekeeper.errors import OutputError
from gatekeeper.findings import GateResult

#: format name -> (file name, "module:function")
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("gatekeeper.json", "gatekeeper.reports.json:render_json"),
    "sarif": ("gatekeeper.sarif", "gatekeeper.reports.sarif:render_sarif"),
    "html": ("gatekeeper.html", "gatekeeper.reports.html:render_html"),
    "markdown": ("gatekeeper.md", "gatekeeper.reports.markdown:render_markdown"),
    "junit": ("gatekeeper.junit.xml", "gatekeeper.reports.junit:render_junit"),
}


def renderer(fmt: str) -> Callable[[GateResult], str]:
    """The render function for a format name."""
    module, _, func = FORMATS[fmt][1].partition(":")
    render: Callable[[GateResult], str] = getattr(importlib.import_module(module), func)
    return render


def write_atomic(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` atomically (``fileio.write_atomic``); return its sha256.

    Raises ``OutputError`` naming the file when it cannot be written.
    """
    try:
        return fileio.write_atomic(path, text)
    except OSError as exc:
        where = path.parent if not path.parent.is_dir() else path
        raise OutputError(f"cannot write reports to {where}: {exc.strerror or exc}") from exc


def write_reports(result: GateResult, output_dir: Path, formats: Iterable[str]) -> dict[str, str]:
    """Render and write each format into ``output_dir``; return {file path: sha256}.

    Every format is rendered before anything is written, so a renderer's failure leaves the
    previous report set untouched.
    """
    rendered = []
    for fmt in dict.fromkeys(formats):
        try:
            rendered.append((output_dir / FORMATS[fmt][0], renderer(fmt)(result)))
        except Exception as exc:  # a renderer's bug must not lose the verdict: report it clearly
            raise OutputError(f"could not render the {fmt} report: {type(exc).__name__}: {exc}") from exc
    return {str(path): write_atomic(path, text) for path, text in rendered}
