"""ruff's JSON report read into results by file, and those results into findings.

A result keeps what a finding needs of a diagnostic (rule, name, message, positions, fix
availability, rule URL), not ruff's edits; it is what the per-file cache stores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import process
from gatekeeper.checkers.lint.presentation import CHECK
from gatekeeper.errors import ToolError
from gatekeeper.fileio import RootRelative
from gatekeeper.findings import Finding, Location, Severity
from gatekeeper.secretprints import LINT_RULES

if TYPE_CHECKING:
    from gatekeeper.checkers import source

_FINDING_KEYS = ("code", "message", "location", "filename")


def identity(d: Mapping[str, Any]) -> tuple[Any, ...]:
    """A diagnostic's identity (rule, position, message), the same for ruff's entry and the one kept of it;
    in a notebook the position is a row of a cell (ruff's ``cell``): two cells' first lines are not one."""
    return (d.get("code"), d.get("cell"), d["location"].get("row"), d["location"].get("column"), str(d["message"]))


def parse_output(
    root: Path, text: str, keep: Callable[[str, Mapping[str, Any]], bool] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """ruff's JSON diagnostics by file (posix, relative to ``root``), those ``keep(file, ruff's entry)``
    refuses left out; ``ToolError`` when it is not ruff's JSON (every entry is checked)."""
    try:
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError("not a list")
        out: dict[str, list[dict[str, Any]]] = {}
        relative = RootRelative(root)
        named: dict[str, str | None] = {}  # ruff names a file once per diagnostic: each name resolved once
        for d in data:
            if not valid(d):
                raise ValueError(f"a diagnostic lacks one of {', '.join(_FINDING_KEYS)}")
            filename = str(d["filename"])
            rel = named[filename] if filename in named else named.setdefault(filename, relative(Path(filename)))
            if rel is None:
                raise ValueError(f"a diagnostic names a file outside the project: {d['filename']}")
            if keep is not None and not keep(rel, d):
                continue
            fix = d.get("fix") if isinstance(d.get("fix"), dict) else None
            out.setdefault(rel, []).append(
                {
                    "code": d.get("code"),
                    "name": d.get("name") or "",
                    "message": str(d["message"]),
                    "location": d["location"],
                    "end_location": d.get("end_location"),
                    "filename": rel,
                    "fix": {"applicability": fix.get("applicability"), "message": fix.get("message")} if fix else None,
                    "url": d.get("url") or "",
                    **({"cell": d["cell"]} if d.get("cell") is not None else {}),  # a notebook's: its rows are the cell's
                }
            )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ToolError(f"ruff printed output that is not its JSON report ({exc}): {process.tail(text, 300)}") from None
    return out


def valid(d: Any) -> bool:
    """Whether ``d`` (ruff's entry, or a cached result) has the keys a finding is made of."""
    return isinstance(d, dict) and all(k in d for k in _FINDING_KEYS) and isinstance(d.get("location"), dict)


def _blocks(code: str, prefixes: Sequence[str]) -> bool:
    return any(p == "ALL" or code.startswith(p) for p in prefixes)


def to_findings(
    section: Mapping[str, Any],
    diagnostics: Mapping[str, Sequence[Mapping[str, Any]]],
    sources: source.Sources,
    prior: dict[str, str] | None = None,
) -> list[Finding]:
    """Findings for ruff's diagnostics; ``fail_on`` and ``max_findings`` decide which block. Each
    fingerprint hashes its line with credential-looking spans masked (``source.line_hash``);
    ``prior`` gets ``source.prior_prints`` for the lines that masking changed."""
    from gatekeeper.checkers import source

    prefixes = [str(p) for p in section.get("fail_on") or ["ALL"]]
    ordered = []
    for path in sorted(diagnostics):
        for d in sorted(diagnostics[path], key=_position):
            ordered.append((path, d))
    keys = []
    hashes: dict[tuple[str, Any, Any], str] = {}  # a line's hash, once for all its findings
    unmasked: dict[str, str] = {}  # a masked line's hash: that of the line as it is
    blocks: dict[str, bool] = {}  # whether a rule blocks, once per rule
    cells: dict[str, list[str]] = {}  # a notebook's cells' sources, read once
    for path, d in ordered:
        row, cell = d["location"].get("row"), d.get("cell")
        if (path, cell, row) not in hashes:
            line = sources.line(path, row) if cell is None else _cell_line(cells, sources, path, cell, row)
            masked = source.masked_line(line)
            hashes[path, cell, row] = source.snippet_hash(masked)
            if masked != line:
                unmasked[hashes[path, cell, row]] = source.snippet_hash(line)
        code = str(d["code"] or "syntax-error")
        if code not in blocks:
            blocks[code] = _blocks(code, prefixes)
        # a rule that flags a password: no hash of its line, which holds it (``secretprints``)
        keys.append((code, path) if code in LINT_RULES else (code, path, hashes[path, cell, row]))
    prints = source.occurrence_fingerprints(CHECK, keys)
    if unmasked and prior is not None:
        prior.update(source.prior_prints(CHECK, keys, [tuple(unmasked.get(k, k) for k in key) for key in keys]))
    over = sum(1 for code, *_ in keys if blocks[code]) > int(section.get("max_findings", 0))
    findings = []
    for (path, d), (code, *_), fp in zip(ordered, keys, prints, strict=True):
        blocking = over and blocks[code]
        loc, end = d["location"], d.get("end_location") or {}
        fix = d.get("fix")
        findings.append(
            Finding(
                rule_id=code,
                severity=Severity.MEDIUM if blocking else Severity.LOW,
                message=str(d["message"]),
                blocking=blocking,
                location=Location(path, line=loc.get("row"), end_line=end.get("row"), column=_column(loc.get("column"))),
                fingerprint=fp,
                help_uri=str(d.get("url") or ""),
                rule_name=str(d.get("name") or ""),
                tags=("lint",),
                properties={
                    "fix": fix.get("applicability") if isinstance(fix, dict) else None,
                    "fix_message": fix.get("message") if isinstance(fix, dict) else None,
                },
            )
        )
    return findings


def _position(d: Mapping[str, Any]) -> tuple[int, int, int, str]:
    """Where a diagnostic is, to order a file's: its notebook cell (0 in a module), row, column, rule."""
    loc = d["location"]
    return (int(d.get("cell") or 0), loc.get("row") or 0, loc.get("column") or 0, str(d["code"]))


def _cell_line(cells: dict[str, list[str]], sources: source.Sources, path: str, cell: Any, row: Any) -> str:
    """Row ``row`` of cell ``cell`` (ruff counts every cell from 1, a markdown one too) of the notebook
    ``path``: the code a notebook finding is on (line ``row`` of the notebook's JSON is not), "" when
    there is none."""
    if path not in cells:
        try:
            document = json.loads(sources.data(path).decode("utf-8"))
            sources_of = [c.get("source") or "" for c in document["cells"]]
            cells[path] = ["".join(t) if isinstance(t, list) else str(t) for t in sources_of]
        except (ValueError, TypeError, KeyError, AttributeError):
            cells[path] = []
    texts = cells[path]
    if not isinstance(cell, int) or not isinstance(row, int) or not 0 < cell <= len(texts) or row < 1:
        return ""
    lines = re.split(r"\r\n|\r|\n", texts[cell - 1])
    return lines[row - 1] if row <= len(lines) else ""


def _column(value: Any) -> int | None:
    """ruff's column (1-based, as findings carry it)."""
    return int(value) if isinstance(value, int) and value >= 1 else None
