"""``gatekeeper audit verify | show | report``: read the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gatekeeper import __version__, gate
from gatekeeper.commands import handles_errors, loaded
from gatekeeper.escapes import echo

app = typer.Typer(help="Verify or read the audit log.", no_args_is_help=True, rich_markup_mode=None)

_LOG_HELP = "The audit log (default: audit.log of the policy in the current folder)."
_POLICY_HELP = "Policy naming the log (default: discovered)."
_KEY_HELP = "Environment variable holding the signing key."
_KEEP_HEAD = "keep the head sha256 and pass it as --anchor"


def _audit_log(ctx: typer.Context, log: Path | None, policy_file: Path | None) -> Path:
    """The log named on the command line, else the one the policy in the current folder names."""
    if log is not None:
        return log
    from gatekeeper.audit import log_path

    root = Path.cwd()
    _, options = loaded(ctx)
    return log_path(root, gate.load_policy(root, policy_file, options))


@app.command(
    "verify",
    epilog="Examples:\n\n  gatekeeper audit verify\n\n  gatekeeper audit verify .gatekeeper/audit.jsonl --anchor 3f2a...\n\n"
    "Exit codes: 0 intact, 1 a record was edited, deleted, inserted or reordered, or a signature does not match, 2 no log.",
)
@handles_errors()
def audit_verify(
    ctx: typer.Context,
    log: Optional[Path] = typer.Argument(None, metavar="LOG", help=_LOG_HELP),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=_POLICY_HELP),
    key_env: str = typer.Option("GATEKEEPER_AUDIT_KEY", "--key-env", metavar="NAME", help=_KEY_HELP),
    anchor: Optional[str] = typer.Option(
        None,
        "--anchor",
        metavar="SHA256",
        help="A head sha256 recorded earlier (printed by check and verify): it must still be in the chain.",
    ),
) -> int:
    """Check the log's hash chain (and signatures, when the key is set); name the first bad line."""
    from gatekeeper.audit import key_from_env, verify_log

    path = _audit_log(ctx, log, policy_file)
    outcome = verify_log(path, key_from_env(key_env), anchor)
    if not outcome.ok:
        echo(f"audit log {path}: TAMPERED: {outcome.problem}", err=True)
        echo(f"({outcome.records} record(s) before it verified)", err=True)
        return 1
    echo(f"audit log {path}: intact, {outcome.records} record(s), head sha256 {outcome.head}")
    if outcome.unchecked:
        echo(
            f"note: {outcome.unchecked} of {outcome.records} record(s) are signed but were NOT checked: "
            f"set {key_env} to the signing key to check them"
        )
    elif outcome.signed:
        echo(f"signatures: {outcome.signed} checked, all match")
    if outcome.mark_seq is not None and outcome.before_mark:
        echo(
            f"note: signing (with this key) starts at record #{outcome.mark_seq}; "
            f"the {outcome.before_mark} record(s) before it are chained but not signed with it"
        )
    if anchor:
        echo(f"anchor: found at record #{outcome.anchor_seq}")
    else:
        echo(f"note: records removed from the end cannot be detected from the log alone; {_KEEP_HEAD}")
    return 0


@app.command(
    "show", epilog="Examples:\n\n  gatekeeper audit show --last 10\n\n  gatekeeper audit show .gatekeeper/audit.jsonl --json"
)
@handles_errors()
def audit_show(
    ctx: typer.Context,
    log: Optional[Path] = typer.Argument(None, metavar="LOG", help=_LOG_HELP),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=_POLICY_HELP),
    last: Optional[int] = typer.Option(None, "--last", min=1, metavar="N", help="Show only the last N records."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as a JSON array instead of a table."),
) -> None:
    """Print past runs as a table (not verified: use 'audit verify' for that)."""
    from gatekeeper.audit import format_table, read_records, records_json

    records = read_records(_audit_log(ctx, log, policy_file))
    if last is not None:
        records = records[-last:]
    if as_json:
        from gatekeeper.redaction import redact

        typer.echo(redact(records_json(records), heuristic=False))
    else:
        echo(format_table(records), nl=False)


@app.command(
    "report",
    epilog="Examples:\n\n  gatekeeper audit report --output audit-history.html\n\n"
    "  gatekeeper audit report .gatekeeper/audit.jsonl --since 2026-09-01\n\n"
    "Exit codes: 0 written and the chain is intact, 1 written but the chain is broken (the page says where),"
    " 2 no log or bad option.",
)
@handles_errors()
def audit_report(  # noqa: PLR0913  # one parameter per command-line option
    ctx: typer.Context,
    log: Optional[Path] = typer.Argument(None, metavar="LOG", help=_LOG_HELP),
    output: Path = typer.Option(Path("audit-history.html"), "--output", metavar="FILE", help="Where to write the HTML page."),
    since: Optional[str] = typer.Option(None, "--since", metavar="YYYY-MM-DD", help="Show only runs on or after this day."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=_POLICY_HELP),
    key_env: str = typer.Option("GATEKEEPER_AUDIT_KEY", "--key-env", metavar="NAME", help=_KEY_HELP),
) -> int:
    """Write one self-contained HTML page of every run in the audit log: chain status, trends, waivers, runs."""
    import datetime as dt

    from gatekeeper.audit import key_from_env
    from gatekeeper.errors import UsageError
    from gatekeeper.history import history_page
    from gatekeeper.reports import write_atomic

    day = None
    if since:
        try:
            day = dt.date.fromisoformat(since)
        except ValueError:
            raise UsageError(f"--since: expected a date like 2026-09-01, got {since!r}") from None
    path = _audit_log(ctx, log, policy_file)
    page = history_page(path, key_from_env(key_env), since=day, tool_version=__version__)
    write_atomic(output, page.html)
    scope = f"runs since {day}" if day else f"{page.records} run(s)"
    typer.echo(f"history: {output} ({scope} from {path})")
    verification = page.verification
    if not verification.ok:
        typer.echo(f"audit log {path}: TAMPERED: {verification.problem} (the page says so at the top)", err=True)
        return 1
    return 0
