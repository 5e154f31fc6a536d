"""The JSON report, the source of truth every other format is rendered from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatekeeper.errors import UsageError
from gatekeeper.findings import GateResult

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "result.schema.json"


def render_json(result: GateResult) -> str:
    """``gatekeeper.json``: the result as indented, key-stable JSON."""
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


def load_result(path: Path) -> GateResult:
    """Read a ``gatekeeper.json`` back; a missing or malformed file is a ``UsageError``."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("results file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"not a gatekeeper JSON result: {exc}", file=str(path)) from None
    try:
        return GateResult.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"not a gatekeeper JSON result (bad or missing field: {exc})", file=str(path)) from None


def schema() -> dict[str, Any]:
    """The JSON Schema the report follows (shipped in the package)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded
