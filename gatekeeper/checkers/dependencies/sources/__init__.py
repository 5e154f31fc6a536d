"""Dependency sources: where the packages the dependencies check audits come from.

``SOURCES`` lists the kinds, in the order they are asked to claim the ``source`` setting; the
interface they implement is ``base.DependencySource``. Adding an input format is one module
here and one entry in ``SOURCES``; a lock-file format is one module of
``gatekeeper.checkers.lockfiles``, read through the one ``LockSource``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.dependencies.sources.base import Collected, DependencySource, Target
from gatekeeper.checkers.dependencies.sources.environment import EnvironmentSource
from gatekeeper.checkers.dependencies.sources.lock import LockSource
from gatekeeper.checkers.dependencies.sources.pyproject import PyprojectSource
from gatekeeper.checkers.dependencies.sources.requirements import RequirementsSource
from gatekeeper.checkers.lockfiles import source_problem
from gatekeeper.errors import ToolError

__all__ = ["SOURCES", "Collected", "DependencySource", "Target", "collect", "open_source"]

# the first kind that claims a setting reads it; requirements files take whatever is left
SOURCES: tuple[type[DependencySource], ...] = (EnvironmentSource, PyprojectSource, LockSource, RequirementsSource)


def open_source(setting: str, ctx: CheckContext, section: Mapping[str, Any] | None = None) -> DependencySource:
    """The source that reads the ``source`` setting (``section``: the check's policy, for a lock's groups and extras)."""
    kind = next((k for k in SOURCES if k.claims(setting)), None)
    if kind is None:  # the policy refuses such a setting; a checker called directly gets the same answer
        raise ToolError(f"checks.dependencies.source: {source_problem(setting)}")
    return kind(setting, ctx, section)


def collect(source: str, ctx: CheckContext, section: Mapping[str, Any] | None = None) -> Collected:
    """The packages the ``source`` setting names: the environment, pyproject.toml, a lock or a requirements file."""
    return open_source(source, ctx, section).collect()
