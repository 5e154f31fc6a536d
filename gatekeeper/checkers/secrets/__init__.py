"""Secrets with detect-secrets: every potential secret in a tracked file becomes a finding.

How a scan goes:

1. The files are those git tracks (``git ls-files``), so build outputs and virtualenvs are not
   scanned; the policy's ``exclude`` globs leave more out (and are reported). With ``--shard
   I/N`` only a share of them, balanced by bytes, is kept.
2. detect-secrets is taken from the project's interpreter when it has it, else from
   gatekeeper's own environment; it runs with ``-I`` and its standard plugins and filters (or the
   policy's ``plugins``), with ``--no-verify`` so no secret is sent over the network to be checked.
   It reads no configuration from the checkout and executes none of it; it runs in the root only
   because its ``is_invalid_file`` filter looks files up relative to its working directory.
3. Files whose result is cached (keyed by content, path, the tool's version and the plugins)
   are not scanned again.

A finding carries the secret's type, file, line and detect-secrets' hash of it, never the
secret: detect-secrets reports no secret text, and the messages are built from those fields alone.
``# pragma: allowlist secret`` comments narrow the scan and are counted in the metrics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from gatekeeper import process
from gatekeeper.checkers import source
from gatekeeper.checkers.base import CheckContext, CheckerBase, Display
from gatekeeper.checkers.secrets import presentation
from gatekeeper.errors import ToolError
from gatekeeper.findings import CheckResult, Finding, Location, Severity, decide_status
from gatekeeper.options import Option

#: detect-secrets' inline allowlisting (``pragma: allowlist secret`` and ``pragma: allowlist nextline secret``)
ALLOWLIST = re.compile(rb"pragma:\s*allowlist\b")
CHECK = "secrets"
CACHE_VERSION = 1
INSTALL = "pip install 'gatekeeper[secrets]', or install detect-secrets into the project's environment"
_PROBE = "import json; from detect_secrets.__version__ import VERSION; print(json.dumps({'version': VERSION}))"
#: paths per detect-secrets command line, far below the OS argument limit
MAX_FILES_PER_RUN = 1000
_RESULT_KEYS = ("type", "line_number", "hashed_secret")
#: detect-secrets' plugins' documentation, for a finding's help link
HELP_URI = "https://github.com/Yelp/detect-secrets#viewing-all-enabled-plugins"


class SecretsChecker(CheckerBase):
    """Runs detect-secrets over the tracked files and maps each potential secret to a blocking finding."""

    name = CHECK
    description = "secrets in tracked files (detect-secrets)"
    shardable = True
    options: Mapping[str, Option] = {
        "enabled": source.OFF_BY_DEFAULT,
        "exclude": Option("str_list", [], 'tracked paths or globs not to scan, e.g. ["tests/fixtures/*"]'),
        "plugins": Option("str_list", [], 'detect-secrets plugins to use, e.g. ["AWSKeyDetector"]; empty: all standard plugins'),
    }

    tool = presentation.TOOL

    def display(self, result: CheckResult) -> Display:
        """Files scanned and potential secrets."""
        return presentation.display(result)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Scan (or reuse cached scans of) the tracked files; every potential secret is a blocking finding."""
        tool = source.find_tool(ctx, "detect_secrets", _PROBE, INSTALL)
        version = str(tool.answer.get("version") or "")
        base = [tool.python, "-I", "-m", "detect_secrets", "scan"]
        plugin_args = _plugin_args(ctx, base, [str(p) for p in section.get("plugins") or []])
        exclude = [str(p) for p in section.get("exclude") or []]
        tracked = source.tracked_files(ctx.root, ctx)
        left_out = [f for f in tracked if source.excluded(f, exclude)]
        files_all = [f for f in tracked if f not in set(left_out)]
        if not files_all:
            raise ToolError("no tracked files to scan for secrets (an empty check is not a pass)")
        sources = source.Sources(ctx.root)
        opts = source.options_digest(CACHE_VERSION, version, plugin_args)
        per_file_tool = source.PerFileTool(
            CHECK, opts, _valid, lambda chunk: _scan(ctx, [*base, "--no-verify", *plugin_args], chunk), MAX_FILES_PER_RUN
        )
        per_file = source.run_per_file(ctx, per_file_tool, files_all, sources)
        files, results = per_file.files, per_file.results
        findings = to_findings(results)
        allowlisted = {f: n for f in files if (n := sources.count(f, ALLOWLIST))}
        by_type: dict[str, int] = {}
        for finding in findings:
            by_type[finding.rule_name] = by_type.get(finding.rule_name, 0) + 1
        n = len(findings)
        summary = f"{n} potential secret{'s' if n != 1 else ''} in {len(files):,} tracked files"
        metrics: dict[str, Any] = {
            "files_scanned": len(files),
            "secrets": n,
            "by_type": dict(sorted(by_type.items())),
            "plugins": [str(p) for p in section.get("plugins") or []] or "all",
            "narrowing": {
                "excluded_files": len(left_out),
                "exclude": exclude,
                "allowlist_pragmas": sum(allowlisted.values()),
                "allowlist_files": dict(sorted(allowlisted.items())),
            },
            "tool_source": "project" if tool.project else "gatekeeper",
            "command": " ".join(["detect-secrets", "scan", "--no-verify", *plugin_args]),
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
        )


def _scan(ctx: CheckContext, command: Sequence[str], files: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    # "./" keeps a file named "-x" from being read as an option; detect-secrets normalises it away
    done = ctx.run([*command, *(f"./{f}" if f.startswith("-") else f for f in files)])
    if done.returncode != 0:
        raise ToolError(f"detect-secrets failed (exit {done.returncode}): {process.tail(done.stderr)}")
    return parse_output(done.stdout)


def _plugin_args(ctx: CheckContext, base: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """``--disable-plugin`` for every standard plugin the policy does not name (none when it names none)."""
    if not wanted:
        return []
    done = ctx.run([*base, "--list-all-plugins"], timeout=60)
    if done.returncode != 0:
        raise ToolError(f"detect-secrets --list-all-plugins failed (exit {done.returncode}): {process.tail(done.stderr)}")
    available = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    unknown = [p for p in wanted if p not in available]
    if unknown:
        raise ToolError(
            f"checks.secrets.plugins names {', '.join(unknown)}, which detect-secrets does not have "
            f"(available: {', '.join(available)})"
        )
    return [arg for p in available if p not in wanted for arg in ("--disable-plugin", p)]


def parse_output(text: str) -> dict[str, list[dict[str, Any]]]:
    """detect-secrets' results by file; only type, line and hash are kept (``ToolError`` when unreadable)."""
    try:
        data = json.loads(text)
        out: dict[str, list[dict[str, Any]]] = {}
        for name, items in data["results"].items():
            path = str(name).replace("\\", "/").removeprefix("./")
            for r in items:
                if not _valid(r):
                    raise ValueError(f"a result lacks one of {', '.join(_RESULT_KEYS)}")
                out.setdefault(path, []).append(
                    {"type": str(r["type"]), "line_number": int(r["line_number"]), "hashed_secret": str(r["hashed_secret"])}
                )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # never echo the output itself: it is about secrets
        raise ToolError(f"detect-secrets printed output that is not its JSON report ({type(exc).__name__})") from None
    return out


def _valid(r: Any) -> bool:
    return isinstance(r, dict) and all(k in r for k in _RESULT_KEYS) and isinstance(r.get("line_number"), int)


def _rule_id(kind: str) -> str:
    return "secret." + "-".join(kind.lower().split())


def to_findings(results: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Finding]:
    """One blocking finding per potential secret; its fingerprint is type, file and the secret's hash."""
    ordered = [
        (path, r)
        for path in sorted(results)
        for r in sorted(results[path], key=lambda r: (r["line_number"], r["type"], r["hashed_secret"]))
    ]
    prints = source.occurrence_fingerprints(CHECK, [(_rule_id(str(r["type"])), p, str(r["hashed_secret"])) for p, r in ordered])
    findings = []
    for (path, r), fp in zip(ordered, prints, strict=True):
        kind = str(r["type"])
        digest = str(r["hashed_secret"])
        findings.append(
            Finding(
                rule_id=_rule_id(kind),
                severity=Severity.HIGH,
                message=f"potential secret ({kind}) in {path}:{r['line_number']}, sha1 {digest[:12]}…; rotate it and remove it",
                blocking=True,
                location=Location(path, line=int(r["line_number"])),
                fingerprint=fp,
                help_uri=HELP_URI,
                rule_name=kind,
                tags=("security", "secret"),
                properties={"secret_type": kind, "hashed_secret": digest, "cwe": "CWE-798"},
            )
        )
    return findings
