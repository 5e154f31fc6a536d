"""bandit's and ruff's hardcoded-password findings hold neither the password nor a hash of the line
that holds it: bandit quotes the password in its message and code excerpt, and both fingerprints
hashed that line, from which a dictionary recovers a weak password. Run end to end over the real
bandit, ruff and detect-secrets."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.source import snippet_hash
from gatekeeper.findings import fingerprint, normalize_snippet
from gatekeeper.reports.registry import REGISTRY
from tests.helpers.projects import git_init, write

pytestmark = [pytest.mark.slow]  # gatekeeper end to end, three times

PASSWORDS = ("hunter2", "swordfish", "letmein9")
LINES = {
    3: f'db_pass = "{PASSWORDS[0]}"',
    6: f'def connect(user, pwd="{PASSWORDS[1]}"):',
    7: f'    return sqlite3.connect(user, password="{PASSWORDS[2]}")',
}
SOURCE = f"import sqlite3\n\n{LINES[3]}\n\n\n{LINES[6]}\n{LINES[7]}\n"
POLICY = """[reports]
formats = [{formats}]
[audit]
log = "audit/audit.jsonl"
[checks.coverage]
enabled = false
[checks.dependencies]
enabled = false
[checks.sbom]
enabled = false
[checks.licenses]
enabled = false
[checks.security]
paths = ["pkg"]
[checks.lint]
enabled = true
[checks.secrets]
enabled = true
"""
PLACED = {"lint": ("S105", "S106", "S107"), "security": ("B105", "B106", "B107")}


def cheap_digests() -> set[str]:
    """Fast hashes of each password and of each line that holds one, and the fingerprints ruff's
    and bandit's password findings had (check, rule, file, a hash of the flagged line)."""
    out = set()
    for text in (*PASSWORDS, *LINES.values(), *(normalize_snippet(line) for line in LINES.values())):
        for name in ("sha1", "sha256", "md5", "sha512", "blake2b"):
            out.add(hashlib.new(name, text.encode()).hexdigest())
    for line in LINES.values():
        out.add(snippet_hash(line))
        out.update(fingerprint(check, rule, "pkg/db.py", snippet_hash(line)) for check, rules in PLACED.items() for rule in rules)
    return out


def leaks(text: str) -> list[str]:
    digests = cheap_digests()
    found = [p for p in PASSWORDS if p in text]
    return found + [h for h in set(re.findall(r"[0-9a-f]{10,}", text)) if any(h in d for d in digests)]


def leaked_files(*roots: Path) -> dict[str, list[str]]:
    out = {}
    for root in roots:
        for path in (p for p in root.rglob("*") if p.is_file()):
            found = leaks(path.read_bytes().decode("utf-8", "replace"))
            if found:
                out[str(path)] = found
    return out


def _findings(root: Path) -> list[dict[str, Any]]:
    data = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    return [{**f, "check": c["name"]} for c in data["checks"] for f in c["findings"]]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    formats = ", ".join(json.dumps(f.name) for f in REGISTRY)
    root = write(
        tmp_path / "proj",
        {
            "pkg/__init__.py": "",
            "pkg/db.py": SOURCE,
            "ruff.toml": '[lint]\nselect = ["S105", "S106", "S107"]\n',
            "gatekeeper.toml": POLICY.format(formats=formats),
        },
    )
    git_init(root)
    return root


def test_password_findings_leave_no_password_or_line_hash_and_a_baseline_still_matches(
    project: Path, tmp_path: Path, cli: Any
) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    folder = Path(cli(["cache", "dir", "."], cwd=project, env=env).stdout.strip())
    # what earlier versions cached: bandit's results with the password quoted, detect-secrets' SHA-1
    sha1 = hashlib.sha1(PASSWORDS[0].encode()).hexdigest()  # noqa: S324  # detect-secrets' hashed_secret
    stale = {"security": f"Possible hardcoded password: '{PASSWORDS[0]}'", "secrets": sha1}
    for name, held in stale.items():
        write(folder / name / "ab", {"ab" + "0" * 62 + ".json": json.dumps({"v": 1, "payload": held})})
    # a complete run's result an earlier gatekeeper kept for new-code runs (of another commit)
    kept = {"hashed_secret": sha1, "code": f"2 {LINES[3]}\n"}
    result = {"schema_version": "1.0", "verdict": "fail", "checks": [{"name": "secrets", "findings": [{"properties": kept}]}]}
    write(folder / "cd", {"cd" + "0" * 62 + ".json": json.dumps({"v": 2, "payload": result})})
    write(folder / "ef", {"ef" + "0" * 62 + ".json": json.dumps({"v": 2, "payload": {"output": "a probe's answer"}})})
    first = cli(["check", "."], cwd=project, env=env)
    assert not (folder / "cd" / ("cd" + "0" * 62 + ".json")).exists()
    assert (folder / "ef" / ("ef" + "0" * 62 + ".json")).exists() and (folder / ".results.v2").exists()
    assert first.returncode == 1, first.stdout + first.stderr
    rules = sorted((f["check"], f["rule_id"], f["location"]["line"]) for f in _findings(project) if f["check"] in PLACED)
    lint = [("lint", "S105", 3), ("lint", "S106", 7), ("lint", "S107", 6)]
    assert rules == [*lint, ("security", "B105", 3), ("security", "B106", 7), ("security", "B107", 6)]
    assert cli(["baseline", "create", "."], cwd=project, env=env).returncode == 0
    again = cli(["check", ".", "--baseline", ".gatekeeper/baseline.json"], cwd=project, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    outputs = (project / "gatekeeper-reports", project / ".gatekeeper", project / "audit", tmp_path / "xdg")
    assert leaked_files(*outputs) == {}
    assert not leaks(first.stdout + first.stderr + again.stdout + again.stderr)
    # one more password in the file: new, and only it blocks
    (project / "pkg/db.py").write_text(SOURCE + 'admin_pass = "qwerty"\n', encoding="utf-8")
    more = cli(["check", ".", "--baseline", ".gatekeeper/baseline.json"], cwd=project, env=env)
    assert more.returncode == 1, more.stdout + more.stderr
    assert {f["location"]["line"] for f in _findings(project) if f["blocking"]} == {8}


def test_a_version_1_baseline_of_password_findings_still_matches(project: Path, cli: Any) -> None:
    assert cli(["baseline", "create", "."], cwd=project).returncode == 0
    document = json.loads((project / ".gatekeeper" / "baseline.json").read_text(encoding="utf-8"))
    lines = {"S105": 3, "B105": 3, "S107": 6, "B107": 6, "S106": 7, "B106": 7}
    for entry in document["findings"]:  # as version 1 wrote them: a hash of the flagged line
        if entry["check"] in PLACED:
            line = LINES[lines[entry["rule_id"]]]
            entry["fingerprint"] = fingerprint(entry["check"], entry["rule_id"], entry["where"], snippet_hash(line))
    document["version"] = 1
    (project / ".gatekeeper" / "v1.json").write_text(json.dumps(document), encoding="utf-8")
    done = cli(["check", ".", "--baseline", ".gatekeeper/v1.json"], cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    carried = sum(1 for e in document["findings"] if e["check"] in (*PLACED, "secrets"))  # read by rule and file
    assert (
        carried > 6
        and f"is version 1, whose {carried} entries of secrets and hardcoded passwords hold a hash of each secret or of its line"
        in done.stdout
    )
