"""mypy's incremental cache, authenticated as a whole before mypy may read it.

mypy trusts its cache: a meta file whose digests match the sources makes mypy reuse the stored
result (an edited one turns a type error into a pass). So the cache is never in the checkout and
never read unverified:

- it lives under gatekeeper's cache folder (``<cache>/types/mypy-<tag>``); when that folder lies
  inside the project (``cache.dir`` pointing into the tree), mypy gets a throwaway folder instead
  and the check says the cache was not kept;
- after every run the folder's manifest (every file's path and sha256) is stored as an
  authenticated cache entry (``gatekeeper.checkers.cache``: HMAC under the job's secret);
- before the next run the folder must match that manifest exactly; a folder that does not (a
  file edited, added or removed, or no manifest at all) is emptied and mypy starts cold.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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


def manifest(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (a link counts as a mismatch)."""
    out: dict[str, str] = {}
    for base, dirs, names in os.walk(folder):
        for name in [*names, *(d for d in dirs if os.path.islink(os.path.join(base, d)))]:
            path = Path(base, name)
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink() or not path.is_file():
                out[rel] = "(not a regular file)"
                continue
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            out[rel] = h.hexdigest()
    return out


def _key(tag: str) -> str:
    return cache.cache_key("mypy-cache-manifest", MANIFEST_VERSION, tag)


def verify(cache_dir: Path, folder: Path, tag: str) -> str:
    """Make ``folder`` safe for mypy to read: kept when it matches its authenticated manifest, else
    emptied. Returns ``warm``, ``cold`` (nothing stored yet) or ``rejected`` (emptied)."""
    if not folder.exists():
        return "cold"
    stored, bad = cache.read(cache_dir / "types", _key(tag))
    if not bad and isinstance(stored, dict) and stored == manifest(folder):
        return "warm"
    shutil.rmtree(folder, ignore_errors=True)
    return "rejected"


def seal(cache_dir: Path, folder: Path, tag: str) -> None:
    """Store the authenticated manifest of ``folder`` as mypy left it."""
    if folder.is_dir():
        cache.write(cache_dir / "types", _key(tag), manifest(folder))
