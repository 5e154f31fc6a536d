"""What the project's own files declare: its name, its ``[project] dependencies`` and the lines
that declare them, whether they are dynamic, and the file a package finding points at."""

from __future__ import annotations

import configparser
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from gatekeeper import tomlio
from gatekeeper.errors import ToolError

if TYPE_CHECKING:  # packaging's requirement grammar (about 10 ms) loads where one is read
    from packaging.requirements import Requirement


def project_requirements(root: Path, setting: str = "") -> tuple[str, list[str]]:
    """The project's name and ``[project] dependencies`` from pyproject.toml; ``setting``: the
    ``source = "pyproject.toml"`` setting reading them, named when the file does not exist (else the scope)."""
    path = root / "pyproject.toml"
    if not path.is_file() and setting:
        raise ToolError(
            f'{setting} needs {path}, which does not exist (set it to "environment", a requirements file or a lock file)'
        )
    if not path.is_file():
        raise ToolError(f'scope = "project" needs {path}, which does not exist (or use scope = "all")')
    try:
        doc = tomlio.loads(path.read_text(encoding="utf-8"))
    except (tomlio.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ToolError(f"cannot read {path}: {exc}") from exc
    project = doc.get("project") or {}
    deps = project.get("dependencies") or []
    if not isinstance(deps, list):
        raise ToolError(f"{path}: [project] dependencies must be a list")
    return str(project.get("name") or ""), [str(d) for d in deps]


def setup_cfg_requirements(root: Path) -> list[str]:
    """setup.cfg's ``[options] install_requires``, one requirement a line (comments and blank lines
    left out), or those of the files a ``file:`` directive names, as setuptools reads them; [] when the
    file, the option or a readable list is not there."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string((root / "setup.cfg").read_text(encoding="utf-8"))
        value = parser.get("options", "install_requires", fallback="")
    except (configparser.Error, UnicodeDecodeError, OSError):
        return []
    lines = [line.split(" #", 1)[0].strip() for line in value.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if lines and lines[0].startswith("file:"):  # setuptools' directive: the files hold them
        files = [f.strip() for f in " ".join(lines)[len("file:") :].split(",") if f.strip()]
        return requirement_files(root, files, "setup.cfg's [options] install_requires")
    return lines


def declared_lines(pyproject: Path) -> dict[str, int]:
    """Canonical name -> the line of pyproject.toml that declares it in ``[project] dependencies``
    (the first, when it is declared twice); {} when the file is missing or unreadable."""
    if not pyproject.is_file():
        return {}
    try:
        _, deps = project_requirements(pyproject.parent)
        lines = pyproject.read_text(encoding="utf-8").splitlines()
    except (ToolError, OSError, UnicodeDecodeError):
        return {}
    start = _dependencies_line(lines)
    out: dict[str, int] = {}
    for text in deps:
        req = parse_requirement(text)
        if req is None:
            continue
        for i in range(start, len(lines)):
            if f'"{text}"' in lines[i] or f"'{text}'" in lines[i]:
                out.setdefault(canonicalize_name(req.name), i + 1)
                break
    return out


def _dependencies_line(lines: Sequence[str]) -> int:
    """The index of the ``dependencies = [`` line in the ``[project]`` table (0 when not found)."""
    table = ""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            table = stripped.split("#", 1)[0].strip().strip("[] ")
        elif table == "project" and re.match(r"dependencies\s*=", stripped):
            return i
    return 0


def dynamic_file_requirements(root: Path) -> list[str] | None:
    """The requirements of a project whose ``[project] dependencies`` are dynamic, read from the files
    ``[tool.setuptools.dynamic] dependencies = { file = [...] }`` names, as setuptools reads them (one
    a line; comments, blank lines and pip's option lines left out); None when nothing names such a
    file (another backend, or a hook, computes them: only running it would tell). ``ToolError`` for a
    named file that is missing, outside the root or unreadable."""
    try:
        doc = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (tomlio.TOMLDecodeError, UnicodeDecodeError, OSError):
        return None
    tool = doc.get("tool")
    setuptools = tool.get("setuptools") if isinstance(tool, dict) else None
    dynamic = setuptools.get("dynamic") if isinstance(setuptools, dict) else None
    entry = dynamic.get("dependencies") if isinstance(dynamic, dict) else None
    files = entry.get("file") if isinstance(entry, dict) else None
    files = [files] if isinstance(files, str) else files
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        return None
    return requirement_files(root, files, "pyproject.toml's [tool.setuptools.dynamic] dependencies")


def requirement_files(root: Path, files: Sequence[str], named_by: str) -> list[str]:
    """The requirements the files ``files`` (relative to ``root``) list, one a line as setuptools reads
    them (comments, blank lines and pip's option lines left out). ``ToolError`` naming ``named_by``
    for a file that is missing, outside the root or unreadable."""
    out: list[str] = []
    base = root.resolve()
    for name in files:
        path = (root / name).resolve()
        where = f"{named_by} names {name!r}"
        if base != path and base not in path.parents:
            raise ToolError(f"{where}, which lies outside the project")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ToolError(f"{where}, which cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith(("#", "-")):
                out.append(line)
    return out


def parse_requirement(text: str) -> Requirement | None:
    """The requirement (PEP 508) ``text`` states, or None when it is not one."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def declared_name(root: Path) -> str:
    """The project's name (PEP 503) as its files declare it: pyproject.toml's ``[project] name``,
    else setup.cfg's ``[metadata] name``; "" when neither says (e.g. a name set only in setup.py)."""
    path = root / "pyproject.toml"
    if path.is_file():
        try:
            doc = tomlio.loads(path.read_text(encoding="utf-8"))
        except (tomlio.TOMLDecodeError, UnicodeDecodeError, OSError):
            doc = {}
        project = doc.get("project")
        if isinstance(project, dict) and isinstance(project.get("name"), str) and project["name"]:
            return canonicalize_name(project["name"])
    cfg = root / "setup.cfg"
    if cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(cfg.read_text(encoding="utf-8"))
            name = parser.get("metadata", "name", fallback="").strip()
        except (configparser.Error, UnicodeDecodeError, OSError):
            name = ""
        if name and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            return canonicalize_name(name)
    return ""


def project_manifest(root: Path) -> str:
    """The project file a package finding without a place of its own points at: the one that
    declares the project (pyproject.toml with a ``[project]`` table, setup.cfg with ``[metadata]``
    or ``[options]``, else setup.py), else the first of them that exists; "" when there is none.
    A setup.py project's pyproject.toml that holds only ``[build-system]`` and tool settings, or
    its setup.cfg of ``[bdist_wheel]`` and ``[flake8]``, declares no dependency."""
    present = [name for name in ("pyproject.toml", "setup.cfg", "setup.py") if (root / name).is_file()]
    for name in present:
        if name == "setup.py" or _declares_project(root / name):
            return name
    return present[0] if present else ""


def _declares_project(path: Path) -> bool:
    """Whether pyproject.toml has a ``[project]`` table, or setup.cfg a ``[metadata]`` or ``[options]`` section
    (a file that cannot be read is taken to declare it, as before: it is the file to look at)."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.name == "pyproject.toml":
            return isinstance(tomlio.loads(text).get("project"), dict)
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
    except (tomlio.TOMLDecodeError, configparser.Error, UnicodeDecodeError, OSError):
        return True
    return parser.has_section("metadata") or parser.has_section("options")


def dynamic_dependencies(root: Path) -> bool:
    """Whether pyproject.toml's ``[project]`` lists ``dependencies`` in ``dynamic``: the build
    backend computes them, so the table does not hold them (False when the file cannot be read)."""
    try:
        doc = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (tomlio.TOMLDecodeError, UnicodeDecodeError, OSError):
        return False
    project = doc.get("project")
    dynamic = project.get("dynamic") if isinstance(project, dict) else None
    return isinstance(dynamic, list) and "dependencies" in dynamic


def has_pep621(root: Path) -> bool:
    """Whether pyproject.toml has a PEP 621 ``[project]`` table."""
    try:
        doc = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (tomlio.TOMLDecodeError, UnicodeDecodeError, OSError):
        return True  # let project_requirements report the unreadable file
    return isinstance(doc.get("project"), dict)
