"""Where the packages coverage.py's ``[run] source`` / ``source_pkgs`` name live, found without importing them.

coverage.py measures a file under a package named there when the tests import it under that name;
it finds the package as ``importlib.util.find_spec`` does in the process it runs in (the project's
environment, with the project's folder first on ``sys.path``, as ``coverage run`` puts it). The
script below asks the project's interpreter the same question, isolated (``-I``) and from a folder
outside the checkout, with the root put first on ``sys.path``, and without importing anything of
the project: a top-level name goes to ``find_spec`` (which consults the environment's finders,
editable installs included, and imports nothing), each further part of a dotted name to
``PathFinder`` over its parent's folders (``find_spec`` would import the parent package).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

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
    request = json.dumps({"root": str(ctx.root), "names": list(names)}).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="gatekeeper-coverage-pkgs-") as cwd:
        done = ctx.run([ctx.target_python, "-I", "-c", _SCRIPT], cwd=cwd, stdin=request, timeout=120)
    if done.returncode != 0:
        raise ToolError(f"{ctx.target_python} could not locate {', '.join(names)}: {process.tail(done.stderr, 300)}")
    try:
        answer = json.loads(done.stdout)
        return {str(name): [Path(str(p)) for p in answer.get(name) or []] for name in names}
    except (ValueError, AttributeError) as exc:
        raise ToolError(f"unreadable answer locating {', '.join(names)}: {exc}") from None
