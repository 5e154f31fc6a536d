"""What the project's ruff configuration and comments narrow, as ``Narrowing`` records.

Configuration: every file of every configuration's ``extend`` chain (``gatekeeper.toolconfig``),
and in each the settings that choose or drop rules (``select``, ``extend-select``, ``ignore``,
``extend-ignore``, ``per-file-ignores``...) or files (``exclude``, ``extend-exclude``...).

Comments, as ruff reads them (https://docs.astral.sh/ruff/linter/#error-suppression): a file-level
``# ruff: noqa`` or ``# flake8: noqa`` anywhere in a file (with codes: those rules, without: every
rule; ruff reads ``# flake8: noqa: F401`` as F401 only, where flake8 turns off every rule),
``# ruff: file-ignore[...]``, ``# ruff: disable[...]`` / ``# ruff: enable[...]`` ranges (ruff 0.15
and later; an unmatched ``disable`` runs to the end of the file), and per-line ``# noqa`` and
``# ruff: ignore[...]``. What they suppressed is measured, not guessed: the files with such a
comment are checked again with ``--ignore-noqa`` (which disregards all of them), and each
diagnostic only that run reports is counted against the comment that covers its line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from gatekeeper import toolconfig
from gatekeeper.checkers import source
from gatekeeper.findings import Narrowing

#: any comment ruff reads as a suppression (a broad first pass: ``_comments`` sorts them out)
ANY = re.compile(rb"#\s*(?:noqa\b|(?:ruff|flake8)\s*:\s*(?:noqa|disable|enable|ignore|file-ignore)\b)", re.IGNORECASE)
_FILE = re.compile(
    r"#\s*(?:ruff|flake8)\s*:\s*noqa\b(?::\s*(?P<codes>[\w, ]+))?|#\s*ruff\s*:\s*file-ignore\[(?P<ignored>[^\]]*)\]", re.I
)
_RANGE = re.compile(r"#\s*ruff\s*:\s*(?P<verb>disable|enable)\[(?P<codes>[^\]]*)\]", re.IGNORECASE)
_LINE = re.compile(r"#\s*noqa\b|#\s*ruff\s*:\s*ignore\[", re.IGNORECASE)
#: settings that choose rules, and what each does
RULE_KEYS = {
    "select": "only these rules run (ruff's default selection is replaced)",
    "extend-select": "these rules run besides the selection",
    "ignore": "these rules are turned off",
    "extend-ignore": "these rules are turned off",
    "per-file-ignores": "these rules are turned off in the matching files",
    "extend-per-file-ignores": "these rules are turned off in the matching files",
    "unfixable": "",
}
#: settings that leave files out
FILE_KEYS = ("exclude", "extend-exclude", "force-exclude", "respect-gitignore", "include", "extend-include")
#: settings that neither choose rules or files nor change how a rule judges code (fixes, output,
#: the cache, the Python version, the formatter); every other setting tunes the rules it feeds
#: (``line-length`` for E501, ``builtins`` for F821, ``lint.mccabe.max-complexity`` for C901...)
_NEUTRAL_KEYS = frozenset(
    {"extend", "target-version", "cache-dir", "fix", "unsafe-fixes", "show-fixes", "output-format", "required-version"}
    | {"format", "fixable", "extend-fixable", "unfixable", "extend-safe-fixes", "extend-unsafe-fixes", "external", "analyze"}
)
_TUNING = (
    "these settings change how the selected rules judge the code (a longer line-length lets longer lines pass E501, "
    "builtins names F821 does not flag, a plugin's thresholds and allow-lists...)"
)
_MAX_DETAIL = 200


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Comment:
    kind: str  # file-comment | range-comment | line-comments
    line: int
    text: str
    end: int | None = None  # a range's last line


def config_records(root: Path, configs: Sequence[str]) -> list[Narrowing]:
    """A record per file of each configuration's extend chain, and per setting in it that chooses rules or files."""
    out: list[Narrowing] = []
    seen: set[str] = set()
    for config in configs:
        for n, item in enumerate(toolconfig.ruff_chain(root, config)):
            if item.path in seen:
                continue
            seen.add(item.path)
            lines = source.Sources(root).data(item.path).decode("utf-8", "replace").splitlines()
            how = "ruff's configuration for its folder" if n == 0 else f"extended by the file before it in {config}'s chain"
            extend = f"extend = {json.dumps(item.extend)}" if item.extend else ""
            out.append(Narrowing("config-file", item.path, _line_of(lines, "extend") if extend else None, extend, how))
            lint = item.options.get("lint")
            for table, prefix in ((item.options, ""), (lint if isinstance(lint, Mapping) else {}, "lint.")):
                for key, value in table.items():
                    if key in RULE_KEYS and RULE_KEYS[key] and value:
                        out.append(_setting((item.path, lines), "rules", prefix + key, value, RULE_KEYS[key]))
                    elif key in FILE_KEYS and (value or key == "respect-gitignore"):
                        out.append(
                            _setting((item.path, lines), "exclude", prefix + key, value, "decides which files ruff checks")
                        )
            tuned = _tuning(item.options)
            if tuned:
                text = "; ".join(f"{key} = {json.dumps(value)}" for key, value in tuned)
                first = _line_of(lines, tuned[0][0].rpartition(".")[2])
                out.append(Narrowing("option", item.path, first, _cut(text), _TUNING))
    return out


def _tuning(options: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The settings of one configuration file that tune how rules judge code, as (dotted key, value):
    every key neither ``RULE_KEYS``, ``FILE_KEYS`` nor neutral, a plugin's table (``lint.mccabe``) by each of its keys."""
    out: list[tuple[str, Any]] = []
    lint = options.get("lint")
    for table, prefix in ((options, ""), (lint if isinstance(lint, Mapping) else {}, "lint.")):
        for key, value in table.items():
            if key in RULE_KEYS or key in FILE_KEYS or key in _NEUTRAL_KEYS or key == "lint":
                continue
            if isinstance(value, Mapping):
                out += [(f"{prefix}{key}.{k}", v) for k, v in value.items()]
            else:
                out.append((prefix + key, value))
    return out


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _setting(where: tuple[str, Sequence[str]], kind: str, key: str, value: Any, effect: str) -> Narrowing:
    path, lines = where
    text = f"{key} = {json.dumps(value)}"
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 1] + "…"
    return Narrowing(kind, path, _line_of(lines, key.rpartition(".")[2]), text, effect)


def _line_of(lines: Sequence[str], key: str) -> int | None:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    return next((n for n, line in enumerate(lines, start=1) if pattern.match(line)), None)


def excluded_records(
    dropped_by_config: Sequence[str], dropped_by_default: Sequence[str], ignore_files: Sequence[str] = ()
) -> list[Narrowing]:
    """Tracked Python files ruff did not check: those the project's settings dropped, and those
    ruff's own default excludes, ``.gitignore`` and the ``.ignore`` files (``ignore_files``, which ruff
    honours as it honours ``.gitignore``: its walk uses the ``ignore`` crate's standard filters) drop."""
    out = []
    if dropped_by_config:
        out.append(
            Narrowing(
                "exclude", "", None, "the project's ruff settings (exclude, extend-exclude, include, lint.exclude...)",
                "tracked Python files ruff did not check", tuple(dropped_by_config),
            )
        )  # fmt: skip
    if dropped_by_default:
        out.append(
            Narrowing(
                "exclude", "", None, _by_default(ignore_files),
                "tracked Python files ruff did not check", tuple(dropped_by_default),
            )
        )  # fmt: skip
    return out


#: where flake8 reads its configuration (https://flake8.pycqa.org/en/latest/user/configuration.html), none of which ruff reads
_FLAKE8 = ((".flake8", None), ("setup.cfg", "[flake8]"), ("tox.ini", "[flake8]"))
_SECTION = re.compile(r"^\s*\[flake8\]\s*$", re.MULTILINE)


def config_notes(root: Path, configs: Sequence[str]) -> list[str]:
    """What the summary says about the configuration ruff runs with, when it is not what a newcomer
    would take it to be: only nested configurations (``configs`` without one in the root, each
    configuring its own folder alone), and a flake8 configuration in the root with no ruff one there
    (ruff never reads it: its defaults apply)."""
    nested = [c for c in configs if "/" in c]
    out = []
    if configs and len(nested) == len(configs):
        shown = ", ".join(nested[:3]) + (", …" if len(nested) > 3 else "")
        out.append(f"no ruff configuration in the root ({shown} configure{'s' if len(nested) == 1 else ''} only its own folder)")
    if len(nested) == len(configs):
        where = " outside " + ", ".join(str(PurePosixPath(c).parent) + "/" for c in nested[:3]) if nested else ""
        out += [f"{name} is not read by ruff; ruff's defaults apply{where}" for name in flake8_configs(root)]
    return out


def flake8_configs(root: Path) -> list[str]:
    """The flake8 configurations in the root: ``.flake8``, and ``[flake8]`` of ``setup.cfg`` or ``tox.ini``."""
    out = []
    for name, section in _FLAKE8:
        path = root / name
        if not path.is_file():
            continue
        if section is None:
            out.append(name)
            continue
        try:
            text = path.read_bytes()[:1_000_000].decode("utf-8", "replace")
        except OSError:
            continue
        if _SECTION.search(text):
            out.append(f"{name} {section}")
    return out


def _by_default(ignore_files: Sequence[str]) -> str:
    """What leaves files out besides the project's ruff settings, naming each ``.ignore`` file."""
    if not ignore_files:
        return "ruff's default excludes and .gitignore"
    shown = ", ".join(ignore_files[:5]) + (", …" if len(ignore_files) > 5 else "")
    return f"ruff's default excludes, .gitignore and the .ignore files ruff honours like it ({shown})"


def comment_records(
    files: Sequence[str], results: Mapping[str, Sequence[Mapping[str, Any]]], sources: source.Sources
) -> list[Narrowing]:
    """A record per file-level comment and range in the checked files, and one per file for its
    per-line comments, each with the diagnostics it suppressed (``suppressed`` entries of ``results``)."""
    out: list[Narrowing] = []
    for f in files:
        data = sources.data(f)
        if not ANY.search(data):
            continue
        rows, starts = _notebook_lines(data) if f.endswith(".ipynb") else (data.decode("utf-8", "replace").splitlines(), {})
        comments = _comments(rows)
        if not comments:
            continue
        counts = {id(c): 0 for c in comments}
        for d in results.get(f, []):
            if d.get("suppressed") and not d.get("isort"):  # what isort action comments hid is theirs
                row = int(d["location"].get("row") or 0) + starts.get(d.get("cell"), 0)  # a notebook's: its cell's row
                owner = _owner(comments, row)
                if owner is not None:
                    counts[id(owner)] += 1
        lines = [c for c in comments if c.kind == "line-comments"]
        for c in comments:
            if c.kind == "file-comment":
                out.append(
                    Narrowing(c.kind, f, c.line, c.text, "ruff reports none of these rules in this file", (f,), counts[id(c)])
                )
            elif c.kind == "range-comment":
                span = f"lines {c.line}-{c.end}" if c.end else f"line {c.line} to the end of the file (no matching enable)"
                out.append(
                    Narrowing(c.kind, f, c.line, c.text, f"ruff reports none of these rules on {span}", (f,), counts[id(c)])
                )
        if lines:
            where = ", ".join(str(c.line) for c in lines[:10]) + (", …" if len(lines) > 10 else "")
            out.append(
                Narrowing(
                    "line-comments", f, lines[0].line, f"{len(lines)} × # noqa or # ruff: ignore (line {where})",
                    "ruff reports nothing those comments name on their lines", (f,), sum(counts[id(c)] for c in lines),
                )
            )  # fmt: skip
    return out


def _notebook_lines(data: bytes) -> tuple[list[str], dict[Any, int]]:
    """A notebook's code as ruff reads it: the lines of its code cells one after the other (the lines
    a notebook's records name), and the line each cell starts after, by ruff's cell number (every
    cell counted from 1, a markdown one too); no lines when it is not a notebook's JSON."""
    lines: list[str] = []
    starts: dict[Any, int] = {}
    try:
        for number, cell in enumerate(json.loads(data.decode("utf-8"))["cells"], start=1):
            if cell.get("cell_type") == "code":
                source = cell.get("source") or ""
                starts[number] = len(lines)
                lines += re.split(r"\r\n|\r|\n", ("".join(source) if isinstance(source, list) else str(source)).rstrip("\n"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return [], {}
    return lines, starts


def _comments(lines: Sequence[str]) -> list[_Comment]:
    out: list[_Comment] = []
    open_ranges: list[tuple[int, str, str]] = []
    for n, line in enumerate(lines, start=1):
        if "#" not in line:  # every comment pattern begins with one: most lines need no search
            continue
        hit = _FILE.search(line)
        if hit:
            out.append(_Comment("file-comment", n, hit.group(0).strip()))
            continue
        ranged = _RANGE.search(line)
        if ranged:
            codes = ranged.group("codes").replace(" ", "")
            if ranged.group("verb").lower() == "disable":
                open_ranges.append((n, codes, ranged.group(0).strip()))
            else:
                match = next((r for r in reversed(open_ranges) if r[1] == codes), None)
                if match is not None:
                    open_ranges.remove(match)
                    out.append(_Comment("range-comment", match[0], match[2], end=n))
            continue
        if _LINE.search(line):
            out.append(_Comment("line-comments", n, ""))
    out += [_Comment("range-comment", start, text) for start, _, text in open_ranges]
    return sorted(out, key=lambda c: c.line)


def _owner(comments: Sequence[_Comment], row: int) -> _Comment | None:
    """The comment that covers line ``row``: one on that line (or, for ``ruff: ignore``, the line
    before), else a range around it, else a file-level comment."""
    for c in comments:
        if c.kind == "line-comments" and c.line in (row, row - 1):
            return c
    for c in comments:
        if c.kind == "range-comment" and c.line <= row <= (c.end or row):
            return c
    return next((c for c in comments if c.kind == "file-comment"), None)
