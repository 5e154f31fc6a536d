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

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LEGACY_COMMAND = "##["
_LEGACY_SHOWN = "##\\["


def clean(text: str) -> str:
    """``text`` with every control character but tab and newline shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


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
