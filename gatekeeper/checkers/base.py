"""What a checker is (the protocol, with every hook and its default), what it declares (its
policy options), what it gets (the context) and what gatekeeper makes of it once loaded."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from gatekeeper import process, pythoncmd, searchpath
from gatekeeper.display import Bar as Bar  # re-exported: a plugin imports the contract from here
from gatekeeper.display import BarChart as BarChart
from gatekeeper.display import Display as Display
from gatekeeper.display import Row as Row
from gatekeeper.display import RuleInfo as RuleInfo
from gatekeeper.display import ToolInfo as ToolInfo
from gatekeeper.display import Trend as Trend
from gatekeeper.display import VerdictRow as VerdictRow
from gatekeeper.display import VerdictTable as VerdictTable
from gatekeeper.errors import PluginError, PolicyError, ToolError, ToolMissing
from gatekeeper.findings import NARROWING_KINDS as NARROWING_KINDS
from gatekeeper.findings import CheckResult, Finding
from gatekeeper.findings import Narrowing as Narrowing
from gatekeeper.interpreter import Interpreter, discover
from gatekeeper.options import COMMON_OPTIONS
from gatekeeper.options import Option as Option
from gatekeeper.policy import Policy
from gatekeeper.policy.values import coerce_option
from gatekeeper.toolorigin import ToolOrigin, Wanted, locate, refuse_inside, with_binary

T = TypeVar("T")

#: how a check's metrics from several shards become one mapping
MetricsMerger = Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]]


@runtime_checkable
class Checker(Protocol):
    """A plugin: ``run(section, ctx) -> CheckResult``; never prints, exits or writes reports.

    Registered under the entry-point group ``gatekeeper.checkers``; the entry point names a
    class (instantiated without arguments) or an instance, and its name is the check's name.
    Only ``run`` and ``options`` are required: every other hook has the default ``CheckerBase``
    gives it, whether or not the plugin subclasses it (``resolve`` applies the defaults once, at
    load time).

    - ``description`` (default ``""``): one line for ``gatekeeper plugins``.
    - ``enabled_by_default`` (default True): whether the check runs when the policy does not say
      (``[checks.NAME] enabled``); a plugin that is off by default runs only where a policy turns it on.
    - ``shardable`` (default False): the checker splits its own input with ``ctx.shard``; only
      such a checker is given the shard (and runs in every shard on its share), and it must then
      record what its share covered with ``shard_record``. Every other checker runs whole, in one shard.
    - ``merge_metrics(parts)`` (default ``sum_metrics``): the metrics of the check's shards as one.
    - ``display(result)`` (default ``Display()``: every metric in a generic row): the check's
      section of the HTML report, computed from its result alone.
    - ``inspects_environment`` (default False): the check looks at the ``[environment]`` (the
      installed packages), so the result records which interpreter and scope it saw.
    - ``trends`` (default ``()``): ``Trend`` records naming the metrics that feed the history page's
      trend series (coverage, vulnerabilities, security findings by severity, licenses denied).
    - ``evidence(result)`` (default: none): files the check adds to an evidence bundle, as
      ``{file name: bytes}`` under ``<check>/``, computed from its result alone.
    - ``tool`` (default ``ToolInfo()``): the tool's name, documentation URI and rule tags for SARIF.
    - ``head_start(section)`` (default False): with this section the check starts a long tool that
      nothing can shorten (the coverage check's test command): its thread starts before every other
      check's, which start once it calls ``ctx.begun()`` (or ends, or ``engine.HEAD_START_WAIT_S``
      passes), so that the tool has the CPUs while the others start up.
    - ``rule_info(finding)`` (default ``RuleInfo()``): a SARIF rule's short description and help
      URI, given the rule's first finding.
    - ``run_imports`` (default ``()``): the modules ``run`` imports (its run path, which loading the
      checker does not import): when the check is selected, the engine imports them in a thread of
      its own as the run begins, while it waits for git's answers, so that the check finds them
      loaded; one that fails to import is left for ``run``'s own import to report.

    Narrowing is part of the contract: every way the project's own configuration or comments
    made the check look at less or honour fewer rules (an exclude, an ignored rule, a file-level
    suppression comment, a file the tool skipped) is returned in ``CheckResult.narrowing``, one
    ``Narrowing`` record each; the engine checks the records and every report shows them in one
    place. A checker that reads the project's configuration declares ``PROJECT_CONFIG`` among its
    options, and with ``project_config = "ignore"`` runs on the policy's configuration alone,
    reporting only what its tool cannot be told to disregard.
    """

    name: str
    description: str
    options: Mapping[str, Option]
    shardable: ClassVar[bool]
    enabled_by_default: ClassVar[bool]
    inspects_environment: ClassVar[bool]
    trends: tuple[Trend, ...]
    tool: ToolInfo
    run_imports: tuple[str, ...]

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Run the check with its validated policy ``section``."""
        ...

    def merge_metrics(self, parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The metrics of this check's shards (each without its ``shard`` record) merged into one."""
        ...

    def display(self, result: CheckResult) -> Display:
        """This check's section of the HTML report, from its (possibly merged or re-read) result."""
        ...

    def rule_info(self, finding: Finding) -> RuleInfo:
        """SARIF metadata of the rule ``finding`` belongs to (the rule's first finding)."""
        ...

    def evidence(self, result: CheckResult) -> dict[str, bytes]:
        """Files this check adds to an evidence bundle (``{file name: bytes}``), from its result."""
        ...

    def head_start(self, section: Mapping[str, Any]) -> bool:
        """Whether, with ``section``, the check starts ahead of the others (until ``ctx.begun()``)."""
        ...


class CheckerBase:
    """Every hook of ``Checker`` with its default: subclass it and override what differs."""

    name: str = ""
    description: str = ""
    options: Mapping[str, Option] = MappingProxyType({})
    shardable: ClassVar[bool] = False
    enabled_by_default: ClassVar[bool] = True
    inspects_environment: ClassVar[bool] = False
    trends: tuple[Trend, ...] = ()
    tool: ToolInfo = ToolInfo()
    run_imports: tuple[str, ...] = ()

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Run the check (a subclass must override this)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement run()")

    def merge_metrics(self, parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Numbers add up, lists unite, tables merge recursively (``sum_metrics``)."""
        return sum_metrics(parts)

    def display(self, result: CheckResult) -> Display:
        """No rows of its own: the report shows every metric in a generic row."""
        return Display()

    def rule_info(self, finding: Finding) -> RuleInfo:
        """Nothing beyond what the finding itself says."""
        return RuleInfo()

    def evidence(self, result: CheckResult) -> dict[str, bytes]:
        """No files of its own (its artifacts and findings are in the bundle anyway)."""
        return {}

    def head_start(self, section: Mapping[str, Any]) -> bool:
        """No head start: it starts with the others."""
        return False


_DEFAULTS = CheckerBase()

#: the option of every checker that reads the project's own configuration: ``honour`` it (and report
#: what it narrows) or ``ignore`` it (run on the policy's configuration alone)
PROJECT_CONFIG = Option(
    "str",
    "honour",
    "honour the project's own configuration and suppression comments (every narrowing reported), or ignore them",
    choices=("honour", "ignore"),
)


#: ``enabled`` for the lint, types and secrets checks: off unless the policy turns them on, since
#: their tools are optional extras and a policy written before they existed must not start failing
OFF_BY_DEFAULT = Option("bool", False, "run this check (off unless the policy turns it on)")


def honours_project(section: Mapping[str, Any]) -> bool:
    """Whether this check's policy section lets the project's own configuration apply (``project_config``)."""
    return str(section.get("project_config") or "honour") != "ignore"


@dataclass(frozen=True)
class LoadedChecker:
    """An installed checker with every hook resolved once, at load time, to a concrete value or
    callable: the engine, merge and the renderers use this, never the plugin object itself.

    The presentation hooks never raise: a plugin's hook that fails or returns the wrong type
    gives the default (the generic presentation), so a presentation bug cannot lose a report.
    ``error`` is set for a plugin that failed to load: its ``run`` raises ``PluginError``.
    """

    name: str
    description: str
    options: Mapping[str, Option]
    shardable: bool
    tool: ToolInfo
    run: Callable[[Mapping[str, Any], CheckContext], object]
    merge_metrics: MetricsMerger
    display: Callable[[CheckResult], Display]
    rule_info: Callable[[Finding], RuleInfo]
    plugin: object = None
    error: str = ""
    enabled_by_default: bool = True
    inspects_environment: bool = False
    trends: tuple[Trend, ...] = ()
    evidence: Callable[[CheckResult], dict[str, bytes]] = _DEFAULTS.evidence
    head_start: Callable[[Mapping[str, Any]], bool] = _DEFAULTS.head_start
    run_imports: tuple[str, ...] = ()
    #: the plugin's own distribution, version and entry point (``gatekeeper.checkers.load``), for its
    #: check's result and audit record; empty for gatekeeper's own checkers
    origin: Mapping[str, str] = field(default_factory=dict)

    def policy_options(self) -> Mapping[str, Option]:
        """The keys of its ``[checks.NAME]`` section: its own options, and ``enabled`` defaulting to
        ``enabled_by_default`` when it is off by default."""
        if self.enabled_by_default:
            return self.options
        return MappingProxyType(
            {"enabled": Option("bool", False, "run this check (off unless the policy turns it on)"), **self.options}
        )


def _option_problem(label: str, key: str, option: Option) -> None:
    """``PluginError`` for an option whose default its own kind refuses, or that redeclares a key every
    check section takes (``enabled`` only as a bool: off by default): a policy that left it out got
    a default no policy could write (``Option("int", "80")``), and a ``timeout_s = Option("str", ...)``
    made the engine's reading of every check's time limit a traceback."""
    common = COMMON_OPTIONS.get(key)
    if common is not None and (key != "enabled" or option.kind != "bool"):
        off = " (enabled_by_default = False turns a check off)" if key == "enabled" else ""
        raise PluginError(
            f"{label}: option {key!r} is a key every check section already takes ({common.kind}: {common.doc}); "
            f"name the checker's own option otherwise{off}"
        )
    try:
        coerce_option(option, option.default, key)
    except PolicyError as exc:
        raise PluginError(f"{label}: option {key!r} has a default its own kind ({option.kind}) refuses: {exc}") from None


def resolve(name: str, plugin: object, where: str = "") -> LoadedChecker:
    """``plugin`` (an instance) as a ``LoadedChecker`` named ``name``: hooks it lacks get their
    defaults; a hook of the wrong kind is a ``PluginError`` naming the checker (and ``where``)."""
    label = f"checker {name!r}" + (f" ({where})" if where else "")
    run = getattr(plugin, "run", None)
    options = getattr(plugin, "options", None)
    missing = [hook for hook, value in (("run", run), ("options", options)) if value is None]
    if missing:
        raise PluginError(f"{label} is not a checker: it has no {', '.join(missing)}")
    if not callable(run):
        raise PluginError(f"{label}: 'run' must be a method")
    if not isinstance(options, Mapping) or not all(isinstance(k, str) and isinstance(o, Option) for k, o in options.items()):
        raise PluginError(f"{label}: 'options' must be a mapping of Option")
    for key, option in options.items():
        _option_problem(label, key, option)
    shardable = getattr(plugin, "shardable", _DEFAULTS.shardable)
    if not isinstance(shardable, bool):
        raise PluginError(f"{label}: 'shardable' must be True or False")
    flags = {flag: getattr(plugin, flag, getattr(_DEFAULTS, flag)) for flag in ("enabled_by_default", "inspects_environment")}
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise PluginError(f"{label}: '{flag}' must be True or False")
    description = getattr(plugin, "description", _DEFAULTS.description)
    if not isinstance(description, str):
        raise PluginError(f"{label}: 'description' must be a str")
    trends = getattr(plugin, "trends", _DEFAULTS.trends)
    if not isinstance(trends, tuple) or not all(isinstance(t, Trend) for t in trends):
        raise PluginError(f"{label}: 'trends' must be a tuple of Trend")
    tool = getattr(plugin, "tool", _DEFAULTS.tool)
    if not isinstance(tool, ToolInfo):
        raise PluginError(f"{label}: 'tool' must be a ToolInfo")
    run_imports = getattr(plugin, "run_imports", _DEFAULTS.run_imports)
    if not isinstance(run_imports, tuple) or not all(isinstance(m, str) and m for m in run_imports):
        raise PluginError(f"{label}: 'run_imports' must be a tuple of module names")
    hooks = {hook: getattr(plugin, hook, None) for hook in ("merge_metrics", "display", "rule_info", "evidence", "head_start")}
    for hook, value in hooks.items():
        if value is not None and not callable(value):
            raise PluginError(f"{label}: '{hook}' must be a method")
    return LoadedChecker(
        name=name,
        description=description,
        options=MappingProxyType(dict(options)),
        shardable=shardable,
        tool=tool,
        run=run,
        merge_metrics=_merger(label, hooks["merge_metrics"] or _DEFAULTS.merge_metrics),
        display=_guarded(hooks["display"], Display, _DEFAULTS.display, Display.well_formed),
        rule_info=_guarded(hooks["rule_info"], RuleInfo, _DEFAULTS.rule_info),
        plugin=plugin,
        trends=trends,
        evidence=_guarded(hooks["evidence"], dict, _DEFAULTS.evidence, _evidence_files),
        head_start=_guarded(hooks["head_start"], bool, _DEFAULTS.head_start),
        run_imports=run_imports,
        **flags,
    )


def broken(name: str, message: str) -> LoadedChecker:
    """Stands in for a plugin that failed to load, so that its check reports ``error`` (not a pass)."""

    def run(section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        raise PluginError(message)

    return LoadedChecker(
        name=name,
        description="(failed to load)",
        options=MappingProxyType({}),
        shardable=False,
        tool=_DEFAULTS.tool,
        run=run,
        merge_metrics=_DEFAULTS.merge_metrics,
        display=_DEFAULTS.display,
        rule_info=_DEFAULTS.rule_info,
        error=message,
    )


def generic(name: str) -> LoadedChecker:
    """The defaults for a check no installed plugin provides (a report re-rendered elsewhere)."""
    return broken(name, f"no installed checker is named {name!r}")


def _guarded(
    hook: Any, kind: type[T], default: Callable[[Any], T], sound: Callable[[T], bool] = lambda _: True
) -> Callable[[Any], T]:
    if hook is None:
        return default

    def call(value: Any) -> T:
        try:
            out = hook(value)
            return out if isinstance(out, kind) and sound(out) else default(value)
        except Exception:  # a presentation bug must not lose the report: present generically
            return default(value)

    return call


def _evidence_files(files: dict[str, bytes]) -> bool:
    """Whether an ``evidence`` hook's answer is plain file names with bytes."""
    names_ok = all(isinstance(k, str) and k not in ("", ".", "..") and "/" not in k for k in files)
    return names_ok and all(isinstance(v, bytes) for v in files.values())


def _merger(label: str, hook: Callable[..., Any]) -> MetricsMerger:
    def merge(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        try:
            out = hook(parts)
        except Exception as exc:
            raise PluginError(f"{label}: merge_metrics failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(out, Mapping):
            raise PluginError(f"{label}: merge_metrics returned {type(out).__name__}, not a mapping")
        return dict(out)

    return merge


def sum_metrics(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Numbers add up, lists concatenate, tables merge recursively; anything else: the first value."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key not in out:
                out[key] = (
                    value if not isinstance(value, (dict, list)) else (dict(value) if isinstance(value, dict) else list(value))
                )
                continue
            have = out[key]
            if isinstance(value, bool) or isinstance(have, bool):
                out[key] = have and value if isinstance(have, bool) and isinstance(value, bool) else have
            elif isinstance(have, (int, float)) and isinstance(value, (int, float)):
                out[key] = have + value
            elif isinstance(have, list) and isinstance(value, list):
                out[key] = have + [v for v in value if v not in have]
            elif isinstance(have, dict) and isinstance(value, dict):
                out[key] = sum_metrics([have, value])
    return out


def shard_record(shard: tuple[int, int], inputs: Sequence[str], covered: Sequence[str]) -> dict[str, Any]:
    """What one shard of a shardable check covered, for ``merge`` to account for: the digest and
    number of every input discovered (identical in every shard) and the inputs this shard took."""
    return {
        "index": shard[0],
        "count": shard[1],
        "inputs_total": len(inputs),
        "inputs_digest": inputs_digest(inputs),
        "covered": sorted(covered),
    }


def split_by_size(files: Sequence[str], sizes: Mapping[str, int], count: int) -> list[list[str]]:
    """``count`` groups of about equal bytes: largest file first, each into the lightest group (deterministic)."""
    count = max(1, count)
    groups: list[list[str]] = [[] for _ in range(count)]
    loads = [0] * count
    for f in sorted(files, key=lambda f: (-sizes.get(f, 0), f)):
        i = min(range(count), key=lambda k: (loads[k], k))
        groups[i].append(f)
        loads[i] += sizes.get(f, 0)
    return [sorted(g) for g in groups]


def inputs_digest(inputs: Sequence[str]) -> str:
    """sha256 of the sorted input names, one a line: the same list gives the same digest."""
    return hashlib.sha256("".join(f"{name}\n" for name in sorted(inputs)).encode("utf-8")).hexdigest()


@dataclass
class CheckContext:
    """Everything a checker may use: where to look, where to write, and how to run tools."""

    root: Path
    output_dir: Path
    policy: Policy
    deadline: float  # time.monotonic() value past which tools are killed
    cache_dir: Path | None = None
    shard: tuple[int, int] | None = None  # (index starting at 1, count); only for a shardable checker
    baseline_metrics: Mapping[str, Any] = field(default_factory=dict)  # this check's metrics in --baseline (or REF's)
    #: a new-code run's REF commit: thresholds compare with REF's figures (``baseline_metrics``), patches start there
    new_code_base: str = ""
    #: REF's run in a worktree of a new-code run (``root`` is the worktree): the checkout it was made
    #: from, whose code REF's tests must not import (``checks.coverage.run`` puts REF's import roots first)
    ref_checkout: Path | None = None
    tool_python: str = sys.executable
    interpreter: Interpreter | None = None  # the environment to inspect, discovered once per run
    #: how many checks this run runs at once, this one included: with others keeping the CPUs busy,
    #: a checker may give up parallelism of its own for less CPU (never for another result)
    checks_at_once: int = 1
    tools: dict[str, ToolOrigin] = field(default_factory=dict)  # located by this check (``tool``), for its report
    #: (interpreter, top-level module) pairs this check located: a ``-m`` command of one runs without a second look
    _vetted: set[tuple[str, str]] = field(default_factory=set, repr=False)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)
    _shared_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: set by ``begun``: the engine holds the other checks back until this check's long tool has
    #: started (``engine.head_start``)
    _begun: threading.Event = field(default_factory=threading.Event, repr=False)
    #: called by ``settled``: the engine's note that the checkout may be compared before this check ends
    _on_settled: Callable[[], None] | None = field(default=None, repr=False)
    #: called by ``reading``: the engine's record of the files a check reads beyond the checkout's comparison
    _on_reading: Callable[[Iterable[str]], None] | None = field(default=None, repr=False)
    _list_files: Callable[..., list[str]] | None = field(default=None, repr=False)  # source.project_files
    #: a third-party checker's check (``LoadedChecker.origin``): ``run`` isolates every Python command it gives
    _third_party: bool = field(default=False, repr=False)

    @property
    def environment(self) -> Mapping[str, Any]:
        """The policy's ``[environment]`` section (python, scope), shared by several checkers."""
        return self.policy.environment

    @property
    def target_python(self) -> str:
        """The interpreter of the environment to inspect (``gatekeeper.interpreter.discover``)."""
        if self.interpreter is None:
            self.interpreter = discover(self.root, str(self.policy.environment.get("python") or ""))
        return self.interpreter.python

    def remaining(self) -> float:
        """Seconds left before this check's deadline."""
        return self.deadline - time.monotonic()

    def run(  # noqa: PLR0913  # subprocess.run's own keywords, and when the tool has started
        self,
        args: Sequence[str],
        *,
        timeout: float | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        on_start: Callable[[], None] | None = None,
        isolated: bool = True,
    ) -> process.Completed:
        """Run a tool through ``gatekeeper.process`` within this check's deadline (cwd defaults to the
        root); ``on_start`` is called once it has started (``process.run``). A Python interpreter runs
        isolated (``-I`` added when missing: the checkout is not on its ``sys.path``), and the module it
        runs with ``-m`` is located first as ``tool`` locates one (refused when it comes from the checkout,
        recorded for the check's report), a script it runs refused when it lies inside the root: the same
        for every checker, whatever its command says. ``isolated=False`` is for the project's own code the
        policy says to run (``checks.coverage.run``), which needs its folder on ``sys.path``: a third-party
        checker's ``isolated=False`` is a ``ToolError``."""
        if not isolated and self._third_party:  # the project's code runs only as the policy's test command says
            raise ToolError(
                "a third-party checker asked CheckContext.run for a command that is not isolated (isolated=False): "
                "only the coverage check's test command (checks.coverage.run) runs that way; run tools isolated"
            )
        left = self.remaining()
        limit = left if timeout is None else min(timeout, left)
        if args:
            program = self.refuse_program(str(args[0]))
            if isolated and pythoncmd.is_interpreter(str(args[0]), (self.tool_python,)):
                args = self._vetted_python([str(a) for a in args], cwd or self.root)
            elif isolated and program and (script := pythoncmd.console_script(program)) is not None:
                self._vet_module(*script)  # a console script: the module it imports, as for -m
        return process.run(args, timeout=limit, cwd=cwd or self.root, env=env, stdin=stdin, on_start=on_start)

    def _vetted_python(self, args: list[str], cwd: str | os.PathLike[str]) -> list[str]:
        """``args`` (a Python command) isolated, its ``-m`` module located (``ToolError`` when it comes
        from the checkout) and its script refused when inside the root."""
        args = pythoncmd.isolate(args)
        command = pythoncmd.read(args)
        if command.kind == "script":
            refuse_inside(self.root, os.path.join(cwd, command.target), "the script")
        elif command.kind == "module" and command.target:
            self._vet_module(args[0], command.target)
        return args

    def _vet_module(self, python: str, module: str) -> None:
        """Locate the top-level package of ``module`` in ``python`` (``tool``), unless this check has."""
        top = module.split(".")[0]
        if (os.path.abspath(python), top) not in self._vetted:
            self._locate(python, Wanted(top, "", "install it into that interpreter"))

    def begun(self) -> None:
        """Say that this check's longest tool has started: a run that started this check ahead of
        the others, so that its process has the CPUs first, starts them now (the engine also starts
        them when the check ends or after a short wait, so a check that never says it loses nothing)."""
        self._begun.set()

    def wait_begun(self, timeout: float) -> bool:
        """Wait until ``begun`` (at most ``timeout`` seconds); whether it was said."""
        return self._begun.wait(timeout)

    def settled(self) -> None:
        """Say that nothing this check still runs can write into the checkout: every tool that runs
        the project's code, or code the policy lets run, has ended, and what is left only reads. The
        engine then compares the checkout with its snapshot while the check finishes, once every other
        check has ended or said so too; a check that never says it is compared after it ends."""
        if self._on_settled is not None:
            self._on_settled()

    def reading(self, paths: Iterable[str]) -> None:
        """Say that this check reads ``paths`` (relative to the root), for its tool or its cache keys,
        before it reads them: each the checkout's comparison does not cover (a file git ignores; any
        file outside a git work tree) is compared too, from now until every check has ended
        (``gatekeeper.checkoutreads``), so one rewritten meanwhile makes the run an error and takes back
        what it stored in the cache."""
        if self._on_reading is not None:
            self._on_reading(paths)

    def project_files(
        self, suffixes: str | Iterable[str] = (), *, paths: Iterable[str] = (), exclude: Iterable[str] = ()
    ) -> list[str]:
        """The project's files as the built-in checks and the checkout's comparison see them: every
        regular file git tracks (a checked-out submodule's included) or does not track but does not
        ignore, sorted, relative to the root with ``/``; gatekeeper's own report and cache folders and
        Python's bytecode caches left out. ``suffixes`` keeps the names ending with one of them
        (``(".py", ".pyi")``), ``paths`` those under one of these relative folders or files (a
        section's ``paths``), ``exclude`` drops those matching a glob or folder name (a section's
        ``exclude``). Every file returned is named to ``reading``, so each is compared until every
        check has ended. ``ToolError`` outside a git work tree (the check is an error)."""
        if self._list_files is None:  # the engine gives it (gatekeeper.checkers.source, which imports this module)
            raise ToolError("project_files: this context was not made by gatekeeper's engine, which lists the project")
        return self._list_files(self, suffixes, paths=paths, exclude=exclude)

    def refuse_program(self, program: str) -> str:
        """``ToolError`` when ``program`` (a path, or a name looked up on ``PATH``) lies inside the
        root: a tool this check starts never comes from the checkout. The file it names ("" when none)."""
        found = searchpath.which(program) or ""  # PATH's absolute folders: a relative one is the checkout
        refuse_inside(self.root, found, "the program")
        return found

    def tool(
        self, module: str, distribution: str, install: str, *, binary: Callable[[ToolOrigin], str] | None = None
    ) -> ToolOrigin:
        """The tool ``module`` in the tool interpreter (``gate.tool_python``, default gatekeeper's own),
        checked never to come from the checkout (``gatekeeper.toolorigin``), and recorded for the
        check's report. ``binary`` names the program its package ships (run only once the package is
        known not to be the checkout's). ``ToolMissing`` says ``install``; a refusal is a ``ToolError``."""
        return self._locate(self.tool_python, Wanted(module, distribution, install), binary)

    def _locate(self, python: str, wanted: Wanted, binary: Callable[[ToolOrigin], str] | None = None) -> ToolOrigin:
        """``tool``'s work, in the interpreter ``python``: located once per run, recorded for this check."""
        source = "gatekeeper" if python == sys.executable else "tool_python" if python == self.tool_python else "project"

        def find() -> ToolOrigin:
            origin = locate(lambda a: self.run(a, timeout=60), self.root, python, source, wanted)
            return with_binary(origin, self.root, binary(origin)) if binary is not None else origin

        origin = self.shared(f"tool:{python}:{wanted.module}:{wanted.distribution}", find)
        self._vetted.add((os.path.abspath(python), wanted.module.split(".")[0]))
        self.tools[wanted.distribution or origin.name] = origin
        return origin

    def vet_tool(self, module: str, distribution: str) -> ToolOrigin | None:
        """``tool`` for a checker that reports a missing tool in its own words: None when the tool
        interpreter lacks it (or cannot be run), a ``ToolError`` when it comes from the checkout."""
        try:
            return self.tool(module, distribution, "")
        except ToolMissing:
            return None

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """A value computed once per run and shared between checkers (e.g. the package inventory).

        The first caller computes it; concurrent callers wait for that result. A factory that
        raises is not cached, so every checker that needs the value sees the error itself.
        """
        with self._shared_lock:
            slot = self._shared.get(key)
            if slot is None:
                slot = self._shared[key] = _Once()
        value: T = slot.get(factory)
        return value


class _Once:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._value: Any = None

    def get(self, factory: Callable[[], Any]) -> Any:
        with self._lock:
            if not self._done:
                self._value = factory()
                self._done = True
            return self._value
