"""Checker discovery through the entry-point group ``gatekeeper.checkers``.

The built-in checkers register there exactly as a third-party package would. Metadata is read
first (cheap); a checker's module is imported only when it is needed, and an import failure is
wrapped with the checker's name.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatekeeper.errors import PluginError

GROUP = "gatekeeper.checkers"


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """An installed checker as its metadata describes it, before import."""

    name: str
    value: str  # "module:attr"
    distribution: str
    version: str


def discover() -> dict[str, PluginInfo]:
    """Every checker registered in the environment, by name (first registration wins)."""
    found: dict[str, PluginInfo] = {}
    for ep in importlib.metadata.entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            value=ep.value,
            distribution=dist.metadata["Name"] if dist is not None else "",
            version=dist.version if dist is not None else "",
        )
        found.setdefault(ep.name, info)
    return dict(sorted(found.items()))


def load(info: PluginInfo) -> Any:
    """Import one checker and return an instance; any failure becomes a ``PluginError``."""
    module_name, _, attr = info.value.partition(":")
    try:
        module = importlib.import_module(module_name.strip())
        obj: Any = module
        for part in attr.strip().split(".") if attr.strip() else ():
            obj = getattr(obj, part)
        instance = obj() if isinstance(obj, type) else obj
    except Exception as exc:  # a broken plugin must not take gatekeeper down
        raise PluginError(f"checker {info.name!r} ({info.value}) could not be loaded: {type(exc).__name__}: {exc}") from exc
    missing = [a for a in ("run", "options") if not hasattr(instance, a)]
    if missing:
        raise PluginError(f"checker {info.name!r} ({info.value}) is not a checker: it has no {', '.join(missing)}")
    if not isinstance(instance.options, Mapping):
        raise PluginError(f"checker {info.name!r} ({info.value}): 'options' must be a mapping of Option")
    if not isinstance(getattr(instance, "shardable", False), bool):
        raise PluginError(f"checker {info.name!r} ({info.value}): 'shardable' must be True or False")
    return instance
