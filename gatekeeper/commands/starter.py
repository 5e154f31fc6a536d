"""The starter policy ``gatekeeper policy init`` writes: the shipped template, the checks whose tools are
installed switched on, the coverage minimum seeded from the project's own coverage.py ``fail_under``,
and the project's own tests folders left out of the security scan."""

from __future__ import annotations

import configparser
import glob
import json
import math
import os
import re
import shlex
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from gatekeeper import tomlio
from gatekeeper.fileio import shipped_dir


def coverage_fail_under(root: Path) -> tuple[float, str] | None:
    """The project's own coverage.py ``fail_under`` and the file that sets it, looked up in the
    files and order coverage.py reads (.coveragerc, setup.cfg, tox.ini, pyproject.toml); None if unset."""
    sources = ((".coveragerc", "report"), ("setup.cfg", "coverage:report"), ("tox.ini", "coverage:report"))
    for name, section in sources:
        path = root / name
        if not path.is_file():
            continue
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(path.read_text(encoding="utf-8"))
            value = parser.get(section, "fail_under", fallback="")
        except (configparser.Error, UnicodeDecodeError, OSError):
            continue
        if value:
            number = _percent(value)
            return (number, name) if number is not None else None
        if name == ".coveragerc":
            return None  # coverage.py reads no other file when .coveragerc exists
    try:
        doc = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError):
        return None
    value = ((doc.get("tool") or {}).get("coverage") or {}).get("report", {}).get("fail_under")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and _percent(str(value)) is not None:
        return float(value), "pyproject.toml"
    return None


def pytest_cov_fail_under(root: Path) -> tuple[float, str] | None:
    """pytest-cov's ``--cov-fail-under`` in the ``addopts`` of the pytest configuration the project's
    tests read, and where, for a project whose coverage.py configuration sets no ``fail_under``: its
    pytest run fails below it (arrow's ``tox.ini`` says 99). None when unset or unreadable."""
    from gatekeeper.checkers.coverage.hints import pytest_addopts

    read = pytest_addopts(root)
    try:
        words = shlex.split(read[0]) if read is not None else []
    except ValueError:
        return None
    last = ""
    for i, word in enumerate(words):  # argparse keeps the last one given
        if word.startswith("--cov-fail-under="):
            last = word.split("=", 1)[1]
        elif word == "--cov-fail-under" and i + 1 < len(words):
            last = words[i + 1]
    number = _percent(last)
    return (number, f"{read[1]}: pytest-cov's --cov-fail-under") if number is not None and read is not None else None


def _percent(value: str) -> float | None:
    """``value`` as a coverage bar the policy takes (a finite number from 0 to 100), else None: pytest-cov
    takes nan or -5 (a bar no total falls below) and refuses 150, and the policy refuses all three."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and 0 <= number <= 100 else None


def starter_policy(
    pyproject: bool = False,
    enable: Collection[str] = (),
    min_total: tuple[float, str] | None = None,
    tests: Sequence[str] = (),
    types_paths: Sequence[str] = (),
) -> str:
    """A commented starter policy, as gatekeeper.toml or as a ``[tool.gatekeeper]`` section.

    The checks named in ``enable`` (those off by default, e.g. ``lint``) are switched on;
    ``min_total`` (value, file) seeds the coverage minimum from the project's own ``fail_under``;
    ``tests`` (the project's tests folders, ``TestsFolders.folders``) replace the template's
    ``"tests"`` in ``checks.security.exclude``; ``types_paths`` (a uv workspace's code, ``types_seed``)
    replace the empty ``checks.types.paths``.
    """
    text = _switch_on((shipped_dir("policies") / "starter.toml.in").read_text(encoding="utf-8"), enable)
    if tests:
        listed = ", ".join(json.dumps(folder) for folder in tests)  # a JSON string is a TOML basic string
        text = text.replace('"build", "dist", "tests"]\n', f'"build", "dist", {listed}]\n', 1)
    if types_paths:
        listed = ", ".join(json.dumps(folder) for folder in types_paths)
        text = text.replace(
            "paths = []                      # empty: the mypy config's `files`, else the project root\n",
            f"paths = [{listed}]  # the project's own code: mypy given the whole root stops\n",
            1,
        )
    if min_total is not None:
        value, where = min_total
        seeded = f"min_total = {value:g}"
        text = text.replace("min_total = 80.0\n", f"{seeded:<30}# the project's coverage fail_under ({where})\n", 1)
    if not pyproject:
        return text
    out = []
    for line in text.splitlines():
        # commented tables too: uncommented, they must still be gatekeeper's
        m = re.match(r"^(\s*(?:#\s*)?)(\[\[?)([^\]]+)(\]\]?)(.*)$", line)
        if m:
            line = f"{m.group(1)}{m.group(2)}tool.gatekeeper.{m.group(3).strip()}{m.group(4)}{m.group(5)}"
        out.append(line)
    body = "\n".join(out)
    # top-level keys (before the first table) must live under [tool.gatekeeper] itself
    return "\n[tool.gatekeeper]\n" + body + "\n"


def types_seed(root: Path) -> list[str]:
    """The folders ``checks.types.paths`` starts with: for a uv workspace root whose mypy configuration
    names no ``files``, the code of the project and of its members (``own_code``), since mypy given the
    whole root also reads every member's tests, docs and build scripts, and stops at the first module
    two of them name alike (two ``conftest.py``) or at a member's package found under two names
    (jaraco.collections with jaraco.text as a member); empty otherwise, as for any other project. Empty
    too when those folders would leave code out: a member in which no package is found, or a module
    beside the packages (``tool.py`` in a root or member folder; not a build or test script), which
    mypy given the whole root checks. For any other project whose mypy configuration names no
    ``files``, the project's code when mypy given the whole root would stop at a module found twice
    (``duplicate_module``) outside it (hatch 1.18.2's two release scripts); empty otherwise."""
    from gatekeeper.checkers.inventory.scope import workspace_folders
    from gatekeeper.checkers.types import find_config, own_code
    from gatekeeper.errors import ToolError

    members = workspace_folders(root)
    try:
        if find_config(root).files:
            return []
    except ToolError:  # a configuration the check refuses: it says so itself
        return []
    own = own_code(root)
    if not members:
        twice = duplicate_module(root)
        # mypy given the whole root stops at the module found twice: the project's code, when that is elsewhere
        if twice and own and not any(f == o or f.startswith(o + "/") for f in twice[1:] for o in own):
            return own
        return []
    here = root.resolve()
    for folder in [here, *sorted(members)]:
        prefix = "" if folder == here else folder.relative_to(here).as_posix() + "/"
        if folder != here and not any(name.startswith(prefix) or prefix.startswith(name + "/") for name in own):
            return []
        if any(f.is_file() and f.name not in _SCRIPTS for f in folder.glob("*.py")):
            return []
    return own


def duplicate_module(root: Path) -> tuple[str, ...]:
    """The first module name mypy given the whole root finds for two files (its name and the two
    files), which stops it with ``Duplicate module named``: a file's module is its name after the
    folders above it holding an ``__init__.py`` (``release/unix/make_scripts_portable.py`` and
    ``release/windows/make_scripts_portable.py`` are both ``make_scripts_portable`` in hatch 1.18.2);
    a module's ``.py`` and ``.pyi`` are one. ``()`` when every name is found once."""
    from gatekeeper.checkers.types import python_files

    seen: dict[str, str] = {}
    for rel in sorted(python_files(root, ["."])):
        parts = rel.split("/")
        stem = parts[-1].rsplit(".", 1)[0]
        names = [] if stem == "__init__" else [stem]
        folder = parts[:-1]
        while folder and (root.joinpath(*folder) / "__init__.py").is_file():
            names.insert(0, folder.pop())
        if not names:
            continue
        module = ".".join(names)
        other = seen.setdefault(module, rel)
        if other.rsplit(".", 1)[0] != rel.rsplit(".", 1)[0]:
            return module, other, rel
    return ()


#: the modules at the top of a project that are build or test scripts, not its code
_SCRIPTS = frozenset({"setup.py", "conftest.py", "noxfile.py", "tasks.py", "fabfile.py", "dodo.py", "manage.py"})


def _switch_on(text: str, enable: Collection[str]) -> str:
    """``enabled = false`` becomes ``enabled = true`` in the ``[checks.NAME]`` sections named in ``enable``."""
    out, section = [], ""
    for line in text.splitlines(keepends=True):
        header = re.match(r"^\[checks\.([A-Za-z0-9_-]+)\]", line)
        if header:
            section = header.group(1)
        elif line.startswith("["):
            section = ""
        if section in enable and re.match(r"^enabled\s*=\s*false\b", line):
            line = line.replace("false", "true", 1)
        out.append(line)
    return "".join(out)


#: folder names that hold tests at the top of a project, and deeper (``testing`` deeper is as often
#: a library's own test helpers, ``numpy.testing``, as tests)
_TOP_TESTS = ("tests", "test", "testing")
_NESTED_TESTS = ("tests", "test")
#: folders never searched for tests: environments, build output, tools' caches
_NOT_SEARCHED = frozenset({"node_modules", "site-packages", "venv", "build", "dist", "__pycache__"})
#: a path component that says "tests" (tests, test, testing, unit_tests, tests-integration, ...)
_TESTISH = re.compile(r"^(?:tests?|testing)$|^tests?[_-]|[_-]tests?$", re.IGNORECASE)
_DEPTH = 4
_GLOB = re.compile(r"[*?[]")


@dataclass(frozen=True)
class TestsFolders:
    """The project's tests folders (relative, posix), where they were learnt (``source``: pytest's
    ``testpaths`` and the file that sets it, or the folders found), and the ``testpaths`` folders
    not taken because nothing in their path says tests (``kept``: they may hold the sources)."""

    folders: tuple[str, ...] = ()
    source: str = ""
    kept: tuple[str, ...] = ()


def tests_folders(root: Path) -> TestsFolders:
    """The folders holding the project's tests: the ``testpaths`` of the pytest configuration pytest
    itself would read (a folder named in it whose path says tests, globs expanded as pytest expands
    them, and the folder of each of its ``python_files`` patterns that names one), the folders named
    ``tests``, ``test`` or ``testing`` at the top of the project (``tests`` and ``test`` deeper, within a
    few levels) that hold Python files, and a top folder whose name says tests (``portalocker_tests``,
    ``unit_tests``) that holds a file pytest collects by default (``test_*.py``, ``*_test.py``)."""
    configured, where = pytest_testpaths(root)
    from_files = _python_files_folders(root)
    folders: list[str] = []
    kept: list[str] = []
    for entry in [*configured, *from_files]:
        for found in sorted(glob.glob(entry, root_dir=root, recursive=True)) if _GLOB.search(entry) else [entry]:
            rel = _inside(root, found)
            if rel is None or not (root / rel).is_dir():
                continue
            (folders if any(_TESTISH.search(part) for part in rel.split("/")) else kept).append(rel)
    named = _named_folders(root, _collected_names(root))
    said = " and ".join(k for k, v in (("testpaths", configured), ("python_files", from_files)) if v)
    sources = [f"pytest's {said} ({where or _pytest_file(root)})"] if folders else []
    if [f for f in named if f not in folders]:
        sources.append("the folders found")
    unique = tuple(dict.fromkeys([*folders, *named]))
    return TestsFolders(unique, " and ".join(sources), tuple(dict.fromkeys(kept)))


def pytest_testpaths(root: Path) -> tuple[list[str], str]:
    """pytest's ``testpaths`` and the file it is read from, from the first configuration file pytest
    would take in ``root`` (pytest.toml, .pytest.toml, pytest.ini, .pytest.ini, then pyproject.toml,
    tox.ini and setup.cfg when they hold a pytest section); ``([], "")`` when none sets it."""
    for name in ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"):
        path = root / name
        if not path.is_file():
            continue
        found, value = _pytest_section(path)
        if found:
            return _paths(value), name
    return [], ""


def _python_files_folders(root: Path) -> list[str]:
    """The folders pytest's ``python_files`` names (``portalocker_tests/*.py``: a pattern with a
    ``/`` is matched against the file's path), each up to its first glob character, from the
    configuration file pytest would take; none when it sets no such pattern."""
    name = _pytest_file(root)
    if not name:
        return []
    _, value = _pytest_section(root / name, "python_files")
    out = []
    for pattern in _paths(value):
        folder = pattern.rsplit("/", 1)[0] if "/" in pattern else ""
        folder = "/".join(part for part in folder.split("/") if part and not _GLOB.search(part) and part != ".")
        if folder and not _GLOB.search(pattern.split("/")[0]):
            out.append(folder)
    return out


def _pytest_file(root: Path) -> str:
    """The configuration file pytest would take in ``root`` (``pytest_testpaths``'s order), or ""."""
    for name in ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"):
        if (root / name).is_file() and _pytest_section(root / name)[0]:
            return name
    return ""


def _pytest_section(path: Path, key: str = "testpaths") -> tuple[bool, object]:
    """Whether pytest takes its configuration from ``path``, and the ``key`` value there."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False, None
    if path.suffix == ".toml":
        try:
            doc = tomlio.loads(text)
        except tomlio.TOMLDecodeError:
            return False, None
        if path.name != "pyproject.toml":  # pytest.toml: the [pytest] table, and the file counts even when empty
            table = doc.get("pytest")
            return True, table.get(key) if isinstance(table, dict) else None
        tool = (doc.get("tool") or {}).get("pytest")
        if not isinstance(tool, dict):
            return False, None
        table = tool.get("ini_options") if "ini_options" in tool else tool
        return True, table.get(key) if isinstance(table, dict) else None
    parser = configparser.ConfigParser(interpolation=None, strict=False)  # as lenient as pytest's iniconfig
    try:
        parser.read_string(text)
    except configparser.Error:
        return path.name in ("pytest.ini", ".pytest.ini"), None
    section = {"setup.cfg": "tool:pytest"}.get(path.name, "pytest")
    if not parser.has_section(section):
        return path.name in ("pytest.ini", ".pytest.ini"), None  # pytest.ini counts even without [pytest]
    return True, parser.get(section, key, fallback=None)


def _paths(value: object) -> list[str]:
    """A ``testpaths`` value as pytest reads it: a list, or a string split like a command line."""
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str) and v.strip()]
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    return []


def _inside(root: Path, entry: str) -> str | None:
    """``entry`` (relative to ``root``) as a posix path inside it, None when it is the root or leaves it."""
    full = os.path.normpath(os.path.join(root, entry))
    rel = os.path.relpath(full, root)
    if rel == "." or rel.startswith(".."):
        return None
    return Path(rel).as_posix()


def _collected_names(root: Path) -> tuple[str, ...]:
    """The file name patterns pytest collects: those of the ``python_files`` the configuration pytest
    would take sets (the ones without a folder: mock 5.2.0's ``test*.py`` takes ``testmock.py``), else
    pytest's default ``test_*.py`` and ``*_test.py``."""
    name = _pytest_file(root)
    value = _pytest_section(root / name, "python_files")[1] if name else None
    names = tuple(p for p in _paths(value) if "/" not in p)
    return names or ("test_*.py", "*_test.py")


def _named_folders(root: Path, collected: tuple[str, ...] = ("test_*.py", "*_test.py")) -> list[str]:
    """The folders named like tests (``_TOP_TESTS`` at the top, ``_NESTED_TESTS`` below, at most
    ``_DEPTH`` levels down) that hold a Python file (below the top: a file pytest collects, its name
    matching one of ``collected``, or a ``conftest.py``); hidden folders, environments and build output
    are not searched, nor is a tests folder's inside."""
    out: list[str] = []
    for here, dirs, _ in os.walk(root):
        rel = Path(os.path.relpath(here, root))
        depth = 0 if str(rel) == "." else len(rel.parts)
        names = _TOP_TESTS if depth == 0 else _NESTED_TESTS
        keep = []
        for name in sorted(dirs):
            if name.startswith(".") or name in _NOT_SEARCHED or (Path(here) / name / "pyvenv.cfg").exists():
                continue
            folder = Path(here) / name
            # below the top, a folder named test or tests is a package's tests when it holds a file pytest
            # collects (or a conftest.py): hatch's src/hatch/cli/test is the code of its `hatch test` command
            tests_below = depth > 0 and (_holds_tests(folder, collected) or any(True for _ in folder.rglob("conftest.py")))
            testish_top = depth == 0 and bool(_TESTISH.search(name)) and _holds_tests(folder, collected)
            if ((name in names and (depth == 0 or tests_below)) or testish_top) and _holds_python(folder):
                out.append((rel / name).as_posix() if depth else name)
            elif depth + 1 < _DEPTH:
                keep.append(name)
        dirs[:] = keep
    return out


def _holds_tests(folder: Path, collected: tuple[str, ...]) -> bool:
    """Whether ``folder`` holds a file pytest collects (its name matching one of ``collected``), at any depth."""
    return any(any(True for _ in folder.rglob(pattern)) for pattern in collected)


def _holds_python(folder: Path) -> bool:
    """Whether ``folder`` holds a ``.py`` file, at any depth."""
    return any(True for _ in folder.rglob("*.py"))
