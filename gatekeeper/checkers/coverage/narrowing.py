"""What the project's coverage configuration and comments narrow, as ``Narrowing`` records.

coverage.py reads its configuration from the project (``.coveragerc``, ``setup.cfg``, ``tox.ini``,
``pyproject.toml``: the file it found is the one named) and applies it as ``coverage report`` does:
``omit`` and ``include`` leave files out, ``exclude_lines`` / ``exclude_also`` patterns (and
``# pragma: no cover``) take lines and the blocks they start out of the count, ``partial_branches``
patterns excuse branches, ``ignore_errors`` drops files it cannot parse, ``[paths]`` counts the
measurements of files under one path as another's (each file it folded in is named). The probe
(``probe._narrowing``) says which settings differ from coverage.py's defaults and which measured
files the report left out; each file with lines the project excluded is one record with its count
and the patterns that excluded them (``probe._excluded_by``); lines only coverage.py's own default
patterns exclude (``...`` bodies, ``if TYPE_CHECKING:``) are counted beside, not as the project's.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gatekeeper.checkers.coverage.report import relative_path
from gatekeeper.errors import GatekeeperError
from gatekeeper.fileio import RootRelative
from gatekeeper.findings import Narrowing

#: where the project's environment imports each named package from (``packages.locations``)
Locate = Callable[[Sequence[str]], Mapping[str, Sequence[Path]]]
_GLOB = re.compile(r"[*?[]")

_MAX_DETAIL = 200
_SCOPE = (
    "[run] source", "[run] source_pkgs", "[run] omit", "[run] include", "[report] omit", "[report] include",
    "[report] ignore_errors",
)  # fmt: skip
_EFFECTS = {
    "[report] exclude_lines": "lines matching these patterns, and the blocks they start, are not counted",
    "[report] partial_branches": "branches on lines matching these patterns are not counted as partial",
    "[report] partial_branches_always": "branches on lines matching these patterns are not counted as partial",
}


def records(
    root: Path,
    answer: Mapping[str, Any],
    tracked: Callable[[], Sequence[str]],
    locate: Locate | None = None,
    relative: RootRelative | None = None,
) -> tuple[Narrowing, ...]:
    """The probe's ``narrowing`` and ``left_out`` and each file's excluded lines, as records; the
    tracked Python files (``tracked()``) that ``source`` / ``source_pkgs`` (the packages' folders
    found by ``locate``), ``omit`` / ``include`` leave out are among the files left out, and the
    tracked compiled sources coverage.py does not measure are a record of their own. ``relative``:
    ``RootRelative(root)``, shared (each folder resolved once)."""
    relative = relative or RootRelative(root)
    info = answer.get("narrowing") or {}
    configs = [relative_path(root, str(f), relative) for f in info.get("config_files") or []]
    source = configs[0] if len(configs) == 1 else ""
    out = [Narrowing("config-file", f, None, "", "coverage.py's configuration (as coverage report reads it)") for f in configs]
    settings: Mapping[str, Sequence[str]] = info.get("settings") or {}
    scope = [f"{key} = {', '.join(settings[key])}" for key in _SCOPE if key in settings]
    left_out = {relative_path(root, str(f), relative) for f in answer.get("left_out") or []}
    if any(key in settings for key in _SCOPE[:6]):
        matchers = info.get("matchers") if isinstance(info.get("matchers"), Mapping) else None
        base = _base(root, info)
        python_files = [f for f in tracked() if f.endswith(".py")]
        outside, unlocated, places = _outside_source(base, settings, python_files, locate, relative if base == root else None)
        reported = {relative_path(root, str(f["path"]), relative) for f in answer.get("files") or []}
        # a file the report lists is not left out, whatever source says: [paths] can map a copy
        # measured outside the source folders (an installed package) onto it
        left_out.update((outside | _unselected(base, settings, python_files, matchers)) - reported)
        unfound = _unfound(base, places, python_files, reported | left_out, relative if base == root else None)
    else:
        unlocated, unfound = "", []
    if scope or left_out:
        detail = "; ".join(scope) or "measured files the report does not list"
        effect = "coverage.py leaves these files out of the report and the total" + unlocated
        out.append(Narrowing("exclude", source, None, _cut(detail), effect, tuple(sorted(left_out))))
    if unfound:
        detail = f"{len(unfound)} tracked file(s) in the [run] source folders that the report does not list"
        out.append(Narrowing("not-scanned", source, None, detail, UNFOUND_EFFECT, tuple(unfound)))
    for key, effect in _EFFECTS.items():
        if key in settings:
            out.append(Narrowing("option", source, None, _cut(f"{key} = {', '.join(settings[key])}"), effect))
    if "[paths]" in settings:
        out.append(_remapping(root, source, settings["[paths]"], answer.get("remapped") or []))
    listed = {relative_path(root, str(f["path"]), relative) for f in answer.get("files") or []}
    return (*out, *compiled_records(tracked(), listed | left_out), *excluded_records(root, answer.get("files") or [], relative))


#: the suffixes of the C, C++ and Cython sources a project compiles into extension modules (headers
#: and Cython's .pxd declarations left aside): coverage.py measures Python alone, and a Cython
#: plugin, when one is configured, puts the .pyx files it measured in the report
COMPILED = (".c", ".cc", ".cpp", ".cxx", ".pyx", ".pxi")
#: what such a file's record says it did to the total
COMPILED_EFFECT = (
    "coverage.py measures Python code only: the lines of these compiled sources are in no figure, and the total "
    "is that of the Python files alone, as coverage report says"
)


def compiled_records(tracked: Sequence[str], listed: set[str]) -> tuple[Narrowing, ...]:
    """One ``not-scanned`` record for the tracked C / C++ / Cython sources (``COMPILED``) the report
    does not list (``listed``: the files it reports or leaves out by a setting already recorded)."""
    files = sorted(f for f in tracked if f.endswith(COMPILED) and f not in listed)
    if not files:
        return ()
    return (Narrowing("not-scanned", "", None, compiled_note(len(files)), COMPILED_EFFECT, tuple(files)),)


def compiled_note(count: int) -> str:
    """What the summary says of ``count`` tracked compiled sources coverage.py does not measure."""
    return f"{count} tracked C/C++/Cython source file{'' if count == 1 else 's'} not measured by coverage.py"


def unmeasured(records: Sequence[Narrowing]) -> str:
    """The note of the compiled sources' record among ``records`` ("" when there is none)."""
    return next((n.detail for n in records if n.kind == "not-scanned" and n.effect == COMPILED_EFFECT), "")


#: why coverage.py leaves a file of a ``[run] source`` folder out when no line of it ran
UNFOUND_EFFECT = (
    "coverage.py counts a file of a [run] source folder that never ran only when every folder between it and the "
    "source folder has an __init__.py (include_namespace_packages = false, the default) and its name is one Python "
    "imports: these files are in neither the report nor the total"
)


def _unfound(
    root: Path, places: Sequence[Path], files: Sequence[str], listed: set[str], relative: RootRelative | None
) -> list[str]:
    """Those of ``files`` inside ``places`` (the folders ``[run] source`` names, and those of the
    packages it names, located) that are not ``listed`` (reported, or left out by a setting already
    recorded): coverage.py's search for the files that never ran (``find_python_files``) passed over them."""
    rest = [f for f in files if f not in listed]
    if not places or not rest:
        return []
    real = _resolved(root, rest, relative or RootRelative(root))
    return sorted(f for f in rest if any(real[f].is_relative_to(place) for place in places))


def _remapping(root: Path, source: str, entries: Sequence[str], remapped: Sequence[Sequence[str]]) -> Narrowing:
    """The ``[paths]`` record: its entries, and the measured files it folded into others (what was
    executed in each is counted as the other's lines, and it is not reported itself)."""
    pairs = [(relative_path(root, str(a)), relative_path(root, str(b))) for a, b in remapped]
    moved = "; ".join(f"{a} -> {b}" for a, b in pairs[:5]) + ("; …" if len(pairs) > 5 else "")
    effect = (
        "coverage.py counts what it measured in files under an entry's later paths as measured in the files of "
        "its first path: such a file is not reported, and the lines it ran cover the other file's"
        + (f" ({moved})" if pairs else "")
    )
    return Narrowing("option", source, None, _cut("[paths] " + "; ".join(entries)), effect, tuple(sorted({a for a, _ in pairs})))


def excluded_records(
    root: Path, files: Sequence[Mapping[str, Any]], relative: RootRelative | None = None
) -> tuple[Narrowing, ...]:
    """A record per file (``path``, and ``excluded_lines`` or the analysis ``numbers``) with excluded lines."""
    relative = relative or RootRelative(root)
    return tuple(n for entry in files for n in _excluded(root, entry, relative))


def _unselected(
    root: Path, settings: Mapping[str, Sequence[str]], files: Sequence[str], matchers: Mapping[str, Any] | None = None
) -> set[str]:
    """Those of ``files`` that an ``omit`` matches or an ``include`` does not, matched as coverage.py
    matches them (``coverage.files.GlobMatcher``; a pattern not starting with a wildcard is also
    taken relative to the root). ``matchers``: the
    probe's regex of that matcher per setting (coverage.py is then not imported here, which costs
    more than the rest of the analysis of a warm run); without them, the matcher is built here."""

    def matcher(key: str) -> Any:
        if matchers is not None:
            spec = matchers.get(key)
            return re.compile(str(spec["pattern"]), int(spec["flags"])) if isinstance(spec, Mapping) else None
        from coverage.files import GlobMatcher

        patterns = [str(p) for p in settings.get(key) or []]
        prepped = [q for p in patterns for q in (p, *(() if p.startswith(("*", "?")) else (str(root / p),)))]
        return GlobMatcher(prepped) if prepped else None

    out: set[str] = set()
    for omit, include in (("[run] omit", "[run] include"), ("[report] omit", "[report] include")):
        omitting, including = matcher(omit), matcher(include)
        for f in files:
            path = str(root / f)
            if (omitting is not None and omitting.match(path)) or (including is not None and not including.match(path)):
                out.add(f)
    return out


def _base(root: Path, info: Mapping[str, Any]) -> Path:
    """The folder the probe matched and globbed the settings in (its working directory, the root)."""
    return Path(str(info["cwd"])) if isinstance(info.get("matchers"), Mapping) and info.get("cwd") else root


def source_packages(root: Path, info: Mapping[str, Any]) -> list[str]:
    """The packages ``records`` has ``locate`` find for the probe's ``narrowing`` (``info``), in the
    order it asks for them: ``[run] source_pkgs``, then each ``[run] source`` entry that is no folder."""
    settings: Mapping[str, Sequence[str]] = info.get("settings") or {}
    if not any(key in settings for key in _SCOPE[:6]):
        return []
    return _source_places(_base(root, info), settings)[1]


def _source_places(root: Path, settings: Mapping[str, Sequence[str]]) -> tuple[list[Path], list[str]]:
    """The folders ``[run] source`` names (a glob expanded as coverage.py expands it) and the
    packages it and ``source_pkgs`` name."""
    entries = [str(s) for s in settings.get("[run] source") or []]
    packages = [str(p) for p in settings.get("[run] source_pkgs") or []]
    places: list[Path] = []
    for entry in entries:
        for match in sorted(glob.glob(entry, root_dir=root, recursive=True)) if _GLOB.search(entry) else [entry]:
            if (root / match).is_dir():
                places.append((root / match).resolve())
            else:
                packages.append(match)
    return places, packages


def _outside_source(
    root: Path,
    settings: Mapping[str, Sequence[str]],
    files: Sequence[str],
    locate: Locate | None,
    relative: RootRelative | None = None,
) -> tuple[set[str], str, list[Path]]:
    """Those of ``files`` coverage.py does not measure under ``[run] source`` / ``source_pkgs``: outside
    every folder ``source`` names (a glob expanded as coverage.py expands it) and every package
    (``source_pkgs``, or a ``source`` entry that is no folder) where the project's environment imports
    it from (``locate``); and a note for the record when the packages could not be located (the
    files are then not listed: a partial list would name files coverage.py measures); and the
    folders found (``source``'s and the packages')."""
    if not settings.get("[run] source") and not settings.get("[run] source_pkgs"):
        return set(), "", []
    places, packages = _source_places(root, settings)
    if packages:
        if locate is None:
            return set(), "; the packages source names are not located here, so their files are not listed", places
        try:
            found = locate(packages)
        except GatekeeperError as exc:
            return set(), f"; the packages source names could not be located, so the files are not listed: {exc}", places
        places += [Path(p).resolve() for name in packages for p in found.get(name) or ()]
    if not places:
        return set(files), "", []
    real = _resolved(root, files, relative or RootRelative(root))  # each file once, not once per place
    return {f for f in files if not any(real[f].is_relative_to(place) for place in places)}, "", places


def _resolved(root: Path, files: Sequence[str], relative: RootRelative) -> dict[str, Path]:
    """Each of ``files`` (relative to ``root``) resolved, links followed, as ``Path.resolve`` gives it:
    a file inside the root by its folder resolved once (``RootRelative``), any other one by itself."""
    real_root = root.resolve()
    out: dict[str, Path] = {}
    for f in files:
        inside = relative(root / f)
        out[f] = (real_root if inside == "." else real_root / inside) if inside is not None else (root / f).resolve()
    return out


def _excluded(root: Path, entry: Mapping[str, Any], relative: RootRelative) -> list[Narrowing]:
    """One record for a file with lines the project excluded (their numbers when the analysis kept
    them), naming the patterns that excluded them. Lines that only coverage.py's own default
    patterns exclude (``...`` bodies, ``if TYPE_CHECKING:``) are not the project's doing: they are
    mentioned in its record, and a file with no others has none."""
    lines = [int(n) for n in entry.get("excluded_lines") or []]
    numbers = entry.get("numbers") or []
    count = len(lines) if lines else (int(numbers[2]) if len(numbers) > 2 else 0)
    if not count:
        return []
    path = relative_path(root, str(entry["path"]), relative)
    by = entry.get("excluded_by")
    if not lines or not isinstance(by, list) or not by:  # not known which pattern (coverage.json, a plugin's file)
        where = f" (line {_numbers(lines)})" if lines else ""
        effect = (
            "coverage.py does not count these lines: they match # pragma: no cover or another exclusion pattern "
            "(coverage.py's defaults included), or lie in a block such a line starts"
        )
        return [Narrowing("line-comments", path, lines[0] if lines else None, f"{count} lines excluded{where}", effect, (path,))]
    mine: dict[str, set[int]] = {}
    defaults: set[int] = set()
    for pattern, kind, excluded in by:
        if kind == "default":
            defaults.update(int(n) for n in excluded)
        else:
            mine[_pattern_name(str(pattern), str(kind))] = {int(n) for n in excluded}
    project = set().union(*mine.values())
    unexplained = set(lines) - project - defaults  # excluded only by patterns together: the project's too
    if unexplained:
        mine["the exclusion patterns together"] = unexplained
        project |= unexplained
    if not project:
        return []
    own = sorted(project)
    named = "; ".join(f"{len(n)} by {name}" for name, n in mine.items())
    also = len(set(lines) - project)
    more = f"; coverage.py's own defaults (... bodies, if TYPE_CHECKING:) exclude {also} more" if also else ""
    effect = "coverage.py does not count these lines: they match these patterns, or lie in a block such a line starts"
    detail = _cut(f"{len(own)} lines excluded (line {_numbers(own)}): {named}{more}")
    return [Narrowing("line-comments", path, own[0], detail, effect, (path,))]


def _pattern_name(pattern: str, kind: str) -> str:
    """How a record names an exclusion pattern: the comment, or the project's pattern as written."""
    return "# pragma: no cover" if kind == "pragma" else f"exclude pattern {pattern!r}"


def _numbers(lines: Sequence[int]) -> str:
    """The first ten line numbers, and an ellipsis for the rest."""
    return ", ".join(str(n) for n in lines[:10]) + (", …" if len(lines) > 10 else "")


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
