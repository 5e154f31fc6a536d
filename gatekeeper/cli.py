"""The command line's wiring: the typer app, its commands and groups (all in ``gatekeeper.commands``),
the global options and the console-script entry point.

Each command turns its options into a request for ``gatekeeper.gate`` (which owns the check,
merge, baseline and report sequences) and maps what it returns to the exit code. Errors become
messages and exit codes in one place, ``commands.handles_errors``. Heavy modules are imported
inside the commands so that ``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from gatekeeper import __version__, gate
from gatekeeper.commands import attestation, audit, db, hook, load_checkers
from gatekeeper.commands import baseline as baseline_commands
from gatekeeper.commands import bundle as bundle_command
from gatekeeper.commands import cache as cache_commands
from gatekeeper.commands import check as check_commands
from gatekeeper.commands import key as key_commands
from gatekeeper.commands import plugins as plugins_command
from gatekeeper.commands import policy as policy_commands

app = typer.Typer(
    name="gatekeeper",
    help=(
        "One CI step that turns a policy file into a verdict: coverage, security, dependencies, SBOM, licenses,"
        " and lint, types, secrets when enabled."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(policy_commands.app, name="policy")
app.add_typer(audit.app, name="audit")
app.add_typer(attestation.app, name="attestation")
app.add_typer(baseline_commands.app, name="baseline")
app.add_typer(db.app, name="db")
app.add_typer(hook.app, name="hook")
app.add_typer(cache_commands.app, name="cache")
app.add_typer(key_commands.app, name="key")


def _real_placeholders() -> None:
    """Help shows placeholders, never Python types: typer (0.2x) appends ``<path>``, ``<str>`` or
    ``<list[Path]>`` to every argument and to every option without a metavar. An argument's
    metavar (``PATH``, ``FILE...``) already names its value; an option without one gets its own
    long name in capitals (``--key-env KEY_ENV``), so an option added later cannot show a type."""
    import typer.core

    def argument_type(self: typer.core.TyperArgument, ctx: Any) -> str:
        return ""

    def option_type(self: typer.core.TyperOption, ctx: Any) -> str:
        longest = max(self.opts, key=len).lstrip("-/")
        return (longest or self.name or "value").replace("-", "_").upper()

    typer.core.TyperArgument.display_type = argument_type  # type: ignore[method-assign,assignment]
    typer.core.TyperOption.display_type = option_type  # type: ignore[method-assign,assignment]


_real_placeholders()

EXIT_INTERRUPTED = gate.EXIT_INTERRUPTED


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gatekeeper {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """gatekeeper: a quality gate and compliance auditor for Python projects.

    Exit codes: 0 pass, 1 the gate failed, 2 usage or policy error, 3 a check could not run.
    """
    from gatekeeper.checkers import under_review
    from gatekeeper.checkline import command_started

    command_started()  # the signing key and the cache key leave the environment before any child starts
    under_review()  # no command imports a checker of the checkout it runs in (a command judging a project adds it)
    ctx.obj = load_checkers  # the commands load the checkers when they need them (commands.loaded)


# --------------------------------------------------------------------------- the commands

app.command(epilog=check_commands.CHECK_EPILOG)(check_commands.check)
app.command(epilog=check_commands.MERGE_EPILOG)(check_commands.merge)
app.command(epilog=check_commands.REPORT_EPILOG)(check_commands.report)
app.command("bundle", epilog=bundle_command.EPILOG)(bundle_command.bundle)
app.command(epilog=plugins_command.EPILOG)(plugins_command.plugins)


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # outside check: nothing to clean up
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    run()
