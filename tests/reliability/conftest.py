"""Shared set-up for the reliability suite: a project the real tools can check, an interpreter
without the tools, and wrappers that inject one fault into one real tool.

Only the fault is made up. A wrapper is a tiny executable named as ``gate.tool_python`` or
``[environment] python``: when its arguments name the target module (``-m bandit``, say) it
misbehaves; otherwise it runs the real interpreter, so every other tool runs for real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rel_helpers import FRESH, clean_env

APP = """import pickle


def load(blob):
    return pickle.loads(blob)


def add(a, b):
    return a + b


print(add(1, 2))
"""

ADVISORY = {
    "id": "TEST-2099-0001",
    "modified": FRESH,
    "summary": "demo: remote code execution",
    "affected": [{"package": {"name": "demo-vuln", "ecosystem": "PyPI"}, "versions": ["1.0"]}],
}


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project: app.py (one bandit B301 finding), coverage.json and .coverage measured by the
    real coverage.py, requirements.txt pinning one package, and a local OSV database with one advisory."""
    root = tmp_path_factory.mktemp("template") / "proj"
    root.mkdir()
    (root / "app.py").write_text(APP, encoding="utf-8")
    env = clean_env()
    subprocess.run([sys.executable, "-m", "coverage", "run", "app.py"], cwd=root, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "coverage", "json", "-q"], cwd=root, env=env, check=True, capture_output=True)
    (root / "requirements.txt").write_text("safe-pkg==2.0\n", encoding="utf-8")
    (root / "osv").mkdir()
    (root / "osv" / "TEST-2099-0001.json").write_text(json.dumps(ADVISORY), encoding="utf-8")
    return root


POLICY = """
[gate]
timeout_s = 120
{gate}
[reports]
formats = ["json", "sarif", "html", "markdown", "junit"]
[checks.coverage]
data_file = "{data_file}"
min_total = 0
[checks.security]
paths = ["app.py"]
{security}
[checks.dependencies]
source = "requirements.txt"
advisory_db = "{advisory_db}"
"""


@pytest.fixture
def project(tmp_path: Path, project_template: Path) -> Callable[..., Path]:
    """A fresh copy of the template with a gatekeeper.toml; keyword arguments fill in the policy."""

    def build(gate: str = "", security: str = "", data_file: str = "coverage.json", advisory_db: str = "osv") -> Path:
        root = tmp_path / "proj"
        shutil.copytree(project_template, root, symlinks=True)
        text = POLICY.format(gate=gate, security=security, data_file=data_file, advisory_db=advisory_db)
        (root / "gatekeeper.toml").write_text(text, encoding="utf-8")
        return root

    return build


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a real virtual environment in which no tool (bandit, coverage, pip-audit) is installed."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python"


@pytest.fixture
def faulty_python(tmp_path: Path) -> Callable[[str, str], Path]:
    """``faulty_python(module, fault)``: an interpreter that runs ``fault`` (sh) instead of ``-m module``
    (or of gatekeeper's ``-c`` launcher for that module).

    Anything else goes to the real interpreter. ``$REAL`` in the fault is the real interpreter.
    """

    def make(module: str, fault: str) -> Path:
        script = tmp_path / f"python-{module}"
        script.write_text(
            "#!/bin/sh\n"
            f"REAL={sys.executable}\n"
            'prev=""\n'
            'for a in "$@"; do\n'
            f'  if [ "$prev" = "-m" ] && [ "$a" = "{module}" ]; then\n'
            f"    {fault}\n"
            "  fi\n"
            # gatekeeper starts bandit through a one-line launcher (-c "...sys.argv[0] = 'bandit'...") or
            # as a worker process whose -c source starts "A bandit worker:"
            f'  if [ "$prev" = "-c" ]; then case "$a" in\n'
            f'    *"sys.argv[0] = \'{module}\'"*|*"A {module} worker:"*) {fault};;\n'
            "  esac; fi\n"
            '  prev="$a"\n'
            "done\n"
            'exec "$REAL" "$@"\n',
            encoding="utf-8",
        )
        script.chmod(0o755)
        return script

    return make


@pytest.fixture
def gk() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``python -m gatekeeper ARGS`` in ``cwd``, like the top-level ``gk``, but without any COVERAGE_*
    variable: under CI's ``coverage run``, COVERAGE_FILE would make the coverage check read the suite's
    own data file instead of the test project's."""

    def run(
        args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gatekeeper", *args],
            cwd=cwd,
            env=clean_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
