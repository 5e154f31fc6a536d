"""``gatekeeper attestation verify FILE --public-key KEY [--subject FILE...] [--tsa-cert CA]``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gatekeeper.commands import handles_errors
from gatekeeper.escapes import clean, echo

app = typer.Typer(
    help="Verify a run's attestation (in-toto statement in a DSSE envelope).", no_args_is_help=True, rich_markup_mode=None
)

EPILOG = """Examples:

  gatekeeper attestation verify gatekeeper-reports/gatekeeper.intoto.json --public-key gatekeeper.pub

  gatekeeper attestation verify gatekeeper.intoto.json --public-key gatekeeper.pub --subject 'dist/*.whl' --tsa-cert tsa-ca.pem

Exit codes: 0 signed by a given key, every --subject is a subject, and the timestamp (with --tsa-cert) verifies;
1 not authenticated (no key given, no signature verifies) or a check failed; 2 not an attestation or bad option."""


@app.command("verify", epilog=EPILOG)
@handles_errors()
def attestation_verify(
    envelope: Path = typer.Argument(..., metavar="FILE", help="The attestation (gatekeeper.intoto.json)."),
    public_keys: Optional[list[Path]] = typer.Option(
        None, "--public-key", metavar="KEY.pem", help="A trusted Ed25519 public key (PEM); repeatable (a keyring)."
    ),
    key_env: Optional[str] = typer.Option(
        None, "--key-env", metavar="NAME", help="An environment variable holding a shared HMAC secret (the earlier scheme)."
    ),
    subjects: Optional[list[str]] = typer.Option(
        None, "--subject", metavar="FILE", help="A file (or glob) that must be one of the statement's subjects; repeatable."
    ),
    tsa_cert: Optional[Path] = typer.Option(
        None,
        "--tsa-cert",
        metavar="CA.pem",
        help="The CA certificate the timestamp authority's certificate chains to (timestamp_ca): check the RFC 3161 timestamp.",
    ),
) -> int:
    """Check an attestation's signature, its statement, its subjects and its timestamp."""
    from gatekeeper import childenv
    from gatekeeper.attestation import expand_subjects, load_envelope, scope_note, verify_envelope
    from gatekeeper.errors import UsageError
    from gatekeeper.signing import Keyring, SigningKeyError

    keyring = Keyring()
    try:
        keyring.add_files(public_keys or [])
    except SigningKeyError as exc:
        raise UsageError(f"--public-key: {exc}") from None
    if key_env:
        secret = childenv.take(key_env)
        if not secret:
            raise UsageError(f"--key-env: the environment variable {key_env} is not set")
        keyring.add_hmac_secret(secret.encode("utf-8"))
    if tsa_cert is not None and not tsa_cert.is_file():
        raise UsageError("--tsa-cert: file not found", file=str(tsa_cert))
    files = expand_subjects(subjects or [], Path.cwd())
    outcome = verify_envelope(load_envelope(envelope), keyring, files, tsa_cert)
    found = outcome.statement.get("predicate")
    predicate: dict[str, object] = found if isinstance(found, dict) else {}
    where = predicate.get("repository")
    repo: dict[str, object] = where if isinstance(where, dict) else {}
    partial = scope_note(predicate)
    waivers = predicate.get("waivers")
    applied = waivers.get("applied") if isinstance(waivers, dict) else None
    waived = f" with {applied} waiver(s) applied" if isinstance(applied, int) and applied else ""
    what = (
        f"verdict {clean(str(predicate.get('verdict', '?')))}{waived}{f' ({clean(partial)})' if partial else ''}, "
        f"commit {clean(str(repo.get('commit') or 'not recorded'))}, "
        f"{len(outcome.statement.get('subject') or [])} subject(s)"
    )
    for note in outcome.notes:
        echo(f"note: {note}")
    if outcome.problems:
        echo(f"attestation {envelope}: REJECTED ({what})", err=True)
        for problem in outcome.problems:
            echo(f"  {clean(problem)}", err=True)
        return 1
    if not outcome.authenticated:
        echo(f"attestation {envelope}: statement consistent, NOT authenticated ({what})", err=True)
        return 1
    echo(f"attestation {envelope}: verified, signed by key {outcome.key_id} ({what})")
    if files:
        echo(f"subjects: {len(files)} file(s) given, each is a subject")
    if outcome.stamp_time:
        echo(f"timestamp: {outcome.stamp_time}, verified against {tsa_cert}")
    return 0
