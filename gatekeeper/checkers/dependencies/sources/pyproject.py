"""pyproject.toml as a dependency source: its pinned dependencies, or the installed versions that satisfy them."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.dependencies.sources.base import (
    Collected,
    DependencySource,
    Markers,
    Target,
    built_from,
    pinned_version,
    relative,
)
from gatekeeper.checkers.inventory import declared_lines, dynamic_dependencies, project_requirements
from gatekeeper.errors import ToolError
from gatekeeper.redaction import strip_userinfo


class PyprojectSource(DependencySource):
    """The ``[project] dependencies`` of a pyproject.toml (a setting whose file name is ``pyproject.toml``)."""

    kind = "pyproject"

    @classmethod
    def claims(cls, setting: str) -> bool:
        """A path whose file name is ``pyproject.toml``."""
        return Path(setting).name == "pyproject.toml"

    def collect(self) -> Collected:
        """A pinned dependency as pinned; an unpinned one at its installed version when that satisfies it."""
        return _from_pyproject(self.ctx.root / self.setting, self.ctx)


def _from_pyproject(path: Path, ctx: CheckContext) -> Collected:
    if dynamic_dependencies(path.parent):  # the file names none: an audit of it would look at nothing
        raise ToolError(
            f'{relative(path, ctx.root)} lists "dependencies" in [project] dynamic: its build backend computes them '
            "(from a requirements file, for instance), so the file names none to audit; set checks.dependencies.source "
            'to the file they come from, or to "environment"'
        )
    rel = relative(path, ctx.root)
    _, deps = project_requirements(path.parent, f'checks.dependencies.source = "{rel}"')
    got = Collected(meta={"scope": "pyproject", "packages": len(deps)})
    lines = declared_lines(path)
    markers = Markers(ctx)
    from packaging.requirements import InvalidRequirement, Requirement

    for text in deps:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            got.skip(f"{rel}: dependency #{deps.index(text) + 1}", "cannot be parsed as a requirement")
            continue
        line = lines.get(canonicalize_name(req.name))
        if req.marker is not None and not markers.applies(req.marker):
            continue
        pinned = pinned_version(req)
        if pinned:
            got.targets.append(Target(req.name, pinned, rel, line))
            continue
        member = markers.member(req.name)
        if member is not None:  # a uv workspace member: the project itself, not one of its dependencies
            got.meta.setdefault("members", []).append(member.name)
            continue
        dist = markers.inventory_get(req.name)
        if dist is None:
            got.skip(req.name, f"{rel}: {text!r} is not pinned and is not installed in the environment")
        elif req.url:
            got.skip(req.name, f"{rel}: {strip_userinfo(text)!r} is a URL requirement")
        elif dist.origin in ("local", "vcs"):
            # as for the environment source: a build from a folder or a VCS checkout may differ from the
            # release of that name and version, so an advisory database's silence about it proves nothing
            got.skip(req.name, f"{rel}: {text!r}: {built_from(dist, ctx.root)}")
        elif not req.specifier.contains(dist.version, prereleases=True):
            got.skip(req.name, f"{rel}: installed {dist.version} does not satisfy {text!r}")
        else:
            got.targets.append(Target(dist.name, dist.version, rel, line))
    return got


def unread(path: Path) -> str:
    """What an audit of ``path`` that found no package adds about the lists it does not read: the
    ``[dependency-groups]`` and ``[project.optional-dependencies]`` that name packages (MarkupSafe
    3.0.3 has no run-time dependency and its tests' in the group ``tests``), else ""."""
    from gatekeeper import tomlio

    try:
        data = tomlio.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError):
        return ""
    project = data.get("project")
    groups = data.get("dependency-groups")
    extras = project.get("optional-dependencies") if isinstance(project, dict) else None
    named = [
        f"{label} {', '.join(sorted(str(k) for k, v in table.items() if isinstance(v, list) and v))}"
        for label, table in (("[dependency-groups]", groups), ("optional-dependencies", extras))
        if isinstance(table, dict) and any(isinstance(v, list) and v for v in table.values())
    ]
    if not named:
        return ""
    return (
        f": its [project] dependencies name none; this source does not read its {' and '.join(named)}"
        ' (source = "environment" audits them as installed)'
    )
