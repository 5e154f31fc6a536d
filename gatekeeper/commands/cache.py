"""``gatekeeper cache dir | key``: where the cache is, and the key a CI cache stores it under."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from gatekeeper import gate
from gatekeeper.commands import handles_errors, loaded
from gatekeeper.escapes import echo

app = typer.Typer(help="Where the cache is, and the key a CI cache stores it under.", no_args_is_help=True, rich_markup_mode=None)


@app.command("dir", epilog="Example:\n\n  gatekeeper cache dir . --policy gatekeeper.toml")
@handles_errors()
def cache_dir(
    ctx: typer.Context,
    path: Path = typer.Argument(Path("."), metavar="PATH", help="The project."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help="Policy file (default: discovered)."),
) -> None:
    """Print the cache folder `check` uses for the project (what a CI cache saves and restores)."""
    from gatekeeper.cachekey import cache_folder

    root = gate.project_root(path)
    echo(str(cache_folder(root, gate.load_policy(root, policy_file, loaded(ctx, root)[1]))))


@app.command("key", epilog="Example (GitHub Actions):\n\n  key=gatekeeper-$RUNNER_OS-$(gatekeeper cache key)")
@handles_errors()
def cache_key(
    ctx: typer.Context,
    path: Path = typer.Argument(Path("."), metavar="PATH", help="The project."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help="Policy file (default: discovered)."),
    as_json: bool = typer.Option(False, "--json", help="Print what the key is made from, as JSON."),
) -> None:
    """Print the CI cache key: Python, gatekeeper and tool versions and the policy's digest."""
    from gatekeeper.cachekey import ci_key, key_material, tool_python, tool_versions

    root = gate.project_root(path)
    policy = gate.load_policy(root, policy_file, loaded(ctx, root)[1])
    material = key_material(policy, tool_versions(tool_python(root, policy)))
    echo(json.dumps({**material, "key": ci_key(material)}, indent=2) if as_json else ci_key(material))
