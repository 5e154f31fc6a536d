"""``audit report`` for a period: filters, gated changes on a real git history, policy changes with
their diff, exceptions with renewals, controls over the period, and the CSV exports."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gatekeeper.cli import app
from gatekeeper.reports.json import render_json
from tests.helpers.history import POLICY_V1, POLICY_V2, quarter_records, write_log
from tests.helpers.samples import failing_result

GIT_ENV = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada",
           "GIT_COMMITTER_EMAIL": "ada@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip


def _git(repo: Path, *args: str, when: str = "2026-07-01T09:00:00Z") -> str:
    env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(repo: Path, message: str, when: str, files: dict[str, str] | None = None) -> str:
    for name, text in (files or {"log.txt": message}).items():
        path = repo / name
        path.write_text((path.read_text() if path.exists() and name == "log.txt" else "") + text + "\n")
        _git(repo, "add", name)
    _git(repo, "commit", "-q", "-m", message, when=when)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Any]:
    """A real git repository: main with eight first-parent commits (one a merge of a feature branch,
    the policy changed in the fifth), and an audit log of runs on them."""
    repo = tmp_path / "shop"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    main = [_commit(repo, "start", "2026-07-01T09:00:00Z", {"gatekeeper.toml": POLICY_V1.rstrip("\n")})]
    for day in range(2, 5):
        main.append(_commit(repo, f"change {day}", f"2026-07-0{day}T09:00:00Z"))
    main.append(_commit(repo, "raise the coverage floor", "2026-07-05T09:00:00Z", {"gatekeeper.toml": POLICY_V2.rstrip("\n")}))
    _git(repo, "checkout", "-q", "-b", "feature/login")
    feature = _commit(repo, "login form", "2026-07-06T09:00:00Z", {"login.py": "def login(): ..."})
    _git(repo, "checkout", "-q", "main")
    main.append(_commit(repo, "change 6", "2026-07-06T10:00:00Z"))
    _git(repo, "merge", "-q", "--no-ff", "-m", "merge feature/login", "feature/login", when="2026-07-07T09:00:00Z")
    main.append(_git(repo, "rev-parse", "HEAD"))
    main.append(_commit(repo, "change 8", "2026-07-08T09:00:00Z"))
    #   run on:         main0  main1  (elsewhere)  main3  main4  feature  main5  main6  main6  main7
    pairs = [(main[0], "main"), (main[1], "main"), ("0" * 40, "main"), (main[3], "main"), (main[4], "main"),
             (feature, "feature/login"), (main[5], "main"), (main[6], "main"), (main[6], "main"), (main[7], "main")]  # fmt: skip
    records = quarter_records(pairs)
    for rec in records:
        rec["verdict"] = "pass"
    records[1]["verdict"] = "fail"  # main1: only a failing run
    records[3]["scope"] = {"complete": False, "only": ["security"], "skip": [], "left_out": ["coverage"]}  # main3: partial
    records[7]["verdict"] = "fail"  # main6: a failing run, then a passing one
    del records[9]["scope"]  # main7: a run from before scopes were recorded gates nothing
    records[4]["dirty"] = True  # main4: a run on uncommitted changes judged other code than the commit's
    log = tmp_path / "audit.jsonl"
    write_log(log, records)
    return {"repo": repo, "main": main, "feature": feature, "log": log, "records": records}


def _report(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(app, ["audit", "report", *args])


def test_gated_changes_join_the_branch_first_parent_history_with_the_runs(
    project: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "h.html"
    done = _report(project["repo"], monkeypatch, str(project["log"]), "--branch", "main", "--output", str(out))
    assert done.exit_code == 0, done.output
    page = out.read_text()
    counts = page[page.index('id="gated-counts"') :]
    counts = counts[: counts.index("</p>")]
    # 8 first-parent commits (the feature commit is not one of them); gated: main0, main5, main6
    assert "<strong>8</strong> commits" in counts
    assert "3 gated" in counts and "4 not gated" in counts and "1 with no run" in counts
    table = page[page.index('id="gated-table"') :]
    cells = r'<code>([0-9a-f]{12})</code>.*?<td class="gated-[a-z-]+">([a-z ]+)</td><td>(.*?)</td><td>(.*?)</td>'
    found = re.findall(cells, table)
    rows = {sha: (status, runs) for sha, status, _, runs in found}
    assert {kind for _, status, kind, _ in found if status == "gated"} == {"clean"}
    main = project["main"]
    assert project["feature"][:12] not in rows
    assert rows[main[1][:12]] == ("not gated", "#2 fail")
    assert rows[main[3][:12]] == ("not gated", "#4 pass (partial: only security)")
    assert rows[main[6][:12]] == ("gated", "#8 fail; #9 pass")
    assert rows[main[7][:12]][0] == "not gated" and "scope not recorded" in rows[main[7][:12]][1]
    assert rows[main[0][:12]][0] == "gated" and rows[main[2][:12]] == ("no run", "—")
    assert rows[main[5][:12]] == ("gated", "#7 pass")  # the merge commit, run on main
    assert rows[main[4][:12]] == ("not gated", "#5 pass (dirty tree)")


def test_a_pass_a_baseline_let_findings_through_of_one_folder_or_in_another_repository_is_a_qualified_pass(
    project: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each pass is judged as bundle verify --require-pass judges it: a baseline's or a new-code
    reference's let-through, a run of one folder, a run in another repository (with --repository) are
    no clean gate of the commit, and the page and gated.csv say what kind of pass each commit had;
    --accept-baseline, --folder and --repository say what the gate accepts, with bundle verify's words."""
    records = project["records"]
    for rec in records:
        rec["ci"] = {"provider": "github-actions", "repository": "acme/shop", "run_id": "1"}
    records[0]["baseline"] = {"path": ".gatekeeper/baseline.json", "sha256": "ab" * 32, "matched": 2}  # main0
    records[6]["folder"] = "services/api"  # main5: one folder of the tree
    records[8]["ci"] = {"provider": "github-actions", "repository": "insider/copy", "run_id": "77"}  # main6's pass
    write_log(project["log"], records)
    main = project["main"]

    def kinds(*options: str) -> dict[str, tuple[str, str]]:
        out = tmp_path / "csv"
        done = _report(project["repo"], monkeypatch, str(project["log"]), "--branch", "main", "--format", "csv",
                       "--output", str(out), *options)  # fmt: skip
        assert done.exit_code == 0, done.output
        rows = csv.DictReader(io.StringIO((out / "gated.csv").read_text()))
        return {r["commit"]: (r["status"], r["kind_of_pass"]) for r in rows}

    plain = kinds()
    baseline = f"2 finding(s) in the baseline .gatekeeper/baseline.json (sha256 {'ab' * 32})"
    assert plain[main[0]] == ("qualified pass", f"#1: {baseline} let through as known, not judged by the policy")
    assert plain[main[5]] == (
        "qualified pass", "#7: it judged the folder services/api of the repository alone, not the whole repository"
    )  # fmt: skip
    assert plain[main[6]] == ("gated", "clean")  # no --repository: any repository's run counts, as bundle verify
    assert plain[main[1]] == ("not gated", "") and plain[main[2]] == ("no run", "")
    asked = kinds("--accept-baseline", "--repository", "acme/shop")
    assert asked[main[0]] == ("gated", "clean")
    assert asked[main[6]] == ("qualified pass", "#9: run in insider/copy, not in acme/shop (--repository)")
    assert kinds("--folder", "services/api/")[main[5]] == ("gated", "clean")
    out = tmp_path / "h.html"
    done = _report(project["repo"], monkeypatch, str(project["log"]), "--branch", "main", "--output", str(out))
    assert done.exit_code == 0, done.output
    page = out.read_text()
    assert "1 gated</span>" in page and "2 qualified pass</span>" in page
    assert "#7 pass (it judged the folder services/api of the repository alone, not the whole repository)" in page


def test_a_record_past_a_break_in_the_chain_gates_nothing(
    project: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = project["log"].read_text().splitlines()
    edited = json.loads(lines[0])
    edited["actor"] = {"name": "mallory", "source": "test"}  # line 1 edited: nothing after it verifies
    lines[0] = json.dumps(edited, sort_keys=True)
    project["log"].write_text("\n".join(lines) + "\n")
    out = tmp_path / "h.html"
    done = _report(project["repo"], monkeypatch, str(project["log"]), "--branch", "main", "--output", str(out))
    assert done.exit_code == 1
    page = out.read_text()
    assert "0 gated" in page and "0 not gated" in page and "8 with no run" in page


def test_policy_changes_are_listed_by_digest_with_the_diff_from_git(
    project: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "h.html"
    assert _report(project["repo"], monkeypatch, str(project["log"]), "--output", str(out)).exit_code == 0
    page = out.read_text()
    section = page[page.index('id="policy"') : page.index('id="waivers"')]
    assert "1 change of the effective policy" in section
    v1, v2 = (hashlib.sha256(p.encode()).hexdigest() for p in (POLICY_V1, POLICY_V2))
    assert f"<code>{v1[:16]}</code>" in section and f"<code>{v2[:16]}</code>" in section
    assert '<span class="diff-del">-min_total = 85.0</span>' in section
    assert '<span class="diff-add">+min_total = 90.0</span>' in section
    # without the repository the change is still listed, and the page says why there is no diff
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert _report(outside, monkeypatch, str(project["log"]), "--output", str(out)).exit_code == 0
    section = out.read_text()[out.read_text().index('id="policy"') :]
    assert "1 change of the effective policy" in section and "no diff, the text of" in section


def test_filters_since_until_branch_and_event(project: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log, out = str(project["log"]), tmp_path / "h.html"
    # runs are 37 hours apart from 2026-07-01 09:00: runs 3..5 fall on 07-04 .. 07-07
    done = _report(tmp_path, monkeypatch, log, "--since", "2026-07-04", "--until", "2026-07-07", "--output", str(out))
    assert done.exit_code == 0, done.output
    assert out.read_text().count('<tr class="run">') == 3
    assert "2026-07-04 to 2026-07-07" in out.read_text()
    _report(tmp_path, monkeypatch, log, "--branch", "feature/login", "--output", str(out))
    assert out.read_text().count('<tr class="run">') == 1
    _report(tmp_path, monkeypatch, log, "--event", "tag", "--output", str(out))
    page = out.read_text()
    assert page.count('<tr class="run">') == 1 and 'href="https://github.com/acme/shop/actions/runs/9009"' in page
    for bad, message in ((["--until", "July"], "--until: expected a day as YYYY-MM-DD"),
                         (["--since", "20260704"], "--since: expected a day as YYYY-MM-DD"),  # 3.11's fromisoformat takes it
                         (["--since", "2026-W27-6"], "--since: expected a day as YYYY-MM-DD"),  # an ISO week date
                         (["--until", "2026-02-30"], "--until: expected a day as YYYY-MM-DD"),
                         (["--event", "merge"], "--event: expected one of"),
                         (["--since", "2026-07-09", "--until", "2026-07-01"], "is after --until"),
                         (["--format", "pdf"], "--format")):  # fmt: skip
        done = _report(tmp_path, monkeypatch, log, *bad)
        assert done.exit_code == 2 and message in done.output, (bad, done.output)


def test_exceptions_show_terms_first_use_renewal_and_coverage(project: dict[str, Any], tmp_path: Path) -> None:
    from gatekeeper.audit import read_records, verify_log
    from gatekeeper.history import Period, select_runs
    from gatekeeper.history_period import exceptions

    records = quarter_records([(f"{i:040x}", "main") for i in range(40)])
    log = tmp_path / "q.jsonl"
    write_log(log, records)
    runs = select_runs(read_records(log), verify_log(log), Period())
    rows = {w.id: w for w in exceptions(runs)}
    vuln = rows["w-urllib3-proxy"]
    assert vuln.approved_by == "security@acme.example" and vuln.reason == "the proxy code path is not used by the shop"
    assert vuln.first_use == "2026-07-01 09:00:00Z" and vuln.expires == "2026-11-30"
    assert vuln.state == "applied"  # expired for six runs, then renewed: it ends applied, not expired
    # lapsed in runs 21..26 (the 25th was a partial run, with no waiver evaluated), renewed in run 27
    assert vuln.expired_runs == 5 and len(vuln.renewals) == 1 and vuln.renewals[0].startswith("2026-08-01 to 2026-11-30 (run #27")
    partial = sum(1 for i in range(40) if i % 7 == 3)
    assert vuln.runs == 40 - partial - 5 and vuln.findings == vuln.runs and len(vuln.fingerprints) == 1
    assert rows["w-lgpl-chardet"].runs == 40 - partial and rows["w-lgpl-chardet"].renewals == []


def test_controls_over_the_period_count_passing_with_exceptions_and_partial_runs(tmp_path: Path) -> None:
    from gatekeeper.audit import read_records, verify_log
    from gatekeeper.history import Period, select_runs
    from gatekeeper.history_period import controls

    records = quarter_records([(f"{i:040x}", "main") for i in range(40)])
    log = tmp_path / "q.jsonl"
    write_log(log, records)
    runs = select_runs(read_records(log), verify_log(log), Period())
    by_id = {c.id: c for c in controls(runs)}
    # a vulnerability and an LGPL license are waived: PW.4 and RV.1 never plainly pass
    assert by_id["PW.4"].counts["pass"] == 0 and by_id["RV.1"].counts["pass"] == 0
    assert by_id["RV.1"].counts["pass with exceptions"] > 0 and by_id["RV.1"].counts["fail"] >= 5
    assert by_id["PW.4"].title.startswith("Reuse Existing") and by_id["PW.4"].status == "fail"
    partial = sum(1 for i in range(40) if i % 7 == 3)
    assert by_id["PW.8"].counts["not evidenced"] == partial  # the --only security runs evidence no coverage
    statuses = {r.status for r in runs}
    assert "partial pass" in statuses and "pass with exceptions" in statuses and "pass" not in statuses


def test_csv_exports_parse_and_findings_come_from_kept_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = quarter_records([(f"{i:040x}", "main" if i % 2 else '=HYPERLINK("http://x")') for i in range(12)])
    kept = tmp_path / "artifacts" / "run-9004"
    kept.mkdir(parents=True)
    json_text = render_json(failing_result())
    (kept / "gatekeeper.json").write_text(json_text)
    statement = '{"_type": "https://in-toto.io/Statement/v1", "subject": []}'  # kept too, and no result
    (kept / "gatekeeper.intoto.json").write_text(statement)
    records[4]["reports"] = {
        "gatekeeper-reports/gatekeeper.intoto.json": hashlib.sha256(statement.encode()).hexdigest(),
        "gatekeeper-reports/gatekeeper.json": hashlib.sha256(json_text.encode()).hexdigest(),
    }
    log = tmp_path / "audit.jsonl"
    write_log(log, records)
    out = tmp_path / "csv"
    args = ("--format", "csv", "--output", str(out), "--reports", str(tmp_path / "artifacts"))
    done = _report(tmp_path, monkeypatch, str(log), *args)
    assert done.exit_code == 0, done.output
    assert "findings: from the kept gatekeeper.json of 1 run(s); 11 run(s) had none kept" in done.output
    runs = list(csv.DictReader(io.StringIO((out / "runs.csv").read_text())))
    assert [r["seq"] for r in runs] == [str(n) for n in range(1, 13)]
    assert runs[3]["status"] == "partial pass" and runs[3]["complete"] == "no" and runs[3]["scope"] == "partial: only security"
    assert runs[0]["branch"] == '\'=HYPERLINK("http://x")'  # never a formula in a spreadsheet
    assert runs[1]["ci_url"] == "https://github.com/acme/shop/actions/runs/9001" and runs[1]["event"] == "push"
    assert "RV.1=pass with exceptions" in runs[1]["controls"]
    exceptions = list(csv.DictReader(io.StringIO((out / "exceptions.csv").read_text())))
    assert {e["waiver"]: e["approved_by"] for e in exceptions} == {
        "w-lgpl-chardet": "legal@acme.example", "w-urllib3-proxy": "security@acme.example"}  # fmt: skip
    findings = list(csv.DictReader(io.StringIO((out / "findings.csv").read_text())))
    expected = sum(len(c.findings) for c in failing_result().checks)
    assert len(findings) == expected and {f["seq"] for f in findings} == {"5"}
    assert {f["state"] for f in findings} >= {"blocking", "waived"}


def test_a_kept_result_of_the_earlier_secrets_form_is_listed_without_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from gatekeeper.findings import CheckResult, Finding, Location, Severity, Status, fingerprint

    sha1 = hashlib.sha1(b"hunter2").hexdigest()  # noqa: S324  # detect-secrets' hashed_secret of a weak password
    old = Finding(  # as the secrets check wrote it: the SHA-1 in the message, properties and fingerprint
        rule_id="secret.secret-keyword",
        severity=Severity.HIGH,
        message=f"potential secret (Secret Keyword) in app.py:2, sha1 {sha1[:12]}…; rotate it and remove it",
        blocking=True,
        location=Location("app.py", line=2),
        fingerprint=fingerprint("secrets", "secret.secret-keyword", "app.py", sha1),
        properties={"secret_type": "Secret Keyword", "hashed_secret": sha1},
    )
    result = failing_result()
    result = replace(result, checks=(*result.checks, CheckResult("secrets", Status.FAIL, findings=(old,))))
    records = quarter_records([(f"{i:040x}", "main") for i in range(3)])
    kept = tmp_path / "artifacts"
    kept.mkdir()
    json_text = render_json(result)
    (kept / "gatekeeper.json").write_text(json_text)
    records[1]["reports"] = {"gatekeeper-reports/gatekeeper.json": hashlib.sha256(json_text.encode()).hexdigest()}
    write_log(tmp_path / "audit.jsonl", records)
    out = tmp_path / "csv"
    args = ("--format", "csv", "--output", str(out), "--reports", str(kept))
    done = _report(tmp_path, monkeypatch, str(tmp_path / "audit.jsonl"), *args)
    assert done.exit_code == 0, done.output
    text = (out / "findings.csv").read_text()
    assert sha1[:12] not in text and old.fingerprint not in text
    (row,) = [f for f in csv.DictReader(io.StringIO(text)) if f["check"] == "secrets"]
    assert row["fingerprint"] == fingerprint("secrets", "secret.secret-keyword", "app.py")
    assert len(list(csv.DictReader(io.StringIO(text)))) == sum(len(c.findings) for c in result.checks)


def test_a_change_in_the_waivers_file_is_a_change_of_the_effective_policy() -> None:
    """The effective policy's digest decides; the diff is of the file that changed (here the waivers file)."""
    from gatekeeper.history import run_view
    from gatekeeper.history_period import policy_changes

    top, old, new = "[gate]\n", 'expires = 2026-12-01\nreason = "x y z"\n', 'expires = 2027-02-28\nreason = "x y z"\n'
    digest = {t: hashlib.sha256(t.encode()).hexdigest() for t in (top, old, new)}

    def record(seq: int, waivers: str, effective: str) -> dict[str, Any]:
        files = [{"role": "policy", "path": "gatekeeper.toml", "sha256": digest[top]},
                 {"role": "waivers", "path": "compliance/waivers.toml", "sha256": digest[waivers]}]  # fmt: skip
        policy = {"path": "gatekeeper.toml", "sha256": digest[top], "effective_sha256": effective, "files": files}
        return {"seq": seq, "time": f"2026-12-0{seq}T10:00:00Z", "commit": "c" * 40, "verdict": "pass", "policy": policy}

    runs = [run_view(rec, n, False) for n, rec in enumerate([record(1, old, "e1" * 32), record(2, old, "e1" * 32),
                                                               record(3, new, "e2" * 32)], 1)]  # fmt: skip
    texts = {digest[t]: (t, "test") for t in (top, old, new)}
    changes = policy_changes(runs, texts)
    assert [(c.seq, c.previous[:2]) for c in changes] == [("1", ""), ("3", "e1")]
    assert "-expires = 2026-12-01" in changes[1].diff and "+expires = 2027-02-28" in changes[1].diff
    assert not any("gatekeeper.toml" in line for line in changes[1].diff)  # the top file did not change
    unknown = policy_changes(runs, {})
    assert "waivers compliance/waivers.toml: no diff" in unknown[1].note


def test_audit_show_marks_a_partial_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = quarter_records([(f"{i:040x}", "main") for i in range(5)])
    for rec in records:
        rec["verdict"] = "pass"
    log = tmp_path / "audit.jsonl"
    write_log(log, records)
    monkeypatch.chdir(tmp_path)
    shown = CliRunner().invoke(app, ["audit", "show", str(log)])
    rows = [line.split() for line in shown.output.splitlines()[1:]]
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [" ".join(r[4:6]) for r in rows][3] == "pass (partial)"  # the fourth run was --only security
    assert all(r[4] == "pass" and r[5] != "(partial)" for i, r in enumerate(rows) if i != 3)


def test_a_hand_edited_scope_is_shown_as_it_stands_never_a_traceback(tmp_path: Path) -> None:
    """The log is read back as untrusted data: a record whose scope lists are not lists is still a
    partial run on the page and in audit show, not a crash."""
    log = tmp_path / "audit.jsonl"
    write_log(log, [{"command": "check", "verdict": "pass", "scope": {"complete": False, "only": 5, "skip": "lint"}}])
    page = tmp_path / "history.html"
    done = CliRunner().invoke(app, ["audit", "report", str(log), "--output", str(page)])
    assert done.exit_code == 0, done.output
    assert "partial: only 5; skip lint" in page.read_text(encoding="utf-8")
    done = CliRunner().invoke(app, ["audit", "show", str(log)])
    assert done.exit_code == 0 and "pass (partial)" in done.output


def test_branch_without_a_checkout_says_the_gated_changes_are_not_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a folder that is no checkout's top (a monorepo project's folder), ``--branch`` has no
    history to join: the CSV folder then holds no gated.csv, and the command says why."""
    log = tmp_path / "audit.jsonl"
    write_log(log, quarter_records([("a" * 40, "main")]))
    done = _report(tmp_path, monkeypatch, str(log), "--branch", "main", "--format", "csv", "--output", str(tmp_path / "csv"))
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "csv" / "gated.csv").exists()
    assert "--branch main: the gated changes are not listed" in done.output and "(pass --repo DIR)" in done.output
