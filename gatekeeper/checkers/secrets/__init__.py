"""Secrets with detect-secrets: every potential secret in a tracked file becomes a finding.

How a scan goes:

1. The files are those git tracks (``git ls-files --recurse-submodules``: a checked-out submodule's
   files too), so build outputs and virtualenvs are not scanned; the policy's ``exclude`` globs
   leave more out (and are reported). With ``--shard I/N`` only a share of them, balanced by bytes,
   is kept.
2. detect-secrets is taken from the tool interpreter (gatekeeper's own, or ``gate.tool_python``),
   never from the project (``CheckContext.tool`` refuses a copy inside the root or installed from
   it, and says where it came from); it runs with ``-I`` and its standard plugins and filters (or the
   policy's ``plugins``), with ``--no-verify`` so no secret is sent over the network to be checked (and offline: its
   ``requests`` is a stand-in that refuses every request, ``worker.py``).
   Its filters that skip whole files by name or extension (``.css``, ``.svg``, ``.lock``,
   ``poetry.lock``, ``package-lock.json``, ``*swagger*``...) are turned off: a tracked file is
   scanned whatever its name, and a file that is not UTF-8 is read with its undecodable bytes
   replaced (``worker.py``), where detect-secrets alone would skip it without a word.
   It reads no configuration from the checkout and executes none of it; it runs in the root only
   because its ``is_invalid_file`` filter looks files up relative to its working directory.
   It is started (``worker.py``) as the check starts while its version is not cached: it imports
   detect-secrets and says its version while the files are listed and hashed, then scans the first
   batch of files that need it (a larger run's further batches each get a worker of their own);
   once its version is cached (``_LazyWorker``) it starts only when a file must be scanned. When
   other checks run at the same time, a batch of fewer than ``SERIAL_BELOW_BYTES`` is scanned in
   that process, file after file, instead of in detect-secrets' process pool: the same scan, for
   less CPU.
3. Files whose result is cached (keyed by content, path, the tool's version and the plugins)
   are not scanned again.
4. A scan detect-secrets fails (it raised on a file, and so reported nothing) is an error; one more
   scan that goes on past such files (``worker.py``, ``"each"``) names them in it.

A finding carries the secret's type, file and line, and nothing derived from the secret: not
the secret, and not detect-secrets' ``hashed_secret`` (an unsalted SHA-1, from which a short or
common secret is recovered by trying candidates in seconds). That hash is used only inside the
check, to tell the results the allowlist pragmas hid from the others, and is dropped before a
result is cached. A finding's fingerprint is made of its type, file and place among the secrets of
that type in that file (``to_findings``).
``# pragma: allowlist secret`` and ``# pragma: whitelist secret`` comments (and ``allowlist
nextline``) narrow the scan: each file's pragmas are a ``Narrowing`` record, with the secrets they
hid counted by scanning that file again with detect-secrets' allowlist filter off. With
``project_config = "ignore"`` that filter is off for every file and no pragma is honoured.
"""

from __future__ import annotations

import functools
import json
import os
import re
import selectors
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gatekeeper import process
from gatekeeper.checkers import cache
from gatekeeper.checkers.base import OFF_BY_DEFAULT, PROJECT_CONFIG, CheckContext, CheckerBase, Display, honours_project
from gatekeeper.checkers.secrets import presentation
from gatekeeper.errors import ToolError, ToolMissing, ToolTimeout
from gatekeeper.fileio import tool_path
from gatekeeper.findings import CheckResult, Finding, Location, Narrowing, Severity, decide_status
from gatekeeper.options import Option
from gatekeeper.toolorigin import ToolOrigin

if TYPE_CHECKING:
    from gatekeeper.checkers import source


@functools.cache
def _allowlist() -> re.Pattern[bytes]:
    """detect-secrets' inline allowlisting, as its ``filters.allowlist`` reads it: ``pragma: allowlist secret``,
    the older ``pragma: whitelist secret``, and ``pragma: allowlist nextline secret``, after a comment sign."""
    return re.compile(rb"(?:#|//|/\*|'|--|<!--)[ \t#]*pragma: ?(?:(?:allow|white)list[ -]secret|allowlist[ -]nextline[ -]secret)")


#: detect-secrets' filters that skip whole files by name or extension (``filters.heuristic``): turned off
FILE_FILTERS = (
    "detect_secrets.filters.heuristic.is_non_text_file",
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_swagger_file",
)
#: detect-secrets' filter that honours the allowlist pragmas
ALLOWLIST_FILTER = "detect_secrets.filters.allowlist.is_line_allowlisted"
CHECK = "secrets"
CACHE_VERSION = 5  # 5: a cached result holds no hashed_secret
INSTALL = "pip install 'gatekeeper[secrets]' into gatekeeper's environment, or set gate.tool_python"
_WORKER = Path(__file__).with_name("worker.py")
#: the worker's first line is a short JSON object; more than this before a line break is not it
MAX_HELLO_BYTES = 4096
#: paths per detect-secrets command line, far below the OS argument limit
MAX_FILES_PER_RUN = 1000
#: When other checks run beside this one, a scan of fewer bytes than this runs in the worker's own
#: process, one file after another: detect-secrets' process pool (a process per CPU, each
#: rebuilding its plugins and filters, every result sent back) costs 0.06 s more CPU at 32 KB,
#: 0.3 s at 1 MB. Measured on two CPUs with all eight checks running (they keep both busy): one
#: process gave the secrets check the same or less time up to 430 KB, for 0.2 s less CPU. Alone,
#: the check keeps the pool, which then has the CPUs to itself: one process took 0.2 s longer on
#: 135 KB, 0.65 s on 430 KB.
SERIAL_BELOW_BYTES = 512 * 1024
_RESULT_KEYS = ("type", "line_number", "hashed_secret")
#: what a result keeps once scanned (and cached): the type and line, never a value derived from the secret
_KEPT_KEYS = frozenset({"type", "line_number", "allowlisted"})
#: detect-secrets' plugins' documentation, for a finding's help link
HELP_URI = "https://github.com/Yelp/detect-secrets#viewing-all-enabled-plugins"


class SecretsChecker(CheckerBase):
    """Runs detect-secrets over the tracked files and maps each potential secret to a blocking finding."""

    name = CHECK
    description = "secrets in tracked files (detect-secrets)"
    shardable = True
    options: Mapping[str, Option] = {
        "enabled": OFF_BY_DEFAULT,
        "exclude": Option("str_list", [], 'tracked paths or globs not to scan, e.g. ["tests/fixtures/*"]'),
        "plugins": Option("str_list", [], 'detect-secrets plugins to use, e.g. ["AWSKeyDetector"]; empty: all standard plugins'),
        "project_config": PROJECT_CONFIG,
    }

    tool = presentation.TOOL

    def display(self, result: CheckResult) -> Display:
        """Files scanned and potential secrets."""
        return presentation.display(result)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Scan (or reuse cached scans of) the tracked files; every potential secret is a blocking finding."""
        from gatekeeper.checkers import source

        tool = ctx.tool("detect_secrets", "detect-secrets", INSTALL)  # where it is, before anything of it runs
        cache.retire(ctx.cache_dir, CHECK, CACHE_VERSION)  # earlier versions cached detect-secrets' hash of each secret
        folder = ctx.cache_dir / CHECK if ctx.cache_dir is not None else None
        lazy = _LazyWorker(ctx, tool, folder)  # on a cold cache, detect-secrets imports while the files are read
        honour = honours_project(section)
        try:
            exclude = [str(p) for p in section.get("exclude") or []]
            tracked = source.tracked_files(ctx.root, ctx)
            left_out = [f for f in tracked if source.excluded(f, exclude)]
            files_all = [f for f in tracked if f not in set(left_out)]
            unnamed = source.tracked_unnamed(ctx.root, ctx)  # files detect-secrets cannot be given by name
            unnamed_kept = [f for f in unnamed if not source.excluded(f, exclude)]
            if unnamed_kept:
                raise ToolError(_unnamed(unnamed_kept))
            left_out += unnamed  # every one of them left out by the policy
            if not files_all:
                raise ToolError("no tracked files to scan for secrets (an empty check is not a pass)")
            sources = source.Sources(ctx.root)
            for f in files_all:  # read and hashed (for the cache keys) while detect-secrets imports
                sources.digest(f)
            base = [tool.python, "-I", "-m", "detect_secrets", "scan"]
            plugin_args = _plugin_args(ctx, base, [str(p) for p in section.get("plugins") or []], lazy)
            filters = [*FILE_FILTERS, *([] if honour else [ALLOWLIST_FILTER])]
            args = ["scan", "--no-verify", *plugin_args, *(a for f in filters for a in ("--disable-filter", f))]
            pragma_lines = _PragmaLines(sources)
            pragmas = {f for f in files_all if honour and pragma_lines(f)}

            def scan(chunk: list[str]) -> dict[str, list[dict[str, Any]]]:
                worker = lazy.started()  # raises _Stale when the started tool says otherwise than the cache
                try:
                    found = _scan(ctx, worker, [*args, *_paths(chunk)], _serial(chunk, sources, ctx))
                except _Failed as failed:  # say which files it fails on, so that the user can act
                    raise ToolError(_failure(failed, _culprits(ctx, worker.python, args, chunk))) from None
                again = [f for f in chunk if f in pragmas]
                if again:  # what the pragmas hid: the same files without the allowlist filter
                    unfiltered_args = [*args, "--disable-filter", ALLOWLIST_FILTER, *_paths(again)]
                    unfiltered = _scan(ctx, worker, unfiltered_args, _serial(again, sources, ctx))
                    for f in again:
                        kept = {_key(r) for r in found.get(f, [])}
                        hidden = [{**r, "allowlisted": True} for r in unfiltered.get(f, []) if _key(r) not in kept]
                        found.setdefault(f, []).extend(hidden)
                return {f: [_kept(r) for r in rs] for f, rs in found.items()}  # no hash of a secret goes further

            def per_file_run(hello: Mapping[str, Any]) -> source.PerFileRun:
                per_file_tool = source.PerFileTool(CHECK, _options(tool, hello, args), _valid, scan, MAX_FILES_PER_RUN)
                return source.run_per_file(ctx, per_file_tool, files_all, sources)

            hello = lazy.hello()
            try:
                per_file = per_file_run(hello)
            except _Stale as stale:  # nothing was scanned or cached under the cached hello's keys: once more
                hello = stale.hello
                per_file = per_file_run(hello)
            version, lenient = str(hello["version"]), hello.get("lenient") is True
        finally:
            lazy.close()
        files, results = per_file.files, per_file.results
        findings = to_findings({f: [r for r in rs if not r.get("allowlisted")] for f, rs in results.items()})
        narrowing = _pragma_narrowing(files, results, pragma_lines) if honour else []
        narrowing += _unscanned(ctx.root, files, sources, lenient)
        unscanned = {f for n in narrowing if n.kind == "not-scanned" for f in n.files}
        by_type: dict[str, int] = {}
        for finding in findings:
            by_type[finding.rule_name] = by_type.get(finding.rule_name, 0) + 1
        n = len(findings)
        scanned = len(files) - len(unscanned)
        summary = f"{n} potential secret{'s' if n != 1 else ''} in {scanned:,} tracked files"
        metrics: dict[str, Any] = {
            "files_scanned": scanned,
            "files_not_scanned": len(unscanned),
            "secrets": n,
            "by_type": dict(sorted(by_type.items())),
            "plugins": [str(p) for p in section.get("plugins") or []] or "all",
            "excluded_by_policy": {"count": len(left_out), "exclude": exclude},
            "project_config": "honour" if honour else "ignore",
            "tool_source": tool.source,
            "command": " ".join(["detect-secrets", *args]),
        }
        metrics.update(per_file.metrics(ctx.shard))
        return CheckResult(
            name=CHECK,
            status=decide_status(findings),
            summary=summary,
            tool_name="detect-secrets",
            tool_version=version,
            metrics=metrics,
            findings=tuple(findings),
            narrowing=tuple(narrowing),
        )


def _options(tool: ToolOrigin, hello: Mapping[str, Any], args: Sequence[str]) -> str:
    """The cache keys' options digest for the detect-secrets that said ``hello``, run with ``args``."""
    import hashlib

    from gatekeeper.checkers import source

    version, lenient = str(hello["version"]), hello.get("lenient") is True
    # the tool's origin is part of the key: what another copy claiming the same version wrote is not
    # reused; so is the worker's text, which decides how files are read (a changed reading is a new scan)
    reader = hashlib.sha256(_WORKER.read_bytes()).hexdigest()
    return source.options_digest(CACHE_VERSION, version, tool.describe(), lenient, reader, list(args))


def _serial(chunk: Sequence[str], sources: source.Sources, ctx: CheckContext) -> bool:
    """Whether to scan ``chunk`` without detect-secrets' process pool: other checks run beside this
    one and it is small (``SERIAL_BELOW_BYTES``)."""
    return ctx.checks_at_once > 1 and sum(len(sources.data(f)) for f in chunk) < SERIAL_BELOW_BYTES


def _paths(chunk: Sequence[str]) -> list[str]:
    return [f"./{f}" if f.startswith("-") else f for f in chunk]  # a file named "-x" is no option


def _key(r: Mapping[str, Any]) -> tuple[Any, ...]:
    return (r["type"], r["line_number"], r["hashed_secret"])


def _kept(r: Mapping[str, Any]) -> dict[str, Any]:
    """A scanned result as it is kept and cached: its type, line and whether a pragma hid it."""
    return {k: v for k, v in r.items() if k in _KEPT_KEYS}


class _PragmaLines:
    """The lines (1-based) of a file that hold an allowlist pragma, found once per file: the scan
    asks which files have any (to scan them again unfiltered), the narrowing records where they are.

    No part of ``_allowlist()`` matches a line break (``bytes.splitlines`` splits at ``\\n`` and
    ``\\r``) and it has no anchor or lookaround, so it matches in a file exactly when it matches in
    one of its lines: a file without a match anywhere (nearly every file) is searched once, whole,
    instead of line by line. A file in UTF-16 or UTF-32 is searched as detect-secrets reads it here
    (``worker.text_encoding``): in its own bytes no pragma matches, while the scan honours one.
    """

    def __init__(self, sources: source.Sources) -> None:
        self._sources = sources
        self._lines: dict[str, list[int]] = {}

    def __call__(self, path: str) -> list[int]:
        """The lines of ``path`` that hold a pragma."""
        found = self._lines.get(path)
        if found is None:
            data, pattern = self._sources.data(path), _allowlist()
            if _wide_text(data):
                from gatekeeper.checkers.secrets.worker import text_encoding

                data = data.decode(text_encoding(data[:4096]), "replace").encode("utf-8", "surrogateescape")
            found = []
            if pattern.search(data) is not None:
                found = [n for n, line in enumerate(data.splitlines(), start=1) if pattern.search(line)]
            self._lines[path] = found
        return found


def _pragma_narrowing(
    files: Sequence[str], results: Mapping[str, Sequence[Mapping[str, Any]]], pragma_lines: Callable[[str], list[int]]
) -> list[Narrowing]:
    """One record per file whose allowlist pragmas detect-secrets honoured, with the secrets they hid."""
    out = []
    for f in files:
        hidden = sum(1 for r in results.get(f, []) if r.get("allowlisted"))
        lines = pragma_lines(f)
        if not lines and not hidden:
            continue
        where = ", ".join(str(n) for n in lines[:10]) + (", …" if len(lines) > 10 else "")
        out.append(
            Narrowing(
                kind="line-comments",
                source=f,
                line=lines[0] if lines else None,
                detail=f"{len(lines)} × pragma: allowlist/whitelist secret (line {where})",
                effect="detect-secrets does not report a secret on (or after a nextline pragma, below) such a line",
                files=(f,),
                suppressed=hidden,
            )
        )
    return out


def _unscanned(root: Path, files: Sequence[str], sources: source.Sources, lenient: bool) -> list[Narrowing]:
    """Files detect-secrets could not read: unreadable ones, and when its reading could not be made
    lenient (``worker._lenient``), those in UTF-16 or UTF-32 (read as UTF-8, no pattern matches
    their text) and those that are not UTF-8, which it skips."""
    unreadable, undecodable, wide = [], [], []
    for f in files:
        try:
            with (root / f).open("rb"):
                pass
        except OSError:
            unreadable.append(f)
            continue
        if not lenient and _wide_text(sources.data(f)):
            wide.append(f)
            continue
        if not lenient:
            try:
                sources.data(f).decode("utf-8")
            except UnicodeDecodeError:
                undecodable.append(f)
    out = []
    if unreadable:
        out.append(
            Narrowing(
                "not-scanned",
                "",
                None,
                "unreadable",
                "gatekeeper and detect-secrets could not open these files",
                tuple(unreadable),
            )
        )
    if undecodable:
        out.append(
            Narrowing(
                "not-scanned",
                "",
                None,
                "not UTF-8",
                "this detect-secrets version skips a file that does not decode, and could not be made to read it leniently",
                tuple(undecodable),
            )
        )
    if wide:
        out.append(
            Narrowing(
                "not-scanned",
                "",
                None,
                "UTF-16 or UTF-32 text",
                "this detect-secrets version reads every file as UTF-8 and could not be made to read these in their "
                "encoding: with a NUL byte beside each character, no pattern matches their text",
                tuple(wide),
            )
        )
    return out


_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def _wide_text(data: bytes) -> bool:
    """Whether ``data`` is UTF-16 or UTF-32 text: a byte order mark, or (without one) a NUL in every
    other byte of its start and none between, as ASCII text in UTF-16 has."""
    if data.startswith(_WIDE_BOMS):
        return True
    sample = data[:4096]
    if len(sample) < 16:
        return False
    even, odd = sample[0::2], sample[1::2]
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    return (nul_odd > 0.9 and nul_even < 0.1) or (nul_even > 0.9 and nul_odd < 0.1)


class _Worker:
    """``worker.py`` in one interpreter: started at once, asked for its version, then for one scan."""

    def __init__(self, ctx: CheckContext, python: str) -> None:
        self.python = python
        self.fresh = True  # it has not scanned yet (it scans once)
        self._deadline = ctx.deadline
        self._out = b""
        self._stderr: IO[bytes] = tempfile.TemporaryFile(prefix="gatekeeper-detect-secrets-")
        try:
            self._proc = process.spawn(_worker_args(python), cwd=ctx.root, stderr=self._stderr)
        except BaseException:
            self._stderr.close()
            raise

    @classmethod
    def start(cls, ctx: CheckContext, python: str) -> _Worker | None:
        """A worker in ``python``, or None when that interpreter does not exist."""
        try:
            return cls(ctx, python)
        except ToolMissing:
            return None

    def hello(self) -> dict[str, Any]:
        """Its first line: ``{"version": ...}`` or ``{"missing": ...}``; ``ToolError`` for anything else."""
        stdout = self._proc.stdout
        assert stdout is not None  # noqa: S101  # nosec B101: spawned with a pipe
        with selectors.DefaultSelector() as selector:
            selector.register(stdout.fileno(), selectors.EVENT_READ)
            while b"\n" not in self._out and len(self._out) <= MAX_HELLO_BYTES:
                left = self._deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.close(kill=True)
                    raise ToolTimeout(f"detect-secrets in {self.python} did not start before the check's timeout and was killed")
                chunk = os.read(stdout.fileno(), 65536)
                if not chunk:
                    break
                self._out += chunk
        line, _, self._out = self._out.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("version", answer.get("missing")), str):
            code, err = self.close(wait=2.0)  # its input closed: a moment to exit on its own, for its exit code
            said = process.tail(err or line.decode("utf-8", "replace")) or "no output"
            raise ToolError(f"detect-secrets could not be started in {self.python} (exit {code}): {said}")
        return answer

    def scan(self, args: Sequence[str], serial: bool) -> process.Completed:
        """detect-secrets on ``args``, as ``python -I -m detect_secrets ARGS`` would run (``serial``:
        without its process pool); the worker ends with it."""
        self.fresh = False
        started = time.monotonic()
        request = _request(args, serial)
        try:  # communicate() reads the pipe itself, past what hello() took from it
            out, _ = self._proc.communicate(request, timeout=max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.close(kill=True)
            raise ToolTimeout("detect-secrets did not finish before the check's timeout and was killed") from None
        code, err = self.close()
        stdout = (self._out + out).decode("utf-8", "replace")
        argv = (self.python, "-I", "-m", "detect_secrets", *args)
        return process.Completed(args=argv, returncode=code, stdout=stdout, stderr=err, duration_s=time.monotonic() - started)

    def close(self, *, kill: bool = False, wait: float = 10.0) -> tuple[int, str]:
        """End it: its input is closed (one not asked to scan then exits at once), and it is killed
        when ``kill`` or still running after ``wait`` seconds; its exit code and stderr."""
        if self._stderr.closed:
            return self._proc.returncode or 0, ""
        try:
            code = process.release(self._proc, kill=kill, timeout=wait)
            self._stderr.seek(0)
            return code, process.tail(self._stderr.read().decode("utf-8", "replace"))
        finally:
            self._stderr.close()


class _Stale(Exception):
    """The detect-secrets started for a scan said another version than the cached hello: its answer."""

    def __init__(self, hello: dict[str, Any]) -> None:
        super().__init__()
        self.hello = hello


class _LazyWorker:
    """The check's ``_Worker``: started at once when its hello (version, lenient reading) is not in
    the cache, so that detect-secrets imports while the files are read; otherwise only when a file
    must be scanned, so that a run whose every result is cached starts no detect-secrets at all.

    The cached hello is keyed by where the tool is (``ToolOrigin``, located and vetted before this),
    its distribution's version, the identity (``cache.file_stamp``) of the package files the hello
    comes from, and this worker's source; an entry that fails the cache's checks is not used.
    """

    def __init__(self, ctx: CheckContext, tool: ToolOrigin, folder: Path | None) -> None:
        self._ctx, self._python, self._folder = ctx, tool.python, folder
        self._key = cache.cache_key("hello", CACHE_VERSION, tool.version, tool.describe(), _stamp(tool.path))
        payload, _ = cache.read(folder, self._key)
        self._known: dict[str, Any] | None = payload if _valid_hello(payload) else None
        self._worker = _Worker.start(ctx, tool.python) if self._known is None else None
        self._said: dict[str, Any] | None = None

    def hello(self) -> dict[str, Any]:
        """The tool's first line: from the cache, or from the worker started at once (then cached)."""
        if self._known is not None:
            return self._known
        self._worker, said = _located(self._ctx, self._worker, [self._python])
        self._said = said
        cache.write(self._folder, self._key, said)
        return said

    def started(self) -> _Worker:
        """The worker, started now if it was not; ``_Stale`` (once) when its hello is not the cached one."""
        if self._worker is None:
            self._worker, self._said = _located(self._ctx, _Worker.start(self._ctx, self._python), [self._python])
        if self._known is not None and self._said is not None and _hello_key(self._said) != _hello_key(self._known):
            self._known = None
            cache.write(self._folder, self._key, self._said)
            raise _Stale(self._said)
        return self._worker

    def remembered(self, name: str) -> Any:
        """What was stored as ``name`` for this detect-secrets (``remember``), or None."""
        return cache.read(self._folder, cache.cache_key(self._key, name))[0]

    def remember(self, name: str, value: Any) -> None:
        """Store ``value`` as ``name`` for this detect-secrets (keyed as its hello is)."""
        cache.write(self._folder, cache.cache_key(self._key, name), value)

    def close(self) -> None:
        """End the worker, if one was started."""
        if self._worker is not None:
            self._worker.close()


def _hello_key(hello: Mapping[str, Any]) -> tuple[str, bool]:
    return str(hello.get("version")), hello.get("lenient") is True


def _valid_hello(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("version"), str) and isinstance(payload.get("lenient"), bool)


def _stamp(module_file: str) -> list[Any]:
    """The identity (``cache.file_stamp``) of detect-secrets' files the hello depends on (its version,
    the scanner it makes lenient; the plugins folder, changed when a plugin is added or removed),
    and the worker's own source: an edit to any of them is a new hello."""
    folder = Path(module_file).parent
    files = (Path(module_file), folder / "__version__.py", folder / "core" / "scan.py", folder / "plugins")
    return [_WORKER.read_text(encoding="utf-8"), *(cache.file_stamp(path) for path in files)]


def _located(ctx: CheckContext, worker: _Worker | None, candidates: Sequence[str]) -> tuple[_Worker, dict[str, Any]]:
    """The first candidate interpreter's worker that has detect-secrets, and its first line
    (``version``, ``lenient``); ``ToolMissing`` when none has."""
    tried = []
    for n, python in enumerate(candidates):
        if n:
            worker = _Worker.start(ctx, python)
        if worker is None:
            tried.append(python)
            continue
        answer = worker.hello()
        if "version" in answer:
            return worker, answer
        worker.close()
        tried.append(python)
    raise ToolMissing(f"detect_secrets is not installed in {' nor in '.join(tried)} ({INSTALL})")


def _scan(ctx: CheckContext, worker: _Worker, args: Sequence[str], serial: bool) -> dict[str, list[dict[str, Any]]]:
    """detect-secrets' results for ``args``: the started worker's scan, or a worker of its own after
    that (every scan runs through ``worker.py``, so that every file is read the same way);
    ``serial``: in the worker's own process, without detect-secrets' process pool."""
    if worker.fresh:
        return _parsed(worker.scan(args, serial))
    done = ctx.run(_worker_args(worker.python), stdin=_request(args, serial))
    _, _, report = done.stdout.partition("\n")  # its first line is its hello
    return _parsed(process.Completed(done.args, done.returncode, report, done.stderr, done.duration_s))


def _worker_args(python: str) -> list[str]:
    """The command line of ``worker.py`` in ``python`` (isolated: the root is not on its path)."""
    return [python, "-I", "-c", _WORKER.read_text(encoding="utf-8")]


def _request(args: Sequence[str], serial: bool, *, each: bool = False) -> bytes:
    """The worker's request line (``worker.py``); ``each``: go on past a file it fails on, naming it."""
    asked: dict[str, Any] = {"args": list(args), "serial": serial}
    if each:
        asked["each"] = True
    return json.dumps(asked).encode("utf-8") + b"\n"


class _Failed(ToolError):
    """detect-secrets exited with an error (it ran: not a timeout, not a missing tool)."""

    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(f"detect-secrets failed (exit {returncode}): {_raised(stderr)}")
        self.returncode, self.stderr = returncode, stderr


def _raised(stderr: str) -> str:
    """What detect-secrets' ``stderr`` says it raised, by the exception's name alone (a traceback's
    last line, up to its colon): the text after it may quote the file it was scanning, a secret
    included (a YAML error shows the line it stopped at)."""
    for line in reversed(stderr.strip().splitlines()):
        name = line.partition(":")[0].strip()
        if re.fullmatch(r"[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)", name):
            return f"it raised {name} (its message is not shown: it may quote the file; run detect-secrets by hand to see it)"
    return "no exception named on its stderr (not shown: it may quote a file; run detect-secrets by hand to see it)"


def _parsed(done: process.Completed) -> dict[str, list[dict[str, Any]]]:
    if done.returncode != 0:
        raise _Failed(done.returncode, done.stderr)
    return parse_output(done.stdout)


def _culprits(ctx: CheckContext, python: str, args: Sequence[str], files: Sequence[str]) -> list[tuple[str, str]]:
    """The files of ``files`` (on which detect-secrets just failed) that it fails on, each with the
    type of what it raised: one more scan, in one process, that goes on past such a file
    (``worker.py``, ``"each"``). Empty when it fails on none of them alone, or when that scan
    cannot say (it failed itself, or ran out of time)."""
    try:
        done = ctx.run(_worker_args(python), stdin=_request([*args, *_paths(files)], True, each=True))
    except ToolError:
        return []
    found = []
    for line in done.stderr.splitlines():
        head, _, said = line.partition("gatekeeper-failed: ")
        if head or not said:
            continue
        try:
            failed = json.loads(said)
            found.append((str(failed["file"]).removeprefix("./"), str(failed["error"])))
        except (ValueError, TypeError, KeyError):
            return []
    return sorted(set(found)) if done.returncode == 0 else []


def _failure(failed: _Failed, culprits: Sequence[tuple[str, str]]) -> str:
    """The check's error: the files detect-secrets fails on and what it raised, and what to do."""
    if not culprits:
        return str(failed)
    named = ", ".join(f"{path} ({error})" for path, error in culprits)
    listed = ", ".join(json.dumps(path) for path, _ in culprits)
    count = f"{len(culprits)} tracked file{'s' if len(culprits) != 1 else ''}"
    return (
        f"detect-secrets failed (exit {failed.returncode}) on {count}: {named}. They were not scanned for "
        "secrets, so the check cannot pass; after reviewing them by hand, leave them out with "
        f"checks.secrets.exclude = [{listed}] (the report counts them in excluded_by_policy)"
    )


def _unnamed(files: Sequence[str]) -> str:
    """The check's error when tracked files have names that are not UTF-8 (shown with ``\\xNN``):
    they cannot be named to detect-secrets, so they were not scanned."""
    listed = ", ".join(json.dumps(path) for path in files)
    return (
        f"{len(files)} tracked file(s) whose names are not UTF-8 ({', '.join(files)}) cannot be named to "
        "detect-secrets: not scanned for secrets, so the check cannot pass; rename them, or after reviewing them "
        f"by hand leave them out with checks.secrets.exclude = [{listed}]"
    )


def _plugin_args(ctx: CheckContext, base: Sequence[str], wanted: Sequence[str], lazy: _LazyWorker) -> list[str]:
    """``--disable-plugin`` for every standard plugin the policy does not name (none when it names none);
    the plugins detect-secrets has are asked once and cached beside its hello (``_LazyWorker``)."""
    if not wanted:
        return []
    available = lazy.remembered("plugins")
    if not (isinstance(available, list) and available and all(isinstance(p, str) for p in available)):
        done = ctx.run([*base, "--list-all-plugins"], timeout=60)
        if done.returncode != 0:
            raise ToolError(f"detect-secrets --list-all-plugins failed (exit {done.returncode}): {process.tail(done.stderr)}")
        available = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        lazy.remember("plugins", available)
    unknown = [p for p in wanted if p not in available]
    if unknown:
        raise ToolError(
            f"checks.secrets.plugins names {', '.join(unknown)}, which detect-secrets does not have "
            f"(available: {', '.join(available)})"
        )
    return [arg for p in available if p not in wanted for arg in ("--disable-plugin", p)]


def parse_output(text: str) -> dict[str, list[dict[str, Any]]]:
    """detect-secrets' results by file: type, line and its hash of the secret, which the check uses
    in memory only (``_kept`` drops it); ``ToolError`` when unreadable."""
    try:
        data = json.loads(text)
        out: dict[str, list[dict[str, Any]]] = {}
        for name, items in data["results"].items():
            path = tool_path(str(name))
            for r in items:
                if not _reported(r):
                    raise ValueError(f"a result lacks one of {', '.join(_RESULT_KEYS)}")
                out.setdefault(path, []).append(
                    {"type": str(r["type"]), "line_number": int(r["line_number"]), "hashed_secret": str(r["hashed_secret"])}
                )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # never echo the output itself: it is about secrets
        raise ToolError(f"detect-secrets printed output that is not its JSON report ({type(exc).__name__})") from None
    return out


def _reported(r: Any) -> bool:
    """Whether ``r`` is one of detect-secrets' results as its JSON report gives them."""
    return isinstance(r, dict) and all(k in r for k in _RESULT_KEYS) and isinstance(r.get("line_number"), int)


def _valid(r: Any) -> bool:
    """Whether ``r`` is a result as ``_kept`` keeps it (what the cache may give back)."""
    return (
        isinstance(r, dict)
        and r.keys() <= _KEPT_KEYS
        and isinstance(r.get("type"), str)
        and type(r.get("line_number")) is int
        and r.get("allowlisted", True) is True
    )


def _rule_id(kind: str) -> str:
    return "secret." + "-".join(kind.lower().split())


def to_findings(results: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Finding]:
    """One blocking finding per potential secret, its fingerprint made of the check, the secret's
    type, its file and its place among the secrets of that type in that file (the first has none,
    the second ``1``...), never of the secret: any digest of it, salted or slow, would let whoever
    reads a report or baseline confirm guesses of a short or common secret. Line numbers are not
    part of it either, so a secret keeps its fingerprint when lines above it move; two secrets of
    one type on one line are two findings with two fingerprints."""
    from gatekeeper.checkers import source

    ordered = [(path, r) for path in sorted(results) for r in sorted(results[path], key=lambda r: (r["line_number"], r["type"]))]
    prints = source.occurrence_fingerprints(CHECK, [(_rule_id(str(r["type"])), p) for p, r in ordered])
    findings = []
    for (path, r), fp in zip(ordered, prints, strict=True):
        kind = str(r["type"])
        findings.append(
            Finding(
                rule_id=_rule_id(kind),
                severity=Severity.HIGH,
                message=f"potential secret ({kind}) in {path}:{r['line_number']}; rotate it and remove it",
                blocking=True,
                location=Location(path, line=int(r["line_number"])),
                fingerprint=fp,
                help_uri=HELP_URI,
                rule_name=kind,
                tags=("security", "secret"),
                properties={"secret_type": kind, "cwe": "CWE-798"},
            )
        )
    return findings
