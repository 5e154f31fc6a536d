"""Analyse a ``.coverage`` data file with coverage.py's own reporting code; print one JSON document.

Run by the coverage checker as ``python -I -c <this source> REQUEST_JSON`` with the project's root
as the working directory, so that coverage.py finds the project's configuration (.coveragerc,
setup.cfg, tox.ini, pyproject.toml) exactly as ``coverage report`` would. It imports nothing from
gatekeeper: the interpreter only needs coverage.py. Each source file is analysed once, and the
same analysis gives the total (``coverage report``'s TOTAL row), the per-file numbers and the
line sets that patch coverage needs.

Output: ``{"ok": true, ...}`` or ``{"ok": false, "kind": ..., "message": ...}`` on stdout.

Started without a request (``python -I -c <this source>``), it imports coverage.py at once and then
waits for its request, the first line of stdin (what follows is the reuse entries below): the
checker starts it while the tests run, so that only the work is left once they end. It reads the
coverage configuration and data only after the request arrives; closed unasked, it prints nothing.

A ``"combine"`` request with ``"analyse": true`` combines, saves, and then analyses the combined
file with a fresh ``coverage.Coverage`` (as a second probe would): one process where two ran. A
failure of the combine says ``"stage": "combine"``. With ``"announce": true`` as well, the
configuration's ``narrowing`` is printed on a line of its own as soon as it is read (before any
plugin loads), ahead of the answer: the caller locates the packages ``[run] source`` names meanwhile.

With ``"reuse": true`` in the request, stdin holds a JSON object of earlier per-file analyses by key
(already authenticated by the caller). A file's key (``_file_key``) covers everything its analysis
depends on: coverage.py's and Python's versions, the configuration, the file's name, its source
bytes and what the data recorded for it. A file whose key is there is not parsed again: its
numbers and line sets are taken as they were; every file's key is returned (``file_keys``) so the
caller can store this run's analyses.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sys
from typing import Any


def _fail(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "kind": kind, "message": message, "python": sys.executable, "python_version": sys.version.split()[0]}


def _load_plugins(cov: Any, named: list[str], request: dict[str, Any]) -> dict[str, Any] | None:
    """Load the coverage.py plugins the configuration names, when the policy allows every one of
    them, from the folders ``plugin_paths`` lists (the project's environment, after this
    interpreter's own); the refusal naming them otherwise. A plugin is code: only the policy may
    let it run."""
    if not named:
        return None
    allowed = set(request.get("allowed_plugins") or [])
    refused = [name for name in named if name not in allowed]
    if refused:
        return _fail("plugins", ", ".join(refused))
    for folder in request.get("plugin_paths") or []:
        if folder not in sys.path:
            sys.path.append(folder)
    try:
        cov._init()  # imports the plugins and lets them configure coverage, as `coverage report` does
    except ImportError as exc:
        return _fail("plugin_import", f"{exc.name or exc}: {exc}")
    except Exception as exc:  # a plugin's own failure, whatever it raises
        return _fail("plugin_import", f"{type(exc).__name__}: {exc}")
    return None


def analyse(request: dict[str, Any]) -> dict[str, Any]:
    """Load the data file named in ``request`` and analyse every file ``coverage report`` would."""
    import sqlite3

    import coverage
    from coverage.exceptions import CoverageException, NoDataError

    mode = request.get("mode", "analyse")
    data_file = request.get("data_file") or None
    try:
        # data_file=None would mean "no data file": leave the default so the configuration decides
        cov = coverage.Coverage(data_file=data_file, config_file=True) if data_file else coverage.Coverage(config_file=True)
    except CoverageException as exc:
        return _fail("config", f"coverage configuration is invalid: {exc}")
    config = cov.config
    # coverage.py opens the file the configuration's debug_file names (environment variables
    # expanded: ${GITHUB_ENV}, ~/.bashrc) when it starts, and writes its debug output there: the
    # analysis never writes where the checkout says, so debugging is off before anything starts
    config.debug, config.debug_file = [], None
    named = [str(p) for p in config.plugins]
    base = {
        "ok": True,
        "precision": int(config.precision),
        "data_file": os.path.abspath(config.data_file),
        "version": coverage.__version__,
        "plugins": named,
        "fail_under": float(config.fail_under),
        "narrowing": _narrowing(config),
    }
    if mode == "config":
        return base  # reading the configuration imports no plugin
    if request.get("announce"):  # the caller acts on the configuration while the data is combined and analysed
        sys.stdout.write(json.dumps({"narrowing": base["narrowing"]}) + "\n")
        sys.stdout.flush()
    refused = _load_plugins(cov, named, request)
    if refused is not None:
        return refused
    precision = int(config.precision)  # plugins may change the settings (covdefaults sets fail_under)
    base.update({"precision": precision, "fail_under": float(config.fail_under)})
    if mode == "combine":
        try:
            if request.get("append"):
                cov.load()  # the run's own .coverage, next to its parallel files
            if config.paths:  # the combine applies [paths]: say now what it maps, which its output no longer shows
                base["remapped"] = _remapped(cov, _combined_files(config.data_file, request.get("data_paths")))
            cov.combine(data_paths=request.get("data_paths") or None, keep=False)
            cov.save()
        except NoDataError:
            pass  # nothing to combine: the run wrote one data file, not parallel ones
        except CoverageException as exc:
            return _fail("data", f"coverage combine failed: {exc}")
        return base
    path = config.data_file
    if not os.path.exists(path):
        return _fail("missing", f"no coverage data file at {path}")
    try:
        cov.load()
        data = cov.get_data()
        measured = sorted(data.measured_files())
        has_arcs = bool(data.has_arcs())
    except (CoverageException, sqlite3.Error) as exc:  # coverage.py lets some SQLite errors through unwrapped
        detail = str(exc) if isinstance(exc, CoverageException) else f"{type(exc).__name__}: {exc}"
        return _fail("corrupt", f"cannot read coverage data {path}: {detail}")
    nothing = _measured_nothing(data, measured, path)
    if nothing is not None:
        return nothing
    base["data_version"] = _writer_version(path)
    base["remapped"] = _remapped(cov, measured)
    cov._prepare_data_for_reporting()  # applies [paths] remapping, as `coverage report` does
    mapped = sorted(cov.get_data().measured_files())
    present = [f for f in mapped if os.path.exists(f)]
    if not present:
        return _fail(
            "foreign",
            f"the coverage data {path} was measured in another source tree: none of its {len(mapped)} files exist here "
            f"(e.g. {mapped[0]})",
        )
    known = json.load(sys.stdin) if request.get("reuse") else None
    answer = _report(cov, precision, has_arcs, base, known if isinstance(known, dict) else None)
    if answer.get("ok"):  # measured files of this tree that the report leaves out (omit, include, ignore_errors)
        reported = {f["path"] for f in answer["files"]}
        answer["left_out"] = sorted(p for p in map(os.path.abspath, present) if p not in reported)
    return answer


def _combined_files(data_file: str, data_paths: Any) -> list[str]:
    """The files measured in the parallel data files ``coverage combine`` would read (one it cannot
    read is skipped, as the combine skips it with a warning)."""
    import sqlite3

    from coverage.data import CoverageData, combinable_files
    from coverage.exceptions import CoverageException

    measured: set[str] = set()
    for name in combinable_files(os.path.abspath(data_file), data_paths or None):
        data = CoverageData(name)
        try:
            data.read()
            measured.update(data.measured_files())
        except (CoverageException, sqlite3.Error):
            continue
        finally:
            close = getattr(data, "close", None)  # coverage.py 7.4 has none
            if close is not None:
                close()
    return sorted(measured)


def _remapped(cov: Any, measured: list[str]) -> list[list[str]]:
    """Each measured file that ``[paths]`` maps to another file, with that file: coverage.py counts
    its measurements as the other file's (``combine`` and ``report`` both apply the mapping), so the
    file itself is not reported and its executed lines cover the other's. Empty without ``[paths]``."""
    if not cov.config.paths:
        return []
    aliases = cov._make_aliases()
    out = []
    for name in measured:
        mapped = aliases.map(name)
        if os.path.normcase(os.path.abspath(mapped)) != os.path.normcase(os.path.abspath(name)):
            out.append([name, mapped])
    return out


def _narrowing(config: Any) -> dict[str, Any]:
    """What the project's coverage configuration narrows: the file its settings came from, and each
    setting that makes the report count less (omit, include, exclusion and partial-branch patterns
    beyond coverage.py's defaults, ``ignore_errors``), as written."""
    from coverage import config as defaults

    def added(patterns: Any, default: list[str]) -> list[str]:
        return [str(p) for p in patterns or [] if p not in default]

    settings = {
        "[run] omit": [str(p) for p in config.run_omit or []],
        "[run] include": [str(p) for p in config.run_include or []],
        "[run] source": [str(p) for p in config.source or []],
        "[run] source_pkgs": [str(p) for p in config.source_pkgs or []],
        "[report] omit": [str(p) for p in config.report_omit or []],
        "[report] include": [str(p) for p in config.report_include or []],
        "[report] exclude_lines": added(config.exclude_list, defaults.DEFAULT_EXCLUDE),
        "[report] partial_branches": added(config.partial_list, defaults.DEFAULT_PARTIAL),
        "[report] partial_branches_always": added(config.partial_always_list, defaults.DEFAULT_PARTIAL_ALWAYS),
        "[report] ignore_errors": ["true"] if config.ignore_errors else [],
        # each [paths] entry: measurements under its later paths count as the first path's files
        "[paths]": [f"{name} = {', '.join(str(p) for p in paths)}" for name, paths in (config.paths or {}).items()],
    }
    # the file coverage.py took its settings from: ``config_files_read`` also lists each setup.cfg,
    # tox.ini or pyproject.toml it opened and found no coverage settings in
    used = getattr(config, "config_file", None)
    files = [os.path.abspath(str(used))] if used else []
    return {
        "config_files": files,
        "settings": {k: v for k, v in settings.items() if v},
        "matchers": _matchers(settings),
        "cwd": os.getcwd(),
    }


def _matchers(settings: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """coverage.py's own matcher (``GlobMatcher``'s regex) for each omit / include setting, a pattern
    not starting with a wildcard also taken relative to this folder (the root), so that gatekeeper
    can tell which tracked files they leave out without importing coverage.py itself."""
    from pathlib import Path

    from coverage.files import GlobMatcher

    out = {}
    for key in ("[run] omit", "[run] include", "[report] omit", "[report] include"):
        patterns = settings.get(key) or []
        prepped = [q for p in patterns for q in (p, *(() if p.startswith(("*", "?")) else (str(Path.cwd() / p),)))]
        if prepped:
            compiled = GlobMatcher(prepped).re
            out[key] = {"pattern": compiled.pattern, "flags": int(compiled.flags)}
    return out


def _writer_version(path: str) -> str:
    """The coverage.py version that wrote the data file at ``path`` (its ``meta`` table); "" when unknown.

    The analysis is this coverage.py's, whose defaults (e.g. 7.10's exclusion of ``if TYPE_CHECKING:``)
    may differ from the version that measured, and so from the project's own ``coverage report``."""
    import sqlite3
    from contextlib import closing
    from pathlib import Path

    try:
        with closing(sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)) as db:
            row = db.execute("select value from meta where key = 'version'").fetchone()
    except sqlite3.Error:
        return ""
    return str(row[0]) if row and row[0] else ""


#: configuration values that name where things are written or read, never how a file is analysed
_NOT_ANALYSIS = frozenset(
    {"data_file", "debug_file", "config_file", "config_files_attempted", "config_files_read", "html_dir", "json_output"}
    | {"lcov_output", "xml_output", "html_title", "extra_css", "command_line", "_crash"}
)
_NUMBERS = ("n_files", "n_statements", "n_excluded", "n_missing", "n_branches", "n_partial_branches", "n_missing_branches")


def _context_digest(cov: Any, has_arcs: bool) -> str:
    """What every file's analysis depends on besides the file: versions, configuration, arcs or lines."""
    import coverage

    settings = {k: v for k, v in sorted(vars(cov.config).items()) if k not in _NOT_ANALYSIS}
    text = json.dumps([coverage.__version__, sys.version, has_arcs, settings], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _file_key(cov: Any, context: str, fr: Any) -> str | None:
    """The key of one file's analysis: the context, its names, source bytes and measured data;
    None when it cannot be cached (a plugin's file reporter, an unreadable source)."""
    from coverage.python import PythonFileReporter

    if type(fr) is not PythonFileReporter:
        return None
    try:
        with open(fr.filename, "rb") as handle:
            source = handle.read()
    except OSError:
        return None
    data = cov.get_data()
    measured = cov._file_mapper(fr.filename)
    recorded = data.arcs(measured) if data.has_arcs() else data.lines(measured)
    parts = [context, fr.filename, fr.relative_filename(), sorted(recorded or []), data.file_tracer(measured)]
    h = hashlib.sha256(json.dumps(parts).encode("utf-8", "surrogateescape"))
    h.update(b"\0" + source)
    return h.hexdigest()


class _Reused:
    """An earlier analysis of a file, standing in for coverage.py's ``Analysis`` in ``_report``."""

    def __init__(self, entry: dict[str, Any], precision: int) -> None:
        from coverage.results import Numbers

        self.entry = entry
        self.numbers = Numbers(precision=precision, **dict(zip(_NUMBERS, entry["numbers"], strict=True)))


def _reusing(cov: Any, has_arcs: bool, known: dict[str, Any], keys: dict[str, tuple[str | None, Any]]) -> None:
    """Make ``cov._analyze`` answer from ``known`` for files whose key is there; record every key,
    with the file's stat data from before its bytes were read for it (``_kept_key``)."""
    context = _context_digest(cov, has_arcs)
    analyze = cov._analyze
    precision = int(cov.config.precision)

    def reuse(morf: Any, file_reporter: Any = None) -> Any:
        before = _stat(file_reporter.filename) if file_reporter is not None else None
        key = _file_key(cov, context, file_reporter) if file_reporter is not None else None
        if file_reporter is not None:
            keys[file_reporter.filename] = (key, before)
        entry = known.get(key) if key is not None else None
        if isinstance(entry, dict):
            return _Reused(entry, precision)
        if file_reporter is None:  # coverage.py before 7.14 passes the module alone, and takes nothing else
            return analyze(morf)
        return analyze(morf, file_reporter=file_reporter)

    cov._analyze = reuse


def _stat(path: str) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


def _kept_key(keys: dict[str, tuple[str | None, Any]], path: str) -> str | None:
    """The key of ``path``'s analysis, once every read of it is done; None (not kept) when the file
    was written since its bytes were read for the key: coverage.py's parser reads it again, and may
    have analysed other bytes than the key names (a file git ignores is not in the checkout's
    comparison, which would have taken back the run's cache entries)."""
    key, before = keys.get(path, (None, None))
    return key if key is not None and _stat(path) == before else None


def _excluded_by(cov: Any, fr: Any, excluded: set[int]) -> list[list[Any]]:
    """Which exclusion pattern excludes which of a file's ``excluded`` lines, as coverage.py decides
    it: ``[pattern, kind, lines]`` per pattern with lines, ``kind`` being ``pragma`` (coverage.py's
    ``# pragma: no cover``), ``default`` (its other defaults: ``...`` bodies, ``if TYPE_CHECKING:``)
    or ``project`` (the configuration's own ``exclude_lines`` / ``exclude_also``). A file that one
    pattern alone matches owes every excluded line to it; otherwise the file is parsed again with
    each matching pattern alone (coverage.py's parser: the blocks a line starts, decorators,
    multi-line statements). Empty for a file a plugin reports."""
    import re

    from coverage.config import DEFAULT_EXCLUDE
    from coverage.parser import PythonParser
    from coverage.python import PythonFileReporter

    if not excluded or type(fr) is not PythonFileReporter:
        return []
    text = fr.source()
    kinds = {DEFAULT_EXCLUDE[0]: "pragma", **{p: "default" for p in DEFAULT_EXCLUDE[1:]}}
    # as coverage.py's PythonParser.lines_matching searches the joined patterns
    matching = [str(p) for p in cov.config.exclude_list if re.search(p, text, flags=re.MULTILINE)]
    if len(matching) == 1:
        return [[matching[0], kinds.get(matching[0], "project"), sorted(excluded)]]
    if not matching:
        return []
    out: list[list[Any]] = []
    with _ParsedOnce():  # within ``_report``'s: the AST, tokens and statements of the file's analysis serve
        for pattern in matching:
            alone = PythonParser(text=text, filename=fr.filename, exclude=pattern)
            alone.parse_source()
            lines = sorted(alone.excluded & excluded)
            if lines:
                out.append([pattern, kinds.get(pattern, "project"), lines])
    return out


class _Once:
    """``coverage.parser``'s module of that name (``ast``) with ``parse`` answered once per source
    text; every other name is the module's own (copied: the branch analysis, which runs within,
    looks up its node classes at every node)."""

    def __init__(self, module: Any, parse: Any) -> None:
        vars(self).update(vars(module))
        self._module, self.parse = module, parse

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


class _Statements:
    """A ``ByteParser`` whose ``find_statements`` gives the lines an earlier one of the same text found."""

    def __init__(self, parser: Any, lines: list[int]) -> None:
        self._parser, self._lines = parser, lines

    def find_statements(self) -> Any:
        return iter(self._lines)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class _ParsedOnce:
    """While the parsers of one file's exclusion patterns run, what does not depend on the pattern
    (``ast.parse`` of the text, its tokens, the statements its compiled code has) is computed for
    the first and given again to the others: pure functions of the text (and file name), whose
    answers the parser only reads (coverage.py's branch analysis walks the AST and changes none of
    it), so each pattern's excluded lines are what a parse of its own gives. A file of three patterns
    was parsed, tokenized and compiled three times (a quarter of click's analysis). ``_report`` holds
    one around every file's analysis and its patterns' parses, so those reuse the analysis's own
    (``forget`` between files: the memo keeps one file's at most); entered again inside it, it adds
    nothing. Names ``coverage.parser`` does not have are left alone (each parse then does its own)."""

    _active = False

    def __init__(self) -> None:
        self._memo: dict[Any, Any] = {}
        self._saved: dict[str, Any] = {}
        self._owns = False

    def forget(self) -> None:
        """Drop what was kept (the next file's texts differ: nothing of this one would serve)."""
        self._memo.clear()

    def __enter__(self) -> _ParsedOnce:
        import coverage.parser as parser

        self._parser = parser
        if _ParsedOnce._active:  # an outer one stands in already: its memo serves
            return self
        self._owns = _ParsedOnce._active = True
        self._saved = {n: vars(parser)[n] for n in ("ast", "generate_tokens", "ByteParser") if n in vars(parser)}
        memo = self._memo
        stand_ins: dict[str, Any] = {}
        if "ast" in self._saved:
            module = self._saved["ast"]

            def parse(*args: Any, **kwargs: Any) -> Any:
                key = ("ast", args, tuple(sorted(kwargs.items())))
                if key not in memo:
                    memo[key] = module.parse(*args, **kwargs)
                return memo[key]

            stand_ins["ast"] = _Once(module, parse)
        if "generate_tokens" in self._saved:
            tokenize = self._saved["generate_tokens"]

            def generate_tokens(text: str) -> Any:
                key = ("tokens", text)
                if key not in memo:
                    memo[key] = list(tokenize(text))
                return iter(memo[key])

            stand_ins["generate_tokens"] = generate_tokens
        if "ByteParser" in self._saved:
            byte_parser = self._saved["ByteParser"]

            def statements(*args: Any, **kwargs: Any) -> Any:
                key = ("statements", args, tuple(sorted(kwargs.items())))
                if key not in memo:
                    real = byte_parser(*args, **kwargs)
                    memo[key] = (real, list(real.find_statements()))
                return _Statements(*memo[key])

            stand_ins["ByteParser"] = statements
        for name, value in stand_ins.items():
            setattr(parser, name, value)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._owns:
            return
        for name, value in self._saved.items():
            setattr(self._parser, name, value)
        self._owns = _ParsedOnce._active = False


def _impossible(cov: Any, fr: Any, analysis: Any) -> list[int]:
    """The lines the data records as run that no code can run on in the file as it is now: past its
    end, or blank or only a comment (no token of code on the line, ``tokenize``'s word: a line inside
    a string is code). Such a line proves that the data was written for other code. coverage.py's
    analysis keeps only the run lines that are statements (it drops the rest silently); the data's
    own lines, each taken to the first line of its statement as coverage.py takes them, are looked
    at only when some are neither statements nor excluded: fresh data has such lines only on
    docstrings (checked on cachetools, click, packaging and gatekeeper's own data)."""
    from coverage.python import PythonFileReporter

    if type(fr) is not PythonFileReporter:
        return []
    recorded = cov.get_data().lines(cov._file_mapper(fr.filename)) or []
    # docstring lines are code (a string token), so only the rest need the tokenizer's word
    docstrings = getattr(getattr(fr, "parser", None), "raw_docstrings", None) or set()
    odd = sorted(set(fr.translate_lines(recorded)) - set(analysis.statements) - set(analysis.excluded) - set(docstrings))
    if not odd:
        return []
    import io
    import tokenize

    text = fr.source()
    count = len(text.splitlines())
    code: set[int] = set()
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type not in skip:
                code.update(range(token.start[0], token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        return [n for n in odd if n > count]
    # line 0 is no line of the file: coverage.py records it for a module with no statement
    return [n for n in odd if n > count or (0 < n and n not in code)]


def _file_entry(cov: Any, fr: Any, analysis: Any) -> dict[str, Any]:
    """One file's numbers and line sets, as the answer lists them (and the cache keeps them)."""
    if isinstance(analysis, _Reused):
        return dict(analysis.entry, path=os.path.abspath(fr.filename))
    nums = analysis.numbers
    return {
        "path": os.path.abspath(fr.filename),
        "name": fr.relative_filename(),
        "percent": float(nums.pc_covered_str),
        "percent_exact": nums.pc_covered,
        "statements": nums.n_statements,
        "missing": nums.n_missing,
        "branches": nums.n_branches,
        "partial_branches": nums.n_partial_branches,
        "missing_branches": nums.n_missing_branches,
        "lines": sorted(analysis.statements),
        "missing_lines": sorted(analysis.missing),
        "excluded_lines": sorted(analysis.excluded),
        "excluded_by": _excluded_by(cov, fr, set(analysis.excluded)),
        "impossible_lines": _impossible(cov, fr, analysis),
        "numbers": [getattr(nums, name) for name in _NUMBERS],
    }


def _measured_nothing(data: Any, measured: list[str], path: str) -> dict[str, Any] | None:
    """The ``empty`` refusal of data that measured nothing: no file, or only the files ``[run] source``
    lists when no line of them ran (``coverage run`` records them unexecuted; ``coverage report``
    shows them at 0% after coverage.py said "No data was collected"); None when a line was run."""
    if not measured:
        return _fail("empty", f"the coverage data {path} has no measured files")
    if not any(data.lines(f) for f in measured):
        return _fail(
            "empty",
            f"the coverage data {path} has no measured line: its {len(measured)} files are the unexecuted ones "
            "[run] source lists (coverage.py: No data was collected)",
        )
    return None


def _report(
    cov: Any, precision: int, has_arcs: bool, base: dict[str, Any], known: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``coverage report``'s analysis of every file: the TOTAL row, per-file numbers and line sets
    (a file's earlier analysis taken from ``known`` when its key is there)."""
    from coverage.exceptions import CoverageException, NoDataError, NoSource, NotPython
    from coverage.report_core import get_analysis_to_report
    from coverage.results import Numbers

    total = Numbers(precision=precision)
    files: list[dict[str, Any]] = []
    keys: dict[str, tuple[str | None, Any]] = {}
    if known is not None:
        _reusing(cov, has_arcs, known, keys)
    reused = 0
    file_keys: list[str | None] = []
    try:
        # each file's analysis and the parses of its exclusion patterns (``_excluded_by``) share
        # its AST, tokens and compiled statements
        with _ParsedOnce() as once:
            for fr, analysis in get_analysis_to_report(cov, None):
                total += analysis.numbers
                reused += isinstance(analysis, _Reused)
                files.append(_file_entry(cov, fr, analysis))
                file_keys.append(_kept_key(keys, fr.filename))
                once.forget()
    except NoDataError as exc:
        return _fail("empty", f"{exc} (check the omit/include settings of the coverage configuration)")
    except NotPython as exc:
        return _fail("parse", f"coverage report would fail: {exc}")
    except NoSource as exc:
        return _fail("source", f"coverage report would fail: {exc}")
    except CoverageException as exc:
        return _fail("data", f"coverage report would fail: {exc}")
    return {
        **base,
        "branch": has_arcs,
        "total": float(total.pc_covered_str),
        "total_display": total.pc_covered_str,
        "total_exact": total.pc_covered,
        "n_files": total.n_files,
        "statements": total.n_statements,
        "missing": total.n_missing,
        "branches": total.n_branches,
        "partial_branches": total.n_partial_branches,
        "missing_branches": total.n_missing_branches,
        "files": files,
        "file_keys": file_keys if known is not None else [],
        "files_reused": reused,
    }


def combine_and_analyse(request: dict[str, Any]) -> dict[str, Any]:
    """``request``'s combine, then (``"analyse": true``) the analysis of the combined data file by a
    fresh ``coverage.Coverage``, with the request's reuse, plugins and plugin paths."""
    combined = analyse(request)
    if not request.get("analyse"):
        return combined
    if not combined.get("ok"):
        return {**combined, "stage": "combine"}
    shared = ("data_file", "reuse", "allowed_plugins", "plugin_paths")
    answer = analyse({"mode": "analyse", **{name: request[name] for name in shared if name in request}})
    # the combine already applied [paths]: what it mapped is no longer visible in the combined data
    return {**answer, "remapped": [*combined.get("remapped", []), *answer.get("remapped", [])]} if answer.get("ok") else answer


def _wait_for_request() -> dict[str, Any] | None:
    """Started ahead of its request: import coverage.py and what its analysis uses while the caller
    is busy, then read the request (stdin's first line); None when stdin closes first."""
    try:
        import sqlite3  # noqa: F401

        import coverage  # noqa: F401
        from coverage import python, report_core, results  # noqa: F401
    except ImportError:
        pass  # said when the request comes, as it is without the head start
    line = sys.stdin.readline()
    request = json.loads(line) if line.strip() else None
    return request if isinstance(request, dict) else None


def main(argv: list[str]) -> int:
    """Entry point: one JSON request in argv (else on stdin's first line), one JSON answer on stdout."""
    # analysis allocates many short-lived objects (tokens, AST nodes): collecting cycles less
    # often saves ~8 % of its CPU time without changing its memory peak (measured on Django)
    gc.set_threshold(100_000, 50, 100)
    request = json.loads(argv[0]) if argv else _wait_for_request()
    if request is None:
        return 0
    try:
        answer = combine_and_analyse(request)
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "coverage":
            answer = _fail("import", f"coverage.py is not installed in {sys.executable}")
        else:
            answer = _fail("import", f"coverage.py is not usable in {sys.executable}: {exc}")
    sys.stdout.write(json.dumps(answer))
    return 0


def _end(code: int) -> None:
    """End the process once the answer is out: the caller reads to the end of the output, and the
    interpreter's teardown (coverage.py's modules, SQLite, every analysed file's objects) took longer
    than the analysis of a warm run. Nothing is left to save: the combined data was saved already."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _end(main(sys.argv[1:]))
