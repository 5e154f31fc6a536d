"""Policy files: discovery, ``extends`` layering, defaults and strict validation into a frozen Policy.

Every problem raises ``PolicyError`` naming the file, the key path, the line where it can be
found, and what was expected (with a did-you-mean for typos).
"""

from __future__ import annotations

import configparser
import copy
import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gatekeeper import fileio, tomlio
from gatekeeper.errors import PolicyError
from gatekeeper.fileio import shipped_dir
from gatekeeper.options import COMMON_OPTIONS, MAX_TIMEOUT_S, Option
from gatekeeper.policydigest import PolicyFile, effective_sha256, policy_file
from gatekeeper.reports.registry import FORMAT_NAMES

POLICY_FILE = "gatekeeper.toml"
REPORT_FORMATS = FORMAT_NAMES

#: The sections gatekeeper itself owns; checker sections come from the checkers' own options.
CORE_SCHEMA: Mapping[str, Mapping[str, Option]] = {
    "gate": {
        "fail_on_error": Option("bool", True, "a check that cannot run fails the gate (exit 3)"),
        "timeout_s": Option("float", 900.0, "time limit per checker, in seconds", minimum=1, maximum=MAX_TIMEOUT_S),
        "tool_python": Option(
            "str", "", "interpreter that runs every tool (bandit, coverage, pip-audit, ruff, mypy...); default: gatekeeper's"
        ),
        "strict_waivers": Option("bool", False, "expired or unused waivers fail the gate"),
        "controls": Option("str_list", [], "shipped control catalogues to report against, e.g. nist-ssdf-1.1"),
        "max_waiver_days": Option(
            "int", 365, "a waiver may expire at most this many days from today", minimum=1, maximum=100 * 366
        ),
        "new_code": Option(
            "str",
            "",
            '"merge-base": only findings new since the merge-base with the base branch block',
            choices=("", "merge-base"),
        ),
        "new_code_base": Option(
            "str", "", 'the base branch new_code = "merge-base" starts from; empty: the pull request\'s target from the CI'
        ),
    },
    "review": {
        "enabled": Option("bool", True, "new-code runs review the packages added, changed or removed since REF"),
        "block_vulnerable": Option("bool", True, "an added or changed package with a known vulnerability blocks"),
        "deny": Option("str_list", [], "packages that may not be added"),
        "allow_licenses": Option("str_list", [], "licenses (SPDX ids) an added package may have; empty: any"),
    },
    "reports": {
        "output_dir": Option("str", "gatekeeper-reports", "where reports are written (relative to the project)"),
        "formats": Option("str_list", ["json", "sarif", "html"], "report formats", choices=REPORT_FORMATS),
    },
    "audit": {
        "enabled": Option("bool", True, "append a record of every run to the audit log"),
        "log": Option("str", ".gatekeeper/audit.jsonl", "the audit log (relative to the project)"),
        "timestamp_url": Option(
            "str", "", "RFC 3161 timestamp authority: each audit record and attestation carries its token; empty: runner's clock"
        ),
        "timestamp_ca": Option("str", "", "PEM certificate(s) the authority's tokens must chain to; required with timestamp_url"),
    },
    "cache": {
        "enabled": Option("bool", True, "reuse results for unchanged inputs"),
        "dir": Option("str", "", "the cache folder (relative to the project); empty: the user's cache directory, per repository"),
    },
    "environment": {
        "python": Option("str", "", "interpreter of the environment to inspect; default: active venv, else gatekeeper's"),
        "scope": Option(
            "str", "all", "all installed distributions, or the project's dependency closure", choices=("all", "project")
        ),
    },
}

WAIVER_SCHEMA: Mapping[str, Option] = {
    "id": Option("str", "", "a name for the waiver; default: W<n>"),
    "check": Option("str", "", "the check the waiver applies to"),
    "rule": Option("str", "", "rule id, advisory id or alias, or license id"),
    "path": Option("str", "", "glob on the finding's path"),
    "package": Option("str", "", "package name (dependencies, licenses)"),
    "reason": Option("str", "", "why the finding is accepted, in a few words (at least three)"),
    "approved_by": Option("str", "", "who approved it (required)"),
    "expires": Option("str", "", "the date after which the waiver stops applying (YYYY-MM-DD)"),
}

CONTROL_SCHEMA: Mapping[str, Option] = {
    "id": Option("str", "", "the control's identifier, e.g. SEC-7"),
    "title": Option("str", "", "what the control requires"),
    "checks": Option("str_list", [], "the checks whose results are the control's evidence"),
    "framework": Option("str", "", "the framework or catalogue the control belongs to; default: custom"),
}

#: the fewest words a waiver's reason may have: "x" or "ok" records no reason an auditor can weigh
MIN_REASON_WORDS = 3

TOP_KEYS = ("extends", "waivers_file", "waivers", "controls", "checks", *CORE_SCHEMA)


@dataclass(frozen=True, slots=True)
class Waiver:
    """An accepted finding: which findings it matches, why, who said so, and until when.

    A policy ``[[waivers]]`` table is ``kind = "waiver"``; a VEX statement (``gatekeeper.vex``) is
    ``kind = "vex"``, narrowed to one package ``version`` and any of the vulnerability's ``aliases``,
    with the ``source`` file, its VEX ``status`` and ``justification``.
    """

    id: str
    check: str
    rule: str
    reason: str
    expires: dt.date
    approved_by: str = ""
    path: str = ""
    package: str = ""
    kind: str = "waiver"
    version: str = ""
    aliases: tuple[str, ...] = ()
    source: str = ""
    status: str = ""
    justification: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (dates as ISO strings); a VEX statement adds what only it has."""
        data: dict[str, Any] = {
            "id": self.id,
            "check": self.check,
            "rule": self.rule,
            "path": self.path,
            "package": self.package,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "expires": self.expires.isoformat(),
        }
        if self.kind != "waiver":
            data.update(
                kind=self.kind,
                version=self.version,
                aliases=list(self.aliases),
                source=self.source,
                status=self.status,
                justification=self.justification,
            )
        return data


@dataclass(frozen=True)
class Policy:
    """A validated policy with every default filled in; read-only."""

    path: str  # the file it came from ("" for the shipped default)
    sha256: str  # digest of that file's bytes
    source: str  # "file", "pyproject" or "default"
    data: Mapping[str, Any] = field(repr=False)
    waivers: tuple[Waiver, ...] = ()
    #: every file the policy was built from (this file first, then each it extends, then its waivers file)
    files: tuple[PolicyFile, ...] = ()
    effective_sha256: str = ""  # digest of ``data``, the effective policy (``policydigest.effective_sha256``)

    def section(self, name: str) -> Mapping[str, Any]:
        """A core section (gate, reports, audit, cache, environment) as a read-only mapping."""
        return MappingProxyType(self.data[name])

    @property
    def gate(self) -> Mapping[str, Any]:
        """The ``[gate]`` section."""
        return self.section("gate")

    @property
    def reports(self) -> Mapping[str, Any]:
        """The ``[reports]`` section."""
        return self.section("reports")

    @property
    def audit(self) -> Mapping[str, Any]:
        """The ``[audit]`` section."""
        return self.section("audit")

    @property
    def cache(self) -> Mapping[str, Any]:
        """The ``[cache]`` section."""
        return self.section("cache")

    @property
    def environment(self) -> Mapping[str, Any]:
        """The ``[environment]`` section."""
        return self.section("environment")

    @property
    def checks(self) -> Mapping[str, Mapping[str, Any]]:
        """Every installed checker's section, defaults filled in."""
        return MappingProxyType({k: MappingProxyType(v) for k, v in self.data["checks"].items()})

    def describe(self) -> dict[str, Any]:
        """The ``policy`` block of the JSON result: the top file and its sha256, the effective policy's
        sha256, and every file it was built from with its own."""
        return {
            "path": self.path or "(built-in default)",
            "sha256": self.sha256,
            "source": self.source,
            "effective_sha256": self.effective_sha256,
            "files": [f.to_dict() for f in self.files],
        }


# --------------------------------------------------------------------------- locating policies


def presets() -> list[str]:
    """The names of the shipped policy presets."""
    return sorted(p.stem for p in shipped_dir("policies").glob("*.toml"))


def find_policy(root: Path, explicit: str | Path | None = None) -> tuple[Path, str]:
    """Which policy applies: ``--policy``, gatekeeper.toml, [tool.gatekeeper], or the shipped default.

    Returns the file and its kind ("file", "pyproject" or "default").
    """
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise PolicyError("policy file not found", file=str(explicit), hint="check the --policy path")
        return path, "pyproject" if path.name == "pyproject.toml" else "file"
    candidate = root / POLICY_FILE
    pyproject = root / "pyproject.toml"
    _require_readable(candidate)
    if candidate.is_file():
        return candidate, "file"
    _require_readable(pyproject)
    if pyproject.is_file():
        try:
            doc = tomlio.loads(pyproject.read_text(encoding="utf-8-sig"))
        except (tomlio.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError(f"invalid TOML: {exc}", file=str(pyproject)) from exc
        except RecursionError:
            raise PolicyError("invalid TOML: arrays or tables nested too deeply", file=str(pyproject)) from None
        except OSError as exc:
            raise PolicyError(f"cannot read: {exc.strerror}", file=str(pyproject)) from exc
        if isinstance(doc.get("tool"), dict) and "gatekeeper" in doc["tool"]:
            return pyproject, "pyproject"
    return shipped_dir("policies") / "default.toml", "default"


def _require_readable(path: Path) -> None:
    """A policy that is there but unreadable must not silently give way to the (laxer) default."""
    if not path.is_file() and (path.is_symlink() or path.exists()):
        raise PolicyError("is not a readable file (a dangling or looping symbolic link, or a folder)", file=str(path))


# --------------------------------------------------------------------------- loading


def load_policy(
    root: Path,
    checkers: Mapping[str, Mapping[str, Option] | None],
    explicit: str | Path | None = None,
) -> Policy:
    """Find, parse, layer and validate the policy for the project at ``root``.

    ``checkers`` maps every installed checker's name to its options; a ``[checks.X]`` section
    for a checker that is not installed is an error.
    """
    path, source = find_policy(root, explicit)
    reads: list[tuple[str, Path, bytes]] = []  # every file parsed, with the very bytes parsed
    merged, texts = _load_layered(path, source, set(), reads)
    data, waivers = _validate(merged, checkers, path, texts, reads)
    presets_dir = shipped_dir("policies")
    files = tuple(policy_file(role, where, raw, root, presets_dir) for role, where, raw in reads)
    return Policy(
        path="" if source == "default" else str(path),
        sha256=files[0].sha256,
        source=source,
        data=data,
        waivers=waivers,
        files=files,
        effective_sha256=effective_sha256(data),
    )


def _read_toml(path: Path, reads: list[tuple[str, Path, bytes]] | None = None, role: str = "") -> tuple[dict[str, Any], str]:
    """The TOML document at ``path`` and its text; with ``reads``, (``role``, path, the bytes parsed) is appended to it."""
    try:
        raw = path.read_bytes()
        if reads is not None:
            reads.append((role, path, raw))
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is not an error
    except UnicodeDecodeError as exc:
        raise PolicyError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from exc
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    try:
        return tomlio.loads(text), text
    except tomlio.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        if m:
            msg = msg[: m.start()].strip() + f" at line {m.group(1)}, column {m.group(2)}"
        raise PolicyError(f"invalid TOML: {msg}", file=str(path), line=line) from exc
    except RecursionError:  # tomllib recurses once per level of nesting
        raise PolicyError("invalid TOML: arrays or tables nested too deeply", file=str(path)) from None


def _load_layered(
    path: Path, source: str, seen: set[Path], reads: list[tuple[str, Path, bytes]]
) -> tuple[dict[str, Any], dict[str, tuple[Path, str, str]]]:
    """The policy at ``path`` merged over whatever it extends; ``texts`` maps top-level key
    paths to (file, text, prefix) for locating lines in error messages. Each file parsed is added to ``reads``."""
    resolved = path.resolve()
    if resolved in seen:
        raise PolicyError("extends forms a cycle", file=str(path), key="extends")
    seen = seen | {resolved}
    doc, text = _read_toml(path, reads, "extends" if reads else "policy")
    prefix = ""
    if source == "pyproject":
        full, tool = doc, doc.get("tool", {})
        doc = tool.get("gatekeeper", {}) if isinstance(tool, dict) else {}
        prefix = "tool.gatekeeper."
        if not isinstance(doc, dict):
            raise PolicyError("must be a table", file=str(path), key="tool.gatekeeper")
        if "waivers" in full:
            # a top-level [[waivers]] in pyproject.toml is no part of the policy: never ignore it silently
            raise PolicyError(
                "waivers in pyproject.toml belong under [tool.gatekeeper]: write [[tool.gatekeeper.waivers]]",
                file=str(path),
                key="waivers",
                line=_locate(text, "waivers"),
            )
    base: dict[str, Any] = {}
    texts: dict[str, tuple[Path, str, str]] = {}
    extends = doc.get("extends")
    if extends is not None:
        if not isinstance(extends, str) or not extends.strip():
            raise PolicyError("expected a preset name or a relative path", file=str(path), key=f"{prefix}extends",
                              line=_locate(text, f"{prefix}extends"))  # fmt: skip
        target = _resolve_extends(extends, path, text, prefix)
        base, texts = _load_layered(target, "file", seen, reads)
    for key in doc:
        texts[key] = (path, text, prefix)
    if "checks" in doc and isinstance(doc["checks"], dict):
        for name in doc["checks"]:
            texts[f"checks.{name}"] = (path, text, prefix)
    return _merge(base, doc), texts


def _resolve_extends(value: str, path: Path, text: str, prefix: str) -> Path:
    if "/" not in value and "\\" not in value and not value.endswith(".toml"):
        preset = shipped_dir("policies") / f"{value}.toml"
        if preset.is_file():
            return preset
        hint = _did_you_mean(value, presets())
        raise PolicyError(
            f"no shipped preset named {value!r} (presets: {', '.join(presets())})",
            file=str(path), key=f"{prefix}extends", line=_locate(text, f"{prefix}extends"), hint=hint,
        )  # fmt: skip
    target = (path.parent / value).resolve()
    if not target.is_file():
        raise PolicyError(f"extends {value!r}: no such file ({target})", file=str(path), key=f"{prefix}extends",
                          line=_locate(text, f"{prefix}extends"))  # fmt: skip
    return target


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; ``waivers`` and ``controls`` arrays concatenate; anything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if key == "extends":
            continue
        if key in ("waivers", "controls") and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = out[key] + copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------- validation


class _Where:
    """Finds the file and line for a key path, for error messages."""

    def __init__(self, default_file: Path, texts: Mapping[str, tuple[Path, str, str]]) -> None:
        self.default_file = default_file
        self.texts = texts

    def error(self, keypath: str, message: str, hint: str | None = None) -> PolicyError:
        parts = keypath.split(".")
        origin = None
        if parts[0] == "checks" and len(parts) > 1:
            origin = self.texts.get(f"checks.{parts[1]}")
        origin = origin or self.texts.get(parts[0]) or self.texts.get(parts[0].partition("[")[0])
        if origin is None:
            return PolicyError(message, file=str(self.default_file), key=keypath, hint=hint)
        path, text, prefix = origin
        return PolicyError(message, file=str(path), key=prefix + keypath, line=_locate(text, prefix + keypath), hint=hint)


def _validate(
    doc: Mapping[str, Any],
    checkers: Mapping[str, Mapping[str, Option] | None],
    path: Path,
    texts: Mapping[str, tuple[Path, str, str]],
    reads: list[tuple[str, Path, bytes]] | None = None,
) -> tuple[dict[str, Any], tuple[Waiver, ...]]:
    where = _Where(path, texts)
    for key in doc:
        if key not in TOP_KEYS:
            raise where.error(key, "unknown key", _did_you_mean(key, TOP_KEYS))
    data: dict[str, Any] = {}
    for name, schema in CORE_SCHEMA.items():
        data[name] = _validate_section(doc.get(name, {}), schema, name, where)
    data["checks"] = _validate_checks(doc.get("checks", {}), checkers, texts, where)
    _confine_paths(data, where)
    waivers_in = list(doc.get("waivers", []) if isinstance(doc.get("waivers", []), list) else _bad(where, "waivers"))
    rules = _WaiverRules(checkers, int(data["gate"]["max_waiver_days"]))
    waivers = [_validate_waiver(w, i, where, rules) for i, w in enumerate(waivers_in)]
    waivers_file = doc.get("waivers_file")
    if waivers_file is not None:
        if not isinstance(waivers_file, str) or not waivers_file:
            raise where.error("waivers_file", "expected a path to a TOML file with [[waivers]] tables")
        declared_in = texts.get("waivers_file", (path, "", ""))[0]
        wpath = (declared_in.parent / waivers_file).resolve()
        if not wpath.is_file():
            raise where.error("waivers_file", f"no such file: {wpath}")
        wdoc, wtext = _read_toml(wpath, reads, "waivers")
        extra = set(wdoc) - {"waivers"}
        if extra:
            key = sorted(extra)[0]
            raise PolicyError("unknown key (a waivers file holds only [[waivers]] tables)", file=str(wpath), key=key,
                              line=_locate(wtext, key))  # fmt: skip
        if not isinstance(wdoc.get("waivers", []), list):
            raise PolicyError("expected [[waivers]] tables", file=str(wpath), key="waivers")
        file_where = _Where(wpath, {"waivers": (wpath, wtext, "")})  # errors name the waivers file and its line
        offset = len(waivers)
        waivers += [_validate_waiver(w, i, file_where, rules, offset + i + 1) for i, w in enumerate(wdoc.get("waivers", []))]
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
    where: _Where,
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
            hint = _did_you_mean(name, list(checkers)) or "run 'gatekeeper plugins' to list installed checkers"
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
        checks[name] = _validate_section(checks_in.get(name, {}), {**COMMON_OPTIONS, **options}, f"checks.{name}", where)
    return checks


#: Policy keys naming a place gatekeeper writes (or a file it reads and quotes): relative to the
#: project root (checks.sbom.output: to the output folder) and never leaving it, so a policy from
#: the checkout cannot aim a write, or a requirements file, outside the tree. The command line
#: (--output-dir, --results-out) may name any place.
CONFINED_PATHS: Mapping[str, tuple[str, ...]] = {
    "reports.output_dir": (),
    "audit.log": (),
    "cache.dir": (),
    "checks.sbom.output": (),
    "checks.sbom.source": ("environment",),
    "checks.dependencies.source": ("environment",),
    "checks.dependencies.vex": (),
    "checks.sbom.spdx_output": (),
    "checks.sbom.wheel": (),
}


def _confine_paths(data: Mapping[str, Any], where: _Where) -> None:
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


def _bad(where: _Where, key: str) -> list[Any]:
    raise where.error(key, "expected an array of tables ([[waivers]])")


def _validate_section(value: Any, schema: Mapping[str, Option], keypath: str, where: _Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(keypath, f"expected a table, got {_type_name(value)}")
    for key in value:
        if key not in schema:
            raise where.error(f"{keypath}.{key}", "unknown key", _did_you_mean(key, list(schema)))
    return {
        key: coerce_option(option, value[key], f"{keypath}.{key}", where) if key in value else copy.deepcopy(option.default)
        for key, option in schema.items()
    }


def coerce_option(option: Option, value: Any, keypath: str, where: _Where | None = None) -> Any:
    """Check ``value`` against ``option``; return it (ints widened to float where a float is asked)."""

    def fail(msg: str) -> PolicyError:
        return where.error(keypath, msg) if where else PolicyError(msg, key=keypath)

    kind = option.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise fail(f"expected true or false, got {_type_name(value)}")
        return value
    if kind in ("int", "float"):
        return _coerce_number(option, value, fail)
    if kind == "str":
        return _coerce_str(option, value, fail)
    if kind == "str_list":
        return _coerce_str_list(option, value, fail)
    if kind == "table":
        if not isinstance(value, dict):
            raise fail(f"expected a table, got {_type_name(value)}")
        return copy.deepcopy(value)
    raise AssertionError(kind)  # pragma: no cover - Option rejects other kinds


def _coerce_number(option: Option, value: Any, fail: Callable[[str], PolicyError]) -> Any:
    kind = option.kind
    if isinstance(value, str) and value in option.choices:  # a number option's keywords, e.g. "baseline"
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "int" and not isinstance(value, int)):
        words = "".join(f" or {c!r}" for c in option.choices)
        raise fail(f"expected {'an integer' if kind == 'int' else 'a number'}{words}, got {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise fail("expected a finite number")
    if option.minimum is not None and value < option.minimum:
        raise fail(f"must be at least {_num(option.minimum)}, got {_num(value)}")
    if option.maximum is not None and value > option.maximum:
        raise fail(f"must be at most {_num(option.maximum)}, got {_num(value)}")
    return float(value) if kind == "float" else value


def _coerce_str(option: Option, value: Any, fail: Callable[[str], PolicyError]) -> str:
    if not isinstance(value, str):
        raise fail(f"expected a string, got {_type_name(value)}")
    if "\x00" in value:  # no path, name or pattern holds one, and the OS rejects it in paths
        raise fail("must not contain a NUL character (\\u0000)")
    if option.choices and value not in option.choices:
        hint = _did_you_mean(value, option.choices)
        msg = f"expected one of {', '.join(repr(c) for c in option.choices)}, got {value!r}"
        raise fail(msg + (f" ({hint})" if hint else ""))
    problem = option.accepts(value) if option.accepts is not None else ""
    if problem:
        raise fail(problem)
    return value


def _coerce_str_list(option: Option, value: Any, fail: Callable[[str], PolicyError]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"expected a list of strings, got {_type_name(value)}")
    if any("\x00" in v for v in value):
        raise fail("must not contain a NUL character (\\u0000)")
    if option.choices:
        for v in value:
            if v not in option.choices:
                hint = _did_you_mean(v, option.choices)
                msg = f"{v!r} is not one of {', '.join(repr(c) for c in option.choices)}"
                raise fail(msg + (f" ({hint})" if hint else ""))
    return list(value)


@dataclass(frozen=True, slots=True)
class _WaiverRules:
    """What a waiver is checked against: the installed checkers and gate.max_waiver_days."""

    checkers: Mapping[str, Any]
    max_days: int = 365


def _validate_waiver(value: Any, index: int, where: _Where, rules: _WaiverRules, number: int = 0) -> Waiver:
    keypath = f"waivers[{index}]"
    if not isinstance(value, dict):
        raise where.error(keypath, "expected a table")
    fields: dict[str, Any] = {}
    for key, item in value.items():
        if key not in WAIVER_SCHEMA:
            raise where.error(f"{keypath}.{key}", "unknown key", _did_you_mean(key, list(WAIVER_SCHEMA)))
        if key == "expires":
            if isinstance(item, dt.datetime):
                item = item.date()
            elif isinstance(item, str):
                try:
                    item = dt.date.fromisoformat(item)
                except ValueError:
                    raise where.error(f"{keypath}.expires", f"expected a date like 2027-06-30, got {item!r}") from None
            elif not isinstance(item, dt.date):
                raise where.error(f"{keypath}.expires", f"expected a date like 2027-06-30, got {_type_name(item)}")
            fields[key] = item
        else:
            fields[key] = coerce_option(WAIVER_SCHEMA[key], item, f"{keypath}.{key}", where)
    for required in ("check", "reason", "approved_by", "expires"):
        if not fields.get(required):
            raise where.error(
                f"{keypath}.{required}", "is required (a waiver needs a check, a reason, an approver and an expiry date)"
            )
    if len(fields["reason"].split()) < MIN_REASON_WORDS:
        raise where.error(
            f"{keypath}.reason",
            f"{fields['reason']!r} is not a reason: say in a few words ({MIN_REASON_WORDS} or more) why the finding is accepted",
        )
    if not (fields.get("rule") or fields.get("package")):
        # a path alone would waive every rule there, including ones nobody has seen yet
        raise where.error(f"{keypath}.rule", "a waiver must name a rule or a package (a path only narrows one of them)")
    if fields["check"] not in rules.checkers:
        raise where.error(
            f"{keypath}.check", f"no checker named {fields['check']!r}", _did_you_mean(fields["check"], list(rules.checkers))
        )
    max_days = rules.max_days
    latest = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=max_days)
    if fields["expires"] > latest:
        raise where.error(
            f"{keypath}.expires",
            f"{fields['expires'].isoformat()} is more than {max_days} days away (gate.max_waiver_days): "
            f"a waiver is reviewed again by {latest.isoformat()} at the latest",
        )
    return Waiver(
        id=fields.get("id") or f"W{number or index + 1}",
        check=fields["check"],
        rule=fields.get("rule", ""),
        reason=fields["reason"],
        expires=fields["expires"],
        approved_by=fields["approved_by"],
        path=fields.get("path", ""),
        package=fields.get("package", ""),
    )


def _validate_controls(
    doc: Mapping[str, Any], catalogues: list[str], where: _Where, checkers: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Check ``[gate] controls`` names shipped catalogues and each ``[[controls]]`` table; return the tables."""
    from gatekeeper.controls import catalogue_names

    for name in catalogues:
        if name not in catalogue_names():
            shipped = ", ".join(catalogue_names()) or "none"
            raise where.error("gate.controls", f"no control catalogue named {name!r} (shipped: {shipped})",
                              _did_you_mean(name, catalogue_names()))  # fmt: skip
    value = doc.get("controls", [])
    if not isinstance(value, list):
        raise where.error("controls", "expected an array of tables ([[controls]])")
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(value):
        keypath = f"controls[{index}]"
        if not isinstance(item, dict):
            raise where.error(keypath, "expected a table")
        control = _validate_section(item, CONTROL_SCHEMA, keypath, where)
        for required in ("id", "title", "checks"):
            if not control[required]:
                why = "is required (a control needs an id, a title and the checks that evidence it)"
                raise where.error(f"{keypath}.{required}", why)
        for name in control["checks"]:
            if name not in checkers:
                hint = _did_you_mean(name, list(checkers)) or "run 'gatekeeper plugins' to list installed checkers"
                raise where.error(f"{keypath}.checks", f"no checker named {name!r} is installed", hint)
        key = (control["framework"], control["id"])
        if key in seen:
            raise where.error(f"{keypath}.id", f"control id {control['id']!r} is defined more than once")
        seen.add(key)
        out.append(control)
    return out


# --------------------------------------------------------------------------- helpers


def _did_you_mean(word: str, choices: Any) -> str | None:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {match[0]!r}?" if match else None


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return f"a date/time ({value.isoformat()})"
    return type(value).__name__


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


def _locate(text: str, keypath: str) -> int | None:
    """Best-effort line number of ``keypath`` (e.g. ``checks.coverage.min_total``) in ``text``.

    Understands table headers, arrays of tables (``waivers[2].reason``) and dotted keys; returns
    the header's line when the key itself is not written there.
    """
    if not text:
        return None
    parts = [p for p in re.split(r"\.(?![^\[]*\])", keypath) if p]
    target: list[str] = []
    array_index: dict[str, int] = {}
    for p in parts:
        m = re.fullmatch(r"(.+)\[(\d+)\]", p)
        if m:
            target.append(m.group(1))
            array_index[".".join(target)] = int(m.group(2))
        else:
            target.append(p)
    table: list[str] = []
    counts: dict[str, int] = {}
    best: int | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            table = [s.strip().strip("\"'") for s in header.group(1).split(".")]
            name = ".".join(table)
            if line.strip().startswith("[["):
                counts[name] = counts.get(name, -1) + 1
            if _matches_prefix(table, target, counts, array_index) and len(table) <= len(target):
                if table == target[: len(table)]:
                    best = lineno if best is None or len(table) >= 1 else best
                    if table == target:
                        return lineno
            continue
        key = _KEY.match(line)
        if key:
            full = table + [s.strip().strip("\"'") for s in key.group(1).split(".")]
            if full == target and _matches_prefix(table, target, counts, array_index):
                return lineno
            if full == target[: len(full)] and _matches_prefix(table, target, counts, array_index):
                best = lineno
    return best


def _matches_prefix(table: list[str], target: list[str], counts: Mapping[str, int], array_index: Mapping[str, int]) -> bool:
    name = ".".join(table)
    if name in array_index:
        return counts.get(name, -1) == array_index[name]
    return True


# --------------------------------------------------------------------------- TOML output


def to_toml(data: Mapping[str, Any]) -> str:
    """Render the effective policy as TOML that loads back to the same data (empty arrays included)."""
    return tomlio.dumps(data)


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
            try:
                return float(value), name
            except ValueError:
                return None
        if name == ".coveragerc":
            return None  # coverage.py reads no other file when .coveragerc exists
    try:
        doc = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError):
        return None
    value = ((doc.get("tool") or {}).get("coverage") or {}).get("report", {}).get("fail_under")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), "pyproject.toml"
    return None


def starter_policy(pyproject: bool = False, enable: Collection[str] = (), min_total: tuple[float, str] | None = None) -> str:
    """A commented starter policy, as gatekeeper.toml or as a ``[tool.gatekeeper]`` section.

    The checks named in ``enable`` (those off by default, e.g. ``lint``) are switched on;
    ``min_total`` (value, file) seeds the coverage minimum from the project's own ``fail_under``.
    """
    text = _switch_on((shipped_dir("policies") / "starter.toml.in").read_text(encoding="utf-8"), enable)
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
