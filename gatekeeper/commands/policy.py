"""``gatekeeper policy validate | show | init``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from gatekeeper import gate, process
from gatekeeper.commands import handles_errors, loaded
from gatekeeper.errors import ToolError
from gatekeeper.escapes import echo

if TYPE_CHECKING:
    from collections.abc import Collection

    from gatekeeper.policy import Policy

app = typer.Typer(help="Validate, show or create the policy.", no_args_is_help=True, rich_markup_mode=None)


@app.command("validate", epilog="Example:\n\n  gatekeeper policy validate gatekeeper.toml")
@handles_errors()
def policy_validate(
    ctx: typer.Context,
    file: Optional[Path] = typer.Argument(None, metavar="FILE", help="Policy file (default: discovered in the current folder)."),
) -> None:
    """Check a policy (and the VEX documents it names); exit 0 when valid, 2 with the problem otherwise."""
    _, options = loaded(ctx)
    policy = gate.load_policy(Path.cwd(), file, options)
    _check_sources(Path.cwd(), policy)
    echo(f"policy OK: {policy.path or '(built-in default)'} (sha256 {policy.sha256[:12]})")
    echo(f"effective sha256: {policy.effective_sha256} (what a run records; verifiers take it as --policy-sha256)")
    files = [str(f) for f in policy.checks.get("dependencies", {}).get("vex") or ()]
    if files:
        import datetime as dt

        from gatekeeper.vex import load_vex

        docs = load_vex(Path.cwd(), files, int(policy.gate["max_waiver_days"]), dt.datetime.now(dt.timezone.utc).date())
        exceptions = sum(len(d.waivers) for d in docs)
        echo(f"VEX OK: {exceptions} exception(s) from {len(docs)} document(s) ({', '.join(d.path for d in docs)})")


def _check_sources(root: Path, policy: Policy) -> None:
    """A dependency source, SBOM source or licenses lock whose content is not what its name says
    (a lock that is not TOML, a requirements file holding a lock) is a policy error naming it."""
    from gatekeeper.checkers.lockfiles import content_problem
    from gatekeeper.errors import PolicyError

    for check, key in (("dependencies", "source"), ("sbom", "source"), ("licenses", "lock")):
        value = str(policy.checks.get(check, {}).get(key) or "")
        if value and value != "environment":
            problem = content_problem(root / value, value)
            if problem:
                raise PolicyError(problem, file=str(policy.path) if policy.path else None, key=f"checks.{check}.{key}")


@app.command("show", epilog="Example:\n\n  gatekeeper policy show --policy gatekeeper.toml")
@handles_errors()
def policy_show(
    ctx: typer.Context,
    path: Path = typer.Argument(Path("."), metavar="PATH", help="The project."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help="Policy file (default: discovered)."),
) -> None:
    """Print the effective policy (after extends and defaults) as TOML."""
    from gatekeeper.policy import to_toml

    root = gate.project_root(path)
    _, options = loaded(ctx, root)
    policy = gate.load_policy(root, policy_file, options)
    echo(f"# effective policy from {policy.path or '(built-in default)'}")
    echo(to_toml(policy.data), nl=False)


def _say_types_paths(root: Path, types_paths: list[str]) -> None:
    """The console line for the ``checks.types.paths`` init wrote (``types_seed``), and why."""
    from gatekeeper.checkers.inventory.scope import workspace_folders
    from gatekeeper.commands.starter import duplicate_module

    twice = duplicate_module(root) if types_paths else ()
    if types_paths and twice and not workspace_folders(root):
        echo(
            f"checks.types.paths = [{', '.join(json.dumps(p) for p in types_paths)}]: the project's code (mypy given "
            f"the whole root stops at the module {twice[0]}, found twice: {twice[1]} and {twice[2]})"
        )
    elif types_paths:
        echo(
            f"checks.types.paths = [{', '.join(json.dumps(p) for p in types_paths)}]: the code of the project and of "
            "its uv workspace members (mypy given the whole root reads the members' tests and build scripts too, "
            "and stops at a module two of them name alike)"
        )


def _mypy_plugins_missing(root: Path) -> tuple[str, list[str]]:
    """The project's mypy configuration file and the plugins it names (top-level modules) that
    gatekeeper's own interpreter, where mypy runs, cannot import; ``("", [])`` when there are none
    (or the configuration cannot be read: the check says why)."""
    from gatekeeper.checkers.source import missing_modules
    from gatekeeper.checkers.types import find_config, plugin_modules
    from gatekeeper.errors import ToolError

    try:
        found = find_config(root)
        modules = plugin_modules(found)
    except ToolError:
        return "", []
    return found.name, missing_modules(sys.executable, modules)


@app.command("init", epilog="Examples:\n\n  gatekeeper policy init\n\n  gatekeeper policy init --pyproject")
@handles_errors()
def policy_init(
    path: Path = typer.Argument(Path("."), metavar="PATH", help="The project."),
    pyproject: bool = typer.Option(False, "--pyproject", help="Append a [tool.gatekeeper] section to pyproject.toml instead."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing gatekeeper.toml."),
) -> None:
    """Write a commented starter policy (gatekeeper.toml, or [tool.gatekeeper] in pyproject.toml)."""
    from gatekeeper.checkers.coverage.hints import configured_plugins
    from gatekeeper.checkers.source import installed_tools
    from gatekeeper.commands.starter import (
        coverage_fail_under,
        pytest_cov_fail_under,
        starter_policy,
        tests_folders,
        types_seed,
    )
    from gatekeeper.errors import UsageError
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.reports import write_atomic

    root = gate.project_root(path)
    fail_under = coverage_fail_under(root) or pytest_cov_fail_under(root)
    tests = tests_folders(root)
    # the checks whose tools gatekeeper's own interpreter (where they run) has are switched on
    found = installed_tools(sys.executable)
    plugins_missing = _mypy_plugins_missing(root) if "types" in found else ("", [])
    if plugins_missing[1]:  # the types check would be an error: mypy cannot run without them
        found.remove("types")
    types_paths = types_seed(root) if "types" in found else []
    if pyproject:
        target = root / "pyproject.toml"
        existing = target.read_text(encoding="utf-8") if target.exists() else ""
        if "[tool.gatekeeper" in existing:
            raise UsageError(f"{target} already has a [tool.gatekeeper] section")
        if (root / "gatekeeper.toml").exists():  # found first: the section would never be read
            raise UsageError(
                f"{root / 'gatekeeper.toml'} exists, and gatekeeper reads it before pyproject.toml's [tool.gatekeeper]",
                hint="edit gatekeeper.toml, or remove it before writing the section",
            )
        text = existing + ("\n" if existing and not existing.endswith("\n") else "")
        text += starter_policy(pyproject=True, enable=found, min_total=fail_under, tests=tests.folders, types_paths=types_paths)
    else:
        target = root / "gatekeeper.toml"
        if target.exists() and not force:
            raise UsageError(f"{target} already exists (use --force to overwrite)")
        text = starter_policy(pyproject=False, enable=found, min_total=fail_under, tests=tests.folders, types_paths=types_paths)
    write_atomic(resolve_for_write(target, root), text)
    echo(f"wrote {target}")
    if not pyproject and "[tool.gatekeeper" in _text_of(root / "pyproject.toml"):
        echo("pyproject.toml's [tool.gatekeeper] is no longer read: gatekeeper.toml comes first")
    if found:
        echo(f"turned on {', '.join(found)}: their tools are installed")
    config, missing = plugins_missing
    if missing:
        echo(
            f"left types off: the mypy configuration ({config}) loads the plugin{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}, which gatekeeper's environment ({sys.executable}) lacks, and mypy runs there: "
            "install it there (or set gate.tool_python to an interpreter that has it and mypy), then set "
            "enabled = true under [checks.types]"
        )
    if fail_under is not None:
        echo(f"checks.coverage.min_total = {fail_under[0]:g}, from the project's coverage fail_under ({fail_under[1]})")
    if tests.folders:
        echo(
            f"checks.security.exclude leaves out the tests in {', '.join(tests.folders)} ({tests.source}): "
            "bandit would report the asserts tests are made of"
        )
    _say_types_paths(root, types_paths)
    if tests.kept:
        echo(f"pytest's testpaths also names {', '.join(tests.kept)}: scanned, as nothing in the name says it holds only tests")
    plugins = configured_plugins(root)
    if plugins:
        listed = ", ".join(f'"{name}"' for name in plugins)
        echo(
            f"the coverage configuration loads the coverage.py plugin{'s' if len(plugins) > 1 else ''} {', '.join(plugins)}: "
            f"the coverage check loads plugin code only when the policy allows it with plugins = [{listed}] under "
            "[checks.coverage] (imported from the project's environment, run with the job's rights)"
        )
    _lock_notes(root, found)
    ignored = _not_ignored(root, ("gatekeeper-reports/", ".gatekeeper/"))
    if ignored:
        echo(f"consider adding {' and '.join(ignored)} to .gitignore: reports and the audit log are outputs, not sources")


def _not_ignored(root: Path, folders: tuple[str, ...]) -> list[str]:
    """Which of gatekeeper's output ``folders`` git does not ignore in ``root``: git's own answer
    (``check-ignore``: every .gitignore, ``.git/info/exclude``, the global excludes file, patterns
    and negations), else, outside a repository or without git, the ones its .gitignore does not list."""
    told = _git_ignored(root, folders)
    if told is not None:
        return [f for f in folders if f not in told]
    try:
        text = (root / ".gitignore").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    listed = {line.strip().strip("/") for line in text.splitlines()}
    return [f for f in folders if f.strip("/") not in listed]


def _git_ignored(root: Path, folders: tuple[str, ...]) -> set[str] | None:
    """The ``folders`` git ignores in ``root`` (None when git cannot tell: no git, not a repository)."""
    try:
        done = process.run(["git", "-C", str(root), "check-ignore", "--", *folders], timeout=10)
    except ToolError:
        return None
    if done.returncode not in (0, 1):  # 1: none of them is ignored; 128: not a repository
        return None
    return {line.strip() for line in done.stdout.splitlines()}


def _lock_notes(root: Path, found: Collection[str]) -> None:
    """What policy init says of each lock file in the root: the settings that would audit it, and with
    the secrets check on, the hashes in it that detect-secrets reports."""
    for lock in _lock_files(root):
        echo(
            f"found {lock}: the dependencies, sbom and licenses checks read the installed environment; to audit "
            f'what the project locked, set source = "{lock}" under [checks.dependencies] and [checks.sbom] '
            f'and lock = "{lock}" under [checks.licenses]'
        )
        if lock.startswith("pylock") and "secrets" in found:
            echo(
                f"{lock} gives each file's sha256 as 64 bare hexadecimal digits, which detect-secrets reports as a "
                f'Hex High Entropy String, one finding per hash: once you have reviewed it, exclude = ["{lock}"] under '
                "[checks.secrets] leaves it out"
            )
        if lock == "poetry.lock" and "secrets" in found:
            echo(
                "poetry.lock's content-hash is 64 bare hexadecimal digits, which detect-secrets reports as a Hex High "
                "Entropy String (a blocking secrets finding): once you have reviewed it, a [[waivers]] entry with "
                'check = "secrets", rule = "secret.hex-high-entropy-string" and path = "poetry.lock" accepts it, '
                "the file still scanned for other secrets (a credential in a source's URL)"
            )


def _lock_files(root: Path) -> list[str]:
    """The lock files in the project root that a ``source`` can name (uv.lock, poetry.lock, pdm.lock,
    pylock.toml, pylock.NAME.toml), by name."""
    named = [n for n in ("uv.lock", "poetry.lock", "pdm.lock", "pylock.toml") if (root / n).is_file()]
    return named + sorted(p.name for p in root.glob("pylock.*.toml") if p.is_file())


def _text_of(path: Path) -> str:
    """``path``'s text, or "" when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
