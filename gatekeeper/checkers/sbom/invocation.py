"""How cyclonedx-py is invoked for the SBOM check's source: the installed environment (its
components decided by the inventory the three environment checks share), pyproject.toml's
dependencies, or a requirements file (a lock file under a requirements name is refused)."""

from __future__ import annotations

from typing import Any

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.inventory import has_pep621, load_inventory, project_requirements
from gatekeeper.checkers.lockfiles import requirements_problem
from gatekeeper.checkers.sbom import pep770
from gatekeeper.errors import ToolError
from gatekeeper.fileio import relative_to_root, under


def invocation(ctx: CheckContext, source: str, spec: str) -> tuple[list[str], bytes | None, set[str] | None, dict[str, Any]]:
    """How cyclonedx-py is run for ``source`` (the environment, pyproject.toml or a requirements file):
    its arguments, its standard input, the components to keep (the inventory's, for the environment)
    and what the result records about the source."""
    pyproject = ctx.root / "pyproject.toml"
    # -I and a cwd outside the tree (the checker runs it there): a cyclonedx_py/ in the project must not run instead
    base = [ctx.tool_python, "-I", "-m", "cyclonedx_py"]
    ctx.vet_tool("cyclonedx_py", "cyclonedx-bom")  # never the checkout's cyclonedx-py
    common = ["--sv", spec, "--of", "JSON", "--no-validate", "-o", "-"]
    if pyproject.is_file() and has_pep621(ctx.root):
        # cyclonedx-py takes the root component from a PEP 621 [project] table and refuses any other
        # pyproject.toml; without one the root comes from the project's installed distribution
        common += ["--pyproject", str(pyproject)]
    if source == "environment":
        inventory = load_inventory(ctx)
        extra: dict[str, Any] = {"scope": inventory.scope, "python": inventory.python}
        extra["left_out"] = len(inventory.left_out)
        if inventory.missing:  # declared by the project, installed nowhere it looked: no component lists them
            extra["missing"] = list(inventory.missing)
        if inventory.project is not None:
            extra["project"] = {"name": inventory.project.name, "version": inventory.project.version}
        extra["dependency_sboms"] = pep770.shipped_sboms(inventory.packages)
        # the inventory decides the components (the project itself and gatekeeper are not), so the
        # three environment checks count the same packages; the uv workspace members are components
        # (parts of the product, as an SBOM of the lock lists them), not dependencies to audit
        keep = {d.key for d in inventory.packages} | {d.key for d in inventory.members}
        if inventory.members:
            extra["members"] = [d.name for d in inventory.members]
        return [*base, "environment", *common, inventory.python or ctx.target_python], None, keep, extra
    if source == "pyproject.toml":
        _, deps = project_requirements(ctx.root, 'checks.sbom.source = "pyproject.toml"')
        stdin = ("\n".join(deps) + "\n").encode("utf-8")
        return [*base, "requirements", *common, "-"], stdin, None, {"scope": "pyproject.toml"}
    req = under(ctx.root, source)
    if not req.is_file():
        raise ToolError(f"checks.sbom.source: the requirements file {req} does not exist")
    problem = requirements_problem(req, source)
    if problem:  # cyclonedx-py would list every line of a lock as a component named "unknown"
        raise ToolError(problem)
    # cyclonedx-py follows the file's -r and -c lines as pip does: each must lie inside the project (a
    # runner's file named there was read and its lines listed as components), and each keys the cache
    from gatekeeper.checkers.dependencies.sources.requirements import included_files

    files = included_files(req, ctx.root, "checks.sbom.source")
    ctx.reading([relative_to_root(f, ctx.root) or str(f) for f in files])
    extra = {"scope": "requirements", "requirements": source}
    if len(files) > 1:
        extra["requirements_files"] = [relative_to_root(f, ctx.root) or str(f) for f in files]
    return [*base, "requirements", *common, str(req)], None, None, extra
