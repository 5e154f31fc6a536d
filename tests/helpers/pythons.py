"""Interpreters of other Python versions than the one running the tests, for checks whose tool
interpreter and inspected environment differ in version (PATH's python3.N, pyenv's versions)."""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path


@functools.cache
def other_pythons() -> dict[tuple[int, int], str]:
    """Interpreters of other major.minor versions than the one running the tests, by version."""
    found: dict[tuple[int, int], str] = {}
    names = [shutil.which(f"python3.{minor}") for minor in range(8, 16)]
    names += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    for name in names:
        if not name:
            continue
        asks = "import sys; print(*sys.version_info[:2])"
        done = subprocess.run([name, "-I", "-S", "-c", asks], capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            version = tuple(int(part) for part in done.stdout.split())
            if len(version) == 2 and version != sys.version_info[:2]:
                found.setdefault((version[0], version[1]), name)
    return found


def venv_of(python: str, folder: Path) -> str:
    """The interpreter of a new virtual environment (no pip) of ``python`` in ``folder``."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    return str(folder / "bin" / "python")
