"""JSON written in pieces: a small skeleton, with its long lists produced one item at a time.

A result with 100,000 findings is about 50 MB of JSON; building it as one string (or as one tree
of dicts first) takes several times that in memory. Here the skeleton holds a placeholder where a
long list goes, and each item is encoded on its own as the file is written. The bytes are exactly
``json.dumps(whole, indent=indent, ensure_ascii=False)``'s (JSON strings never hold a raw newline,
so an item's lines can be re-indented to the depth the placeholder was found at).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: unguessable per process: text in the result (a policy string, a tool's message) that spelled the
#: placeholder would otherwise be replaced by a list
_MARK = f"\x00gatekeeper-lazy-list-{secrets.token_hex(16)}:"


def placeholder(name: str) -> str:
    """The value to put in the skeleton where the list ``name`` goes."""
    return f"{_MARK}{name}\x00"


def iter_json(skeleton: Any, lists: dict[str, Callable[[], Iterable[Any]]], *, indent: int | None = 2) -> Iterator[str]:
    """Chunks of ``skeleton`` as JSON, each ``placeholder(name)`` replaced by the items ``lists[name]()`` yields."""
    separators = None if indent else (",", ":")
    encoder = json.JSONEncoder(indent=indent, ensure_ascii=False, separators=separators)
    marks = {json.dumps(placeholder(name), ensure_ascii=False): name for name in lists}
    last_newline = ""
    for chunk in encoder.iterencode(skeleton):
        name = marks.get(chunk)
        if name is None:
            if "\n" in chunk:
                last_newline = chunk[chunk.rindex("\n") :]
            yield chunk
            continue
        yield from _items(lists[name](), last_newline, indent, separators)


def _items(items: Iterable[Any], key_newline: str, indent: int | None, separators: tuple[str, str] | None) -> Iterator[str]:
    if not indent:
        first = True
        for item in items:
            yield ("[" if first else ",") + json.dumps(item, ensure_ascii=False, separators=separators)
            first = False
        yield "[]" if first else "]"
        return
    inner = key_newline + " " * indent  # the list's items sit one level deeper than its key
    first = True
    for item in items:
        text = json.dumps(item, indent=indent, ensure_ascii=False)
        yield ("[" if first else ",") + inner + text.replace("\n", inner)
        first = False
    yield "[]" if first else key_newline + "]"
