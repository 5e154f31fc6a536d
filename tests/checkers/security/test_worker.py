"""The bandit worker's protocol, driven directly: discovery, one batch, and its end."""

from __future__ import annotations

import json
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
