"""Whether coverage data still fits the source it is judged against.

coverage.py's data holds line numbers, not the code they were numbers of: ``coverage report`` over
data older than an edit maps the old run lines onto the new file and says nothing. A gate reading
data it did not produce (no ``checks.coverage.run``) says so:

- a measured file of the checkout changed (its modification time) after the oldest data file read
  was written is named in the summary and the ``stale`` metric, never an error by itself: data
  downloaded as an artifact after the checkout, or a checkout whose files were touched without a
  change, is ordinary in CI;
- a recorded run line that no code can run on in the file as it is (past its end, blank, only a
  comment) proves that the data was written for other code: the check is an error (fail closed),
  as SonarQube refuses to import a report line out of a file's range.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gatekeeper.checkers.coverage.report import CoverageReport, relative_path
from gatekeeper.errors import ToolError
from gatekeeper.fileio import RootRelative


def refuse_impossible(root: Path, entries: Sequence[Mapping[str, Any]], relative: RootRelative) -> None:
    """``ToolError`` naming the files and lines when the data records a run line that no code can run
    on in the file as it is (the probe's ``impossible_lines``): the data was written for other code,
    and its run lines would be counted against statements they never were."""
    from gatekeeper.checkers.coverage.patch import line_ranges

    impossible = []
    for entry in entries:
        never = [int(n) for n in entry.get("impossible_lines") or ()]
        if never:
            path = relative_path(root, str(entry["path"]), relative)
            ranges = line_ranges(never).split(", ")
            shown = ", ".join(ranges[:8]) + (" …" if len(ranges) > 8 else "")
            impossible.append(f"{path} line{'s' if len(never) > 1 else ''} {shown}")
    if impossible:
        shown = "; ".join(impossible[:5]) + (f"; and {len(impossible) - 5} more files" if len(impossible) > 5 else "")
        raise ToolError(
            "the coverage data does not fit the source: it records lines as run that no code can run on in the "
            f"files as they are now (past the end of the file, blank or only a comment): {shown}; the files changed "
            "after the data was written, so its figures would count old run lines against new code. Run the tests "
            "under coverage again on this checkout (or set checks.coverage.run)"
        )


def refuse_past_end(root: Path, report: CoverageReport, name: str) -> None:
    """``ToolError`` when the report ``name`` (``coverage.json``, Cobertura XML, which carry line
    numbers but no analysis of the current files) lists lines past the end of a measured file of the
    checkout as it is now: it was written for other code."""
    from gatekeeper.checkers.coverage.patch import line_ranges

    past = []
    for item in report.files:
        if Path(item.path).is_absolute() or not item.lines:
            continue
        try:
            with (root / item.path).open("rb") as handle:
                count = sum(1 for _ in handle)
        except OSError:
            continue
        beyond = sorted(n for n in item.lines if n > count)
        if beyond:
            past.append(f"{item.path} (lines {line_ranges(beyond)}; it has {count})")
    if past:
        raise ToolError(
            f"the coverage data does not fit the source: {name} reports lines past the end of "
            f"{'; '.join(past[:5])}{' …' if len(past) > 5 else ''}; the files changed after the report was written. "
            "Run the tests under coverage and write the report again on this checkout (or set checks.coverage.run)"
        )


def written_after(root: Path, report: CoverageReport, data_files: Sequence[Path]) -> CoverageReport:
    """``report`` with the measured files of the checkout modified after the oldest of ``data_files``
    was written (``newer_files``) and that time (``data_written``, UTC); as it is when no data file
    can be read."""
    times = []
    for path in data_files:
        try:
            times.append(path.stat().st_mtime_ns)
        except OSError:
            continue
    if not times:
        return report
    written = min(times)
    newer = []
    for item in report.files:
        if Path(item.path).is_absolute():
            continue  # outside the checkout: not the code under review
        try:
            if (root / item.path).stat().st_mtime_ns > written:
                newer.append(item.path)
        except OSError:
            continue
    when = dt.datetime.fromtimestamp(written / 1e9, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return dataclasses.replace(report, newer_files=tuple(newer), data_written=when)


def summary(report: CoverageReport) -> str:
    """The summary's words for data older than measured files of the checkout ("" when none is)."""
    count = len(report.newer_files)
    if not count:
        return ""
    shown = ", ".join(report.newer_files[:3]) + (f" and {count - 3} more" if count > 3 else "")
    return (
        f"{count} measured file{'s' if count > 1 else ''} changed after the coverage data was written ({shown}): "
        "the figures may not fit the code; run the tests again"
    )


def metric(report: CoverageReport) -> dict[str, Any] | None:
    """The ``stale`` metric: when the oldest data file read was written and the measured files
    changed since; None when none was."""
    if not report.newer_files:
        return None
    return {"data_written": report.data_written or None, "newer_files": list(report.newer_files)}
