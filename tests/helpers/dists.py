"""A real venv holding real-format distributions, for the sbom and licenses tests (fixture ``dist_env``).

The venv is made with ``python -m venv --without-pip`` (no network, no pip inside), and each
distribution is a ``<name>-<version>.dist-info`` folder with METADATA, RECORD and, where the test
needs one, a LICENSE file, exactly as an installer leaves them. Every tool then runs for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper.checkers.base import CheckContext
from gatekeeper.engine import RunRequest, run_checks
from gatekeeper.findings import GateResult
from tests.helpers.cli import installed_checkers, installed_options
from tests.helpers.projects import check_context

BSD2 = """Copyright (c) 2021, Example Authors
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES ARE DISCLAIMED.
"""

BSD3 = BSD2.replace(
    "THIS SOFTWARE IS PROVIDED",
    """3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED""",
)

BSD4 = BSD3.replace(
    "3. Neither",
    """3. All advertising materials mentioning features or use of this software
   must display the following acknowledgement.

4. Neither""",
)

# name, version, metadata lines, license file text (or None), extra files
DISTS: list[tuple[str, str, list[str], str | None, dict[str, str]]] = [
    ("alpha", "1.0", ["License-Expression: MIT"], None, {}),
    ("bravo", "2.0", ["Classifier: License :: OSI Approved :: BSD License", "Requires-Dist: charlie>=3"], BSD2, {}),
    ("charlie", "3.0", ["Classifier: License :: OSI Approved :: BSD License"], BSD3, {}),
    (
        "delta",
        "4.0",
        ["License: GPLv3", "Classifier: License :: OSI Approved :: GNU General Public License v3 (GPLv3)"],
        None,
        {},
    ),
    ("echo", "5.0", ["License-Expression: MIT OR GPL-3.0-only"], None, {}),
    ("foxtrot", "6.0", ["License-Expression: MIT AND GPL-3.0-only"], None, {}),
    ("golf", "7.0", ["Classifier: License :: OSI Approved :: BSD License"], None, {}),
    ("hotel", "8.0", ["License: Apache 2.0"], None, {}),
    ("india", "9.0", ["Classifier: License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)"], None, {}),
    ("juliet", "1.0", [], None, {}),
    ("kilo", "1.1", ["License-Expression: GPL-2.0-only WITH Classpath-exception-2.0"], None, {}),
    (
        "lima",
        "1.2",
        ["Classifier: License :: OSI Approved :: Apache Software License", "Classifier: License :: OSI Approved :: BSD License"],
        BSD3,
        {},
    ),
    (
        "mike",
        "1.3",
        ["License: MIT License"],
        None,
        {"direct_url.json": json.dumps({"url": "file:///srv/src/mike", "dir_info": {}})},
    ),
    ("november", "1.4", ["License: Python Software Foundation License", "Classifier: License :: DFSG approved"], None, {}),
    (
        "oscar",
        "1.5",
        ["Classifier: License :: OSI Approved :: BSD License"],
        None,
        {"COPYING": "Copyright 2020 the Oscar authors; the license is in LICENSE.BSD.\n", "LICENSE.BSD": BSD3},
    ),
]


@dataclass(frozen=True)
class FakeEnv:
    """A venv with the DISTS installed: its interpreter and site-packages."""

    root: Path
    python: Path
    site: Path

    def dist_count(self) -> int:
        """How many distributions the venv's own interpreter sees (importlib.metadata)."""
        out = subprocess.run(
            [str(self.python), "-c", "import importlib.metadata as m; print(len(list(m.distributions())))"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return int(out.stdout)


def write_dist(site: Path, name: str, version: str, lines: list[str], license_text: str | None, extra: dict[str, str]) -> None:
    """A ``.dist-info`` folder as an installer writes it (METADATA, RECORD, optional LICENSE)."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    meta = "\n".join(["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", f"Summary: {name} test package", *lines])
    (info / "METADATA").write_text(meta + "\n\n", encoding="utf-8")
    files = ["METADATA", "RECORD"]
    if license_text is not None:
        (info / "LICENSE").write_text(license_text, encoding="utf-8")
        files.append("LICENSE")
    for fname, content in extra.items():
        (info / fname).write_text(content, encoding="utf-8")
        files.append(fname)
    (info / "RECORD").write_text("".join(f"{info.name}/{f},,\n" for f in files), encoding="utf-8")


def bare_venv(root: Path) -> tuple[Path, Path]:
    """A real venv (no pip, no network) in ``root``: its interpreter and its site-packages folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    return python, Path(site)


def build_dist_env(root: Path) -> FakeEnv:
    """A real venv (no pip) in ``root`` holding the DISTS."""
    python, site = bare_venv(root)
    for name, version, lines, text, extra in DISTS:
        write_dist(site, name, version, lines, text, extra)
    return FakeEnv(root=root, python=python, site=site)


def make_project(path: Path, policy: str, deps: list[str] | None = None, name: str = "demo-app", version: str = "0.3.0") -> Path:
    """A project folder with pyproject.toml and gatekeeper.toml."""
    path.mkdir(parents=True, exist_ok=True)
    dep_lines = "".join(f'  "{d}",\n' for d in deps or [])
    (path / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "{version}"\nlicense = "MIT"\ndependencies = [\n{dep_lines}]\n', encoding="utf-8"
    )
    (path / "gatekeeper.toml").write_text(textwrap.dedent(policy), encoding="utf-8")
    return path


def run_gate(root: Path, only: tuple[str, ...]) -> GateResult:
    """Run the engine (waivers included) on the project at ``root`` with the checks ``only``."""
    from gatekeeper.policy import load_policy

    checkers = installed_checkers()
    policy = load_policy(root, installed_options())
    request = RunRequest(root=root, policy=policy, output_dir=root / "out", only=only, use_cache=False)
    return run_checks(request, checkers)


def context(root: Path, **kw: Any) -> CheckContext:
    """A CheckContext for the project at ``root`` (policy loaded from it), writing into root/out."""
    return check_context(root, output_dir=root / "out", **kw)
