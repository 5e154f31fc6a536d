"""Helpers for the checkers that read a project's source files (lint, types, secrets).

The files git tracks, the files' bytes read once, and fingerprints that do not depend on line
numbers. (Which copy of a tool runs is ``CheckContext.tool``'s business: never the project's.)
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeGuard

from gatekeeper import process
from gatekeeper.checkers import cache
from gatekeeper.checkers.base import CheckContext, shard_record, split_by_size
from gatekeeper.errors import GatekeeperError, ToolError
from gatekeeper.fileio import inside, relative_to_root
from gatekeeper.findings import fingerprint, normalize_snippet

_LS_FILES = ("git", "-c", "core.quotepath=off", "ls-files", "-z", "--cached", "--recurse-submodules", "--", ".")


def tracked_files(root: Path, ctx: CheckContext, started: process.Started | None = None) -> list[str]:
    """The regular files git tracks under ``root`` (posix, relative), those of its checked-out submodules
    included (they are files of the checkout as much as any other: ruff and bandit, which walk the tree,
    read them); ``ToolError`` when it is not a git work tree. Listed once per run (the checkout is
    read-only to the gate) and shared between checkers. ``started``: that git run, begun earlier
    (``start_tracked``), whose output serves when the list is not known yet; the caller closes it."""
    return list(_tracked(root, ctx, started).files)


_LS_OTHERS = ("git", "-c", "core.quotepath=off", "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
_BYTECODE = re.compile(r"(?:^|/)__pycache__/[^/]+\.pyc\Z")


def untracked_files(root: Path, ctx: CheckContext) -> list[str]:
    """The regular files git does not track and does not ignore under ``root`` (``.gitignore``,
    ``.git/info/exclude``, ``core.excludesFile``), as the checkout's snapshot lists them: those under
    gatekeeper's own report and cache folders and Python's bytecode caches left out. Listed once per run."""
    return list(ctx.shared(f"untracked-files:{root}", lambda: _untracked_files(root, ctx)))


def _untracked_files(root: Path, ctx: CheckContext) -> tuple[str, ...]:
    done = ctx.run(_LS_OTHERS, timeout=120, cwd=root)
    if done.returncode != 0:
        raise ToolError(f"git ls-files failed in {root} (is it a git work tree?): {process.tail(done.stderr)}")
    own = tuple(
        rel + "/"
        for folder in (ctx.output_dir, ctx.cache_dir)
        if folder is not None and (rel := relative_to_root(folder, root)) not in (None, ".")
    )
    return tuple(
        sorted(
            name
            for name in set(done.stdout.split("\0"))
            if name and not name.startswith(own) and not _BYTECODE.search(name) and _regular(root / name)
        )
    )


def project_files(
    ctx: CheckContext, suffixes: str | Iterable[str] = (), *, paths: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[str]:
    """``CheckContext.project_files``: the files of the project as git sees it (``tracked_files`` and
    ``untracked_files``, links and files that are not regular left out), those whose name ends with
    one of ``suffixes`` (every file when none), under one of ``paths`` (relative folders or files,
    every file when none) and matching no pattern of ``exclude`` (``excluded``); sorted, relative,
    with ``/``. Each is named to ``ctx.reading``, so every file returned is compared until the run
    ends, whatever the snapshot covered. ``ToolError`` outside a git work tree, or for a path that
    is absolute or climbs out of the root."""
    ends = (suffixes,) if isinstance(suffixes, str) else tuple(suffixes)
    if not all(isinstance(end, str) and end for end in ends):
        raise ToolError(f"project_files: suffixes must be non-empty strings such as '.py', not {suffixes!r}")
    under: list[str] = []
    for path in (paths,) if isinstance(paths, str) else paths:
        if not isinstance(path, str) or not inside(path):
            raise ToolError(f"project_files: {path!r} is not a path relative to the project root")
        norm = PurePosixPath(os.path.normpath(path).replace(os.sep, "/")).as_posix()
        under.append("" if norm == "." else norm)
    patterns = [exclude] if isinstance(exclude, str) else list(exclude)
    everything = sorted(set(tracked_files(ctx.root, ctx)) | set(untracked_files(ctx.root, ctx)))
    out = [
        name
        for name in everything
        if (not ends or name.endswith(ends))
        and (not under or any(not u or name == u or name.startswith(u + "/") for u in under))
        and not excluded(name, patterns)
    ]
    ctx.reading(out)
    return out


def tracked_unnamed(root: Path, ctx: CheckContext) -> list[str]:
    """The regular files git tracks whose names are not UTF-8, each shown with its undecodable bytes
    as ``\\xNN``. ``tracked_files`` cannot name them (git's listing is read as UTF-8, which gives
    U+FFFD in place of those bytes, a name no file has), so a check that reads the tracked files
    must say that it left them out."""
    return list(_tracked(root, ctx).unnamed)


def named_as_listed(root: Path, listed: str) -> bytes | None:
    """The path (relative, as bytes) of the one file under ``root`` that a listing which decodes
    names as UTF-8 with U+FFFD in place of undecodable bytes (git's as read here, ruff's) calls
    ``listed``; None when no single file matches."""
    found = spelled_as(root, listed)
    return found[0] if len(found) == 1 else None


def spelled_as(root: Path, listed: str) -> list[bytes]:
    """Every path (relative, as bytes) under ``root`` that such a listing calls ``listed``: a file
    whose name holds U+FFFD itself, and each whose undecodable bytes read as U+FFFD there."""
    found = [b""]
    for part in PurePosixPath(listed).parts:
        deeper = []
        for here in found:
            folder = os.path.join(os.fsencode(root), here) if here else os.fsencode(root)
            try:
                names = [n for n in os.listdir(folder) if n.decode("utf-8", "replace") == part]
            except OSError:
                continue
            deeper += [os.path.join(here, n) if here else n for n in names]
        found = deeper
    return sorted(found)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Tracked:
    files: tuple[str, ...]  # ``tracked_files``
    unnamed: tuple[str, ...]  # ``tracked_unnamed``


def _tracked(root: Path, ctx: CheckContext, started: process.Started | None = None) -> _Tracked:
    return ctx.shared(f"tracked-files:{root}", lambda: _tracked_files(root, ctx, started))


def start_tracked(root: Path, ctx: CheckContext) -> process.Started | None:
    """The git run of ``tracked_files``, started now so that it lists the files while the caller does
    something else; None when it cannot start (``tracked_files`` then runs it and says why)."""
    try:
        ctx.refuse_program(_LS_FILES[0])  # as ``ctx.run`` vets the program it runs
        return process.Started(_LS_FILES, cwd=root, prefix="gatekeeper-git-")
    except GatekeeperError:
        return None


def _tracked_files(root: Path, ctx: CheckContext, started: process.Started | None = None) -> _Tracked:
    if started is not None:
        done = started.finish(min(120.0, ctx.remaining()), "git ls-files")
    else:
        done = ctx.run(_LS_FILES, timeout=120, cwd=root)
    if done.returncode != 0:
        raise ToolError(f"git ls-files failed in {root} (is it a git work tree?): {process.tail(done.stderr)}")
    out, unnamed = [], []
    listed = Counter(name for name in done.stdout.split("\0") if name)
    for name in sorted(listed):
        # a name that is not UTF-8, read as UTF-8: no file has it, or (listed twice) it stands for
        # one beside the file whose name holds U+FFFD itself, which must not be read in its place
        if "\ufffd" in name and (listed[name] > 1 or not os.path.lexists(root / name)):
            for actual in spelled_as(root, name):
                full = Path(os.fsdecode(os.path.join(os.fsencode(root), actual)))
                if actual != os.fsencode(name) and _regular(full):
                    unnamed.append(actual.decode("utf-8", "backslashreplace"))
        if os.path.lexists(root / name) and _regular(root / name):
            out.append(name)
    return _Tracked(tuple(out), tuple(unnamed))


def _regular(path: Path) -> bool:
    """A regular file, not a link: links may point outside the checkout, whose files are not ours to read."""
    return not path.is_symlink() and path.is_file()


def excluded(path: str, patterns: Iterable[str]) -> bool:
    """True when ``path`` (posix, relative) matches a glob or lies under a directory named in ``patterns``."""
    for pattern in patterns:
        pat = pattern.strip().strip("/")
        if not pat:
            continue
        if fnmatch.fnmatchcase(path, pat) or path.startswith(pat + "/") or fnmatch.fnmatchcase(path, pat + "/*"):
            return True
        if "/" not in pat and any(fnmatch.fnmatchcase(part, pat) for part in path.split("/")[:-1]):
            return True
    return False


class Sources:
    """The bytes of a project's files, read once per run: digests and lines."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._data: dict[str, bytes] = {}
        self._digests: dict[str, str] = {}
        self._lines: tuple[str, list[str]] = ("", [])  # the last file ``line`` split: findings come file by file

    def data(self, path: str) -> bytes:
        """The file's bytes (empty when it cannot be read)."""
        if path not in self._data:
            try:
                self._data[path] = (self.root / path).read_bytes()
            except OSError:
                self._data[path] = b""
        return self._data[path]

    def digest(self, path: str) -> str:
        """The sha256 of the file's bytes."""
        if path not in self._digests:
            self._digests[path] = hashlib.sha256(self.data(path)).hexdigest()
        return self._digests[path]

    def line(self, path: str, number: int | None) -> str:
        """Line ``number`` (1-based) of the file, or "" when there is none."""
        if not number or number < 1:
            return ""
        split, lines = self._lines
        if split != path:
            lines = self.data(path).decode("utf-8", "replace").splitlines()
            self._lines = (path, lines)
        return lines[number - 1] if number <= len(lines) else ""


def snippet_hash(text: str) -> str:
    """A short hash of a code line with whitespace folded (its text as it is: ``line_hash`` is the
    one a fingerprint takes)."""
    return hashlib.sha256(normalize_snippet(text).encode("utf-8", "surrogateescape")).hexdigest()[:16]


#: a word that names a credential (as ``redaction``'s ``password=...`` rule reads one; ``__author__`` is none)
_CREDENTIAL_WORD = re.compile(
    r"(?i)password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credential|auth(?!or)"
)
#: a string literal's body (quotes kept), or a number of four digits or more
_LITERAL = re.compile(r"""(?P<q>["'])(?:\\.|(?!(?P=q)).)*(?P=q)|\b\d{4,}\b""")


def masked_line(text: str) -> str:
    """``text`` (code) with every span that looks like a credential masked: by the rules that redact
    the reports (``redaction.redact``: a known token shape, ``password = "..."``, a URL's user-info,
    a long random-looking word, an environment secret's value), and on a line that names a credential
    (``password: str = "hunter2"``, ``if token == "abc"``, ``auth = ("user", "pin")``) every string
    literal's body and every number of four digits or more. An ordinary line comes back as it is."""
    from gatekeeper.redaction import MASK, redact

    out = redact(text)
    if _CREDENTIAL_WORD.search(out):
        out = _LITERAL.sub(lambda m: f"{m['q']}{MASK}{m['q']}" if m["q"] else MASK, out)
    return out


def line_hash(text: str) -> str:
    """The hash of a code line that a fingerprint takes: ``snippet_hash`` of ``masked_line``. A line
    that holds a credential no check flagged (``password = "hunter2"`` under ``--only lint``) is
    hashed without it, so that no dictionary recovers the credential from a report; an ordinary
    line's hash is ``snippet_hash``'s, as before."""
    return snippet_hash(masked_line(text))


def prior_prints(check: str, keys: Sequence[tuple[str, ...]], unmasked: Sequence[tuple[str, ...]]) -> dict[str, str]:
    """{fingerprint of ``keys``: the one ``unmasked`` (the same keys, each line hashed as it is)
    gives} where they differ: how a finding on a line ``line_hash`` masks was fingerprinted before
    lines were masked, for a baseline or REF result of then to cover it (``CheckResult.prior_prints``,
    kept in memory, never written)."""
    if keys == unmasked:
        return {}
    now, before = occurrence_fingerprints(check, keys), occurrence_fingerprints(check, unmasked)
    return {a: b for a, b in zip(now, before, strict=True) if a != b}


def occurrence_fingerprints(check: str, keys: Sequence[tuple[str, ...]]) -> list[str]:
    """A fingerprint per key (rule, path, code hash...), numbered when the same key occurs again.

    Line numbers are not part of a fingerprint, so a finding keeps it when code above it moves;
    a second identical finding in the same file gets a new one and is therefore new to a baseline.
    """
    seen: dict[tuple[str, ...], int] = {}
    out = []
    for key in keys:
        n = seen.get(key, 0)
        seen[key] = n + 1
        out.append(fingerprint(check, *key, n) if n else fingerprint(check, *key))
    return out


def options_digest(*parts: Any) -> str:
    """The sha256 of what besides a file decides a tool's verdict on it (versions, options, config bytes)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


#: the optional checkers and the module each one needs
OPTIONAL_TOOLS = {"lint": "ruff", "types": "mypy", "secrets": "detect_secrets"}
_FIND = "import importlib.util as u, json, sys; print(json.dumps({m: u.find_spec(m) is not None for m in sys.argv[1:]}))"


def installed_tools(python: str) -> list[str]:
    """The optional checkers (lint, types, secrets) whose tool the tool interpreter ``python`` has
    (where they run: never the project's environment). Used by ``policy init``; an interpreter that
    cannot be asked counts as having none."""
    try:
        done = process.run([python, "-I", "-c", _FIND, *OPTIONAL_TOOLS.values()], timeout=60)
        answer = json.loads(done.stdout) if done.returncode == 0 else {}
    except (ToolError, ValueError):
        answer = {}
    return sorted(check for check, module in OPTIONAL_TOOLS.items() if isinstance(answer, dict) and answer.get(module) is True)


def missing_modules(python: str, modules: Sequence[str]) -> list[str]:
    """Those of ``modules`` the interpreter ``python`` cannot import (all of them when it cannot be asked)."""
    if not modules:
        return []
    try:
        done = process.run([python, "-I", "-c", _FIND, *modules], timeout=60)
        answer = json.loads(done.stdout) if done.returncode == 0 else {}
    except (ToolError, ValueError):
        answer = {}
    return [m for m in modules if not (isinstance(answer, dict) and answer.get(m) is True)]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PerFileRun:
    """The outcome of a per-file tool run: results by file, and how many came from the cache."""

    files: list[str]  # this shard's files
    results: dict[str, list[dict[str, Any]]]
    cached: int
    rejected: int
    inputs: tuple[str, ...]  # files in every shard together

    def metrics(self, shard: tuple[int, int] | None) -> dict[str, Any]:
        """The cache counts, and under ``--shard`` which files this shard took (for ``merge``)."""
        out: dict[str, Any] = {"cached_files": self.cached, "cache_rejected": self.rejected}
        if shard is not None:
            out["shard"] = shard_record(shard, self.inputs, self.files)
        return out


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PerFileTool:
    """A tool that judges each file on its own, as ``run_per_file`` runs it.

    ``options`` is the digest of its versions, flags and config (part of every cache key);
    ``valid`` checks one cached result; ``scan`` runs the tool on up to ``batch`` files and
    returns their results by file.
    """

    check: str
    options: str
    valid: Callable[[Any], bool]
    scan: Callable[[list[str]], Mapping[str, list[dict[str, Any]]]]
    batch: int


def run_per_file(ctx: CheckContext, tool: PerFileTool, files_all: Sequence[str], sources: Sources) -> PerFileRun:
    """Run ``tool`` over this shard's share of ``files_all``.

    A file's result is cached under its content, path and the tool's options, kept either in an
    entry of its own or in the run's pack (every result of a run in one entry: one file to write
    and to read, not one per file). A run that found fewer than half its files in the last pack
    writes a new one (a cold run); otherwise each new result gets its own entry (a run with a few
    changed files). A result that fails its entry's checks or ``tool.valid`` is recomputed, never
    trusted, and counted as rejected (every file a refused pack would have served).
    """
    check, options, valid, scan, batch = tool.check, tool.options, tool.valid, tool.scan, tool.batch
    files = list(files_all)
    if ctx.shard is not None:
        files = split_by_size(files, {f: len(sources.data(f)) for f in files}, ctx.shard[1])[ctx.shard[0] - 1]
    folder = ctx.cache_dir / check if ctx.cache_dir is not None else None
    keys = {f: cache.cache_key(options, f, sources.digest(f)) for f in files}
    pack_key = cache.cache_key(options, "pack", list(ctx.shard or ()))
    pack, pack_refused = cache.read(folder, pack_key)
    packed = pack if isinstance(pack, dict) else {}
    pack_refused = pack_refused or (pack is not None and not isinstance(pack, dict))
    results: dict[str, list[dict[str, Any]]] = {}
    refused: set[str] = set()
    for f in files:
        payload = packed.get(keys[f])
        if _usable(payload, valid):
            results[f] = payload
            continue
        if payload is not None or pack_refused:
            refused.add(f)
        payload, bad = cache.read(folder, keys[f])
        if _usable(payload, valid):
            results[f] = payload
            refused.discard(f)
        elif payload is not None or bad:
            refused.add(f)
    from_pack = sum(1 for f in results if keys[f] in packed)
    cached = len(results)
    todo = [f for f in files if f not in results]
    fresh: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        found = scan(chunk)
        fresh.update((f, list(found.get(f, []))) for f in chunk)
    results.update(fresh)
    if 2 * from_pack < len(files):
        cache.write(folder, pack_key, {keys[f]: results[f] for f in files})
    else:
        for f, result in fresh.items():
            cache.write(folder, keys[f], result)
    return PerFileRun(files=files, results=results, cached=cached, rejected=len(refused), inputs=tuple(files_all))


def _usable(payload: Any, valid: Callable[[Any], bool]) -> TypeGuard[list[dict[str, Any]]]:
    """Whether a cached result is a list of items ``valid`` accepts."""
    return isinstance(payload, list) and all(valid(item) for item in payload)
