"""Was every change to a branch gated? Its first-parent history joined with the audit log's records.

A commit is ``gated`` when at least one verified record ran a *complete* gate on it (every check the
policy enables, no lone shard: the record's ``scope.complete``) on a clean tree and passed (a run on
a tree with uncommitted changes to tracked files judged other code than the commit's), and that pass
is a clean one as ``bundle verify --require-pass`` takes it (``Acceptance``): no baseline or new-code
reference let findings through (unless ``--accept-baseline``), the run judged the folder asked for
(the top by default, ``--folder``), and, with ``--repository``, it ran in that repository. A commit
whose passes all fall short of that is a ``qualified pass``, each run saying why; one with runs but
no pass (every run failed, errored or was partial, or recorded no scope) is ``not gated``; a
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
QUALIFIED = "qualified pass"
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
    status: str  # GATED, QUALIFIED, NOT_GATED or NO_RUN
    runs: tuple[str, ...]  # "#12 pass", "#13 pass (partial: only security)", ...
    kind: str = ""  # what kind of pass gated it: "clean", or why each pass falls short ("#12: …"); "" without a pass


@dataclass(frozen=True, slots=True)
class Acceptance:
    """What a pass must be to gate a commit, as ``bundle verify --require-pass`` (and ``attestation verify``)
    take it: ``accept_baseline`` lets findings a baseline or new-code reference let through count
    (``--accept-baseline``), ``folder`` is the folder of the work tree the gate judges (``--folder``,
    ``.`` the top), ``repository`` the repository whose CI must have run it (``--repository``; None: any)."""

    accept_baseline: bool = False
    folder: str = "."
    repository: str | None = None
    stamped: tuple[tuple[int, str], ...] = ()  # with --tsa-cert: (seq, the authority's time) of each record whose token verified

    def trusted_time(self, seq: object) -> str:
        """The earliest authority's time that fixes record ``seq``: its own token's, or a later record's, whose
        ``prev`` covers it ("" when none does, or without ``--tsa-cert``)."""
        times = [t for s, t in self.stamped if isinstance(seq, int) and s >= seq]
        return min(times, default="")


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


def gated_changes(  # noqa: PLR0913  # the branch, its records, the period and what a pass must be
    repo: Path,
    branch: str,
    records: Iterable[Mapping[str, Any]],
    since: dt.date | None = None,
    until: dt.date | None = None,
    accept: Acceptance = Acceptance(),
) -> GatedChanges:
    """``branch``'s first-parent commits (committed within ``since``..``until``, days inclusive, UTC)
    joined with ``records`` (the verified records only), each pass judged by ``accept``."""
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
        status, kind = _status(runs, accept)
        described = tuple(_describe(r, accept) for r in runs)
        commits.append(GatedCommit(sha, date, author, subject, status, described, kind))
    return GatedChanges(branch, tuple(commits))


def gating(record: Mapping[str, Any]) -> bool:
    """True when ``record`` is a passing run of the complete gate on a clean tree (the only kind that may gate a
    commit; ``reservations`` says whether it is a clean gate of it)."""
    scope = record.get("scope")
    complete = isinstance(scope, Mapping) and scope.get("complete") is True
    untold = "dirty" in record and record["dirty"] is None  # in a work tree, git could not tell
    return record.get("verdict") == "pass" and complete and record.get("dirty") is not True and not untold


def reservations(record: Mapping[str, Any], accept: Acceptance) -> tuple[str, ...]:
    """Why a pass is no clean gate of its commit as ``accept`` takes it, in ``bundle verify``'s words (none: a
    clean gate): findings a baseline or new-code reference let through as known, not judged by the policy;
    another folder than ``accept.folder`` (a record that does not say passes for the top); another
    repository, or none, than ``accept.repository``."""
    from gatekeeper.recordfacts import known_of

    found = [] if accept.accept_baseline else [f"{k} let through as known, not judged by the policy" for k in known_of(record)]
    folder = record.get("folder") if isinstance(record.get("folder"), str) else None
    asked = "the whole repository" if accept.folder == "." else f"the folder {accept.folder} (--folder)"
    if folder is None and accept.folder != ".":
        found.append(f"it does not say which folder of the repository it judged, not {asked}")
    elif folder is not None and folder != accept.folder:
        judged = "the whole repository" if folder == "." else f"the folder {folder} of the repository alone"
        found.append(f"it judged {judged}, not {asked}")
    ci = record.get("ci") if isinstance(record.get("ci"), Mapping) else {}
    said = str((ci or {}).get("repository") or "")
    if accept.repository is not None and said.lower() != accept.repository.strip().lower():
        found.append(f"run in {said}, not in {accept.repository} (--repository)" if said else "it names no repository")
    return (*found, *_late(record, accept.trusted_time(record.get("seq"))))


def _late(record: Mapping[str, Any], stamped: str) -> tuple[str, ...]:
    """With trusted time (``stamped``: the authority's earliest time that fixes the record), what
    ``judgedtime`` finds: a waiver past its term, or an offline database past its limit, when the run
    started at the latest (the stamp less the run's monotonic duration)."""
    if not stamped:
        return ()
    from gatekeeper.judgedtime import database_problem, waiver_problem
    from gatekeeper.recordfacts import database_of, duration_of, waivers_of

    what, took = f"audit record #{record.get('seq', '?')}", duration_of(record)
    late = (
        waiver_problem(waivers_of(record)["record_waivers"], stamped, took, what),
        database_problem(database_of(record), stamped, took, what),
    )
    return tuple(why for why in late if why)


def _status(runs: list[Mapping[str, Any]], accept: Acceptance) -> tuple[str, str]:
    """The commit's status and what kind of pass gated it ("clean", or each pass's reservations)."""
    passes = [r for r in runs if gating(r)]
    if any(not reservations(r, accept) for r in passes):
        return GATED, "clean"
    if passes:
        return QUALIFIED, "; ".join(f"#{r.get('seq', '?')}: {', '.join(reservations(r, accept))}" for r in passes)
    return (NOT_GATED if runs else NO_RUN), ""


def _describe(record: Mapping[str, Any], accept: Acceptance = Acceptance()) -> str:
    text = f"#{record.get('seq', '?')} {record.get('verdict', '?')}"
    held = reservations(record, accept) if gating(record) else ()
    dirty = record.get("dirty")
    tree = "dirty tree" if dirty is True else ("tree git could not compare" if "dirty" in record and dirty is None else "")
    notes = (partial_note(record.get("scope")), tree, *held)
    note = "; ".join(n for n in notes if n)
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
