"""mypy's question to the inspected environment's interpreter (``--python-executable``) runs none of
that environment's start-up code (``sitepaths.search_dirs``): its ``.pth`` files' ``import`` lines ran
while the types check ran, with the job's rights, though the check executes nothing of the project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.test_checkout import repo


def environment(tmp_path: Path, root: Path, marker: Path) -> Path:
    """``root/.venv`` (git ignores it) holding ``typedlib`` in site-packages, ``otherlib`` in a folder a
    ``.pth`` line names (as an editable install's does), and a ``.pth`` whose import line writes ``marker``."""
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "typedlib").mkdir(parents=True)
    (site / "typedlib" / "__init__.py").write_text("def f() -> int:\n    return 1\n", encoding="utf-8")
    (site / "typedlib" / "py.typed").write_text("", encoding="utf-8")
    editable = tmp_path / "editable"
    (editable / "otherlib").mkdir(parents=True)
    (editable / "otherlib" / "__init__.py").write_text("def g() -> bytes:\n    return b''\n", encoding="utf-8")
    (editable / "otherlib" / "py.typed").write_text("", encoding="utf-8")
    (site / "editable.pth").write_text(f"{editable}\n", encoding="utf-8")
    (site / "zz_start.pth").write_text(f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')\n", encoding="utf-8")
    return venv


def test_mypy_resolves_the_environment_without_running_its_pth_files(tmp_path: Path, cli: Any) -> None:
    root = tmp_path / "proj"
    marker = tmp_path / "pth-ran"
    code = "from otherlib import g\nfrom typedlib import f\n\nx: str = f()\ny: str = g()\n"
    policy = "[checks.types]\nenabled = true\n"
    repo(root, {"app.py": code, ".gitignore": ".venv/\ngatekeeper-reports/\n", "gatekeeper.toml": policy})
    environment(tmp_path, root, marker)
    python = str(root / ".venv" / "bin" / "python")
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--python-executable", python, "app.py"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert marker.exists()  # mypy by hand runs the environment's start-up code
    marker.unlink()
    expected = sorted(line.split(":")[1] for line in by_hand.stdout.splitlines() if ": error:" in line)
    assert expected == ["4", "5"], by_hand.stdout  # both libraries resolved: int and bytes are no str
    done = cli(["check", "--only", "types", "--no-cache", "--format", "json"], cwd=root)
    assert not marker.exists(), "the types check ran a .pth file's code of the inspected environment"
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    (types,) = report["checks"]
    assert sorted(str(f["location"]["line"]) for f in types["findings"]) == expected
