"""``gatekeeper bundle RESULTS.json --output FILE.zip | bundle verify FILE.zip``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gatekeeper import gate
from gatekeeper.commands import handles_errors, loaded

EPILOG = """Examples:

  gatekeeper bundle gatekeeper-reports/gatekeeper.json --output evidence.zip

  gatekeeper bundle verify evidence.zip --tsa-cert tsa-ca.pem

The bundle holds every report, the artifacts (SBOM), the effective policy as TOML, the license
table, the run's audit record, its attestation, a README saying how to verify it with and without
gatekeeper, and manifest.json (sha256 of each file; an HMAC when the signing key is set).
'bundle verify' exits 0 when intact, 1 naming each changed, added or missing file (and a bad HMAC
when the key is set, a timestamp that does not verify with --tsa-cert), 2 when the file is not a bundle."""


@handles_errors()
def bundle(  # noqa: PLR0913  # one parameter per command-line option
    ctx: typer.Context,
    target: list[str] = typer.Argument(
        ..., metavar="RESULTS.json | verify FILE.zip", help="A JSON result to bundle, or 'verify' and a bundle."
    ),
    output: Optional[Path] = typer.Option(None, "--output", metavar="FILE.zip", help="Where to write the bundle."),
    policy_file: Optional[Path] = typer.Option(
        None, "--policy", metavar="FILE", help="The run's policy (default: discovered in the current folder)."
    ),
    log: Optional[Path] = typer.Option(
        None, "--log", metavar="LOG", help="The audit log holding the run's record (default: the policy's)."
    ),
    key_env: str = typer.Option(
        "GATEKEEPER_AUDIT_KEY", "--key-env", metavar="NAME", help="Environment variable holding the signing key."
    ),
    tsa_cert: Optional[Path] = typer.Option(
        None, "--tsa-cert", metavar="CA.pem", help="verify: the timestamp authority's certificate (checks the timestamps)."
    ),
) -> int | None:
    """Write an evidence bundle for a past run, or verify one ('bundle verify FILE.zip')."""
    from gatekeeper.errors import UsageError

    if target[0] == "verify":
        if len(target) != 2 or output is not None:
            raise UsageError("usage: gatekeeper bundle verify FILE.zip [--key-env NAME]")
        return _verify(Path(target[1]), key_env, tsa_cert)
    if len(target) != 1:
        raise UsageError("usage: gatekeeper bundle RESULTS.json --output FILE.zip")
    if output is None:
        raise UsageError("--output FILE.zip is required: where to write the bundle")
    request = gate.BundleRequest(results=Path(target[0]), output=output, policy_file=policy_file, log=log, key_env=key_env)
    gate.bundle(request, loaded(ctx)[1])
    return None


def _verify(path: Path, key_env: str, tsa_cert: Path | None = None) -> int | None:
    from gatekeeper.audit import key_from_env
    from gatekeeper.bundle import verify_bundle
    from gatekeeper.escapes import clean

    if tsa_cert is not None and not tsa_cert.is_file():
        from gatekeeper.errors import UsageError

        raise UsageError("--tsa-cert: file not found", file=str(tsa_cert))
    outcome = verify_bundle(path, key_from_env(key_env), tsa_cert)
    if not outcome.ok:
        typer.echo(f"bundle {path}: TAMPERED: {len(outcome.problems)} problem(s)", err=True)
        for problem in outcome.problems:
            typer.echo(f"  {clean(problem)}", err=True)
        return 1
    m = outcome.manifest
    typer.echo(
        f"bundle {path}: intact, {outcome.files} file(s) match the manifest"
        f" (gatekeeper {clean(str(m.get('gatekeeper', '?')))}, commit {clean(str(m.get('commit') or 'not recorded'))})"
    )
    if outcome.signature_checked:
        typer.echo("signature: the manifest's HMAC matches the signing key")
    elif outcome.signed:
        typer.echo(f"note: the manifest is signed but the signature was NOT checked: set {key_env} to the signing key")
    else:
        typer.echo("note: the manifest is not signed: anyone able to rewrite the bundle could recompute its hashes")
    for stamp in outcome.stamps:
        typer.echo(f"timestamp: {stamp}, verified against {tsa_cert}")
    if tsa_cert is not None and not outcome.stamps:
        typer.echo("note: nothing in the bundle carries a trusted timestamp: its times are the runner's own clock")
    return None
