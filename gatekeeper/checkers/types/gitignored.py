"""The files mypy's ``exclude_gitignore = true`` leaves out, as mypy itself finds them.

mypy (1.17+) skips, while it walks the folders it is given, every file and folder a ``.gitignore``
(or ``.git/info/exclude``) on the way matches, tracked by git or not (``mypy.modulefinder.
matches_gitignore``). Rather than re-implement its reading of ``.gitignore`` (``pathspec``'s
``GitIgnoreSpec``, each file applied from its own folder, the walk stopping at the folder holding
``.git``), gatekeeper asks mypy: the script below runs in the tool interpreter, reads the
project's configuration with mypy's own parser, and lists the sources mypy's ``SourceFinder``
finds for the same targets with ``exclude_gitignore`` as configured and without it. It imports
mypy's configuration parser and source finder only (no plugin, no file of the checkout).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from gatekeeper import process
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import ToolError

_SCRIPT = r"""
import json, os, sys
from mypy.config_parser import parse_config_file
from mypy.find_sources import create_source_list
from mypy.fscache import FileSystemCache
from mypy.options import Options

request = json.loads(sys.stdin.read())


def found(gitignore):
    options = Options()
    parse_config_file(options, lambda: None, request["config"], stdout=sys.stderr, stderr=sys.stderr)
    options.exclude_gitignore = gitignore
    targets = request["targets"] or options.files or []
    sources = create_source_list(targets, options, FileSystemCache(), allow_empty_dir=True)
    return {os.path.normpath(s.path) for s in sources if s.path}


print(json.dumps(sorted(found(False) - found(True))))
"""


def dropped(ctx: CheckContext, python: str, config: str, targets: Sequence[str]) -> list[str]:
    """The files (relative to the root, posix) mypy run by ``python`` with ``config`` over ``targets``
    (empty: the config's ``files``) would check but for ``exclude_gitignore``; a ``ToolError`` when
    mypy cannot say."""
    request = json.dumps({"config": config, "targets": list(targets)}).encode("utf-8")
    done = ctx.run([python, "-I", "-c", _SCRIPT], cwd=ctx.root, stdin=request)
    if done.returncode != 0:
        raise ToolError(f"mypy could not list what exclude_gitignore leaves out: {process.tail(done.stderr or done.stdout)}")
    try:
        paths = json.loads(done.stdout)
    except ValueError:
        raise ToolError(f"mypy's list of what exclude_gitignore leaves out is not JSON: {process.tail(done.stdout)}") from None
    out = []
    for path in paths if isinstance(paths, list) else []:
        full = Path(ctx.root, str(path)).resolve()
        if full.is_relative_to(ctx.root.resolve()):
            out.append(full.relative_to(ctx.root.resolve()).as_posix())
    return sorted(out)
