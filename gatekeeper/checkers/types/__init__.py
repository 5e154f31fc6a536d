"""Type checking with mypy: every error and note of ``mypy -O json`` becomes a finding.

mypy is the tool interpreter's (gatekeeper's own, or ``gate.tool_python``; mypy 1.11 or later,
for its JSON output), never the project's: ``CheckContext.tool`` refuses a mypy inside the root or
installed from it. It checks the project's environment through ``--python-executable`` (imports
and stubs resolve as they do for the project), targeting its Python (``--python-version``, unless the
project's configuration sets ``python_version``) without importing anything from it: mypy's question to
that interpreter for its folders runs it with ``-I -S`` (``sitepaths.search_dirs``), so no ``.pth``
file's ``import`` line of the environment runs. The project's
mypy configuration (``mypy.ini``, ``.mypy.ini``, ``pyproject.toml`` or ``setup.cfg``, mypy's own
order) is passed explicitly with ``--config-file``. mypy runs with ``-I`` in the project's root,
because it resolves the modules it checks relative to its working directory; it reads the code
but does not execute it. Plugins named in the project's mypy configuration are the exception:
mypy imports and runs them (from the tool interpreter's environment), which is why the README says so;
a plugin file is refused, and each plugin module is located like the tool (never the checkout's).

mypy's incremental cache is kept under gatekeeper's cache directory, never in the checkout, and
authenticated as a whole before mypy may read it (``incremental``); a throwaway directory when the
cache is off or ``cache.dir`` lies inside the project. mypy takes a module for unchanged while its
size and modification second are, so the project's Python files git ignores (which the checkout's
comparison does not cover) are named to it before mypy runs (``CheckContext.reading``): one written
during the run makes the run an error, and the cache it left is taken back. mypy exits 1 when all it printed are notes
(with ``-O json``); that is a pass, as mypy's own verdict is. mypy checks a program as a whole, so
the check is not shardable. Settings that narrow the check (``exclude``, ``ignore_errors``,
``disable_error_code``, per-module overrides) and ``# type: ignore`` comments are reported.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from gatekeeper import process, runmain, tomlio
from gatekeeper.checkers import sitepaths
from gatekeeper.checkers.base import OFF_BY_DEFAULT, PROJECT_CONFIG, CheckContext, CheckerBase, Display, honours_project
from gatekeeper.checkers.types import presentation
from gatekeeper.errors import ToolError, ToolMissing
from gatekeeper.fileio import relative_to_root, tool_path
from gatekeeper.findings import CheckResult, Finding, Location, Narrowing, Severity, decide_status
from gatekeeper.options import Option

if TYPE_CHECKING:
    from gatekeeper.checkers import source

# the run path (the tracked files, the incremental cache, narrowing) is imported where it is used, in
# the check's own thread: loading the checker needs none of it

CHECK = "types"
MIN_VERSION = (1, 11)
INSTALL = "pip install 'gatekeeper[types]' (mypy>=1.11) into gatekeeper's environment, or set gate.tool_python"
#: mypy's config files, in the order mypy looks for them (https://mypy.readthedocs.io/en/stable/config_file.html)
CONFIG_FILES = ("mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg")
_ITEM_KEYS = ("file", "line", "message", "severity")
#: whatever the configuration says (``install_types``, ``non_interactive``), mypy never pip-installs
#: stub packages into the environment the gate inspects: missing stubs stay errors, as mypy reports them
NO_INSTALL = ("--no-install-types", "--interactive")


@functools.cache
def _line_ref() -> re.Pattern[str]:
    """``line N`` in a mypy message (a fingerprint does not depend on it)."""
    return re.compile(r"\bline \d+\b")


_SKIP_DIRS = frozenset({"node_modules", "site-packages", "__pycache__", "build", "dist", "venv"})


class TypesChecker(CheckerBase):
    """Runs mypy in the project's interpreter with its configuration and maps errors and notes to findings."""

    name = CHECK
    description = "type checking (mypy)"
    options: Mapping[str, Option] = {
        "enabled": OFF_BY_DEFAULT,
        "paths": Option("str_list", [], "files or directories to check; empty: the config's `files`, else the project root"),
        "max_errors": Option("int", 0, "errors tolerated before the check fails", minimum=0),
        "strict": Option("bool", False, "add --strict to the project's configuration"),
        "project_config": PROJECT_CONFIG,
    }

    tool = presentation.TOOL

    def display(self, result: CheckResult) -> Display:
        """Errors against the limit, notes and strictness."""
        return presentation.display(result)

    def head_start(self, section: Mapping[str, Any]) -> bool:
        """mypy runs longest of the tools (the test command aside): the other checks start once its
        process has (``ctx.begun``), so that its start-up does not share the CPUs and gatekeeper's
        interpreter lock with theirs. A test command (``checks.coverage.run``) keeps the head start."""
        return True

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Run mypy once over the policy's (or the config's) paths; errors block past ``max_errors``."""
        import hashlib
        import shlex
        import tempfile

        from gatekeeper.checkers import source
        from gatekeeper.checkers.types import incremental, reads

        tool = ctx.tool("mypy", "mypy", INSTALL)
        version = tool.version
        if _version_tuple(version) < MIN_VERSION:
            raise ToolMissing(f"mypy {version} in {tool.python} has no JSON output ({INSTALL})")
        honour = honours_project(section)
        found = find_config(ctx.root) if honour else MypyConfig()
        for module in plugin_modules(found):  # code mypy imports and runs: never the checkout's
            ctx.tool(module, module, f"a mypy plugin {found.name} names: install it there, or set gate.tool_python")
        paths = [str(p) for p in section.get("paths") or []]
        for p in paths:
            if not _inside(ctx.root, p):
                raise ToolError(f"checks.types.paths: {p} is outside the project")
        targets = paths or ([] if found.files else ["."])
        # mypy's incremental cache takes a module for unchanged while its size and modification second
        # are: a file git ignores that it reads (outside the checkout's comparison) is compared too
        linked: list[str] = []  # mypy's search reads a module that is a link as any other
        everything = list(_python_files(ctx.root, ["."], linked))
        ctx.reading([*everything, *linked])
        tag = hashlib.sha256(f"{tool.python}\0{version}\0{ctx.target_python}".encode()).hexdigest()[:16]
        kept, not_kept = incremental.folder_for(ctx.cache_dir, ctx.root, tag)
        with tempfile.TemporaryDirectory(prefix="gatekeeper-mypy-") as scratch:
            config = found.name
            if not honour:  # the policy's configuration alone: a file of gatekeeper's, outside the tree
                config = str(Path(scratch) / "mypy.ini")
                Path(config).write_text("[mypy]\n", encoding="utf-8")
            args = ["-O", "json", "--no-error-summary", "--config-file", config, *NO_INSTALL]
            if section.get("strict"):
                args.append("--strict")
            args += _target_version(ctx, tool.python, found)
            state = not_kept
            hashed: incremental.Hashed = {}  # the kept folder as verified: its files mypy leaves alone are not hashed again
            if kept is not None and ctx.cache_dir is not None:
                state = incremental.verify(ctx.cache_dir, kept, tag, seen=hashed)
            cache_dir = kept or Path(scratch) / "cache"
            command = [tool.python, "-I", "-m", "mypy", *args, "-v", "--python-executable", ctx.target_python]
            started = reads.clock(Path(scratch))
            full = [*command, "--cache-dir", str(cache_dir), *(["--", *targets] if targets else [])]
            # mypy asks the environment's interpreter for its folders without running its .pth files' code
            done = ctx.run(runmain.command(full, sitepaths.search_dirs(ctx.target_python)), cwd=ctx.root, on_start=ctx.begun)
            _close_cache(ctx, (kept, tag, hashed), reads.held(ctx, done.returncode, done.stderr, started))
        if done.returncode == 2 and done.stdout.strip():
            _raise_blocking(done.stdout, whole_root=whole_root_advice(ctx.root) if targets == ["."] else "")
        if done.returncode not in (0, 1):  # 1 means "found errors": that is data
            from gatekeeper.checkers.types import names

            odd = names.undecodable(_python_files(ctx.root, targets or list(found.files)))
            said = names.unlogged(done.stderr) or done.stdout
            raise ToolError(names.failure(done.returncode, process.tail(said), odd))
        items = parse_output(done.stdout, config)
        if done.returncode == 1 and not items:
            from gatekeeper.checkers.types.names import unlogged

            said = unlogged(done.stderr) or done.stdout
            raise ToolError(f"mypy reported failure but printed nothing (exit 1): {process.tail(said)}")
        # mypy -O json exits 1 when all it printed are notes; its own verdict (exit 0 without -O json)
        # is that such a project passes, so notes alone never fail the check
        sources = source.Sources(ctx.root)
        prior: dict[str, str] = {}
        findings = to_findings(section, items, sources, prior)
        errors = sum(1 for i in items if i["severity"] == "error")
        notes = len(items) - errors
        gitignored = _gitignored(ctx, tool.python, found, targets)
        records = _narrowing(ctx.root, found, paths, sources, honour, gitignored, everything)
        records += _crawl_skipped(ctx, paths or list(found.files) or ["."])
        codes: dict[str, int] = {}
        for i in items:
            if i["severity"] == "error":
                codes[str(i.get("code") or "misc")] = codes.get(str(i.get("code") or "misc"), 0) + 1
        summary = f"{errors:,} error{'s' if errors != 1 else ''}, {notes:,} note{'s' if notes != 1 else ''}"
        above = _above(ctx.root) if honour and not found.name else ""
        if above:
            summary += f"; mypy by hand in the project would read {above}, above it: this check does not"
        warned = config_warnings(done.stderr)
        if warned:
            more = f" (and {len(warned) - 1} more: metric config_warnings)" if len(warned) > 1 else ""
            summary += f"; mypy set aside part of its configuration: {warned[0]}{more}"
        from gatekeeper.checkers.lint import pinned

        pin, said = pinned.mypy_note(ctx, version)
        summary += said
        return CheckResult(
            name=CHECK,
            status=decide_status(findings),
            summary=summary,
            tool_name="mypy",
            tool_version=version,
            metrics={
                "errors": errors,
                "notes": notes,
                "files_with_errors": len({i["file"] for i in items if i["severity"] == "error"}),
                "by_code": dict(sorted(codes.items())),
                "config": found.name or None,
                "config_above": above or None,
                "config_warnings": warned,
                "pre_commit_mypy": pin,
                "project_config": "honour" if honour else "ignore",
                "strict": bool(section.get("strict")),
                "paths": targets or "(the config's files)",
                "command": shlex.join(["mypy", *args, "--python-executable", ctx.target_python, *targets]),
                "tool_source": tool.source,
                "incremental_cache": state or "kept",
                "thresholds": {"max_errors": int(section.get("max_errors", 0)), "strict": bool(section.get("strict"))},
            },
            findings=tuple(findings),
            narrowing=tuple(records),
            prior_prints=prior,
        )


def _target_version(ctx: CheckContext, tool_python: str, found: MypyConfig) -> list[str]:
    """``["--python-version", "X.Y"]`` of the inspected environment's interpreter, when the mypy
    configuration sets no ``python_version`` and the tool interpreter is another X.Y. mypy targets the
    Python it runs on unless told otherwise (``--python-executable`` does not change it): run from a
    3.11 tool interpreter over a 3.12 environment, mypy called ``class Model[A: Agent]`` a syntax error
    ("requires Python 3.12 or newer (current target: Python 3.11)") where the project's own mypy
    finds none. Nothing is added when the environment's X.Y is older than the oldest mypy supports
    (mypy would refuse it): mypy then keeps its own default, as before."""
    import tempfile

    if "python_version" in found.main:
        return []
    asks = "import sys; print(*sys.version_info[:2])"
    with tempfile.TemporaryDirectory(prefix="gatekeeper-mypy-version-") as cwd:
        env = ctx.run([ctx.target_python, "-I", "-S", "-c", asks], timeout=60, cwd=cwd)
        if env.returncode == 0 and tool_python == sys.executable and env.stdout.split() == [str(v) for v in sys.version_info[:2]]:
            # mypy runs on gatekeeper's own interpreter, of the environment's X.Y: it targets that by
            # itself, and its oldest target is not asked (an import of mypy in a process of its own)
            return []
        tool = ctx.run(
            [tool_python, "-I", "-c", asks[:-1] + ", *__import__('mypy.defaults').defaults.PYTHON3_VERSION_MIN)"],
            timeout=60,
            cwd=cwd,
        )
    try:
        target = tuple(int(part) for part in env.stdout.split())
        own = tuple(int(part) for part in tool.stdout.split())
    except ValueError:
        target = own = ()
    if env.returncode != 0 or tool.returncode != 0 or len(target) != 2 or len(own) != 4:
        raise ToolError(
            f"could not tell which Python to have mypy target: {process.tail(env.stderr or tool.stderr or env.stdout)}"
        )
    if target == own[:2] or target < own[2:]:
        return []
    return ["--python-version", f"{target[0]}.{target[1]}"]


def _above(root: Path) -> str:
    """The configuration mypy by hand in ``root`` would read above it (``above.config_above``),
    relative to the root, or ""."""
    import os

    from gatekeeper.checkers.types.above import config_above

    found = config_above(root, CONFIG_FILES)
    return os.path.relpath(found, root) if found is not None else ""


def _close_cache(ctx: CheckContext, cache: tuple[Path | None, str, Any], moved: str) -> None:
    """Seal mypy's kept cache folder (``cache``: the folder, its tag, its files as verified); when
    what mypy read does not hold (``moved``, ``reads.held``), empty it instead (it may hold results of
    bytes the project does not hold) and raise ``ToolError`` saying why."""
    import shutil

    from gatekeeper.checkers.types import incremental

    kept, tag, hashed = cache
    if kept is not None and ctx.cache_dir is not None:
        if moved:
            shutil.rmtree(kept, ignore_errors=True)
        else:
            incremental.seal(ctx.cache_dir, kept, tag, known=hashed)
    if moved:
        raise ToolError(moved)


def config_warnings(stderr: str) -> list[str]:
    """mypy's warnings about its configuration file (``pyproject.toml: [mypy]: python_version: Python
    3.9 is not supported …``, an unrecognised option, a bad value): each is a setting mypy ignored and
    went on without, which mypy run by hand prints on stderr and its exit status does not show."""
    pattern = re.compile(r"^[^\s:][^:]*: \[[^\]]+\]: \S")
    return [line.strip() for line in stderr.splitlines() if pattern.match(line)]


def _gitignored(ctx: CheckContext, python: str, found: MypyConfig, targets: Sequence[str]) -> list[str] | str:
    """The files the configuration's ``exclude_gitignore = true`` leaves out of ``targets``, as mypy
    (run by ``python``) finds them; why not, when mypy cannot say; empty when the setting is off."""
    from gatekeeper.checkers.types import gitignored
    from gatekeeper.checkers.types.narrowing import relaxing

    if not found.name or not relaxing(found.main, "exclude_gitignore"):
        return []
    try:
        return gitignored.dropped(ctx, python, found.name, targets)
    except ToolError as exc:
        return str(exc)


def _crawl_skipped(ctx: CheckContext, scope: Sequence[str]) -> list[Narrowing]:
    """The record of the tracked files in the folders mypy is given that its search passes over by
    name (``narrowing.crawl_skipped``); none outside a git work tree, or when there are none."""
    from gatekeeper.checkers import source
    from gatekeeper.checkers.types import narrowing as narrowed

    try:
        tracked = source.tracked_files(ctx.root, ctx)
    except ToolError:
        return []
    folders = [str(p) for p in scope if (ctx.root / p).is_dir()]
    return narrowed.crawl_skipped_records(narrowed.crawl_skipped(tracked, folders))


def _narrowing(  # noqa: PLR0913  # the configuration, the scope, the sources, and what mypy said it drops
    root: Path,
    found: MypyConfig,
    paths: Sequence[str],
    sources: source.Sources,
    honour: bool,
    gitignored: Sequence[str] | str = (),
    everything: Sequence[str] | None = None,
) -> list[Narrowing]:
    """What the project's configuration and comments narrowed: its settings and overrides, the files
    its ``files``, ``exclude`` and ``exclude_gitignore`` (``gitignored``: as mypy listed them, or why
    it could not) leave out of the check's scope, and the comments in the files checked.
    ``everything``: ``_python_files`` of the root, when already listed."""
    from gatekeeper.checkers.types import narrowing as narrowed

    everything = list(_python_files(root, ["."])) if everything is None else list(everything)
    scope = list(paths or found.files or ["."])
    targeted = everything if scope == ["."] else list(_python_files(root, scope))
    dropped = set(narrowed.excluded(targeted, found.main.get("exclude")))
    if not isinstance(gitignored, str):
        dropped.update(gitignored)
    checked = [f for f in targeted if f not in dropped]
    given = {PurePosixPath(p).as_posix() for p in scope if (root / p).is_file()}  # named one by one: never passed over
    by_stub, by_package = narrowed.shadowed(checked, given)
    passed_over = set(by_stub) | set(by_package)
    records: list[Narrowing] = []
    if found.name:
        for record in narrowed.config_records((found.name, found.text), found.main, found.overrides, checked):
            if record.kind == "option" and narrowed.setting(record.detail) == "exclude_gitignore":
                record = _with_gitignored(record, gitignored)
            records.append(record)
        records += narrowed.scope_records(
            (found.name, found.text), found.main if not paths else {}, everything, targeted, checked
        )
    records += narrowed.shadow_records(by_stub, by_package)
    return records + narrowed.comment_records([f for f in checked if f not in passed_over], sources, honour)


def _with_gitignored(record: Narrowing, gitignored: Sequence[str] | str) -> Narrowing:
    """The ``exclude_gitignore`` record with the files mypy said it leaves out (or why it could not say)."""
    import dataclasses

    if isinstance(gitignored, str):
        return dataclasses.replace(record, effect=f"{record.effect} (the files could not be listed: {gitignored})")
    return dataclasses.replace(record, effect=f"{record.effect}: those listed, as mypy finds them", files=tuple(gitignored))


@dataclass(frozen=True, eq=False, repr=False)
class MypyConfig:
    """The project's mypy configuration: its file (relative name, "" for none), its text, the ``[mypy]``
    settings, the per-module overrides (each with its ``module``) and ``files`` as a list."""

    name: str = ""
    text: str = ""
    main: Mapping[str, Any] = field(default_factory=dict)
    overrides: tuple[Mapping[str, Any], ...] = ()
    files: tuple[str, ...] = ()


def find_config(root: Path) -> MypyConfig:
    """mypy's config file for ``root``, in mypy's order, and what it sets (``MypyConfig()`` for none).
    A link is read where it leads, as mypy reads it, when that is inside the root; ``ToolError`` when
    it leads out of it."""
    import configparser

    from gatekeeper.fileio import relative_to_root

    for name in CONFIG_FILES:
        path = root / name
        if not path.is_file():  # mypy skips a missing one (a dangling link too) and reads on
            continue
        if path.is_symlink() and relative_to_root(path, root) is None:  # mypy would follow it out of the tree
            raise ToolError(
                f"{name} leads outside the project (through a link); a configuration file a tool reads must be inside the root"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ToolError(f"{name} cannot be read as mypy configuration: {exc}") from None
        if name == "pyproject.toml":
            try:
                tool = tomlio.loads(text).get("tool")
            except tomlio.TOMLDecodeError as exc:
                raise ToolError(f"pyproject.toml cannot be read for its [tool.mypy] section: {exc}") from None
            if not isinstance(tool, dict) or not isinstance(tool.get("mypy"), dict):
                continue
            main: Mapping[str, Any] = tool["mypy"]
            overrides = [o for o in main.get("overrides", []) if isinstance(o, dict)]
        else:
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read_string(text, source=name)
            except configparser.Error as exc:
                raise ToolError(f"{name} cannot be read as mypy configuration: {exc}") from None
            if not parser.has_section("mypy") and name == "setup.cfg":
                continue  # mypy reads setup.cfg only for its [mypy] section; mypy.ini whatever it holds
            main = dict(parser["mypy"]) if parser.has_section("mypy") else {}
            overrides = [
                {"module": s.removeprefix("mypy-"), **dict(parser[s])} for s in parser.sections() if s.startswith("mypy-")
            ]
        files = main.get("files")
        if isinstance(files, str):
            files = [f.strip() for f in files.split(",") if f.strip()]
        _refuse_writes_and_plugin_files(root, name, main)
        _refuse_outside(root, name, main)
        return MypyConfig(name, text, main, tuple(overrides), tuple(str(f) for f in files or []))
    return MypyConfig()


#: mypy options that make it write files where the configuration says (https://mypy.readthedocs.io/en/stable/config_file.html#report-generation)
REPORT_KEYS = (
    "any_exprs_report", "cobertura_xml_report", "html_report", "xslt_html_report", "linecount_report",
    "linecoverage_report", "lineprecision_report", "memory_xml_report", "txt_report", "xslt_txt_report",
    "xml_report", "junit_xml",
)  # fmt: skip


#: settings of mypy's own (undocumented, for its tests and build systems) that it reads from any
#: configuration file and that no report of the check could make good: the check is refused
REFUSED_SETTINGS = {
    "bazel": (
        "mypy would keep its incremental cache in the project's root, read what the checkout holds there and "
        "take it as valid without looking at the files it stands for (a result the checkout supplies)"
    ),
    "semantic_analysis_only": "mypy would check no types at all (a check that looks at nothing is not a pass)",
}
#: the words mypy reads as a boolean (configparser's, also for a string in pyproject.toml)
_BOOLEAN = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def _refused_settings(main: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(``key = value`` as written, why) for each ``REFUSED_SETTINGS`` entry the main section turns on,
    read as mypy reads it: the setting true, or its ``no_`` spelling false (mypy inverts it); a value
    mypy cannot read as a boolean it sets aside, and so is it here."""
    out = []
    for key, value in main.items():
        inverted = key.startswith("no_") and key[3:] in REFUSED_SETTINGS
        name = key[3:] if inverted else key
        parsed = value if isinstance(value, bool) else _BOOLEAN.get(str(value).strip().lower())
        if name in REFUSED_SETTINGS and parsed is not None and parsed is not inverted:
            out.append((f"{key} = {value}", REFUSED_SETTINGS[name]))
    return out


def _refuse_writes_and_plugin_files(root: Path, config: str, main: Mapping[str, Any]) -> None:
    """``ToolError`` for a configuration that has mypy write reports (the gate writes nothing into
    the checkout or wherever the project says), run a plugin file (code of the checkout, or a file
    outside the project) or turn on a ``REFUSED_SETTINGS`` entry; plugins named as installed modules
    come from the tool's environment."""
    for setting, why in _refused_settings(main):
        raise ToolError(f"{config} sets {setting}: {why}; remove it from the configuration the gate reads")
    writes = [key for key in REPORT_KEYS if main.get(key)]
    if writes:
        raise ToolError(
            f"{config} sets {', '.join(writes)}: mypy would write reports where the project's configuration says; "
            "the gate writes nothing there (remove them from the configuration the gate reads)"
        )
    for module in _plugin_targets(main):
        if module.endswith(".py") or "/" in module or "\\" in module:
            where = relative_to_root((root / config).parent / module, root)
            what = f"the plugin file {where}" if where is not None else f"the plugin file {module!r}, outside the project,"
            raise ToolError(
                f"{config} names {what}: mypy would run it as part of the tool; a tool never runs code from the checkout "
                "(install the plugin as a package into the tool interpreter and name its module)"
            )


#: settings naming paths mypy reads files from (``files``: checked, its errors quote the names the file
#: holds; ``mypy_path``: searched for the modules the code imports), and how mypy splits a string of them
_PATH_SETTINGS = {"files": re.compile(r","), "mypy_path": re.compile(r"[,:]")}


def _refuse_outside(root: Path, config: str, main: Mapping[str, Any]) -> None:
    """``ToolError`` for a ``files`` or ``mypy_path`` entry that leads outside the project, read as mypy
    reads it (``$MYPY_CONFIG_FILE_DIR`` and other variables, ``~``, a glob's matches, relative to the
    root mypy runs in): ``files = ../../.vault-token`` had mypy check a runner's file and quote what it
    holds (``Name "hvs...." is not defined``) in every report, as a link leading out would."""
    import glob

    env = {**os.environ, "MYPY_CONFIG_FILE_DIR": str((root / config).parent)}
    for key, separator in _PATH_SETTINGS.items():
        value = main.get(key)
        entries = separator.split(value) if isinstance(value, str) else [str(v) for v in value or []]
        for entry in (e.strip() for e in entries if e.strip()):
            expanded = os.path.expanduser(_expand_vars(entry, env))
            full = expanded if os.path.isabs(expanded) else os.path.join(root, expanded)
            matched = glob.glob(full, recursive=True) if glob.has_magic(full) else []
            for path in [full, *matched] if not glob.has_magic(full) else matched:
                if relative_to_root(Path(path), root) is None:
                    raise ToolError(
                        f"{config} sets {key} = {entry!r}, which leads outside the project: mypy would read "
                        "files that are no part of it and quote what they hold; name paths inside the project"
                    )


def _expand_vars(text: str, env: Mapping[str, str]) -> str:
    """``os.path.expandvars`` of ``text`` with the variables of ``env``."""
    return re.sub(r"\$(\w+|\{[^}]*\})", lambda m: env.get(m.group(1).strip("{}"), m.group(0)), text)


def _plugin_targets(main: Mapping[str, Any]) -> list[str]:
    """What mypy loads for each entry of ``plugins``: a file path or a module name, split from its
    entry point as mypy splits it (``load_plugins_from_config``: at the last colon whenever the
    entry's last path component holds one, so ``plug.py:`` and ``a:plug.py:f`` name files too)."""
    plugins = main.get("plugins") or []
    names = [p.strip() for p in plugins.split(",")] if isinstance(plugins, str) else [str(p).strip() for p in plugins]
    return [n.rsplit(":", 1)[0] if ":" in os.path.basename(n) else n for n in names if n]


def plugin_modules(found: MypyConfig) -> list[str]:
    """The top-level packages of the plugins ``found`` names as modules (files are refused when the
    configuration is read): mypy imports them, so each is located like the tool itself before it runs."""
    return sorted({m.split(".", 1)[0] for m in _plugin_targets(found.main) if m.split(".", 1)[0]})


#: not the project's own code, whatever a folder of that name holds
_NOT_OWN_CODE = re.compile(r"^(tests?|testing|docs?|examples?|benchmarks?|scripts?|build|dist)$")


def whole_root_advice(root: Path) -> str:
    """Said after a blocking error when mypy was given the whole root: what it was not meant to check
    (examples, build scripts: two ``setup.py`` or ``noxfile.py``, say, are one module named twice) can
    stop it. The example names the project's code (``own_code``), ``src`` when none is found."""
    listed = ", ".join(f'"{name}"' for name in own_code(root) or ["src"])
    return (
        " (mypy was given the whole project root: neither checks.types.paths nor the mypy configuration's "
        f"`files` names what to check; set checks.types.paths to the project's own code, e.g. [{listed}])"
    )


def own_code(root: Path) -> list[str]:
    """The project's code as folders to give mypy, relative to ``root``: ``src`` in a src layout, else
    the root's packages (folders with an ``__init__.py``, or namespace packages: folders without one whose
    subfolders have one, as jaraco.collections' ``jaraco/collections``) that are not tests, docs or
    examples; then the same in each member folder of the root's uv workspace
    (``packages/jaraco.text/jaraco``), whose code a project-wide run checks too. A folder inside
    another named one is left out (a member nested in the root's ``src``, or in another member's
    namespace package: mcp 2.3.0's ``src/mcp-types`` and ``examples/snippets``): mypy given both
    finds its modules twice, under two names, and stops."""
    from gatekeeper.checkers.inventory.scope import workspace_folders

    here = root.resolve()
    own = _own_code(root, "")
    for member in sorted(workspace_folders(root)):
        own += _own_code(member, member.relative_to(here).as_posix() + "/")
    return [name for name in own if not any(name.startswith(other + "/") for other in own)]


def _own_code(folder: Path, prefix: str) -> list[str]:
    """The code of ``folder`` as ``whole_root_advice`` names it, each name after ``prefix``."""
    if (folder / "src").is_dir():
        return [prefix + "src"]
    own = []
    for d in sorted(folder.iterdir()):
        if not d.is_dir() or not d.name.isidentifier() or _NOT_OWN_CODE.match(d.name.lower()):
            continue
        try:
            if (d / "__init__.py").is_file() or any((s / "__init__.py").is_file() for s in d.iterdir() if s.is_dir()):
                own.append(prefix + d.name)
        except OSError:  # a folder it may not read: not named
            continue
    return own


def _raise_blocking(stdout: str, *, whole_root: str = "") -> None:
    """mypy exits 2 on a blocking error (a syntax error, say) and checks nothing else: an error, not findings.
    ``whole_root``: the advice to add when mypy was given the root for want of anything naming its files."""
    try:
        items = parse_output(stdout)
    except ToolError:
        return  # not mypy's JSON: the generic failure message says what it printed
    # mypy reports the errors it met before the blocking one, which comes last
    # (an import it could not follow, then "Source file found twice under different module names")
    blocking = next((i for i in reversed(items) if i["severity"] == "error"), None)
    if blocking is not None:
        line = blocking.get("line")
        where = f"{blocking['file']}:{line}" if isinstance(line, int) and line > 0 else str(blocking["file"])
        raise ToolError(
            f"mypy stopped at a blocking error and checked nothing else: {where}: "
            f"{blocking['message']} [{blocking.get('code') or 'error'}]{whole_root}"
        )


def parse_output(text: str, config: str | None = None) -> list[dict[str, Any]]:
    """The JSON objects ``mypy -O json`` printed, one per line; ``ToolError`` on anything else.

    One line mypy prints past its formatter, as text, is taken as the note it is: with
    ``warn_unused_configs``, ``<config>: note: unused section(s): [mypy-x.*]`` for the
    configuration file it was given (``config``); it stays a note, as it is in mypy's own output."""
    unused = re.compile(re.escape(config) + r": note: (unused section\(s\): .+)") if config else None
    items = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = unused.fullmatch(line) if unused is not None else None
        if match is not None:
            items.append({"file": config, "line": -1, "column": -1, "message": match[1], "severity": "note", "code": None})
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not all(k in item for k in _ITEM_KEYS):
                raise ValueError(f"an entry lacks one of {', '.join(_ITEM_KEYS)}")
        except ValueError as exc:
            raise ToolError(f"mypy printed output that is not its JSON report ({exc}): {process.tail(line, 300)}") from None
        item["file"] = tool_path(str(item["file"]))
        items.append(item)
    return items


def to_findings(
    section: Mapping[str, Any], items: Sequence[Mapping[str, Any]], sources: source.Sources, prior: dict[str, str] | None = None
) -> list[Finding]:
    """Findings for mypy's errors (blocking past ``max_errors``) and notes (never blocking). Each
    fingerprint hashes its line with credential-looking spans masked (``source.line_hash``);
    ``prior`` gets ``source.prior_prints`` for the lines that masking changed."""
    from gatekeeper.checkers import source

    ordered = sorted(items, key=lambda i: (i["file"], i.get("line") or 0, i.get("column") or 0, str(i.get("code")), i["message"]))
    keys: list[tuple[str, ...]] = []
    unmasked: list[tuple[str, ...]] = []
    for i in ordered:
        text = sources.line(i["file"], i.get("line"))
        masked = source.masked_line(text)
        head = (str(i.get("code") or "misc"), str(i["severity"]), str(i["file"]))
        tail = _line_ref().sub("line N", str(i["message"]))
        keys.append((*head, source.snippet_hash(masked), tail))
        unmasked.append((*head, source.snippet_hash(text) if masked != text else keys[-1][3], tail))
    prints = source.occurrence_fingerprints(CHECK, keys)
    if prior is not None:
        prior.update(source.prior_prints(CHECK, keys, unmasked))
    errors = sum(1 for i in ordered if i["severity"] == "error")
    over = errors > int(section.get("max_errors", 0))
    findings = []
    for i, fp in zip(ordered, prints, strict=True):
        error = i["severity"] == "error"
        code = str(i.get("code") or "misc")
        line = i.get("line") if isinstance(i.get("line"), int) and i["line"] >= 1 else None
        end = i.get("end_line") if isinstance(i.get("end_line"), int) else None
        column = i.get("column")
        findings.append(
            Finding(
                rule_id=code,
                severity=Severity.MEDIUM if error else Severity.INFO,
                message=str(i["message"]) + (f" ({i['hint']})" if i.get("hint") else ""),
                blocking=error and over,
                location=Location(
                    str(i["file"]),
                    line=line,
                    end_line=end,
                    column=column + 1 if isinstance(column, int) and column >= 0 else None,
                ),
                fingerprint=fp,
                help_uri=f"https://mypy.readthedocs.io/en/stable/error_code_list.html#{code}" if i.get("code") else "",
                rule_name=code,
                tags=("types",),
                properties={"mypy_severity": str(i["severity"])},
            )
        )
    return findings


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _inside(root: Path, path: str) -> bool:
    return relative_to_root(root / path, root) is not None


def _python_files(root: Path, paths: Sequence[str], linked: list[str] | None = None) -> Iterator[str]:
    """The .py and .pyi files under ``paths``, leaving out hidden and build directories as mypy does,
    and links to files, which go to ``linked`` when it is given."""
    seen: set[str] = set()
    for p in paths:
        start = root / p
        candidates = [start] if start.is_file() else _candidates(start) if start.is_dir() else []
        for f in candidates:
            rel = f.relative_to(root).as_posix() if f.is_absolute() else f.as_posix()
            parts = rel.split("/")
            if f.suffix not in (".py", ".pyi") or rel in seen:
                continue
            if f.is_symlink():
                if linked is not None and f.is_file() and not any(_skipped(part) for part in parts[:-1]):
                    linked.append(rel)
                continue
            if any(_skipped(part) for part in parts[:-1]):
                continue
            seen.add(rel)
            yield rel


#: the files mypy given ``paths`` reads (``policy init`` looks for a module name found twice)
python_files = _python_files


def _skipped(name: str) -> bool:
    return (name.startswith(".") and name not in (".", "..")) or name in _SKIP_DIRS


def _candidates(start: Path) -> list[Path]:
    """What ``sorted(start.rglob("*.py*"))`` gives that ``_python_files`` may keep: the walk does not
    enter a hidden or build directory (a ``.venv`` holds thousands of files, all of them left out)
    nor, as rglob, a linked one."""
    found: list[Path] = []
    for base, dirs, names in os.walk(start):
        for name in (*dirs, *names):
            if fnmatch.fnmatchcase(name, "*.py*"):
                found.append(Path(base, name))
        dirs[:] = [d for d in dirs if not _skipped(d)]
    return sorted(found)
