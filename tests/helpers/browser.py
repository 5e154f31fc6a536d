"""A real headless chromium (Debian's /usr/bin/chromium, never Playwright's own download) for the HTML pages.

The ``browser`` fixture (tests/conftest.py) launches it once per session (per worker under xdist).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class Loaded:
    """A report opened in a fresh page, with everything the page said and asked for."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.as_uri()
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=True)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r: Any) -> None:
            self.requests.append(r.request.url)
            if r.request.url == self.url:
                r.continue_()
            else:
                r.abort()

        self.page.route("**/*", route)
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def visible_rows(self) -> int:
        n: int = self.page.locator("#findings tbody tr:visible").count()
        return n

    def close(self) -> None:
        self.context.close()
