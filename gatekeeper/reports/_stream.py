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


def iter_json(
    skeleton: Any, lists: dict[str, Callable[[], Iterable[Any]]], *, indent: int | None = 2, compact_items: bool = False
) -> Iterator[str]:
    """Chunks of ``skeleton`` as JSON, each ``placeholder(name)`` replaced by the items ``lists[name]()`` yields.

    ``compact_items``: each item is written without indentation on a line of its own (by json's C
    encoder, several times as fast as indenting it), the skeleton still indented.
    """
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
        yield from _items(lists[name](), last_newline, indent, compact_items)


def _items(items: Iterable[Any], key_newline: str, indent: int | None, compact: bool) -> Iterator[str]:
    if not indent or compact:
        inner = key_newline + " " * indent if indent else ""
        first = True
        for item in items:
            yield ("[" if first else ",") + inner + json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            first = False
        if first:
            yield "[]"
        else:
            yield key_newline + "]" if indent else "]"
        return
    inner = key_newline + " " * indent  # the list's items sit one level deeper than its key
    first = True
    for item in items:
        try:
            text = inner + indented(item, inner, " " * indent)
        except TypeError:  # a value only json's own encoder knows what to do with (or refuses)
            text = inner + json.dumps(item, indent=indent, ensure_ascii=False).replace("\n", inner)
        yield ("[" if first else ",") + text
        first = False
    yield "[]" if first else key_newline + "]"


def indented(value: Any, newline: str, pad: str) -> str:
    """``json.dumps(value, indent=len(pad), ensure_ascii=False)`` byte for byte, its line breaks being
    ``newline`` (a line break and the indentation the value starts at), about 1.6 times as fast:
    json's indenting encoder is pure Python, a generator per level. Raises TypeError on a value
    that is not a dict, list, tuple, str, int, float, bool or None (the caller then asks json)."""
    # json's own order of checks, but dict and list first: no value is both a container and a
    # scalar (CPython cannot derive a class from dict and str), and bool is tested before int
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        deeper = newline + pad
        parts = [_key(k) + ": " + indented(v, deeper, pad) for k, v in value.items()]
        return "{" + deeper + ("," + deeper).join(parts) + newline + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        deeper = newline + pad
        return "[" + deeper + ("," + deeper).join([indented(v, deeper, pad) for v in value]) + newline + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


_string = json.encoder.encode_basestring  # json's own (C) string encoder, ensure_ascii=False


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    """A dict key as json writes it (``skipkeys`` off: any other key type is a TypeError)."""
    if isinstance(key, str):
        return _string(key)
    if isinstance(key, float):
        return _string(_float(key))
    if key is True or key is False or key is None:
        return _string({True: "true", False: "false", None: "null"}[key])
    if isinstance(key, int):
        return _string(int.__repr__(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
