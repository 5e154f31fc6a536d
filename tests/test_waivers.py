"""Waivers: matching, expiry, unused waivers, --strict-waivers, waiver files and policy errors.

End-to-end tests run ``gatekeeper check`` with the test plugin's checkers (real entry points);
the finer matching rules are driven through the engine with an injected clock.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.engine import RunRequest, run_checks
from gatekeeper.findings import GateResult, Status, Verdict
from gatekeeper.policy import load_policy
from tests.helpers.cli import Runner
from tests.helpers.plugin import policy_text

#: a waiver expiry within gate.max_waiver_days of today
SOON = (dt.date.today() + dt.timedelta(days=180)).isoformat()


ADVISORIES = [
    {"id": "PYSEC-2024-9", "aliases": ["CVE-2024-1111", "GHSA-aaaa-bbbb-cccc"], "package": "Foo_Bar", "version": "1.0"},
    {"id": "PYSEC-2024-10", "aliases": [], "package": "foo", "version": "2.0"},
]


def _project(tmp: Path, waivers: str = "", files: dict[str, str] | None = None, top: str = "") -> Path:
    files = files if files is not None else {"scripts/tool.py": "eval(x)\n", "legacy.py": "y = eval(z)\n"}
    for name, text in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text, encoding="utf-8")
    (tmp / "advisories.json").write_text(json.dumps(ADVISORIES), encoding="utf-8")
    (tmp / "gatekeeper.toml").write_text(top + policy_text(waivers), encoding="utf-8")
    return tmp


def _waiver(check: str, reason: str = "accepted for this test", expires: str = "", **keys: str) -> str:
    expires = expires or SOON
    keys.setdefault("approved_by", "lead@example.com")
    body = "".join(f'{k} = "{v}"\n' for k, v in keys.items())
    return f'\n[[waivers]]\ncheck = "{check}"\n{body}reason = "{reason}"\nexpires = {expires}\n'


def _findings(data: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return next(c["findings"] for c in data["checks"] if c["name"] == check)


# --------------------------------------------------------------------------- end to end


def test_report_shows_waived_expired_and_unused_waivers(tmp_path: Path, plugin_gk: Runner) -> None:
    waivers = (
        _waiver("pattern", id="scripts-eval", rule="P001", path="scripts/*.py", approved_by="sec@example.com",
                reason="scripts run only on dev machines")
        + _waiver("pattern", id="legacy-eval", rule="P001", path="legacy.py", expires="2020-01-31", approved_by="cto@example.com")
        + _waiver("advisories", id="foo-cve", rule="cve-2024-1111", package="foo.bar", approved_by="sec@example.com",
                  reason="the code is not reachable")
        + _waiver("advisories", id="foo-old", rule="PYSEC-2000-1", reason="fixed upstream long ago")
        + _waiver("advisories", id="foo2", rule="PYSEC-2024-10", package="foo")
    )  # fmt: skip
    project = _project(tmp_path, waivers)
    run = plugin_gk(["check", "."], cwd=project)
    assert run.returncode == 1, run.stderr  # the expired waiver no longer covers legacy.py
    data = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())

    by_path = {f["location"]["path"]: f for f in _findings(data, "pattern")}
    assert set(by_path) == {"scripts/tool.py", "legacy.py"}  # a waived finding stays in the report
    waived = by_path["scripts/tool.py"]
    assert waived["blocking"] is False
    assert waived["waiver"] == {
        "id": "scripts-eval",
        "kind": "waiver",
        "reason": "scripts run only on dev machines",
        "approved_by": "sec@example.com",
        "expires": SOON,
    }
    assert by_path["legacy.py"]["blocking"] is True and by_path["legacy.py"]["waiver"] is None
    # advisory waived through an alias, with the package written differently (PEP 503)
    advisories = {f["rule_id"]: f for f in _findings(data, "advisories")}
    assert advisories["PYSEC-2024-9"]["waiver"]["id"] == "foo-cve" and advisories["PYSEC-2024-9"]["blocking"] is False
    assert advisories["PYSEC-2024-10"]["waiver"]["id"] == "foo2"
    statuses = {c["name"]: c["status"] for c in data["checks"]}
    assert statuses == {"pattern": "fail", "advisories": "pass"}

    summary = data["waivers"]
    assert [w["id"] for w in summary["applied"]] == ["scripts-eval", "foo-cve", "foo2"]
    assert [(w["id"], w["findings"], w["approved_by"]) for w in summary["expired"]] == [("legacy-eval", 1, "cto@example.com")]
    assert [w["id"] for w in summary["unused"]] == ["foo-old"]
    record = json.loads((project / ".gatekeeper/audit.jsonl").read_text().splitlines()[-1])
    assert record["waivers"] == {
        "applied": ["scripts-eval", "foo-cve", "foo2"],
        "expired": ["legacy-eval"],
        "unused": ["foo-old"],
    }
    assert record["checks"]["pattern"]["waived"] == 1 and record["checks"]["pattern"]["blocking"] == 1


def test_strict_waivers_fail_the_gate_on_expired_or_unused(tmp_path: Path, plugin_gk: Runner) -> None:
    project = _project(tmp_path, _waiver("pattern", id="all-eval", rule="P001") + _waiver("advisories", id="stale", rule="X-1"),
                       files={"app.py": "eval(x)\n"})  # fmt: skip
    (project / "advisories.json").write_text("[]")
    assert plugin_gk(["check", "."], cwd=project).returncode == 0  # an unused waiver alone does not fail the gate
    strict = plugin_gk(["check", ".", "--strict-waivers"], cwd=project)
    assert strict.returncode == 1
    data = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert data["verdict"] == "fail" and [w["id"] for w in data["waivers"]["unused"]] == ["stale"]
    # the policy can ask for it too
    (project / "gatekeeper.toml").write_text(policy_text(_waiver("pattern", rule="P001"), gate="strict_waivers = true\n"))
    assert plugin_gk(["check", "."], cwd=project).returncode == 0  # every waiver is used and live
    expired = _waiver("pattern", rule="P001", expires="2021-01-01") + _waiver("pattern", id="live", rule="P001")
    (project / "gatekeeper.toml").write_text(policy_text(expired, gate="strict_waivers = true\n"))
    assert plugin_gk(["check", "."], cwd=project).returncode == 1


def test_waivers_file_named_by_the_policy(tmp_path: Path, plugin_gk: Runner) -> None:
    project = _project(tmp_path, top='waivers_file = "compliance/waivers.toml"\n', files={"app.py": "eval(x)\n"})
    (project / "compliance").mkdir()
    (project / "compliance/waivers.toml").write_text(_waiver("pattern", id="from-file", rule="P001", approved_by="qa"))
    (project / "advisories.json").write_text("[]")
    assert plugin_gk(["check", "."], cwd=project).returncode == 0
    data = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert _findings(data, "pattern")[0]["waiver"]["id"] == "from-file"
    # a mistake in the waivers file is reported against that file and line
    (project / "compliance/waivers.toml").write_text('[[waivers]]\ncheck = "pattern"\nrule = "P001"\nexpires = 2030-01-01\n')
    bad = plugin_gk(["check", "."], cwd=project)
    assert bad.returncode == 2
    assert "compliance/waivers.toml:1: waivers[0].reason: is required" in bad.stderr


@pytest.mark.parametrize(
    ("waiver", "expected"),
    [
        ('check = "pattern"\nrule = "P001"\nexpires = 2030-01-01\n', "gatekeeper.toml:{line}: waivers[0].reason: is required"),
        ('check = "pattern"\nrule = "P001"\nreason = "{r}"\napproved_by = "qa"\n', "{file}waivers[0].expires: is required"),
        ('check = "pattern"\nrule = "P001"\nreason = "{r}"\nexpires = 2030-01-01\n', "{file}waivers[0].approved_by: is required"),
        ('check = "pattern"\nrule = "P001"\nreason = "x"\napproved_by = "qa"\nexpires = 2030-01-01\n', "'x' is not a reason"),
        ('check = "pattern"\nrule = "P001"\nreason = "ok then"\n{signed}expires = 2030-01-01\n', "'ok then' is not a reason"),
        (
            'check = "pattern"\nrule = "P001"\nreason = "{r}"\napproved_by = "qa"\nexpires = "next year"\n',
            "waivers[0].expires: expected a date like 2027-06-30",
        ),
        (
            'check = "patern"\nrule = "P001"\nreason = "{r}"\napproved_by = "qa"\nexpires = 2030-01-01\n',
            "waivers[0].check: no checker named 'patern' (did you mean 'pattern'?)",
        ),
        (
            'check = "pattern"\nreason = "{r}"\napproved_by = "qa"\nexpires = 2030-01-01\n',
            "waivers[0].rule: a waiver must name a rule or a package",
        ),
        (
            'check = "pattern"\nrule = "P001"\nreason = "{r}"\nexpires = 2030-01-01\napprover = "me"\n',
            "waivers[0].approver: unknown key",
        ),
    ],
)
def test_invalid_waivers_are_policy_errors(tmp_path: Path, plugin_cli: Runner, waiver: str, expected: str) -> None:
    text = (
        policy_text()
        + "\n[[waivers]]\n"
        + waiver.replace("{r}", "accepted for this test").replace("{signed}", 'approved_by = "qa"\n')
    )
    (tmp_path / "gatekeeper.toml").write_text(text)
    header_line = text.splitlines().index("[[waivers]]") + 1
    run = plugin_cli(["policy", "validate", "gatekeeper.toml"], cwd=tmp_path)
    assert run.returncode == 2
    assert expected.format(line=header_line, file=f"gatekeeper.toml:{header_line}: ") in run.stderr, run.stderr
    assert plugin_cli(["check", "."], cwd=tmp_path).returncode == 2  # nothing is checked under a broken policy


# --------------------------------------------------------------------------- matching rules (engine)


def _run(project: Path, installed: tuple[dict[str, Any], dict[str, Any]], today: dt.date, **request: Any) -> GateResult:
    checkers, options = installed
    policy = load_policy(project, options)
    moment = dt.datetime.combine(today, dt.time(12, 0), tzinfo=dt.timezone.utc)
    demo = {name: checkers[name] for name in ("pattern", "advisories")}
    return run_checks(RunRequest(root=project, policy=policy, output_dir=project / "out", clock=lambda: moment, **request), demo)


def test_a_waiver_applies_through_its_expiry_day_and_not_after(
    tmp_path: Path, installed: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    project = _project(tmp_path, _waiver("pattern", id="w", rule="P001", expires="2026-06-30"), files={"a.py": "eval(1)\n"})
    (project / "advisories.json").write_text("[]")
    on_the_day = _run(project, installed, dt.date(2026, 6, 30))
    assert on_the_day.verdict is Verdict.PASS and [w["id"] for w in on_the_day.waivers["applied"]] == ["w"]
    day_after = _run(project, installed, dt.date(2026, 7, 1))
    assert day_after.verdict is Verdict.FAIL
    assert [w["id"] for w in day_after.waivers["expired"]] == ["w"] and day_after.waivers["applied"] == []
    pattern = day_after.check("pattern")
    assert pattern is not None and pattern.status is Status.FAIL and pattern.findings[0].blocking


def test_path_globs_and_packages_narrow_a_waiver(tmp_path: Path, installed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    waivers = (
        _waiver("pattern", id="only-scripts", rule="P001", path="scripts/*.py")
        + _waiver("advisories", id="wrong-package", rule="GHSA-aaaa-bbbb-cccc", package="foo")  # foo is not foo-bar
        + _waiver("advisories", id="any-advisory-of-foo", package="FOO")  # a package alone matches every rule
    )
    project = _project(tmp_path, waivers, files={"scripts/a.py": "eval(1)\n", "src/b.py": "eval(2)\n"})
    result = _run(project, installed, dt.date(2026, 1, 1))
    pattern, advisories = result.check("pattern"), result.check("advisories")
    assert pattern is not None and advisories is not None
    assert {(f.location.path if f.location else "", f.blocking) for f in pattern.findings} == {
        ("scripts/a.py", False),
        ("src/b.py", True),
    }
    by_rule = {f.rule_id: f for f in advisories.findings}
    assert by_rule["PYSEC-2024-9"].blocking and by_rule["PYSEC-2024-9"].waiver is None
    waiver = by_rule["PYSEC-2024-10"].waiver
    assert waiver is not None and waiver.id == "any-advisory-of-foo"
    assert [w["id"] for w in result.waivers["unused"]] == ["wrong-package"]


def test_overlapping_waivers_are_all_in_use(tmp_path: Path, installed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    waivers = _waiver("pattern", id="broad", rule="P001") + _waiver("pattern", id="narrow", rule="P001", path="a.py")
    project = _project(tmp_path, waivers, files={"a.py": "eval(1)\n"})
    result = _run(project, installed, dt.date(2026, 1, 1))
    assert [w["id"] for w in result.waivers["applied"]] == ["broad", "narrow"] and result.waivers["unused"] == []


def test_waivers_of_checks_that_did_not_run_are_not_unused(
    tmp_path: Path, installed: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    project = _project(tmp_path, _waiver("advisories", id="adv", rule="PYSEC-2024-9"), files={"a.py": "print(1)\n"})
    only_pattern = _run(project, installed, dt.date(2026, 1, 1), only=("pattern",), strict_waivers=True)
    assert only_pattern.waivers["unused"] == [] and only_pattern.verdict is Verdict.PASS
    (project / "advisories.json").write_text("not json")  # the advisories check errors: its waivers cannot be judged
    broken = _run(project, installed, dt.date(2026, 1, 1))
    assert broken.verdict is Verdict.ERROR and broken.waivers["unused"] == []
