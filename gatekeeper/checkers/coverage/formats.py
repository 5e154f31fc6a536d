"""The coverage reports read directly: coverage.py's ``coverage.json`` and a Cobertura ``coverage.xml``.

Neither report's own percentages are trusted: the totals are recomputed from the lines (and
branches) listed per file, as coverage.py computes them, and a report measured in another source
tree is refused."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # nosec B405: only for types and errors; parsing uses defusedxml
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as DefusedET

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.coverage import narrowing
from gatekeeper.checkers.coverage.data import probe
from gatekeeper.checkers.coverage.report import CoverageReport, FileCoverage, covered_percent, display_covered, relative_path
from gatekeeper.errors import ToolError
from gatekeeper.fileio import under

_CONDITION = re.compile(r"\((\d+)/(\d+)\)")


def read_coverage_json(path: Path, ctx: CheckContext) -> CoverageReport:
    """A ``coverage json`` report: its totals carry coverage.py's own display string."""
    rel = relative_path(ctx.root, str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        meta, totals, raw_files = data["meta"], data["totals"], data["files"]
        display = str(totals["percent_covered_display"])
        precision = len(display.split(".", 1)[1]) if "." in display else 0
        files: list[FileCoverage] = []
        excluded: list[dict[str, Any]] = []  # the lines the configuration that wrote it excluded
        if not isinstance(totals, dict):
            raise TypeError("totals is not a table")
        sums = {"statements": 0, "missing": 0, "branches": 0, "missing_branches": 0}
        for name, entry in raw_files.items():
            # the report's own percentages and totals are not trusted: they are recomputed from
            # the lines (and branch counts) listed per file, as coverage.py computes them
            summary = entry["summary"]
            executed = {int(n) for n in entry["executed_lines"]}
            missing = {int(n) for n in entry["missing_lines"]} - executed
            branches = int(summary.get("num_branches", 0))
            missed_branches = min(branches, int(summary.get("missing_branches", 0)))
            statements = len(executed | missing)
            exact = covered_percent(statements - len(missing) + branches - missed_branches, statements + branches)
            for key, value in zip(sums, (statements, len(missing), branches, missed_branches), strict=True):
                sums[key] += value
            lines = [int(n) for n in entry.get("excluded_lines") or []]
            excluded.append({"path": str(under(ctx.root, name)), "excluded_lines": sorted(lines)})
            files.append(
                FileCoverage(
                    path=relative_path(ctx.root, str(under(ctx.root, name))),
                    percent=float(display_covered(exact, precision)),
                    percent_exact=exact,
                    statements=statements,
                    missing=len(missing),
                    lines=frozenset(executed | missing),
                    missing_lines=frozenset(missing),
                )
            )
        total_exact = covered_percent(
            sums["statements"] - sums["missing"] + sums["branches"] - sums["missing_branches"],
            sums["statements"] + sums["branches"],
        )
        report = CoverageReport(
            source="coverage-json",
            data_file=rel,
            tool_version=str(meta.get("version", "")),
            precision=precision,
            branch=bool(meta.get("branch_coverage", False)),
            total=float(display_covered(total_exact, precision)),
            total_exact=total_exact,
            statements=sums["statements"],
            missing=sums["missing"],
            branches=sums["branches"],
            missing_branches=sums["missing_branches"],
            files=tuple(sorted(files, key=lambda f: f.path)),
            narrowing=narrowing.excluded_records(ctx.root, sorted(excluded, key=lambda e: e["path"])),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ToolError(
            f"{rel} is not a readable coverage.py JSON report ({type(exc).__name__}: {exc}); regenerate it with coverage json"
        ) from None
    require_local(report, ctx.root)
    return report


def read_cobertura(path: Path, ctx: CheckContext) -> CoverageReport:
    """A Cobertura ``coverage.xml``: the total is (covered lines + branches) / (lines + branches), as coverage.py computes it."""
    rel = relative_path(ctx.root, str(path))
    try:
        root = DefusedET.parse(path).getroot()  # a coverage.xml from a pull request is untrusted input
        if root.tag != "coverage":
            raise ValueError(f"the root element is <{root.tag}>, not <coverage>")
        sources = [Path(s.text.strip()) for s in root.iter("source") if s.text and s.text.strip()]
        per_file: dict[str, dict[int, tuple[int, int, int]]] = {}
        for cls in root.iter("class"):
            name = cls.get("filename")
            if not name:
                raise ValueError("a <class> has no filename")
            lines = per_file.setdefault(_cobertura_path(ctx.root, sources, name), {})
            for line in cls.iter("line"):
                number = int(line.get("number", ""))
                hits = int(line.get("hits", "0"))
                taken, total = 0, 0
                if line.get("branch") == "true":
                    match = _CONDITION.search(line.get("condition-coverage", ""))
                    if match:
                        taken, total = int(match.group(1)), int(match.group(2))
                old = lines.get(number)
                lines[number] = (
                    max(hits, old[0] if old else 0),
                    max(taken, old[1] if old else 0),
                    max(total, old[2] if old else 0),
                )
        branch = root.get("branch-rate") is not None and int(root.get("branches-valid", "0")) > 0
    except (OSError, ET.ParseError, ValueError) as exc:
        raise ToolError(f"{rel} is not a readable Cobertura coverage report ({exc}); regenerate it with coverage xml") from None
    precision = int(probe(ctx, {"mode": "config"}).get("precision", 0))
    files: list[FileCoverage] = []
    for name, lines in per_file.items():
        statements = len(lines)
        covered = sum(1 for hits, _, _ in lines.values() if hits > 0)
        b_total = sum(t for _, _, t in lines.values())
        b_taken = sum(k for _, k, _ in lines.values())
        exact = covered_percent(covered + b_taken, statements + b_total)
        files.append(
            FileCoverage(
                path=name,
                percent=float(display_covered(exact, precision)),
                percent_exact=exact,
                statements=statements,
                missing=statements - covered,
                lines=frozenset(lines),
                missing_lines=frozenset(n for n, (hits, _, _) in lines.items() if hits == 0),
            )
        )
    # the totals come from the per-line data, not from the report's own lines-valid/lines-covered
    lines_valid = sum(f.statements for f in files)
    lines_covered = lines_valid - sum(f.missing for f in files)
    branches_valid = sum(t for lines in per_file.values() for _, _, t in lines.values())
    branches_covered = sum(k for lines in per_file.values() for _, k, _ in lines.values())
    exact = covered_percent(lines_covered + branches_covered, lines_valid + branches_valid)
    report = CoverageReport(
        source="cobertura",
        data_file=rel,
        tool_version=str(root.get("version", "")),
        precision=precision,
        branch=branch,
        total=float(display_covered(exact, precision)),
        total_exact=exact,
        statements=lines_valid,
        missing=lines_valid - lines_covered,
        branches=branches_valid,
        missing_branches=branches_valid - branches_covered,
        files=tuple(sorted(files, key=lambda f: f.path)),
    )
    require_local(report, ctx.root)
    return report


def _cobertura_path(root: Path, sources: Sequence[Path], name: str) -> str:
    candidate = Path(name)
    if not candidate.is_absolute():
        for source in sources:
            if (source / name).exists():
                candidate = source / name
                break
        else:
            candidate = (sources[0] / name) if sources else root / name
    return relative_path(root, str(candidate))


def require_local(report: CoverageReport, root: Path) -> None:
    """A report most of whose files do not exist here was measured elsewhere (or is stale): fail closed."""
    gone = [f.path for f in report.files if not (root / f.path).exists()]
    if gone and 2 * len(gone) >= len(report.files):
        raise ToolError(
            f"the coverage report {report.data_file} was measured in another source tree: {len(gone)} of its "
            f"{len(report.files)} files do not exist under {root} (e.g. {gone[0]}); regenerate it in this checkout"
        )
