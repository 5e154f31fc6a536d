"""The starter policy ``gatekeeper policy init`` writes: the shipped template, the checks whose tools are
installed switched on, the coverage minimum seeded from the project's own coverage.py ``fail_under``."""

from __future__ import annotations

import configparser
import re
from collections.abc import Collection
from pathlib import Path

from gatekeeper import tomlio
from gatekeeper.fileio import shipped_dir


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
