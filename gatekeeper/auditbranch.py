"""The audit log kept on a git branch, for CI: ``python -m gatekeeper.auditbranch restore|save``.

A CI job's checkout is thrown away after the job, and so would be a log kept in it. The GitHub
Action (``action.yml``) therefore keeps the log on an orphan branch (``gatekeeper-audit`` by
default) of the repository itself, holding one file, ``audit.jsonl``, pushed with the workflow's
token. Only trusted events touch it (``trusted_event``: a push to the default branch, a tag, a
schedule, a manual run on the default branch); a pull request's run, whose code and workflow the
pull request controls, never restores or pushes it: its record and attestation stay in the run's
artifacts.

``restore`` fetches the branch, checks its hash chain (a broken chain is refused: nothing is
appended to it) and puts the log where the policy's ``audit.log`` says, remembering the commit it
came from. ``save`` commits the log with plumbing (``hash-object``, ``mktree``, ``commit-tree``;
the work tree and index are never touched) on top of that commit and pushes it without force. When
another run pushed first (a non-fast-forward rejection), it fetches the new log, appends this run's
records again at its end (``audit.append``: chained, signed and stamped anew) and retries, up to
``ATTEMPTS`` times; a rotation record moves only as the run's last record, signed again by the key
it hands over from, and records the one signing key cannot sign again after the other run's are
refused with nothing pushed (``_resign_problem``). Nothing is ever force-pushed, so the branch only
ever grows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import process
from gatekeeper.errors import GatekeeperError, UsageError

if TYPE_CHECKING:
    from gatekeeper.policy import Policy
    from gatekeeper.signing import Signer

BRANCH = "gatekeeper-audit"
LOG_FILE = "audit.jsonl"
ATTEMPTS = 5
TRUSTED_EVENTS = ("push", "schedule", "workflow_dispatch")
_IDENTITY = {
    "GIT_AUTHOR_NAME": "gatekeeper",
    "GIT_AUTHOR_EMAIL": "gatekeeper@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "gatekeeper",
    "GIT_COMMITTER_EMAIL": "gatekeeper@users.noreply.github.com",
}
_REJECTED = ("non-fast-forward", "fetch first", "[rejected]", "stale info", "cannot lock ref")


def trusted_event(env: Mapping[str, str], default_branch: str) -> bool:
    """True for runs whose code the repository's writers chose: a push to ``default_branch`` or of
    a tag, a schedule, a manual run on the default branch. Pull requests (``pull_request``,
    ``pull_request_target``) and everything else are not."""
    event, ref = env.get("GITHUB_EVENT_NAME", ""), env.get("GITHUB_REF", "")
    on_default = bool(default_branch) and ref == f"refs/heads/{default_branch}"
    if event == "push":
        return on_default or ref.startswith("refs/tags/")
    if event == "schedule":
        return True
    return event == "workflow_dispatch" and on_default


class BranchError(GatekeeperError):
    """git failed while restoring or saving the log (exit 1: the run's record is not kept)."""

    exit_code = 1


@dataclass(frozen=True)
class Place:
    """Where the log lives: the repository (``repo``, whose ``remote`` holds ``branch``) and the local ``log`` file."""

    repo: Path
    log: Path
    branch: str = BRANCH
    remote: str = "origin"

    @property
    def state(self) -> Path:
        """What ``restore`` remembers for ``save``: the commit the log came from and its records."""
        return self.log.with_name(self.log.name + ".base.json")


def _git(place: Place, *args: str, stdin: bytes | None = None) -> process.Completed:
    env = {**os.environ, **_IDENTITY}
    return process.run(["git", *args], timeout=120, cwd=place.repo, env=env, stdin=stdin)


def _fetch(place: Place) -> str:
    """Fetch the branch; its commit, or "" when the remote has no such branch yet."""
    done = _git(place, "ls-remote", "--heads", place.remote, place.branch)
    if done.returncode != 0:
        raise BranchError(f"cannot reach {place.remote}: {done.stderr.strip()}")
    if not done.stdout.strip():
        return ""
    ref = f"refs/gatekeeper/{place.branch}"
    done = _git(place, "fetch", "--quiet", "--no-tags", place.remote, f"+refs/heads/{place.branch}:{ref}")
    if done.returncode != 0:
        raise BranchError(f"cannot fetch {place.branch} from {place.remote}: {done.stderr.strip()}")
    return _git(place, "rev-parse", ref).stdout.strip()


def _log_at(place: Place, commit: str) -> bytes:
    if not commit:
        return b""
    with tempfile.TemporaryDirectory(prefix="gatekeeper-audit-") as scratch:
        target = Path(scratch) / LOG_FILE
        done = _git(place, "cat-file", "blob", f"{commit}:{LOG_FILE}")
        if done.returncode != 0:
            raise BranchError(f"{place.branch} at {commit[:12]} holds no {LOG_FILE}")
        # process.run decodes text; the log is UTF-8 JSON Lines, so the round trip is exact
        target.write_text(done.stdout, encoding="utf-8")
        return target.read_bytes()


def _count(data: bytes) -> int:
    return len([line for line in data.splitlines() if line.strip()])


def restore(place: Place) -> str:
    """Put the branch's log at ``place.log`` (an empty log when the branch does not exist yet) and
    remember where it came from; a chain that does not verify is refused. Returns a line to print."""
    from gatekeeper.audit import verify_log
    from gatekeeper.fileio import write_atomic

    commit = _fetch(place)
    data = _log_at(place, commit)
    place.log.parent.mkdir(parents=True, exist_ok=True)
    if data:
        write_atomic(place.log, data)
        outcome = verify_log(place.log)
        if not outcome.ok:
            raise BranchError(
                f"the audit log on {place.branch} ({commit[:12]}) is broken: {outcome.problem}; nothing is appended to it"
            )
    else:
        place.log.unlink(missing_ok=True)  # a log in the checkout is the pull request's to write, not the durable one
    write_atomic(place.state, json.dumps({"commit": commit, "records": _count(data)}) + "\n")
    where = f"{place.branch} at {commit[:12]}" if commit else f"a new {place.branch} branch (none on {place.remote} yet)"
    return f"audit log: restored {_count(data)} record(s) from {where} to {place.log}"


def _commit(place: Place, data: bytes, parent: str, message: str) -> str:
    blob = _git(place, "hash-object", "-w", "--stdin", stdin=data).stdout.strip()
    tree = _git(place, "mktree", stdin=f"100644 blob {blob}\t{LOG_FILE}\n".encode()).stdout.strip()
    args = ["commit-tree", tree, "-m", message, *(["-p", parent] if parent else [])]
    done = _git(place, *args)
    if done.returncode != 0 or not blob or not tree:
        raise BranchError(f"cannot commit the audit log: {done.stderr.strip()}")
    return done.stdout.strip()


def _new_records(data: bytes, base_records: int) -> list[dict[str, Any]]:
    lines = [line for line in data.splitlines() if line.strip()][base_records:]
    records = []
    for line in lines:
        record = json.loads(line)
        for key in ("seq", "prev", "sig", "signing", "timestamp"):
            record.pop(key, None)  # the chain, signature and stamp are made again at the new end
        records.append(record)
    return records


def _key_in_force(data: bytes) -> str | None:
    """The key id the next record of the log ``data`` must be signed with: the one its last
    rotation record names, or the one that signed its last record; None when that is unsigned."""
    from gatekeeper import signing

    lines = [line for line in data.splitlines() if line.strip()]
    try:
        last = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    if not isinstance(last, dict):
        return None
    rotation = last.get("rotate")
    if isinstance(rotation, dict) and isinstance(rotation.get("to"), str):
        return str(rotation["to"])
    return signing.signature_key_id(last.get("sig"))


def _resign_problem(records: list[dict[str, Any]], in_force: str | None, signer: Signer | None) -> str:
    """Why this run's ``records`` cannot be signed again, with ``signer`` alone, after a log whose
    key in force is ``in_force`` (empty when they can). A rotation record must be signed by the key
    in force and hands the signing to its new key, which this step does not hold; so it moves only
    as this run's last record, signed by the key it hands over from. A record signed with a key that
    another run's rotation retired meanwhile would not verify either."""
    for i, record in enumerate(records):
        rotation = record.get("rotate")
        if isinstance(rotation, dict):
            old, new = rotation.get("from"), rotation.get("to")
            if signer is None or signer.key_id != old or in_force != old:
                now = in_force or "no key"
                held = signer.key_id if signer else "no key"
                return (
                    f"this run's key rotation ({old} to {new}) must be signed by the key in force at the end of "
                    f"the log, which is now {now} (this step holds {held})"
                )
            if i != len(records) - 1:
                return (
                    f"this run's records after its key rotation ({old} to {new}) must be signed with the new key, "
                    "and its rotation with the old one: one signing key cannot append both again"
                )
            in_force = new if isinstance(new, str) else None
        elif signer is not None and in_force is not None and in_force not in (signer.key_id, "hmac:?"):
            return (
                f"the log's key in force is now {in_force} (a rotation another run pushed), "
                f"and this run's records are signed with {signer.key_id}"
            )
    return ""


def save(place: Place, stamp: Callable[[str], Mapping[str, Any]] | None = None) -> str:
    """Push the records appended since ``restore`` onto the branch, appending them again at the end
    of a log another run pushed meanwhile; returns a line to print."""
    from gatekeeper.audit import append, key_from_env
    from gatekeeper.fileio import write_atomic
    from gatekeeper.signing import signer_from_text

    try:
        state = json.loads(place.state.read_text(encoding="utf-8"))
        parent, base = str(state["commit"]), int(state["records"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f"{place.state} is missing or unreadable: run 'restore' before the check") from None
    data = place.log.read_bytes() if place.log.exists() else b""
    records = _new_records(data, base)
    if not records:
        return f"audit log: no new record to save on {place.branch}"
    key = key_from_env()
    signer = signer_from_text(key) if key else None
    for attempt in range(1, ATTEMPTS + 1):
        message = f"gatekeeper audit: {_count(data)} record(s), {len(records)} new"
        commit = _commit(place, data, parent, message)
        done = _git(place, "push", "--quiet", place.remote, f"{commit}:refs/heads/{place.branch}")
        if done.returncode == 0:
            write_atomic(place.state, json.dumps({"commit": commit, "records": _count(data)}) + "\n")
            return f"audit log: pushed {len(records)} record(s) to {place.branch} ({commit[:12]}, attempt {attempt})"
        if not any(word in done.stderr for word in _REJECTED):
            raise BranchError(f"cannot push the audit log to {place.remote} {place.branch}: {done.stderr.strip()}")
        parent = _fetch(place)  # another run pushed first: append this run's records after its
        theirs = _log_at(place, parent)
        problem = _resign_problem(records, _key_in_force(theirs), signer)
        if problem:
            raise BranchError(
                f"another run pushed {_count(theirs) - base} record(s) to {place.branch} first, and this run's "
                f"{len(records)} record(s) cannot be appended after them: {problem}; nothing was pushed",
                hint="run the workflow again: it restores the log as it now stands (run 'gatekeeper key rotate' "
                "on it again, with the key in force)",
            )
        place.log.unlink(missing_ok=True)
        if parent:
            write_atomic(place.log, theirs)
        for record in records:
            rotation = record.pop("rotate", None)  # built and checked by gatekeeper: never redacted
            append(place.log, record, signer, stamp, exact={"rotate": rotation} if rotation is not None else None)
        data = place.log.read_bytes()
    raise BranchError(f"the audit log could not be pushed to {place.branch} after {ATTEMPTS} attempts (other runs kept pushing)")


def _copy_for_artifacts(args: argparse.Namespace) -> None:
    """Copy this run's log (on a pull request: a log of this run alone) into the artifact folder."""
    import shutil

    try:
        place, _ = _setup(args)
        if place.log.is_file():
            Path(args.artifact_dir).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(place.log, Path(args.artifact_dir) / LOG_FILE)
    except (GatekeeperError, OSError) as exc:
        print(f"gatekeeper: warning: the audit log was not copied to {args.artifact_dir}: {exc}", file=sys.stderr)


def _setup(args: argparse.Namespace) -> tuple[Place, Policy]:
    from gatekeeper.audit import log_path
    from gatekeeper.checkers import installed, policy_options, under_review
    from gatekeeper.gate import load_policy, project_root

    root = project_root(Path(args.project))
    under_review(root)
    policy = load_policy(root, Path(args.policy) if args.policy else None, policy_options(installed()))
    log = Path(args.log) if args.log else log_path(root, policy)
    return Place(repo=root, log=log.resolve(), branch=args.branch, remote=args.remote), policy


def main(argv: Sequence[str] | None = None) -> int:
    """``restore`` or ``save`` (see the module's docstring); skipped, with a line saying so, on an untrusted event."""
    parser = argparse.ArgumentParser(prog="python -m gatekeeper.auditbranch", description="Keep the audit log on a git branch.")
    parser.add_argument("action", choices=("event", "restore", "save"))
    parser.add_argument("--project", default=".", help="the checkout (a git repository)")
    parser.add_argument("--policy", default="", help="the policy naming the audit log (default: discovered)")
    parser.add_argument("--log", default="", help="the audit log (default: the policy's audit.log)")
    parser.add_argument("--branch", default=BRANCH)
    parser.add_argument("--remote", default="origin")
    parser.add_argument("--default-branch", default="", help="the repository's default branch (trusted pushes)")
    parser.add_argument("--artifact-dir", default="", help="save: also copy the log here, for the run's artifacts")
    args = parser.parse_args(argv)
    trusted = trusted_event(os.environ, args.default_branch)
    if args.action == "event":
        print("trusted" if trusted else "untrusted")
        return 0
    if not trusted and args.action == "save" and args.artifact_dir:
        _copy_for_artifacts(args)
    if not trusted:
        event = os.environ.get("GITHUB_EVENT_NAME", "") or "not a CI event"
        print(f"audit log: {event} on {os.environ.get('GITHUB_REF', '?')} is not a trusted event: the durable log on "
              f"{args.branch} is left alone; this run's record stays in its artifacts")  # fmt: skip
        return 0
    try:
        place, policy = _setup(args)
        if args.action == "restore":
            print(restore(place))
            return 0
        from gatekeeper.timestamp import TimestampError, authority_from, stamper

        authority = authority_from(policy.audit, place.repo)
        failures: list[str] = []
        print(save(place, stamper(authority, failures) if authority is not None else None))
        if args.artifact_dir:
            _copy_for_artifacts(args)
        if failures:
            raise TimestampError(f"{failures[0]}; the records appended again were saved WITHOUT a trusted timestamp")
    except GatekeeperError as exc:
        print(f"gatekeeper: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
