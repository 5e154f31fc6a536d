"""One checker run in isolation: whatever it raises becomes an ``error`` result naming the checker,
and whatever it returns is checked before the gate believes it (a well-formed ``CheckResult``,
sound findings and narrowing records, JSON-serialisable metrics); anything else fails closed."""

from __future__ import annotations

import json
import math
import queue
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from gatekeeper import fileio, process, readback, spawnwatch
from gatekeeper.checkers.base import CheckContext, LoadedChecker
from gatekeeper.errors import GatekeeperError, ToolTimeout
from gatekeeper.findings import (
    AppliedWaiver,
    CheckResult,
    Finding,
    Location,
    Narrowing,
    Package,
    Severity,
    Status,
    decide_status,
)

_T = TypeVar("_T")


def run_one(
    name: str, checker: LoadedChecker, section: Mapping[str, Any], ctx: CheckContext, done: queue.Queue[tuple[str, object]]
) -> None:
    """Run ``checker`` on its section and put (``name``, what it returned or an ``error`` result) on
    ``done``; never raises, whatever the checker does (SystemExit and KeyboardInterrupt included)."""
    t0 = time.monotonic()
    try:
        result = _with_origin(checker.run(section, ctx), ctx)
    except ToolTimeout as exc:
        message = str(exc)
        if time.monotonic() >= ctx.deadline - 0.5:
            # the check's own limit ran out: name it, since the tool only had what was left of it
            message = f"timed out after {ctx.deadline - t0:.0f}s (raise gate.timeout_s or checks.{name}.timeout_s): {exc}"
        result = error_result(name, message, time.monotonic() - t0)
    except GatekeeperError as exc:
        result = error_result(name, str(exc), time.monotonic() - t0)
    except Exception as exc:  # a checker's bug must not take the gate down: isolate it
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
        result = error_result(name, f"checker crashed: {type(exc).__name__}: {exc}{at}", time.monotonic() - t0)
    except BaseException as exc:  # SystemExit or KeyboardInterrupt raised inside a plugin
        result = error_result(name, f"checker aborted: {type(exc).__name__}: {exc}", time.monotonic() - t0)
    if checker.origin and isinstance(result, CheckResult) and (outside := _outside_root(result) or _unwaivable(result)):
        result = error_result(name, f"checker returned a malformed result: {outside}", time.monotonic() - t0)
    if checker.origin:  # a third-party check: what it started itself and left running ends with it
        for killed in process.kill_strays():
            spawnwatch.note(name, f"{killed} (still running as the check ended: killed)")
    done.put((name, result))


def _outside_root(result: CheckResult) -> str:
    """The first finding of a third-party check whose location is not a path relative to the root
    (absolute, or climbing out with ``..``), named; empty when there is none. Such a path named a
    file the SARIF file re-rooted (``/tmp/x/app.py`` as the checkout's ``tmp/x/app.py``) or left
    outside the repository, and fingerprints built from it changed with the folder the run was in. A
    finding without a location is located by its ``manifest`` property (a path, or a table with one),
    as the SARIF and GitLab reports read it: the same holds of that path."""
    for i, f in enumerate(result.findings):
        path: object = f.location.path if isinstance(f, Finding) and isinstance(f.location, Location) else ""
        what = "located at"
        if isinstance(f, Finding) and f.location is None and isinstance(f.properties, Mapping):
            manifest = f.properties.get("manifest")
            path = manifest.get("path") if isinstance(manifest, Mapping) else manifest
            what = "located by its manifest property at"
        if isinstance(path, str) and path and not fileio.inside(path):
            shown = path if len(path) <= 200 else path[:200] + "…"
            return (
                f"finding {i + 1} ({f.rule_id!r}) is {what} {shown!r}, which is not a path relative to the "
                "project root: a Location's path is relative to ctx.root, with '/' (path.relative_to(ctx.root).as_posix())"
            )
    return ""


def _enum_hint(value: object, kind: type[Status] | type[Severity]) -> str:
    """How to say ``value`` (a status or severity a checker gave) as the contract wants it: a string
    that is one of ``kind``'s values is its member (``Status.PASS``), never the string itself."""
    names = {m.value: m.name for m in kind}
    if isinstance(value, str) and value.lower() in names:
        return f": use {kind.__name__}.{names[value.lower()]} (gatekeeper.findings.{kind.__name__}), not the string"
    return f": one of {', '.join(f'{kind.__name__}.{m.name}' for m in kind)} (gatekeeper.findings.{kind.__name__})"


def _unwaivable(result: CheckResult) -> str:
    """The first finding of a third-party check with an empty ``rule_id``, named; empty when there is
    none. Waivers match a finding by its rule (SARIF groups findings by it too), so such a finding
    could never be waived, only fixed or baselined."""
    for i, f in enumerate(result.findings):
        if isinstance(f, Finding) and isinstance(f.rule_id, str) and not f.rule_id.strip():
            where = f" at {f.location.path}" if isinstance(f.location, Location) and f.location.path else ""
            text = str(f.message)
            message = text if len(text) <= 80 else text[:80] + "…"
            return (
                f"finding {i + 1} ({message!r}{where}) has an empty rule_id: a waiver names the rule it waives, "
                "so this finding could never be waived; give every finding the tool's rule (Finding.rule_id)"
            )
    return ""


def _with_origin(result: object, ctx: CheckContext) -> object:
    """The result with where its tool came from, as the check located it (``CheckContext.tool``):
    the report names the binary that ran, its version and its origin, whatever the checker said."""
    if not isinstance(result, CheckResult) or not ctx.tools or result.tool_origin:
        return result
    origin = ctx.tools.get(result.tool_name) or next(iter(ctx.tools.values()))
    return replace(
        result,
        tool_name=result.tool_name or origin.name,
        tool_version=result.tool_version or origin.version,
        tool_origin=origin.describe(),
    )


def sanitize(name: str, result: Any, elapsed: float) -> CheckResult:
    """Fail closed on anything that is not a well-formed CheckResult."""
    if not isinstance(result, CheckResult):
        return error_result(name, f"checker returned {type(result).__name__}, not a CheckResult")
    if not all(isinstance(f, Finding) for f in result.findings):
        return error_result(name, "checker returned findings that are not Finding objects")
    if not isinstance(result.status, Status):
        return error_result(name, f"checker returned an invalid status {result.status!r}{_enum_hint(result.status, Status)}")
    problem = _result_problem(result)
    if problem:
        return error_result(name, f"checker returned a malformed result: {problem}")
    fixed = replace(result, name=name, duration_s=result.duration_s or elapsed)
    try:
        fixed = _writable(fixed)
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        return error_result(name, f"checker returned a result that cannot be written as JSON ({type(exc).__name__}: {exc})")
    unreadable = _beyond_readback(fixed)
    if unreadable:
        return error_result(name, f"checker returned a result gatekeeper could not read back: {unreadable}")
    if fixed.status is Status.ERROR and not fixed.error:
        fixed = replace(fixed, error=fixed.summary or "the check could not run")
    if fixed.status is Status.PASS and decide_status(fixed.findings) is Status.FAIL:
        fixed = replace(fixed, status=Status.FAIL)
    return fixed


def _result_problem(result: CheckResult) -> str:
    """What is ill-typed in a result (empty when nothing): reports and waivers rely on these types."""
    for attr in ("summary", "tool_name", "tool_version"):
        if not isinstance(getattr(result, attr), str):
            return f"{attr} is {type(getattr(result, attr)).__name__}, not str"
    if result.error is not None and not isinstance(result.error, str):
        return f"error is {type(result.error).__name__}, not str"
    if not isinstance(result.metrics, Mapping) or not isinstance(result.artifacts, Mapping):
        return "metrics and artifacts must be mappings"
    for i, f in enumerate(result.findings):
        problem = _finding_problem(f)
        if problem:
            return f"finding {i + 1} ({f.rule_id!r}): {problem}"
    if not isinstance(result.narrowing, tuple):
        return "narrowing must be a tuple of Narrowing"
    for i, n in enumerate(result.narrowing):
        problem = n.problem() if isinstance(n, Narrowing) else f"{type(n).__name__}, not Narrowing"
        if problem:
            return f"narrowing record {i + 1}: {problem}"
    return ""


# How many levels of gatekeeper.json's reading sit above a check's metrics and artifacts, and above
# a finding's properties ({"checks": [{"metrics": ..., "findings": [{"properties": ...}]}]}, the
# streamed reader counting one more): their own nesting may use the rest of readback.MAX_DEPTH.
_CHECK_DEPTH, _FINDING_DEPTH = 4, 6


def _beyond_readback(result: CheckResult) -> str:
    """Which value of a writable result ``report``, ``merge`` and ``bundle`` would refuse to read
    back (``readback``: a number beyond +-2**63, NaN or infinite, nesting past the limit), named by
    its place (``metrics.score is 1e+300 ...``); empty when every value reads back."""
    for field in ("metrics", "artifacts"):
        problem = _first_beyond(getattr(result, field), field, _CHECK_DEPTH)
        if problem:
            return problem
    for i, f in enumerate(result.findings):
        problem = _first_beyond(f.properties, f"finding {i + 1} ({f.rule_id}) properties", _FINDING_DEPTH)
        if problem:
            return problem
    return ""


def _first_beyond(value: Any, where: str, depth: int) -> str:
    stack: list[tuple[Any, str, int]] = [(value, where, depth + 1)]
    while stack:
        item, path, level = stack.pop()
        if isinstance(item, (Mapping, list, tuple)):
            if level > readback.MAX_DEPTH:
                return f"{path} nests past the {readback.MAX_DEPTH} levels gatekeeper reads back"
            pairs = item.items() if isinstance(item, Mapping) else enumerate(item)
            stack.extend((v, f"{path}.{k}" if isinstance(item, Mapping) else f"{path}[{k}]", level + 1) for k, v in pairs)
        elif isinstance(item, float) and not math.isfinite(item):
            return f"{path} is {item!r}, which JSON cannot hold"
        elif isinstance(item, (int, float)) and not isinstance(item, bool) and abs(item) > readback.MAX_NUMBER:
            digits = len(str(abs(item))) if isinstance(item, int) and item.bit_length() < 4000 else "thousands of"
            shown = f"{item:.3g}" if isinstance(item, float) else f"an integer of {digits} digits"
            return f"{path} is {shown}, beyond the +-2**63 gatekeeper reads back"
    return ""


def _finding_problem(f: Finding) -> str:
    if not isinstance(f.severity, Severity):
        return f"severity {f.severity!r} is not a Severity{_enum_hint(f.severity, Severity)}"
    for attr in ("rule_id", "message", "fingerprint", "help_uri", "rule_name"):
        if not isinstance(getattr(f, attr), str):
            return f"{attr} is {type(getattr(f, attr)).__name__}, not str"
    if not isinstance(f.blocking, bool):
        return "blocking is not a bool"
    if not isinstance(f.tags, tuple) or not all(isinstance(t, str) for t in f.tags):
        return "tags must be a tuple of str"
    if not isinstance(f.properties, Mapping):
        return "properties must be a mapping"
    loc = f.location
    if loc is not None:
        if not isinstance(loc, Location) or not isinstance(loc.path, str):
            return "location must be a Location with a str path"
        if any(n is not None and (isinstance(n, bool) or not isinstance(n, int)) for n in (loc.line, loc.end_line, loc.column)):
            return "location line, end_line and column must be int or None"
    pkg = f.package
    if pkg is not None and not (isinstance(pkg, Package) and isinstance(pkg.name, str) and isinstance(pkg.version, str)):
        return "package must be a Package with str name and version"
    if f.waiver is not None and not isinstance(f.waiver, AppliedWaiver):
        return "waiver must be an AppliedWaiver or None"
    return ""


def _writable(result: CheckResult) -> CheckResult:
    """``result`` as every report can write it: JSON-serialisable and valid UTF-8.

    A file name that is not UTF-8 reaches us with lone surrogates (Python's surrogateescape);
    those become backslash escapes (``\\xff``), and values JSON cannot hold (sets, paths) become
    lists and strings, instead of crashing the renderers after the checks ran. Judged one finding
    at a time: the JSON text of 100,000 findings at once would take hundreds of MB.
    """
    head = _plain(replace(result, findings=()).to_dict(), CheckResult.from_dict)
    findings: list[Finding] | None = None
    for i, finding in enumerate(result.findings):
        fixed = _plain(finding.to_dict(), Finding.from_dict)
        if fixed is not None and findings is None:
            findings = list(result.findings[:i])
        if findings is not None:
            findings.append(fixed or finding)
    if head is None and findings is None:
        return result
    return replace(
        head or result,
        findings=tuple(findings) if findings is not None else result.findings,
        duration_s=result.duration_s,
    )


def _plain(data: dict[str, Any], build: Callable[[dict[str, Any]], _T]) -> _T | None:
    """None when ``data`` is writable as it is, else ``build`` of its writable copy."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
        return None
    except (TypeError, ValueError, UnicodeEncodeError):
        pass
    return build(_unsurrogate(json.loads(json.dumps(data, default=_jsonable))))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _unsurrogate(value: Any) -> Any:
    if isinstance(value, str):
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that no undecodable byte produced
            raw = value.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {_unsurrogate(k): _unsurrogate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsurrogate(v) for v in value]
    return value


def error_result(name: str, message: str, elapsed: float = 0.0) -> CheckResult:
    """An ``error`` result of check ``name`` saying ``message``."""
    return CheckResult(name=name, status=Status.ERROR, summary=message, error=message, duration_s=elapsed)


def third_party(
    results: dict[str, CheckResult], checkers: Mapping[str, LoadedChecker], around: Mapping[str, list[str]]
) -> dict[str, CheckResult]:
    """``results`` with the plugin that decided each third-party check named (``checker``, from its
    metadata), and each that started a process around ``CheckContext.run`` an ``error`` saying so:
    that process ran without the layer's isolation, deadline and vetting, so the check proves nothing."""
    out: dict[str, CheckResult] = {}
    for name, result in results.items():
        starts = around.get(name)
        if starts:
            shown = "; ".join(starts[:3]) + (f"; and {len(starts) - 3} more" if len(starts) > 3 else "")
            result = error_result(
                name,
                f"the checker started a process around CheckContext.run ({shown}): gatekeeper could not isolate, "
                "vet or time-limit it, so the check proves nothing; run tools through ctx.run",
                result.duration_s,
            )
        out[name] = replace(result, checker=checkers[name].origin) if checkers[name].origin else result
    return out
