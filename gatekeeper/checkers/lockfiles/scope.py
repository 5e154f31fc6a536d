"""What a lock holds beyond the selection: the groups and extras left out, how many packages only
they bring, and which of them the lock's own install command installs by default.

The selection is the run-time dependencies plus the groups and extras the policy lists (a
``pylock.toml``: its ``default-groups``). ``uv sync`` also installs the ``dev`` group (or
``[tool.uv] default-groups``), ``poetry install`` every group not marked ``optional``, ``pdm
install`` every dev group: a package CI installs from the lock can lie outside the selection. The
checks never report a selection smaller than the lock as if it were the lock (``note``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from gatekeeper import tomlio
from gatekeeper.checkers.lockfiles.model import Lock, LockError, Selection

#: the command that installs a lock of each format, as the summaries name it
INSTALLERS = {
    "uv.lock": "uv sync",
    "poetry.lock": "poetry install",
    "pdm.lock": "pdm install",
    "pylock.toml": "an installer of pylock.toml (its default-groups)",
}


def left_out(lock: Lock, selection: Selection, project: str = "") -> dict[str, Any]:
    """The ``lock`` metric's account of what the selection leaves out: ``counted_groups`` (the
    run-time group, then the groups and ``extra:NAME`` extras counted); ``left_out``: one entry per
    group not counted (``group``, the ``packages`` it alone would add, ``installed_by_default`` by
    ``installer``), then one for every extra not counted together (``extras``, their ``packages``:
    no install command installs an extra unasked, and a lock may have dozens); ``packages`` None
    and ``error`` when that reading fails; ``left_out_packages``: how many distinct packages they
    add in all."""
    from gatekeeper.checkers.lockfiles import read_lock

    base = replace(selection, groups=lock.default_groups) if lock.default_groups and not selection.groups else selection
    prefix = "" if lock.format == "pdm.lock" else "extra:"  # a PDM lock's extras are groups
    counted = [*base.groups, *(f"{prefix}{x}" for x in base.extras)]
    runtime = [g for g in lock.groups if g in ("main", "default")][:1] or ["run time"]
    have = {p.ref for p in lock.packages}
    defaults = installed_by_default(lock)
    rest = [g for g in lock.groups if g not in counted and g not in ("main", "default")]
    units: list[tuple[dict[str, Any], Selection]] = [
        ({"group": g, "installed_by_default": g in defaults}, replace(base, groups=(*base.groups, g)))
        for g in rest
        if not g.startswith("extra:")
    ]
    extras = [g.removeprefix("extra:") for g in rest if g.startswith("extra:")]
    if extras:
        units.append(({"extras": extras, "installed_by_default": False}, replace(base, extras=(*base.extras, *extras))))
    entries: list[dict[str, Any]] = []
    added: set[str] = set()
    for entry, chosen in units:
        try:
            more = {p.ref for p in read_lock(lock.path, chosen, project).packages} - have
        except LockError as exc:  # a group uv resolved apart (conflicts): said, never taken for none
            entries.append({**entry, "packages": None, "error": str(exc)})
            continue
        entries.append({**entry, "packages": len(more)})
        added |= more
    return {
        "counted_groups": runtime + counted,
        "left_out": entries,
        "left_out_packages": len(added),
        "installer": INSTALLERS.get(lock.format, ""),
    }


def installed_by_default(lock: Lock) -> frozenset[str]:
    """The groups the lock's own install command installs when told nothing: ``uv sync`` the
    project's ``[tool.uv] default-groups`` (``["dev"]`` when unset, ``"all"`` every group),
    ``poetry install`` every group whose ``[tool.poetry.group.NAME]`` is not ``optional = true``,
    ``pdm install`` every dev group (``[dependency-groups]``, ``[tool.pdm.dev-dependencies]``), a
    ``pylock.toml`` its ``default-groups``. Extras never."""
    known = [g for g in lock.groups if not g.startswith("extra:") and g not in ("main", "default")]
    if lock.format == "pylock.toml":
        return frozenset(lock.default_groups)
    project = _pyproject(lock.path.parent)
    tool = _table(project, "tool")
    if lock.format == "uv.lock":
        chosen = _table(tool, "uv").get("default-groups", ["dev"])
        return frozenset(known if chosen == "all" else [g for g in known if isinstance(chosen, list) and g in chosen])
    if lock.format == "poetry.lock":
        groups = _table(_table(tool, "poetry"), "group")
        return frozenset(g for g in known if not _table(groups, g).get("optional"))
    if lock.format == "pdm.lock":
        dev = {*_table(project, "dependency-groups"), *_table(_table(tool, "pdm"), "dev-dependencies")}
        return frozenset(g for g in known if g in dev)
    return frozenset()


def note(lock: Mapping[str, Any] | None, check: str, verb: str) -> str:
    """The words a summary ends with when the selection leaves packages of the lock out: how many,
    in which groups and extras, which of them the lock's install command installs by default, and
    the policy keys that count them ("" when nothing is left out). ``verb``: what was not done to
    them ("audited", "listed", "compared")."""
    if not isinstance(lock, Mapping):
        return ""
    parts = []
    for entry in lock.get("left_out") or ():
        what = f"the group {entry['group']}" if "group" in entry else _extras(entry.get("extras") or [])
        default = f", which {lock.get('installer')} installs by default" if entry.get("installed_by_default") else ""
        if entry.get("packages") is None:
            parts.append(f"{what} (its packages could not be counted: {entry.get('error')}{default})")
        elif entry["packages"]:
            parts.append(f"{what} ({entry['packages']} package{'' if entry['packages'] == 1 else 's'}{default})")
    if not parts:
        return ""
    total = int(lock.get("left_out_packages") or 0)
    counted = " + ".join(str(g) for g in lock.get("counted_groups") or ())
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} nor {parts[-1]}"
    return (
        f"; {total} more package{'' if total == 1 else 's'} of {lock.get('path')} not {verb}: only {counted} counted, "
        f"not {listed}; checks.{check}.groups and extras count them"
    )


def _extras(names: list[str]) -> str:
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return f"the extra{'s' if len(names) > 1 else ''} {shown}"


def _pyproject(here: Path) -> dict[str, Any]:
    try:
        return tomlio.loads((here / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError):
        return {}


def _table(data: object, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}
