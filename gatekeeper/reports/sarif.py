"""``gatekeeper.sarif``: SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``).

One run per check that ran (status pass or fail), each with its own ``automationDetails.id``
category, because GitHub rejects an upload holding two runs of one tool and category. A check that
errored or was skipped gets no run: an empty run would tell code scanning that its earlier alerts
are fixed, so they are kept open instead and the omission is listed in the log's ``properties``.

Finding ``properties`` keys read here (all optional, set by checkers):

- ``manifest``: ``{"path": ..., "line": ...}`` (or a path string): where a package finding without
  a ``location`` is declared (a requirements line, pyproject.toml). Without it, and for other
  findings without a location, the result points at ``pyproject.toml`` line 1 (``DEFAULT_MANIFEST``),
  since code scanning only shows results that have a location. A manifest whose path is empty says
  the repository has no such file: the result then has only a logical location (the package), never
  a path that does not exist.
- ``severity_score`` (or ``cvss_score``): a 0.0-10.0 score used as the rule's ``security-severity``.
- ``description``: the rule's full description and help text (e.g. an advisory's details).
- ``cwe``: a CWE number (or list) added to the rule's tags as ``external/cwe/cwe-N``.
- ``aliases``, ``fixed_versions``, ``confidence``: shown in the help text and the result's properties.

``Location.column`` is taken as 0-based (bandit's ``col_offset``), so SARIF's 1-based
``startColumn`` is ``column + 1``.

The log is indented, but each result is written compact on a line of its own: json's C encoder
writes it several times as fast as an indenting one, and the file is about half the size.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # importing typing_extensions costs every start-up about 2 ms where typing has it
    from typing_extensions import assert_never

from gatekeeper.checkers import metadata_headers, presenter
from gatekeeper.display import shorten
from gatekeeper.findings import CheckResult, Finding, GateResult, Severity, Status, fingerprint
from gatekeeper.reports._common import finding_state, one_line, ordered_checks, partial_scope, priority
from gatekeeper.reports._stream import iter_json, placeholder

if TYPE_CHECKING:
    from gatekeeper.checkers.base import LoadedChecker

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

#: GitHub's hard limit of results per run
#: (https://docs.github.com/en/code-security/code-scanning/troubleshooting-sarif-uploads/results-exceed-limit)
MAX_RESULTS_PER_RUN = 25_000
#: GitHub rejects SARIF files above 10 MB (it measures them gzip-compressed); we stay under it
#: uncompressed, to be safe: first without indentation, then by leaving out the least severe results.
MAX_BYTES = 10_000_000
#: GitHub rejects a rule with more than 20 tags
MAX_TAGS_PER_RULE = 20
#: GitHub code scanning truncates a rule's fullDescription past this many characters
MAX_FULL_DESCRIPTION = 1024
#: a result's message, and the rule help a message becomes, past this many characters are cut (at a
#: sentence or word; gatekeeper.json keeps them whole): one finding's 5 MB message, three times in
#: the file, put it past MAX_BYTES and left that blocking finding out of the SARIF file altogether
MAX_MESSAGE = 4000
#: characters a help link keeps as they are (everything else is percent-encoded)
_URL_SAFE = ":/?#@!$&'*+,;=%~-._"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#|!~])")

DEFAULT_MANIFEST = "pyproject.toml"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "gatekeeper/v1"

#: security-severity per severity, inside GitHub's bands
#: (over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 3.9 or less low)
SECURITY_SEVERITY: Mapping[Severity, float] = {
    Severity.CRITICAL: 9.5,
    Severity.HIGH: 8.0,
    Severity.MEDIUM: 5.5,
    Severity.LOW: 2.0,
    Severity.INFO: 0.0,
}

SECURITY_TAGS = frozenset({"security", "vulnerability"})


def prepare() -> None:
    """Read gatekeeper's home page from its metadata ahead of rendering (``reports.warm_up``)."""
    information_uri()


@lru_cache(maxsize=1)
def information_uri() -> str:
    """gatekeeper's home page from its installed metadata (``[project.urls]``), or a placeholder
    (read once: the installation does not change under a running process). Its headers alone are
    parsed (``checkers.metadata_headers``): the whole of it, the README after them, cost about 3 ms."""
    try:
        meta = metadata_headers(metadata.distribution("gatekeeper"))
    except metadata.PackageNotFoundError:
        return "https://pypi.org/project/gatekeeper/"
    for entry in meta.get_all("Project-URL") or ():
        label, _, url = str(entry).partition(",")
        if label.strip().lower() in ("homepage", "home", "source", "repository") and url.strip():
            return url.strip()
    home = meta["Home-page"] if "Home-page" in meta else ""
    return str(home) if home else "https://pypi.org/project/gatekeeper/"


def level(severity: Severity) -> str:
    """SARIF ``level`` for a severity: critical/high ``error``, medium ``warning``, low/info ``note``."""
    if severity is Severity.CRITICAL or severity is Severity.HIGH:
        return "error"
    if severity is Severity.MEDIUM:
        return "warning"
    if severity is Severity.LOW or severity is Severity.INFO:
        return "note"
    assert_never(severity)


def render_sarif(
    result: GateResult,
    *,
    max_results: int = MAX_RESULTS_PER_RUN,
    max_bytes: int = MAX_BYTES,
    checkers: Mapping[str, LoadedChecker] | None = None,
) -> str:
    """``gatekeeper.sarif``: SARIF 2.1.0 with one run per check that ran, within GitHub's limits.

    Each run's tool, rule tags and rule metadata come from its checker's ``tool`` and
    ``rule_info`` hooks, looked up by name in ``checkers`` (default: the installed ones).

    Above ``max_results`` per run or ``max_bytes`` in all, the least severe results are left out
    and the run says how many (``properties.gatekeeper.truncated`` and a tool notification).
    """
    return "".join(iter_render_sarif(result, max_results=max_results, max_bytes=max_bytes, checkers=checkers))


def iter_render_sarif(
    result: GateResult,
    *,
    max_results: int = MAX_RESULTS_PER_RUN,
    max_bytes: int = MAX_BYTES,
    checkers: Mapping[str, LoadedChecker] | None = None,
) -> Iterator[str]:
    """``render_sarif``'s text in chunks: each result is encoded once, kept while the text fits the
    size limit (so at most ``max_bytes`` is held) and only counted beyond it, to decide how much to
    leave out; memory stays flat with the findings."""
    checks = [c for c in ordered_checks(result) if c.status in (Status.PASS, Status.FAIL)]
    candidates = {c.name: sorted(c.findings, key=priority) for c in checks}  # what truncation keeps first
    keep = {name: min(len(found), max_results) for name, found in candidates.items()}
    plan = _Plan(result, information_uri(), max_results, max_bytes, {c.name: presenter(c.name, checkers) for c in checks})
    indent: int | None = 2

    def chunks() -> Iterator[str]:
        plan.lists.clear()
        log = _log(plan, checks, candidates, keep)
        yield from iter_json(log, plan.lists, indent=indent, compact_items=True)  # a result per line
        yield "\n"

    while True:
        # one pass: the text is kept while it fits (at most max_bytes, GitHub's 10 MB), else only counted
        kept: list[str] | None = []
        size = 0
        for chunk in chunks():
            size += len(chunk) if chunk.isascii() else len(chunk.encode("utf-8"))
            if kept is not None:
                if size > max_bytes:
                    kept = None
                else:
                    kept.append(chunk)
        if kept is not None:
            yield from kept
            return
        if not any(keep.values()):  # nothing left to leave out
            yield from chunks()
            return
        if indent is not None:  # first drop the indentation, then results
            indent = None
            continue
        ratio = max_bytes / size * 0.98
        keep = {name: int(n * ratio) for name, n in keep.items()}


@dataclass(frozen=True, eq=False, repr=False)
class _Plan:
    """What every run of one SARIF file shares: the result, gatekeeper's URI, GitHub's limits and
    the loaded checker presenting each check."""

    result: GateResult
    uri: str
    max_results: int
    max_bytes: int
    checkers: Mapping[str, LoadedChecker]
    #: each run's results, encoded one at a time when the file is written (``_stream.iter_json``)
    lists: dict[str, Callable[[], Iterable[Any]]] = field(default_factory=dict)


def _log(
    plan: _Plan, checks: Sequence[CheckResult], candidates: Mapping[str, list[Finding]], keep: Mapping[str, int]
) -> dict[str, Any]:
    result = plan.result
    runs = []
    for check in checks:
        found = candidates[check.name]
        runs.append(_run(plan, check, found[: keep[check.name]], len(found)))
    omitted = [
        {"check": c.name, "status": c.status.value, "reason": c.error or c.summary}
        for c in ordered_checks(result)
        if c.status not in (Status.PASS, Status.FAIL)
    ]
    props: dict[str, Any] = {"verdict": result.verdict.value, "started_at": result.started_at}
    if partial := partial_scope(result):  # a pass of part of the policy gates no commit
        props["scope"] = f"{partial}: it gates no commit"
    commit = result.repository.get("commit")
    if commit:
        props["commit"] = commit
    if omitted:
        props["omitted_checks"] = omitted
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs, "properties": {"gatekeeper": props}}


def _run(plan: _Plan, check: CheckResult, findings: Sequence[Finding], total: int) -> dict[str, Any]:
    """One check's run with the ``findings`` kept of its ``total``."""
    result, uri, max_results, max_bytes = plan.result, plan.uri, plan.max_results, plan.max_bytes
    checker = plan.checkers[check.name]
    tool_name = checker.tool.name or check.tool_name or check.name
    tool_uri = checker.tool.uri or uri
    driver: dict[str, Any] = {
        "name": f"gatekeeper-{check.name}",
        "fullName": f"gatekeeper {check.name} check ({check.tool_name or tool_name})",
        "version": result.tool_version,
        "semanticVersion": result.tool_version,
        "informationUri": uri,
        "rules": _rules(check, findings, tool_uri, checker),
    }
    tool: dict[str, Any] = {"driver": driver}
    if check.tool_name or checker.tool.name:  # the checker's ToolInfo names the tool when the result does not
        extension: dict[str, Any] = {"name": check.tool_name or checker.tool.name, "informationUri": tool_uri}
        if check.tool_version:
            extension["version"] = check.tool_version
        tool["extensions"] = [extension]
    index = {rule["id"]: i for i, rule in enumerate(driver["rules"])}
    invocation: dict[str, Any] = {"executionSuccessful": True}
    run_props: dict[str, Any] = {"status": check.status.value, "summary": check.summary}
    if len(findings) < total:
        cut = total - len(findings)
        why = (
            f"GitHub accepts at most {max_results:,} results per run"
            if len(findings) == min(total, max_results)
            else f"GitHub accepts SARIF files of at most {max_bytes:,} bytes"
        )
        text = (
            f"{cut:,} of {total:,} {check.name} findings were left out of this SARIF file ({why}); "
            "the most severe were kept. gatekeeper.json and the HTML report list them all."
        )
        invocation["toolExecutionNotifications"] = [{"level": "warning", "message": {"text": text}}]
        run_props["truncated"] = {"kept": len(findings), "total": total, "left_out": cut, "reason": why}
    if check.narrowing:
        invocation["toolConfigurationNotifications"] = narrowing_notifications(check)
        run_props["narrowing"] = {
            "records": len(check.narrowing),
            "suppressed": sum(n.suppressed for n in check.narrowing if isinstance(n.suppressed, int)),
        }
    root = str(result.repository.get("root") or "")
    srcroot: dict[str, Any] = {"description": {"text": "The repository root; result paths are relative to it."}}
    if root.startswith("/"):
        srcroot["uri"] = "file://" + quote(root.rstrip("/") + "/")
    new_code = isinstance(result.extra.get("new_code"), Mapping)
    plan.lists[check.name] = lambda: (_result(check, f, index, new_code) for f in findings)
    return {
        "tool": tool,
        "automationDetails": {"id": f"gatekeeper/{check.name}/"},
        "invocations": [invocation],
        "originalUriBaseIds": {SRCROOT: srcroot},
        "columnKind": "unicodeCodePoints",
        "results": placeholder(check.name),  # encoded one result at a time as the file is written
        "properties": {"gatekeeper": run_props},
    }


#: narrowing records a run lists as notifications (the rest are counted in one more)
MAX_NARROWING = 200


def narrowing_notifications(check: CheckResult) -> list[dict[str, Any]]:
    """The project's narrowing of ``check`` as SARIF 2.1.0 tool configuration notifications (3.58.5,
    ``toolConfigurationNotifications``): one ``note`` per record, its descriptor ``narrowing/<kind>``,
    located at the setting or comment, with the files it left out and what it suppressed as properties."""
    notes: list[dict[str, Any]] = []
    for n in check.narrowing[:MAX_NARROWING]:
        text = f"{n.detail}: {n.effect}" if n.detail else n.effect
        if n.suppressed is not None:
            text += f" ({n.suppressed} finding{'s' if n.suppressed != 1 else ''} suppressed)"
        note: dict[str, Any] = {
            "level": "note",
            "descriptor": {"id": f"narrowing/{n.kind}"},
            "message": {"text": _clip(text or n.kind, 1000)},
            "properties": {"kind": n.kind, "files": list(n.files[:20]), "files_total": len(n.files), "suppressed": n.suppressed},
        }
        if n.source:
            region = {"startLine": n.line} if isinstance(n.line, int) and n.line >= 1 else {}
            physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(n.source), "uriBaseId": SRCROOT}}
            if region:
                physical["region"] = region
            note["locations"] = [{"physicalLocation": physical}]
        notes.append(note)
    if len(check.narrowing) > MAX_NARROWING:
        more = len(check.narrowing) - MAX_NARROWING
        notes.append({"level": "note", "message": {"text": f"{more} more narrowing records; gatekeeper.json lists them all."}})
    return notes


def _rules(check: CheckResult, findings: Sequence[Finding], tool_uri: str, checker: LoadedChecker) -> list[dict[str, Any]]:
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    rules = []
    for rule_id in sorted(by_rule):
        group = sorted(by_rule[rule_id], key=lambda f: (*f.sort_key(), f.fingerprint))
        first = group[0]
        worst = max((f.severity for f in group), key=lambda s: s.rank)
        name = first.rule_name or rule_id
        info = checker.rule_info(first)
        short = f"{rule_id}: {name}" if first.rule_name and first.rule_name != rule_id else rule_id
        short = info.short_description or short
        description = (
            one_line(str(first.properties.get("description") or ""))
            or one_line(first.rule_name)
            or (one_line(first.message) if len({f.message for f in group}) == 1 else "")
            or f"{check.name} rule {rule_id}"
        )
        tags = _tags(checker.tool.tags, group)
        props: dict[str, Any] = {"tags": tags}
        if SECURITY_TAGS & set(tags):
            props["security-severity"] = f"{max(_score(f) for f in group):.1f}"
        rule: dict[str, Any] = {
            "id": rule_id,
            "shortDescription": {"text": short[:1000]},
            "fullDescription": {"text": _clip(description or short, MAX_FULL_DESCRIPTION)},
            "help": _help(rule_id, first, description),
            "helpUri": _web(first.help_uri) or _web(info.help_uri) or tool_uri,
            "defaultConfiguration": {"level": level(worst)},
            "properties": props,
        }
        if first.rule_name:
            rule["name"] = first.rule_name
        rules.append(rule)
    return rules


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a sentence or word, an ellipsis marking the cut."""
    return shorten(text, limit)


def _tags(check_tags: Sequence[str], group: Sequence[Finding]) -> list[str]:
    base = list(check_tags)
    extra: set[str] = set()
    for f in group:
        extra.update(t for t in f.tags if t)
        cwe = f.properties.get("cwe")
        for value in cwe if isinstance(cwe, (list, tuple)) else [cwe]:
            number = str(value or "").upper().removeprefix("CWE-").strip()
            if number.isdigit():
                extra.add(f"external/cwe/cwe-{int(number)}")
    tags = base + sorted(extra - set(base))
    return tags[:MAX_TAGS_PER_RULE]


def _score(finding: Finding) -> float:
    for key in ("severity_score", "cvss_score"):
        value = finding.properties.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return min(10.0, max(0.0, float(value)))
        if isinstance(value, str):
            try:
                return min(10.0, max(0.0, float(value)))
            except ValueError:
                pass
    return SECURITY_SEVERITY[finding.severity]


def _help(rule_id: str, first: Finding, description: str) -> dict[str, str]:
    """The rule's ``help``: plain text, and the same as Markdown (what code scanning renders)."""
    description = _clip(description, MAX_MESSAGE)
    text = [description or rule_id]
    markdown = [_md(description or rule_id)]
    props = first.properties
    aliases = props.get("aliases")
    if isinstance(aliases, (list, tuple)) and aliases:
        text.append("Aliases: " + ", ".join(str(a) for a in aliases))
        markdown.append("**Aliases:** " + ", ".join(_md(str(a)) for a in aliases))
    fixed = props.get("fixed_versions")
    if isinstance(fixed, (list, tuple)) and fixed and first.package is not None:
        text.append(f"Fix: upgrade {first.package.name} to " + " or ".join(str(v) for v in fixed))
        versions = " or ".join(_md(str(v)) for v in fixed)
        markdown.append(f"**Fix:** upgrade {_md(first.package.name)} to {versions}")
    elif isinstance(fixed, (list, tuple)) and first.package is not None:
        text.append(f"No fixed version of {first.package.name} is known yet.")
        markdown.append(f"No fixed version of {_md(first.package.name)} is known yet.")
    if _web(first.help_uri):
        text.append(f"More: {first.help_uri}")
        markdown.append(f"[More information]({quote(first.help_uri, safe=_URL_SAFE)})")
    return {"text": "\n\n".join(text), "markdown": "\n\n".join(markdown)}


def _md(text: str) -> str:
    """``text`` as literal Markdown: punctuation that would format, link or embed HTML is escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _web(uri: str) -> str:
    """``uri`` when it is an http(s) link (what code scanning shows as "more"), else empty."""
    return uri if uri.lower().startswith(("https://", "http://")) else ""


def _result(check: CheckResult, finding: Finding, rule_index: Mapping[str, int], new_code: bool = False) -> dict[str, Any]:
    """One SARIF result; in a new-code run with its ``baselineState``: ``unchanged`` when REF had
    the finding (then shown, not suppressed: it still exists), ``new`` otherwise."""
    fp = finding.fingerprint or fingerprint(check.name, finding.rule_id, finding.location, finding.package, finding.message)
    out: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index[finding.rule_id],
        "level": level(finding.severity),
        "message": {"text": _clip(finding.message or finding.rule_id, MAX_MESSAGE)},
        "locations": [loc] if (loc := _location(finding)) else [],
        "partialFingerprints": {FINGERPRINT_KEY: fp},
    }
    if new_code:
        out["baselineState"] = "unchanged" if finding.waiver is not None and finding.waiver.kind == "existing" else "new"
    if finding.waiver is not None and finding.waiver.kind != "existing":
        w = finding.waiver
        if w.kind == "baseline":
            justification = f"Baselined: {w.reason}" if w.reason else "Baselined"
        else:
            justification = w.reason or "waived"
            if w.approved_by:
                justification += f" (approved by {w.approved_by})"
            if w.expires:
                justification += f"; expires {w.expires}"
        out["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": justification,
                "properties": {"waiver": w.to_dict()},
            }
        ]
    props: dict[str, Any] = {"severity": finding.severity.value, "state": finding_state(finding)}
    if finding.package is not None:
        props["package"] = finding.package.to_dict()
    for key in ("confidence", "cwe", "aliases", "fixed_versions", "license"):
        if key in finding.properties:
            props[key] = finding.properties[key]
    out["properties"] = props
    return out


def _location(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    if loc is not None:
        path, line, end, column = loc.path, loc.line, loc.end_line, loc.column
    else:
        path, line, end, column = _manifest(finding)
    if not path:
        logical = _logical(finding)
        return {"logicalLocations": logical} if logical else {}
    start = line if isinstance(line, int) and line >= 1 else 1
    region: dict[str, Any] = {"startLine": start}
    if isinstance(end, int) and end >= start:
        region["endLine"] = end
    if isinstance(column, int) and column >= 0:
        region["startColumn"] = column + 1
    physical = {"artifactLocation": {"uri": _uri(path), "uriBaseId": SRCROOT}, "region": region}
    out: dict[str, Any] = {"physicalLocation": physical}
    logical = _logical(finding)
    if logical:
        out["logicalLocations"] = logical
    return out


def _logical(finding: Finding) -> list[dict[str, Any]]:
    if finding.package is None:
        return []
    pkg = finding.package
    return [{"name": pkg.name, "fullyQualifiedName": f"{pkg.name}=={pkg.version}", "kind": "package"}]


def _manifest(finding: Finding) -> tuple[str, int | None, int | None, int | None]:
    value = finding.properties.get("manifest")
    if isinstance(value, Mapping) and "path" in value:
        line = value.get("line")
        return str(value["path"] or ""), line if isinstance(line, int) else None, None, None
    if isinstance(value, str) and value:
        return value, None, None, None
    return DEFAULT_MANIFEST, 1, None, None


def _uri(path: str) -> str:
    """A relative URI reference for a posix path (percent-encoded, never absolute; a backslash in a
    file's name is ``%5C``, never a folder: ``fileio.tool_path``)."""
    from gatekeeper.fileio import tool_path

    return quote(tool_path(path).lstrip("/")) or quote(DEFAULT_MANIFEST)
