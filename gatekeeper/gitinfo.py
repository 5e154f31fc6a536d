"""What the repository is at: commit and branch, from git or the CI's environment."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gatekeeper import process
from gatekeeper.background import in_background
from gatekeeper.errors import ToolError


def _git(root: Path, *args: str) -> str:
    try:
        done = process.run(["git", *args], timeout=10, cwd=root)
    except ToolError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def repository_info(root: Path) -> dict[str, Any]:
    """``{root, commit, branch, dirty, folder}``; empty strings where neither git nor CI variables tell.

    ``folder`` is the folder judged, relative to the top of its git work tree (posix, ``.`` for the
    top itself): a run of one folder judged that folder's files alone, not the commit's, and the
    commit names the whole tree. Absent when git cannot tell.

    ``dirty`` is True when a tracked file differs from the commit (staged or not; untracked files,
    such as the reports folder, do not count, as for ``git describe --dirty``), False when git
    says the tree is clean, and absent when git cannot tell (no git, not a repository). Whoever
    prepared the checkout cannot make git look away (``_dirty``): a tracked file marked
    assume-unchanged or skip-worktree, whose changes ``git status`` does not look at, makes the tree dirty.
    """
    # the three git commands run at once: each reads what the others do not write
    asked_branch = in_background(lambda: _git(root, "rev-parse", "--abbrev-ref", "HEAD"), "gatekeeper-git-branch")
    asked_dirty = in_background(lambda: _dirty(root), "gatekeeper-git-dirty")
    said, _, head = _git(root, "rev-parse", "--show-prefix", "HEAD").rpartition("\n")  # "clean/\n<sha>", or "<sha>"
    prefix: str | None = said
    if not head:  # no commit yet: git still says where the folder lies
        prefix = _git(root, "rev-parse", "--show-prefix") if _git(root, "rev-parse", "--is-inside-work-tree") == "true" else None
    commit = head or os.environ.get("GITHUB_SHA", "") or os.environ.get("CI_COMMIT_SHA", "")
    branch = asked_branch()
    if not branch or branch == "HEAD":
        branch = (
            os.environ.get("GITHUB_HEAD_REF")
            or os.environ.get("GITHUB_REF_NAME")
            or os.environ.get("CI_COMMIT_REF_NAME")
            or ("" if not branch else "(detached)")
        )
    info: dict[str, Any] = {"root": str(root), "commit": commit, "branch": branch}
    if prefix is not None:
        info["folder"] = prefix.strip().rstrip("/") or "."
    dirty = asked_dirty()
    if dirty is not None:
        info["dirty"] = dirty
    return info


#: git as it compares the work tree with the commit whatever the checkout's own configuration says:
#: ``--no-optional-locks`` (status would otherwise refresh, rewrite, the index it reads), no replace
#: refs (``git replace X Y`` compares the tree with Y's while HEAD still names X), every file's
#: stat data compared (``core.trustctime=false`` with an mtime put back hides a rewrite of the same
#: size), no file monitor's word (``core.fsmonitor``: a hook that says nothing changed) and every
#: submodule looked into (``ignore = all`` in the commit's own ``.gitmodules``, or ``diff.ignoreSubmodules``,
#: hides a submodule checked out at another commit than the one recorded, or changed within; an untracked
#: file within it, a build's, does not count, as in the tree itself)
_HONEST_GIT = (
    "git", "--no-optional-locks", "--no-replace-objects", "-c", "core.trustctime=true", "-c", "core.checkStat=default",
    "-c", "core.fsmonitor=false", "-c", "core.ignoreStat=false", "-c", "diff.ignoreSubmodules=untracked",
)  # fmt: skip


def _dirty(root: Path) -> bool | None:
    """Whether a tracked file differs from the commit (None: git cannot tell). A file the index marks
    assume-unchanged or skip-worktree (``git update-index``) is one ``git status`` does not look at:
    its changes are unseen, so the tree cannot be said to be the commit's; so is a file a filter
    other than git-lfs's converts (``_filtered``)."""
    asked_filtered = in_background(lambda: _filtered(root), "gatekeeper-git-filtered")
    asked_flags = in_background(lambda: _unwatched(root), "gatekeeper-git-unwatched")
    try:
        asked = [*_HONEST_GIT, "status", "--porcelain", "--untracked-files=no", "--ignore-submodules=untracked"]
        done = process.run(asked, timeout=10, cwd=root)
    except ToolError:
        done = None
    flagged, filtered = asked_flags(), asked_filtered()
    if flagged or filtered:  # whatever status says (a driver's command may fail it)
        return True
    if done is None or done.returncode != 0 or flagged is None or filtered is None:
        return None
    return bool(done.stdout.strip())


#: the commands ``git lfs install`` (``--skip-smudge`` too) sets for its filter to store a file: its
#: pointer names the content's sha256, so a file it converts cannot read as another's (a smudge
#: command alone hides nothing: git compares the file itself, its stat data racy after the checkout)
_LFS = {"clean": {"git-lfs clean -- %f"}, "process": {"git-lfs filter-process", "git-lfs filter-process --skip"}}


def _filtered(root: Path) -> bool | None:
    """True when a tracked file's ``filter`` attribute names a driver the configuration gives a command
    other than git-lfs's own (None when git cannot tell). Whoever prepares the checkout can write
    ``.git/info/attributes`` and a driver (``filter.hide.clean``, ``filter.hide.process``): git status
    then compares what the command prints, not the file, and a tree holding other code than the
    commit's reads clean."""
    try:
        done = process.run([*_HONEST_GIT, "config", "-z", "--get-regexp", r"^filter\."], timeout=10, cwd=root)
    except ToolError:
        return None
    if done.returncode not in (0, 1):  # 1: no such key
        return None
    drivers = set()
    for entry in done.stdout.split("\0"):
        key, _, value = entry.partition("\n")
        name, _, kind = key[len("filter.") :].rpartition(".")
        if name and kind in _LFS and not (name == "lfs" and value.strip() in _LFS[kind]):
            drivers.add(name)
    for name in sorted(drivers):
        if not re.fullmatch(r"[\w.-]+", name):  # no pathspec can name it: its files cannot be told apart
            return True
        try:
            asked = [*_HONEST_GIT, "ls-files", "-z", "--", f":(top,attr:filter={name})"]
            listed = process.run(asked, timeout=10, cwd=root, errors="surrogateescape")
        except ToolError:
            return None
        if listed.returncode != 0:
            return None
        if listed.stdout.strip("\0"):
            return True
    return False


def _unwatched(root: Path) -> bool | None:
    """True when a tracked file is marked assume-unchanged (``ls-files -v``: a lower-case tag) or
    skip-worktree (``S``), in the whole work tree or in a submodule checked out in it (whose own
    ``git status``, run by the superproject's, does not look at such a file either); None when git
    cannot tell."""
    try:
        asked = [*_HONEST_GIT, "ls-files", "-v", "-s", "-z", "--", ":/"]
        done = process.run(asked, timeout=10, cwd=root, errors="surrogateescape")
    except ToolError:
        return None
    if done.returncode != 0:
        return None
    top: Path | None = None
    for entry in done.stdout.split("\0"):
        if not entry:
            continue
        if entry[:1].islower() or entry[:1] == "S":
            return True
        said, _, path = entry.partition("\t")  # "H 160000 <sha> 0<TAB>path" for a submodule
        if said.split(" ")[1:2] == ["160000"]:
            top = top or Path(_git(root, "rev-parse", "--show-toplevel") or root)
            if (top / path / ".git").exists():
                inner = _unwatched(top / path)
                if inner is not False:
                    return inner
    return False
