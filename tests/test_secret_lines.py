"""A finding of lint, types or security on a line the secrets check flags carries no hash of that
line: ruff's F841 on ``password = "hunter2"`` hashed it into its fingerprint, from which a
dictionary recovers the password. Run in process over the real ruff, bandit and detect-secrets."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.baseline import Baseline, baseline_document
from gatekeeper.checkers.source import snippet_hash
from gatekeeper.engine import RunRequest, run_checks
from gatekeeper.findings import GateResult, fingerprint
from gatekeeper.merge import merge_results
from gatekeeper.policy import load_policy
from tests.helpers.cli import installed_checkers, installed_options
from tests.helpers.projects import git_init, write

PASSWORD, KEY = "hunter2", "Tr0ub4dor3"
LINE = f'password = "{PASSWORD}"'
SOURCE = f'import subprocess\n\n\ndef go():\n    {LINE}\n    subprocess.call("ls", shell=True); api_key = "{KEY}"\n'
POLICY = "".join(f"[checks.{n}]\nenabled = false\n" for n in ("coverage", "dependencies", "sbom", "licenses")) + (
    "[checks.lint]\nenabled = true\n[checks.secrets]\nenabled = true\n"
)


def _gate(root: Path, baseline: Baseline | None = None) -> GateResult:
    policy = load_policy(root, installed_options())
    request = RunRequest(
        root=root, policy=policy, output_dir=root / "out", use_cache=False, baseline=baseline or Baseline(), baseline_name="b"
    )
    return run_checks(request, installed_checkers())


def test_a_finding_on_a_secrets_line_is_placed_and_an_earlier_baseline_still_covers_it(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"app/run.py": SOURCE, "gatekeeper.toml": POLICY})
    git_init(root)
    gate = _gate(root)
    found = {(c.name, f.rule_id, f.location.line if f.location else 0): f for c in gate.checks for f in c.findings}
    assert {("secrets", "secret.secret-keyword", 5), ("secrets", "secret.secret-keyword", 6)} <= set(found)
    assert {("lint", "F841", 5), ("lint", "F841", 6), ("security", "B602", 6)} <= set(found)
    unused = found["lint", "F841", 5]
    hashed = fingerprint("lint", "F841", "app/run.py", snippet_hash(LINE))  # what the fingerprint was
    assert unused.fingerprint == fingerprint("lint", "F841", "app/run.py", "on a line the secrets check flags") != hashed
    assert "code" not in found["security", "B602", 6].properties  # bandit's excerpt of that line
    assert "code" in found["security", "B404", 1].properties
    text = repr([f.to_dict() for c in gate.checks for f in c.findings])
    assert PASSWORD not in text and KEY not in text and hashed not in text and snippet_hash(LINE) not in text
    # a baseline written before (the F841 by the hash of its line) still covers it; today's too
    for prints in ({hashed: 1}, {p["fingerprint"]: 1 for p in baseline_document(gate)["findings"]}):
        again = _gate(root, Baseline(fingerprints=prints))
        lint = again.check("lint")
        assert lint is not None
        assert [f.waiver.kind if f.waiver else None for f in lint.findings if f.location and f.location.line == 5] == ["baseline"]


def test_merge_places_a_finding_whose_secret_another_shard_found(tmp_path: Path) -> None:
    """types (not split) runs in one shard, the secrets check on this file in the other: that part's
    mypy error on the line still hashed it, and the merged result is where they meet."""
    off = "".join(f"[checks.{n}]\nenabled = false\n" for n in ("coverage", "dependencies", "sbom", "licenses", "security"))
    policy_text = off + "[checks.types]\nenabled = true\n[checks.secrets]\nenabled = true\n"
    line = f'password = "{PASSWORD}"; x: int = password'
    root = write(tmp_path / "p", {"app/__init__.py": "", "app/run.py": line + "\n", "gatekeeper.toml": policy_text})
    git_init(root)
    policy, checkers = load_policy(root, installed_options()), installed_checkers()
    requests = [RunRequest(root=root, policy=policy, output_dir=root / "out", use_cache=False, shard=(i, 2)) for i in (1, 2)]
    parts = [run_checks(r, checkers) for r in requests]
    by_part = [{c.name: [f.fingerprint for f in c.findings] for c in p.checks} for p in parts]
    placed = fingerprint("types", "assignment", "app/run.py", "on a line the secrets check flags")
    assert [p["secrets"] != [] for p in by_part] in ([True, False], [False, True])
    assert [fp for p in by_part for fp in p.get("types", [])] not in ([], [placed])  # a hash of the line there
    merged = merge_results(parts, policy, checkers)
    types = merged.check("types")
    assert types is not None and [f.fingerprint for f in types.findings] == [placed]
