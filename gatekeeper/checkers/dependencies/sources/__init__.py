"""Dependency sources: where the packages the dependencies check audits come from.

``SOURCES`` lists the kinds, in the order they are asked to claim the ``source`` setting; the
interface they implement is ``base.DependencySource``. Adding an input format is one module
here and one entry in ``SOURCES``.
"""

from __future__ import annotations

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.dependencies.sources.base import Collected, DependencySource, Target
from gatekeeper.checkers.dependencies.sources.environment import EnvironmentSource
from gatekeeper.checkers.dependencies.sources.pyproject import PyprojectSource
from gatekeeper.checkers.dependencies.sources.requirements import RequirementsSource

__all__ = ["SOURCES", "Collected", "DependencySource", "Target", "collect", "open_source"]

# the first kind that claims a setting reads it; requirements files take whatever is left
SOURCES: tuple[type[DependencySource], ...] = (EnvironmentSource, PyprojectSource, RequirementsSource)


def open_source(setting: str, ctx: CheckContext) -> DependencySource:
    """The source that reads the ``source`` setting."""
    kind = next(k for k in SOURCES if k.claims(setting))
    return kind(setting, ctx)


def collect(source: str, ctx: CheckContext) -> Collected:
    """The packages the ``source`` setting names: the environment, pyproject.toml, or a requirements file."""
    return open_source(source, ctx).collect()
