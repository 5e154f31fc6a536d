"""What narrowed the secrets scan: the allowlist pragmas that hid secrets (``Narrowing`` records
with the secrets they hid), and the files detect-secrets could not read."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gatekeeper.findings import Narrowing

if TYPE_CHECKING:
    from pathlib import Path

    from gatekeeper.checkers import source


@functools.cache
def allowlist() -> re.Pattern[bytes]:
    """detect-secrets' inline allowlisting, as its ``filters.allowlist`` reads it: ``pragma: allowlist secret``,
    the older ``pragma: whitelist secret``, and ``pragma: allowlist nextline secret``, after a comment sign."""
    return re.compile(rb"(?:#|//|/\*|'|--|<!--)[ \t#]*pragma: ?(?:(?:allow|white)list[ -]secret|allowlist[ -]nextline[ -]secret)")


class PragmaLines:
    """The lines (1-based) of a file that hold an allowlist pragma, found once per file: the scan
    asks which files have any (to scan them again unfiltered), the narrowing records where they are.

    No part of ``allowlist()`` matches a line break (``bytes.splitlines`` splits at ``\\n`` and
    ``\\r``) and it has no anchor or lookaround, so it matches in a file exactly when it matches in
    one of its lines: a file without a match anywhere (nearly every file) is searched once, whole,
    instead of line by line. A file in UTF-16 or UTF-32 is searched as detect-secrets reads it here
    (``worker.text_encoding``): in its own bytes no pragma matches, while the scan honours one.
    """

    def __init__(self, sources: source.Sources) -> None:
        self._sources = sources
        self._lines: dict[str, list[int]] = {}

    def __call__(self, path: str) -> list[int]:
        """The lines of ``path`` that hold a pragma."""
        found = self._lines.get(path)
        if found is None:
            data, pattern = self._sources.data(path), allowlist()
            if _wide_text(data):
                from gatekeeper.checkers.secrets.worker import text_encoding

                data = data.decode(text_encoding(data[:4096]), "replace").encode("utf-8", "surrogateescape")
            found = []
            if pattern.search(data) is not None:
                found = [n for n, line in enumerate(data.splitlines(), start=1) if pattern.search(line)]
            self._lines[path] = found
        return found


def pragma_narrowing(
    files: Sequence[str], results: Mapping[str, Sequence[Mapping[str, Any]]], pragma_lines: Callable[[str], list[int]]
) -> list[Narrowing]:
    """One record per file whose allowlist pragmas detect-secrets honoured, with the secrets they hid."""
    out = []
    for f in files:
        hidden = sum(1 for r in results.get(f, []) if r.get("allowlisted"))
        lines = pragma_lines(f)
        if not lines and not hidden:
            continue
        where = ", ".join(str(n) for n in lines[:10]) + (", …" if len(lines) > 10 else "")
        out.append(
            Narrowing(
                kind="line-comments",
                source=f,
                line=lines[0] if lines else None,
                detail=f"{len(lines)} × pragma: allowlist/whitelist secret (line {where})",
                effect="detect-secrets does not report a secret on (or after a nextline pragma, below) such a line",
                files=(f,),
                suppressed=hidden,
            )
        )
    return out


def unscanned(root: Path, files: Sequence[str], sources: source.Sources, lenient: bool) -> list[Narrowing]:
    """Files detect-secrets could not read: unreadable ones, and when its reading could not be made
    lenient (``worker._lenient``), those in UTF-16 or UTF-32 (read as UTF-8, no pattern matches
    their text) and those that are not UTF-8, which it skips."""
    unreadable, undecodable, wide = [], [], []
    for f in files:
        try:
            with (root / f).open("rb"):
                pass
        except OSError:
            unreadable.append(f)
            continue
        if not lenient and _wide_text(sources.data(f)):
            wide.append(f)
            continue
        if not lenient:
            try:
                sources.data(f).decode("utf-8")
            except UnicodeDecodeError:
                undecodable.append(f)
    out = []
    if unreadable:
        out.append(
            Narrowing(
                "not-scanned",
                "",
                None,
                "unreadable",
                "gatekeeper and detect-secrets could not open these files",
                tuple(unreadable),
            )
        )
    if undecodable:
        out.append(
            Narrowing(
                "not-scanned",
                "",
                None,
                "not UTF-8",
                "this detect-secrets version skips a file that does not decode, and could not be made to read it leniently",
                tuple(undecodable),
            )
        )
    if wide:
        out.append(
            Narrowing(
                "not-scanned",
                "",
                None,
                "UTF-16 or UTF-32 text",
                "this detect-secrets version reads every file as UTF-8 and could not be made to read these in their "
                "encoding: with a NUL byte beside each character, no pattern matches their text",
                tuple(wide),
            )
        )
    return out


_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def _wide_text(data: bytes) -> bool:
    """Whether ``data`` is UTF-16 or UTF-32 text: a byte order mark, or (without one) a NUL in every
    other byte of its start and none between, as ASCII text in UTF-16 has."""
    if data.startswith(_WIDE_BOMS):
        return True
    sample = data[:4096]
    if len(sample) < 16:
        return False
    even, odd = sample[0::2], sample[1::2]
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    return (nul_odd > 0.9 and nul_even < 0.1) or (nul_even > 0.9 and nul_odd < 0.1)
