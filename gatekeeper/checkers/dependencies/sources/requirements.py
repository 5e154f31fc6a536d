"""A pip requirements file as a dependency source: its ``==`` pins, following ``-r`` includes inside the
project, and the ``==`` pins of its ``-c`` constraints files for the requirements it leaves unpinned."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.dependencies.sources.base import (
    Collected,
    DependencySource,
    Markers,
    Target,
    in_project,
    pinned_version,
    relative,
)
from gatekeeper.checkers.inventory import declared_name, file_url_path, workspace_folders
from gatekeeper.checkers.lockfiles import is_requirements_name, toml_line_problem
from gatekeeper.errors import ToolError
from gatekeeper.redaction import strip_userinfo

if TYPE_CHECKING:
    from packaging.requirements import Requirement


class RequirementsSource(DependencySource):
    """A requirements file inside the project (any setting no other kind claims)."""

    kind = "requirements"

    @classmethod
    def claims(cls, setting: str) -> bool:
        """A requirements file's name (the policy refuses any other name before a check runs)."""
        return is_requirements_name(Path(setting).name)

    def collect(self) -> Collected:
        """The pinned lines; an unpinned, URL, editable or unparseable line is unaudited."""
        return _from_requirements(_named(self.ctx.root / self.setting, self.ctx.root, "checks.dependencies.source"), self.ctx)


def _from_requirements(path: Path, ctx: CheckContext) -> Collected:
    if not path.is_file():
        raise ToolError(f"requirements file {path} does not exist (checks.dependencies.source)")
    reader = _RequirementsReader(ctx, Collected(meta={"scope": "requirements", "requirements": relative(path, ctx.root)}))
    reader.read(path)
    reader.settle()
    got = reader.got
    got.meta["packages"] = len(got.targets) + len(got.unaudited)
    return got


def _named(path: Path, root: Path, where: str) -> Path:
    """``path`` as pip names it (``os.path.abspath``: made absolute and normalised, links not
    followed), refused as ``in_project`` refuses it: pip finds what a file's ``-r`` and ``-c`` name
    beside the file as it was named, not where a link to it leads."""
    named = Path(os.path.abspath(path))
    in_project(named, root, where)  # the file pip opens: ``a/..`` is undone before a link ``a`` is followed
    return named


def included_files(path: Path, root: Path, where: str) -> list[Path]:
    """``path`` and every file its ``-r`` and ``-c`` lines name (and theirs), found as pip finds them
    (beside the file as it was named), each once: what a tool reading the requirements file as pip
    does (cyclonedx-py) reads. ``ToolError`` when one leads outside the project, does not exist, or
    is named through a variable pip fills in from its environment, or when the path as joined, which
    cyclonedx-py's parser (pip-requirements-parser) opens without normalising it, a link followed
    before a ``..``, leads elsewhere than pip's."""
    found: dict[Path, None] = {}

    def walk(file: Path, named_at: str, joined: str) -> None:
        named = _named(file, root, named_at)
        opened = in_project(Path(joined), root, named_at)  # the file cyclonedx-py opens
        if opened != named.resolve():
            raise ToolError(
                f"{named_at}: {relative(named, root)} is reached through a link before a '..': pip opens "
                f"it, cyclonedx-py {relative(opened, root)}; name the file without '..' after a link"
            )
        if named in found:
            return
        found[named] = None
        rel = relative(named, root)
        for lineno, text in logical_lines(named):
            if not text.startswith("-"):
                continue
            for flag, arg in _line_options(f"{rel}:{lineno}", text):
                if flag not in ("-r", "-c"):
                    continue
                if variable := filled_in(arg):
                    raise ToolError(
                        f"{rel}:{lineno}: pip fills in {variable} in what {flag} names from the environment it "
                        "installs in, which gatekeeper cannot know: name the file itself"
                    )
                child = named.parent / arg
                walk_at = f"{rel}:{lineno}: {flag}"
                if not Path(os.path.abspath(child)).is_file():
                    _named(child, root, walk_at)  # one leading outside is refused as such first
                    raise ToolError(f"{walk_at}: the file that {flag} names does not exist")
                walk(child, walk_at, os.path.join(os.path.dirname(joined), arg))

    walk(path, where, str(path))
    return list(found)


class _RequirementsReader:
    """Reads a requirements file, and the files it includes, into the pinned targets to audit and the skipped lines."""

    def __init__(self, ctx: CheckContext, got: Collected) -> None:
        self.ctx = ctx
        self.got = got
        self._markers = Markers(ctx)
        self._files: set[tuple[Path, Path]] = set()
        self._seen: set[str] = set()
        self._constraint_files: set[tuple[Path, Path]] = set()
        self._constraints: dict[str, tuple[str, str, int]] = {}  # name -> (version, file, line) a -c file pins
        self._unsure: dict[str, str] = {}  # name -> why a -c file's line on it cannot be read (pip fills it in)
        self._unpinned: list[tuple[Requirement, str, int, str]] = []  # (requirement, file, line, as written)

    def read(self, file: Path) -> None:
        """Read ``file`` (once, however often it is included)."""
        resolved = (file.resolve(), file.parent.resolve())  # what it holds, and where its includes are found
        if resolved in self._files:
            return
        self._files.add(resolved)
        rel = relative(file, self.ctx.root)
        for lineno, text in logical_lines(file):
            problem = toml_line_problem(rel, lineno, text)
            if problem:
                raise ToolError(problem)
            if text.startswith("-"):  # an options line: index, find-links and other global options are skipped
                for flag, arg in _line_options(f"{rel}:{lineno}", text):
                    self._option(file, f"{rel}:{lineno}", flag, arg)
            elif self._ours(text):
                continue  # the project itself, or one of its workspace members: not a dependency
            else:
                self._requirement(rel, lineno, text)

    def _option(self, file: Path, where: str, flag: str, arg: str) -> None:
        variable = filled_in(arg)
        if variable and flag in ("-r", "-c"):
            raise ToolError(
                f"{where}: pip fills in {variable} in what {flag} names from the environment it installs in, "
                "which gatekeeper cannot know: name the file itself"
            )
        if flag in ("-r", "-c"):
            # an include names a file: inside the project only (never /proc/self/environ,
            # ~/.netrc), and its name is not quoted (it is text from the checkout)
            child = _named(file.parent / arg, self.ctx.root, f"{where}: {flag}")
            if not child.is_file():
                raise ToolError(f"{where}: the file that {flag} names does not exist")
            if flag == "-r":
                self.read(child)
            else:
                self._read_constraints(child)
        elif flag == "-e":
            if not variable and self._ours(arg):
                return
            egg = re.search(r"#egg=([A-Za-z0-9._-]+)", arg)
            name = egg.group(1) if egg else where
            self.got.skip(name, f"{where}: editable requirement has no pinned version")

    def _read_constraints(self, file: Path) -> None:
        """The ``==`` pins of a constraints file (and of the constraints files its ``-c`` lines name):
        they install nothing, but pin what the requirements leave open. A ``-r`` line in it names a
        requirements file, read as one (pip installs what it lists)."""
        resolved = (file.resolve(), file.parent.resolve())
        if resolved in self._constraint_files:
            return
        self._constraint_files.add(resolved)
        rel = relative(file, self.ctx.root)
        self.got.meta.setdefault("constraints", []).append(rel)
        for lineno, text in logical_lines(file):
            problem = toml_line_problem(rel, lineno, text)
            if problem:
                raise ToolError(problem)
            if text.startswith("-"):  # an include, followed as in a requirements file
                for flag, arg in _line_options(f"{rel}:{lineno}", text):
                    if flag in ("-r", "-c"):
                        self._option(file, f"{rel}:{lineno}", flag, arg)
                continue
            req = _parse(text)
            if req is not None and (variable := filled_in(_spec(text))):
                self._unsure.setdefault(canonicalize_name(req.name), f"{rel}:{lineno}: {_unknowable(variable)}")
            if req is None or text.startswith("-") or (req.marker is not None and not self._markers.applies(req.marker)):
                continue
            pinned = pinned_version(req)
            if pinned and not req.url:
                self._constraints.setdefault(canonicalize_name(req.name), (pinned, rel, lineno))

    def settle(self) -> None:
        """Audit each requirement left unpinned at the version a constraints file pins it to (what
        pip installs), pointing at that pin; one no constraint pins stays unaudited."""
        for req, rel, lineno, spec in self._unpinned:
            pin = self._constraints.get(canonicalize_name(req.name))
            if canonicalize_name(req.name) in self._unsure:
                self.got.skip(req.name, self._unsure[canonicalize_name(req.name)])
            elif pin is None:
                wildcard = "a == with a wildcard matches a range; " if "*" in str(req.specifier) else ""
                self.got.skip(
                    req.name,
                    f"{rel}:{lineno}: {spec!r} is not pinned to one version ({wildcard}pin it with ==, e.g. with pip-compile)",
                )
            elif not req.specifier.contains(pin[0], prereleases=True):
                self.got.skip(
                    req.name, f"{rel}:{lineno}: {spec!r} conflicts with {req.name}=={pin[0]} pinned by {pin[1]}:{pin[2]}"
                )
            else:
                self._target(req.name, pin[0], pin[1], pin[2])

    def _target(self, name: str, version: str, rel: str, lineno: int) -> None:
        if (key := f"{canonicalize_name(name)}=={version}") not in self._seen:
            self._seen.add(key)
            self.got.targets.append(Target(name, version, rel, lineno))

    def _ours(self, arg: str) -> bool:
        """Whether a path requirement (``.``, ``./packages/lib``, ``file:///…``, as ``uv export`` and
        pip-compile write the project and its members) names the project root or one of its uv workspace
        members; it is then recorded under ``project`` or ``members``. Paths are relative to the root,
        where the file is installed from. Any other folder stays a requirement to judge (unaudited)."""
        target = re.split(r"\s+--?[A-Za-z]|#", arg, maxsplit=1)[0].strip()
        if target.startswith("file:"):
            path = file_url_path(target)
        elif target.startswith((".", "/")):
            try:
                path = (self.ctx.root / target).resolve()
            except (OSError, ValueError):
                return False
        else:
            return False
        if path is None:
            return False
        if path == self.ctx.root.resolve():
            self.got.meta["project"] = declared_name(self.ctx.root) or "."
            return True
        if path in workspace_folders(self.ctx.root):
            self.got.meta.setdefault("members", []).append(declared_name(path) or relative(path, self.ctx.root))
            return True
        return False

    def _requirement(self, rel: str, lineno: int, text: str) -> None:
        spec = _spec(text)
        req = _parse(text)
        if variable := filled_in(spec):
            # its name, version or marker may read otherwise where pip installs it
            self.got.skip(req.name if req is not None else f"{rel}:{lineno}", f"{rel}:{lineno}: {_unknowable(variable)}")
            return
        if req is None:
            # not echoed: an unparseable line may be anything (a credential, the environment)
            self.got.skip(f"{rel}:{lineno}", "this line cannot be parsed as a requirement")
            return
        if req.marker is not None and not self._markers.applies(req.marker):
            # not installed on this target, so not audited: said, as the SBOM of the file lists it
            left = {"name": req.name, "marker": str(req.marker), "line": f"{rel}:{lineno}"}
            self.got.meta.setdefault("left_out_by_markers", []).append(left)
            return
        pinned = pinned_version(req)
        if req.url:
            self.got.skip(req.name, f"{rel}:{lineno}: URL requirement {strip_userinfo(spec)!r} has no version to audit")
        elif not pinned:
            self._unpinned.append((req, rel, lineno, spec))  # a constraints file, read before or after, may pin it
        else:
            self._target(req.name, pinned, rel, lineno)


#: the options pip reads in a requirements file (``pip._internal.req.req_file.build_parser``), long
#: names to whether they take a value; and the short names, each of which takes one
_LONG_OPTIONS = {
    "--index-url": True, "--pypi-url": True, "--extra-index-url": True, "--no-index": False, "--constraint": True,
    "--requirement": True, "--editable": True, "--find-links": True, "--no-binary": True, "--only-binary": True,
    "--prefer-binary": False, "--require-hashes": False, "--no-require-hashes": False, "--pre": False,
    "--all-releases": True, "--only-final": True, "--trusted-host": True, "--use-feature": True, "--hash": True,
    "--config-settings": True,
}  # fmt: skip
_SHORT_OPTIONS = {
    "-i": "--index-url",
    "-c": "--constraint",
    "-r": "--requirement",
    "-e": "--editable",
    "-f": "--find-links",
    "-C": "--config-settings",
}
#: the options that name what pip installs or pins, by the short name used here
_FILE_OPTIONS = {"--requirement": "-r", "--constraint": "-c", "--editable": "-e"}


def _line_options(where: str, text: str) -> list[tuple[str, str]]:
    """``file_options`` of an options line, which must be those of the line as pip reads it in this
    environment: pip fills in each ``${NAME}`` first, and a value with spaces (a CI variable such as
    GitLab's commit message, which the pull request writes) can add an option: ``--pre ${MESSAGE}``
    with ``-r evil.txt`` there includes a file the line does not name. ``ToolError`` when the
    variables give the line other ``-r``, ``-c`` or ``-e`` options (their values are never quoted)."""
    found = file_options(where, text)
    if variable := filled_in(text):
        filled = _VARIABLE.sub(lambda m: os.environ.get(m.group(1)) or m.group(0), text)
        try:
            now = file_options(where, filled)
        except ToolError:
            now = []
        # a value written with a variable is refused by name (``_option``); any other change is the line's
        differs = len(now) != len(found) or any(
            flag != again or (arg != value and not filled_in(arg))
            for (flag, arg), (again, value) in zip(found, now, strict=False)
        )
        if differs:
            raise ToolError(
                f"{where}: pip fills in {variable} on this line from the environment it installs in, which here "
                "gives it other -r, -c or -e options than it names: name them in the file itself"
            )
    return found


def file_options(where: str, text: str) -> list[tuple[str, str]]:
    """The ``-r``, ``-c`` and ``-e`` options of an options line (``text``, comments stripped) with their
    values, read as pip reads them (``shlex``, then optparse): a short option's value may follow it
    unspaced (``-rmore.txt``, and ``-r=more.txt`` names ``=more.txt``), a long option may be any
    unambiguous abbreviation (``--requirem``) and take its value after ``=``. An option pip does
    not know is passed over (pip refuses the file); ``ToolError`` when the line cannot be split."""
    import shlex

    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ToolError(f"{where}: pip cannot read this line ({exc})") from None
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        word, value = tokens[i], None
        i += 1
        if word == "--":
            break
        if word.startswith("--"):
            name, eq, attached = word.partition("=")
            matches = [o for o in _LONG_OPTIONS if o == name] or [o for o in _LONG_OPTIONS if o.startswith(name)]
            option = matches[0] if len(matches) == 1 else None
            value = attached if eq else None
        elif word.startswith("-") and len(word) > 1:
            option = _SHORT_OPTIONS.get(word[:2])
            value = word[2:] or None
        else:
            continue  # a word that is no option: pip leaves it aside on an options line
        if option is None or not _LONG_OPTIONS[option]:
            continue
        if value is None:
            if i >= len(tokens):
                raise ToolError(f"{where}: {word} has no value (pip refuses this line)")
            value, i = tokens[i], i + 1
        if option in _FILE_OPTIONS:
            found.append((_FILE_OPTIONS[option], value))
    return found


def filled_in(text: str) -> str:
    """The first ``${NAME}`` in ``text`` that pip fills in from its environment (``pip._internal.req.
    req_file.ENV_VAR_RE``: upper-case letters, digits and ``_``), else ""."""
    found = _VARIABLE.search(text)
    return found.group(0) if found else ""


def _unknowable(variable: str) -> str:
    return f"pip fills in {variable} from the environment it installs in, which gatekeeper cannot know"


def _spec(text: str) -> str:
    """A requirement line without its ``--hash`` and other per-line options."""
    return re.split(r"\s+--?[A-Za-z]", text, maxsplit=1)[0].strip()


def _parse(text: str) -> Requirement | None:
    """The requirement a line states, or None when it cannot be parsed as one."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(_spec(text))
    except InvalidRequirement:
        return None


#: the byte-order marks pip looks for, in its order (``pip._internal.req.req_file.BOMS``)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)


def decoded(data: bytes) -> str:
    """A requirements file's text as pip decodes it (``_decode_req_file``): by its byte-order mark,
    else by a PEP 263 ``coding`` comment among its first two lines (``# -*- coding: utf-7 -*-`` makes
    ``+AHgAOAA2AF8ANgA0-`` read ``x86_64``), else as UTF-8. pip falls back to the locale's encoding
    where UTF-8 fails, which the job's locale decides: ``UnicodeDecodeError`` then, as for an unknown
    codec ``LookupError``."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding)
    for line in data.split(b"\n")[:2]:
        if line[:1] == b"#" and (declared := re.search(rb"coding[:=]\s*([-\w.]+)", line)):
            return data.decode(declared.group(1).decode("ascii"))
    return data.decode("utf-8")


#: a comment as pip reads it (``pip._internal.req.req_file.COMMENT_RE``)
_COMMENT = re.compile(r"(^|\s+)#.*$")
#: a variable pip fills in from its environment (``pip._internal.req.req_file.ENV_VAR_RE``)
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)\}")


def logical_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(first line number, text) per logical line, as pip's ``preprocess`` gives them: a line ending in
    a backslash (and not starting as a comment) is joined to the next with nothing between, the
    backslashes at both ends of it dropped; comments are stripped from the joined line (one ending in
    a backslash takes the next line with it), blank lines dropped."""
    try:
        raw = decoded(path.read_bytes()).splitlines()
    except (OSError, ValueError, LookupError) as exc:  # ValueError: UnicodeError and its kind
        raise ToolError(f"cannot read requirements file {path}: {exc}") from exc
    joined: list[tuple[int, str]] = []
    held: list[str] = []
    start = 0
    for number, line in enumerate(raw, 1):
        if line.endswith("\\") and not _COMMENT.match(line):
            start = start if held else number
            held.append(line.strip("\\"))
            continue
        line = " " + line if _COMMENT.match(line) else line
        joined.append((start, "".join([*held, line])) if held else (number, line))
        held = []
    if held:
        joined.append((start, "".join(held)))
    for number, line in joined:
        if text := _COMMENT.sub("", line).strip():
            yield number, text
