"""The bandit worker's protocol, driven directly: discovery, one batch, and its end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gatekeeper.checkers.security.pool import _PROBE, _Worker


def test_the_worker_reports_its_last_batch_and_exits_zero_when_its_input_ends(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("import pickle\n\n\ndef load(data):\n    return pickle.loads(data)\n")
    (root / "pkg" / "b.py").write_text("def run(cmd):\n    return eval(cmd)\n")
    worker = _Worker(sys.executable, root)
    try:
        request = {"targets": ["pkg"], "exclude": [], "skip": [], "tests": [], "config": "", "project_config": "honour"}
        worker.send({"discover": request, "probe": _PROBE.read_text(encoding="utf-8")})
        answer = json.loads(worker.receive())
        assert answer["ok"] and sorted(answer["files"]) == ["pkg/a.py", "pkg/b.py"]
        worker.send(answer["args"])
        worker.send(sorted(answer["files"]))
        worker.end_input()
        report = json.loads(worker.receive())
        assert sorted((r["filename"], r["test_id"]) for r in report["results"]) == [
            ("pkg/a.py", "B301"), ("pkg/a.py", "B403"), ("pkg/b.py", "B307"),
        ]  # fmt: skip
        assert worker.proc.stdout is not None and worker.proc.stdout.read() == b""  # nothing after the last frame
    finally:
        code, err = worker.finish()
    assert code == 0, err


def test_a_deferred_module_runs_its_code_on_first_use_and_is_then_the_real_module() -> None:
    # what the worker defers (rich.progress, yaml) is bandit's own import, executed if bandit uses it
    script = """
import sys
from gatekeeper.checkers.security import worker
for name in worker.DEFERRED:
    worker._defer(name)
import bandit.core.manager, bandit.core.config
print("yaml" in sys.modules, "rich.console" in sys.modules, "yaml.loader" in sys.modules)
from rich import progress
import yaml
print(list(progress.track([1, 2], disable=True)), yaml.safe_load("skips: [B101]"), sys.modules["yaml"] is yaml)
print("rich.console" in sys.modules, type(sys.modules["rich.progress"]).__name__, bandit.core.config.yaml is yaml)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        "True False False",
        "[1, 2] {'skips': ['B101']} True",
        "True module True",
    ]
