"""A project every built-in checker can check, and interpreters that inject one fault into one real tool.

Only the fault is made up. A wrapper is a tiny executable named as ``gate.tool_python`` or
``[environment] python``: when its arguments name the target module (``-m bandit``, say) it
misbehaves; otherwise it runs the real interpreter, so every other tool runs for real.
(The fixtures ``project_template``, ``project`` and ``faulty_python`` are in tests/conftest.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.env import clean_env
from tests.helpers.osv import FRESH

RELAY = Path(__file__).with_name("fault_relay.py")
#: words of ``gatekeeper.runmain``'s source, which a tool started through it has as its ``-c`` program
RUNMAIN_MARK = "Run the module"

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
[checks.licenses]
# the environment checked is this suite's own venv, whose licences the default allow list does not all
# pass: the test extra's LGPL `cvss` (a test-only reference for the CVSS scores) and `ply` (spdx-tools'
# dependency, licence "BSD" with no variant: unknown), and `cffi` (cryptography's, MIT-0). The tests
# here are about tool faults, not those licences
ignore_packages = ["cvss", "ply", "cffi"]
"""


def build_template(root: Path) -> Path:
    """A small project in ``root``: app.py (one bandit B301 finding), coverage.json and .coverage measured
    by the real coverage.py, requirements.txt pinning one package, and a local OSV database with one advisory."""
    root.mkdir()
    (root / "app.py").write_text(APP, encoding="utf-8")
    env = clean_env(coverage=False)
    subprocess.run([sys.executable, "-m", "coverage", "run", "app.py"], cwd=root, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "coverage", "json", "-q"], cwd=root, env=env, check=True, capture_output=True)
    (root / "requirements.txt").write_text("safe-pkg==2.0\n", encoding="utf-8")
    (root / "osv").mkdir()
    (root / "osv" / "TEST-2099-0001.json").write_text(json.dumps(ADVISORY), encoding="utf-8")
    return root


def faulty_interpreter(script: Path, module: str, fault: str) -> Path:
    """Write ``script``: an interpreter that runs ``fault`` (sh) instead of ``-m module`` (or of
    gatekeeper's ``-c`` launcher for that module); anything else goes to the real interpreter.
    ``$REAL`` in the fault is the real interpreter. A bandit worker (which finds the files before
    it scans) goes through ``fault_relay.py``: discovery is answered for real, the scans get the fault."""
    fault_file = script.with_name(script.name + ".fault.sh")
    fault_file.write_text(f"{fault}\n", encoding="utf-8")
    script.write_text(
        "#!/bin/sh\n"
        f"REAL={sys.executable}\n"
        "export REAL\n"
        'prev=""\n'
        'for a in "$@"; do\n'
        f'  if [ "$prev" = "-m" ] && [ "$a" = "{module}" ]; then\n'
        f"    {fault}\n"
        "  fi\n"
        # or through gatekeeper.runmain (-c "<its source>" MODULE ...), which runs the module as -m does
        f'  case "$prev" in *"{RUNMAIN_MARK}"*) if [ "$a" = "{module}" ]; then {fault}; fi;; esac\n'
        # gatekeeper starts bandit through a one-line launcher (-c "...sys.argv[0] = 'bandit'...") or
        # as a worker process whose -c source starts "A bandit worker:"
        f'  if [ "$prev" = "-c" ]; then case "$a" in\n'
        f"    *\"sys.argv[0] = '{module}'\"*) {fault};;\n"
        f'    *"A {module} worker:"*) exec "$REAL" {RELAY} {fault_file} "$@";;\n'
        "  esac; fi\n"
        '  prev="$a"\n'
        "done\n"
        'exec "$REAL" "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script
