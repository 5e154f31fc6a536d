"""Each source file's coverage analysis, kept between runs and reused while nothing it depends on changed.

Analysing a ``.coverage`` data file is mostly parsing the source files (coverage.py tokenizes and
compiles each one to find its statements and branches). A new data file (a new test run, a pull
request) usually records the same lines for most files, so the probe re-analyses only the files
whose key changed: the key covers coverage.py's and Python's versions, the coverage configuration,
the file's name, its source bytes and what the data recorded for it (``probe._file_key``). The
entries of one root live in one cache entry, authenticated as a whole like every other
(``checkers.cache``): the probe is handed only entries this gatekeeper wrote, and each run stores
the analyses of exactly the files it reported, so the entry never grows beyond one report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gatekeeper.checkers import cache

#: runs the probe with a request and the bytes given on its stdin; returns its JSON answer
Probe = Callable[[Mapping[str, Any], bytes], dict[str, Any]]


def manifest_key(root: Path, probe_digest: str) -> str:
    """The cache key of the per-file analyses of the project at ``root`` made by this probe."""
    return cache.cache_key("coverage-files", probe_digest, str(root))


def analyse(folder: Path, key: str, request: Mapping[str, Any], probe: Probe) -> dict[str, Any]:
    """The probe's answer to ``request``, with the analyses stored under ``key`` in ``folder``
    offered for reuse; this run's analyses are stored in their place (unless they are the same).
    The answer says how many files were reused (``files_reused``), whether all of them were
    (``cached``) and whether the stored entry was rejected (``cache_rejected``)."""
    import json

    stored, rejected = cache.read(folder, key)
    known = stored if isinstance(stored, dict) else {}
    answer = probe({**request, "reuse": True}, json.dumps(known, separators=(",", ":")).encode("utf-8"))
    if not answer.get("ok"):
        return {**answer, "cache_rejected": int(rejected)}
    entries = _entries(answer)
    if entries != known:
        cache.write(folder, key, entries)
    files = answer.get("files") or []
    cached = bool(files) and answer.get("files_reused") == len(files)
    return {**answer, "cached": cached, "cache_rejected": int(rejected)}


def _entries(answer: Mapping[str, Any]) -> dict[str, Any]:
    """This answer's files by key (files without one, e.g. a plugin's, are left out)."""
    files = answer.get("files") or []
    keys = answer.get("file_keys") or []
    if len(files) != len(keys):
        return {}
    return {k: {n: v for n, v in f.items() if n != "path"} for k, f in zip(keys, files, strict=True) if isinstance(k, str)}
