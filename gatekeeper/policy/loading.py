"""Finding and reading policy files: ``--policy``, gatekeeper.toml, ``[tool.gatekeeper]`` or the shipped
default; TOML parsed with errors naming the line; ``extends`` layered (presets or relative files,
cycles refused) with every file read kept for the policy's digests."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekeeper import tomlio
from gatekeeper.errors import PolicyError
from gatekeeper.fileio import shipped_dir
from gatekeeper.policy.locate import locate
from gatekeeper.policy.schema import POLICY_FILE
from gatekeeper.policy.values import did_you_mean


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


def read_toml(path: Path, reads: list[tuple[str, Path, bytes]] | None = None, role: str = "") -> tuple[dict[str, Any], str]:
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


def load_layered(
    path: Path, source: str, seen: set[Path], reads: list[tuple[str, Path, bytes]]
) -> tuple[dict[str, Any], dict[str, tuple[Path, str, str]]]:
    """The policy at ``path`` merged over whatever it extends; ``texts`` maps top-level key
    paths to (file, text, prefix) for locating lines in error messages. Each file parsed is added to ``reads``."""
    resolved = path.resolve()
    if resolved in seen:
        raise PolicyError("extends forms a cycle", file=str(path), key="extends")
    seen = seen | {resolved}
    doc, text = read_toml(path, reads, "extends" if reads else "policy")
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
                line=locate(text, "waivers"),
            )
    base: dict[str, Any] = {}
    texts: dict[str, tuple[Path, str, str]] = {}
    extends = doc.get("extends")
    if extends is not None:
        if not isinstance(extends, str) or not extends.strip():
            raise PolicyError("expected a preset name or a relative path", file=str(path), key=f"{prefix}extends",
                              line=locate(text, f"{prefix}extends"))  # fmt: skip
        target = _resolve_extends(extends, path, text, prefix)
        base, texts = load_layered(target, "file", seen, reads)
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
        hint = did_you_mean(value, presets())
        raise PolicyError(
            f"no shipped preset named {value!r} (presets: {', '.join(presets())})",
            file=str(path), key=f"{prefix}extends", line=locate(text, f"{prefix}extends"), hint=hint,
        )  # fmt: skip
    target = (path.parent / value).resolve()
    if not target.is_file():
        raise PolicyError(f"extends {value!r}: no such file ({target})", file=str(path), key=f"{prefix}extends",
                          line=locate(text, f"{prefix}extends"))  # fmt: skip
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


def to_toml(data: Mapping[str, Any]) -> str:
    """Render the effective policy as TOML that loads back to the same data (empty arrays included)."""
    return tomlio.dumps(data)
