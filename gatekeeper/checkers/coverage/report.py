"""What coverage data says, in coverage.py's terms (``CoverageReport``, ``FileCoverage``), and the
figures' arithmetic and wording as coverage.py has them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gatekeeper.fileio import RootRelative, relative_to_root
from gatekeeper.findings import Narrowing


def should_fail_under(total: float, fail_under: float, precision: int) -> bool:
    """coverage.py's own ``should_fail_under`` (imported when first needed: coverage takes ~0.1 s to import)."""
    from coverage.results import should_fail_under as coverage_should_fail_under

    return bool(coverage_should_fail_under(total, fail_under, precision))


def display_covered(pc: float, precision: int) -> str:
    """coverage.py's own ``display_covered``: a percentage rounded as ``coverage report`` shows it."""
    from coverage.results import display_covered as coverage_display_covered

    return str(coverage_display_covered(pc, precision))


CHECK = "coverage"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FileCoverage:
    """One measured file: its path (posix, relative to the root when inside it) and line sets."""

    path: str
    percent: float
    percent_exact: float
    statements: int
    missing: int
    lines: frozenset[int] = frozenset()
    missing_lines: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CoverageReport:
    """What a data file says, in coverage.py's terms."""

    source: str  # "coverage-data", "coverage-json" or "cobertura"
    data_file: str
    tool_version: str
    precision: int
    branch: bool
    total: float  # as `coverage report` displays it
    total_exact: float
    statements: int
    missing: int
    branches: int
    missing_branches: int
    files: tuple[FileCoverage, ...] = field(default=())
    cached: bool = False  # the analysis came from the cache
    cache_rejected: int = 0  # cache entries that failed authentication and were ignored
    files_reused: int = 0  # files whose earlier analysis was reused (``filecache``)
    fail_under: float = 0.0  # the coverage configuration's own fail_under, plugins applied (.coverage data)
    plugins: tuple[str, ...] = ()  # the coverage.py plugins the configuration loaded
    data_version: str = ""  # the coverage.py that wrote a .coverage file ("" when not known)
    narrowing: tuple[Narrowing, ...] = ()  # what the project's coverage configuration and comments narrowed
    note: str = ""  # what the summary should say about how the data came to be (e.g. workers not measured)
    #: the measured files of the checkout changed after the (oldest) data file was written, and its time
    newer_files: tuple[str, ...] = ()
    data_written: str = ""

    @property
    def version_gap(self) -> bool:
        """True when the data was written by another major.minor coverage.py than the one analysing it."""
        written, analysed = self.data_version.split(".")[:2], self.tool_version.split(".")[:2]
        return bool(self.data_version) and written != analysed


def covered_percent(numerator: int, denominator: int) -> float:
    """coverage.py's rule: nothing to measure counts as 100%."""
    return (100.0 * numerator / denominator) if denominator > 0 else 100.0


def shown_percent(value: float | None, precision: int) -> str:
    """A percentage at the report's precision, with its sign (``n/a`` for none)."""
    return "n/a" if value is None else f"{value:.{precision}f}%"


def number_text(value: float) -> str:
    """A policy's number as written (``80``, not ``80.0``)."""
    return f"{value:g}"


def relative_path(root: Path, name: str, relative: RootRelative | None = None) -> str:
    """A posix path relative to ``root`` when the file is inside it, else the absolute path.
    ``relative``: ``RootRelative(root)`` shared by many calls (each folder resolved once)."""
    path = Path(name)
    if not path.is_absolute():
        return PurePosixPath(*path.parts).as_posix()
    resolved = relative(path) if relative is not None else relative_to_root(path, root)
    if resolved is not None:
        return resolved
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
