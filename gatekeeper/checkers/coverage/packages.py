"""Where the packages coverage.py's ``[run] source`` / ``source_pkgs`` name live, found without importing them.

coverage.py measures a file under a package named there when the tests import it under that name;
it finds the package as ``importlib.util.find_spec`` does in the process it runs in (the project's
environment, with the project's folder first on ``sys.path``, as ``coverage run`` puts it). The
script below asks the project's interpreter the same question, isolated (``-I``) and from a folder
outside the checkout, with the root put first on ``sys.path``, and without importing anything of
the project: a top-level name goes to ``find_spec`` (which consults the environment's finders,
editable installs included, and imports nothing), each further part of a dotted name to
``PathFinder`` over its parent's folders (``find_spec`` would import the parent package).

With ``checks.coverage.run``, when the configuration looks as if it names a package
(``may_name_packages``), that interpreter starts with the tests (``Locator``), as the test process
did, and is asked once the analysis has announced the packages: only the lookup is left then.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from gatekeeper import process
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import ToolError

_SCRIPT = r"""
import importlib.machinery, importlib.util, json, os, sys

request = json.loads(sys.stdin.read())
sys.path.insert(0, request["root"])
out = {}
for name in request["names"]:
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
        for n in range(1, len(parts)):
            if spec is None or not spec.submodule_search_locations:
                spec = None
                break
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: n + 1]), list(spec.submodule_search_locations))
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        out[name] = []
    elif spec.submodule_search_locations:
        out[name] = [str(p) for p in spec.submodule_search_locations]
    else:
        out[name] = [spec.origin] if spec.origin and spec.has_location else []
sys.stdout.write(json.dumps(out))
sys.stdout.flush()
os._exit(0)  # no teardown: the caller reads to the end of the output
"""


def locations(ctx: CheckContext, names: Sequence[str]) -> dict[str, list[Path]]:
    """Each of ``names`` (a package or module name, dotted or not) with the folders it is imported from
    (a module: its file) in the project's environment; an empty list for one not found there. A
    ``ToolError`` when the interpreter cannot answer."""
    with tempfile.TemporaryDirectory(prefix="gatekeeper-coverage-pkgs-") as cwd:
        done = ctx.run([ctx.target_python, "-I", "-c", _SCRIPT], cwd=cwd, stdin=_request(ctx, names), timeout=120)
    return _answer(ctx, names, done)


def _request(ctx: CheckContext, names: Sequence[str]) -> bytes:
    return json.dumps({"root": str(ctx.root), "names": list(names)}).encode("utf-8")


def _answer(ctx: CheckContext, names: Sequence[str], done: process.Completed) -> dict[str, list[Path]]:
    """``locations``' answer from the script's run."""
    if done.returncode != 0:
        raise ToolError(f"{ctx.target_python} could not locate {', '.join(names)}: {process.tail(done.stderr, 300)}")
    try:
        answer = json.loads(done.stdout)
        return {str(name): [Path(str(p)) for p in answer.get(name) or []] for name in names}
    except (ValueError, AttributeError) as exc:
        raise ToolError(f"unreadable answer locating {', '.join(names)}: {exc}") from None


#: where coverage.py reads its settings from (``config_file=True``), in the project's folder
_CONFIG_FILES = (".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml")
_SECTIONS = ("run", "coverage:run", "tool.coverage.run")
_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")
_SOURCE = re.compile(r"^\s*(source|source_pkgs)\s*=(.*)$")
_WORD = re.compile(r"[\w.*?/-]+")


def refuse_linked_config(root: Path) -> None:
    """``ToolError`` naming the file when one of coverage.py's configuration files in ``root`` is a
    link leading outside it (dangling or not: the tests may create its target as they run), as ruff's
    and mypy's are refused: coverage.py follows it, and what it read there (an ``omit``, an
    ``exclude_lines``) would decide the total from a file no reviewer sees."""
    from gatekeeper.fileio import relative_to_root

    for name in _CONFIG_FILES:
        path = root / name
        if path.is_symlink() and relative_to_root(path, root) is None:
            raise ToolError(
                f"{name} leads outside the project (through a link); a configuration file a tool reads must be inside the root"
            )


def may_name_packages(root: Path) -> bool:
    """Whether the project's coverage configuration looks as if it names a package to locate: a
    ``source_pkgs`` line, or a ``source`` value that is no folder of the root, in a run section of
    a file coverage.py reads. It only decides whether a ``Locator`` starts with the tests; what is
    located is what the analysis's own configuration names, whatever this says."""
    for name in (*_CONFIG_FILES, os.environ.get("COVERAGE_RCFILE", "")):
        try:
            text = (root / name).read_text(encoding="utf-8", errors="replace") if name else ""
        except OSError:
            continue
        for key, value in _source_settings(text):
            words = [w for w in _WORD.findall(value) if w not in ("true", "false")]
            if key == "source_pkgs" and words:
                return True
            if any(not any(c in w for c in "*?") and not (root / w).is_dir() for w in words):
                return True
    return False


def _source_settings(text: str) -> list[tuple[str, str]]:
    """Each ``source`` / ``source_pkgs`` setting of a run section, with its value (continuation
    lines and a list over several lines included)."""
    out: list[tuple[str, str]] = []
    section, current = "", -1
    for line in text.splitlines():
        header = _SECTION.match(line)
        if header:
            section, current = header.group(1).strip("\"' ").lower(), -1
            continue
        setting = _SOURCE.match(line) if section in _SECTIONS else None
        if setting:
            out.append((setting.group(1), setting.group(2)))
            current = len(out) - 1
        elif current >= 0 and (line[:1].isspace() or ("[" in out[current][1] and "]" not in out[current][1])):
            out[current] = (out[current][0], out[current][1] + " " + line)
        else:
            current = -1
    return out


class Locator:
    """``locations`` in the project's interpreter started ahead, with the tests: it has started
    (its site-packages and ``.pth`` files read, as the test process read them when it started) by
    the time the names are known, and looks them up only then. Used once; a context manager that
    kills and reaps it when it was not used."""

    def __init__(self, ctx: CheckContext) -> None:
        self._ctx = ctx
        self._cwd = tempfile.TemporaryDirectory(prefix="gatekeeper-coverage-pkgs-")
        try:
            self._run = process.Started(
                [ctx.target_python, "-I", "-c", _SCRIPT], cwd=self._cwd.name, prefix="gatekeeper-coverage-"
            )
        except BaseException:
            self._cwd.cleanup()
            raise

    @classmethod
    def start(cls, ctx: CheckContext) -> Locator | None:
        """A locator started now when the configuration may name packages (``may_name_packages``);
        None otherwise, or when the interpreter cannot be started (``locations`` then says why)."""
        if not may_name_packages(ctx.root):
            return None
        try:
            ctx.refuse_program(ctx.target_python)  # as ``ctx.run`` vets the program it runs
            return cls(ctx)
        except ToolError:
            return None

    def locations(self, names: Sequence[str]) -> dict[str, list[Path]]:
        """``locations(ctx, names)``, answered by this process."""
        late = f"locating {', '.join(names)} ({self._ctx.target_python})"
        return _answer(self._ctx, names, self._run.finish(min(120.0, self._ctx.remaining()), late, _request(self._ctx, names)))

    def __enter__(self) -> Locator:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Kill it (with its process group) and reap it, unless it has answered already."""
        try:
            self._run.close(kill=True)
        finally:
            self._cwd.cleanup()
