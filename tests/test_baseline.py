"""Baselines: ``baseline create`` records today's findings, ``check --baseline`` blocks only new ones,
and fingerprints survive edits that move the code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.helpers.cli import Runner
from tests.helpers.plugin import policy_text

LEGACY = """\
def load(expr):
    return eval(expr)


def load_twice(expr):
    first = eval(expr)
    return first
"""


def _project(tmp: Path) -> Path:
    (tmp / "legacy.py").write_text(LEGACY, encoding="utf-8")
    (tmp / "advisories.json").write_text("[]", encoding="utf-8")
    (tmp / "gatekeeper.toml").write_text(policy_text(), encoding="utf-8")
    return tmp


def _pattern_findings(project: Path) -> list[dict[str, Any]]:
    data = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
    return next(c["findings"] for c in data["checks"] if c["name"] == "pattern")


def test_baseline_lets_only_new_findings_block_even_after_code_moves(tmp_path: Path, plugin_gk: Runner) -> None:
    project = _project(tmp_path)
    assert plugin_gk(["check", "."], cwd=project).returncode == 1  # the old code fails the gate today
    before = {f["fingerprint"]: f["location"]["line"] for f in _pattern_findings(project)}
    assert sorted(before.values()) == [2, 6]

    created = plugin_gk(["baseline", "create"], cwd=project)
    assert created.returncode == 0, created.stderr
    baseline = project / ".gatekeeper" / "baseline.json"
    assert "recorded 2 fingerprint(s) (pattern 2)" in created.stdout and str(baseline) in created.stdout
    document = json.loads(baseline.read_text())
    assert sorted(e["fingerprint"] for e in document["findings"]) == sorted(before)
    assert {e["where"] for e in document["findings"]} == {"legacy.py"}

    adopted = plugin_gk(["check", ".", "--baseline", str(baseline)], cwd=project)
    assert adopted.returncode == 0, adopted.stdout
    findings = _pattern_findings(project)
    assert len(findings) == 2 and all(not f["blocking"] and f["waiver"]["kind"] == "baseline" for f in findings)

    # an unrelated edit moves the old code down and re-indents it: lines change, fingerprints do not
    moved = '"""Module docstring added later."""\n\nimport os\n\n\n' + LEGACY.replace(
        "    return eval(expr)", "        return eval(expr)"
    )
    moved = moved.replace("def load(expr):\n", "def load(expr):\n    if os.environ.get('X'):\n")
    (project / "legacy.py").write_text(moved, encoding="utf-8")
    shifted = plugin_gk(["check", ".", "--baseline", str(baseline)], cwd=project)
    assert shifted.returncode == 0, shifted.stdout
    after = {f["fingerprint"]: f["location"]["line"] for f in _pattern_findings(project)}
    assert set(after) == set(before) and sorted(after.values()) == [8, 12]

    # a new finding still blocks, and only it
    (project / "new.py").write_text("result = eval(input())\n", encoding="utf-8")
    gated = plugin_gk(["check", ".", "--baseline", str(baseline)], cwd=project)
    assert gated.returncode == 1
    blocking = [f["location"]["path"] for f in _pattern_findings(project) if f["blocking"]]
    assert blocking == ["new.py"]
    data = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
    digest = hashlib.sha256(baseline.read_bytes()).hexdigest()
    assert data["baseline"] == {"path": str(baseline), "sha256": digest, "fingerprints": 2, "matched": 2}

    # creating the baseline is itself on the record
    records = [json.loads(line) for line in (project / ".gatekeeper/audit.jsonl").read_text().splitlines()]
    assert [r["command"] for r in records] == ["check", "baseline create", "check", "check", "check"]
    assert records[1]["baseline"]["fingerprints"] == 2
    assert records[1]["reports"] == {".gatekeeper/baseline.json": records[1]["reports"][".gatekeeper/baseline.json"]}
    assert records[-1]["baseline"]["matched"] == 2


def test_baseline_create_options_and_errors(tmp_path: Path, plugin_gk: Runner) -> None:
    project = _project(tmp_path)
    (project / "other.toml").write_text(policy_text('[checks.pattern]\nmarker = "return"\n'), encoding="utf-8")
    out = tmp_path / "elsewhere" / "base.json"
    made = plugin_gk(["baseline", "create", ".", "--policy", "other.toml", "--output", str(out), "--no-audit"], cwd=project)
    assert made.returncode == 0 and "recorded 2 fingerprint(s)" in made.stdout
    assert {e["rule_id"] for e in json.loads(out.read_text())["findings"]} == {"P001"}
    assert not (project / ".gatekeeper/audit.jsonl").exists()

    (project / "advisories.json").write_text("not json")  # a check that cannot run is named, not hidden
    warned = plugin_gk(["baseline", "create"], cwd=project)
    assert warned.returncode == 0
    assert "warning: advisories could not run" in warned.stderr and "its findings are not in the baseline" in warned.stderr

    (project / "gatekeeper.toml").write_text("[gate]\nbogus = 1\n", encoding="utf-8")
    broken = plugin_gk(["baseline", "create"], cwd=project)
    assert broken.returncode == 2 and "gate.bogus: unknown key" in broken.stderr


def test_check_rejects_a_missing_or_foreign_baseline(tmp_path: Path, plugin_gk: Runner) -> None:
    project = _project(tmp_path)
    missing = plugin_gk(["check", ".", "--baseline", "nope.json"], cwd=project)
    assert missing.returncode == 2 and "baseline file not found" in missing.stderr
    (project / "results.json").write_text('{"verdict": "pass"}')
    foreign = plugin_gk(["check", ".", "--baseline", "results.json"], cwd=project)
    assert foreign.returncode == 2 and "not a gatekeeper baseline" in foreign.stderr
