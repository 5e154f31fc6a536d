"""The checkout is read-only to the gate: the files as a run found them, and what changed.

``snapshot`` is taken before the first checker starts and the comparisons after the last one ends.
Any tracked file whose content or mode differs (rewritten, deleted, replaced, made executable,
turned into a link) makes the run an error, whichever tool wrote it, and so does an untracked file
git does not ignore that appeared, went away or was rewritten (its stat data: size, modification
and change times, inode, mode): a tool that writes into
the tree it judges cannot pass unnoticed, a new ``conftest.py`` or config file included. So does a
tracked file whose bytes are back as they were but whose stat data (gatekeeper's own ``lstat``, not
git's index, which the tests may refresh) changed: it was written during the run, and the checks
that read it meanwhile may have read other bytes (a test that empties a module while bandit scans
it, then puts it back with its modification time). A file
named as the tools' configuration (``CONFIG_NAMES``: ``.coveragerc``, ``ruff.toml``, ...) in a
folder above a tracked file is compared even when git ignores it: the coverage analysis reads its
configuration after the tests ran, which could have written it. So is the file a tracked link points
to (its stat data, under the link's path), wherever it lies. Python's
bytecode caches (``__pycache__/*.pyc``) are not compared: Python writes them beside every module
the project's tests import, and they cache the sources, which are. gatekeeper's own report and
cache folders (``skip``) leave out the untracked files there, never a tracked file: a policy
naming a source folder as its cache would otherwise take that code out of the comparison.

It is cheap on a large tree: git's index already holds every tracked file's content digest and
stat data, so ``git diff-files`` names the few files whose stat data no longer matches (with the
mode git sees in the work tree), and only those are hashed (``git hash-object``), at the start and
at the end; the untracked files are one ``git ls-files --others`` each time. The listing, the stat
check and the hashing run at once (the tree is not being written while they read it), so each end
of a run waits for the longest of them, not their sum. Nothing is written:
git runs with ``--no-optional-locks``, so not even its index is refreshed. Outside a git work tree
there are no tracked files, and the comparison says so instead of pretending it looked.

A checked-out git submodule is compared the same way, as a work tree of its own (its index, its
untracked files, its ``.gitignore``), and its files are named by their path in the checkout: the
secrets, lint and security checks read them, and the superproject's git sees none of them (no
``--others`` below a gitlink, and ``diff-files`` compares a submodule's commit at most). A
submodule checked out or removed during the run is a change of its folder.

The checks read the work tree's bytes, so those must be the bytes git stores: a tracked file that a
``working-tree-encoding`` attribute has git check out in another encoding (``reencoded``) refuses the
run before any check starts (``engine``), as a tracked link leading outside the tree does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gatekeeper import linksout, process, searchpath
from gatekeeper.background import in_background
from gatekeeper.errors import ToolError, ToolMissing
from gatekeeper.fileio import relative_to_root

#: paths per ``git hash-object`` command line, far below the OS argument limit
_BATCH = 500
_GIT = ("git", "--no-optional-locks", "-c", "core.quotepath=off")
MISSING = "(missing)"
#: Python's bytecode cache of a module (PEP 3147): written by whatever imports the module
_BYTECODE = re.compile(r"(?:^|/)__pycache__/[^/]+\.pyc\Z")
#: the index mode of a gitlink: a submodule's commit
_GITLINK = "160000 "
T = TypeVar("T")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Snapshot:
    """The tracked files of a work tree at one moment: the index's digests, and the digest of every
    file whose stat data did not match the index (hashed from the work tree)."""

    root: Path
    index: Mapping[str, str] = field(default_factory=dict)  # path -> "mode sha" as the index holds it
    dirty: Mapping[str, str] = field(default_factory=dict)  # path -> "mode sha" of the work tree's file
    git: bool = True
    skip: tuple[str, ...] = ()  # folders (relative, posix) gatekeeper itself writes: its reports, its cache
    untracked: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # not ignored, bytecode caches left out: path -> stat
    modules: Mapping[str, Snapshot] = field(default_factory=dict)  # checked-out submodule's folder -> its snapshot
    tracked: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # tracked file -> its stat data (``_stats``)
    #: git's ignore rules and configuration outside the tree (``_ignore_files``): absolute path -> stat data, None: absent
    outside: Mapping[str, tuple[int, ...] | None] = field(default_factory=dict)
    #: the paths a tool would read as configuration (``_configs``) that did not exist: one created later is a change
    absent: frozenset[str] = frozenset()
    #: the tracked links, and the links of a tool configuration's name, leading outside the git work tree
    #: (``gatekeeper.linksout``): ``"path -> target"``, this work tree's own (``links_out`` adds its submodules')
    outside_links: tuple[str, ...] = ()
    #: the tracked files git checks out in another encoding than it stores them (``_reencoded``):
    #: ``"path (working-tree-encoding=X)"``, this work tree's own (``reencoded`` adds its submodules')
    reencoded_files: tuple[str, ...] = ()


def begin(root: Path, timeout: float = 300.0) -> None:
    """Start reading the files of ``root`` now, in the background, for the next ``snapshot`` this
    process takes (``gatekeeper check`` calls it before importing the rest of gatekeeper: git
    reads the tree while Python imports). Only a snapshot of the same root uses what it read; a
    read that failed is taken again. Nothing the run does writes into the checkout before its
    snapshot (its own report and cache folders are left out when the snapshot is taken), so a file
    that changed in between is a change of the run, never one missed. A read of ``root`` already
    begun and not yet taken is kept."""
    with _EARLY_LOCK:
        if any(started == root for started, _ in _EARLY):
            return
        earlier, _EARLY[:] = list(_EARLY), [(root, in_background(lambda: _read(root, timeout), "gatekeeper-checkout-early"))]
    for _, wait in earlier:  # another folder's read: none of its git commands outlives it
        with contextlib.suppress(Exception):
            wait()


def settle_early() -> None:
    """Wait for a read ``begin`` started that no snapshot took (the command ended first): no git
    command of it outlives the command."""
    with _EARLY_LOCK:
        early, _EARLY[:] = list(_EARLY), []
    for _, wait in early:
        with contextlib.suppress(Exception):
            wait()


def snapshot(root: Path, skip: Iterable[Path] = (), timeout: float = 300.0) -> Snapshot:
    """The tracked files of ``root`` now (or as ``begin`` found them), those of its checked-out
    submodules included, and the untracked ones but those under the ``skip`` folders (gatekeeper's
    own reports and cache); an empty snapshot, ``git=False``, outside a git work tree."""
    folders = tuple(rel + "/" for p in skip if (rel := relative_to_root(p, root)) not in (None, "."))
    with _EARLY_LOCK:
        early, _EARLY[:] = list(_EARLY), []
    try:
        read = _early_read(early, root) or _read(root, timeout)
    except _InSubmodule as inner:  # a submodule whose files cannot be listed is not one known unchanged
        raise inner.error from None
    except ToolMissing:  # no git: nothing can be tracked
        return Snapshot(root, git=False)
    except ToolError as exc:
        if "not a git repository" in str(exc):
            return Snapshot(root, git=False)
        raise  # a work tree git will not read (e.g. "dubious ownership"): not one known unchanged
    return _snapshot_of(read, folders, linksout.work_tree(root))


def links_out(snap: Snapshot) -> list[str]:
    """The tracked links of ``snap`` (its submodules' included, named by their path in the
    checkout), and the links of a tool configuration's name in a folder above a tracked file, that
    lead outside the git work tree, ``"path -> target"``: read before any check starts, from the
    ``lstat`` the snapshot takes of each anyway (``gatekeeper.linksout``)."""
    out = list(snap.outside_links)
    for folder, module in snap.modules.items():
        out += (f"{folder}/{entry}" for entry in links_out(module))
    return sorted(out)


def reencoded(snap: Snapshot) -> list[str]:
    """The tracked files of ``snap`` (its submodules' included, named by their path in the checkout)
    whose bytes in the work tree are not the bytes git stores: a ``working-tree-encoding`` attribute
    (``.gitattributes``) makes git check such a file out re-encoded (UTF-32, EBCDIC...) and store it
    as UTF-8. The tools read the work tree's bytes, where no pattern matches a key that the
    repository holds, and shows, in plain text: ``"path (working-tree-encoding=X)"``."""
    out = list(snap.reencoded_files)
    for folder, module in snap.modules.items():
        out += (f"{folder}/{entry}" for entry in reencoded(module))
    return sorted(out)


class _InSubmodule(Exception):
    """A git failure in a checked-out submodule: raised as it is, whatever it says (its checkout is
    still a git work tree of the superproject's)."""

    def __init__(self, error: ToolError) -> None:
        super().__init__(str(error))
        self.error = error


#: the read ``begin`` started: (its root, the wait for its answer); taken by the next snapshot
_EARLY: list[tuple[Path, Callable[[], _Read]]] = []
_EARLY_LOCK = threading.Lock()


def _early_read(early: list[tuple[Path, Callable[[], _Read]]], root: Path) -> _Read | None:
    """What ``begin`` read of ``root`` (None: it read another folder, or failed: read again)."""
    for started, wait in early:
        with contextlib.suppress(Exception):  # e.g. the folder was not there yet: the snapshot reads it itself
            read = wait()
            if started == root:
                return read
    return None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Read:
    """What git said of a work tree, before gatekeeper's own folders are left out."""

    root: Path
    index: dict[str, str]
    listed: frozenset[str]  # untracked, not ignored, bytecode caches left out
    dirty: dict[str, str]  # path -> the mode git sees in the work tree
    shas: dict[str, str]  # each dirty file's digest
    modules: dict[str, _Read]
    ignores: tuple[str, ...] = ()  # ``_ignore_files``
    reencoded: tuple[str, ...] = ()  # ``_reencoded``


def _read(root: Path, timeout: float) -> _Read:
    """What git says of the work tree ``root`` and its checked-out submodules. The listing (``git
    ls-files``) runs beside the stat check (``git diff-files``) and the hashing of the files it
    names: each reads the tree as it is now, and none waits for another's answer."""
    searchpath.keep_out(root)  # its git is never one a PATH folder inside the checkout holds
    touched = in_background(lambda: _touched(root, timeout), "gatekeeper-checkout-touched")
    ignores = in_background(lambda: _ignore_files(root, timeout), "gatekeeper-checkout-ignores")
    # asked whatever the tree holds: .git/info/attributes or core.attributesFile, which a step before the gate can
    # write, have git check a file out re-encoded as the checkout's .gitattributes does, and git status call it clean
    encoded = in_background(lambda: _reencoded(root, timeout), "gatekeeper-checkout-reencoded")
    index, listed = _both(lambda: _listing(root, timeout, ()), touched, ignores, encoded)
    dirty, shas = _both(touched, ignores, encoded)
    reencoded = _both(encoded, ignores)
    modules = {path: _submodule(root, path, timeout) for path in _checked_out(root, index)}
    return _Read(root, index, listed, dirty, shas, modules, ignores(), reencoded)


def _submodule(root: Path, path: str, timeout: float) -> _Read:
    """``_read`` of the submodule checked out at ``path``; any git failure there is ``_InSubmodule``."""
    try:
        return _read(root / path, timeout)
    except _InSubmodule:
        raise
    except ToolError as exc:
        raise _InSubmodule(exc) from exc


def _snapshot_of(read: _Read, folders: tuple[str, ...], tree: str) -> Snapshot:
    """The snapshot ``read`` gives, the untracked files under ``folders`` left out, with the stat
    data of the files it compares as they are now (one ``lstat`` each, here: in a thread of their
    own, thousands of them would trade the interpreter's lock with the imports they run beside),
    and the links among them that lead outside ``tree`` (``_outside_links``)."""
    listed = frozenset(path for path in read.listed if not path.startswith(folders))
    configs = _configs(read.index, listed)
    stats = _stats(read.root, listed | configs)
    untracked = {**stats, **_targets(read.root, read.index)}
    modules = {
        path: _snapshot_of(module, tuple(f[len(path) + 1 :] for f in folders if f.startswith(path + "/")), tree)
        for path, module in read.modules.items()
    }
    entries = _with_modes(read.shas, read.dirty, read.index)
    tracked = _stats(read.root, _files(read.index))
    outside = _outside_stats(read.ignores)
    absent = configs - untracked.keys()
    links = _outside_links(read.root, tree, tracked, _config_links(read.index, stats))
    return Snapshot(
        read.root, read.index, entries, skip=folders, untracked=untracked, modules=modules, tracked=tracked, outside=outside,
        absent=absent, outside_links=links, reencoded_files=read.reencoded,
    )  # fmt: skip


def _outside_links(root: Path, tree: str, *stats: Mapping[str, tuple[int, ...]]) -> tuple[str, ...]:
    """The paths among ``stats`` (``lstat`` data) that are links leading outside ``tree``, each
    ``"path -> target"``: one ``realpath`` per link, nothing for any other file."""
    base = os.fspath(root)
    out = []
    for data in stats:
        for path, st in data.items():
            if stat.S_ISLNK(st[4]) and (target := linksout.leads_out(base, path, tree)) is not None:
                out.append(linksout.shown(path, target))
    return tuple(sorted(out))


#: the tracked files a ``working-tree-encoding`` attribute applies to (set, unset or given a value):
#: git's ``attr`` pathspec magic, so that a tree without one costs one listing that names nothing
#: (20,000 files: 9 ms)
_ENCODING_SPEC = ":(exclude,attr:!working-tree-encoding)"
#: values of ``working-tree-encoding`` with which git checks the file out as it stores it (an empty
#: value, ``working-tree-encoding=``, is no encoding to git)
_AS_STORED = frozenset({"unset", "unspecified", "utf-8", "utf8", ""})


def _reencoded(root: Path, timeout: float) -> tuple[str, ...]:
    """The tracked files of ``root`` git checks out re-encoded (``reencoded``): ``"path
    (working-tree-encoding=X)"``, X as the attributes (the checkout's ``.gitattributes`` among them) give it."""
    listing = [*_GIT, "ls-files", "-z", "--", ".", _ENCODING_SPEC]
    done = process.run(listing, timeout=timeout, cwd=root, errors="surrogateescape")
    if done.returncode != 0:
        raise ToolError(f"git ls-files failed in {root}: {process.tail(done.stderr, 300)}")
    paths = [path for path in done.stdout.split("\0") if path]
    out = []
    for start in range(0, len(paths), _BATCH):
        chunk = paths[start : start + _BATCH]
        asked = [*_GIT, "check-attr", "-z", "working-tree-encoding", "--", *chunk]
        said = process.run(asked, timeout=timeout, cwd=root, errors="surrogateescape")
        if said.returncode != 0:
            raise ToolError(f"git check-attr failed in {root}: {process.tail(said.stderr, 300)}")
        fields = said.stdout.split("\0")  # path NUL attribute NUL value NUL, and a last empty field
        for path, value in zip(fields[0::3], fields[2::3], strict=False):
            if path and value.lower() not in _AS_STORED:
                out.append(f"{path} (working-tree-encoding={value})")
    return tuple(sorted(out))


def _config_links(index: Mapping[str, str], stats: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The links among the untracked paths of ``stats`` that a tool reads as its configuration: a
    ``CONFIG_NAMES`` name in the root or a folder above a tracked file (ignored or not). Other
    untracked links (a virtualenv's ``bin/python``) are refused only when a check names them as read."""
    links = {p: st for p, st in stats.items() if stat.S_ISLNK(st[4])}
    if not links:
        return links
    folders = _folders(index)
    return {p: st for p, st in links.items() if p.rsplit("/", 1)[-1] in CONFIG_NAMES and p.rpartition("/")[0] in folders}


def _ignore_files(root: Path, timeout: float) -> tuple[str, ...]:
    """The files outside the work tree that decide which of its files git ignores, and so which
    files the comparison lists and ruff (which applies git's ignore rules) checks: the repository's
    ``info/exclude`` and ``config``, the user's and the system's git configuration and global
    ignore file, and the ``core.excludesFile`` in force (absolute paths). A test that writes one
    (``bad.py`` added to ``.git/info/exclude``) hides a tracked file from the listing of a check
    that runs after it, without writing a file of the tree: such a write is a change of the run."""
    paths: set[str] = set()
    done = process.run([*_GIT, "rev-parse", "--git-path", "info/exclude", "--git-path", "config"], timeout=timeout, cwd=root)
    if done.returncode == 0:
        paths.update(os.path.join(root, line) for line in done.stdout.splitlines() if line)
    configured = process.run([*_GIT, "config", "--path", "--get", "core.excludesFile"], timeout=timeout, cwd=root)
    if configured.returncode == 0 and configured.stdout.strip():
        paths.add(os.path.join(root, configured.stdout.strip()))
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    paths.update((os.path.join(xdg, "git", "ignore"), os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig")))
    paths.update(p for p in (os.environ.get("GIT_CONFIG_GLOBAL"), "/etc/gitconfig") if p)
    return tuple(sorted(os.path.normpath(p) for p in paths))


def _outside_stats(paths: Iterable[str]) -> dict[str, tuple[int, ...] | None]:
    """Each file's stat data as ``_stats`` takes it (following a link), None when it is absent."""
    out: dict[str, tuple[int, ...] | None] = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out[path] = None
            continue
        out[path] = _data(st)
    return out


def _touched(root: Path, timeout: float, known: Iterable[str] = ()) -> tuple[dict[str, str], dict[str, str]]:
    """The tracked files whose stat data differs from the index (``_dirty``), and the digest of each
    of them but those ``known`` (already being hashed)."""
    dirty = _dirty(root, timeout)
    return dirty, _hashes(root, set(dirty) - set(known), timeout)


def _both(first: Callable[[], T], *others: Callable[[], object]) -> T:
    """``first()`` in this thread while ``others`` (the waits of work started in the background) go
    on; when it raises, each of them is still waited for (no git command is left running behind the
    caller) and ``first``'s exception is the one raised."""
    try:
        return first()
    except BaseException:
        for wait in others:
            with contextlib.suppress(Exception):
                wait()
        raise


def _files(index: Mapping[str, str]) -> list[str]:
    """The tracked paths of ``index`` that are files or links (a gitlink is a submodule's folder)."""
    return [path for path, entry in index.items() if not entry.startswith(_GITLINK)]


def _checked_out(root: Path, index: Mapping[str, str]) -> list[str]:
    """The gitlinks of ``index`` whose folder holds a checked-out submodule (its ``.git`` file or
    folder); a submodule not checked out has no files for a tool to read."""
    base = os.fspath(root)
    links = (path for path, entry in index.items() if entry.startswith(_GITLINK))
    return sorted(path for path in links if os.path.lexists(os.path.join(base, path, ".git")))


def tracked_count(snap: Snapshot) -> int:
    """How many tracked files ``snap`` compares, its submodules' included (gitlinks are not files)."""
    own = sum(1 for entry in snap.index.values() if not entry.startswith(_GITLINK))
    return own + sum(tracked_count(module) for module in snap.modules.values())


def untracked_count(snap: Snapshot) -> int:
    """How many untracked files git does not ignore ``snap`` compares, its submodules' included."""
    return len(snap.untracked) + sum(untracked_count(module) for module in snap.modules.values())


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Changes:
    """What a run did to the checkout: tracked files whose content or mode differs, untracked
    files git does not ignore that appeared, went away or were rewritten, and tracked files written
    with their bytes put back (``restored``: their stat data changed), each sorted."""

    changed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    #: git's ignore rules and configuration outside the tree (``_ignore_files``) created, removed or written
    git_settings: list[str] = field(default_factory=list)


def changes(before: Snapshot, timeout: float = 300.0) -> Changes:
    """What differs from ``before`` (nothing outside git)."""
    if not before.git:
        return Changes()
    root = before.root
    # the three git commands run at once: the listing, the stat check, and the hashing of the files
    # that were dirty at the start (those that became dirty since are hashed once the check names them)
    held = in_background(lambda: _hashes(root, before.dirty, timeout), "gatekeeper-checkout-hashes")
    touched = in_background(lambda: _touched(root, timeout, known=before.dirty), "gatekeeper-checkout-touched")
    index, listed = _both(lambda: _listing(root, timeout, before.skip), held, touched)
    untracked = {**_stats(root, listed | _configs(index, listed)), **_targets(root, index)}
    tracked = _stats(root, before.tracked)
    dirty_now, shas = _both(touched, held)
    shas.update(held())
    suspects = set(before.dirty) | set(dirty_now)
    now = _with_modes({p: shas[p] for p in suspects}, {p: dirty_now.get(p) for p in suspects}, index)
    changed = {path for path in set(before.index) ^ set(index)}
    for path in suspects:
        start = before.dirty.get(path) or _entry(before.index.get(path))
        if start != now.get(path):
            changed.add(path)
    for path, entry in before.index.items():
        if path not in suspects and index.get(path, entry) != entry:
            changed.add(path)  # the index itself was rewritten (a tool that staged or committed)
    created = sorted(set(untracked) - set(before.untracked))
    removed = sorted(set(before.untracked) - set(untracked))
    rewritten = sorted(path for path, data in untracked.items() if before.untracked.get(path, data) != data)
    settings = sorted(p for p, data in _outside_stats(before.outside).items() if data != before.outside[p])
    restored = sorted(p for p, data in tracked.items() if p not in changed and before.tracked.get(p, data) != data)
    out = Changes(sorted(changed), created, removed, rewritten, restored, settings)
    return _shown(_with_modules(out, before, _checked_out(root, index), timeout))


def _shown(out: Changes) -> Changes:
    """``out`` with each name's bytes that are not UTF-8 written as ``\\xff`` (a report cannot hold them)."""

    def names(paths: list[str]) -> list[str]:
        return [os.fsencode(p).decode("utf-8", "backslashreplace") for p in paths]

    return Changes(names(out.changed), names(out.created), names(out.removed), names(out.rewritten), names(out.restored),
                   names(out.git_settings))  # fmt: skip


def moved_since(before: Snapshot, folders: Mapping[str, tuple[int, ...]] | None = None) -> bool:
    """Whether a file ``before`` knows the stat data of (every tracked file, every untracked one
    and configuration file it compared, what each tracked link points to; its submodules' too)
    is gone or was written since, or a configuration file it found absent exists now, or a folder
    whose stat data ``folders`` holds (``folder_stats``, taken just before that comparison) differs:
    one ``lstat`` each, no git. For a comparison made while a settled check still reads the tree
    (``CheckContext.settled``): a process the tests left behind outside their process group may
    write, remove or create a file that check then reads; looked at once every check has ended,
    such a write is seen (its change time cannot be set back, and a file created or removed changes
    its folder's), and the checkout is compared again to name it."""
    if not before.git:
        return False
    if folders is not None and folder_stats(before) != folders:
        return True
    root = before.root
    if _stats(root, before.tracked) != before.tracked or _stats(root, before.absent):
        return True
    untracked = {**_stats(root, before.untracked), **_targets(root, before.index)}
    if untracked != before.untracked or _outside_stats(before.outside) != before.outside:
        return True
    return any(moved_since(module) for module in before.modules.values())


def folder_stats(snap: Snapshot) -> dict[str, tuple[int, ...]]:
    """The stat data of the root and of every folder above a file ``snap`` compares (its submodules'
    included; absolute paths): a file created or removed in a folder changes the folder's."""
    if not snap.git:
        return {}
    base = os.fspath(snap.root)
    folders = {""}
    for path in (*snap.index, *snap.untracked):
        while "/" in path and (path := path.rsplit("/", 1)[0]) not in folders:
            folders.add(path)
    out = {path: data for path, data in _outside_stats(os.path.join(base, f) for f in folders).items() if data is not None}
    for module in snap.modules.values():
        out.update(folder_stats(module))
    return out


def _with_modules(out: Changes, before: Snapshot, now: list[str], timeout: float) -> Changes:
    """``out`` with what the run did inside each submodule, named by its path in the checkout; a
    submodule checked out or removed during the run is a change of its folder."""
    changed = set(out.changed) | (set(now) ^ set(before.modules))
    created, removed, rewritten, restored = list(out.created), list(out.removed), list(out.rewritten), list(out.restored)
    settings = set(out.git_settings)
    for path, module in before.modules.items():
        if path not in now:
            continue
        inner = changes(module, timeout)
        changed.update(f"{path}/{p}" for p in inner.changed)
        created += (f"{path}/{p}" for p in inner.created)
        removed += (f"{path}/{p}" for p in inner.removed)
        rewritten += (f"{path}/{p}" for p in inner.rewritten)
        restored += (f"{path}/{p}" for p in inner.restored)
        settings.update(inner.git_settings)  # absolute paths: named as they are
    return Changes(sorted(changed), sorted(created), sorted(removed), sorted(rewritten), sorted(restored), sorted(settings))


#: the keys of a result's ``checkout`` entry that name files the run wrote (``touched``)
TOUCHED = ("changed", "created", "removed", "rewritten", "restored", "git_settings", "read_written", "transient")


def touched(tree: Mapping[str, Any]) -> list[str]:
    """Every file a result's ``checkout`` entry says the run wrote: tracked files changed or restored,
    untracked files created, removed or rewritten, files a check read beyond the comparison written,
    configuration files that came and went (empty: the tree was left as it was found, or could not be compared)."""
    return [str(path) for key in TOUCHED for path in tree.get(key) or ()]


def _listing(root: Path, timeout: float, skip: tuple[str, ...]) -> tuple[dict[str, str], frozenset[str]]:
    """``path -> "mode sha"`` for every tracked file, and the untracked files git does not ignore
    (``.gitignore``, ``.git/info/exclude``, ``core.excludesFile``), both from one ``git ls-files``;
    untracked ones under ``skip`` and Python's bytecode caches are left out."""
    # a name that is not UTF-8 is kept as its bytes (surrogateescape): each file is looked up by it
    listing = [*_GIT, "ls-files", "-z", "--stage", "--others", "--exclude-standard", "-t"]
    done = process.run(listing, timeout=timeout, cwd=root, errors="surrogateescape")
    if done.returncode != 0:
        raise ToolError(f"git ls-files failed in {root}: {process.tail(done.stderr, 300)}")
    index: dict[str, str] = {}
    untracked: set[str] = set()
    for line in done.stdout.split("\0"):
        tag, _, entry = line.partition(" ")  # "? path" (untracked), else "H mode sha stage\tpath"
        if tag == "?":
            if not entry.startswith(skip) and not _BYTECODE.search(entry):
                untracked.add(entry)
            continue
        meta, tab, path = entry.partition("\t")
        if not tab:  # a tracked file is compared wherever it lies: a policy's cache.dir = "src" skips no code
            continue
        mode, sha, stage = [*meta.split(" "), "", "", ""][:3]
        index[path] = f"{mode} {sha}" if stage == "0" else f"{mode} {sha} stage {stage}"
    return index, frozenset(untracked)


#: the names of the files the tools read as configuration or code beside the files they judge, in
#: any folder above them: compared even when git ignores them (a test that writes an ignored
#: ``.coveragerc`` or ``ruff.toml`` changes what the analysis that follows reads)
CONFIG_NAMES = (
    ".coveragerc",
    "setup.cfg",
    "tox.ini",
    "pyproject.toml",
    "ruff.toml",
    ".ruff.toml",
    "mypy.ini",
    ".mypy.ini",
    ".bandit",
    "pytest.ini",
    ".pytest.ini",
    "pytest.toml",
    ".pytest.toml",
    ".gitignore",
    ".ignore",  # ruff leaves out what it lists, as it does what .gitignore lists
    ".pre-commit-config.yaml",
    "conftest.py",
    "__init__.py",
    "sitecustomize.py",
    "usercustomize.py",
)


def _configs(index: Mapping[str, str], listed: frozenset[str]) -> frozenset[str]:
    """The paths a tool would read as configuration (``CONFIG_NAMES``) in the root and every folder
    above a tracked file, but those tracked or listed already: ignored or not, a file there is
    compared by its stat data (one ``lstat`` each, no walk of an ignored ``.venv``)."""
    folders = _folders(index)
    candidates = {f"{folder}/{name}" if folder else name for folder in folders for name in CONFIG_NAMES}
    return frozenset(candidates - set(index) - listed)


def _folders(index: Mapping[str, str]) -> set[str]:
    """The root (``""``) and every folder above a tracked path of ``index``."""
    folders = {""}
    for path in index:
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in folders:
                break
            folders.add(path)
    return folders


def _targets(root: Path, index: Mapping[str, str]) -> dict[str, tuple[int, ...]]:
    """The stat data of what each tracked link points to (``os.stat`` follows it), under the link's
    path; a link whose target does not exist, or is no regular file, is left out. A tool reads through a tracked
    ``.coveragerc`` link a file that may be ignored or outside the tree: its blob names the target,
    not its bytes, so the link alone being unchanged vouches for nothing."""
    out: dict[str, tuple[int, ...]] = {}
    base = os.fspath(root)
    for path, entry in index.items():
        if entry.startswith("120000 "):
            try:
                st = os.stat(os.path.join(base, path))
            except (OSError, ValueError):
                continue
            if stat.S_ISREG(st.st_mode):  # a folder's times move with whatever is written in it
                out[path] = _data(st)
    return out


def _stats(root: Path, paths: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """Each file's stat data as a change shows in it (size, modification and change times, inode,
    mode); a file gone since it was listed is left out. Each path is looked up from the root's open
    folder (``dir_fd``) where the platform allows: thousands of files in an unignored ``.venv``
    took a quarter longer with the whole path walked each time (and pathlib longer still). The
    platform's support is asked of ``os.stat``: ``os.supports_dir_fd`` never lists ``os.lstat``,
    which takes ``dir_fd`` wherever ``os.stat`` does (it is ``os.stat`` without following a link)."""
    out: dict[str, tuple[int, ...]] = {}
    base = os.fspath(root)
    folder = _open_folder(base) if os.stat in os.supports_dir_fd else None
    try:
        for path in paths:
            try:
                st = os.lstat(path, dir_fd=folder) if folder is not None else os.lstat(os.path.join(base, path))
            except OSError:
                continue
            out[path] = _data(st)
    finally:
        if folder is not None:
            os.close(folder)
    return out


def _data(st: os.stat_result) -> tuple[int, ...]:
    """A file's stat data as a change shows in it: size, modification and change times, inode, mode."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


def _open_folder(path: str) -> int | None:
    """A descriptor of the folder ``path`` to look files up from (None when it cannot be opened:
    each file's whole path is then looked up, and fails as it would have)."""
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None


def _dirty(root: Path, timeout: float) -> dict[str, str]:
    """The tracked files whose stat data (or presence) differs from the index, git's cheap check,
    each with the mode git sees in the work tree (``core.filemode`` and ``core.symlinks`` honoured;
    ``000000``: gone, or unmerged)."""
    raw = [*_GIT, "diff-files", "-z", "--raw", "--relative", "--ignore-submodules"]
    done = process.run(raw, timeout=timeout, cwd=root, errors="surrogateescape")  # names as _listing has them
    if done.returncode != 0:
        raise ToolError(f"git diff-files failed in {root}: {process.tail(done.stderr)}")
    fields = done.stdout.split("\0")
    out: dict[str, str] = {}
    # ":old new sha sha status" NUL path NUL, and a last empty field after the final NUL
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if path:
            out[path] = meta.split(" ")[1] if meta.startswith(":") and " " in meta else ""
    return out


def _with_modes(shas: Mapping[str, str], modes: Mapping[str, str | None], index: Mapping[str, str]) -> dict[str, str]:
    """``path -> "mode sha"`` of each file hashed (``shas``: its digest now, ``MISSING`` when it is
    gone), its mode as ``git diff-files`` saw it (None, or unmerged: the index's)."""
    out: dict[str, str] = {}
    for path, sha in shas.items():
        mode = modes.get(path) or ""
        if mode.strip("0") == "":  # not stat-dirty now, or an unmerged entry: the index's mode
            mode = (index.get(path) or "").split(" ")[0]
        out[path] = MISSING if sha == MISSING else f"{mode} {sha}"
    return out


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


def _entry(entry: str | None) -> str:
    """The ``"mode sha"`` of an index entry (``"mode sha stage N"`` for an unmerged path)."""
    if entry is None:
        return MISSING
    return " ".join(entry.split(" ")[:2])
