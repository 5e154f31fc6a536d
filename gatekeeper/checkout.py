"""The checkout is read-only to the gate: the tracked files as a run found them, and what changed.

``snapshot`` is taken before the first checker starts and ``changes`` after the last one ends;
any tracked file whose content differs (rewritten, deleted, replaced) makes the run an error,
whichever tool wrote it, so a tool that writes into the tree it judges cannot pass unnoticed.

It is cheap on a large tree: git's index already holds every tracked file's content digest and
stat data, so ``git diff-files`` names the few files whose stat data no longer matches, and only
those are hashed (``git hash-object``), at the start and at the end. Nothing is written: git runs
with ``--no-optional-locks``, so not even its index is refreshed. Outside a git work tree there
are no tracked files, and the comparison says so instead of pretending it looked.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gatekeeper import process
from gatekeeper.errors import ToolError, ToolMissing
from gatekeeper.fileio import relative_to_root

#: paths per ``git hash-object`` command line, far below the OS argument limit
_BATCH = 500
_GIT = ("git", "--no-optional-locks", "-c", "core.quotepath=off")
MISSING = "(missing)"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The tracked files of a work tree at one moment: the index's digests, and the digest of every
    file whose stat data did not match the index (hashed from the work tree)."""

    root: Path
    index: Mapping[str, str] = field(default_factory=dict)  # path -> "mode sha" as the index holds it
    dirty: Mapping[str, str] = field(default_factory=dict)  # path -> sha of the work tree's content
    git: bool = True
    skip: tuple[str, ...] = ()  # folders (relative, posix) gatekeeper itself writes: its reports, its cache


def snapshot(root: Path, skip: Iterable[Path] = (), timeout: float = 300.0) -> Snapshot:
    """The tracked files of ``root`` now, but those under the ``skip`` folders (gatekeeper's own
    reports and cache); an empty snapshot, ``git=False``, outside a git work tree."""
    folders = tuple(rel + "/" for p in skip if (rel := relative_to_root(p, root)) not in (None, "."))
    try:
        index = _index(root, timeout, folders)
    except ToolMissing:  # no git: nothing can be tracked
        return Snapshot(root, git=False)
    except ToolError as exc:
        if "not a git repository" in str(exc):
            return Snapshot(root, git=False)
        raise  # a work tree git will not read (e.g. "dubious ownership"): not one known unchanged
    dirty = _dirty(root, timeout, folders)
    return Snapshot(root, index, _hashes(root, dirty, timeout), skip=folders)


def changes(before: Snapshot, timeout: float = 300.0) -> list[str]:
    """The tracked files whose content differs from ``before`` (sorted; empty outside git)."""
    if not before.git:
        return []
    root = before.root
    index = _index(root, timeout, before.skip)
    dirty_now = _dirty(root, timeout, before.skip)
    suspects = set(before.dirty) | set(dirty_now)
    now = _hashes(root, suspects, timeout)
    changed = {path for path in set(before.index) ^ set(index)}
    for path in suspects:
        start = before.dirty.get(path) or _sha(before.index.get(path))
        if start != now.get(path):
            changed.add(path)
    for path, entry in before.index.items():
        if path not in suspects and index.get(path, entry) != entry:
            changed.add(path)  # the index itself was rewritten (a tool that staged or committed)
    return sorted(changed)


def _index(root: Path, timeout: float, skip: tuple[str, ...]) -> dict[str, str]:
    """``path -> "mode sha"`` for every tracked file, from ``git ls-files --stage``."""
    done = process.run([*_GIT, "ls-files", "-z", "--stage"], timeout=timeout, cwd=root)
    if done.returncode != 0:
        raise ToolError(f"git ls-files failed in {root}: {process.tail(done.stderr, 300)}")
    out: dict[str, str] = {}
    for entry in done.stdout.split("\0"):
        meta, tab, path = entry.partition("\t")
        if not tab or path.startswith(skip):
            continue
        mode, sha, stage = [*meta.split(" "), "", "", ""][:3]
        out[path] = f"{mode} {sha}" if stage == "0" else f"{mode} {sha} stage {stage}"
    return out


def _dirty(root: Path, timeout: float, skip: tuple[str, ...]) -> set[str]:
    """The tracked files whose stat data (or presence) differs from the index: git's cheap check."""
    done = process.run([*_GIT, "diff-files", "-z", "--name-only", "--relative", "--ignore-submodules"], timeout=timeout, cwd=root)
    if done.returncode != 0:
        raise ToolError(f"git diff-files failed in {root}: {process.tail(done.stderr)}")
    return {path for path in done.stdout.split("\0") if path and not path.startswith(skip)}


def _hashes(root: Path, paths: Iterable[str], timeout: float) -> dict[str, str]:
    """The git blob digest of each file's content as it is now (``MISSING`` when it is gone)."""
    out: dict[str, str] = {}
    present = []
    for path in sorted(paths):
        full = root / path
        if full.is_symlink():  # git stores a link as a blob of its target's name
            target = os.fsencode(os.readlink(full))
            out[path] = hashlib.sha1(b"blob %d\0" % len(target) + target, usedforsecurity=False).hexdigest()
        elif full.is_file():
            present.append(path)
        else:
            out[path] = MISSING
    for start in range(0, len(present), _BATCH):
        chunk = present[start : start + _BATCH]
        done = process.run([*_GIT, "hash-object", "--", *chunk], timeout=timeout, cwd=root)
        digests = done.stdout.split()
        if done.returncode != 0 or len(digests) != len(chunk):
            raise ToolError(f"git hash-object failed in {root}: {process.tail(done.stderr)}")
        out.update(zip(chunk, digests, strict=True))
    return out


def _sha(entry: str | None) -> str:
    """The blob digest in an index entry ``"mode sha"``."""
    if entry is None:
        return MISSING
    return entry.split(" ")[1]
