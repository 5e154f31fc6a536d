"""``gatekeeper audit verify | show | report``: read the audit log."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from gatekeeper import __version__, gate
from gatekeeper.commands import handles_errors, loaded
from gatekeeper.escapes import echo

if TYPE_CHECKING:
    from gatekeeper.timestamp import LogStamps
from gatekeeper.gated import EVENTS

if TYPE_CHECKING:
    from gatekeeper.history import HistoryPage

if TYPE_CHECKING:
    from gatekeeper.audit import Verification

app = typer.Typer(help="Verify or read the audit log.", no_args_is_help=True, rich_markup_mode=None)

_LOG_HELP = "The audit log (default: audit.log of the policy in the current folder)."
_POLICY_HELP = "Policy naming the log (default: discovered)."
_KEY_HELP = "Environment variable holding a private key to verify with (its public key; or an HMAC secret of the earlier scheme)."
_PUBLIC_HELP = "An Ed25519 public key (PEM) to trust; repeat it for a keyring across rotations."
_PREFIX_HELP = "Accept the first N records without authentication (written before signing started)."
_OUTPUT_HELP = "Where to write: the HTML page (default audit-history.html), or the CSV folder (default audit-history/)."
_BRANCH_HELP = "Only runs on this branch; with a git checkout, also list which of its commits were gated."
_EVENT_HELP = f"Only runs of this CI event: {', '.join(EVENTS)}."
_REPO_HELP = "The git checkout to read first-parent history and policy files from (default: the current folder)."
_REPORTS_HELP = "A folder of kept reports (e.g. CI artifacts), found by their recorded sha256; repeatable."
_FORMAT_HELP = "html: one page; csv: runs.csv, exceptions.csv, findings.csv (and gated.csv with --branch)."
_REPORT_TSA_HELP = (
    "The CA certificate the timestamp authority's certificate chains to: check each record's RFC 3161 "
    "stamp and the records' order in time; the first that does not hold breaks the page there. A pass is judged "
    "by trusted time as bundle verify --require-pass --tsa-cert judges it: a waiver or offline database past its "
    "term at the run's latest possible start makes it a qualified pass."
)
_ACCEPT_BASELINE_HELP = (
    "Count a pass that a baseline (--baseline) or a new-code reference (--new-code-since) let findings through as "
    "gating its commit, as bundle verify --require-pass --accept-baseline does; without it such a pass is a qualified pass."
)
_FOLDER_HELP = (
    "The folder of the repository a run must have judged to gate its commit, relative to its top (default: the top, "
    "the whole repository), as bundle verify --require-pass --folder; a run of another folder is a qualified pass."
)
_REPOSITORY_HELP = (
    "The repository whose CI must have run a pass for it to gate its commit (owner/name on GitHub Actions, "
    "group/project on GitLab CI), as bundle verify --repository; a run elsewhere, or naming none, is a qualified pass."
)
_KEEP_HEAD = "keep the head sha256 and pass it as --anchor"
_RETIRED_HELP = (
    "A key retired (rotated out, or compromised) since TIME, e.g. sha256:3d1f...=2026-10-01: what it signed counts only "
    "where a timestamp fixes it before then (needs --tsa-cert); repeatable."
)


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
    epilog="Examples:\n\n  gatekeeper audit verify --public-key audit.pub\n\n"
    "  gatekeeper audit verify .gatekeeper/audit.jsonl --public-key old.pub --public-key new.pub --anchor 3f2a...\n\n"
    "  gatekeeper audit verify --public-key old.pub --public-key new.pub --tsa-cert tsa-ca.pem "
    "--retired sha256:3d1f...=2026-10-01T00:00:00Z\n\n"
    "Exit codes: 0 the chain is consistent (intact: every record authenticated, when keys are given), 1 a record "
    "was edited, deleted, inserted or reordered, a signature does not match, records are not authenticated, or "
    "(with --tsa-cert) their timestamps or a retired key's signatures do not hold up, 2 no log, a bad key or a "
    "bad option.",
)
@handles_errors()
def audit_verify(  # noqa: PLR0913  # one parameter per command-line option
    ctx: typer.Context,
    log: Optional[Path] = typer.Argument(None, metavar="LOG", help=_LOG_HELP),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=_POLICY_HELP),
    public_key: Optional[list[Path]] = typer.Option(None, "--public-key", metavar="FILE", help=_PUBLIC_HELP),
    key_env: str = typer.Option("GATEKEEPER_AUDIT_KEY", "--key-env", metavar="NAME", help=_KEY_HELP),
    accept_prefix: int = typer.Option(0, "--accept-unsigned-prefix", min=0, metavar="N", help=_PREFIX_HELP),
    anchor: Optional[str] = typer.Option(
        None,
        "--anchor",
        metavar="SHA256",
        help="A head sha256 recorded earlier (printed by check and verify): it must still be in the chain.",
    ),
    tsa_cert: Optional[Path] = typer.Option(
        None,
        "--tsa-cert",
        metavar="CA.pem",
        help="The CA certificate the timestamp authority's certificate chains to (timestamp_ca): "
        "check each record's RFC 3161 stamp.",
    ),
    retired: Optional[list[str]] = typer.Option(None, "--retired", metavar="KEYID=TIME", help=_RETIRED_HELP),
) -> int:
    """Check the log's hash chain and, with keys, authenticate every record; name the first bad line."""
    from gatekeeper.audit import keyring_from, verify_log
    from gatekeeper.keyretire import log_refusals, parse_retired

    path = _audit_log(ctx, log, policy_file)
    retired_at = parse_retired(retired or [], tsa_cert)
    _tsa_cert_exists(tsa_cert)
    records: list[dict[str, Any]] = []
    keys = keyring_from(public_key or [], key_env)
    outcome = verify_log(path, keys, anchor, collect=records, accept_prefix=accept_prefix)
    if not outcome.ok:
        echo(f"audit log {path}: {outcome.status} at {outcome.problem}", err=True)
        echo(f"({outcome.records} record(s) before it verified)", err=True)
        return 1
    stamps, problems = log_refusals(records, tsa_cert, retired_at, keys.ids())
    if problems:  # the chain holds, but the times it claims (or the records no token fixes) do not: never "intact"
        echo(f"audit log {path}: REJECTED: the records do not hold up against {tsa_cert}", err=True)
        for problem in problems:
            echo(f"  {problem}", err=True)
        return 1
    echo(f"audit log {path}: {outcome.status}, {outcome.records} record(s), head sha256 {outcome.head}")
    for line in signature_lines(outcome, key_env):
        echo(line)
    for seq, old, _ in outcome.rotations:  # the authority's time of a hand-over: when the old key may be retired
        at = min((when for number, when in stamps.fixed if number >= seq), default="")
        if at:
            echo(f"rotation: record #{seq}, the hand-over from {old}, was in the log by {at} (the authority's time)")
    for key_id, since in retired_at.items():
        echo(f"retired: key {key_id} since {since}: each record it signed is fixed before then by the authority's time")
    if anchor:
        echo(f"anchor: found at record #{outcome.anchor_seq}")
        if outcome.anchor_seq is not None and outcome.anchor_seq < outcome.records:
            echo(
                f"note: records #{outcome.anchor_seq + 1}..#{outcome.records} came after the anchor, which vouches for none "
                f"of them: a log rewritten from there on would read the same; {_KEEP_HEAD}"
            )
    else:
        echo(f"note: records removed from the end cannot be detected from the log alone; {_KEEP_HEAD}")
    return _timestamps(stamps, tsa_cert)


def _tsa_cert_exists(tsa_cert: Path | None) -> None:
    from gatekeeper.timestamp import require_ca_file

    require_ca_file(tsa_cert)


def _timestamps(found: LogStamps, tsa_cert: Path | None) -> int:
    """Say what the records' RFC 3161 timestamps prove (checked against ``tsa_cert``)."""
    plain = found.records - found.stamped + found.failed
    if not found.stamped:
        echo("time: no record carries a trusted timestamp: every time in this log is the runner's own clock")
        return 0
    if tsa_cert is None:
        echo(f"note: {found.stamped} record(s) carry RFC 3161 timestamps, NOT checked: pass --tsa-cert (the authority CA)")
    else:
        echo(f"timestamps: {found.verified} record(s) verified against {tsa_cert} (stamped {found.first} .. {found.last})")
        for note in found.notes:
            echo(f"note: {note}")
    if plain:
        echo(f"note: {plain} record(s) have no trusted time (not stamped, or the authority failed): the runner's clock only")
    return 0


def signature_lines(outcome: Verification, key_env: str) -> list[str]:
    """What ``audit verify`` says about signatures, keys, rotations and the accepted prefix."""
    lines: list[str] = []
    if not outcome.keys_given:
        signed = f"{outcome.unchecked} of {outcome.records} record(s) are signed; " if outcome.unchecked else ""
        lines.append(
            f"note: not authenticated, {signed}no key was given, and anyone able to write the log can recompute "
            f"its chain; pass --public-key FILE (or set {key_env}) to authenticate it"
        )
    elif outcome.signed:
        lines.append(f"signatures: {outcome.signed} checked, all valid")
    for segment in outcome.segments:
        lines.append(f"key {segment.key_id}: records #{segment.first}..#{segment.last}")
    for seq, old, new in outcome.rotations:
        lines.append(f"rotation: record #{seq}, signed by {old}, hands over to {new}")
    if outcome.accepted:
        lines.append(f"note: records #1..#{outcome.accepted} were accepted without authentication (--accept-unsigned-prefix)")
    return lines


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
    "  gatekeeper audit report --since 2026-07-01 --until 2026-09-30 --branch main --reports ci-artifacts/\n\n"
    "  gatekeeper audit report --since 2026-07-01 --until 2026-09-30 --format csv --output audit-q3/\n\n"
    "  gatekeeper audit report --public-key audit.pub\n\n"
    "Exit codes: 0 written and the chain is consistent (intact when keys authenticate it), 1 written but the chain"
    " is broken or not authenticated (the page says where), 2 no log or bad option.",
)
@handles_errors()
def audit_report(  # noqa: PLR0913  # one parameter per command-line option
    ctx: typer.Context,
    log: Optional[Path] = typer.Argument(None, metavar="LOG", help=_LOG_HELP),
    output: Optional[Path] = typer.Option(None, "--output", metavar="PATH", help=_OUTPUT_HELP),
    since: Optional[str] = typer.Option(None, "--since", metavar="YYYY-MM-DD", help="Only runs on or after this day (UTC)."),
    until: Optional[str] = typer.Option(None, "--until", metavar="YYYY-MM-DD", help="Only runs on or before this day (UTC)."),
    branch: Optional[str] = typer.Option(None, "--branch", metavar="NAME", help=_BRANCH_HELP),
    event: Optional[str] = typer.Option(None, "--event", metavar="EVENT", help=_EVENT_HELP),
    repo: Optional[Path] = typer.Option(None, "--repo", metavar="DIR", help=_REPO_HELP),
    reports: list[Path] = typer.Option([], "--reports", metavar="DIR", help=_REPORTS_HELP),
    fmt: str = typer.Option("html", "--format", metavar="html|csv", help=_FORMAT_HELP),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=_POLICY_HELP),
    public_key: Optional[list[Path]] = typer.Option(None, "--public-key", metavar="FILE", help=_PUBLIC_HELP),
    key_env: str = typer.Option("GATEKEEPER_AUDIT_KEY", "--key-env", metavar="NAME", help=_KEY_HELP),
    accept_prefix: int = typer.Option(0, "--accept-unsigned-prefix", min=0, metavar="N", help=_PREFIX_HELP),
    tsa_cert: Optional[Path] = typer.Option(None, "--tsa-cert", metavar="CA.pem", help=_REPORT_TSA_HELP),
    retired: Optional[list[str]] = typer.Option(None, "--retired", metavar="KEYID=TIME", help=_RETIRED_HELP),
    accept_baseline: bool = typer.Option(False, "--accept-baseline", help=_ACCEPT_BASELINE_HELP),
    folder: Optional[str] = typer.Option(None, "--folder", metavar="PATH", help=_FOLDER_HELP),
    repository: Optional[str] = typer.Option(None, "--repository", metavar="NAME", help=_REPOSITORY_HELP),
) -> int:
    """Write the audit history for a period: chain status, controls, gated changes, policy changes,
    exceptions, trends and every run (HTML), or the runs, exceptions and findings as CSV."""
    from gatekeeper.audit import keyring_from
    from gatekeeper.errors import UsageError
    from gatekeeper.history import Joins, PageFacts, Period, history_page

    if fmt not in ("html", "csv"):
        raise UsageError(f"--format: expected html or csv, got {fmt!r}")
    if event is not None and event not in EVENTS:
        raise UsageError(f"--event: expected one of {', '.join(EVENTS)}, got {event!r}")
    period = Period(_day("--since", since), _day("--until", until), branch, event)
    if period.since and period.until and period.since > period.until:
        raise UsageError(f"--since {period.since} is after --until {period.until}")
    path = _audit_log(ctx, log, policy_file)
    out = output or Path("audit-history.html" if fmt == "html" else "audit-history")
    checkout = repo if repo is not None else (Path.cwd() if (Path.cwd() / ".git").exists() else None)
    if checkout is not None and not checkout.is_dir():
        raise UsageError(f"--repo: {checkout} is not a folder")
    keys = keyring_from(public_key or [], key_env)
    facts = PageFacts(log_name=str(path), generated_at="", period=period, tool_version=__version__,
                      key_checked=bool(keys), project=(checkout or Path.cwd()).resolve().name,
                      page_dir=(out if fmt == "csv" else out.parent).resolve())  # fmt: skip
    from gatekeeper.commands.bundledemands import folder_of
    from gatekeeper.gated import Acceptance

    accept = Acceptance(accept_baseline, folder_of(folder), repository)
    joins = Joins(repo=checkout, branch=branch, report_dirs=tuple(reports), root=Path.cwd(), accept=accept)
    _tsa_cert_exists(tsa_cert)
    from gatekeeper.keyretire import parse_retired

    retired_at = parse_retired(retired or [], tsa_cert)
    page = history_page(path, keys, facts, joins, accept_prefix=accept_prefix, tsa_ca=tsa_cert, retired=retired_at)
    if fmt == "csv":
        _write_csv(out, page)
    else:
        from gatekeeper.reports import write_atomic

        write_atomic(out, page.html)
        typer.echo(f"history: {out} ({len(page.runs)} run(s), {period.describe()}, from {path})")
    if branch and checkout is None:  # the page says "not computed"; the CSV folder would just lack gated.csv
        typer.echo(
            f"note: --branch {branch}: the gated changes are not listed: {Path.cwd()} is not the top of a git checkout "
            "(pass --repo DIR)",
            err=True,
        )
    verification = page.verification
    if not verification.ok:
        typer.echo(f"audit log {path}: {verification.status} at {verification.problem} (the page says so at the top)", err=True)
        return 1
    typer.echo(f"audit log {path}: {verification.status}")
    return 0


def _day(flag: str, value: str | None) -> dt.date | None:
    from gatekeeper.errors import UsageError

    if not value:
        return None
    # YYYY-MM-DD alone, as documented: Python 3.11's fromisoformat also takes 20260901 and 2026-W36-1
    # (3.10's does not), so a form that works on one runner would be refused on another
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag}: expected a day as YYYY-MM-DD (UTC), e.g. 2026-09-01, got {value!r}") from None


def _write_csv(folder: Path, page: HistoryPage) -> None:
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.history_export import exceptions_csv, findings_csv, gated_csv, runs_csv
    from gatekeeper.reports import write_atomic

    folder = resolve_for_write(folder, Path.cwd())
    folder.mkdir(parents=True, exist_ok=True)
    findings = findings_csv(page.runs, page.kept)
    for name, text in (
        ("runs.csv", runs_csv(page.runs)),
        ("exceptions.csv", exceptions_csv(page.runs)),
        ("findings.csv", findings.text),
        *((("gated.csv", gated_csv(page.gated)),) if page.gated is not None and not page.gated.problem else ()),
    ):
        write_atomic(folder / name, text)
        typer.echo(f"csv: {folder / name}")
    hint = " (pass --reports with the folder of kept reports)" if findings.not_kept else ""
    typer.echo(
        f"findings: from the kept gatekeeper.json of {findings.kept} run(s); {findings.not_kept} run(s) had none kept{hint}"
    )
