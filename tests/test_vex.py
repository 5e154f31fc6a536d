"""VEX in and out: OpenVEX and CycloneDX VEX statements become exceptions of the dependencies check
through the waiver path (bounded by gate.max_waiver_days, unused ones reported, malformed documents
exit 2), and the run's exceptions go out as OpenVEX and CycloneDX VEX, valid against their schemas."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from typer.testing import CliRunner

from gatekeeper.auditrecord import build_record
from gatekeeper.checkers.sbom.validate import validate_text
from gatekeeper.cli import app
from gatekeeper.console import Console
from gatekeeper.errors import PolicyError
from gatekeeper.findings import GateResult, Status, Verdict
from gatekeeper.reports.html import render_html
from gatekeeper.reports.markdown import escape as md_escape
from gatekeeper.reports.markdown import render_markdown
from gatekeeper.reports.sarif import render_sarif
from gatekeeper.reports.vex import render_cyclonedx_vex, render_openvex
from tests.helpers.osv import RECORDS, dep_result, write_db

Project = Callable[..., Path]
Gate = Callable[[Path], GateResult]
#: the OpenVEX 0.2.0 JSON Schema, vendored unmodified (tests/data/README.md)
OPENVEX_SCHEMA = Path(__file__).resolve().parent / "data" / "openvex_json_schema_0.2.0.json"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _stamp(days_ago: int = 0) -> str:
    return (NOW - dt.timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


def openvex(*statements: dict[str, Any], timestamp: str | None = None) -> dict[str, Any]:
    return {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/myproject-1",
        "author": "security@example.com",
        "timestamp": timestamp or _stamp(),
        "version": 1,
        "statements": list(statements),
    }


def statement(name: str, product: str, status: str = "not_affected", **extra: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"vulnerability": {"name": name}, "products": [{"@id": product}], "status": status}
    if status == "not_affected" and "justification" not in extra:
        st["justification"] = "vulnerable_code_not_in_execute_path"
    st.update(extra)
    return st


def vex_project(deps_project: Project, *docs: tuple[str, dict[str, Any]], extra: str = "") -> Path:
    names = ", ".join(f'"{name}"' for name, _ in docs)
    root = deps_project(checks=f'advisory_db = "advisories"\nvex = [{names}]', environment='scope = "project"', extra=extra)
    write_db(root, RECORDS, "pypa")
    for name, doc in docs:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(doc), encoding="utf-8")
    return root


def _openvex_validator() -> Any:
    import jsonschema

    schema = json.loads(OPENVEX_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_an_openvex_statement_turns_an_advisory_into_an_exception(deps_project: Project, run_deps: Gate) -> None:
    # before: TEST-2024-RANGE (alias CVE-2024-0001) blocks for alpha 1.4
    plain = deps_project(checks='advisory_db = "advisories"', environment='scope = "project"')
    write_db(plain, RECORDS, "pypa")
    before = next(f for f in dep_result(run_deps(plain)).findings if f.rule_id == "TEST-2024-RANGE")
    assert before.blocking and before.waiver is None

    doc = openvex(
        statement("CVE-2024-0001", "pkg:pypi/alpha@1.4", impact_statement="only the CLI parses paths"),
        statement("TEST-2024-LIST", "pkg:pypi/beta-pkg@9.9"),  # another version: matches nothing
        statement("TEST-2024-LAST", "pkg:pypi/gamma@3.1", status="under_investigation"),
        statement("TEST-2024-ZERO", "pkg:npm/foo-bar-baz@1.0"),  # not a PyPI package
    )
    root = vex_project(deps_project, ("vex/openvex.json", doc))
    gate = run_deps(root)
    result = dep_result(gate)
    after = next(f for f in result.findings if f.rule_id == "TEST-2024-RANGE")
    assert not after.blocking and after.waiver is not None
    assert after.waiver.kind == "vex" and after.waiver.id == "vex/openvex.json#1"
    assert after.waiver.status == "not_affected" and after.waiver.justification == "vulnerable_code_not_in_execute_path"
    assert "only the CLI parses paths" in after.waiver.reason and after.waiver.approved_by == "security@example.com"
    expires = dt.date.fromisoformat(after.waiver.expires)
    assert expires == NOW.date() + dt.timedelta(days=365)  # the statement's day + gate.max_waiver_days
    # counted and shown like a waiver
    applied = {w["id"]: w for w in gate.waivers["applied"]}
    assert applied["vex/openvex.json#1"]["kind"] == "vex" and applied["vex/openvex.json#1"]["findings"] == 1
    assert [w["id"] for w in gate.waivers["unused"]] == ["vex/openvex.json#2"]
    assert gate.extra["vex"] == [
        {
            "path": "vex/openvex.json",
            "format": "openvex",
            "statements": 4,
            "exceptions": 2,
            "not_exceptions": 1,
            "other_products": 1,
            "sha256": hashlib.sha256((root / "vex/openvex.json").read_bytes()).hexdigest(),
        }
    ]
    # the policy names the document by path: the audit record pins what it said
    assert build_record(gate, {}, "check")["vex"] == [
        {"path": "vex/openvex.json", "sha256": gate.extra["vex"][0]["sha256"], "exceptions": 2}
    ]
    # every report shows it as a waived finding, naming the statement
    html = render_html(gate)
    assert "vex/openvex.json#1" in html and "package alpha, version 1.4" in html
    sarif = json.loads(render_sarif(gate))
    suppressed = [r for run in sarif["runs"] for r in run["results"] if r["ruleId"] == "TEST-2024-RANGE"]
    assert suppressed[0]["suppressions"][0]["justification"].startswith("VEX: not_affected (vulnerable_code_not_in_execute_path)")
    markdown = render_markdown(gate)
    assert "5 findings, 4 blocking" in markdown
    # the count a reader sees says how many of its advisories an exception accepted
    assert result.summary.endswith("(1 accepted by a VEX statement)") and result.summary.startswith("5 vulnerabilities")
    assert escape(result.summary) in html and md_escape(result.summary) in markdown
    console = io.StringIO()
    Console(console, live=False).summary(gate)
    assert "(1 accepted by a VEX statement)" in console.getvalue()
    assert "**Unused waivers** (matched no finding; VEX statements included): vex/openvex.json#2" in markdown
    # the others still block
    assert result.status is Status.FAIL
    assert {f.rule_id for f in result.findings if f.blocking} >= {"TEST-2024-LIST", "TEST-2024-LAST"}


def test_a_statement_older_than_max_waiver_days_has_expired(deps_project: Project, run_deps: Gate) -> None:
    old = openvex(statement("TEST-2024-RANGE", "pkg:pypi/alpha@1.4"), timestamp=_stamp(days_ago=40))
    root = vex_project(deps_project, ("vex.json", old), extra="[gate]\nmax_waiver_days = 30\n")
    gate = run_deps(root)
    finding = next(f for f in dep_result(gate).findings if f.rule_id == "TEST-2024-RANGE")
    assert finding.blocking and finding.waiver is None
    assert [(w["id"], w["findings"]) for w in gate.waivers["expired"]] == [("vex.json#1", 1)]
    assert gate.waivers["expired"][0]["expires"] == (NOW.date() - dt.timedelta(days=10)).isoformat()


def test_cyclonedx_vex_resolved_and_not_affected_by_bom_ref(deps_project: Project, run_deps: Gate) -> None:
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"timestamp": _stamp(), "authors": [{"name": "Product Security"}]},
        "components": [
            {"type": "library", "bom-ref": "beta", "name": "beta-pkg", "version": "2.0.1", "purl": "pkg:pypi/beta-pkg@2.0.1"}
        ],
        "vulnerabilities": [
            {
                "id": "TEST-2024-LIST",
                "affects": [{"ref": "beta"}],
                "analysis": {"state": "resolved", "detail": "patched downstream"},
            },
            {
                "id": "TEST-2024-ZERO",
                "affects": [{"ref": "pkg:pypi/foo-bar-baz@1.0"}],
                "analysis": {"state": "not_affected", "justification": "code_not_reachable", "lastUpdated": _stamp(1)},
            },
            {"id": "TEST-2024-LAST", "affects": [{"ref": "pkg:pypi/gamma@3.1"}], "analysis": {"state": "exploitable"}},
        ],
    }
    assert validate_text(json.dumps(doc), "1.6") is None
    gate = run_deps(vex_project(deps_project, ("vex.cdx.json", doc)))
    by_rule = {f.rule_id: f for f in dep_result(gate).findings}
    assert by_rule["TEST-2024-LIST"].waiver is not None and by_rule["TEST-2024-LIST"].waiver.status == "fixed"
    zero = by_rule["TEST-2024-ZERO"].waiver
    assert zero is not None and zero.justification == "vulnerable_code_not_in_execute_path"
    assert (
        zero.approved_by == "Product Security"
        and zero.expires == (NOW.date() - dt.timedelta(days=1) + dt.timedelta(days=365)).isoformat()
    )
    assert by_rule["TEST-2024-LAST"].blocking
    assert gate.extra["vex"][0]["format"] == "cyclonedx-1.6" and gate.extra["vex"][0]["not_exceptions"] == 1


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{not json", "not readable JSON"),
        ({"statements": []}, "neither an OpenVEX document"),
        (
            openvex({"vulnerability": {"name": "X"}, "products": [{"@id": "pkg:pypi/alpha@1.4"}]}),
            "'status' is a required property",
        ),
        (
            openvex(statement("X", "pkg:pypi/alpha@1.4", status="not_affected", impact_statement="trust me", justification=None)),
            "not valid OpenVEX",
        ),
        (
            openvex(
                {
                    "vulnerability": {"name": "X"},
                    "products": [{"@id": "pkg:pypi/alpha@1.4"}],
                    "status": "not_affected",
                    "impact_statement": "x",
                }
            ),
            "needs a justification",
        ),
        ({"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [{"id": 5}]}, "not valid CycloneDX 1.6"),
    ],
)
def test_a_malformed_document_is_a_policy_error_naming_the_file(
    deps_project: Project, run_deps: Gate, doc: Any, message: str
) -> None:
    root = vex_project(deps_project, ("vex/bad.json", {}))
    (root / "vex" / "bad.json").write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        run_deps(root)
    assert err.value.file == "vex/bad.json" and err.value.key == "checks.dependencies.vex"
    assert message in str(err.value)
    # through the CLI: exit 2, the file named, no traceback
    run = CliRunner().invoke(app, ["check", str(root), "--only", "dependencies", "--no-audit"])
    assert run.exit_code == 2, run.output
    assert "vex/bad.json" in run.output and "Traceback" not in run.output


def test_a_vex_path_outside_the_project_is_refused(deps_project: Project) -> None:
    root = deps_project(checks='vex = ["../elsewhere.json"]')
    run = CliRunner().invoke(app, ["check", str(root), "--only", "dependencies", "--no-audit"])
    assert run.exit_code == 2 and "leaves the project" in run.output


def test_vex_out_is_schema_valid_and_reads_back_as_the_same_exceptions(
    deps_project: Project, run_deps: Gate, tmp_path: Path
) -> None:
    doc = openvex(statement("CVE-2024-0001", "pkg:pypi/alpha@1.4"))
    root = vex_project(deps_project, ("vex.json", doc))
    gate = run_deps(root)
    out = json.loads(render_openvex(gate))
    assert not [e.message for e in _openvex_validator().iter_errors(out)]
    by_name = {s["vulnerability"]["name"]: s for s in out["statements"]}
    assert by_name["TEST-2024-RANGE"]["status"] == "not_affected"
    assert by_name["TEST-2024-RANGE"]["justification"] == "vulnerable_code_not_in_execute_path"
    assert by_name["TEST-2024-RANGE"]["products"][0]["@id"] == "pkg:pypi/alpha@1.4"
    assert by_name["TEST-2024-LIST"]["status"] == "affected" and by_name["TEST-2024-LIST"]["action_statement"]

    cdx_text = render_cyclonedx_vex(gate)
    assert validate_text(cdx_text, "1.6") is None
    cdx = json.loads(cdx_text)
    states = {v["id"]: v["analysis"] for v in cdx["vulnerabilities"]}
    assert states["TEST-2024-RANGE"] == {
        "state": "not_affected",
        "justification": "code_not_reachable",
        "detail": states["TEST-2024-RANGE"]["detail"],
    }
    assert states["TEST-2024-LIST"]["state"] == "exploitable"
    # RFC 4122 ids (name-based, so the same run renders the same bytes)
    assert uuid.UUID(cdx["serialNumber"].removeprefix("urn:uuid:")).version == 5
    assert uuid.UUID(out["@id"].removeprefix("urn:uuid:")).version == 5 and render_openvex(gate) == render_openvex(gate)
    assert {c["purl"] for c in cdx["components"]} == {a["ref"] for v in cdx["vulnerabilities"] for a in v["affects"]}

    # gatekeeper's own OpenVEX, fed back in, accepts what it said was not affected, and nothing else
    (root / "vex.json").write_text(render_openvex(gate), encoding="utf-8")
    again = run_deps(root)
    waived = sorted(f.rule_id for f in dep_result(again).findings if f.waiver is not None)
    assert waived == ["TEST-2024-RANGE"]
    assert again.verdict is Verdict.FAIL


def test_the_console_names_an_unused_statement(deps_project: Project) -> None:
    root = vex_project(deps_project, ("vex.json", openvex(statement("TEST-2024-RANGE", "pkg:pypi/alpha@9.0"))))
    run = CliRunner().invoke(app, ["check", str(root), "--only", "dependencies", "--no-audit", "--no-cache"])
    assert run.exit_code == 1, run.output
    assert "unused waivers: vex.json#1" in run.output


def test_policy_validate_reads_the_vex_documents(deps_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    root = vex_project(deps_project, ("vex.json", openvex(statement("TEST-2024-RANGE", "pkg:pypi/alpha@1.4"))))
    monkeypatch.chdir(root)
    run = CliRunner().invoke(app, ["policy", "validate"])
    assert run.exit_code == 0, run.output
    assert "VEX OK: 1 exception(s) from 1 document(s) (vex.json)" in run.output
    (root / "vex.json").write_text(json.dumps(openvex({"vulnerability": {"name": "X"}, "status": "fixed"})), encoding="utf-8")
    run = CliRunner().invoke(app, ["policy", "validate"])
    assert run.exit_code == 2 and "vex.json" in run.output and "names no product" in run.output


def test_a_run_without_advisories_writes_no_openvex_and_removes_an_earlier_one(tmp_path: Path) -> None:
    from gatekeeper.reports import write_reports
    from tests.helpers.samples import failing_result, passing_result

    first = write_reports(failing_result(), tmp_path, ("openvex", "cyclonedx-vex"))
    assert sorted(Path(p).name for p in first) == ["gatekeeper.openvex.json", "gatekeeper.vex.cdx.json"]
    assert not [
        e.message for e in _openvex_validator().iter_errors(json.loads((tmp_path / "gatekeeper.openvex.json").read_text()))
    ]
    # no advisory this time: an OpenVEX document needs a statement, so none stands for this run
    second = write_reports(passing_result(), tmp_path, ("openvex", "cyclonedx-vex"))
    assert sorted(Path(p).name for p in second) == ["gatekeeper.vex.cdx.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gatekeeper.vex.cdx.json"]
    assert json.loads((tmp_path / "gatekeeper.vex.cdx.json").read_text())["vulnerabilities"] == []


def test_merge_keeps_each_vex_document_once_and_its_unused_statements(deps_project: Project, checkers: Mapping[str, Any]) -> None:
    from gatekeeper.engine import RunRequest, run_checks
    from gatekeeper.merge import merge_results
    from gatekeeper.policy import load_policy
    from tests.helpers.projects import BUILTINS

    doc = openvex(statement("CVE-2024-0001", "pkg:pypi/alpha@1.4"), statement("TEST-2024-LIST", "pkg:pypi/beta-pkg@9.9"))
    others = "".join(f"[checks.{n}]\nenabled = false\n" for n in BUILTINS if n != "dependencies")
    root = vex_project(deps_project, ("vex/openvex.json", doc), extra=others)
    policy = load_policy(root, {n: c.options for n, c in checkers.items()})

    def run(shard: tuple[int, int] | None) -> GateResult:
        return run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", shard=shard), checkers)

    single, parts = run(None), [run((1, 2)), run((2, 2))]
    assert [p.check("dependencies") is not None for p in parts].count(True) == 1  # dealt to one shard whole
    merged = merge_results(parts, policy, checkers)
    assert merged.extra["vex"] == single.extra["vex"] and len(merged.extra["vex"]) == 1  # neither lost nor doubled
    assert [w["id"] for w in merged.waivers["unused"]] == [w["id"] for w in single.waivers["unused"]] == ["vex/openvex.json#2"]
    assert [w["id"] for w in merged.waivers["applied"]] == ["vex/openvex.json#1"]
    assert dep_result(merged).summary == dep_result(single).summary
    assert "(1 accepted by a VEX statement)" in dep_result(merged).summary


def test_bundle_verify_policy_holds_the_vex_documents_the_run_read_by_sha256(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy names a VEX document by path, so a statement added to it accepts any vulnerability
    while the policy's files and digest stay those the auditor approved: bundle verify --policy holds
    the document the audit record says the run read, by sha256, to the one at that path here."""
    from gatekeeper.bundleverify import BundleCheck
    from gatekeeper.commands.bundledemands import vex_problems
    from gatekeeper.policy import load_policy
    from tests.helpers.projects import installed_options

    approved = json.dumps(openvex(statement("CVE-2024-0001", "pkg:pypi/alpha@1.3")))
    (tmp_path / "vex").mkdir()
    (tmp_path / "vex" / "openvex.json").write_text(approved, encoding="utf-8")
    (tmp_path / "gatekeeper.toml").write_text('[checks.dependencies]\nvex = ["vex/openvex.json"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    policy = load_policy(tmp_path, installed_options())
    same = hashlib.sha256(approved.encode()).hexdigest()
    run = BundleCheck(files=1, record_seq=3, record_vex=(("vex/openvex.json", same),), record_ran=("dependencies",))
    assert vex_problems(run, policy) == []
    edited = hashlib.sha256(b"{}").hexdigest()  # the statement the run read said more than the approved one
    problems = vex_problems(BundleCheck(files=1, record_seq=3, record_vex=(("vex/openvex.json", edited),)), policy)
    assert problems == [
        f"--policy: vex/openvex.json is not the VEX document the run read (audit record #3 says sha256 {edited}, "
        f"the file here is {same}): its statements accept findings the policy's digest does not cover"
    ]
    older = BundleCheck(files=1, record_seq=3, record_ran=("dependencies",))  # a record that does not say
    assert "does not state the sha256 of the VEX document vex/openvex.json" in vex_problems(older, policy)[0]
    assert vex_problems(BundleCheck(files=1, record_seq=3, record_ran=("security",)), policy) == []  # nothing read


def test_require_pass_refuses_an_advisory_database_stale_by_the_authoritys_time(deps_project: Project, run_deps: Gate) -> None:
    """The check judges the offline database's age by the runner's clock: one set back reads a stale
    database as fresh. The audit record keeps the database's as-of time and limit, and bundle verify
    --require-pass --tsa-cert judges its age at the run's latest possible start: the authority's
    time of the record less the run's duration, in days to one decimal as the check does."""
    from gatekeeper.bundleverify import BundleCheck
    from gatekeeper.commands.bundledemands import demands
    from gatekeeper.recordfacts import database_of

    root = vex_project(deps_project, ("vex/openvex.json", openvex(statement("CVE-2024-0001", "pkg:pypi/alpha@1.3"))))
    record = build_record(run_deps(root), {}, "check")
    database = database_of(record)
    assert database is not None and database["max_age_days"] == 7
    as_of = dt.datetime.fromisoformat(str(database["as_of"]).replace("Z", "+00:00"))

    def stamped_at(moment: dt.datetime, took: float = 3.0) -> list[str]:
        at = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        run = BundleCheck(files=1, signature="valid", backing="record", record_seq=4, record_verdict="pass",
                          record_scope={"complete": True}, record_database=database, record_duration=took,
                          stamps=(f"audit/record.jsonl: stamped {at}",))  # fmt: skip
        return demands(run, None, (True, False, "."), (None, None))

    assert stamped_at(as_of + dt.timedelta(days=6, hours=23)) == []
    assert stamped_at(as_of + dt.timedelta(days=7, minutes=70)) == []  # 7.05 days: 7.0 to one decimal
    assert stamped_at(as_of + dt.timedelta(days=7, minutes=80), took=1200) == []  # it started 20 minutes before
    assert len(stamped_at(as_of + dt.timedelta(days=7, minutes=80))) == 1  # 7.06 days: 7.1
    late = stamped_at(as_of + dt.timedelta(days=9))
    assert len(late) == 1 and late[0].startswith(
        f"--require-pass: the advisory database (newest record {database['as_of']}) was 9 days old when the run "
        "started by trusted time (audit record #4 was stamped by the authority, which puts the run's start no later than"
    )
    assert "over checks.dependencies.max_db_age_days = 7: the runner's clock judged it fresh" in late[0]


def test_attestation_verify_policy_holds_the_vex_documents_the_run_read_by_sha256(
    deps_project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement names the VEX documents the run read by sha256, and attestation verify --policy holds them
    to those beside the auditor's policy, as bundle verify does: a statement the checkout's VEX document added
    (accepting CVE-2024-0001) passed --require-pass --policy with the approved policy, whose document accepts nothing."""
    from gatekeeper import signing

    key = signing.write_key_pair(tmp_path / "k.key", tmp_path / "k.pub")
    off = "".join(
        f"[checks.{n}]\nenabled = false\n" for n in ("coverage", "security", "sbom", "licenses", "lint", "types", "secrets")
    )
    checks = 'advisory_db = "advisories"\nvex = ["vex/openvex.json"]'
    root = deps_project(checks=checks, environment='scope = "project"', extra=off, deps=["alpha"])
    write_db(root, RECORDS, "pypa")
    (root / "vex").mkdir()
    accepting = json.dumps(openvex(statement("CVE-2024-0001", "pkg:pypi/alpha@1.4")))
    (root / "vex" / "openvex.json").write_text(accepting, encoding="utf-8")
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(key))
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["check", str(root)])
    assert done.exit_code == 0 and "accepted by a VEX statement" in " ".join(done.output.split()), done.output
    envelope = root / "gatekeeper-reports" / "gatekeeper.intoto.json"
    approved = tmp_path / "approved"
    (approved / "vex").mkdir(parents=True)
    (approved / "gatekeeper.toml").write_bytes((root / "gatekeeper.toml").read_bytes())
    (approved / "vex" / "openvex.json").write_text(json.dumps(openvex()), encoding="utf-8")
    monkeypatch.delenv("GATEKEEPER_AUDIT_KEY", raising=False)
    verify = ["attestation", "verify", str(envelope), "--public-key", str(tmp_path / "k.pub"), "--require-pass"]
    monkeypatch.chdir(approved)
    done = CliRunner().invoke(app, [*verify, "--policy", "gatekeeper.toml"])
    assert done.exit_code == 1 and "REJECTED" in done.output, done.output
    read = hashlib.sha256(accepting.encode()).hexdigest()
    assert f"--policy: vex/openvex.json is not the VEX document the run read (the statement says sha256 {read}" in done.output
    # the effective digest does not cover the document: the verdict names it, and what holds it
    payload = json.loads(base64.b64decode(json.loads(envelope.read_text())["payload"]))
    effective = payload["predicate"]["policy"]["effective_sha256"]
    done = CliRunner().invoke(app, [*verify, "--policy-sha256", effective])
    assert done.exit_code == 0, done.output
    assert f"vex: vex/openvex.json (sha256 {read}): its statements are exceptions the policy names by path" in done.output
    (approved / "vex" / "openvex.json").write_text(accepting, encoding="utf-8")  # the document approved: it holds
    done = CliRunner().invoke(app, [*verify, "--policy", "gatekeeper.toml"])
    assert done.exit_code == 0 and "verified" in done.output, done.output
