"""isort action comments, which ruff honours for its isort rules (I001 unsorted imports, I002 missing
required import) and ``--ignore-noqa`` does not lift.

ruff reads them from every comment, its trailing whitespace dropped, case-sensitively
(``extract_isort_directives`` in ruff's ``directives.rs``): ``# isort: skip_file`` / ``# isort:skip_file``
and the same after ``# ruff:`` end the file's isort checks (no I001 nor I002 in it; later comments are
not read); ``# isort: off`` up to ``# isort: on`` (or the end of the file) and a line whose comment
contains ``isort: skip`` / ``isort:skip`` are left out of import blocks; ``# isort: split`` splits a
block in two (each sorted alone). ``# ruff: isort: ...`` is the same comment. Inside an ``off``
region only ``on`` is read.

What they hid is measured, not guessed: the file's text with every such comment neutralised
(``isort`` written ``xsort``, so no line or column moves) is checked again by name through stdin
(``--stdin-filename``: the project's configuration and per-file ignores apply as to the file), and
each I001/I002 diagnostic only that run reports is one the comments hid.
"""

from __future__ import annotations

import io
import json
import os
import tokenize
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gatekeeper.checkers import source
from gatekeeper.checkers.lint.ruffargs import READ_ONLY, refused
from gatekeeper.errors import ToolError
from gatekeeper.findings import Narrowing
from gatekeeper.toolconfig import RUFF_CONFIG_NAMES

if TYPE_CHECKING:
    from gatekeeper.checkers.base import CheckContext

#: the rules isort action comments can hide
RULES = ("I001", "I002")
_SKIP_FILE = frozenset({"# isort: skip_file", "# isort:skip_file", "# ruff: isort: skip_file", "# ruff: isort:skip_file"})
_SPLIT = frozenset({"# isort: split", "# ruff: isort: split"})
_OFF = frozenset({"# isort: off", "# ruff: isort: off"})
_ON = frozenset({"# isort: on", "# ruff: isort: on"})
_WHOLE = _SKIP_FILE | _SPLIT | _OFF | _ON


def _lines(text: str) -> list[str]:
    r"""``text``'s lines as tokenize numbers them, ends kept: split at ``\n`` only, not at the form feed,
    ``\x1c``-``\x1e``, ``\x85`` or ``\u2028`` that ``str.splitlines`` also ends a line at (and
    Python and ruff do not)."""
    return io.StringIO(text).readlines()


def _comments(text: str) -> list[tuple[int, int, str]]:
    """The comments of ``text`` that may be isort action comments, as (line, column, text), lines
    numbered as ``_lines`` gives them, in the file's order. Read with this interpreter's tokenize, and
    where it may read the file otherwise than ruff (which reads Python 3.12's grammar) the candidates
    are kept: before 3.12 an f-string is one token, in which a comment of a replacement field that
    spans lines (3.12) would be missed, so its text is searched too; a file tokenize cannot read (a
    newer syntax) is searched line by line, at every ``#``."""
    try:
        out: list[tuple[int, int, str]] = []
        for t in tokenize.generate_tokens(io.StringIO(text).readline):
            if t.type == tokenize.COMMENT:
                out.append((t.start[0], t.start[1], t.string))
            elif t.type == tokenize.STRING and "f" in t.string[: t.string.find(t.string[-1])].lower():
                for i, part in enumerate(t.string.split("\n")):
                    out += _searched(t.start[0] + i, t.start[1] if i == 0 else 0, part)
        return out
    except (tokenize.TokenError, SyntaxError, ValueError):
        return [c for n, line in enumerate(_lines(text), start=1) for c in _searched(n, 0, line)]


def _searched(line: int, column: int, text: str) -> list[tuple[int, int, str]]:
    """The isort action comment ruff could read in ``text`` (a line, or the part of one from
    ``column``) when the tokens are not known: from one of its ``#`` to the end of the line, the first
    that is a whole action comment, else the first that contains ``isort: skip``."""
    found: list[tuple[int, int, str]] = []
    at = text.find("#")
    while at >= 0:
        if text[at:].rstrip() in _WHOLE:
            return [(line, column + at, text[at:])]
        if not found and _directive(text[at:]):
            found = [(line, column + at, text[at:])]
        at = text.find("#", at + 1)
    return found


def _directive(comment: str) -> bool:
    """Whether ruff could read ``comment`` as an isort action comment (in some state of its reading)."""
    text = comment.rstrip()
    return text in _SKIP_FILE or text in _SPLIT or text in _OFF or text in _ON or "isort: skip" in text or "isort:skip" in text


def read_for_comments(f: str) -> bool:
    """Whether ruff reads isort action comments in the file ``f`` it lints: not in its configuration
    files (``pyproject.toml``, ``ruff.toml``, ``.ruff.toml``), which it lints as TOML, with no isort
    rule (click's pyproject.toml, which names ``[tool.ruff.lint.isort]``, was read as Python: 13 ms)."""
    return f.rpartition("/")[2] not in RUFF_CONFIG_NAMES


def without_actions(f: str, data: bytes) -> bytes | None:
    """The text ``data`` of the file ``f`` with its isort action comments neutralised (``neutralised``),
    or None when ruff honours none in it."""
    notebook = f.endswith(".ipynb")
    return neutralised(data, notebook=notebook) if read_for_comments(f) and honoured(data, notebook=notebook) else None


def honoured(data: bytes, *, notebook: bool = False) -> list[tuple[int, str]]:
    """The isort action comments of ``data`` ruff honours, as (line, comment), in ruff's reading order;
    none in a text that is not UTF-8: ruff reads nothing of it (it reports E902 for the file) and
    refuses it on stdin. A ``notebook`` (``.ipynb``) is read as ruff reads it: its code cells, one
    after the other (lines counted in that text), and none when it is not a notebook's JSON."""
    if b"isort" not in data:
        return []
    try:
        text = data.decode("utf-8")
        if notebook:
            text = "".join(cell if cell.endswith("\n") else cell + "\n" for cell in _cells(json.loads(text)))
    except (UnicodeDecodeError, ValueError, TypeError, AttributeError):
        return []
    out: list[tuple[int, str]] = []
    off = False
    for line, _, comment in _comments(text):
        text = comment.rstrip()
        if text in _SPLIT:
            out.append((line, text))
        elif text in _SKIP_FILE:
            out.append((line, text))
            break
        elif off:
            if text in _ON:
                out.append((line, text))
                off = False
        elif "isort: skip" in text or "isort:skip" in text or text in _OFF:
            out.append((line, text))
            off = text in _OFF
    return out


def _cells(document: Any) -> list[str]:
    """The source of each code cell of a notebook's JSON ``document``, in order."""
    out = []
    for cell in document["cells"]:
        if cell.get("cell_type") == "code":
            source = cell.get("source") or ""
            out.append(source if isinstance(source, str) else "".join(source))
    return out


def neutralised(data: bytes, *, notebook: bool = False) -> bytes:
    """``data`` with every comment ruff could read as an isort action comment written ``xsort``
    (honoured or not: once a ``skip_file`` is gone, the comments after it would be read), each line
    the same length. A ``notebook``'s code cells are each written so, in the notebook's JSON."""
    if notebook:
        document = json.loads(data.decode("utf-8"))
        for cell in document["cells"]:
            source = cell.get("source") or ""
            if cell.get("cell_type") == "code":
                plain = neutralised(("".join(source) if isinstance(source, list) else source).encode("utf-8"))
                cell["source"] = _lines(plain.decode("utf-8")) if isinstance(source, list) else plain.decode("utf-8")
        return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"
    text = data.decode("utf-8", "surrogateescape")
    lines = _lines(text)  # as tokenize numbers them: a form feed is no line end
    for line, column, comment in _comments(text):
        if _directive(comment):
            row = lines[line - 1]
            lines[line - 1] = row[:column] + comment.replace("isort", "xsort") + row[column + len(comment) :]
    return "".join(lines).encode("utf-8", "surrogateescape")


def selected(show_settings: str) -> bool:
    """Whether ``ruff check --show-settings``'s answer enables I001 or I002."""
    inside = False
    for line in show_settings.splitlines():
        if line.startswith("linter.rules.enabled"):
            inside = True
        elif inside and line.startswith("]"):
            return False
        elif inside and any(f"({rule})" in line for rule in RULES):
            return True
    return False


def records(
    files: Sequence[str],
    results: Mapping[str, Sequence[Mapping[str, Any]]],
    sources: source.Sources,
    rules_on: Callable[[str], bool],
) -> list[Narrowing]:
    """A record per checked file with an isort action comment ruff honours, where ``rules_on(file)``
    (I001 or I002 selected for it): its comments and the I001/I002 diagnostics they hid (the results
    marked ``isort``)."""
    out: list[Narrowing] = []
    for f in files:
        comments = honoured(sources.data(f), notebook=f.endswith(".ipynb")) if read_for_comments(f) else []
        if not comments or not rules_on(f):
            continue
        count = sum(1 for d in results.get(f, []) if d.get("suppressed") and d.get("isort"))
        shown = ", ".join(f"line {n}: {text}" for n, text in comments[:5]) + (", …" if len(comments) > 5 else "")
        detail = comments[0][1] if len(comments) == 1 else f"{len(comments)} × isort action comment ({shown})"
        effect = "ruff reports no I001/I002 (unsorted or missing imports) that these comments exempt in this file"
        texts = {text for _, text in comments}
        kind = "file-comment" if texts & _SKIP_FILE else "range-comment" if texts & _OFF else "line-comments"
        out.append(Narrowing(kind, f, comments[0][0], detail[:200], effect, (f,), count))
    return out


def stdin_report(ctx: CheckContext, ruff: str, config_args: Sequence[str], f: str, text: bytes) -> str:
    """``ruff check --output-format json`` of ``text`` read as the file ``f`` (``--stdin-filename``: the
    configuration and per-file ignores that apply to ``f`` apply): its JSON report, unread."""
    path = str(ctx.root / f)
    args = [ruff, "check", "--output-format", "json", *READ_ONLY, "--exit-zero", *config_args, "--stdin-filename", path, "-"]
    done = ctx.run(args, cwd=ctx.root, stdin=text)
    if done.returncode != 0:
        raise ToolError(f"ruff check failed (exit {done.returncode}): {refused(done)}")
    return done.stdout


def rules_on(ctx: CheckContext, ruff: str, config_args: Sequence[str]) -> Callable[[str], bool]:
    """Whether I001 or I002 is selected for a file (``ruff check --show-settings`` on it, asked once
    per folder: ruff's settings are its folder's)."""
    known: dict[str, bool] = {}

    def on(f: str) -> bool:
        folder = os.path.dirname(f)
        if folder not in known:
            args = [ruff, "check", "--show-settings", *READ_ONLY, *config_args, "--", str(ctx.root / f)]
            done = ctx.run(args, cwd=ctx.root)
            if done.returncode != 0:
                raise ToolError(f"ruff check --show-settings failed (exit {done.returncode}): {refused(done)}")
            known[folder] = selected(done.stdout)
        return known[folder]

    return on
