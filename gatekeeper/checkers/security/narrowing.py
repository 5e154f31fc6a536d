"""What the project's bandit configuration narrows (its files, exclusions with the files they drop,
skips, tests, other options) and each file's honoured ``# nosec`` marks, as Narrowing records; and
the Jupyter notebooks in the scanned paths, whose code bandit never reads."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import ToolError
from gatekeeper.findings import (
    Narrowing,
)

#: what a baseline report named in a ``.bandit`` file does to bandit's results
BASELINE_EFFECT = (
    "bandit reports no issue equal to one this report of the project's lists (the same file, test, severity, "
    "confidence and text, on any line): one listed issue hides every issue like it in its file"
)
#: a ``# nosec`` mark, as bandit reads it (with or without test ids)
NOSEC = re.compile(rb"#\s*nosec\b", re.IGNORECASE)


def narrowing_records(
    narrowing: Mapping[str, Any], nosec: Mapping[str, int], root: Path, baseline: Mapping[str, int] | None = None
) -> tuple[Narrowing, ...]:
    """``_narrowing``'s findings as the checker contract's records, and one per file whose ``# nosec``
    marks bandit honoured, with the issues they hid (bandit's own ``nosec`` and ``skipped_tests`` counts);
    a ``baseline`` option's record names the files whose issues it kept out (``baseline``: how many each)."""
    files = [str(f) for f in narrowing["files"]]
    where = files[0] if len(files) == 1 else ""
    named = "" if len(files) < 2 else f" (in {', '.join(files)})"
    out = [Narrowing("config-file", f, None, "", "bandit's configuration from the project") for f in files]
    if narrowing["exclude"]:
        detail = f"exclude = {', '.join(narrowing['exclude'])}{named}"
        out.append(
            Narrowing("exclude", where, None, detail, "bandit does not scan these files", tuple(narrowing["excluded_files"]))
        )
    if narrowing["skips"]:
        out.append(
            Narrowing("rules", where, None, f"skips = {', '.join(narrowing['skips'])}{named}", "bandit does not run these tests")
        )
    if narrowing["tests"]:
        out.append(
            Narrowing("rules", where, None, f"tests = {', '.join(narrowing['tests'])}{named}", "only these bandit tests run")
        )
    for key, value in sorted(narrowing["options"].items()):
        if key == "baseline":
            hid = baseline or {}
            out.append(
                Narrowing("option", where, None, f"{key} = {value}"[:200], BASELINE_EFFECT, tuple(sorted(hid)), sum(hid.values()))
            )
            continue
        out.append(Narrowing("option", where, None, f"{key} = {value}"[:200], "an option of the project's bandit configuration"))
    for path, count in sorted(nosec.items()):
        try:
            lines = [n for n, line in enumerate((root / path).read_bytes().splitlines(), start=1) if NOSEC.search(line)]
        except OSError:
            lines = []
        at = ", ".join(str(n) for n in lines[:10]) + (", …" if len(lines) > 10 else "")
        detail = f"{len(lines)} × # nosec" + (f" (line {at})" if lines else "")
        out.append(
            Narrowing(
                "line-comments",
                path,
                lines[0] if lines else None,
                detail,
                "bandit reports no issue (of the tests named) on those lines",
                (path,),
                count,
            )
        )
    return tuple(out)


def narrowing_note(narrowing: Mapping[str, Any]) -> str:
    """A short summary suffix naming what the project's bandit configuration narrowed, or ""."""
    parts = []
    if narrowing["excluded_files"]:
        count = len(narrowing["excluded_files"])
        parts.append(f"{count} file{'s' if count != 1 else ''} excluded")
    if narrowing["skips"]:
        parts.append(f"skips {','.join(narrowing['skips'])}")
    if narrowing["tests"]:
        parts.append(f"only tests {','.join(narrowing['tests'])}")
    if narrowing["nosec"]:
        parts.append(f"{narrowing['nosec']} # nosec honoured")
    if narrowing.get("baseline_hidden"):
        parts.append(f"{narrowing['baseline_hidden']} hidden by its baseline")
    return f"; project bandit config: {', '.join(parts)}" if parts else ""


def notebooks(ctx: CheckContext, targets: Sequence[str], exclude: Iterable[str]) -> list[str]:
    """The Jupyter notebooks (``.ipynb``) under the scanned ``targets`` but not ``exclude``d: the files git
    tracks (all of them outside a git work tree). bandit scans ``.py`` files only, so their code cells
    are never read, while ruff lints them and detect-secrets scans them."""
    from gatekeeper.checkers import source

    try:
        files = [f for f in source.tracked_files(ctx.root, ctx) if f.endswith(".ipynb")]
    except ToolError:  # not a git work tree
        files = sorted(p.relative_to(ctx.root).as_posix() for p in ctx.root.rglob("*.ipynb") if p.is_file())
    roots = [t.strip("/").removeprefix("./") for t in targets]
    inside = [f for f in files if any(r in ("", ".") or f == r or f.startswith(r + "/") for r in roots)]
    patterns = list(exclude)
    return [f for f in inside if not source.excluded(f, patterns)]


#: bandit's own exclusions (``bandit.core.constants.EXCLUDE``), which the scan keeps beside the
#: policy's and the project's: bandit drops every path that contains one (a folder that exists
#: becomes ``folder/*``), so ``app/CVS_tools.py`` or ``app/.tox_setup.py`` is never read
BANDIT_DEFAULT_EXCLUDE = (".svn", "CVS", ".bzr", ".hg", ".git", "__pycache__", ".tox", ".eggs", "*.egg")


def default_dropped(ctx: CheckContext, targets: Sequence[str], scanned: Iterable[str]) -> list[str]:
    """The tracked ``.py`` files under ``targets`` that bandit did not scan (``scanned``) because
    their path contains one of ``BANDIT_DEFAULT_EXCLUDE``, matched as bandit matches it
    (``manager._is_file_included``: a glob, or a substring of the path as its walk names it)."""
    import fnmatch
    import os

    from gatekeeper.checkers import source

    try:
        tracked = source.tracked_files(ctx.root, ctx)
    except ToolError:  # not a git work tree: nothing tracked to account for
        return []
    seen = set(scanned)
    roots = [t.strip("/").removeprefix("./") for t in targets]
    patterns = [p + "/*" if os.path.isdir(ctx.root / p) else p for p in BANDIT_DEFAULT_EXCLUDE]
    out = []
    for f in tracked:
        if not f.endswith(".py") or f in seen or not any(r in ("", ".") or f == r or f.startswith(r + "/") for r in roots):
            continue
        names = (f, "./" + f)
        if any(fnmatch.fnmatch(n, p) or p in n for n in names for p in patterns):
            out.append(f)
    return out


def default_dropped_records(dropped: Sequence[str]) -> tuple[Narrowing, ...]:
    """The record naming the files bandit's own exclusions left out (``default_dropped``); none when none."""
    if not dropped:
        return ()
    effect = (
        "bandit leaves out, by default, every path that contains .svn, CVS, .bzr, .hg, .git, __pycache__, .tox "
        "or .eggs (as a substring: a file's own name counts) or ends in .egg: these files were not scanned"
    )
    count = f"{len(dropped)} file{'s' if len(dropped) != 1 else ''} bandit's default exclusions left out"
    return (Narrowing("not-scanned", "", None, count, effect, tuple(dropped)),)


def unparsed_records(parse_errors: Sequence[Mapping[str, Any]]) -> tuple[Narrowing, ...]:
    """The record naming the files bandit could not parse and so did not scan at all (none when it
    parsed every file): a syntax error, or syntax newer than the tool interpreter's Python."""
    files = tuple(sorted(str(e["path"]) for e in parse_errors))
    if not files:
        return ()
    effect = (
        "bandit parses each file with the tool interpreter's Python and scans none of a file it cannot parse "
        "(a syntax error, or syntax newer than that Python: run the tools on the project's Python with gate.tool_python)"
    )
    count = f"{len(files)} file{'s' if len(files) != 1 else ''} bandit could not parse"
    return (Narrowing("not-scanned", "", None, count, effect, files),)


def notebook_records(found: Sequence[str]) -> tuple[Narrowing, ...]:
    """The record saying that the notebooks ``found`` were not scanned (none when there are none)."""
    if not found:
        return ()
    count = len(found)
    return (
        Narrowing(
            "not-scanned",
            "",
            None,
            f"{count} Jupyter notebook{'s' if count != 1 else ''} (.ipynb)",
            "bandit scans Python source files (.py) only: the code cells of these notebooks were not scanned "
            "(export them to scripts, e.g. jupyter nbconvert --to script, to have bandit read them)",
            tuple(found),
        ),
    )
