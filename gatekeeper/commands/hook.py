"""``gatekeeper hook security | policy``: fast subsets of the gate for pre-commit."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gatekeeper import gate
from gatekeeper.commands import handles_errors, loaded
from gatekeeper.commands.policy import policy_validate

app = typer.Typer(help="Fast subsets of the gate for pre-commit.", no_args_is_help=True, rich_markup_mode=None)


@app.command(
    "security", epilog="Example (.pre-commit-config.yaml runs this):\n\n  gatekeeper hook security app/models.py app/views.py"
)
@handles_errors()
def hook_security(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(None, metavar="FILE", help="Files to scan (pre-commit passes the staged Python files)."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help="Policy file (default: discovered)."),
) -> int:
    """Run the security check, with the project's policy, on just these files; no reports, no audit."""
    from gatekeeper.checkers import under_review

    under_review(Path.cwd())  # the project is the current folder: no checker of it is imported
    checkers, options = loaded(ctx)
    return gate.security_hook(files, policy_file, checkers, options)


@app.command("policy", epilog="Example:\n\n  gatekeeper hook policy")
def hook_policy(
    ctx: typer.Context,
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help="Policy file (default: discovered)."),
) -> None:
    """Validate the project's policy (same as 'gatekeeper policy validate')."""
    policy_validate(ctx, policy_file)
