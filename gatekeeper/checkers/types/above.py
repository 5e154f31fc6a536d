"""The mypy configuration above the project that mypy run by hand in the root would read.

With no configuration file in the project root, mypy climbs from its working folder to the folders
above it, up to one holding ``.git`` or ``.hg``, and reads the first configuration it finds there
(``mypy.config_parser._find_config_file``). The check reads only the root's: a configuration above the
project lies outside the tree it judges. So that the two never differ unsaid, the check names the
file mypy by hand would have read (``config_above``).
"""

from __future__ import annotations

import configparser
from collections.abc import Sequence
from pathlib import Path

from gatekeeper import tomlio


def config_above(root: Path, names: Sequence[str]) -> Path | None:
    """The configuration file (of ``names``, in mypy's order) that mypy in ``root``, which has none,
    would read from a folder above it, or None: the climb stops at a folder holding ``.git`` or ``.hg``."""
    here = root
    while not any((here / marker).exists() for marker in (".git", ".hg")):
        parent = here.parent
        if parent == here:
            return None
        here = parent
        for name in names:
            if _read_by_mypy(here / name):
                return here / name
    return None


def _read_by_mypy(path: Path) -> bool:
    """Whether mypy takes ``path`` for its configuration (``_parse_individual_file``): it exists and
    parses, and a ``pyproject.toml`` has ``[tool.mypy]``, a ``setup.cfg`` a ``[mypy]`` section."""
    if not path.exists():
        return False
    try:
        text = path.read_text(encoding="utf-8")
        if path.name.endswith(".toml"):
            tool = tomlio.loads(text).get("tool")
            return isinstance(tool, dict) and "mypy" in tool
        parser = configparser.RawConfigParser()
        parser.read_string(text, source=str(path))
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError, configparser.Error):
        return False
    return path.name != "setup.cfg" or parser.has_section("mypy")
