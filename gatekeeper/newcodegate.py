"""The new-code steps of ``check``: before the engine runs, choose REF and get its result (and turn
it into the fingerprints and figures the run compares with); after, add the dependency review and
the ``new_code`` entry. Every plain complete run of a clean commit leaves its result in the cache,
where a later new-code run taking that commit as REF finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import newcode
from gatekeeper.errors import UsageError
from gatekeeper.findings import GateResult, Status, Verdict

if TYPE_CHECKING:
    from gatekeeper.checkers.base import LoadedChecker
    from gatekeeper.engine import RunRequest
    from gatekeeper.policy import Policy


@dataclass(frozen=True, eq=False, repr=False)
class NewCodeOptions:
    """What the command line asked of a new-code run: ``--new-code-since``, ``--new-code-result``
    (with ``--public-key``, which must have signed it), and ``--baseline`` (which does not combine
    with one)."""

    since: str | None = None
    result_file: Path | None = None
    baseline: Path | None = None
    public_keys: tuple[Path, ...] = ()  # --public-key: the keys one of which must have signed result_file


def _cache_dir(request: RunRequest) -> Path | None:
    from gatekeeper.cachekey import cache_folder

    if not request.use_cache or not request.policy.cache["enabled"]:
        return None
    return request.cache_dir or cache_folder(request.root, request.policy)


def start_new_code(
    asked: NewCodeOptions, request: RunRequest, checkers: Mapping[str, LoadedChecker], say: Callable[[str], None]
) -> tuple[RunRequest, newcode.Reference | None]:
    """The engine request of a new-code run (REF's fingerprints as ``existing``, REF's commit as the
    base of patches and thresholds) and REF's result; the request unchanged and None otherwise."""
    policy = request.policy
    if asked.public_keys and asked.result_file is None:
        raise UsageError("--public-key authenticates --new-code-result FILE, and no FILE was given")
    since = newcode.choose_since(request.root, asked.since, policy.gate, newcode.environ())
    if since is None:
        if asked.result_file is not None:
            raise UsageError('--new-code-result needs --new-code-since REF (or [gate] new_code = "merge-base")')
        if policy.gate.get("new_code") == "merge-base":
            say('new code: [gate] new_code = "merge-base", but no base branch is known (not a pull request, no '
                "gate.new_code_base): every finding blocks, as in a full run")  # fmt: skip
        return request, None
    if asked.baseline is not None:
        raise UsageError("--baseline and new-code runs do not combine: REF's result is the baseline of a new-code run")
    from gatekeeper.interpreter import discover

    cache_dir = _cache_dir(request)
    reference: newcode.Reference | None
    if asked.result_file is not None:
        from gatekeeper.audit import keyring_from

        keys = keyring_from(asked.public_keys)  # and the signing key's own: a result this job's key signed
        reference = newcode.stored_reference(asked.result_file, since, policy, keys)
    else:
        reference = newcode.cached_reference(cache_dir, since, policy)
        if reference is None:
            say(f"new code: no stored result of {since.label}; checking it in a temporary worktree")
            interpreter = discover(request.root, str(policy.environment.get("python") or ""))
            base = replace(request, cache_dir=cache_dir, interpreter=interpreter)
            reference = newcode.worktree_reference(request.root, since, base, checkers)
    baseline = reference.baseline()
    request = replace(request, baseline=baseline, baseline_name=since.label, baseline_kind="existing", new_code_base=since.commit)
    return request, reference


def finish_new_code(result: GateResult, reference: newcode.Reference | None, request: RunRequest) -> GateResult:
    """``result`` with the dependency review and the ``new_code`` entry (a new-code run); a plain
    run's result is stored in the cache for later new-code runs and returned as it is."""
    if reference is None:
        newcode.store_result(_cache_dir(request), result, request.policy)
        return result
    from gatekeeper.review import review_dependencies

    existing = sum(1 for c in result.checks for f in c.findings if f.waiver is not None and f.waiver.kind == "existing")
    extra: dict[str, Any] = {**result.extra, "new_code": reference.describe(existing)}
    review = review_dependencies(
        result,
        reference.result,
        reference.since.label,
        request.policy.section("review"),
        comparable="dependencies" not in reference.not_comparable,
    )
    checks = result.checks
    verdict = result.verdict
    if review is not None:
        checks = (*checks, review)
        if review.status is Status.FAIL and verdict is Verdict.PASS:
            verdict = Verdict.FAIL
    return replace(result, checks=checks, verdict=verdict, extra=extra)


def store_merged(root: Path, policy: Policy, result: GateResult, authenticated: bool) -> str:
    """Keep a merged full run's result in the cache, as ``check`` keeps its own (``store_result``),
    when every part was authenticated; return the console's line about it ("" when there is nothing
    to say). Unauthenticated parts are never stored: whoever could write a part could otherwise make
    its edited findings the REF that later pull requests are compared with."""
    from gatekeeper.cachekey import cache_folder

    if "new_code" in result.extra or not policy.cache["enabled"]:
        return ""
    if not authenticated:
        return "cache: the merged result is not stored for later new-code runs: its parts are not authenticated"
    if newcode.store_result(cache_folder(root, policy), result, policy):
        commit = str(result.repository.get("commit"))[:12]
        return f"cache: the merged result is stored for new-code runs that take {commit} as REF"
    return ""


def merged_new_code(parts: Sequence[GateResult]) -> dict[str, Any]:
    """The merged result's ``new_code`` entry: every part's REF must be the same commit (or no part
    a new-code run); a mix is refused, since their findings did not block by the same rule."""
    entries = [p.extra.get("new_code") for p in parts]
    commits = {str(e.get("commit")) if isinstance(e, Mapping) else "" for e in entries}
    if len(commits) > 1:
        raise UsageError(
            "the parts compared with different REFs (or some ran in full): "
            + ", ".join(sorted(c[:12] or "full run" for c in commits)),
            hint="run every shard with the same --new-code-since REF",
        )
    first = entries[0]
    if not isinstance(first, Mapping):
        return {}
    merged = dict(first)
    merged["existing"] = sum(int(e.get("existing") or 0) for e in entries if isinstance(e, Mapping))
    merged["result"] = ", ".join(sorted({str(e.get("result")) for e in entries if isinstance(e, Mapping)}))
    return {"new_code": merged}
