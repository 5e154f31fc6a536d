"""``gatekeeper baseline create``: record today's findings so that only new ones block."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gatekeeper import gate
from gatekeeper.commands import handles_errors, load_checkers, split
from gatekeeper.commands.check import ONLY_HELP, POLICY_HELP, SKIP_HELP

app = typer.Typer(help="Record today's findings so only new ones block.", no_args_is_help=True, rich_markup_mode=None)


@app.command(
    "create",
    epilog="Examples:\n\n  gatekeeper baseline create\n\n  gatekeeper check --baseline .gatekeeper/baseline.json",
)
@handles_errors()
def baseline_create(  # noqa: PLR0913  # one parameter per command-line option
    path: Path = typer.Argument(Path("."), metavar="PATH", help="The project."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=POLICY_HELP),
    output: Optional[Path] = typer.Option(
        None, "--output", metavar="FILE", help="Where to write (default: .gatekeeper/baseline.json)."
    ),
    only: Optional[list[str]] = typer.Option(None, "--only", metavar="NAMES", help=ONLY_HELP),
    skip: Optional[list[str]] = typer.Option(None, "--skip", metavar="NAMES", help=SKIP_HELP),
    no_audit: bool = typer.Option(False, "--no-audit", help="Do not record the baseline in the audit log."),
) -> None:
    """Run the checks and record today's findings, so that 'check --baseline' blocks only new ones."""
    request = gate.BaselineRequest(
        path=path, policy_file=policy_file, output=output, only=split(only), skip=split(skip), audit=not no_audit
    )
    checkers, options = load_checkers(path)
    gate.create_baseline(request, checkers, options)
