"""detect-secrets' results: read from its JSON report, kept (and cached) without any value derived
from the secret, and made findings."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gatekeeper.checkers.secrets.terms import CHECK
from gatekeeper.errors import ToolError
from gatekeeper.fileio import tool_path
from gatekeeper.findings import Finding, Location, Severity

_RESULT_KEYS = ("type", "line_number", "hashed_secret")
#: what a result keeps once scanned (and cached): the type and line, never a value derived from the secret
_KEPT_KEYS = frozenset({"type", "line_number", "allowlisted"})
#: detect-secrets' plugins' documentation, for a finding's help link
HELP_URI = "https://github.com/Yelp/detect-secrets#viewing-all-enabled-plugins"


def key(r: Mapping[str, Any]) -> tuple[Any, ...]:
    """What tells one of detect-secrets' results from another in a file (its hash of the secret included)."""
    return (r["type"], r["line_number"], r["hashed_secret"])


def kept(r: Mapping[str, Any]) -> dict[str, Any]:
    """A scanned result as it is kept and cached: its type, line and whether a pragma hid it."""
    return {k: v for k, v in r.items() if k in _KEPT_KEYS}


def parse_output(text: str) -> dict[str, list[dict[str, Any]]]:
    """detect-secrets' results by file: type, line and its hash of the secret, which the check uses
    in memory only (``kept`` drops it); ``ToolError`` when unreadable."""
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


def valid(r: Any) -> bool:
    """Whether ``r`` is a result as ``kept`` keeps it (what the cache may give back)."""
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
