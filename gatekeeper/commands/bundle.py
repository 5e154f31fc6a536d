"""``gatekeeper bundle RESULTS.json --output FILE.zip | bundle verify FILE.zip``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from gatekeeper import gate
from gatekeeper.commands import handles_errors, loaded

if TYPE_CHECKING:
    from gatekeeper.bundleverify import BundleCheck, LogGiven
    from gatekeeper.policy import Policy

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
run of one folder of the repository, unless --folder names it);
--policy FILE and --policy-sha256 HEX (with a key) one whose audit record was judged under
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
VERDICT_HELP = "verify: the record's verdict must be pass, of a complete run (needs a key: --public-key, or --key-env's)."
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

    given = [("--policy", policy_file), ("--log", log), ("--tsa-cert", tsa_cert)]
    for option, path in [*given, *(("--public-key", key) for key in public_key or [])]:
        if path is not None and not path.is_file():
            raise UsageError(f"{option}: file not found", file=str(path))
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
        from gatekeeper.keyretire import parse_retired

        retired_at = parse_retired(retired or [], tsa_cert)
        # the auditor's policy is read first: one that does not load is exit 2, before any verdict
        expected = gate.load_policy(Path.cwd(), policy_file, loaded(ctx)[1]) if policy_file is not None else None
        outcome = _verify(Path(target[1]), public_key or [], key_env, (log, accept_prefix, tsa_cert, retired_at))
        if outcome is None:
            return 1
        gating = commit is not None or require_pass or expected is not None or policy_sha256 is not None or bool(repository)
        passing = (require_pass, accept_baseline, _folder(folder))
        refused = _demands(outcome, commit, passing, (expected, policy_sha256), repository) + _retired(outcome, retired_at)
        refused.extend(f"{log}: {problem}" for problem in outcome.log_refused)  # as 'audit verify' refuses it
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


def _retired(outcome: BundleCheck, retired: Mapping[str, str]) -> list[str]:
    """What a key retired since a time (``--retired``) signed in the bundle that no verified token
    fixes before then: the audit record and the attestation by their own tokens, which ``--tsa-cert``
    (needed by ``--retired``) requires, and which are the first to fix them (the attestation is
    stamped before the record that lists it, the record before any later record of the log, whose
    own ``--retired`` refusals ``log_refused`` holds). The manifest has no token and is made when
    the bundle is, perhaps long after the run, so a retired key's signature on it counts for nothing:
    only the files it alone vouches for are refused."""
    from gatekeeper.bundle import AUDIT_FILE, MANIFEST
    from gatekeeper.bundleguide import ATTESTATION_FILE
    from gatekeeper.keyretire import retired_problem

    times = outcome.stamp_times
    signers = [(AUDIT_FILE, outcome.record_key_id), (ATTESTATION_FILE, str(outcome.manifest.get("key_id") or ""))]
    problems = [
        f"{name}: {late}"
        for name, key_id in signers
        if key_id and (late := retired_problem(key_id, times.get(name, ""), retired))
    ]
    since = retired.get(outcome.key_id.lower()) if outcome.key_id else None
    if since is not None and outcome.unpinned:
        problems.append(
            f"{MANIFEST}: signed by key {outcome.key_id}, retired since {since}, and it alone vouches for "
            f"{', '.join(outcome.unpinned)}: whoever holds that key could have replaced them after it was retired"
        )
    return problems


def _folder(given: str | None) -> str:
    """``--folder``'s PATH as the record spells a folder (posix, no ``./`` or trailing ``/``; ``.`` the top)."""
    from gatekeeper.errors import UsageError

    if given is None:
        return "."
    parts = [p for p in given.replace("\\", "/").split("/") if p not in ("", ".")]
    if given.startswith("/") or ".." in parts:
        raise UsageError(f"--folder {given}: a folder relative to the repository's top, inside it")
    return "/".join(parts) or "."


def _demands(outcome: BundleCheck, commit: str | None, passing: tuple[bool, bool, str],
             policy: tuple[Policy | None, str | None], repository: str | None = None) -> list[str]:  # fmt: skip
    """What ``--commit``, ``--require-pass`` (``passing``: it, ``--accept-baseline`` and ``--folder``), ``--policy``
    and ``--policy-sha256`` (``policy``: the policy loaded, the digest given) ask that the audit record
    behind the result does not say (the words ``attestation verify`` uses): authentic is not passing,
    and an old bundle of a passing run, one of a failing run, one judged under a weaker policy, or one
    that passed only because a baseline let its findings through, verifies as intact. Only an
    authenticated record counts: without keys anyone could have written what a bundle states."""
    import re

    from gatekeeper.escapes import clean

    expected, policy_sha256 = policy
    require_pass, accept_baseline, folder = passing
    named = (("--commit", commit is not None), ("--require-pass", require_pass), ("--policy", expected is not None),
             ("--policy-sha256", policy_sha256 is not None), ("--repository", repository is not None))  # fmt: skip
    asked = " and ".join(name for name, on in named if on)
    if not asked:
        return []
    if not outcome.authenticated:
        why = "no --public-key was given" if not outcome.keys_given else "its manifest or record is not signed by a key given"
        return [f"{asked}: the bundle is not authenticated ({why}): anyone could have written the verdict and commit it states"]
    problems = [elsewhere] if repository is not None and (elsewhere := _repository_problem(outcome, repository)) else []
    said = clean(outcome.record_commit or "none")
    if commit is not None and not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit.strip().lower()):
        problems.append(f"--commit {clean(commit)}: give the commit's full id (40 or 64 hex digits), not an abbreviation")
    elif commit is not None and outcome.record_commit.lower() != commit.strip().lower():
        problems.append(
            f"--commit {clean(commit)}: audit record #{outcome.record_seq} behind the result is about commit {said}, "
            "not this one (another run's bundle)"
        )
    scope = outcome.record_scope
    if require_pass and (outcome.record_verdict != "pass" or scope is None or scope.get("complete") is not True):
        verdict = clean(outcome.record_verdict or "not recorded")
        why = f"the verdict is {verdict}" if outcome.record_verdict != "pass" else "the run was partial (or does not say)"
        problems.append(f"--require-pass: {why}: this bundle does not let the commit through the gate")
    elif require_pass and (elsewhere := _folder_problem(outcome.record_folder, folder)):
        problems.append(f"--require-pass: {elsewhere}")
    elif require_pass and (late := _expired_by_trusted_time(outcome)):
        problems.append(f"--require-pass: {late}: this bundle does not let the commit through the gate")
    elif require_pass and outcome.record_known and not accept_baseline:
        # a baseline is no file of the policy, and --policy does not hold it: the policy never judged those findings
        problems.append(
            f"--require-pass: the pass rests on {'; '.join(clean(k) for k in outcome.record_known)}, let through as known, "
            "not judged by the policy: pass --accept-baseline to accept a pass on new findings alone"
        )
    return problems + _policy_demands(outcome, expected, policy_sha256)


def _repository_problem(outcome: BundleCheck, repository: str) -> str:
    """Why ``--repository NAME`` refuses the authenticated record ("" when it names that repository as
    the one whose CI ran the run; GitHub and GitLab name repositories regardless of case). A commit can
    be pushed to any repository, and a run in another one (a fork, a copy whose workflow an insider
    controls, under the same signing key) judged it in another job's environment."""
    from gatekeeper.escapes import clean

    ci = outcome.record_ci or {}
    said = str(ci.get("repository") or "")
    if not said:
        where = f"a {clean(str(ci.get('provider')))} run" if ci.get("provider") else "no CI run"
        return f"--repository {clean(repository)}: audit record #{outcome.record_seq} names no repository ({where})"
    if said.lower() != repository.strip().lower():
        return (
            f"--repository {clean(repository)}: audit record #{outcome.record_seq} was made by a run in {clean(said)}, "
            "not in this repository (another repository's bundle)"
        )
    return ""


def _folder_problem(recorded: str | None, folder: str) -> str:
    """Why the run did not judge the folder ``folder`` of the repository ("" when it did): a run of one
    folder (``gatekeeper check sub/``) names the whole tree's commit but judged that folder's files
    alone. A record that does not say (written before gatekeeper recorded it) passes for the top, with
    the note ``_verdict_line`` prints, and is refused when another folder is asked for."""
    from gatekeeper.escapes import clean

    if recorded is None:
        if folder == ".":
            return ""
        return f"--folder {clean(folder)}: the record does not say which folder of the repository the run judged"
    if recorded == folder:
        return ""
    said = "its top, the whole repository" if recorded == "." else f"the folder {clean(recorded)} of the repository alone"
    asked = "the whole repository" if folder == "." else f"the folder {clean(folder)} (--folder)"
    return f"the run judged {said}, not {asked}: this bundle does not let the commit through the gate"


def _expired_by_trusted_time(outcome: BundleCheck) -> str:
    """Why the pass rests on a waiver whose term had ended by the authority's time of the audit record
    ("" when none did, or no token was checked): the run judged waivers by its runner's clock as it
    started, which a runner set back (by up to the minutes a stamp may follow it, or mid-run) reads
    as a day when the waiver still applied. A run that straddles the end of a waiver's term cannot
    show it was judged before, and is refused too."""
    from gatekeeper.bundle import AUDIT_FILE
    from gatekeeper.escapes import clean

    stamped = outcome.stamp_times.get(AUDIT_FILE, "")
    day = stamped[:10]
    late = [f"{ident} (until {until[:10]})" for ident, until in outcome.record_waivers if until and until[:10] < day]
    if not stamped or not late:
        return ""
    return clean(
        f"waiver(s) {', '.join(late)} let findings through, but the authority stamped audit record #{outcome.record_seq} "
        f"at {stamped}: by trusted time their term had ended when the verdict was made (the runner's clock judged them)"
    )


def _vex_problems(outcome: BundleCheck, expected: Policy) -> list[str]:
    """What ``--policy`` finds wrong with the VEX documents the run read: the policy names them by path
    (``checks.dependencies.vex``), so an edit to one accepts any vulnerability without touching the
    policy's digest; each must be, by sha256, the document at that path in the current folder, where
    the auditor's policy is read."""
    import hashlib

    from gatekeeper.escapes import clean

    named = [str(f) for f in expected.checks.get("dependencies", {}).get("vex") or []]  # read when the check runs
    if not named or (outcome.record_vex is None and "dependencies" not in outcome.record_ran):
        return []
    read = dict(outcome.record_vex or ())
    problems = []
    for path in named:
        here = Path.cwd() / path
        digest = hashlib.sha256(here.read_bytes()).hexdigest() if here.is_file() else "(no such file here)"
        said = read.get(path)
        if said is None:
            problems.append(
                f"--policy: audit record #{outcome.record_seq} does not state the sha256 of the VEX document {clean(path)} "
                "the policy names (written before gatekeeper recorded it, or the run did not read it)"
            )
        elif said != digest:
            problems.append(
                f"--policy: {clean(path)} is not the VEX document the run read (audit record #{outcome.record_seq} says "
                f"sha256 {clean(said)}, the file here is {digest}): its statements accept findings the policy's digest "
                "does not cover"
            )
    return problems


def _policy_demands(outcome: BundleCheck, expected: Policy | None, policy_sha256: str | None) -> list[str]:
    """What ``--policy`` (the policy loaded) and ``--policy-sha256`` find wrong with the policy the
    authenticated audit record behind the result says the run was judged under; a note when only
    the effective digest differs (``policydigest.expected_problem``)."""
    from gatekeeper.escapes import clean
    from gatekeeper.policydigest import expected_problem
    from gatekeeper.verify_attestation import policy_problem

    recorded = dict(outcome.record_policy or {})
    problems = []
    if expected is not None:
        problems.extend(_vex_problems(outcome, expected))
        problem, note = expected_problem(recorded, expected.files, expected.effective_sha256)
        name = expected.path or "(built-in default)"
        if problem is not None:
            problems.append(
                f"--policy {clean(name)}: audit record #{outcome.record_seq} was judged under another policy: {problem}"
            )
        elif note is not None:
            typer.echo(f"note: --policy {clean(name)}: {note}")
        else:
            typer.echo(f"policy: audit record #{outcome.record_seq} was judged under {clean(name)} (every file by sha256)")
    if (refused := policy_problem(recorded, policy_sha256)) != "":
        problems.append(clean(refused))
    return problems


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
