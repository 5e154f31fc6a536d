"""mypy's incremental cache, authenticated as a whole before mypy may read it.

mypy trusts its cache: a meta file whose digests match the sources makes mypy reuse the stored
result (an edited one turns a type error into a pass). So the cache is never in the checkout and
never read unverified:

- it lives under gatekeeper's cache folder (``<cache>/types/mypy-<tag>``); when that folder lies
  inside the project (``cache.dir`` pointing into the tree), mypy gets a throwaway folder instead
  and the check says the cache was not kept;
- after every run the folder's manifest (every file's path and sha256) is stored as an
  authenticated cache entry (``gatekeeper.checkers.cache``: HMAC under the job's secret); a file
  mypy left untouched since the verification before the run keeps the digest read then;
- before the next run the folder must match that manifest exactly; a folder that does not (a
  file edited, added or removed, or no manifest at all) is emptied and mypy starts cold.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

from gatekeeper.checkers import cache
from gatekeeper.fileio import relative_to_root

#: the cache entry format; a change invalidates every stored manifest
MANIFEST_VERSION = 1


def folder_for(cache_dir: Path | None, root: Path, tag: str) -> tuple[Path | None, str]:
    """The folder mypy keeps its cache in for ``tag``, or None (a throwaway one), and why not kept."""
    if cache_dir is None:
        return None, "not kept: the cache is off"
    if relative_to_root(cache_dir, root) is not None:
        return None, "not kept: cache.dir lies inside the project, where the checkout could supply it"
    return cache_dir / "types" / f"mypy-{tag}", ""


#: files as a walk of the folder hashed them: relative path -> (stat data, sha256)
Hashed = dict[str, tuple[tuple[int, ...], str]]


def manifest(folder: Path, known: Hashed | None = None, seen: Hashed | None = None) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (a link counts as a mismatch).

    ``known``: files hashed before; one whose stat data (size, modification and change times,
    inode, device) is what it was then keeps its digest without being read again. ``seen``, when
    given, gets what this walk found, for a later call's ``known``.
    """
    out: dict[str, str] = {}
    for base, dirs, names in os.walk(folder):
        for name in [*names, *(d for d in dirs if os.path.islink(os.path.join(base, d)))]:
            path = Path(base, name)
            rel = path.relative_to(folder).as_posix()
            try:
                st = path.lstat()
            except OSError:
                st = None
            if st is None or not stat.S_ISREG(st.st_mode):
                out[rel] = "(not a regular file)"
                continue
            stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
            before = known.get(rel) if known is not None else None
            if before is not None and before[0] == stamp:
                out[rel] = before[1]
            else:
                h = hashlib.sha256()
                with open(path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        h.update(chunk)
                out[rel] = h.hexdigest()
            if seen is not None:
                seen[rel] = (stamp, out[rel])
    return out


def _key(tag: str) -> str:
    return cache.cache_key("mypy-cache-manifest", MANIFEST_VERSION, tag)


def verify(cache_dir: Path, folder: Path, tag: str, seen: Hashed | None = None) -> str:
    """Make ``folder`` safe for mypy to read: kept when it matches its authenticated manifest, else
    emptied. Returns ``warm``, ``cold`` (nothing stored yet, or no manifest: a folder no run sealed,
    as a run whose checkout changed leaves it once its cache entries are taken back) or ``rejected``
    (a manifest the folder does not match, or one that fails authentication: emptied). Every file
    is read and hashed here, whatever ``seen`` held; ``seen`` gets the kept folder's files as hashed
    (for ``seal``)."""
    if not folder.exists():
        return "cold"
    stored, bad = cache.read(cache_dir / "types", _key(tag))
    if stored is None and not bad:  # nothing vouches for it, and nothing was rejected
        shutil.rmtree(folder, ignore_errors=True)
        return "cold"
    hashed: Hashed = {}
    if not bad and isinstance(stored, dict) and stored == manifest(folder, seen=hashed):
        if seen is not None:
            seen.update(hashed)
        return "warm"
    shutil.rmtree(folder, ignore_errors=True)
    return "rejected"


def seal(cache_dir: Path, folder: Path, tag: str, known: Hashed | None = None) -> None:
    """Store the authenticated manifest of ``folder`` as mypy left it. ``known``: the files as
    ``verify`` hashed them before mypy ran; those mypy left untouched (the same stat data, the
    change time included, which every write moves on) are not read again. A file rewritten
    without its stat data changing would be sealed with its old digest, which the next
    ``verify`` (reading every file) finds wrong: the folder is then emptied, never trusted."""
    if folder.is_dir():
        cache.write(cache_dir / "types", _key(tag), manifest(folder, known))
