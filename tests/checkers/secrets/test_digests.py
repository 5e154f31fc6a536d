"""No output holds a secret or anything cheaply derived from it: not the findings, reports, baseline,
audit log or cache. detect-secrets' ``hashed_secret`` is an unsalted SHA-1, and a short or common
secret is recovered from it (or from any fast hash of it, whole or cut) by hashing candidates."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.secrets import SecretsChecker
from gatekeeper.findings import fingerprint
from gatekeeper.reports.registry import REGISTRY
from tests.helpers.projects import BUILTINS, git_init, section, write

#: weak secrets, each recovered from its SHA-1 by a short dictionary
WEAK = ("hunter2", "swordfish")
#: two different secrets of one type on one line (detect-secrets reports both)
KEYS_LINE = 'KEYS = ["8f14e45fceea167a5a36dedd4bea2543", "c9f0f895fb98ab9159f51fd0297e236d"]\n'
PROJECT = {
    "app/settings.py": f'DEBUG = False\npassword = "{WEAK[0]}"\n',
    "deploy/conf.yaml": f"api_key: {WEAK[1]}\n",
    "app/keys.py": KEYS_LINE,
}
SECRETS = (*WEAK, "8f14e45fceea167a5a36dedd4bea2543", "c9f0f895fb98ab9159f51fd0297e236d")
#: the files and lines that hold them, whose hashes are as cheap to attack as the secret's
LINES = ('password = "hunter2"', f"api_key: {WEAK[1]}", KEYS_LINE.strip())
FORMATS = [f.name for f in REGISTRY]
HEX = re.compile(r"[0-9a-fA-F]{10,}")


def cheap_digests() -> set[str]:
    """Fast hashes (hex) of every secret and line, and the fingerprints the secrets check once made
    of detect-secrets' SHA-1 (check, rule, file, hash) and of the line (as lint's fingerprints do)."""
    out = set()
    for text in (*SECRETS, *LINES):
        for name in ("sha1", "sha256", "md5", "sha512", "blake2b", "sha3_256"):
            out.add(hashlib.new(name, text.encode()).hexdigest())
    rules = {WEAK[0]: ("secret.secret-keyword", "app/settings.py"), WEAK[1]: ("secret.secret-keyword", "deploy/conf.yaml")}
    for secret, (rule, path) in rules.items():
        sha1 = hashlib.sha1(secret.encode()).hexdigest()  # noqa: S324  # detect-secrets' hashed_secret
        out.add(fingerprint("secrets", rule, path, sha1))
    return out


def leaks(text: str) -> list[str]:
    """The secrets in ``text``, and its hex runs that are part of a cheap digest of one (a digest
    cut to 10 digits or more: a message once quoted the SHA-1's first 12)."""
    found = [s for s in SECRETS if s in text]
    digests = cheap_digests()
    found += [h for h in set(HEX.findall(text)) if any(h.lower() in d for d in digests) and h not in SECRETS]
    return found


def files_under(*roots: Path) -> Iterable[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())


def leaked_files(*roots: Path) -> dict[str, list[str]]:
    out = {}
    for path in files_under(*roots):
        found = leaks(path.read_bytes().decode("utf-8", "replace"))
        if found:
            out[str(path)] = found
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write(tmp_path / "proj", PROJECT)
    git_init(root)
    return root


def test_findings_and_cache_hold_no_digest_and_two_secrets_on_a_line_stay_two(
    project: Path, make_ctx: Any, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=cache))
    warm = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=cache))
    assert warm.metrics["cached_files"] == len(PROJECT)
    assert [f.fingerprint for f in warm.findings] == [f.fingerprint for f in result.findings]
    text = json.dumps([f.to_dict() for f in result.findings]) + json.dumps(dict(result.metrics)) + result.summary
    assert not leaks(text)
    assert leaked_files(cache) == {}
    on_line = [f for f in result.findings if f.location is not None and f.location.path == "app/keys.py"]
    assert len(on_line) == 2 and len({f.fingerprint for f in on_line}) == 2  # as detect-secrets counts them
    assert len({f.fingerprint for f in result.findings}) == len(result.findings) == 4


def _policy(root: Path) -> None:
    off = "".join(f"[checks.{n}]\nenabled = false\n" for n in BUILTINS)
    formats = ", ".join(json.dumps(f) for f in FORMATS)
    (root / "gatekeeper.toml").write_text(
        f'[reports]\nformats = [{formats}]\n[audit]\nlog = "audit/audit.jsonl"\n{off}[checks.secrets]\nenabled = true\n',
        encoding="utf-8",
    )


def _findings(root: Path) -> list[dict[str, Any]]:
    data = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    return [f for c in data["checks"] if c["name"] == "secrets" for f in c["findings"]]


@pytest.mark.slow
def test_no_report_baseline_audit_record_or_cache_holds_a_digest_and_the_baseline_still_matches(tmp_path: Path, cli: Any) -> None:
    root = write(tmp_path / "proj", PROJECT)
    _policy(root)
    git_init(root)
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    first = cli(["check", "."], cwd=root, env=env)
    assert first.returncode == 1, first.stdout + first.stderr
    assert len(_findings(root)) == 4
    made = cli(["baseline", "create", "."], cwd=root, env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    again = cli(["check", ".", "--baseline", ".gatekeeper/baseline.json"], cwd=root, env=env)
    assert again.returncode == 0, again.stdout + again.stderr  # the same four secrets, matched
    assert sorted(f["waiver"]["kind"] for f in _findings(root)) == ["baseline"] * 4
    outputs = (root / "gatekeeper-reports", root / ".gatekeeper", root / "audit", tmp_path / "xdg")
    written = {p.name for p in files_under(root / "gatekeeper-reports")}
    assert written >= {f.file for f in REGISTRY if "vex" not in f.name}  # VEX: only with the dependencies check
    assert leaked_files(*outputs) == {}
    assert not leaks(first.stdout + first.stderr + again.stdout + again.stderr)
    # one more secret of a type the baseline has, in a file it has: new, and found as such
    (root / "app/settings.py").write_text(PROJECT["app/settings.py"] + 'secret = "letmein"\n', encoding="utf-8")
    more = cli(["check", ".", "--baseline", ".gatekeeper/baseline.json"], cwd=root, env=env)
    assert more.returncode == 1, more.stdout + more.stderr
    assert sum(1 for f in _findings(root) if f["blocking"]) == 1


def _old_baseline() -> dict[str, Any]:
    """A version-1 baseline as gatekeeper wrote it while the secrets fingerprints hashed
    detect-secrets' SHA-1 of the secret."""
    keyword, hexes = "secret.secret-keyword", "secret.hex-high-entropy-string"
    rows = [(keyword, "app/settings.py", WEAK[0]), (keyword, "deploy/conf.yaml", WEAK[1])]
    rows += [(hexes, "app/keys.py", secret) for secret in SECRETS[2:]]
    findings = []
    for rule, path, secret in rows:
        sha1 = hashlib.sha1(secret.encode()).hexdigest()  # noqa: S324  # detect-secrets' hashed_secret
        findings.append(
            {"check": "secrets", "rule_id": rule, "fingerprint": fingerprint("secrets", rule, path, sha1), "where": path}
        )
    return {"version": 1, "created_at": "2026-01-01T00:00:00Z", "commit": "", "findings": findings, "metrics": {}}


@pytest.mark.slow
def test_a_version_1_baseline_still_matches_says_so_and_is_never_written_again(tmp_path: Path, cli: Any) -> None:
    root = write(tmp_path / "proj", PROJECT)
    _policy(root)
    git_init(root)
    (root / ".gatekeeper").mkdir()
    (root / ".gatekeeper" / "old.json").write_text(json.dumps(_old_baseline()), encoding="utf-8")
    done = cli(["check", ".", "--baseline", ".gatekeeper/old.json"], cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "is version 1, whose 4 entries of secrets and hardcoded passwords hold a hash of each secret or of its line"
        in done.stdout
    )
    assert leaked_files(root / "gatekeeper-reports", root / "audit") == {}
    made = cli(["baseline", "create", "."], cwd=root)
    assert made.returncode == 0, made.stdout + made.stderr
    written = json.loads((root / ".gatekeeper" / "baseline.json").read_text(encoding="utf-8"))
    assert written["version"] == 2 and not leaks(json.dumps(written))


def test_a_result_stored_with_the_earlier_fingerprints_is_rendered_without_them(tmp_path: Path, cli: Any) -> None:
    from gatekeeper.findings import CheckResult, Finding, GateResult, Location, Severity, Status, Verdict

    sha1 = hashlib.sha1(WEAK[0].encode()).hexdigest()  # noqa: S324  # detect-secrets' hashed_secret
    rule, path = "secret.secret-keyword", "app/settings.py"
    old = Finding(
        rule_id=rule,
        severity=Severity.HIGH,
        message=f"potential secret (Secret Keyword) in {path}:2, sha1 {sha1[:12]}…; rotate it and remove it",
        blocking=True,
        location=Location(path, line=2),
        fingerprint=fingerprint("secrets", rule, path, sha1),
        rule_name="Secret Keyword",
        tags=("security", "secret"),
        properties={"secret_type": "Secret Keyword", "hashed_secret": sha1, "cwe": "CWE-798"},
    )
    check = CheckResult(name="secrets", status=Status.FAIL, summary="1 potential secret", findings=(old,))
    bandit = Finding(  # as the security check stored bandit's B105: the password in its message and code
        rule_id="B105",
        severity=Severity.LOW,
        message=f"Possible hardcoded password: '{WEAK[0]}'",
        location=Location(path, line=2, end_line=2, column=12),
        fingerprint=fingerprint("security", "B105", path, hashlib.sha256(LINES[0].encode()).hexdigest()[:16]),
        rule_name="hardcoded_password_string",
        properties={"confidence": "medium", "code": f"2 {LINES[0]}\n"},
    )
    security = CheckResult(name="security", status=Status.PASS, summary="1 finding", findings=(bandit,))
    result = GateResult(Verdict.FAIL, (check, security), "0", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", 1.0)
    stored = tmp_path / "old" / "gatekeeper.json"
    stored.parent.mkdir()
    stored.write_text(json.dumps(result.to_dict()), encoding="utf-8")
    out = tmp_path / "out"
    done = cli(["report", str(stored), "--output-dir", str(out)], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert leaked_files(out) == {}
    checks = json.loads((out / "gatekeeper.json").read_text(encoding="utf-8"))["checks"]
    (finding,), (password,) = (c["findings"] for c in checks)
    assert finding["fingerprint"] == fingerprint("secrets", rule, path)  # as today's check makes it
    assert finding["message"] == f"potential secret (Secret Keyword) in {path}:2; rotate it and remove it"
    assert password["fingerprint"] == fingerprint("security", "B105", path) and "code" not in password["properties"]
    assert password["message"] == "Possible hardcoded password (the value is not reported)"
