"""The JSON report, the source of truth every other format is rendered from."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from gatekeeper import readback
from gatekeeper.errors import UsageError
from gatekeeper.findings import CheckResult, Finding, GateResult, Severity
from gatekeeper.reports._stream import iter_json, placeholder

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "result.schema.json"


def render_json(result: GateResult) -> str:
    """``gatekeeper.json``: the result as indented, key-stable JSON (``GateResult.to_dict``)."""
    return "".join(iter_render_json(result))


def iter_render_json(result: GateResult) -> Iterator[str]:
    """``render_json``'s text in chunks, each finding encoded as it is written (the bytes are the same)."""
    lists: dict[str, Callable[[], Iterable[Any]]] = {}
    checks = []
    for i, check in enumerate(sorted(result.checks, key=lambda c: c.name)):
        data = dataclasses.replace(check, findings=()).to_dict()
        data["findings"] = placeholder(str(i))
        lists[str(i)] = _finding_dicts(check)
        checks.append(data)
    skeleton = dataclasses.replace(result, checks=()).to_dict()
    skeleton["checks"] = checks
    yield from iter_json(skeleton, lists, indent=2)
    yield "\n"


def _finding_dicts(check: CheckResult) -> Callable[[], Iterator[dict[str, Any]]]:
    return lambda: (f.to_dict() for f in sorted(check.findings, key=Finding.sort_key))


def load_result(path: Path, data: bytes | None = None) -> GateResult:
    """Read a ``gatekeeper.json`` back; a missing or malformed file is a ``UsageError``, one beyond
    the reading limits (``readback``: nesting, number size) a ``LimitError``, both naming the file.

    Read as a stream: each check's findings are decoded one at a time into ``Finding`` objects,
    so neither the file's text nor a tree of dicts for every finding is ever held whole. The blocks
    that merging, the audit record and the reports read (``repository``, ``policy``, ``waivers``)
    must have their documented shapes. ``data``: the file's bytes, read already (a signature was
    checked over them), parsed instead of reading ``path`` again.
    """
    try:
        shared: dict[str, str] = {}
        decoder = readback.decoder(object_hook=lambda obj: _finding_or_dict(obj, shared))
        with path.open(encoding="utf-8") if data is None else io.StringIO(data.decode("utf-8")) as fh:
            document: Any = _document(_Stream(fh, decoder))
    except FileNotFoundError:
        raise UsageError("results file not found", file=str(path)) from None
    except (readback.Beyond, RecursionError) as exc:
        raise readback.beyond(exc, str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"not a gatekeeper JSON result: {exc}", file=str(path)) from None
    try:
        result = GateResult.from_dict(document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"not a gatekeeper JSON result (bad or missing field: {exc})", file=str(path)) from None
    problem = shape_problem(result)
    if problem is not None:
        raise UsageError(f"not a gatekeeper JSON result ({problem})", file=str(path))
    from gatekeeper.secretprints import upgraded

    return upgraded(result)  # secrets findings stored with detect-secrets' SHA-1 of the secret: without it


def shape_problem(result: GateResult) -> str | None:
    """What is wrong with the shape of a result read back (``repository``'s and ``policy``'s values
    not text, ``repository.dirty`` not a boolean, a ``waivers`` list whose entries are not tables with a text ``id``), or None."""
    dirty = result.repository.get("dirty")
    if dirty is not None and not isinstance(dirty, bool):
        return f"repository.dirty is a {type(dirty).__name__}, not true or false"
    for block, values in (("repository", result.repository), ("policy", result.policy)):
        for key, value in values.items():
            if key not in ("files", "dirty") and value is not None and not isinstance(value, str):
                return f"{block}.{key} is a {type(value).__name__}, not text"
    files = result.policy.get("files", [])
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and all(isinstance(f.get(k), str) for k in ("role", "path", "sha256")) for f in files
    ):
        return "policy.files is not a list of tables with text role, path and sha256"
    for kind, entries in result.waivers.items():
        if not isinstance(entries, list):
            return f"waivers.{kind} is a {type(entries).__name__}, not a list"
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                return f"waivers.{kind}[{i}] is not a table with a text id"
            prints = entry.get("fingerprints", [])
            if not isinstance(prints, list) or not all(isinstance(p, str) for p in prints):
                return f"waivers.{kind}[{i}].fingerprints is not a list of text"
    return None


#: what may follow a whole value: white space, a comma, a closing bracket, or (after a key) a colon
_AFTER_VALUE = frozenset(" \t\n\r,]}:")


class _Stream:
    """JSON text read in chunks: containers walked one member at a time, any other value decoded whole."""

    CHUNK = 1 << 20

    def __init__(self, fh: IO[str], decoder: json.JSONDecoder) -> None:
        self._fh = fh
        self._decoder = decoder
        self._buf = ""
        self._pos = 0
        self._done = 0  # characters dropped from the front of the buffer
        self._eof = False
        self._want = self.CHUNK

    def _more(self) -> bool:
        """Read on (twice as much as last time: a long value costs linear time); False at the end."""
        if self._eof:
            return False
        chunk = self._fh.read(self._want)
        self._want *= 2
        if not chunk:
            self._eof = True
            return False
        self._done += self._pos
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end), not consumed."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in " \t\n\r":
                self._pos += 1
            if self._pos < len(self._buf):
                self._want = self.CHUNK
                return self._buf[self._pos]
            if not self._more():
                return ""

    def take(self, expected: str) -> str:
        """Consume the next character, which must be one of ``expected``."""
        char = self.peek()
        if not char or char not in expected:
            raise self.error(f"expecting one of {expected!r}")
        self._pos += 1
        return char

    def value(self) -> Any:
        """The next whole value."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if not self._more():
                    raise self.error(exc.msg, exc.pos) from None
                continue
            # a value is followed by white space, a comma or a closing bracket: else it was cut at
            # the chunk's end ("72." of 72.4, "1e" of 1e-5) and decoded as a shorter number
            if (end < len(self._buf) and self._buf[end] in _AFTER_VALUE) or not self._more():
                # the stream's own levels (result, checks, check, findings) count towards the limit
                if readback.too_deep(self._buf, self._pos, end, readback.MAX_DEPTH - 4):
                    raise readback.Beyond(f"nested more than {readback.MAX_DEPTH} levels deep")
                self._pos = end
                self._want = self.CHUNK
                return value

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller consumes each value before the next key."""
        self.take("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise self.error("expecting a property name")
            self.take(":")
            yield key
            if self.take(",}") == "}":
                return

    def items(self) -> Iterator[None]:
        """One step per element of the array that starts here; the caller consumes each element."""
        self.take("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield None
            if self.take(",]") == "]":
                return

    def error(self, message: str, pos: int | None = None) -> ValueError:
        return ValueError(f"{message} (character {self._done + (self._pos if pos is None else pos)})")


def _document(stream: _Stream) -> Any:
    """The whole document; each check's ``findings`` list is decoded element by element."""
    data = _walk(stream, lambda key, s: _list_of_checks(s) if key == "checks" else s.value())
    if stream.peek():
        raise stream.error("extra data after the result")
    return data


def _list_of_checks(stream: _Stream) -> Any:
    return _array(stream, lambda s: _walk(s, _check_member))


def _check_member(key: str, stream: _Stream) -> Any:
    """A check's member: its ``findings`` list element by element, anything else whole."""
    return _array(stream, _Stream.value) if key == "findings" else stream.value()


def _array(stream: _Stream, element: Callable[[_Stream], Any]) -> Any:
    """The array that starts here, each element read by ``element(stream)``; any other value whole."""
    if stream.peek() != "[":
        return stream.value()
    return [element(stream) for _ in stream.items()]


def _walk(stream: _Stream, member: Callable[[str, _Stream], Any]) -> Any:
    """The object that starts here, each member's value read by ``member(key, stream)``; any other value whole."""
    if stream.peek() != "{":
        return stream.value()
    out: dict[str, Any] = {}
    for key in stream.members():
        out[key] = member(key, stream)
    return out


#: the keys of a finding's JSON form (``Finding.to_dict``), exactly
_FINDING_KEYS = frozenset(Finding(rule_id="", severity=Severity.INFO, message="").to_dict())


#: strings up to this long that repeat (a rule's message, a help link, a confidence) are kept once
_SHARED_MAX = 300


def _finding_or_dict(obj: dict[str, Any], shared: dict[str, str]) -> Any:
    """A finding's JSON object as a ``Finding`` as soon as it is parsed (a few hundred bytes instead
    of a tree of dicts: 100,000 findings read back in a fraction of the memory); anything else,
    or a finding that does not read back, stays a dict for ``GateResult.from_dict`` to judge.
    Short string values are shared through ``shared``: the same text is one object, however often it occurs."""
    for key, value in obj.items():
        if type(value) is str and len(value) <= _SHARED_MAX:
            obj[key] = shared.setdefault(value, value)
    if obj.keys() == _FINDING_KEYS:
        try:
            return Finding.from_dict(obj)
        except (KeyError, TypeError, ValueError, AttributeError):
            return obj
    return obj


def schema() -> dict[str, Any]:
    """The JSON Schema the report follows (shipped in the package)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded
