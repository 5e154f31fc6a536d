"""TOML in and out: the standard library's ``tomllib`` (``tomli`` before Python 3.11) reads,
``tomli-w`` writes."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import tomli_w

if sys.version_info >= (3, 11):
    from tomllib import TOMLDecodeError, loads
else:  # pragma: no cover - exercised on 3.10 only
    from tomli import TOMLDecodeError, loads

__all__ = ["TOMLDecodeError", "dumps", "loads"]


def dumps(document: Mapping[str, Any]) -> str:
    """``document`` as TOML text; raises TypeError for a value TOML cannot hold (e.g. None)."""
    return tomli_w.dumps(document)
