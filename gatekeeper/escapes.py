"""Terminal and CI-log safety for text that came from outside gatekeeper.

Used wherever result text may end up in a terminal or a CI log: the console, the annotations,
the Markdown summary (which CI jobs print with ``cat``) and ``audit show``. Control characters,
escape sequences included, are shown escaped (``\\x1b``), never obeyed and never silently
removed (``app/a\\x1b[2J.py`` must not be shown as ``app/a.py``, a different file). A GitHub
Actions runner reads a workflow command from any line that starts, after whitespace, with
``::``, and a legacy ``##[command]`` anywhere in a line: ``for_output`` keeps foreign text from
forming either, and masks credentials (``redaction.redact``) as the last step before printing.
"""

from __future__ import annotations

import re

from gatekeeper.redaction import redact

#: Unicode format characters that change how the text around them is shown without showing
#: themselves: bidirectional embeddings, overrides and isolates (a file ``util<U+202E>gnp.py`` shows
#: as ``utilyp.png``, and the rest of its line reordered), zero-width characters, the byte order mark
INVISIBLE = "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{INVISIBLE}]")
_FORMAT = re.compile(f"[{INVISIBLE}]")
_LEGACY_COMMAND = "##["
_LEGACY_SHOWN = "##\\["


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str) -> str:
    """``text`` with every control character but tab and newline shown as ``\\xNN``, and every
    invisible format character (bidirectional controls, zero-width characters) as ``\\uNNNN``."""
    return _CONTROL.sub(_shown, text)


def visible(text: str) -> str:
    """``text`` with its invisible format characters shown as ``\\uNNNN`` (what ``clean`` does to
    them), for pages a browser lays out: a name or message cannot reorder what an auditor reads."""
    return _FORMAT.sub(_shown, text)


def clean_line(text: str) -> str:
    """``clean(text)`` kept on one line: a newline shows as ``\\n``, so a file name or message
    cannot start a line of its own (say, a forged ``verdict: PASS`` or ``::add-mask::``)."""
    return clean(text).replace("\n", "\\n")


def for_output(text: str, *, command: bool = False) -> str:
    """``text`` as it may be printed: credentials masked, no legacy ``##[`` command anywhere, and
    no line starting (after whitespace) with ``::`` unless ``command`` says that gatekeeper itself
    wrote this workflow command. Control characters are the caller's business (``clean``), since
    gatekeeper's own lines carry colour."""
    text = redact(text, heuristic=False).replace(_LEGACY_COMMAND, _LEGACY_SHOWN)
    if command:
        return text
    return "\n".join(_defuse(line) for line in text.split("\n"))


def _defuse(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith("::"):
        cut = len(line) - len(stripped)
        return f"{line[:cut]}\\x3a{stripped[1:]}"
    return line


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Print ``text`` as every line leaving gatekeeper's commands is printed: control characters
    shown escaped, credentials masked, no forged CI workflow command."""
    import typer

    typer.echo(for_output(clean(text)), err=err, nl=nl)
