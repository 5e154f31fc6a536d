"""The installed environment as a dependency source: the shared inventory, with its scope."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.dependencies.sources.base import Collected, DependencySource, Target, built_from
from gatekeeper.checkers.inventory import NOT_INSTALLED, declared_lines, load_inventory, project_manifest, requirers

#: where a declared dependency is missing with ``scope = "all"``: gatekeeper's own environment, and the cure
_OWN = (
    "gatekeeper's own environment, the one inspected: its packages are gatekeeper's, "
    "not the project's; name the project's environment ([environment] python, $VIRTUAL_ENV or a .venv/), or run "
    "gatekeeper through the tool that keeps it (hatch run ENV:gatekeeper check, poetry run gatekeeper check)"
)


class EnvironmentSource(DependencySource):
    """The packages installed in the policy's ``[environment]`` (``source = "environment"``)."""

    kind = "environment"

    @classmethod
    def claims(cls, setting: str) -> bool:
        """The literal ``environment``."""
        return setting == "environment"

    def collect(self) -> Collected:
        """Every package of the inventory; one from a folder or VCS checkout, or declared but missing, is unaudited."""
        return _from_environment(self.ctx)


def _from_environment(ctx: CheckContext) -> Collected:
    inv = load_inventory(ctx)
    got = Collected(
        meta={"scope": inv.scope, "python": inv.python, "left_out": list(inv.left_out), "packages": len(inv.packages)}
    )
    declared = declared_lines(ctx.root / "pyproject.toml")
    manifest = project_manifest(ctx.root)
    got.meta["manifest"] = manifest
    if inv.project is not None:
        got.meta["project"] = inv.project.name  # the project itself is not one of its dependencies
    if inv.members:
        got.meta["members"] = [d.name for d in inv.members]  # nor are its uv workspace members
    for d in inv.packages:
        line = declared.get(d.key)
        got.targets.append(Target(d.name, d.version, "pyproject.toml" if line else manifest, line, manifest=True))
        if d.origin in ("local", "vcs"):
            # an advisory database (or PyPI) describes releases on the index; a build from a folder or
            # a VCS checkout may differ from the release of that name and version, so silence about it
            # proves nothing
            got.skip(d.name, built_from(d, ctx.root, requirers(ctx.root, d, inv.packages)))
    from gatekeeper.interpreter import runs_gatekeeper

    own = inv.project is None and runs_gatekeeper(Path(inv.python))
    where = _OWN if inv.scope == "all" and own else "the environment"
    for name in inv.missing:
        got.skip(name, f"{NOT_INSTALLED} in {where}")
    return got
