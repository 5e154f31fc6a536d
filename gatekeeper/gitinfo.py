"""What the repository is at: commit and branch, from git or the CI's environment."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
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
    says the tree is clean, None (null) when the folder lies in a git work tree but git could not tell
    (status failed or timed out: a verifier's ``--require-pass`` takes no such run as the commit's), and
    absent when there is no work tree (no git, not a repository). Whoever
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
    if dirty is not None or prefix is not None:  # in a work tree, "could not tell" is said (null), never left out
        info["dirty"] = dirty
    return info


#: seconds git may take to hash every tracked file's content; past it the tree's state is unknown (null)
HASH_TIMEOUT_S = 60.0

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
    its changes are unseen, so the tree cannot be said to be the commit's. ``git status`` compares by
    stat data, and whoever prepares the checkout can write those, or a filter driver whose clean command
    prints the commit's text (``.git/info/attributes``): every tracked file's content is hashed too and
    compared with the blob the index names, no driver run (``_unwatched``, ``_content_differs``). A file a
    driver converts that holds the blob's very bytes (nbstripout's notebook as checked out) is the commit's."""
    asked_flags = in_background(lambda: _unwatched(root), "gatekeeper-git-unwatched")
    try:
        asked = [*_HONEST_GIT, "status", "--porcelain", "--untracked-files=no", "--ignore-submodules=untracked"]
        done = process.run(asked, timeout=10, cwd=root)
    except ToolError:
        done = None
    flagged = asked_flags()
    if flagged:  # whatever status says (a driver's command may fail it)
        return True
    if done is None or done.returncode != 0 or flagged is None:
        return None
    return bool(done.stdout.strip())


def _unwatched(root: Path) -> bool | None:
    """True when a tracked file is marked assume-unchanged (``ls-files -v``: a lower-case tag) or
    skip-worktree (``S``), or its content is not the blob the index names (``_content_differs``), in the
    whole work tree or in a submodule checked out in it (whose own ``git status``, run by the
    superproject's, does not look at such a file either); None when git cannot tell."""
    try:
        asked = [*_HONEST_GIT, "ls-files", "-v", "-s", "-z", "--full-name", "--", ":/"]  # as hash-object reads them
        done = process.run(asked, timeout=10, cwd=root, errors="surrogateescape")
    except ToolError:
        return None
    if done.returncode != 0:
        return None
    files: dict[str, tuple[str, str]] = {}  # path: (mode, blob) of each file and symbolic link at stage 0
    found: list[Path] = []

    def top() -> Path:  # asked only when a file is read here, or a submodule looked into
        if not found:
            found.append(Path(_git(root, "rev-parse", "--show-toplevel") or root))
        return found[0]

    for entry in done.stdout.split("\0"):
        if not entry:
            continue
        if entry[:1].islower() or entry[:1] == "S":
            return True
        said, _, path = entry.partition("\t")  # "H 160000 <sha> 0<TAB>path" for a submodule
        _, mode, blob, stage = [*said.split(" "), "", "", "", ""][:4]
        if mode == "160000":
            if (top() / path / ".git").exists():
                inner = _unwatched(top() / path)
                if inner is not False:
                    return inner
        elif stage == "0":
            files[path] = (mode, blob)
    return _content_differs(root, top, files)


def _unsaid(path: str) -> bool:
    """Whether hash-object --stdin-paths would read another path than ``path`` from its line."""
    return "\n" in path or "\r" in path or path.startswith('"')


def _content_differs(root: Path, top: Callable[[], Path], files: dict[str, tuple[str, str]]) -> bool | None:
    """True when a tracked file's content is not the blob the index names for it, whatever its stat data
    say: an index written by hand over a changed file, a rewrite of the same size with its times put
    back, or a clean filter the checkout's own ``.git/config`` names (``.git/info/attributes``, unseen
    by the commit) that hands git the committed content. Each file is hashed as it is (``git
    hash-object --no-filters``: 20,000 files in about 0.2 s of CPU, with the listing); only a file whose bytes differ
    is looked at again: one that is a Git LFS pointer whose object (sha256, size) the file holds is
    the commit's, and so is one that git's own conversions (end of line, ``ident``) turn into the
    blob with every filter driver turned off. None when git cannot tell."""
    # hash-object --stdin-paths takes a path a line, drops a carriage return ending it and unquotes one that starts
    # with '"' (C style): a file named "creds" (or creds\r) had creds hashed in its place (and "\057tmp\057x"
    # /tmp/x), so such a file is read here
    plain = [p for p, (mode, _) in files.items() if mode != "120000" and not _unsaid(p)]
    for path, (mode, blob) in files.items():  # links, and names hash-object cannot read as they are
        if mode == "120000" or _unsaid(path):
            try:
                data = os.fsencode(os.readlink(top() / path)) if mode == "120000" else (top() / path).read_bytes()
            except OSError:
                return True  # gone, or no longer a link: not the commit's
            if _blob_id(data, blob) != blob:
                return True
    hashed = _hashes(root, plain, None)
    if hashed is None or len(hashed) != len(plain):  # a time-out; or a file gone or unreadable: not the commit's
        return None if hashed is None else True
    differ = [p for p, h in zip(plain, hashed, strict=True) if h != files[p][1]]
    objects = _lfs_objects(root, {files[p][1] for p in differ})
    differ = [p for p in differ if not _holds(top() / p, objects.get(files[p][1]))]
    if not differ:
        return False
    drivers = _drivers(root)
    if any(not re.fullmatch(r"[\w.-]+", name) for name in drivers):  # one -c cannot turn off: its command would run
        return True
    again = _hashes(root, differ, drivers)  # git's conversions, no filter driver
    if again is None or len(again) != len(differ):
        return None if again is None else True
    if any(h != files[p][1] for p, h in zip(differ, again, strict=True)):
        return True
    return _ident_hides(top(), {p: files[p][1] for p in differ})


def _ident_hides(top: Path, files: dict[str, str]) -> bool | None:
    """True when a file of ``files`` (path: blob, each the blob once git's conversions are applied) has
    the ``ident`` attribute and holds a ``$Id: ...$`` other than an object id, as git writes ``$Id: <blob id> $``:
    git collapses whatever lies between ``$Id:`` and the next ``$`` of the line to ``$Id$``, so such a
    line can hold code the commit does not, or hide the commit's in a string. Another blob's id (the
    expansion a file keeps after an edit is committed: git writes it again only on checkout) holds no
    code. None when git cannot tell."""
    held = {}
    for path, blob in files.items():
        try:
            data = (top / path).read_bytes()
        except OSError:
            return True
        written = re.compile(rb" [0-9a-f]{%d} " % len(blob))  # an object id, as git writes it: no room for code
        if any(not written.fullmatch(found.group(1)) for found in re.finditer(rb"\$Id:([^$\n]*)\$", data)):
            held[path] = blob
    if not held:
        return False
    try:
        asked = [*_HONEST_GIT, "check-attr", "-z", "--stdin", "ident"]
        stdin = "".join(f"{p}\0" for p in held).encode("utf-8", "surrogateescape")
        done = process.run(asked, timeout=30, cwd=top, stdin=stdin, errors="surrogateescape")
    except ToolError:
        return None
    if done.returncode != 0:
        return None
    said = done.stdout.split("\0")  # path, attribute, value: three fields a file
    return any(value not in ("unset", "unspecified") for value in said[2::3][: len(held)])


def _hashes(root: Path, paths: list[str], drivers: tuple[str, ...] | None) -> list[str] | None:
    """The blob id of each file of ``paths`` (relative to the work tree's top: hash-object reads them so
    from any folder of it): as they are (``drivers`` None), else with git's conversions and each filter
    driver of ``drivers`` turned off (no command the checkout's configuration names is run); none when
    one cannot be read; None on a time-out."""
    if not paths:
        return []
    off = [f for name in drivers or () for f in ("-c", f"filter.{name}.clean=", "-c", f"filter.{name}.process=",
                                           "-c", f"filter.{name}.required=false", "-c", f"filter.{name}.smudge=")]  # fmt: skip
    how = ["--no-filters"] if drivers is None else []
    try:
        done = process.run(
            [*_HONEST_GIT, *off, "hash-object", *how, "--stdin-paths"],
            timeout=HASH_TIMEOUT_S, cwd=root, stdin="".join(f"{p}\n" for p in paths).encode("utf-8", "surrogateescape"),
        )  # fmt: skip
    except ToolError:
        return None
    return done.stdout.split() if done.returncode == 0 else []


def _drivers(root: Path) -> tuple[str, ...]:
    """The names of the filter drivers git's configuration defines (``filter.<name>.clean`` and the like)."""
    said = _git(root, "config", "--name-only", "--get-regexp", r"^filter\..*\.")
    return tuple(sorted({line[len("filter.") :].rpartition(".")[0] for line in said.splitlines() if line.startswith("filter.")}))


_LFS_POINTER = re.compile(
    rb"version https://git-lfs\.github\.com/spec/v1\noid sha256:([0-9a-f]{64})\nsize (\d+)\n(?:[a-z0-9.-]+ [^\n]*\n)*"
)


def _lfs_objects(root: Path, blobs: set[str]) -> dict[str, tuple[str, int]]:
    """{blob: (sha256, size)} for each blob of ``blobs`` that is a Git LFS pointer (one ``cat-file --batch``)."""
    small = sorted(blobs)
    if not small:
        return {}
    try:
        done = process.run([*_HONEST_GIT, "cat-file", "--batch"], timeout=30, cwd=root,
                           stdin="".join(f"{b}\n" for b in small).encode(), errors="surrogateescape")  # fmt: skip
    except ToolError:
        return {}
    data, found, at = done.stdout.encode("utf-8", "surrogateescape"), {}, 0
    while at < len(data):
        head, _, _ = data[at:].partition(b"\n")
        parts = head.split(b" ")
        if len(parts) != 3 or not parts[2].isdigit():  # "<blob> missing", or output cut short
            break
        body = data[at + len(head) + 1 : at + len(head) + 1 + int(parts[2])]
        at += len(head) + 1 + int(parts[2]) + 1
        pointer = _LFS_POINTER.fullmatch(body) if len(body) < 1024 else None
        if pointer is not None:
            found[parts[0].decode()] = (pointer[1].decode(), int(pointer[2]))
    return found


def _holds(path: Path, lfs: tuple[str, int] | None) -> bool:
    """True when ``path`` holds the Git LFS object ``lfs`` (sha256, size): a checkout with LFS has the
    object where the commit has its pointer, which names the object's content."""
    if lfs is None:
        return False
    try:
        data = path.read_bytes() if path.stat().st_size == lfs[1] else b""
    except OSError:
        return False
    return len(data) == lfs[1] and hashlib.sha256(data).hexdigest() == lfs[0]


def _blob_id(data: bytes, like: str) -> str:
    """The blob id of ``data`` in the object format of the id ``like`` (40 hex digits: SHA-1, else SHA-256)."""
    digest = hashlib.sha1(usedforsecurity=False) if len(like) == 40 else hashlib.sha256()
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()
