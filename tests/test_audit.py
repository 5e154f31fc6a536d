"""The audit log: what a record holds, tamper detection, signing, concurrency and redaction."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatekeeper import audit
from gatekeeper.redaction import MASK, redact
from tests.helpers.cli import Runner
from tests.helpers.plugin import plugin_env, policy_text

LOG = ".gatekeeper/audit.jsonl"


def _project(tmp: Path, code: str = "print('hello')\n", extra: str = "") -> Path:
    (tmp / "app.py").write_text(code, encoding="utf-8")
    (tmp / "advisories.json").write_text("[]", encoding="utf-8")
    (tmp / "gatekeeper.toml").write_text(policy_text(extra), encoding="utf-8")
    return tmp


def _lines(log: Path) -> list[bytes]:
    return log.read_bytes().splitlines()


def _write(log: Path, lines: list[bytes]) -> None:
    log.write_bytes(b"".join(line + b"\n" for line in lines))


def _rechain(records: list[dict[str, object]]) -> list[bytes]:
    """The records as lines whose ``prev`` digests are recomputed: what an attacker without the key can do."""
    prev = records[0]["prev"]
    lines = []
    for rec in records:
        rec["prev"] = prev
        line = json.dumps(rec, sort_keys=True, ensure_ascii=False).encode()
        lines.append(line)
        prev = hashlib.sha256(line).hexdigest()
    return lines


def _plain_log(tmp: Path, count: int = 4, key: bytes | None = None) -> Path:
    log = tmp / "audit.jsonl"
    for i in range(count):
        audit.append(log, {"command": "check", "verdict": "pass" if i % 2 else "fail", "run": i}, key)
    return log


# --------------------------------------------------------------------------- records of real runs


def test_check_appends_a_complete_record_and_verify_confirms_the_head(tmp_path: Path, plugin_gk: Runner, cli: Runner) -> None:
    project = _project(tmp_path, code="x = eval('1')\n")
    for _ in range(2):
        run = plugin_gk(["check", "."], cwd=project)
        assert run.returncode == 1, run.stderr  # the eval( finding blocks
    log = project / LOG
    lines = _lines(log)
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["prev"] == audit.GENESIS
    assert second["prev"] == hashlib.sha256(lines[0]).hexdigest()
    assert second["verdict"] == "fail" and second["exit_code"] == 1 and second["command"] == "check"
    assert second["policy"]["sha256"] == hashlib.sha256((project / "gatekeeper.toml").read_bytes()).hexdigest()
    report = project / "gatekeeper-reports" / "gatekeeper.json"
    written = ("gatekeeper.json", "gatekeeper.intoto.json", "gatekeeper.predicate.json", "gatekeeper.subjects.sha256")
    # the reports and the attestation the run wrote, each by its sha256
    assert second["reports"] == {
        f"gatekeeper-reports/{name}": hashlib.sha256((report.parent / name).read_bytes()).hexdigest() for name in written
    }
    pattern = second["checks"]["pattern"]
    assert pattern["status"] == "fail" and pattern["tool"] == {"name": "pattern-scan", "version": "0.1"}
    assert pattern["findings"] == 1 and pattern["blocking"] == 1
    assert pattern["metrics"] == {"hits": 1, "files": 1}  # the list of file names is reduced to its length
    assert second["actor"]["source"] == "local" and second["actor"]["name"]
    assert second["ci"] is None
    # the JSON report carries the same actor, for the HTML report to show
    assert json.loads(report.read_text())["actor"] == second["actor"]
    # check printed the head, and verify agrees with it and with our own hash of the last line
    head = hashlib.sha256(lines[-1]).hexdigest()
    assert f"head sha256 {head}" in run.stdout
    verified = cli(["audit", "verify"], cwd=project)
    assert verified.returncode == 0, verified.stderr
    assert f"chain consistent, not authenticated, 2 record(s), head sha256 {head}" in verified.stdout
    assert "intact" not in verified.stdout  # without a key nothing is authenticated


def test_ci_variables_name_the_actor_and_the_run(tmp_path: Path, plugin_gk: Runner, cli: Runner) -> None:
    project = _project(tmp_path)
    env = plugin_env(
        GITHUB_ACTIONS="true",
        GITHUB_ACTOR="octocat",
        GITHUB_RUN_ID="9876",
        GITHUB_RUN_ATTEMPT="2",
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_WORKFLOW="quality",
        GITHUB_JOB="gate",
        GITHUB_REF="refs/pull/7/merge",
    )
    assert plugin_gk(["check", "."], cwd=project, env=env).returncode == 0
    gitlab = plugin_env(GITLAB_CI="true", GITLAB_USER_LOGIN="alice", CI_PIPELINE_ID="55", CI_PIPELINE_URL="https://gl/p/55",
                       CI_JOB_NAME="gate", CI_COMMIT_REF_NAME="main")  # fmt: skip
    assert plugin_gk(["check", "."], cwd=project, env=gitlab).returncode == 0
    generic = plugin_env(CI="true", BUILD_NUMBER="17", GATEKEEPER_ACTOR="release-bot")
    assert plugin_gk(["check", "."], cwd=project, env=generic).returncode == 0
    gh, gl, other = (json.loads(line) for line in _lines(project / LOG))
    assert gh["actor"] == {"name": "octocat", "source": "github-actions"}
    assert gh["ci"]["run_url"] == "https://github.com/acme/shop/actions/runs/9876"
    assert (gh["ci"]["run_id"], gh["ci"]["workflow"], gh["ci"]["job"], gh["ci"]["ref"]) == (
        "9876",
        "quality",
        "gate",
        "refs/pull/7/merge",
    )
    assert gl["actor"] == {"name": "alice", "source": "gitlab-ci"}
    assert (gl["ci"]["provider"], gl["ci"]["run_id"], gl["ci"]["run_url"]) == ("gitlab-ci", "55", "https://gl/p/55")
    assert other["actor"] == {"name": "release-bot", "source": "GATEKEEPER_ACTOR"}
    assert (other["ci"]["provider"], other["ci"]["run_id"]) == ("ci", "17")
    show = cli(["audit", "show"], cwd=project)
    assert show.returncode == 0
    rows = show.stdout.splitlines()
    assert rows[0].split()[:4] == ["SEQ", "TIME", "(UTC)", "COMMAND"]
    assert [r.split()[0] for r in rows[1:]] == ["1", "2", "3"]
    assert "octocat" in rows[1] and "alice" in rows[2] and "release-bot" in rows[3]
    assert "pattern:pass" in rows[1] and "advisories:pass" in rows[1]
    last = cli(["audit", "show", "--last", "1", "--json"], cwd=project)
    data = json.loads(last.stdout)
    assert [r["seq"] for r in data] == [3]


# --------------------------------------------------------------------------- tampering


def _edit(lines: list[bytes]) -> list[bytes]:
    record = json.loads(lines[1])
    record["verdict"] = "pass" if record["verdict"] == "fail" else "fail"
    lines[1] = json.dumps(record, sort_keys=True).encode()
    return lines


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        pytest.param(_edit, "line 2: edited", id="edited-line"),
        pytest.param(lambda ls: ls[:1] + ls[2:], "line 2: record #3 where #2 was expected", id="deleted-line"),
        pytest.param(lambda ls: [ls[0], ls[2], ls[1], ls[3]], "line 2: record #3 where #2 was expected", id="swapped-pair"),
        pytest.param(
            lambda ls: [ls[0], ls[1], ls[1], ls[2], ls[3]], "line 3: record #2 where #3 was expected", id="inserted-copy"
        ),
        pytest.param(lambda ls: ls[1:], "line 1: record #2 where #1 was expected", id="deleted-first"),
        pytest.param(lambda ls: [*ls[:2], ls[2][:-7], ls[3]], "line 3: not valid JSON", id="truncated-line"),
        pytest.param(lambda ls: [*ls[:2], b"", *ls[2:]], "line 3: empty line", id="blank-line"),
        # nested deeper than any record (and than Python's json can read): the chain breaks there, named
        pytest.param(
            lambda ls: [*ls[:2], b"[" * 200_000 + b"]" * 200_000, ls[3]],
            "line 3: beyond the reading limits (nested more than 64 levels deep)",
            id="nested-line",
        ),
        pytest.param(
            lambda ls: [*ls[:2], ls[2].replace(b'"seq": 3', b'"seq": 3e999'), ls[3]],
            "line 3: beyond the reading limits (the number 3e999 is out of range",
            id="infinite-seq",
        ),
        # JSON lets an escape name half a UTF-16 pair, which no UTF-8 line holds: verify crashed re-encoding it
        pytest.param(
            lambda ls: [*ls[:2], ls[2].replace(b'"verdict": "', b'"verdict": "\\ud800'), ls[3]],
            "line 3: beyond the reading limits (a string holding a lone surrogate",
            id="lone-surrogate",
        ),
    ],
)
def test_verify_names_the_first_bad_line(tmp_path: Path, cli: Runner, tamper, expected: str) -> None:  # type: ignore[no-untyped-def]
    log = _plain_log(tmp_path)
    assert cli(["audit", "verify", str(log)], cwd=tmp_path).returncode == 0
    _write(log, tamper(_lines(log)))
    run = cli(["audit", "verify", str(log)], cwd=tmp_path)
    assert run.returncode == 1
    assert "TAMPERED" in run.stderr and expected in run.stderr, run.stderr


def test_removed_tail_is_found_only_with_an_anchor(tmp_path: Path, cli: Runner) -> None:
    log = _plain_log(tmp_path)
    head = hashlib.sha256(_lines(log)[-1]).hexdigest()
    assert cli(["audit", "verify", str(log), "--anchor", head], cwd=tmp_path).returncode == 0
    _write(log, _lines(log)[:-1])
    # the shorter chain is valid on its own: the log alone cannot tell, and verify says so
    alone = cli(["audit", "verify", str(log)], cwd=tmp_path)
    assert alone.returncode == 0 and "cannot be detected from the log alone" in alone.stdout
    anchored = cli(["audit", "verify", str(log), "--anchor", head], cwd=tmp_path)
    assert anchored.returncode == 1 and "is not in the log" in anchored.stderr
    # an anchor taken earlier still matches an intact prefix after later appends
    audit.append(log, {"command": "check", "verdict": "pass"})
    early = hashlib.sha256(_lines(log)[1]).hexdigest()
    ok = cli(["audit", "verify", str(log), "--anchor", early], cwd=tmp_path)
    assert ok.returncode == 0 and "anchor: found at record #2" in ok.stdout


def test_missing_log_is_a_usage_error(tmp_path: Path, cli: Runner) -> None:
    run = cli(["audit", "verify", "nope.jsonl"], cwd=tmp_path)
    assert run.returncode == 2 and "audit log not found" in run.stderr
    assert cli(["audit", "show", "nope.jsonl"], cwd=tmp_path).returncode == 2


def test_append_after_a_torn_write_keeps_the_damage_visible(tmp_path: Path) -> None:
    log = _plain_log(tmp_path, 2)
    with open(log, "ab") as fh:
        fh.write(b'{"seq": 3, "verd')  # a crash in the middle of a write
    appended = audit.append(log, {"command": "check", "verdict": "pass"})
    assert appended.seq == 4
    lines = _lines(log)
    assert json.loads(lines[-1])["seq"] == 4  # the new record starts on its own line
    outcome = audit.verify_log(log)
    assert outcome.line == 3 and "not valid JSON" in (outcome.problem or "")


# --------------------------------------------------------------------------- signing


def test_an_unsigned_record_cannot_replace_a_signed_one(tmp_path: Path, cli: Runner) -> None:
    key = b"k3y-kept-in-the-ci-secret-store"
    log = _plain_log(tmp_path, 3, key)
    # an attacker without the key replaces record 2 by an unsigned one and re-chains the rest
    records = [json.loads(line) for line in _lines(log)]
    records[1]["verdict"] = "pass"
    records[1].pop("sig")
    rewritten = _rechain(records)
    _write(log, rewritten)
    nokey = cli(["audit", "verify", str(log)], cwd=tmp_path)
    assert nokey.returncode == 1 and "TAMPERED at line 2: not signed, though the record before it was" in nokey.stderr
    # replacing the first signed record shows too: signing then starts after a record nothing vouches for
    first = [json.loads(line) for line in _lines(_plain_log(tmp_path / "second", 2, key))]
    first[0].pop("sig")
    _write(tmp_path / "second" / "audit.jsonl", _rechain(first))
    replaced = cli(["audit", "verify", str(tmp_path / "second" / "audit.jsonl")], cwd=tmp_path)
    assert replaced.returncode == 1 and "NOT AUTHENTICATED at line 2: signing with hmac:" in replaced.stderr
    # a forged "start" mark of the earlier scheme on the replacement does not help
    records[1]["signing"] = "start"
    _write(log, [rewritten[0], json.dumps(records[1], sort_keys=True).encode()])
    signed = cli(["audit", "verify", str(log)], cwd=tmp_path, env=plugin_env(GATEKEEPER_AUDIT_KEY=key.decode()))
    assert signed.returncode == 1 and "line 2: not signed" in signed.stderr


def test_a_rewritten_chain_fools_the_hashes_but_not_the_signature(tmp_path: Path, cli: Runner) -> None:
    key = b"k3y-kept-in-the-ci-secret-store"
    log = _plain_log(tmp_path, 3, key)
    # someone with write access edits record 2 and recomputes every later prev, but has no key
    records = [json.loads(line) for line in _lines(log)]
    records[1]["verdict"] = "pass" if records[1]["verdict"] == "fail" else "fail"
    rewritten = _rechain(records)
    _write(log, rewritten)
    assert cli(["audit", "verify", str(log)], cwd=tmp_path).returncode == 0  # the chain alone is consistent again
    signed = cli(["audit", "verify", str(log)], cwd=tmp_path, env=plugin_env(GATEKEEPER_AUDIT_KEY=key.decode()))
    assert signed.returncode == 1 and "line 2: signature does not match" in signed.stderr
    # and with a key, an unsigned record (written by someone without it) is rejected too
    records[1].pop("sig")
    _write(log, [_lines(log)[0], json.dumps(records[1], sort_keys=True).encode()])
    unsigned = cli(["audit", "verify", str(log)], cwd=tmp_path, env=plugin_env(GATEKEEPER_AUDIT_KEY=key.decode()))
    assert unsigned.returncode == 1 and "line 2: not signed" in unsigned.stderr


# --------------------------------------------------------------------------- concurrency

_APPENDER = """
import sys, time
from pathlib import Path
from gatekeeper.audit import append
log, go, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
while not go.exists():
    time.sleep(0.005)
append(log, {"command": "check", "verdict": "pass", "writer": n, "padding": "x" * 4000})
"""


def test_twenty_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    log, go = tmp_path / "audit.jsonl", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, str(log), str(go), str(n)], env=plugin_env()) for n in range(20)]
    time.sleep(1.0)  # let every process import gatekeeper and wait at the gate
    go.touch()
    assert [p.wait(timeout=60) for p in procs] == [0] * 20
    records = [json.loads(line) for line in _lines(log)]
    assert sorted(r["writer"] for r in records) == list(range(20))
    assert [r["seq"] for r in records] == list(range(1, 21))
    outcome = audit.verify_log(log)
    assert outcome.ok and outcome.records == 20


# --------------------------------------------------------------------------- interrupted runs


def test_an_interrupted_run_is_recorded_in_the_chain(
    tmp_path: Path, plugin_gk: Runner, cli: Runner, installed: tuple[dict, dict]
) -> None:
    from gatekeeper.policy import load_policy

    project = _project(tmp_path)
    assert plugin_gk(["check", "."], cwd=project).returncode == 0
    policy = load_policy(project, installed[1])
    entry = audit.append_interrupted(project, policy, "2026-01-02T03:04:05Z", "SIGTERM received")
    assert entry.seq == 2
    rec = json.loads(_lines(project / LOG)[-1])
    assert (rec["verdict"], rec["interrupted"], rec["reason"], rec["reports"]) == ("interrupted", True, "SIGTERM received", {})
    assert rec["policy"]["sha256"] == policy.sha256
    show = cli(["audit", "show"], cwd=project)
    assert "interrupted" in show.stdout.splitlines()[2]
    assert cli(["audit", "verify"], cwd=project).returncode == 0


# --------------------------------------------------------------------------- secrets


SECRETS = {
    "github": "ghp_" + "Zx8Kq2Lm9Np4Rt6Vw1Yb3Cd5Ef7Gh0Jk2Mn4",
    "github-fine": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEF",
    "gitlab": "glpat-" + "aB3dE5gH7jK9mN1pQ2rS",
    "aws": "AKIA" + "IOSFODNN7EXAMPL3",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "random": "q8Vn3Lp0Zr7Tx2Kw5Yb9Mc4Hd6Jf1Gs8Qe0",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_redact_masks_known_token_shapes(name: str) -> None:
    secret = SECRETS[name]
    out = redact(f"while running: {secret} (see log)")
    assert secret not in out and MASK in out and out.startswith("while running: ")


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("password=hunter2 and more", "hunter2"),
        ("secrets: ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),  # by shape
        ("tokens = Zx81kQ2pL0vW7mN4bR9tY6uE3sA5dF1gH8jK", "Zx81kQ2pL0vW7mN4bR9tY6uE3sA5dF1gH8jK"),  # looks random
        ('db: {"api_key": "s3cr3t-value"}', "s3cr3t-value"),
        ("Authorization: Bearer abc.def-ghi_1234", "abc.def-ghi_1234"),
        ("cloning https://bob:pa55word@git.example.com/x.git", "pa55word"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
    ],
)
def test_redact_masks_assigned_and_embedded_credentials(text: str, leaked: str) -> None:
    assert leaked not in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "src/gatekeeper/checkers/security/__init__.py line 12",
        "feature/add-login-page-for-users-2024",
        "3 findings (2 high); coverage 81.25%",
        "bandit 1.7.10 (python 3.12.4)",
        "Use of assert detected. The enclosed code will be removed when compiling to optimised byte code.",
        # gatekeeper's own words after the secrets check's name: its errors, audit show, gatekeeper plugins
        "error in secrets: no tracked files to scan for secrets (an empty check is not a pass)",
        "coverage: pass  security: pass  secrets: fail",
        "secrets        gatekeeper 0.1.0             gatekeeper.checkers.secrets:SecretsChecker",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_no_secret_reaches_the_log_or_the_report(tmp_path: Path, plugin_gk: Runner) -> None:
    project = _project(tmp_path, code=f"eval(data)  # password=hunter2hunter2 token {SECRETS['github']}\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", f"fix/token={SECRETS['gitlab']}"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", f"rotate {SECRETS['aws']}"], cwd=project, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True).stdout.strip()
    env = plugin_env(
        GITHUB_ACTIONS="true",
        GITHUB_ACTOR="octocat",
        GITHUB_RUN_ID="1",
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_REF=f"refs/heads/x?access_token={SECRETS['random']}",
        GITHUB_TOKEN=SECRETS["github"],
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
        GATEKEEPER_AUDIT_KEY="audit-key-" + SECRETS["random"],
        DATABASE_URL="postgres://app:pa55word-db@db.internal/app",
    )
    run = plugin_gk(["check", "."], cwd=project, env=env)
    assert run.returncode == 1, run.stderr
    text = (project / LOG).read_text()
    report = (project / "gatekeeper-reports" / "gatekeeper.json").read_text()
    planted = [*SECRETS.values(), "hunter2hunter2", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "pa55word-db", "audit-key-"]
    assert [s for s in planted if s in text] == []
    rec = json.loads(text)
    assert rec["commit"] == commit  # a commit id is kept: it is hex, but it is not a secret
    assert rec["branch"] == f"fix/token={MASK}"
    assert rec["ci"]["ref"] == f"refs/heads/x?access_token={MASK}"
    assert MASK in rec["checks"]["pattern"]["summary"] and rec["checks"]["pattern"]["summary"].startswith(
        "1 hit(s); first: eval("
    )
    assert json.loads(report)["ci"]["ref"] == rec["ci"]["ref"]
    for value in (SECRETS["random"], "wJalrXUtnFEMI", "pa55word-db"):
        assert value not in report


_CUT_SHORT = """
import resource, signal, sys
from pathlib import Path
from gatekeeper import audit, signing
from gatekeeper.errors import OutputError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
log = Path(sys.argv[1])
# the file may grow by 100 bytes more: the kernel writes up to there, then refuses, as a full disk does
resource.setrlimit(resource.RLIMIT_FSIZE, (log.stat().st_size + 100, resource.RLIM_INFINITY))
try:
    audit.append(log, {"command": "check", "verdict": "fail", "detail": "y" * 5000}, signing.signer_from_text(sys.argv[2]))
except OutputError as exc:
    print(exc.message)
finally:  # the disk has room again: what runs at exit (coverage.py saving its data, under CI) writes as usual
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
"""


def test_an_append_the_disk_cuts_short_leaves_the_log_as_it_was(tmp_path: Path) -> None:
    from gatekeeper import signing

    signer = signing.generate()
    log = tmp_path / "audit.jsonl"
    audit.append(log, {"command": "check", "verdict": "pass"}, signer)
    before = log.read_bytes()
    done = subprocess.run(
        [sys.executable, "-c", _CUT_SHORT, str(log), signing.private_pem(signer)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "cannot append to the audit log" in done.stdout and "File too large" in done.stdout
    assert log.read_bytes() == before  # no half line that every later record would chain to
    assert "the part of the record written was removed, the log is as it was" in done.stdout
    assert audit.verify_log(log, signer.keyring()).status == "intact"
    appended = audit.append(log, {"command": "check", "verdict": "fail"}, signer)
    assert appended.seq == 2 and audit.verify_log(log, signer.keyring()).status == "intact"
