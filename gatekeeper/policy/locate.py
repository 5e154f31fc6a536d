"""Locating a key path (``checks.coverage.min_total``, ``waivers[2].reason``) in the policy text it came
from, so that every ``PolicyError`` names the file and the line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from gatekeeper.errors import PolicyError


class Where:
    """Finds the file and line for a key path, for error messages."""

    def __init__(self, default_file: Path, texts: Mapping[str, tuple[Path, str, str]]) -> None:
        self.default_file = default_file
        self.texts = texts

    def error(self, keypath: str, message: str, hint: str | None = None) -> PolicyError:
        parts = keypath.split(".")
        origin = None
        if parts[0] == "checks" and len(parts) > 1:
            origin = self.texts.get(f"checks.{parts[1]}")
        origin = origin or self.texts.get(parts[0]) or self.texts.get(parts[0].partition("[")[0])
        if origin is None:
            return PolicyError(message, file=str(self.default_file), key=keypath, hint=hint)
        path, text, prefix = origin
        return PolicyError(message, file=str(path), key=prefix + keypath, line=locate(text, prefix + keypath), hint=hint)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


def locate(text: str, keypath: str) -> int | None:
    """Best-effort line number of ``keypath`` (e.g. ``checks.coverage.min_total``) in ``text``.

    Understands table headers, arrays of tables (``waivers[2].reason``) and dotted keys; returns
    the header's line when the key itself is not written there.
    """
    if not text:
        return None
    parts = [p for p in re.split(r"\.(?![^\[]*\])", keypath) if p]
    target: list[str] = []
    array_index: dict[str, int] = {}
    for p in parts:
        m = re.fullmatch(r"(.+)\[(\d+)\]", p)
        if m:
            target.append(m.group(1))
            array_index[".".join(target)] = int(m.group(2))
        else:
            target.append(p)
    table: list[str] = []
    counts: dict[str, int] = {}
    best: int | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            table = [s.strip().strip("\"'") for s in header.group(1).split(".")]
            name = ".".join(table)
            if line.strip().startswith("[["):
                counts[name] = counts.get(name, -1) + 1
            if _matches_prefix(table, target, counts, array_index) and len(table) <= len(target):
                if table == target[: len(table)]:
                    best = lineno if best is None or len(table) >= 1 else best
                    if table == target:
                        return lineno
            continue
        key = _KEY.match(line)
        if key:
            full = table + [s.strip().strip("\"'") for s in key.group(1).split(".")]
            if full == target and _matches_prefix(table, target, counts, array_index):
                return lineno
            if full == target[: len(full)] and _matches_prefix(table, target, counts, array_index):
                best = lineno
    return best


def _matches_prefix(table: list[str], target: list[str], counts: Mapping[str, int], array_index: Mapping[str, int]) -> bool:
    name = ".".join(table)
    if name in array_index:
        return counts.get(name, -1) == array_index[name]
    return True
