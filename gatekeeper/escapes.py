"""Terminal safety for text that came from a scan: escape sequences removed, control characters shown.

Used wherever result text may end up in a terminal: the console and the Markdown summary
(which CI jobs print with ``cat``), so a finding cannot recolour, clear or retitle the terminal.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]")


def clean(text: str) -> str:
    """``text`` with ANSI escape sequences removed and other control characters made visible."""
    text = _ANSI.sub("", text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def clean_line(text: str) -> str:
    """``clean(text)`` kept on one line: a newline shows as ``\\n``, so a file name or message
    cannot start a line of its own (say, a forged ``verdict: PASS``)."""
    return clean(text).replace("\n", "\\n")
