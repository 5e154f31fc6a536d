"""bandit's discovery answer (``probe``), cached: a run whose every file's scan is cached then
starts no bandit at all.

Discovery is bandit's own command-line code walking the targets; its answer depends on the
request (targets, exclusions, skips, tests, config file, project_config), on the names under the
targets (bandit's ``os.walk``, links not followed; ``.bandit`` files among them), on which of the
policy's excluded paths exist and which of the ``-x`` paths are folders (bandit turns a folder
``p`` into ``p/*``; checked when an entry is read), on the bytes of the config file,
``pyproject.toml`` and every ``.bandit`` file, and on the bandit and Python that answer. The key
holds the rest: the tool's located origin (``ToolOrigin``: vetted not to come from the checkout
before the cache is read), its distribution's version, the identity (``cache.file_stamp``) of
bandit's package file and of the interpreter, and gatekeeper's probe and worker sources. Walking costs what bandit's own
walk costs, without importing bandit (~0.1 s of CPU). An entry that fails the cache's checks is
not used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekeeper.checkers import cache
from gatekeeper.toolorigin import ToolOrigin

_HERE = Path(__file__).parent
#: bump to drop every cached discovery answer
PLAN_VERSION = 1


def plan_key(root: Path, request: Mapping[str, Any], tool: ToolOrigin) -> str:
    """The cache key of bandit's discovery answer to ``request`` in ``root`` (see the module's docstring)."""
    targets = [str(t) for t in request.get("targets") or ["."]]
    tree: list[Any] = [_walk(root / t) for t in targets]
    found = [
        f"{t}/{name}"
        for t, listing in zip(targets, tree, strict=True)
        for name in listing[1:]
        if name.rsplit("/", 1)[-1] == ".bandit"
    ]
    named = [_configfile(root / name) for name in found]  # the config file a .bandit names, which bandit loads
    names = [str(request.get("config") or ""), "pyproject.toml", *found, *named]
    contents = {name: _digest(root / name) for name in names if name}
    excluded = {}
    for entry in request.get("exclude") or []:
        bare = str(entry).strip().rstrip("/")
        bare = bare[2:] if bare.startswith("./") else bare
        excluded[str(entry)] = os.path.exists(root / bare) if bare else False
    stamps = [cache.file_stamp(tool.path), cache.file_stamp(Path(tool.python).resolve())]
    sources = [(_HERE / name).read_text(encoding="utf-8") for name in ("probe.py", "worker.py")]
    return cache.cache_key(
        "bandit-plan", PLAN_VERSION, dict(request), tool.version, tool.describe(), stamps, sources, tree, contents, excluded
    )


def read_answer(folder: Path | None, key: str, root: Path) -> dict[str, Any] | None:
    """The cached answer under ``key`` (an ``"ok"`` one only), or None; also None when one of its
    ``-x`` paths is a folder now and was not then, or the other way round (``with_dirs``)."""
    payload, _ = cache.read(folder, key)
    if not isinstance(payload, dict) or payload.get("ok") is not True:
        return None
    try:
        return payload if payload.get("dirs") == _dirs(root, payload["args"]) else None
    except (TypeError, KeyError):
        return None


def with_dirs(answer: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """``answer`` to be cached, with which of its ``-x`` paths are folders: bandit's discovery turns an
    excluded folder ``p`` into the glob ``p/*``, so that state is part of what it answered."""
    return {**answer, "dirs": _dirs(root, answer["args"])}


def _dirs(root: Path, args: Any) -> dict[str, bool]:
    args = [str(a) for a in args]
    out: dict[str, bool] = {}
    for n, arg in enumerate(args[:-1]):
        if arg == "-x":
            out.update({p: os.path.isdir(root / p) for p in args[n + 1].split(",") if p})
    return out


def _walk(target: Path) -> list[Any]:
    """What bandit's discovery sees of ``target``: what it is, and for a folder every name under it,
    as ``os.walk`` (links not followed) lists them; folders end in ``/``."""
    if not target.is_dir():
        return [("file" if target.exists() else "missing", str(target))]
    names: list[str] = []
    for top, dirs, files in os.walk(target):
        rel = os.path.relpath(top, target)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        names.extend(prefix + d + "/" for d in dirs)
        names.extend(prefix + f for f in files)
    return [("dir", str(target)), *sorted(names)]


def _configfile(ini: Path) -> str:
    """The ``configfile`` a ``.bandit`` file names (relative to the root, as bandit reads it), or ""."""
    import configparser

    parser = configparser.ConfigParser()
    try:
        parser.read_string(ini.read_text(encoding="utf-8"))
        return str(parser.get("bandit", "configfile", fallback="") or "")
    except (OSError, UnicodeDecodeError, configparser.Error):
        return ""  # bandit's own reading of it decides, and the file's bytes are in the key


def _digest(path: Path) -> str:
    return cache.file_digest(path) if path.is_file() else "(none)"
