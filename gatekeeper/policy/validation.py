"""Validating the layered policy document: unknown keys, the core sections, one section per installed
checker (against its options), confined paths, waivers (``gatekeeper.waivers``) and controls."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import fileio
from gatekeeper.errors import PolicyError
from gatekeeper.fileio import shipped_dir
from gatekeeper.options import COMMON_OPTIONS, Option
from gatekeeper.policy.loading import read_toml
from gatekeeper.policy.locate import Where, locate
from gatekeeper.policy.schema import CONFINED_PATHS, CONTROL_SCHEMA, CORE_SCHEMA, TOP_KEYS
from gatekeeper.policy.values import did_you_mean, validate_section

if TYPE_CHECKING:
    from gatekeeper.waivers import Waiver


def validate(
    doc: Mapping[str, Any],
    checkers: Mapping[str, Mapping[str, Option] | None],
    path: Path,
    texts: Mapping[str, tuple[Path, str, str]],
    reads: list[tuple[str, Path, bytes]] | None = None,
) -> tuple[dict[str, Any], tuple[Waiver, ...]]:
    """The layered policy document validated: the effective data (every default filled in) and its
    waivers; a ``PolicyError`` naming file, key and line otherwise."""
    from gatekeeper.waivers import WaiverRules, validate_waiver  # it imports this package's values

    where = Where(path, texts)
    for key in doc:
        if key not in TOP_KEYS:
            raise where.error(key, "unknown key", did_you_mean(key, TOP_KEYS))
    data: dict[str, Any] = {}
    for name, schema in CORE_SCHEMA.items():
        data[name] = validate_section(doc.get(name, {}), schema, name, where)
    data["checks"] = _validate_checks(doc.get("checks", {}), checkers, texts, where)
    _confine_paths(data, where)
    waivers_in = list(doc.get("waivers", []) if isinstance(doc.get("waivers", []), list) else _bad(where, "waivers"))
    rules = WaiverRules(checkers, int(data["gate"]["max_waiver_days"]))
    waivers = [validate_waiver(w, i, where, rules) for i, w in enumerate(waivers_in)]
    waivers_file = doc.get("waivers_file")
    if waivers_file is not None:
        if not isinstance(waivers_file, str) or not waivers_file:
            raise where.error("waivers_file", "expected a path to a TOML file with [[waivers]] tables")
        declared_in = texts.get("waivers_file", (path, "", ""))[0]
        wpath = (declared_in.parent / waivers_file).resolve()
        if not wpath.is_file():
            raise where.error("waivers_file", f"no such file: {wpath}")
        wdoc, wtext = read_toml(wpath, reads, "waivers")
        extra = set(wdoc) - {"waivers"}
        if extra:
            key = sorted(extra)[0]
            raise PolicyError("unknown key (a waivers file holds only [[waivers]] tables)", file=str(wpath), key=key,
                              line=locate(wtext, key))  # fmt: skip
        if not isinstance(wdoc.get("waivers", []), list):
            raise PolicyError("expected [[waivers]] tables", file=str(wpath), key="waivers")
        file_where = Where(wpath, {"waivers": (wpath, wtext, "")})  # errors name the waivers file and its line
        offset = len(waivers)
        waivers += [validate_waiver(w, i, file_where, rules, offset + i + 1) for i, w in enumerate(wdoc.get("waivers", []))]
        data["waivers_file"] = str(wpath)
    data["controls"] = _validate_controls(doc, data["gate"]["controls"], where, checkers)
    ids = [w.id for w in waivers]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise where.error("waivers", f"waiver id {dupes[0]!r} is used more than once")
    data["waivers"] = [w.to_dict() for w in waivers]
    return data, tuple(waivers)


def _validate_checks(
    checks_in: Any,
    checkers: Mapping[str, Mapping[str, Option] | None],
    texts: Mapping[str, tuple[Path, str, str]],
    where: Where,
) -> dict[str, Any]:
    """The ``[checks.*]`` sections, one per installed checker, validated against its options."""
    if not isinstance(checks_in, dict):
        raise where.error("checks", "expected a table of check sections")
    shipped = shipped_dir("policies").resolve()
    for name in checks_in:
        origin = texts.get(f"checks.{name}")
        if name not in checkers and origin is not None and origin[0].resolve().parent == shipped:
            continue  # a shipped preset may configure a built-in that this installation lacks
        if name not in checkers:
            hint = did_you_mean(name, list(checkers)) or "run 'gatekeeper plugins' to list installed checkers"
            raise where.error(f"checks.{name}", f"no checker named {name!r} is installed", hint)
    checks: dict[str, Any] = {}
    for name, options in checkers.items():
        if options is None:  # a plugin that failed to load: its keys cannot be checked, keep them
            section = checks_in.get(name, {})
            checks[name] = {
                **{k: o.default for k, o in COMMON_OPTIONS.items()},
                **(section if isinstance(section, dict) else {}),
            }
            continue
        checks[name] = validate_section(checks_in.get(name, {}), {**COMMON_OPTIONS, **options}, f"checks.{name}", where)
    return checks


def _confine_paths(data: Mapping[str, Any], where: Where) -> None:
    for keypath, keywords in CONFINED_PATHS.items():
        node: Any = data
        for part in keypath.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        for value in node if isinstance(node, list) else [node]:
            if not isinstance(value, str) or not value or value in keywords:
                continue
            if not fileio.inside(value):
                raise where.error(
                    keypath,
                    f"{value!r} leaves the project: a path in the policy must be relative and stay inside the project root",
                    "to write or read outside the project, use the command line (--output-dir, --results-out)",
                )


def _bad(where: Where, key: str) -> list[Any]:
    raise where.error(key, "expected an array of tables ([[waivers]])")


def _validate_controls(
    doc: Mapping[str, Any], catalogues: list[str], where: Where, checkers: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Check ``[gate] controls`` names shipped catalogues and each ``[[controls]]`` table; return the tables."""
    from gatekeeper.controls import catalogue_names

    for name in catalogues:
        if name not in catalogue_names():
            shipped = ", ".join(catalogue_names()) or "none"
            raise where.error("gate.controls", f"no control catalogue named {name!r} (shipped: {shipped})",
                              did_you_mean(name, catalogue_names()))  # fmt: skip
    value = doc.get("controls", [])
    if not isinstance(value, list):
        raise where.error("controls", "expected an array of tables ([[controls]])")
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(value):
        keypath = f"controls[{index}]"
        if not isinstance(item, dict):
            raise where.error(keypath, "expected a table")
        control = validate_section(item, CONTROL_SCHEMA, keypath, where)
        for required in ("id", "title", "checks"):
            if not control[required]:
                why = "is required (a control needs an id, a title and the checks that evidence it)"
                raise where.error(f"{keypath}.{required}", why)
        for name in control["checks"]:
            if name not in checkers:
                hint = did_you_mean(name, list(checkers)) or "run 'gatekeeper plugins' to list installed checkers"
                raise where.error(f"{keypath}.checks", f"no checker named {name!r} is installed", hint)
        key = (control["framework"], control["id"])
        if key in seen:
            raise where.error(f"{keypath}.id", f"control id {control['id']!r} is defined more than once")
        seen.add(key)
        out.append(control)
    return out
