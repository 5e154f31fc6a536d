"""What a pyproject.toml asks of Poetry: ``[tool.poetry.dependencies]`` and its groups, as PEP 508 texts.

poetry-core builds the package's run-time requirements from ``[tool.poetry.dependencies]`` when
``[project]`` states neither ``dependencies`` nor ``optional-dependencies`` (Poetry 1's layout, still
read by Poetry 2; ``poetry.core.factory``), and its groups from ``[tool.poetry.group.NAME.dependencies]``
(and the older ``[tool.poetry.dev-dependencies]``, the group ``dev``) whatever ``[project]`` says.
Poetry's constraints (``^1.2``, ``~1.2``, ``1.2.*``, ``>=1, <2``) are written as the PEP 440
specifiers Poetry gives them (https://python-poetry.org/docs/dependency-specification/); one with
alternatives (``^1.0 || ^3.0``) is written as PEP 508 texts joined by `` || ``, of which the lock must
meet one; a constraint not understood keeps the name alone, so the lock is held to having the package.
A dependency named by a ``url`` or ``git`` repository is written with that URL, which no index
release of the lock stands in for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from gatekeeper.checkers.lockfiles.model import Selection, sourced_in

#: (PEP 508 text, extras its marker is evaluated for, who asks it), as ``lockfiles._wanted`` gives them
Wanted = tuple[str, tuple[str, ...], str]

_OPERATOR_SPACE = re.compile(r"(>=|<=|!=|==|~=|>|<|=|\^|~)\s+")


def declared(doc: Mapping[str, Any], selection: Selection, manifest: str, *, run_time: bool) -> list[Wanted]:
    """The requirements of ``doc`` (the pyproject.toml named ``manifest``) under ``[tool.poetry]`` that
    the selection counts: the run-time ones when ``run_time`` (``[project]`` states none), with the
    optional ones of the selected extras (``[tool.poetry.extras]``), and the selected groups'."""
    tool = doc.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if not isinstance(poetry, dict):
        return []
    wanted: list[Wanted] = []
    if run_time:
        extras = poetry.get("extras")
        chosen = {
            canonicalize_name(name)
            for extra in selection.extras
            for name in ((extras.get(extra) if isinstance(extras, dict) else None) or ())
            if isinstance(name, str)
        }
        wanted += _table(poetry.get("dependencies"), selection, chosen, f"{manifest} [tool.poetry.dependencies] requires")
    for group, deps in _groups(poetry, selection):
        wanted += _table(deps, selection, set(), f"{manifest} [tool.poetry.group.{group}.dependencies] requires")
    return wanted


def sourced(doc: Mapping[str, Any], selection: Selection) -> dict[str, str]:
    """The names ``[tool.poetry.dependencies]`` or a selected group's table gives a url, a git
    repository or a path: with ``[project]`` dependencies stated, Poetry installs those from there
    (the table then enriches them)."""
    tool = doc.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if not isinstance(poetry, dict):
        return {}
    found: dict[str, str] = {}
    for group, deps in _groups(poetry, selection):
        found.update(sourced_in(deps, f"[tool.poetry.group.{group}.dependencies]"))
    return {**found, **sourced_in(poetry.get("dependencies"), "[tool.poetry.dependencies]")}


def _groups(poetry: Mapping[str, Any], selection: Selection) -> list[tuple[str, Any]]:
    """Each selected group with its ``[tool.poetry.group.NAME.dependencies]`` table (for ``dev``,
    Poetry 1's ``[tool.poetry.dev-dependencies]`` when there is none)."""
    groups = poetry.get("group")
    found: list[tuple[str, Any]] = []
    for group in selection.groups:
        table = groups.get(group) if isinstance(groups, dict) else None
        deps = table.get("dependencies") if isinstance(table, dict) else None
        if group == "dev" and deps is None:
            deps = poetry.get("dev-dependencies")
        found.append((group, deps))
    return found


def _table(deps: Any, selection: Selection, extras: set[NormalizedName], whose: str) -> list[Wanted]:
    """The entries of one dependencies table whose conditions hold on the target (``python`` excluded)."""
    wanted: list[Wanted] = []
    for name, spec in deps.items() if isinstance(deps, dict) else ():
        if not isinstance(name, str) or name.lower() == "python":
            continue
        for one in spec if isinstance(spec, list) else [spec]:
            text = _requirement(name, one, selection, extras)
            if text:
                wanted.append((text, ("",), whose))
    return wanted


def _requirement(name: str, spec: Any, selection: Selection, extras: set[NormalizedName]) -> str:
    """One constraint of ``name`` as a PEP 508 text ("" when it does not apply on the target, names a
    local folder, or is optional and no selected extra lists it)."""
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, dict):
        return ""
    if spec.get("optional") is True and canonicalize_name(name) not in extras:
        return ""
    python = spec.get("python")
    if python is not None:
        allowed = alternatives(str(python))
        if allowed is None or not any(_python_holds(a, selection.environment) for a in allowed):
            return ""  # another Python's constraint, or one not understood: the target's may be another entry
    marks = [f"({spec['markers']})"] if isinstance(spec.get("markers"), str) and spec["markers"].strip() else []
    platform = spec.get("platform")
    if platform is not None:
        if not isinstance(platform, str) or not re.fullmatch(r"[A-Za-z0-9_]+", platform):
            return ""
        marks.append(f'sys_platform == "{platform}"')
    chosen = [str(x) for x in spec.get("extras") or () if isinstance(x, str)]
    text = name + (f"[{','.join(chosen)}]" if chosen else "")
    marker = f"; {' and '.join(marks)}" if marks else ""
    for key, scheme in (("url", ""), ("git", "git+")):
        if isinstance(spec.get(key), str) and spec[key].strip():  # an archive or a repository: no index release
            return f"{text} @ {scheme}{spec[key].strip()}" + (f" {marker}" if marker else "")
    if any(k in spec for k in ("git", "url", "path")):  # a path: the lock has it, from no index (``sourced``)
        return text + marker
    choices = alternatives(str(spec.get("version", "*")))
    if choices is None or "" in choices:
        return text + marker
    return " || ".join(text + one + marker for one in choices)


def _python_holds(allowed: str, environment: Mapping[str, str]) -> bool:
    """Whether the target's Python meets ``allowed`` as poetry-core's marker of it says: an exact
    version of two parts is ``python_version``'s (``python = "3.11"`` is 3.11.4's), every other
    comparison ``python_full_version``'s (``">3.11"`` is 3.11.4's, ``"<=3.11"`` is not)."""
    for spec in SpecifierSet(allowed):
        try:
            short = spec.operator == "==" and not spec.version.endswith(".*") and len(Version(spec.version).release) <= 2
        except InvalidVersion:
            short = False
        target = environment.get("python_version" if short else "python_full_version", "")
        if not spec.contains(target, prereleases=True):
            return False
    return True


def alternatives(constraint: str) -> list[str] | None:
    """Poetry's constraint as the PEP 440 specifiers of each of its alternatives (``||``, or Poetry's
    ``|``), one of which a version must meet; None when a part is not understood."""
    found = [specifiers(one) for one in re.split(r"\|\|?", constraint)]
    return None if any(one is None for one in found) else [one for one in found if one is not None]


def specifiers(constraint: str) -> str | None:
    """Poetry's version constraint as PEP 440 specifiers, in its order (``^1.2`` is ``>=1.2,<2``);
    None when it holds an alternative (``||``) or a part not understood."""
    text = constraint.strip()
    if text in ("", "*"):
        return ""
    if "|" in text:
        return None
    out: list[str] = []
    for part in (p for p in re.split(r"[,\s]+", _OPERATOR_SPACE.sub(r"\1", text)) if p):
        one = _part(part)
        if one is None:
            return None
        out += one
    try:
        SpecifierSet(",".join(out))
    except InvalidSpecifier:
        return None
    return ",".join(out)


def _part(part: str) -> list[str] | None:
    """One part of a constraint as PEP 440 specifiers."""
    if part in ("*", "=="):
        return []
    if part.startswith(("^", "~")) and not part.startswith("~="):
        try:
            release = list(Version(part[1:]).release)
        except InvalidVersion:
            return None
        if part[0] == "^":  # the first part that is not zero goes up, or the last one given
            at = next((i for i, n in enumerate(release) if n), len(release) - 1)
        else:  # ~1 is >=1,<2; ~1.2 and ~1.2.3 are <1.3
            at = 0 if len(release) == 1 else 1
        upper = [*release[:at], release[at] + 1]
        return [f">={part[1:]}", f"<{'.'.join(map(str, upper))}"]
    if part.startswith("=") and not part.startswith("=="):
        part = "=" + part
    elif part[0] not in "<>=!~":
        part = "==" + part
    return [part]
