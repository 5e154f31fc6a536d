"""``gatekeeper bundle RESULTS.json --output FILE.zip | bundle verify FILE.zip``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from gatekeeper import gate
from gatekeeper.commands import handles_errors, loaded

if TYPE_CHECKING:
    from gatekeeper.bundleverify import BundleCheck, LogGiven

EPILOG = """Examples:

  gatekeeper bundle gatekeeper-reports/gatekeeper.json --output evidence.zip

  gatekeeper bundle gatekeeper-reports/gatekeeper.json --output evidence.zip --public-key audit.pub --tsa-cert tsa-ca.pem

  gatekeeper bundle verify evidence.zip --tsa-cert tsa-ca.pem

  gatekeeper bundle verify evidence.zip --public-key audit.pub --log .gatekeeper/audit.jsonl

The bundle holds every report, the artifacts (SBOM), the effective policy as TOML, the license
table, the run's audit record, its attestation, a README saying how to verify it with and without
gatekeeper, and manifest.json (sha256 of each file; signed when the signing key is set).
With --public-key or --tsa-cert, 'bundle' verifies the bundle as 'bundle verify' would before
writing it (the manifest and the audit record backing the result signed by a key given; a
timestamp there, each verifying against the certificate) and exits 1, writing nothing, when it
does not hold up.
'bundle verify' exits 0 when every file matches (intact: with keys, the manifest and the audit
record backing the result are authenticated; without keys, "consistent, not authenticated"), 1
naming each changed, added or missing file, a bad or unknown signature, a record that does not back
the result, (with keys) a result nothing backs, an entry an unzip could write outside its folder,
or a timestamp that does not verify with --tsa-cert; 2 when the file is not a bundle. Intact is
not passing: --commit SHA and --require-pass (with a key) refuse, exit 1, a bundle whose
audit record is about another commit, or whose verdict is not a pass of a complete run (nor
one a baseline or new-code reference let findings through, unless --accept-baseline, nor a
run on a work tree whose tracked files differed from the commit, nor a run of one folder of the
repository, unless --folder names it; with --tsa-cert, nor one a waiver
or an offline advisory database let through that had lapsed by the authority's time at the run's
latest possible start); --repository NAME (with a key) one whose record names another repository's
CI run, or none; --policy FILE and --policy-sha256 HEX (with a key) one whose audit record was judged under
another policy (FILE: every file it is built from must be one the run read, by sha256; HEX: the
effective policy's sha256); --retired KEYID=TIME (with --tsa-cert) one that a key retired since
TIME signed after it. With --tsa-cert, the log given with --log is held to its timestamps as
'audit verify --tsa-cert' holds it."""


TARGET_HELP = "A JSON result to bundle, or 'verify' and a bundle."
POLICY_HELP = (
    "The run's policy (default: discovered in the current folder); verify: the policy the audit record must "
    "have been judged under, each file it is built from by sha256 (needs a key: --public-key, or --key-env's)."
)
POLICY_SHA256_HELP = (
    "verify: the effective policy's sha256 the audit record must have been judged under "
    "(needs a key: --public-key, or --key-env's)."
)
LOG_HELP = "The audit log holding the run's record (bundle: default the policy's; verify: checked when given)."
KEY_ENV_HELP = "Environment variable holding the signing key (verify: its public key is trusted too, as --public-key's)."
TSA_CERT_HELP = (
    "The CA certificate the timestamp authority's certificate chains to (timestamp_ca): every RFC 3161 timestamp "
    "must verify (bundle: refused otherwise)."
)
PUBLIC_KEY_HELP = "An Ed25519 public key (PEM) to trust; repeatable (bundle: the manifest and the record must be signed by one)."
ACCEPT_PREFIX_HELP = "verify --log: accept the log's first N records unauthenticated (a log signed only from some run on)."
COMMIT_HELP = (
    "verify: the audit record must be about this commit (its full id, e.g. $GITHUB_SHA; "
    "needs a key: --public-key, or --key-env's)."
)
VERDICT_HELP = (
    "verify: the record's verdict must be pass, of a complete run on a work tree that was the commit's "
    "(not dirty) (needs a key: --public-key, or --key-env's)."
)
ACCEPT_BASELINE_HELP = (
    "verify --require-pass: also accept a pass that a baseline (--baseline) or a new-code reference "
    "(--new-code-since) let findings through; without it such a pass is refused."
)
FOLDER_HELP = (
    "verify --require-pass: the folder of the repository the run must have judged, relative to its top "
    "(default: the top, the whole repository; a monorepo's project, e.g. services/api)."
)
REPOSITORY_HELP = (
    "verify: the repository whose CI ran the run, as its audit record names it (owner/name on GitHub Actions, "
    "group/project on GitLab CI; needs a key: --public-key, or --key-env's)."
)
RETIRED_HELP = (
    "verify: a key retired (rotated out, or compromised) since TIME counts only where a timestamp fixes what it "
    "signed before then (needs --tsa-cert); repeatable."
)


@handles_errors()
def bundle(  # noqa: PLR0913  # one parameter per command-line option
    ctx: typer.Context,
    target: list[str] = typer.Argument(..., metavar="RESULTS.json | verify FILE.zip", help=TARGET_HELP),
    output: Optional[Path] = typer.Option(None, "--output", metavar="FILE.zip", help="Where to write the bundle."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=POLICY_HELP),
    policy_sha256: Optional[str] = typer.Option(None, "--policy-sha256", metavar="HEX", help=POLICY_SHA256_HELP),
    log: Optional[Path] = typer.Option(None, "--log", metavar="LOG", help=LOG_HELP),
    key_env: str = typer.Option("GATEKEEPER_AUDIT_KEY", "--key-env", metavar="NAME", help=KEY_ENV_HELP),
    tsa_cert: Optional[Path] = typer.Option(None, "--tsa-cert", metavar="CA.pem", help=TSA_CERT_HELP),
    public_key: Optional[list[Path]] = typer.Option(None, "--public-key", metavar="FILE", help=PUBLIC_KEY_HELP),
    accept_prefix: int = typer.Option(0, "--accept-unsigned-prefix", min=0, metavar="N", help=ACCEPT_PREFIX_HELP),
    commit: Optional[str] = typer.Option(None, "--commit", metavar="SHA", help=COMMIT_HELP),
    require_pass: bool = typer.Option(False, "--require-pass", help=VERDICT_HELP),
    retired: Optional[list[str]] = typer.Option(None, "--retired", metavar="KEYID=TIME", help=RETIRED_HELP),
    accept_baseline: bool = typer.Option(False, "--accept-baseline", help=ACCEPT_BASELINE_HELP),
    folder: Optional[str] = typer.Option(None, "--folder", metavar="PATH", help=FOLDER_HELP),
    repository: Optional[str] = typer.Option(None, "--repository", metavar="NAME", help=REPOSITORY_HELP),
) -> int | None:
    """Write an evidence bundle for a past run, or verify one ('bundle verify FILE.zip')."""
    from gatekeeper.errors import UsageError
    from gatekeeper.timestamp import require_ca_file

    given = [("--policy", policy_file), ("--log", log), ("--tsa-cert", tsa_cert)]
    for option, path in [*given, *(("--public-key", key) for key in public_key or [])]:
        if path is not None and not path.is_file():
            raise UsageError(f"{option}: file not found", file=str(path))
    require_ca_file(tsa_cert)  # no certificate in it: every token would be refused, and intact evidence called altered
    if target[0] == "verify":
        if len(target) != 2 or output is not None:
            raise UsageError(
                "usage: gatekeeper bundle verify FILE.zip [--public-key FILE]... [--log LOG [--accept-unsigned-prefix N]] "
                "[--key-env NAME] [--tsa-cert CA.pem] [--commit SHA] [--require-pass [--accept-baseline] [--folder PATH]] "
                "[--repository NAME] [--policy FILE] [--policy-sha256 HEX] "
                "[--retired KEYID=TIME]..."
            )
        if accept_prefix and log is None:
            raise UsageError("--accept-unsigned-prefix: it applies to the log given with --log")
        if (accept_baseline or folder is not None) and not require_pass:
            raise UsageError("--accept-baseline and --folder: they qualify --require-pass, which was not given")
        from gatekeeper.commands.bundledemands import demands, folder_of, retired_problems
        from gatekeeper.keyretire import parse_retired

        retired_at = parse_retired(retired or [], tsa_cert)
        # the auditor's policy is read first: one that does not load is exit 2, before any verdict
        expected = gate.load_policy(Path.cwd(), policy_file, loaded(ctx)[1]) if policy_file is not None else None
        outcome = _verify(Path(target[1]), public_key or [], key_env, (log, accept_prefix, tsa_cert, retired_at))
        if outcome is None:
            return 1
        gating = commit is not None or require_pass or expected is not None or policy_sha256 is not None or bool(repository)
        passing = (require_pass, accept_baseline, folder_of(folder))
        refused = demands(outcome, commit, passing, (expected, policy_sha256), repository) + retired_problems(outcome, retired_at)
        refused.extend(f"{log}: {problem}" for problem in outcome.log_refused)  # as 'audit verify' refuses it
        if expected is None and policy_sha256 is None and outcome.backing != "none":
            typer.echo(_unheld_policy(outcome))
        for problem in refused:
            typer.echo(f"REJECTED: {problem}", err=True)
        # a verdict nothing authenticates gates nothing
        return 1 if refused or ((gating or outcome.keys_given) and not outcome.authenticated) else None
    if (commit, require_pass or None, retired or None, policy_sha256, accept_baseline or None, folder, repository) != (None,) * 7:
        raise UsageError(
            "--commit, --require-pass, --accept-baseline, --folder, --repository, --policy-sha256 and --retired: "
            "only 'bundle verify' takes them"
        )
    if len(target) != 1:
        raise UsageError(
            "usage: gatekeeper bundle RESULTS.json --output FILE.zip [--policy FILE] [--log LOG] [--key-env NAME] "
            "[--public-key FILE]... [--tsa-cert CA.pem]"
        )
    if output is None:
        raise UsageError("--output FILE.zip is required: where to write the bundle")
    if accept_prefix:
        raise UsageError("--accept-unsigned-prefix: only 'bundle verify' takes it (with --log)")
    request = gate.BundleRequest(
        results=Path(target[0]),
        output=output,
        policy_file=policy_file,
        log=log,
        key_env=key_env,
        public_keys=tuple(public_key or ()),
        tsa_cert=tsa_cert,
    )
    gate.bundle(request, loaded(ctx)[1])
    return None


def _verify(path: Path, public_keys: list[Path], key_env: str, given: LogGiven) -> BundleCheck | None:
    """Verify the bundle at ``path`` (with the log, its accepted prefix, the authority's certificate
    and the retired keys ``given``) and say what holds; None when it does not (exit 1), else the outcome."""
    import re

    from gatekeeper.audit import keyring_from
    from gatekeeper.bundle import AUDIT_FILE
    from gatekeeper.bundleguide import ATTESTATION_FILE
    from gatekeeper.bundleverify import verify_bundle
    from gatekeeper.escapes import clean
    from gatekeeper.timestamp import NO_TRUSTED_TIME, NOT_ALTERED

    log, accept_prefix, tsa_cert, retired = given
    outcome = verify_bundle(path, keyring_from(public_keys, key_env), tsa_cert, log, accept_prefix, retired)
    if not outcome.ok:
        # a timestamp whose authority the certificate given cannot vouch for (expired, another CA), or
        # none to check, fails the bundle too, but calling that tampering would accuse an intact bundle;
        # only the timestamp checks' own problems count so (an entry name or a manifest value may quote any words)
        stamped = re.compile(rf"({re.escape(AUDIT_FILE)}: record #[0-9?]+|{re.escape(ATTESTATION_FILE)}): timestamp: ")
        certificate_only = all(stamped.match(p) and (NOT_ALTERED in p or NO_TRUSTED_TIME in p) for p in outcome.problems)
        state = "NOT VERIFIED (its timestamps could not be checked)" if certificate_only else "TAMPERED"
        typer.echo(f"bundle {path}: {state}, {len(outcome.problems)} problem(s)", err=True)
        for problem in outcome.problems:
            typer.echo(f"  {clean(problem)}", err=True)
        return None
    m = outcome.manifest
    run = f"gatekeeper {clean(str(m.get('gatekeeper', '?')))}, commit {clean(str(m.get('commit') or 'not recorded'))}"
    if outcome.authenticated:
        typer.echo(f"bundle {path}: intact, {outcome.files} file(s) match the manifest ({run})")
        typer.echo(f"signature: the manifest is signed by {outcome.key_id}")
    elif outcome.keys_given:
        typer.echo(f"bundle {path}: files match the manifest, signed by {outcome.key_id}, but NOTHING BACKS THE RESULT", err=True)
    else:
        typer.echo(f"bundle {path}: consistent, not authenticated, {outcome.files} file(s) match the manifest ({run})")
        typer.echo(
            "note: no key was given: anyone able to rewrite the bundle could recompute its hashes"
            + (" and re-sign it with another key" if outcome.signed else "")
            + "; pass --public-key FILE to authenticate it"
        )
    for line in _backing_lines(outcome, log):
        typer.echo(line, err=outcome.keys_given and not outcome.authenticated)
    if log is not None and accept_prefix:
        typer.echo(f"note: records #1..#{accept_prefix} of {log} were accepted without authentication (--accept-unsigned-prefix)")
    for stamp in outcome.stamps:
        typer.echo(f"timestamp: {stamp}, verified against {tsa_cert}")
    if tsa_cert is not None and not outcome.stamps:
        typer.echo("note: nothing in the bundle carries a trusted timestamp: its times are the runner's own clock")
    typer.echo(_coverage_line(outcome))
    for note in outcome.notes:
        typer.echo(f"note: {clean(note)}")
    if outcome.unchecked_stamps:
        typer.echo(
            f"note: {' and '.join(outcome.unchecked_stamps)} carry RFC 3161 timestamps, NOT checked: until they are, "
            "the bundle's times are the runner's word; pass --tsa-cert (the authority's CA certificate)"
        )
    return outcome


def _unheld_policy(outcome: BundleCheck) -> str:
    """What ``bundle verify`` says when no ``--policy`` or ``--policy-sha256`` names the policy the run
    must have been judged under: the one the record names (a pull request can weaken the policy in its
    checkout, and the run judges by it), and how to hold the record to the one approved."""
    from gatekeeper.escapes import clean

    policy = outcome.record_policy or {}
    digest = str(policy.get("effective_sha256") or "not recorded")
    return clean(
        f"policy: not held to one you approved: the record says the run was judged under {policy.get('path') or '?'} "
        f"(effective sha256 {digest}); pass --policy FILE or --policy-sha256 HEX"
    )


def _coverage_line(outcome: BundleCheck) -> str:
    """Which files the verdict above covers: those the audit record (and the attestation it lists)
    fix by digest, and those only the manifest's signature vouches for, named."""
    from gatekeeper.escapes import clean

    pinned = outcome.files - len(outcome.unpinned)
    line = (
        f"covered: {pinned} of {outcome.files} file(s) are fixed by the audit record, the attestation it lists, "
        "or gatekeeper's own rendering and copy"
    )
    if not outcome.unpinned:
        return line
    return (
        f"{line}; the manifest's signature alone vouches for {', '.join(clean(n) for n in outcome.unpinned)} "
        "(whoever holds the signing key could have replaced them)"
    )


def _backing_lines(outcome: BundleCheck, log: Path | None) -> list[str]:
    """What ``bundle verify`` says about the audit record behind the result."""
    from gatekeeper.escapes import clean

    if outcome.backing == "none":
        return [
            "result: NOT BACKED by any audit record: the bundle carries none, so nothing shows that a gatekeeper run "
            "produced this result (it may have been written or edited by hand before bundling)"
        ]
    seq = outcome.record_seq
    if outcome.backing == "record":
        lines = [f"result: backed by audit record #{seq}, signed by {outcome.record_key_id}, which lists this gatekeeper.json"]
    else:
        lines = [f"result: audit record #{seq} lists this gatekeeper.json; its signature was not checked (no key)"]
    lines.append(_verdict_line(outcome))
    if outcome.record_narrowed:  # honoured by the policy (project_config), so a pass may rest on them, as on a waiver
        lines.append(
            "narrowed: by the project's own configuration or comments, which the policy honours (project_config): "
            + clean("; ".join(outcome.record_narrowed))
        )
    lines.append(_strictness_line(outcome))
    lines.append(_run_line(outcome))
    lines.extend(
        f"vex: {clean(path)} (sha256 {clean(digest) or 'not recorded'}): its statements are exceptions the policy names by "
        "path, not by content (--policy holds it)"
        for path, digest in outcome.record_vex or ()
    )
    if log is not None:
        lines.append(f"record: line {seq} of {log} is this record ({outcome.chain})")
    else:
        lines.append("note: the record's place in the log was not checked: pass --log LOG")
    return lines


def _verdict_line(outcome: BundleCheck) -> str:
    """The verdict the record states, and whether every check the policy enables ran: a pass of part
    of the gate (``--only``, ``--skip``, one shard) gates no commit, so the auditor is told."""
    from gatekeeper.escapes import clean
    from gatekeeper.gated import partial_note

    scope = outcome.record_scope
    known = "".join(f", {said} let through as known (not by the policy)" for said in outcome.record_known)
    verdict = f"verdict: {clean(outcome.record_verdict or 'not recorded')}{clean(_waived(outcome))}{clean(known)}"
    if outcome.record_folder not in (None, "."):
        verdict += f", of the folder {clean(str(outcome.record_folder))}/ alone (not the whole repository)"
    if outcome.record_dirty == "unknown":
        verdict += ", on a work tree git could not compare with the commit (dirty: null, not shown to be the commit's code)"
    elif outcome.record_dirty and outcome.record_commit:  # no commit yet: every file is uncommitted, and the header says so
        verdict += ", on a work tree whose tracked files differed from the commit (dirty: not the commit's own code)"
    if scope is None:
        return f"{verdict} (the record does not say which of the policy's checks ran)"
    if scope.get("complete") is True:
        return f"{verdict}, of a complete run (every check the policy enables ran)"
    return f"{verdict} ({clean(partial_note(scope))}): a partial run gates no commit"


def _run_line(outcome: BundleCheck) -> str:
    """Where the record says the run ran: its CI provider, repository and run, or no CI at all."""
    from gatekeeper.escapes import clean

    ci = outcome.record_ci
    if not ci:
        return "run: no CI run recorded (a run outside any CI gatekeeper recognises)"
    facts = [f"{k} {ci[k]}" for k in ("repository", "run_id", "ref", "event") if ci.get(k)]
    return clean(f"run: {ci.get('provider') or 'CI'}" + "".join(f", {fact}" for fact in facts))


def _strictness_line(outcome: BundleCheck) -> str:
    """How the record says waivers were judged: strictly (``--strict-waivers`` or ``gate.strict_waivers``:
    an expired or unused waiver fails the gate), or not, naming those that then did not fail it."""
    from gatekeeper.escapes import clean

    if outcome.record_strict is None:
        return "waivers: the record does not say whether they were judged strictly (written before gatekeeper recorded it)"
    if outcome.record_strict:
        return "waivers: judged strictly (an expired or unused waiver fails the gate)"
    lapsed = f": {clean(', '.join(outcome.record_lapsed))} did not fail the gate" if outcome.record_lapsed else ""
    return f"waivers: not judged strictly (an expired or unused waiver does not fail the gate){lapsed}"


def _waived(outcome: BundleCheck) -> str:
    """`` with N finding(s) accepted by waivers W1 (until 2026-06-30, expired since), ...`` after the
    verdict of a run that applied waivers: a pass resting on exceptions must not read as a clean one,
    least of all once they have expired; "" when it applied none."""
    import datetime as dt

    if not outcome.record_waivers:
        return ""
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    named = []
    for ident, expires in outcome.record_waivers:
        if not expires:
            named.append(f"{ident} (no expiry)")
        else:
            named.append(f"{ident} (until {expires}{', expired since' if expires[:10] < today else ''})")
    return f" with {outcome.record_waived} finding(s) accepted by waiver(s) {', '.join(named)}"
