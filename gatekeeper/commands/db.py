"""``gatekeeper db update | info``: the offline advisory database (OSV)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from gatekeeper import gate
from gatekeeper.commands import handles_errors

app = typer.Typer(help="Fetch or describe the offline advisory database (OSV).", no_args_is_help=True, rich_markup_mode=None)

_DIR_HELP = 'The database folder (default: gatekeeper/advisory-db in the user\'s data directory, as advisory_db = "auto").'


@app.command(
    "update",
    epilog="Examples:\n\n  gatekeeper db update\n\n  gatekeeper db update --dir /srv/advisory-db "
    "--url https://mirror.example/osv/PyPI/all.zip\n\n  gatekeeper db update --url file:///media/usb/all.zip",
)
@handles_errors()
def db_update(
    folder: Optional[Path] = typer.Option(None, "--dir", metavar="DIR", help=_DIR_HELP),
    url: Optional[str] = typer.Option(
        None,
        "--url",
        metavar="URL",
        help="The OSV PyPI export to fetch (http, https or file; default: $GATEKEEPER_ADVISORY_URL, else OSV's).",
    ),
) -> int | None:
    """Download OSV's PyPI export; verify it, then replace the previous database (unchanged: one request)."""
    from gatekeeper.checkers.dependencies import database as advisory_db
    from gatekeeper.checkers.dependencies.advisories import iso_time
    from gatekeeper.checkers.dependencies.offline import ahead_note
    from gatekeeper.errors import GatekeeperError
    from gatekeeper.escapes import clean

    target = (folder or advisory_db.default_dir()).absolute()
    source = advisory_db.source_url(url)
    bar = advisory_db.progress_bar()
    typer.echo(f"db update: fetching {clean(advisory_db.display_url(source))}", err=True)
    try:
        try:
            outcome = advisory_db.update(target, source, progress=bar)
        finally:
            if bar is not None:
                sys.stderr.write("\n")
    except KeyboardInterrupt:  # the update is all or nothing: say that nothing changed
        typer.echo(f"gatekeeper: db update interrupted; {target} was left as it was", err=True)
        return gate.EXIT_INTERRUPTED
    except GatekeeperError as exc:
        typer.echo(f"gatekeeper: error: {clean(str(exc))}; {target} was left as it was", err=True)
        return 3
    survey = outcome.survey
    if not outcome.changed:
        typer.echo(f"db update: unchanged: {outcome.path} is current with {clean(outcome.url)}")
        return None
    assert survey is not None and survey.as_of is not None  # noqa: S101  # nosec B101: a changed database was surveyed
    age = advisory_db.age_days(survey.as_of)
    typer.echo(
        f"db update: updated {outcome.path}: {survey.records} records, {survey.packages} PyPI packages, "
        f"as of {iso_time(survey.as_of)} ({age:g} days old), {outcome.size} bytes"
    )
    if survey.dated_ahead:
        typer.echo(clean(f"db update: {ahead_note(survey.dated_ahead)}"))
    return None


@app.command("info", epilog="Examples:\n\n  gatekeeper db info\n\n  gatekeeper db info --dir ../shared/advisory-db")
@handles_errors(3)
def db_info(
    folder: Optional[Path] = typer.Option(None, "--dir", metavar="DIR", help=_DIR_HELP + " Any OSV folder or zip works too."),
) -> int | None:
    """Where the database came from, what it holds and how old its newest record is."""
    from gatekeeper.checkers.dependencies import database as advisory_db
    from gatekeeper.checkers.dependencies.offline import ahead_note
    from gatekeeper.escapes import clean

    info = advisory_db.describe((folder or advisory_db.default_dir()).absolute())
    age = info["age_days"]
    rows: list[tuple[str, object]] = [
        ("database", info["database"]),
        ("source", info["source"] or "(not fetched by gatekeeper db update)"),
        ("fetched at", info["fetched_at"] or "-"),
        ("records", info["records"]),
        ("packages", info["packages"]),
        (
            "as of",
            info["as_of"]
            or f"(no record carries a readable 'modified' time{' before this clock' if info['dated_ahead'] else ''})",
        ),
        ("age", f"{age:g} days" if age is not None else "unknown"),
    ]
    if info["dated_ahead"]:
        rows.append(("dated ahead", ahead_note(info["dated_ahead"])))
    for label, value in rows:
        typer.echo(clean(f"{label + ':':<12}{value}"))
    return 3 if age is None else None
