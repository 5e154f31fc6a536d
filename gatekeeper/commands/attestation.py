"""``gatekeeper attestation verify FILE --public-key KEY [--subject FILE...] [--tsa-cert CA]``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from gatekeeper.commands import handles_errors, loaded
from gatekeeper.escapes import clean, echo

if TYPE_CHECKING:
    from gatekeeper.policy import Policy
    from gatekeeper.signing import Keyring

app = typer.Typer(
    help="Verify a run's attestation (in-toto statement in a DSSE envelope).", no_args_is_help=True, rich_markup_mode=None
)

#: a commit named in full (SHA-1 or SHA-256): an abbreviation can be matched by a commit made to share it

EPILOG = """Examples:

  gatekeeper attestation verify gatekeeper-reports/gatekeeper.intoto.json --public-key gatekeeper.pub

  gatekeeper attestation verify gatekeeper.intoto.json --public-key gatekeeper.pub --subject 'dist/*.whl' --tsa-cert tsa-ca.pem

  gatekeeper attestation verify gatekeeper.intoto.json --public-key gatekeeper.pub --commit "$GITHUB_SHA" --require-pass

  gatekeeper attestation verify gatekeeper.intoto.json --public-key gatekeeper.pub --policy approved/gatekeeper.toml

Exit codes: 0 signed by a given key, every --subject is a subject, the timestamp (with --tsa-cert) verifies,
the statement is about --commit, (with --require-pass) says pass of a complete run, and (with --policy or
--policy-sha256) was judged under that policy;
1 not authenticated (no key given, no signature verifies) or a check failed; 2 not an attestation or bad option."""

_TSA_HELP = "The CA certificate the timestamp authority's certificate chains to (timestamp_ca): check the RFC 3161 timestamp."
_COMMIT_HELP = "The full id of the commit the statement must be about (its gitCommit), e.g. $GITHUB_SHA."
_POLICY_HELP = "The policy the run must have been judged under: each file it is built from (extends, waivers) by sha256."
_RETIRED_HELP = (
    "A key retired (rotated out, or compromised) since TIME: its signature counts only with a timestamp "
    "before then (needs --tsa-cert); repeatable."
)


@app.command("verify", epilog=EPILOG)
@handles_errors()
def attestation_verify(  # noqa: PLR0913  # one parameter per command-line option
    ctx: typer.Context,
    envelope: Path = typer.Argument(..., metavar="FILE", help="The attestation (gatekeeper.intoto.json)."),
    public_keys: Optional[list[Path]] = typer.Option(
        None, "--public-key", metavar="KEY.pem", help="A trusted Ed25519 public key (PEM); repeatable (a keyring)."
    ),
    key_env: Optional[str] = typer.Option(
        None,
        "--key-env",
        metavar="NAME",
        help="An environment variable holding a private key (its public key is trusted) or an HMAC secret (the earlier scheme).",
    ),
    subjects: Optional[list[str]] = typer.Option(
        None, "--subject", metavar="FILE", help="A file (or glob) that must be one of the statement's subjects; repeatable."
    ),
    tsa_cert: Optional[Path] = typer.Option(None, "--tsa-cert", metavar="CA.pem", help=_TSA_HELP),
    commit: Optional[str] = typer.Option(None, "--commit", metavar="SHA", help=_COMMIT_HELP),
    require_pass: bool = typer.Option(
        False,
        "--require-pass",
        help=(
            "The statement's verdict must be pass, of a complete run (every check the policy enables) on a work "
            "tree that was the commit's (not dirty); with "
            "--tsa-cert, no waiver or offline database past its term at the run's latest possible start."
        ),
    ),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=_POLICY_HELP),
    policy_sha256: Optional[str] = typer.Option(
        None, "--policy-sha256", metavar="HEX", help="The effective policy's sha256 the run must have been judged under."
    ),
    retired: Optional[list[str]] = typer.Option(None, "--retired", metavar="KEYID=TIME", help=_RETIRED_HELP),
    accept_baseline: bool = typer.Option(
        False,
        "--accept-baseline",
        help="With --require-pass: accept a pass a baseline or new-code reference let findings through.",
    ),
    folder: Optional[str] = typer.Option(
        None,
        "--folder",
        metavar="PATH",
        help="With --require-pass: the folder of the repository the run must have judged (default: the top, the whole tree).",
    ),
) -> int:
    """Check an attestation's signature, its statement, its subjects and its timestamp."""
    from gatekeeper import gate
    from gatekeeper.attestation import expand_subjects, load_envelope, scope_note, verify_envelope
    from gatekeeper.commands.bundledemands import folder_of
    from gatekeeper.errors import UsageError
    from gatekeeper.keyretire import parse_retired, retired_problem
    from gatekeeper.timestamp import require_ca_file

    if (accept_baseline or folder is not None) and not require_pass:
        raise UsageError("--accept-baseline and --folder: they qualify --require-pass, which was not given")
    known = (accept_baseline, folder_of(folder))
    keyring = _keyring(public_keys or [], key_env)
    require_ca_file(tsa_cert)
    retired_at = parse_retired(retired or [], tsa_cert)
    expected = gate.load_policy(Path.cwd(), policy_file, loaded(ctx)[1]) if policy_file is not None else None
    files = expand_subjects(subjects or [], Path.cwd())
    outcome = verify_envelope(load_envelope(envelope), keyring, files, tsa_cert)
    found = outcome.statement.get("predicate")
    predicate: dict[str, object] = found if isinstance(found, dict) else {}
    partial = scope_note(predicate)
    what = _described(outcome.statement, predicate, partial)
    for note in outcome.notes:
        echo(f"note: {note}")
    problems = [*outcome.problems, *_demands(outcome.statement, predicate, commit, (require_pass, *known), partial)]
    problems.extend(_policy_demands(predicate, expected, policy_sha256))
    if require_pass and outcome.stamp_time and predicate.get("verdict") == "pass":
        problems.extend(_time_demands(predicate, outcome.stamp_time))
    if outcome.key_id and (late := retired_problem(outcome.key_id, outcome.stamp_time, retired_at)) is not None:
        problems.append(f"the statement is {late}")
    if problems:
        echo(f"attestation {envelope}: REJECTED ({what})", err=True)
        for problem in problems:
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
    if expected is None:  # the policy names its VEX documents by path: its digest does not cover what they accept
        from gatekeeper.recordfacts import vex_of

        for path, digest in vex_of(predicate) or ():
            echo(
                f"vex: {clean(path)} (sha256 {clean(digest) or 'not recorded'}): its statements are exceptions the policy "
                "names by path, not by content (--policy holds it)"
            )
    if expected is None and policy_sha256 is None:  # a checkout can weaken its own policy, and the run judges by it
        found_policy = predicate.get("policy")
        said: Mapping[str, Any] = found_policy if isinstance(found_policy, dict) else {}
        path, digest = str(said.get("path") or "?"), str(said.get("effective_sha256") or "not recorded")
        echo(
            f"policy: not held to one you approved: the statement says the run was judged under {clean(path)} "
            f"(effective sha256 {clean(digest)}); pass --policy FILE or --policy-sha256 HEX"
        )
    return 0


def _keyring(public_keys: list[Path], key_env: str | None) -> Keyring:
    """The keys to trust: the Ed25519 public keys given, and the key in ``key_env``'s variable (an
    Ed25519 private key's public key, or an HMAC secret of the earlier scheme); ``UsageError`` when a
    key cannot be read or the variable is not set."""
    from gatekeeper import childenv
    from gatekeeper.errors import UsageError
    from gatekeeper.signing import Keyring, SigningKeyError, signer_from_text

    keyring = Keyring()
    try:
        keyring.add_files(public_keys)
    except SigningKeyError as exc:
        raise UsageError(f"--public-key: {exc}") from None
    if key_env:
        secret = childenv.take(key_env)
        if not secret:
            raise UsageError(f"--key-env: the environment variable {key_env} is not set")
        try:  # read as every command reads the signing key: a PEM Ed25519 key, else an HMAC secret
            keyring.update(signer_from_text(secret.encode("utf-8")).keyring())
        except SigningKeyError as exc:
            raise UsageError(f"--key-env {key_env}: {exc}") from None
    return keyring


def _described(statement: Mapping[str, Any], predicate: Mapping[str, object], partial: str) -> str:
    """What the verdict line says of the statement: its verdict (waivers applied, the scope note
    ``partial``), the commit it is about and how many subjects it names; all escaped."""
    from gatekeeper.verify_attestation import stated_commit

    waivers = predicate.get("waivers")
    applied = waivers.get("applied") if isinstance(waivers, dict) else None
    waived = f" with {applied} waiver(s) applied" if isinstance(applied, int) and applied else ""
    repository = predicate.get("repository")
    if isinstance(repository, dict) and repository.get("dirty") is True and repository.get("commit"):
        waived += ", on a work tree whose tracked files differed from the commit (dirty)"
    return (
        f"verdict {clean(str(predicate.get('verdict', '?')))}{waived}{f' ({clean(partial)})' if partial else ''}, "
        f"commit {clean(_commit_shown(stated_commit(dict(statement))))}, "
        f"{len(statement.get('subject') or [])} subject(s)"
    )


def _commit_shown(stated: tuple[str, str]) -> str:
    """The commit the verdict line names: the one ``--commit`` checks, never another the statement also names."""
    commit, two = stated
    return commit or ("not one (it names two)" if two else "not recorded")


def _demands(statement: Mapping[str, Any], predicate: Mapping[str, Any], commit: str | None,
             passing: tuple[bool, bool, str], partial: str) -> list[str]:  # fmt: skip
    """What ``--commit`` and ``--require-pass`` (``passing``: it, ``--accept-baseline`` and ``--folder``)
    ask that the statement does not say: a genuine attestation of another commit (an old passing run
    replayed for a new one), of a run that did not pass, of one folder of the repository, or of a pass
    a baseline let findings through, verifies as authentic; these make the exit code say whether it gates."""
    from gatekeeper.verify_attestation import commit_problem, incomplete, known_problem, stated_commit

    require_pass, accept_baseline, folder = passing
    refused = commit_problem(dict(statement), commit)
    problems = [refused] if refused else []
    _, two = stated_commit(dict(statement))
    problems.extend([two] if two else [])
    verdict = str(predicate.get("verdict", "?"))
    unshown = incomplete(dict(predicate))
    if require_pass and (verdict != "pass" or unshown):
        why = f"the verdict is {verdict}" if verdict != "pass" else (f"the run was partial ({partial})" if partial else unshown)
        problems.append(f"--require-pass: {why}: this attestation does not let the commit through the gate")
    elif require_pass and (refusal := known_problem(dict(predicate), accept_baseline, folder)):
        problems.append(refusal)
    return problems


def _policy_demands(predicate: Mapping[str, Any], expected: Policy | None, policy_sha256: str | None) -> list[str]:
    """What ``--policy`` (the policy loaded) and ``--policy-sha256`` find wrong with the policy the
    signed statement says the run was judged under (the rules ``bundle verify`` holds a record to)."""
    from gatekeeper.commands.bundledemands import vex_refusals
    from gatekeeper.policydigest import expected_problem
    from gatekeeper.recordfacts import vex_of
    from gatekeeper.verify_attestation import policy_problem

    recorded = predicate.get("policy")
    problems = []
    if expected is not None:
        problems.extend(vex_refusals(vex_of(predicate), _ran_of(predicate), expected, "the statement"))
        problem, note = expected_problem(recorded, expected.files, expected.effective_sha256)
        name = expected.path or "(built-in default)"
        if problem is not None:
            problems.append(f"--policy {name}: the run was judged under another policy: {problem}")
        elif note is not None:
            echo(f"note: --policy {clean(name)}: {note}")
    if (refused := policy_problem(dict(recorded) if isinstance(recorded, Mapping) else None, policy_sha256)) != "":
        problems.append(refused)
    return problems


def _ran_of(predicate: Mapping[str, Any]) -> tuple[str, ...]:
    """The checks the predicate says ran (any status but skipped)."""
    checks = predicate.get("checks")
    listed = checks if isinstance(checks, list) else []
    return tuple(str(c.get("name")) for c in listed if isinstance(c, Mapping) and c.get("status") != "skipped")


def _time_demands(predicate: Mapping[str, Any], stamp_time: str) -> list[str]:
    """What ``--require-pass`` with ``--tsa-cert`` refuses by trusted time (``judgedtime``, the rule
    ``bundle verify`` applies to a record): a waiver whose term had ended, or an offline advisory
    database older than its limit, at the run's latest possible start, the token's time less the
    predicate's ``durationS``. A statement made before the predicate carried waiver terms or the
    database's limit says so in a note: those checks could not apply."""
    from gatekeeper.attestation import duration_of
    from gatekeeper.judgedtime import database_problem, waiver_problem

    took: object = duration_of(predicate)
    terms = predicate.get("waiverTerms")
    waivers = predicate.get("waivers")
    applied = waivers.get("applied") if isinstance(waivers, Mapping) else None
    problems = []
    if isinstance(terms, list):
        stated = [(str(t.get("id") or ""), str(t.get("expires") or "")) for t in terms if isinstance(t, Mapping)]
        if late := waiver_problem(stated, stamp_time, took, "the attestation"):
            problems.append(f"--require-pass: {late}: this attestation does not let the commit through the gate")
    elif applied:
        echo("note: the statement does not list its waivers' expiries (made before gatekeeper wrote them): "
             "whether their terms had ended when the run started could not be judged by trusted time")  # fmt: skip
    database = predicate.get("advisoryDatabase")
    if isinstance(database, Mapping) and database.get("kind") == "osv-db" and "max_age_days" not in database:
        echo("note: the statement does not state its advisory database's age limit (made before gatekeeper wrote it): "
             "its age when the run started could not be judged by trusted time")  # fmt: skip
    elif late := database_problem(database if isinstance(database, Mapping) else None, stamp_time, took, "the attestation"):
        problems.append(f"--require-pass: {late}: this attestation does not let the commit through the gate")
    return problems
