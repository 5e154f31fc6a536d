"""Reading back what was written earlier, under limits: JSON documents and zip members.

Everything gatekeeper reads back (results and merge parts, baselines, audit log lines, bundles,
advisory archives and records) may have been written by someone else: a pull request's job, an
edited log, a downloaded zip. Read through here, such a file has bounds: nesting at most
``MAX_DEPTH`` levels, every number finite and within +-2**63 (an integer of at most 19 digits; no
NaN or Infinity), no string holding a lone surrogate (``\\ud800``, which UTF-8 cannot encode),
and a zip member at most the size its reader allows, neither encrypted nor
compressed by a method gatekeeper never uses. A file beyond them is a ``LimitError`` (exit 2)
naming the file (and the line or member), raised before anything is built from it, never a
RecursionError or OverflowError from deep inside a renderer.
"""

from __future__ import annotations

import json
import math
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any

from gatekeeper.errors import UsageError

#: deepest nesting of objects and arrays accepted (gatekeeper writes at most about 8)
MAX_DEPTH = 64
#: largest magnitude of a number accepted (counts, sizes, durations and percentages stay far below)
MAX_NUMBER = 2**63
_MAX_DIGITS = len(str(MAX_NUMBER))
#: the zip compression methods Python reads; gatekeeper writes only deflate
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})


class LimitError(UsageError):
    """A file read back is beyond gatekeeper's limits (nesting, a number, a size, an unreadable
    zip member): exit 2, naming the file."""


class Beyond(Exception):
    """Raised inside a bounded decoder (or a streaming reader) at a limit; ``beyond`` turns it into
    the ``LimitError`` naming the file."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise Beyond(f"an integer of {len(text.lstrip('-'))} digits (gatekeeper reads numbers within +-2**63)")
    value = int(text)
    if abs(value) > MAX_NUMBER:
        raise Beyond(f"the integer {text} is out of range (gatekeeper reads numbers within +-2**63)")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise Beyond(f"the number {text[:40]} is out of range (gatekeeper reads numbers within +-2**63)")
    return value


def _constant(text: str) -> Any:
    raise Beyond(f"{text} is not a number")


def decoder(object_hook: Callable[[dict[str, Any]], Any] | None = None) -> json.JSONDecoder:
    """A JSON decoder whose numbers are bounded (``Beyond`` otherwise); ``object_hook`` as json's."""
    return json.JSONDecoder(object_hook=object_hook, parse_int=_int, parse_float=_float, parse_constant=_constant)


_DECODER = decoder()
#: every byte but the brackets and the double quote, which are all the nesting depends on
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_STRINGS = re.compile(rb'"[^"]*"')
_SQUARE = bytes.maketrans(b"{}", b"[]")


def too_deep(text: str | bytes, start: int = 0, end: int | None = None, limit: int = MAX_DEPTH) -> bool:
    """True when the JSON text ``text[start:end]`` nests objects and arrays more than ``limit`` deep.

    In C-speed steps (a 57 MB result takes about a tenth of a second; one under ``limit`` brackets
    in all, none): escaped quotes and strings are dropped, then each pass removes the innermost
    pairs. Text that is not balanced JSON ends the count early; the decoder then says what is wrong.
    """
    if isinstance(text, str):
        if text.count("[", start, end) + text.count("{", start, end) <= limit:
            return False
        data = text[start:end].encode("utf-8", "surrogatepass")
    else:
        if text.count(b"[", start, end) + text.count(b"{", start, end) <= limit:
            return False
        data = text[start:end]
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    data = _STRINGS.sub(b"", data.translate(None, _NOT_STRUCTURE)).translate(_SQUARE)
    depth = 0
    while data and depth <= limit:
        shorter = data.replace(b"[]", b"")
        if len(shorter) == len(data):
            break
        data, depth = shorter, depth + 1
    return depth > limit


def loads(data: str | bytes, where: str, *, line: int | None = None, using: json.JSONDecoder | None = None) -> Any:
    """The JSON document ``data`` (from the file ``where``, line ``line``), within the limits.

    Raises ``LimitError`` naming the file beyond a limit, and ``ValueError`` (``json.JSONDecodeError``,
    ``UnicodeDecodeError``) for text that is not JSON at all, which the caller words for its file.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if too_deep(text):
        raise beyond(RecursionError(), where, line)
    try:
        value = (using or _DECODER).decode(text)
        if _SURROGATE_ESCAPE.search(text) and _lone_surrogate(value):
            raise Beyond("a string holding a lone surrogate, an escape from \\ud800 to \\udfff that UTF-8 cannot encode")
        return value
    except (Beyond, RecursionError) as exc:
        raise beyond(exc, where, line) from None


#: an escape of a UTF-16 surrogate: JSON allows one alone, which then cannot be written as UTF-8 again
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any) -> bool:
    """True when a string of ``value`` (a key or a value, at any depth) holds a lone surrogate: UTF-8
    cannot encode it, so a record holding one was never written by gatekeeper, and printing or
    re-encoding it would fail where a verdict is due."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_tree(value: Any, where: str, *, max_values: int) -> None:
    """Hold a value another parser built (a YAML document) to the limits JSON read back meets.

    Nesting at most ``MAX_DEPTH`` levels, every int and float within +-2**63 and finite, and at
    most ``max_values`` values counted as a reader walking it meets them: a value reached twice
    through YAML aliases counts twice, so an alias bomb or a document that contains itself is
    refused instead of multiplying every later walk. Raises ``LimitError`` naming ``where``.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > max_values:
            raise LimitError(f"holds more than {max_values} values (aliases repeating parts of it)", file=where)
        if isinstance(item, (dict, list, tuple, set, frozenset)):
            if depth > MAX_DEPTH:
                raise beyond(RecursionError(), where)
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else list(item)
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_NUMBER:
            digits = len(str(abs(item))) if item.bit_length() < 4000 else "thousands of"
            raise LimitError(f"an integer of {digits} digits (gatekeeper reads numbers within +-2**63)", file=where)
        elif isinstance(item, float) and (not math.isfinite(item) or abs(item) > MAX_NUMBER):
            raise LimitError(f"the number {item!r} is out of range (gatekeeper reads numbers within +-2**63)", file=where)


def beyond(exc: Beyond | RecursionError, where: str, line: int | None = None) -> LimitError:
    """The ``LimitError`` naming ``where`` for a limit a bounded reader met (``Beyond``), or for
    nesting deeper than Python's own recursion allows (``RecursionError``)."""
    if isinstance(exc, RecursionError):
        return LimitError(f"nested more than {MAX_DEPTH} levels deep", file=where, line=line)
    return LimitError(str(exc), file=where, line=line)


def lines(fh: IO[bytes], where: str, limit: int) -> Iterator[bytes]:
    """The lines of the binary file ``fh``, each with its newline; a line longer than ``limit``
    bytes is a ``LimitError`` naming its number (never read whole into memory)."""
    number = 0
    while True:
        raw = fh.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit and not (len(raw) == limit + 1 and raw.endswith(b"\n")):
            raise LimitError(f"line {number} is longer than {limit} bytes", file=where)
        yield raw


def member_problem(info: zipfile.ZipInfo, limit: int) -> str | None:
    """Why the zip member ``info`` cannot be read within ``limit`` bytes (encrypted, a compression
    method Python cannot read, or declared larger), or None."""
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.compress_type not in _METHODS:
        return f"uses compression method {info.compress_type}, which gatekeeper cannot read"
    if info.file_size > limit:
        return f"is {info.file_size} bytes uncompressed, more than the {limit} allowed"
    return None


def unsafe_member(info: zipfile.ZipInfo) -> str | None:
    """Why extracting the zip member ``info`` could write outside the folder it is extracted to, or
    through a link (an absolute name, a drive, a backslash, a ``..``, ``.`` or empty part, a link or
    other special file, a folder entry), or under another name than ``info.filename`` (an extra
    field: Info-ZIP's Unicode Path field, 0x7075, names the file unzip writes, which zipfile does not
    read), or None for a plain file under a relative name and no extra field."""
    name = info.filename
    if info.extra:
        kinds = ", ".join(f"0x{kind:04x}" for kind in _extra_kinds(info.extra))
        return f"an extra field ({kinds or 'unreadable'}), from which unzip may take another name for the file it writes"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    if "\\" in name:
        return "a backslash, which some unzip tools take for a folder separator"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "a '..', '.' or empty part of its path"
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind not in (0, stat.S_IFREG):
        return "a symbolic link" if kind == stat.S_IFLNK else "not a regular file"
    return None


#: a zip's local file header: its signature, and where its name's and extra field's lengths lie
_LOCAL_HEADER, _LOCAL_HEADER_SIZE = b"PK\x03\x04", 30
_DESCRIPTOR = b"PK\x07\x08"


def _extra_kinds(extra: bytes) -> list[int]:
    """The header ids of a zip extra field's blocks (each: id, length, data)."""
    import struct

    kinds, at = [], 0
    while at + 4 <= len(extra):
        kind, size = struct.unpack("<HH", extra[at : at + 4])
        kinds.append(kind)
        at += 4 + size
    return kinds


def hidden_bytes(zf: zipfile.ZipFile) -> str | None:
    """Why the zip ``zf`` holds bytes that no entry of its central directory accounts for, or None.

    The central directory is what ``zipfile`` and ``unzip`` read, but an extractor that reads the
    local entries one after another (``jar x``, Java's ZipInputStream, a streaming unzip) finds an
    entry the central directory leaves out, and writes it, perhaps over a file of the same name
    that was verified. So each entry must start where the one before it ends (at 0 for the first,
    its data descriptor counted), and the last must end where the central directory starts:
    no prefix, no gap, no overlap."""
    import struct

    fp = zf.fp
    if fp is None:
        return "the zip is closed"
    position = 0
    for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
        if info.header_offset != position:
            what = "overlaps the entry before it" if info.header_offset < position else "follows bytes no entry accounts for"
            return f"{info.filename} {what} (at byte {info.header_offset}, not {position})"
        fp.seek(info.header_offset)
        header = fp.read(_LOCAL_HEADER_SIZE)
        if len(header) != _LOCAL_HEADER_SIZE or header[:4] != _LOCAL_HEADER:
            return f"{info.filename}: no local file header where the central directory says it starts"
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        if extra_length != len(info.extra) or (extra_length and fp.read(name_length + extra_length)[name_length:] != info.extra):
            return f"{info.filename}: its local header carries another extra field than the central directory's"
        position = info.header_offset + _LOCAL_HEADER_SIZE + name_length + extra_length + info.compress_size
        if info.flag_bits & 0x08:  # sizes in a data descriptor after the data (a zip written to a stream)
            fp.seek(position)
            wide = max(info.compress_size, info.file_size) >= 0xFFFFFFFF
            position += (24 if wide else 16) if fp.read(4) == _DESCRIPTOR else (20 if wide else 12)
    if position != zf.start_dir:
        return f"{zf.start_dir - position} byte(s) between the last entry and the central directory that no entry accounts for"
    return None


def member_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: str) -> Iterator[bytes]:
    """The zip member ``info``'s bytes in chunks of at most 1 MiB, never more than ``limit`` in all.

    A member that is encrypted, compressed by an unknown method, declared or inflating larger than
    ``limit``, or damaged is a ``LimitError`` naming ``where`` and the member.
    """
    problem = member_problem(info, limit)
    if problem is not None:
        raise LimitError(f"{info.filename} {problem}", file=where)
    total = 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(min(1 << 20, limit + 1 - total)):
                total += len(chunk)
                if total > limit:
                    raise LimitError(f"{info.filename} inflates to more than the {limit} bytes allowed", file=where)
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        raise LimitError(f"{info.filename} cannot be read ({exc})", file=where) from None


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: str) -> bytes:
    """The zip member ``info``'s bytes, at most ``limit`` (``member_chunks``' errors)."""
    return b"".join(member_chunks(zf, info, limit, where))
