"""Was every change to a branch gated? Its first-parent history joined with the audit log's records.

A commit is ``gated`` when at least one verified record ran a *complete* gate on it (every check the
policy enables, no lone shard: the record's ``scope.complete``) on a clean tree and passed (a run on
a tree with uncommitted changes to tracked files judged other code than the commit's). A commit with runs but
no such one (every run failed, errored or was partial, or recorded no scope) is ``not gated``; a
commit no record names has ``no run``. Any record of the commit counts, whatever branch it ran on
(the same commit judged on a feature branch before a fast-forward merge is the same code), but
only records of the verified chain: a record after a break never gates anything.

Also here: the contents of a policy file by digest, from the repository's history, so that the
history page can show what changed between two policies the log names by sha256 alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from gatekeeper import process
from gatekeeper.errors import ToolError

#: what ``audit report --event`` accepts: the CI's own event names, plus ``tag`` (a run on a tag's
#: ref), ``manual`` (dispatched by hand) and ``local`` (no CI)
EVENTS = ("push", "pull_request", "tag", "schedule", "manual", "local")
GATED = "gated"
NOT_GATED = "not gated"
NO_RUN = "no run"
_TIMEOUT = 60


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class GatedCommit:
    """One commit of the branch's first-parent history and what the log says about it."""

    sha: str
    date: str
    author: str
    subject: str
    status: str  # GATED, NOT_GATED or NO_RUN
    runs: tuple[str, ...]  # "#12 pass", "#13 pass (partial: only security)", ...


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class GatedChanges:
    """The branch's first-parent commits in the period, newest first, each with its status;
    ``problem`` says why the history could not be read (then there are no commits)."""

    branch: str
    commits: tuple[GatedCommit, ...] = ()
    problem: str = ""

    def count(self, status: str) -> int:
        """How many commits have ``status``."""
        return sum(1 for c in self.commits if c.status == status)


def _git(repo: Path, *args: str) -> tuple[int, str]:
    try:
        done = process.run(["git", "-C", str(repo), *args], timeout=_TIMEOUT)
    except ToolError as exc:
        return 127, str(exc)
    return done.returncode, done.stdout if done.returncode == 0 else done.stderr.strip()


def gated_changes(
    repo: Path, branch: str, records: Iterable[Mapping[str, Any]], since: dt.date | None = None, until: dt.date | None = None
) -> GatedChanges:
    """``branch``'s first-parent commits (committed within ``since``..``until``, days inclusive, UTC)
    joined with ``records`` (the verified records only)."""
    args = ["log", "--first-parent", "--format=%H%x1f%cI%x1f%an%x1f%s", "--end-of-options", branch]
    if since is not None:
        args.insert(1, f"--since={since.isoformat()}T00:00:00Z")
    if until is not None:
        args.insert(1, f"--until={until.isoformat()}T23:59:59Z")
    code, out = _git(repo, *args)
    if code != 0:
        return GatedChanges(branch, problem=f"git log --first-parent {branch} in {repo} failed: {out[:200] or 'no output'}")
    by_commit: dict[str, list[Mapping[str, Any]]] = {}
    for rec in records:
        commit = rec.get("commit")
        if isinstance(commit, str) and commit:
            by_commit.setdefault(commit, []).append(rec)
    commits = []
    for line in out.splitlines():
        parts = line.split("\x1f")
        if len(parts) != 4:
            continue
        sha, date, author, subject = parts
        runs = by_commit.get(sha, [])
        commits.append(GatedCommit(sha, date, author, subject, _status(runs), tuple(_describe(r) for r in runs)))
    return GatedChanges(branch, tuple(commits))


def gating(record: Mapping[str, Any]) -> bool:
    """True when ``record`` is a passing run of the complete gate on a clean tree (the only kind that gates a commit)."""
    scope = record.get("scope")
    complete = isinstance(scope, Mapping) and scope.get("complete") is True
    return record.get("verdict") == "pass" and complete and record.get("dirty") is not True


def _status(runs: list[Mapping[str, Any]]) -> str:
    if any(gating(r) for r in runs):
        return GATED
    return NOT_GATED if runs else NO_RUN


def _describe(record: Mapping[str, Any]) -> str:
    text = f"#{record.get('seq', '?')} {record.get('verdict', '?')}"
    note = "; ".join(n for n in (partial_note(record.get("scope")), "dirty tree" if record.get("dirty") is True else "") if n)
    return f"{text} ({note})" if note else text


def partial_note(scope: Any) -> str:
    """Why a run's scope was partial (``only security``, ``shard 1/4``, ``scope not recorded``); "" when complete."""
    if not isinstance(scope, Mapping):
        return "scope not recorded"
    if scope.get("complete") is True:
        return ""
    bits = []
    if scope.get("only"):
        bits.append("only " + _names(scope["only"]))
    if scope.get("skip"):
        bits.append("skip " + _names(scope["skip"]))
    if scope.get("shard"):
        bits.append(f"shard {scope['shard']}")
    if not bits and scope.get("left_out"):
        bits.append("left out " + _names(scope["left_out"]))
    return "partial: " + ("; ".join(bits) or "incomplete")


def _names(value: Any) -> str:
    """A recorded list of check names as text; any other value (a hand-edited record) as it stands."""
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


# --------------------------------------------------------------------------- policy files by digest


def policy_texts(repo: Path, paths: Iterable[str], digests: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``{sha256: (text, where it was found)}`` for each of ``digests`` found among the versions of
    the policy files ``paths`` in ``repo``'s history (every ref), its working tree, or the shipped
    presets. A digest found nowhere is left out."""
    wanted = set(digests)
    found: dict[str, tuple[str, str]] = {}
    _shipped(wanted, found)
    for path in sorted(set(paths)):
        if wanted <= set(found):
            break
        relative = _in_repo(repo, path)
        if relative is None:
            continue
        local = repo / relative
        if local.is_file():
            _keep(local.read_bytes(), f"{relative} (working tree)", wanted, found)
        code, out = _git(repo, "log", "--all", "--format=%H %cI", "--", relative)
        for line in out.splitlines() if code == 0 else []:
            if wanted <= set(found):
                break
            sha, _, date = line.partition(" ")
            try:
                blob = process.run(["git", "-C", str(repo), "show", f"{sha}:{relative}"], timeout=_TIMEOUT)
            except ToolError:
                break
            if blob.returncode == 0:
                _keep(blob.stdout.encode("utf-8", "surrogateescape"), f"{relative} at {sha[:12]} ({date[:10]})", wanted, found)
    return found


def _keep(data: bytes, where: str, wanted: set[str], found: dict[str, tuple[str, str]]) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest in wanted and digest not in found:
        found[digest] = (data.decode("utf-8", "replace"), where)


def _shipped(wanted: set[str], found: dict[str, tuple[str, str]]) -> None:
    from gatekeeper.fileio import shipped_dir

    for preset in sorted(shipped_dir("policies").glob("*.toml")):
        _keep(preset.read_bytes(), f"gatekeeper's shipped {preset.stem} policy", wanted, found)


def _in_repo(repo: Path, path: str) -> str | None:
    """``path`` (as a record names it: relative, or absolute on the machine that ran) as a path in
    ``repo``: relative paths as they are, absolute ones by their longest tail git knows."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if not pure.is_absolute():
        return pure.as_posix() if pure.parts and ".." not in pure.parts else None
    parts = pure.parts[1:]
    for start in range(len(parts)):
        tail = PurePosixPath(*parts[start:]).as_posix()
        code, out = _git(repo, "log", "--all", "-1", "--format=%H", "--", tail)
        if code == 0 and out.strip():
            return tail
    return None
