"""Which files ruff checks: the project's configuration it finds (``configure``) and the files it
lists with it (``plan``: ``ruff check --show-files``, then ``lint.exclude`` applied as ruff applies it)."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.lint.ruffargs import ISOLATED, MAX_FILES_PER_RUN, READ_ONLY
from gatekeeper.checkers.lint.ruffargs import refused as _refused
from gatekeeper.errors import ToolError
from gatekeeper.fileio import RootRelative


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Configured:
    """The configuration ruff finds in the project, checked to lie inside the root, and its flags."""

    configs: tuple[str, ...]  # each folder's configuration, the root's first
    config_files: tuple[str, ...]  # every file that decides ruff's settings (extend chains included)
    config_args: tuple[str, ...]


def configure(ctx: CheckContext, honour: bool, candidates: Sequence[str]) -> Configured:
    """The configuration ruff finds among ``candidates`` (every file of it checked to lie inside the
    root, ``ToolError`` otherwise) and the flags that give ruff the same settings."""
    from gatekeeper import toolconfig

    configs = toolconfig.ruff_configs(ctx.root, candidates) if honour else ()
    config_files = toolconfig.ruff_files(ctx.root, candidates) if configs else ()
    config_args = [] if configs else list(ISOLATED if not honour else ("--isolated",))
    target = toolconfig.ruff_target_version(ctx.root) if honour and not configs else None
    if target:  # what ruff infers from requires-python, which --isolated would drop
        config_args += ["--target-version", target]
    return Configured(tuple(configs), tuple(config_files), tuple(config_args))


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Plan:
    """How ruff runs on the project: its configuration files and flags, and the files it checks."""

    configs: tuple[str, ...]  # each folder's configuration, the root's first
    config_files: tuple[str, ...]  # every file that decides ruff's settings (extend chains included)
    config_args: list[str]
    files: list[str]  # what ``ruff check --show-files`` lists, relative to the root


def plan(ctx: CheckContext, ruff: str, configured: Configured, allow_empty: bool = False) -> Plan:
    """The files ruff lists with the project's configuration (``configured``); ``ToolError`` when it
    lists no Python file (an empty check is not a pass), unless ``allow_empty``. ruff also lists the
    configuration files it lints (``pyproject.toml``, ``ruff.toml``): those alone are no code looked
    at, as when the project's settings exclude every Python file."""
    from gatekeeper import toolconfig

    configs, config_files, config_args = configured.configs, configured.config_files, list(configured.config_args)
    files = show_files(ctx, ruff, config_args)
    if configs and _sets_lint_exclude(ctx.root, configs):
        files = _linted(ctx, ruff, config_args, files)
    code = [f for f in files if PurePosixPath(f).name not in toolconfig.RUFF_CONFIG_NAMES]
    if configs:
        _no_outside_config(ctx.root, configs, code)
    if not code and not allow_empty:
        besides = f" (only {', '.join(files)})" if files else ""
        raise ToolError(
            f"ruff found no Python files to check{besides}: an empty check is not a pass; set "
            "checks.lint.allow_empty = true if that is expected"
        )
    return Plan(configs, config_files, config_args, files)


def _no_outside_config(root: Path, configs: Sequence[str], code: Sequence[str]) -> None:
    """``ToolError`` when ruff would judge some of the files it lists (``code``) by a configuration
    outside the project: the project configures ruff in nested folders alone (``configs``), not in
    its root, so ruff runs without ``--isolated`` and, for a file no folder of the project
    configures, reads the closest configuration above the root, else the user's
    (``toolconfig.ruff_config_outside``). Its settings could turn off any rule unseen."""
    from gatekeeper import toolconfig

    if toolconfig.ruff_config(root, "."):  # read whether git tracks it or not, as ruff reads it
        return
    folders = [PurePosixPath(c).parent for c in configs]
    uncovered = [f for f in code if not any(PurePosixPath(f).is_relative_to(d) for d in folders)]
    outside = toolconfig.ruff_config_outside(root) if uncovered else ""
    if outside:
        shown = ", ".join(uncovered[:3]) + (", ..." if len(uncovered) > 3 else "")
        raise ToolError(
            f"ruff would judge {len(uncovered)} file(s) of the project ({shown}) by {outside}, a configuration "
            f"outside the project: the project configures ruff only in {', '.join(configs)}, not in its root, so "
            "for the files outside those folders ruff reads the closest configuration above the root, else the "
            "user's. Add a ruff configuration to the project root (a ruff.toml, or [tool.ruff] in pyproject.toml)"
        )


def _sets_lint_exclude(root: Path, configs: Sequence[str]) -> bool:
    """Whether a configuration in force (any file of any ``extend`` chain) sets ``lint.exclude``."""
    from gatekeeper import toolconfig

    for config in configs:
        for item in toolconfig.ruff_chain(root, config):
            lint = item.options.get("lint")
            if isinstance(lint, Mapping) and lint.get("exclude"):
                return True
    return False


def _linted(ctx: CheckContext, ruff: str, config_args: Sequence[str], files: Sequence[str]) -> list[str]:
    """Of the listed ``files``, those ruff lints under the project's ``lint.exclude``.

    ``ruff check .`` leaves out the files ``lint.exclude`` matches, but ``--show-files`` lists them,
    and ruff applies that setting to files named on its command line only with ``--force-exclude``.
    So ruff itself is asked: one run over the listed files with ``--force-exclude`` and its log on
    (``--verbose``, one ``Checking: PATH`` line per file it lints and ``Checked N files``), a
    single cheap rule selected, its diagnostics discarded. A log gatekeeper cannot read (the lines
    missing, a count that does not match, a path it was not given) is an error: the check would
    otherwise report files ruff does not lint."""
    relative = RootRelative(ctx.root)
    linted: list[str] = []
    for start in range(0, len(files), MAX_FILES_PER_RUN):
        chunk = files[start : start + MAX_FILES_PER_RUN]
        args = [ruff, "check", "--verbose", "--force-exclude", "--exit-zero", "--output-format", "json"]
        args += ["--select", "E501", *READ_ONLY, *config_args, "--", *(str(ctx.root / f) for f in chunk)]
        done = ctx.run(args, cwd=ctx.root)
        if done.returncode != 0:
            raise ToolError(f"ruff check --force-exclude failed (exit {done.returncode}): {_refused(done)}")
        seen = [m.group(1) for m in re.finditer(r"\[DEBUG\] Checking: (.+?)\r?$", done.stderr, re.MULTILINE)]
        counted = re.search(r"\[DEBUG\] Checked (\d+) files?\b", done.stderr)
        names = [relative(Path(p)) for p in seen]
        given = set(chunk)
        if counted is None or int(counted.group(1)) != len(seen) or not all(n in given for n in names):
            raise ToolError(
                "the project's ruff configuration sets lint.exclude, and ruff's log (--verbose) did not say which "
                "files it lints, so the check cannot leave out the same files as ruff check"
            )
        linted += [n for n in names if n is not None]
    kept = set(linted)
    return [f for f in files if f in kept]


def show_files(ctx: CheckContext, ruff: str, config_args: Sequence[str]) -> list[str]:
    listing = [a for a in config_args if a != "--ignore-noqa"]  # ruff refuses it beside --show-files
    done = ctx.run([ruff, "check", "--show-files", *READ_ONLY, *listing, "--", str(ctx.root)], cwd=ctx.root)
    if done.returncode not in (0, 1):
        raise ToolError(f"ruff check --show-files failed (exit {done.returncode}): {_refused(done)}")
    relative = RootRelative(ctx.root)
    named = Counter(rel for line in done.stdout.splitlines() if line.strip() and (rel := relative(Path(line.strip()))))
    files = set(named)
    # listed twice: one of them is a file whose name is not UTF-8, beside one whose name holds U+FFFD
    unnamed = sorted(f for f in files if "\ufffd" in f and (named[f] > 1 or not os.path.lexists(ctx.root / f)))
    if unnamed:
        raise ToolError(_not_utf8(ctx.root, unnamed))
    return sorted(files)


def _not_utf8(root: Path, listed: Sequence[str]) -> str:
    """Why the check cannot read ruff's findings in the files ``listed`` by a name that is not
    theirs: ruff prints a file name that is not UTF-8 with U+FFFD in place of its undecodable bytes
    (its listing and its reports alike), a name that no file has. Checked by that name, each would
    be one E902 finding ("No such file") in place of what ruff finds in it, and a pass when E902 does
    not block."""
    from gatekeeper.checkers.source import spelled_as

    # each file such a name stands for (not the one whose name holds U+FFFD itself, listed beside it)
    spelled = [[a for a in spelled_as(root, f) if a != os.fsencode(f)] for f in listed[:5]]
    shown = [
        ", ".join(a.decode("utf-8", "backslashreplace") for a in found) or f for f, found in zip(listed[:5], spelled, strict=True)
    ]
    names = ", ".join(shown) + (", ..." if len(listed) > 5 else "")
    return (
        f"ruff names {len(listed)} file(s) whose names are not UTF-8 only with U+FFFD in place of their bytes "
        f"({names}), so what it finds in them cannot be read back: rename them, or leave them out in the "
        "project's ruff configuration (extend-exclude)"
    )


def untracked_configs(root: Path, listed: Sequence[str], known: Sequence[str]) -> tuple[list[str], list[str]]:
    """ruff's configuration files (``RUFF_CONFIG_NAMES``) in the root and every folder above a file
    ruff listed that are not among ``known`` (the tracked files, where ``configure`` looked): those
    that exist, which ruff reads as any other (a ``ruff.toml`` in a folder git ignores, whose files
    ruff checks with ``respect-gitignore = false``; a link to a file too, which ruff reads through, and
    which ``configure`` keeps inside the root), and every such path looked at, present or not (one
    created during the run changes what ruff reads)."""
    from gatekeeper import toolconfig

    folders: set[PurePosixPath] = {PurePosixPath(".")}
    for name in listed:
        folders.update(PurePosixPath(name).parents)
    seen = set(known)
    looked = sorted(
        path
        for folder in folders
        for config in toolconfig.RUFF_CONFIG_NAMES
        if (path := (folder / config).as_posix()) not in seen
    )
    return [p for p in looked if os.path.isfile(root / p)], looked
