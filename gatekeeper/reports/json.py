"""The JSON report, the source of truth every other format is rendered from."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from gatekeeper.errors import UsageError
from gatekeeper.findings import CheckResult, Finding, GateResult, Severity
from gatekeeper.reports._stream import iter_json, placeholder

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "result.schema.json"


def render_json(result: GateResult) -> str:
    """``gatekeeper.json``: the result as indented, key-stable JSON (``GateResult.to_dict``)."""
    return "".join(iter_render_json(result))


def iter_render_json(result: GateResult) -> Iterator[str]:
    """``render_json``'s text in chunks, each finding encoded as it is written (the bytes are the same)."""
    lists: dict[str, Callable[[], Iterable[Any]]] = {}
    checks = []
    for i, check in enumerate(sorted(result.checks, key=lambda c: c.name)):
        data = dataclasses.replace(check, findings=()).to_dict()
        data["findings"] = placeholder(str(i))
        lists[str(i)] = _finding_dicts(check)
        checks.append(data)
    skeleton = dataclasses.replace(result, checks=()).to_dict()
    skeleton["checks"] = checks
    yield from iter_json(skeleton, lists, indent=2)
    yield "\n"


def _finding_dicts(check: CheckResult) -> Callable[[], Iterator[dict[str, Any]]]:
    return lambda: (f.to_dict() for f in sorted(check.findings, key=Finding.sort_key))


def load_result(path: Path) -> GateResult:
    """Read a ``gatekeeper.json`` back; a missing or malformed file is a ``UsageError``."""
    try:
        shared: dict[str, str] = {}
        data: Any = json.loads(path.read_text(encoding="utf-8"), object_hook=lambda obj: _finding_or_dict(obj, shared))
    except FileNotFoundError:
        raise UsageError("results file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"not a gatekeeper JSON result: {exc}", file=str(path)) from None
    try:
        return GateResult.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"not a gatekeeper JSON result (bad or missing field: {exc})", file=str(path)) from None


#: the keys of a finding's JSON form (``Finding.to_dict``), exactly
_FINDING_KEYS = frozenset(Finding(rule_id="", severity=Severity.INFO, message="").to_dict())


#: strings up to this long that repeat (a rule's message, a help link, a confidence) are kept once
_SHARED_MAX = 300


def _finding_or_dict(obj: dict[str, Any], shared: dict[str, str]) -> Any:
    """A finding's JSON object as a ``Finding`` as soon as it is parsed (a few hundred bytes instead
    of a tree of dicts: 100,000 findings read back in a fraction of the memory); anything else,
    or a finding that does not read back, stays a dict for ``GateResult.from_dict`` to judge.
    Short string values are shared through ``shared``: the same text is one object, however often it occurs."""
    for key, value in obj.items():
        if type(value) is str and len(value) <= _SHARED_MAX:
            obj[key] = shared.setdefault(value, value)
    if obj.keys() == _FINDING_KEYS:
        try:
            return Finding.from_dict(obj)
        except (KeyError, TypeError, ValueError, AttributeError):
            return obj
    return obj


def schema() -> dict[str, Any]:
    """The JSON Schema the report follows (shipped in the package)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded
