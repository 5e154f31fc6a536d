"""What ``bundle verify``'s demands find wrong with the authenticated audit record behind a bundle's
result: ``--commit``, ``--require-pass`` (with ``--accept-baseline`` and ``--folder``),
``--repository``, ``--policy`` / ``--policy-sha256`` and ``--retired``. Authentic is not passing:
each names, in ``attestation verify``'s words, what the record does not say."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from gatekeeper.bundleverify import BundleCheck
    from gatekeeper.policy import Policy


def retired_problems(outcome: BundleCheck, retired: Mapping[str, str]) -> list[str]:
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
    # each by the key whose signature verified on it, never the key id a manifest or envelope names
    signers = [(AUDIT_FILE, outcome.record_key_id), (ATTESTATION_FILE, outcome.attestation_key_id)]
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


def folder_of(given: str | None) -> str:
    """``--folder``'s PATH as the record spells a folder (posix, no ``./`` or trailing ``/``; ``.`` the top),
    read as the standalone verifier reads it; a folder outside the repository is a ``UsageError``."""
    from gatekeeper.errors import UsageError
    from gatekeeper.verify_attestation import folder_of as spelled

    try:
        return spelled(given)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def demands(outcome: BundleCheck, commit: str | None, passing: tuple[bool, bool, str],
             policy: tuple[Policy | None, str | None], repository: str | None = None) -> list[str]:  # fmt: skip
    """What ``--commit``, ``--require-pass`` (``passing``: it, ``--accept-baseline`` and ``--folder``), ``--policy``
    and ``--policy-sha256`` (``policy``: the policy loaded, the digest given) ask that the audit record
    behind the result does not say (the words ``attestation verify`` uses): authentic is not passing,
    and an old bundle of a passing run, one of a failing run, one judged under a weaker policy, or one
    that passed only because a baseline let its findings through, verifies as intact. Only an
    authenticated record counts: without keys anyone could have written what a bundle states."""
    import re

    from gatekeeper.escapes import clean
    from gatekeeper.verify_attestation import dirty_problem

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
        why = (
            f"the verdict is {verdict}"
            if outcome.record_verdict != "pass"
            else "the run was partial"
            if scope is not None and scope.get("complete") is False
            else f"audit record #{outcome.record_seq} does not say the run was complete (it has no scope.complete: "
            "written before gatekeeper recorded it, or edited), so nothing shows every check the policy enables ran"
        )
        problems.append(f"--require-pass: {why}: this bundle does not let the commit through the gate")
    elif require_pass:  # a pass of a complete run: each thing it rests on that the gate would not accept
        elsewhere = _folder_problem(outcome.record_folder, folder)
        late = [why for why in (_expired_by_trusted_time(outcome), _stale_by_trusted_time(outcome)) if why]
        problems.extend([dirty] if (dirty := dirty_problem(outcome.record_dirty, "bundle")) else [])
        problems.extend([f"--require-pass: {elsewhere}"] if elsewhere else [])
        problems.extend(f"--require-pass: {why}: this bundle does not let the commit through the gate" for why in late)
    if require_pass and outcome.record_verdict == "pass" and outcome.record_known and not accept_baseline:
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
    """Why the pass rests on a waiver whose term had ended by the run's latest possible start by trusted
    time ("" when none had, or no token was checked): the authority's time of the audit record less
    the run's monotonic duration (``judgedtime``). The run judged waivers by its runner's clock as it
    started, which a runner set back reads as a day when the waiver still applied."""
    from gatekeeper.bundle import AUDIT_FILE
    from gatekeeper.escapes import clean
    from gatekeeper.judgedtime import waiver_problem

    stamped = outcome.stamp_times.get(AUDIT_FILE, "")
    if not stamped:
        return ""
    return clean(waiver_problem(outcome.record_waivers, stamped, outcome.record_duration, f"audit record #{outcome.record_seq}"))


def _stale_by_trusted_time(outcome: BundleCheck) -> str:
    """Why the dependencies check's offline advisory database was older than its limit at the run's
    latest possible start by trusted time ("" when it was not, or no token was checked): the check
    judged its age by the runner's clock, which a runner set back reads as fresh."""
    from gatekeeper.bundle import AUDIT_FILE
    from gatekeeper.escapes import clean
    from gatekeeper.judgedtime import database_problem

    stamped = outcome.stamp_times.get(AUDIT_FILE, "")
    if not stamped:
        return ""
    what = f"audit record #{outcome.record_seq}"
    return clean(database_problem(outcome.record_database, stamped, outcome.record_duration, what))


def vex_problems(outcome: BundleCheck, expected: Policy) -> list[str]:
    """What ``--policy`` finds wrong with the VEX documents the run read: the policy names them by path
    (``checks.dependencies.vex``), so an edit to one accepts any vulnerability without touching the
    policy's digest; each must be, by sha256, the document at that path in the current folder, where
    the auditor's policy is read."""
    return vex_refusals(outcome.record_vex, outcome.record_ran, expected, f"audit record #{outcome.record_seq}")


def vex_refusals(stated: tuple[tuple[str, str], ...] | None, ran: tuple[str, ...], expected: Policy, evidence: str) -> list[str]:
    """``vex_problems`` for any evidence (``evidence`` names it: an audit record, the statement) that states
    ``stated``, (path, sha256) of each VEX document its run read (None: it does not say), and ``ran``, its
    checks that ran."""
    import hashlib

    from gatekeeper.escapes import clean

    named = [str(f) for f in expected.checks.get("dependencies", {}).get("vex") or []]  # read when the check runs
    if not named or (stated is None and "dependencies" not in ran):
        return []
    read = dict(stated or ())
    problems = []
    for path in named:
        here = Path.cwd() / path
        digest = hashlib.sha256(here.read_bytes()).hexdigest() if here.is_file() else "(no such file here)"
        said = read.get(path)
        if said is None:
            problems.append(
                f"--policy: {evidence} does not state the sha256 of the VEX document {clean(path)} "
                "the policy names (written before gatekeeper recorded it, or the run did not read it)"
            )
        elif said != digest:
            problems.append(
                f"--policy: {clean(path)} is not the VEX document the run read ({evidence} says "
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
        problems.extend(vex_problems(outcome, expected))
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
