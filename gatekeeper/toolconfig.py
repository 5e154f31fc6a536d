"""The configuration files a project points its tools to, found as the tool finds them and each
kept inside the project root.

A project's configuration is data from the checkout: it may only lead a tool to files of the
checkout. For ruff that means every file of an ``extend`` chain: each is resolved as ruff resolves
it (a relative path from the folder of the file that names it; ``~`` and ``$VAR``, which ruff
expands, are refused since they lead wherever the job's environment says) and must lie inside the
root, links followed. A file that cannot be read or parsed is reported by name and position only,
never with its contents. Every problem is a ``ToolError``: the check that needed the file is an
error, never a pass on a configuration nobody checked.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from gatekeeper import tomlio
from gatekeeper.errors import ToolError
from gatekeeper.fileio import relative_to_root

#: ruff's configuration files in the order ruff picks one in a folder (a pyproject.toml only with
#: a [tool.ruff] table): https://docs.astral.sh/ruff/configuration/#config-file-discovery
RUFF_CONFIG_NAMES = (".ruff.toml", "ruff.toml", "pyproject.toml")
#: how long an ``extend`` chain may be before it is taken for a loop
MAX_CHAIN = 32


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ConfigFile:
    """One file of a tool's configuration: where it is, the tool's options in it, what it extends."""

    path: str  # posix, relative to the root
    options: Mapping[str, Any]  # the tool's table: a ruff.toml whole, [tool.ruff] of a pyproject.toml
    extend: str = ""  # the ``extend`` value as written ("" when the file extends nothing)


def read_toml(root: Path, path: str, tool: str) -> dict[str, Any]:
    """The TOML document at ``path`` (relative to ``root``), which must lie inside it; ``ToolError``
    naming the file (never quoting it) when it lies outside, cannot be read or is not TOML."""
    where = _inside(root, path, f"{tool} configuration {path}")
    try:
        text = where.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ToolError(f"{tool} configuration {path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise ToolError(f"{tool} configuration {path} is not UTF-8 text") from None
    try:
        return copy.deepcopy(_parsed(text))  # a copy of its own for each caller
    except tomlio.TOMLDecodeError as exc:
        # tomllib's message is the problem and its position ("Invalid value (at line 3, column 9)"), no content
        raise ToolError(f"{tool} configuration {path} is not valid TOML: {exc}") from None


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> dict[str, Any]:
    """``text`` read as TOML, once per text: a check reads ruff's configuration files several times
    (each ``extend`` chain for the configuration, the listing, the early run, the narrowing), each time
    from their bytes, and parsing click's pyproject.toml is 2.7 ms, copying the result 0.9 ms."""
    return tomlio.loads(text)


def ruff_options(root: Path, path: str) -> dict[str, Any] | None:
    """ruff's options in ``path``: the whole file, or ``[tool.ruff]`` of a pyproject.toml (None when it has none)."""
    data = read_toml(root, path, "ruff")
    if PurePosixPath(path).name != "pyproject.toml":
        return data
    tool = data.get("tool")
    ruff = tool.get("ruff") if isinstance(tool, dict) else None
    return ruff if isinstance(ruff, dict) else None


def ruff_config(root: Path, folder: str = ".") -> str:
    """The configuration file ruff uses in ``folder`` (relative to ``root``), or "" when it has none.

    ruff's order: ``.ruff.toml``, ``ruff.toml``, then ``pyproject.toml`` when it has ``[tool.ruff]``.
    """
    for name in RUFF_CONFIG_NAMES:
        rel = (PurePosixPath(folder) / name).as_posix()
        if not (root / rel).is_file():
            continue
        if name != "pyproject.toml" or ruff_options(root, rel) is not None:
            return rel
    return ""


def ruff_config_outside(root: Path) -> str:
    """The configuration file ruff reads, from outside the project, for a file of ``root`` that no
    folder up to the root configures (absolute path), or "": the closest in a folder above the root,
    else the user's (``$XDG_CONFIG_HOME/ruff``, else ``~/.config/ruff``), each folder in ruff's order
    (a ``pyproject.toml`` counts with ``[tool.ruff]``, or when it cannot be read: ruff would fail on it)."""
    start = root.absolute()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    for folder in (*start.parents, Path(base) / "ruff"):
        for name in RUFF_CONFIG_NAMES:
            path = folder / name
            if path.is_file() and (name != "pyproject.toml" or _has_tool_ruff(path)):
                return str(path)
    return ""


def _has_tool_ruff(path: Path) -> bool:
    try:
        data = tomlio.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError):
        return True
    tool = data.get("tool")
    return isinstance(tool, dict) and "ruff" in tool


def ruff_chain(root: Path, path: str) -> tuple[ConfigFile, ...]:
    """``path`` and every file its ``extend`` chain reaches, in order (each extends the next; the
    first one's settings win). ``ToolError`` when a file lies outside the root, cannot be read, or
    the chain loops."""
    chain: list[ConfigFile] = []
    seen: set[str] = set()
    current = path
    while current:
        if current in seen or len(chain) >= MAX_CHAIN:
            names = " -> ".join([c.path for c in chain] + [current])
            raise ToolError(f"ruff configuration extends in a circle: {names}")
        seen.add(current)
        options = ruff_options(root, current)
        if options is None:  # an extended pyproject.toml without [tool.ruff]: ruff reads no options from it
            options = {}
        extend = options.get("extend")
        if extend is not None and not isinstance(extend, str):
            raise ToolError(f"ruff configuration {current}: extend must be a path")
        chain.append(ConfigFile(current, MappingProxyType(dict(options)), extend or ""))
        current = _extended(root, current, extend) if extend else ""
    return tuple(chain)


def ruff_configs(root: Path, files: Iterable[str]) -> tuple[str, ...]:
    """The configuration file of every folder among ``files`` (relative paths) that has one, by ruff's
    order: the root's first, then the nested ones (each ruff applies to its own folder)."""
    folders = {str(PurePosixPath(f).parent) for f in files if PurePosixPath(f).name in RUFF_CONFIG_NAMES}
    found = []
    for folder in sorted(folders | {"."}, key=lambda f: (f != ".", f)):
        config = ruff_config(root, folder)
        if config:
            found.append(config)
    return tuple(found)


def ruff_files(root: Path, files: Iterable[str]) -> tuple[str, ...]:
    """Every file that decides ruff's settings in the project: each folder's configuration and its
    whole ``extend`` chain, and each ``pyproject.toml`` beside a ruff.toml or in a folder above it
    (ruff takes the target Python version from the ``requires-python`` of the closest one, with or
    without a ``[tool.ruff]`` section). Each checked to lie inside the root."""
    out: dict[str, None] = {}
    for config in ruff_configs(root, files):
        for item in ruff_chain(root, config):
            out[item.path] = None
            folder = PurePosixPath(item.path).parent
            for above in (folder, *folder.parents):
                beside = (above / "pyproject.toml").as_posix()
                if beside != item.path and (root / beside).is_file():
                    _inside(root, beside, f"ruff configuration {beside}")
                    out[beside] = None
    return tuple(out)


def digest(root: Path, paths: Iterable[str]) -> str:
    """sha256 over the names and bytes of ``paths`` (relative to ``root``): the part of a cache key
    that changes when any file of a configuration changes."""
    h = hashlib.sha256()
    for path in paths:
        try:
            data = (root / path).read_bytes()
        except OSError:
            data = b"\0(unreadable)"
        h.update(f"{path}\0{len(data)}\0".encode("utf-8", "surrogateescape"))
        h.update(data)
    return h.hexdigest()


def _extended(root: Path, config: str, extend: str) -> str:
    """The file ``extend`` (written in ``config``) names, relative to the root; ``ToolError`` when
    it leads outside."""
    if extend.startswith("~") or "$" in extend:
        raise ToolError(
            f"ruff configuration {config}: extend = {extend!r} uses ~ or $ expansion, which leads wherever the "
            "environment says; name a file of the project by a relative path"
        )
    base = (root / config).parent
    target = Path(os.path.normpath(base / extend))  # ruff joins and normalises lexically, then opens
    try:
        rel = target.relative_to(Path(os.path.normpath(root)))
    except ValueError:
        raise ToolError(
            f"ruff configuration {config}: extend = {extend!r} lies outside the project; "
            "a configuration file a tool reads must be inside the root"
        ) from None
    return _relative(root, rel.as_posix(), f"ruff configuration {config}: extend = {extend!r}")


def _inside(root: Path, path: str, what: str) -> Path:
    """``root / path`` when it lies inside the root with links followed; ``ToolError`` otherwise."""
    _relative(root, path, what)
    return root / path


def _relative(root: Path, path: str, what: str) -> str:
    if relative_to_root(root / path, root) is None:
        raise ToolError(
            f"{what} leads outside the project (through a link); a configuration file a tool reads must be inside the root"
        )
    if not (root / path).is_file():
        raise ToolError(f"{what}: no such file in the project")
    return path


#: the Python versions ruff (0.17) knows as targets, by minor: a lower bound outside them names none
RUFF_TARGET_MINORS = range(7, 16)
#: the ``requires-python`` operators whose version ruff reads as a lower bound
_LOWER_BOUNDS = frozenset({"==", "===", "~=", ">", ">="})


def ruff_target_version(root: Path) -> str | None:
    """The ``--target-version`` ruff infers from the root's ``pyproject.toml`` when no ruff
    configuration exists, as ruff infers it: the lowest major.minor among the ``requires-python``
    specifiers that bound it from below (``==``, ``~=``, ``>``, ``>=``; a patch level and an upper
    bound are disregarded, a version without a minor is skipped), when ruff knows that version as
    a target; None otherwise (``>=3.5``, ``>=3``: ruff then uses its default). ``--isolated`` skips
    that inference, so gatekeeper passes the value itself and its findings equal ``ruff check`` in
    the project."""
    try:
        table = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project")
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError):
        return None
    requires = table.get("requires-python") if isinstance(table, dict) else None
    if not isinstance(requires, str):
        return None
    # imported only now: about 5 ms, before ruff can start, that a project without requires-python need not pay
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier:
        return None
    bounds = []
    for specifier in spec:
        if specifier.operator not in _LOWER_BOUNDS:
            continue
        try:
            release = Version(specifier.version.removesuffix(".*")).release
        except InvalidVersion:
            continue
        if len(release) >= 2:
            bounds.append(release[:2])
    if not bounds:
        return None
    major, minor = min(bounds)
    return f"py3{minor}" if major == 3 and minor in RUFF_TARGET_MINORS else None
