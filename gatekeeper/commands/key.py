"""``gatekeeper key generate | rotate | id``: the Ed25519 keys that sign evidence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from gatekeeper import gate
from gatekeeper.commands import handles_errors, loaded
from gatekeeper.escapes import echo

if TYPE_CHECKING:
    from gatekeeper.timestamp import Authority

app = typer.Typer(help="Create, rotate and identify the keys that sign evidence.", no_args_is_help=True, rich_markup_mode=None)


@app.command(
    "generate",
    epilog="Examples:\n\n  gatekeeper key generate\n\n"
    "  gatekeeper key generate --private ~/secrets/gatekeeper-audit.key --public audit.pub\n\n"
    "Keep the private key in your CI's secret store (as the text of GATEKEEPER_AUDIT_KEY), never in the "
    "repository; give the public key to whoever verifies. Exit codes: 0 written, 2 a file exists or cannot be written.",
)
@handles_errors()
def key_generate(
    private: Path = typer.Option(Path("gatekeeper-audit.key"), "--private", metavar="FILE", help="Where the private key goes."),
    public: Path = typer.Option(Path("gatekeeper-audit.pub"), "--public", metavar="FILE", help="Where the public key goes."),
) -> None:
    """Write a new Ed25519 key pair: the private key (PEM, mode 0600, never overwritten) and its public key."""
    from gatekeeper.errors import UsageError
    from gatekeeper.signing import write_key_pair

    if public.exists():
        raise UsageError("already exists: choose another --public, or remove it", file=str(public))
    try:
        signer = write_key_pair(private, public)
    except FileExistsError:
        raise UsageError("already exists: a private key is never overwritten", file=str(private)) from None
    except OSError as exc:
        raise UsageError(f"cannot write the key pair: {exc.strerror or exc}", file=str(exc.filename or private)) from None
    echo(f"private key: {private} (mode 0600: put its text in your CI's secret GATEKEEPER_AUDIT_KEY, then delete it here)")
    echo(f"public key:  {public} (give it to verifiers: --public-key {public})")
    echo(f"key id:      {signer.key_id}")


@app.command(
    "rotate",
    epilog="Example (with the key in force in GATEKEEPER_AUDIT_KEY):\n\n"
    "  gatekeeper key rotate --new-public new.pub\n\n"
    "Then replace the secret with the new private key. 'audit verify' follows the rotation record, so the "
    "old public key alone verifies the whole log. With a timestamp authority in the policy ([audit] timestamp_url) "
    "the record is stamped like a run's: the authority's time fixes when the new key took over. Exit codes: 0 appended, "
    "2 no key, not the key in force, or no log, 3 appended without a trusted timestamp (the authority failed, "
    "or contradicts this runner's clock).",
)
@handles_errors()
def key_rotate(
    ctx: typer.Context,
    new_public: Path = typer.Option(..., "--new-public", metavar="FILE", help="The new key's public key (PEM)."),
    log: Optional[Path] = typer.Argument(
        None, metavar="LOG", help="The audit log (default: audit.log of the policy in the current folder)."
    ),
    policy_file: Optional[Path] = typer.Option(
        None, "--policy", metavar="FILE", help="Policy naming the log and its timestamp authority (default: discovered)."
    ),
    key_env: str = typer.Option(
        "GATEKEEPER_AUDIT_KEY", "--key-env", metavar="NAME", help="Environment variable holding the key in force."
    ),
) -> None:
    """Append a rotation record, signed by the key in force, naming the new key (and carrying its public key)."""
    from gatekeeper.audit import log_path, rotate_key, signer_from_env
    from gatekeeper.engine import iso_utc
    from gatekeeper.errors import UsageError
    from gatekeeper.timestamp import authority_from

    signer = signer_from_env(key_env)
    if signer is None:
        raise UsageError(f"{key_env} is not set: the rotation record must be signed by the key in force")
    try:
        pem = new_public.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot read the new public key: {why}", file=str(new_public)) from None
    root = Path.cwd()
    policy = gate.load_policy(root, policy_file, loaded(ctx)[1])  # names the log and its authority
    authority = authority_from(policy.audit, root)
    now = iso_utc()
    failed: list[str] = []
    entry = rotate_key(log or log_path(root, policy), signer, pem, _stamp(authority, now, failed), now)
    echo(f"audit: appended rotation record #{entry.seq} to {entry.log} (head sha256 {entry.digest})")
    echo(f"rotation: {signer.key_id} hands over to the key in {new_public}; set {key_env} to the new private key from now on")
    if failed:
        from gatekeeper.timestamp import TimestampError

        raise TimestampError(
            f"{failed[0]}; the rotation record #{entry.seq} was appended WITHOUT a trusted time for the hand-over (it "
            "says so), and the rotation fails closed: the next record stamped after it fixes it no later than its own "
            "time ('audit verify --tsa-cert' refuses the log until then)"
        )


def _stamp(authority: Authority | None, now: str, failed: list[str]) -> Callable[[str], dict[str, Any]] | None:
    """The rotation record's ``stamp(digest)`` (None without an authority), as a run's record is
    stamped: an authority that fails, or whose time contradicts ``now`` (the record's own time), goes
    to ``failed``, and the command exits 3 once the record is appended."""
    from gatekeeper.timestamp import skew_problem, stamper

    if authority is None:
        return None
    stamp = stamper(authority, failed)

    def checked(digest_hex: str) -> dict[str, Any]:
        got = stamp(digest_hex)
        if got.get("time") and (problem := skew_problem(now, str(got["time"]))) is not None:
            failed.append(problem)
        return got

    return checked


@app.command("id", epilog="Example:\n\n  gatekeeper key id audit.pub")
@handles_errors()
def key_id(files: list[Path] = typer.Argument(..., metavar="FILE...", help="PEM public key files.")) -> None:
    """Print the key id (sha256 of the raw public key) of each public key, as signatures name it."""
    from gatekeeper.errors import UsageError
    from gatekeeper.signing import Keyring, SigningKeyError

    for path in files:
        try:
            ids = Keyring().add_files([path])
        except SigningKeyError as exc:
            raise UsageError(str(exc)) from None
        for kid in ids:
            echo(f"{kid}  {path}")
