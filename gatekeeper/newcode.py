"""New-code runs: gate a change by what it adds since REF, not by the history it inherits.

``check --new-code-since REF`` (or ``[gate] new_code = "merge-base"``) compares the run with REF's
result: a finding blocks only when REF did not have it (fingerprints counted as a multiset, as a
baseline counts them), and thresholds compare with REF's figures. REF's result is a stored one
(``--new-code-result FILE``, or the one a complete run of REF left in the cache), checked against
REF's commit and the effective policy's digest, or else computed here in a temporary ``git
worktree`` of REF outside the checkout, with the same policy, checkers, cache and isolation as the
head's run: REF's own policy file is never read, so REF's code gets no more trust than the head's.

What REF could not tell fails closed: a check that did not run at REF, and from a worktree the
checks that inspect the installed environment (which is the head's, not REF's), contribute no
fingerprints, so their findings block as in a full run.
"""

from __future__ import annotations

import os
import subprocess  # git, with argument lists
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import childenv, searchpath
from gatekeeper.baseline import Baseline
from gatekeeper.errors import GatekeeperError, UsageError
from gatekeeper.findings import NO_BASELINE, CheckResult, GateResult, Status

if TYPE_CHECKING:
    from gatekeeper.checkers.base import LoadedChecker
    from gatekeeper.engine import RunRequest
    from gatekeeper.policy import Policy
    from gatekeeper.signing import Keyring

#: where CI services name a pull request's target branch, in the order they are asked
CI_BASE_VARIABLES = (
    "GITHUB_BASE_REF",  # GitHub Actions
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",  # GitLab CI
    "BITBUCKET_PR_DESTINATION_BRANCH",  # Bitbucket Pipelines
    "SYSTEM_PULLREQUEST_TARGETBRANCH",  # Azure Pipelines (refs/heads/NAME)
    "CHANGE_TARGET",  # Jenkins multibranch
)

#: the checks that inspect the installed environment: from a worktree, REF's figures are the head's
ENVIRONMENT_CHECKS = frozenset({"dependencies", "sbom", "licenses"})

#: gatekeeper's own review of a new-code run; never part of REF's fingerprints
REVIEW_CHECK = "dependency-review"

_CACHE_KEY = "new-code-result"
#: the form of the results ``store_result`` keeps: before 2 they could hold detect-secrets' hash of
#: each secret, the password bandit quoted and the lines bandit's excerpts took around a finding;
#: the first run that stores or looks one up removes those (``retire_stored``)
STORED_VERSION = 2


@dataclass(frozen=True)
class Since:
    """The REF a new-code run compares with: as named, its commit, and how it was chosen."""

    ref: str
    commit: str
    reason: str

    @property
    def label(self) -> str:
        """``REF (abbreviated commit)``, as findings and reports name it."""
        return f"{self.ref} ({self.commit[:12]})" if not self.commit.startswith(self.ref) else self.commit[:12]


@dataclass(frozen=True, eq=False, repr=False)
class Reference:
    """REF's result as the run compares with it, and where it came from (``stored``, ``worktree``
    or ``unavailable``: then every finding blocks, as in a full run)."""

    since: Since
    how: str
    source: str
    result: GateResult | None = None
    note: str = ""
    not_comparable: tuple[str, ...] = ()
    duration_s: float = 0.0
    checks: Mapping[str, str] = field(default_factory=dict)  # REF's status per check

    def baseline(self) -> Baseline:
        """REF's fingerprints (a multiset) and metrics, of the checks that ran at REF and compare."""
        if self.result is None:
            return Baseline()
        prints: Counter[str] = Counter()
        metrics: dict[str, dict[str, Any]] = {}
        for check in self.result.checks:
            if check.name == REVIEW_CHECK or check.name in self.not_comparable:
                continue
            if check.status not in (Status.PASS, Status.FAIL) or tests_failed(check):
                continue
            prints.update(f.fingerprint for f in check.findings if f.fingerprint and NO_BASELINE not in f.tags)
            metrics[check.name] = dict(check.metrics)
        return Baseline(fingerprints=dict(prints), metrics=metrics, commit=self.since.commit)

    def sentence(self, existing: int) -> str:
        """One line for the console: which REF, where its result came from, and how many findings
        it already had (shown, not blocking)."""
        head = f"new code since {self.since.label} ({self.since.reason}; {existing} existing finding(s) not blocking)"
        if self.how == "stored":
            tail = f" ({self.note})" if self.note else ""
            return f"{head}: REF's result read from {self.source}{tail}"
        if self.how == "worktree":
            tail = f"; {self.note}" if self.note else ""
            return f"{head}: REF's result computed in a temporary worktree in {self.duration_s:.1f}s{tail}"
        return f"{head}: REF's result unavailable ({self.note}); every finding blocks as in a full run"

    def describe(self, existing: int) -> dict[str, Any]:
        """The result's ``new_code`` entry."""
        return {
            "ref": self.since.ref,
            "commit": self.since.commit,
            "reason": self.since.reason,
            "result": self.how,
            "source": self.source,
            "note": self.note,
            "not_comparable": list(self.not_comparable),
            "ref_checks": dict(self.checks),
            "existing": existing,
            "duration_s": round(self.duration_s, 3),
        }


# --------------------------------------------------------------------------- which REF


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    git = searchpath.which("git") or "git"  # PATH's absolute folders: a relative one could be the checkout's
    return subprocess.run(  # an argument list, never a shell
        [git, "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=120, env=childenv.for_child()
    )


def commit_of(root: Path, ref: str) -> str:
    """The commit ``ref`` names in ``root``'s repository; a ref git cannot resolve is a UsageError."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"--new-code-since: {ref!r} is not a git ref")
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0 or not done.stdout.strip():
        raise UsageError(
            f"new code: git cannot find the commit {ref!r} in {root}",
            hint="fetch it first (git fetch origin BRANCH, or fetch-depth: 0 in actions/checkout)",
        )
    return done.stdout.strip()


def base_branch(gate: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, str]:
    """The branch ``new_code = "merge-base"`` starts from and where it was named: ``new_code_base``,
    else the pull request's target branch from the CI's variables (as ``origin/NAME``); ("", "") when neither."""
    named = str(gate.get("new_code_base") or "")
    if named:
        return named, "gate.new_code_base"
    for variable in CI_BASE_VARIABLES:
        value = environ.get(variable, "").strip()
        if value:
            return f"origin/{value.removeprefix('refs/heads/')}", variable
    return "", ""


def choose_since(root: Path, since: str | None, gate: Mapping[str, Any], environ: Mapping[str, str]) -> Since | None:
    """The REF of a new-code run: ``--new-code-since``, else the merge-base of HEAD and the base
    branch when ``gate.new_code = "merge-base"``; None when the run is not a new-code run (or no
    base branch is known: then every finding blocks, as in a full run)."""
    if since:
        return Since(since, commit_of(root, since), "--new-code-since")
    if str(gate.get("new_code") or "") != "merge-base":
        return None
    branch, named_by = base_branch(gate, environ)
    if not branch:
        return None
    tip = commit_of(root, branch)
    done = _git(root, "merge-base", "HEAD", tip)
    if done.returncode != 0 or not done.stdout.strip():
        raise UsageError(
            f'new_code = "merge-base": HEAD and {branch} have no common commit in {root}',
            hint="fetch the whole history (fetch-depth: 0 in actions/checkout)",
        )
    return Since(branch, done.stdout.strip(), f"merge-base with {branch} ({named_by})")


# --------------------------------------------------------------------------- REF's result


def _not_comparable_in_tree(policy: Policy, names: Sequence[str]) -> tuple[str, ...]:
    """The checks whose worktree figures are not REF's: they inspect the environment the head installed."""
    out = []
    for name in sorted(ENVIRONMENT_CHECKS & set(names)):
        section = policy.checks.get(name, {})
        if name == "dependencies" and str(section.get("source") or "environment") != "environment":
            continue  # a requirements or lock file: the worktree holds REF's own
        out.append(name)
    return tuple(out)


def check_stored(result: GateResult, since: Since, policy: Policy, where: str) -> None:
    """Refuse (UsageError) a stored result that is not of REF's commit, was made on a changed tree,
    or under another effective policy than this run's."""
    commit = str(result.repository.get("commit") or "")
    if commit != since.commit:
        raise UsageError(
            f"the stored result is of commit {commit[:12] or '(none)'}, not of REF {since.label}",
            file=where,
            hint="pass the result of REF's own run, or leave --new-code-result out to compute REF in a worktree",
        )
    if result.repository.get("dirty") is True:
        raise UsageError("the stored result was made on a tree with uncommitted changes: it is not REF's", file=where)
    recorded = str(result.policy.get("effective_sha256") or "")
    if recorded != policy.effective_sha256:
        raise UsageError(
            f"the stored result was made under another policy (effective sha256 {recorded[:12] or '(none)'}, "
            f"this run's {policy.effective_sha256[:12]}): its findings and figures do not compare",
            file=where,
            hint="leave --new-code-result out to compute REF with this policy in a worktree",
        )


def _statuses(result: GateResult) -> dict[str, str]:
    return {c.name: c.status.value for c in result.checks if c.name != REVIEW_CHECK}


def stored_reference(path: Path, since: Since, policy: Policy, keys: Keyring | None = None) -> Reference:
    """REF's result from ``--new-code-result FILE``, checked (``check_stored``).

    With ``keys``, FILE must be signed by one of them (``FILE.sig``, as ``check --results-out``
    writes it when the signing key is set), and the bytes the signature covers are the ones read:
    else a ``UsageError``. Without keys FILE is taken as it is, and the reference's note says so."""
    from gatekeeper.reports.json import load_result

    data: bytes | None = None
    if keys:
        from gatekeeper.resultsig import signed_by

        hint = "REF's run signs it with 'check --results-out FILE' while the signing key is set"
        key_id, data = signed_by(path, keys, f"--new-code-result {path}", hint)
        note = f"signed by {key_id}"
    else:
        note = "its signature was not checked, as no --public-key was given and no signing key is set"
    result = load_result(path, data)
    check_stored(result, since, policy, str(path))
    return Reference(since, "stored", str(path), result, note=note, checks=_statuses(result))


def cached_reference(cache_dir: Path | None, since: Since, policy: Policy) -> Reference | None:
    """REF's result as a complete run of REF stored it in the (authenticated) cache, or None."""
    from gatekeeper.checkers import cache
    from gatekeeper.findings import GateResult as Result
    from gatekeeper.secretprints import upgraded

    retire_stored(cache_dir)
    payload, _rejected = cache.read(cache_dir, cache.cache_key(_CACHE_KEY, since.commit, policy.effective_sha256))
    if not isinstance(payload, dict):
        return None
    try:
        result = upgraded(Result.from_dict(payload))  # a result stored with the earlier secrets fingerprints
        check_stored(result, since, policy, "the cache")
    except (GatekeeperError, ValueError, TypeError, KeyError):
        return None
    return Reference(since, "stored", f"the cache ({cache_dir})", result, checks=_statuses(result))


def retire_stored(cache_dir: Path | None) -> None:
    """Remove, once, the complete runs' results an earlier gatekeeper stored in ``cache_dir``
    (``STORED_VERSION``): they are read with what they held of a secret dropped (``secretprints.
    upgraded``), but stayed on disk, and in a CI cache saved from it, under every commit they were
    stored for."""
    from gatekeeper.checkers import cache

    def stored(payload: Any) -> bool:
        return isinstance(payload, dict) and {"schema_version", "checks", "verdict"} <= payload.keys()

    cache.retire_entries(cache_dir, "results", STORED_VERSION, stored)


def store_result(cache_dir: Path | None, result: GateResult, policy: Policy) -> bool:
    """Keep a complete full run's result of a clean commit in the cache (a ``check``, or a
    ``merge`` of authenticated shards), keyed by the commit and the effective policy's digest, for
    new-code runs that take this commit as REF; True when it was stored."""
    from gatekeeper.checkers import cache

    retire_stored(cache_dir)
    commit = str(result.repository.get("commit") or "")
    scope = result.extra.get("scope")
    complete = isinstance(scope, Mapping) and scope.get("complete") is True
    if cache_dir is None or not commit or result.repository.get("dirty") is not False or not complete:
        return False
    if "new_code" in result.extra:
        return False  # its thresholds were REF's, not the policy's: not the full run a later REF needs
    cache.write(cache_dir, cache.cache_key(_CACHE_KEY, commit, policy.effective_sha256), result.to_dict())
    return True


#: the coverage check's finding of a test run that failed (``checkers.coverage.testrun``)
TESTS_FAILED = "coverage.tests_failed"


def tests_failed(check: CheckResult) -> bool:
    """Whether ``check`` is a coverage check whose tests failed at REF. Its figures are then not REF's:
    a worktree's REF runs its tests in the head's environment, where a module they import may be
    missing (the branch took it out of what CI installs), and a floor of what a broken run measured
    let the head's coverage pass far below ``min_total``. Such a check contributes nothing, as one
    that could not run: the head is held to ``min_total`` and ``min_file`` as in a full run."""
    return check.name == "coverage" and any(f.rule_id == TESTS_FAILED for f in check.findings)


def _ref_error(check: CheckResult, tree: Path) -> str:
    """Why ``check`` could not run at REF (its error, shortened, with the files of the removed
    worktree ``tree`` named relative to it): REF's worktree holds REF's files but the head's
    environment, so a test run importing the code from an editable install of the checkout, say,
    measures the checkout's code, not REF's, and the user needs to see that."""
    said = " ".join((check.error or "no error recorded").split())
    for folder in {str(tree), str(tree.resolve())}:
        said = said.replace(folder + os.sep, "")
    return f"{check.name} at REF: {said if len(said) <= 400 else said[:399] + '…'}"


def worktree_reference(root: Path, since: Since, request: RunRequest, checkers: Mapping[str, LoadedChecker]) -> Reference:
    """REF's result computed in a temporary worktree of REF outside the checkout, with the head's
    policy, checkers, cache and interpreter (``request`` is the head's run, re-rooted); a run that
    cannot be made is ``unavailable`` (every finding then blocks), never a guess."""
    from dataclasses import replace

    from gatekeeper.engine import run_checks, select

    t0 = time.monotonic()
    names = select(list(checkers), request.policy, request.only, request.skip)
    not_comparable = _not_comparable_in_tree(request.policy, names)
    with tempfile.TemporaryDirectory(prefix="gatekeeper-ref-") as scratch:
        tree = Path(scratch) / "tree"
        if tree.resolve().is_relative_to(root):
            return Reference(since, "unavailable", "", note=f"the temporary folder {scratch} is inside the checkout")
        added = _git(root, "worktree", "add", "--detach", "--quiet", str(tree), since.commit)
        if added.returncode != 0:
            why = (added.stderr.strip().splitlines() or ["git worktree add failed"])[-1]
            return Reference(since, "unavailable", "", note=f"git worktree add: {why}", duration_s=time.monotonic() - t0)
        try:
            # REF's patch is measured against REF itself (no changed line): the policy's diff_base may
            # not exist in the worktree, and REF's patch coverage is not what the run compares with
            ref_request = replace(
                request,
                root=tree,
                output_dir=Path(scratch) / "reports",
                baseline=Baseline(),
                baseline_name="",
                new_code_base=since.commit,
                ref_checkout=root,
            )
            result = run_checks(ref_request, checkers)
        except GatekeeperError as exc:
            return Reference(since, "unavailable", "", note=f"REF could not be checked: {exc}", duration_s=time.monotonic() - t0)
        finally:
            _git(root, "worktree", "remove", "--force", str(tree))
            _git(root, "worktree", "prune")
    failed = sorted(c.name for c in result.checks if c.status is Status.ERROR)
    notes = []
    if not_comparable:
        notes.append(
            f"{', '.join(not_comparable)} inspect the installed environment, not REF's: their findings block as in a full run"
        )
    if failed:
        notes.append(f"{', '.join(failed)} could not run at REF: their findings block as in a full run")
        notes += [_ref_error(c, tree) for c in result.checks if c.status is Status.ERROR]
    if any(tests_failed(c) for c in result.checks):
        not_comparable = (*not_comparable, "coverage")
        notes.append(
            "coverage: REF's tests failed in this environment, so its figures are not REF's: the thresholds "
            "apply as in a full run"
        )
    return Reference(
        since,
        "worktree",
        f"git worktree of {since.commit[:12]}",
        result,
        note="; ".join(notes),
        not_comparable=not_comparable,
        duration_s=time.monotonic() - t0,
        checks=_statuses(result),
    )


def environ() -> Mapping[str, str]:
    """The process environment (a seam for tests)."""
    return os.environ
