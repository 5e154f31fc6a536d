"""``gatekeeper report`` re-renders every format from gatekeeper.json; ``check`` fills the job summary."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatekeeper.cli import app
from gatekeeper.findings import Finding, GateResult
from gatekeeper.redaction import redact_result
from gatekeeper.reports import FORMATS, renderer
from gatekeeper.reports.json import load_result, render_json
from gatekeeper.reports.markdown import render_markdown
from tests.helpers.cli import run_gatekeeper
from tests.helpers.samples import errored_result, failing_result, many_findings


def write_results(tmp_path: Path, result: GateResult) -> Path:
    path = tmp_path / "in" / "gatekeeper.json"
    path.parent.mkdir(parents=True)
    path.write_text(render_json(result), encoding="utf-8")
    return path


def durations_on_a_rounding_edge() -> GateResult:
    """Durations the JSON keeps to the millisecond (1.3496 s is written 1.35) and a report shows to the tenth."""
    result = failing_result()
    checks = tuple(replace(c, duration_s=1.3496 + i) for i, c in enumerate(result.checks))
    return replace(result, duration_s=2.04951, checks=checks)


def run_on_a_dirty_tree_in_ci() -> GateResult:
    """A run with everything a current run records: the tree's state, the scope, the CI run and Python."""
    base = failing_result()
    ci = {"provider": "github-actions", "run_id": "42", "run_url": "https://github.com/acme/shop/actions/runs/42",
          "workflow": "gate", "event": "push", "ref": "refs/heads/main", "repository": "acme/shop"}  # fmt: skip
    extra = {**base.extra, "ci": ci, "runtime": {"python": "3.11.7", "implementation": "CPython"},
             "scope": {"complete": False, "only": ["security"], "skip": [], "left_out": ["coverage"]}}  # fmt: skip
    return replace(base, repository={**base.repository, "dirty": True}, extra=extra)


@pytest.mark.parametrize("make", [failing_result, errored_result, durations_on_a_rounding_edge, run_on_a_dirty_tree_in_ci])
def test_report_rerenders_each_format_byte_for_byte(tmp_path: Path, make: object) -> None:
    result = make()  # type: ignore[operator]
    if make is run_on_a_dirty_tree_in_ci:
        page = renderer("html")(result)
        assert 'id="dirty" class="bad">dirty: yes' in page and "partial: only security" in page
        assert '<a href="https://github.com/acme/shop/actions/runs/42"' in page and "CPython 3.11.7" in page
    results = write_results(tmp_path, result)
    out = tmp_path / "out"
    run = CliRunner().invoke(
        app, ["report", str(results), "--format", "sarif,html", "--format", "markdown,junit", "--output-dir", str(out)]
    )
    assert run.exit_code == 0, run.output
    for fmt in ("sarif", "html", "markdown", "junit"):
        name = FORMATS[fmt][0]
        # re-rendering applies the same redaction pass as check (the sample's "password: 'hunter2'")
        assert (out / name).read_bytes() == renderer(fmt)(redact_result(result)).encode("utf-8"), fmt
        assert f"report: {out / name}" in run.output
    assert sorted(p.name for p in out.iterdir()) == [
        "gatekeeper.html",
        "gatekeeper.junit.xml",
        "gatekeeper.md",
        "gatekeeper.sarif",
    ]


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_report_defaults_to_every_format_beside_the_results(tmp_path: Path) -> None:
    results = write_results(tmp_path, failing_result())
    before = results.read_bytes()
    proc = run_gatekeeper(["report", str(results)], tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in results.parent.iterdir())
    assert names == sorted(name for name, _ in FORMATS.values())
    # the JSON re-rendered from itself is unchanged but for the credential the redaction pass masks
    assert b"hunter2" in before and results.read_bytes() == before.replace(b"hunter2", b"[REDACTED]")
    assert (results.parent / "gatekeeper.md").read_text(encoding="utf-8") == render_markdown(redact_result(failing_result()))


def test_report_rejects_a_file_that_is_not_a_result(tmp_path: Path) -> None:
    bad = tmp_path / "gatekeeper.json"
    bad.write_text('{"verdict": "pass"}', encoding="utf-8")
    run = CliRunner().invoke(app, ["report", str(bad), "--format", "html"])
    assert run.exit_code == 2
    assert "not a gatekeeper JSON result" in run.output
    assert not (tmp_path / "gatekeeper.html").exists()


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_a_result_read_back_in_any_chunk_size_is_the_result_written(
    tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader streams findings one at a time: a value cut by a chunk boundary (a number, a
    string with escapes, a finding) must read back whole, compact or indented."""
    import json

    from gatekeeper.reports import json as json_report

    monkeypatch.setattr(json_report._Stream, "CHUNK", chunk)
    results = write_results(tmp_path, failing_result())
    whole = json.loads(results.read_text(encoding="utf-8"))
    expected = GateResult.from_dict(whole)  # the document decoded at once (checks and findings in written order)
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(whole, separators=(",", ":")), encoding="utf-8")
    for path in (results, compact):
        again = load_result(path)
        assert again == expected
        assert [f.properties for c in again.checks for f in c.findings] == [
            f.properties for c in expected.checks for f in c.findings
        ]
        assert [c.metrics for c in again.checks] == [c.metrics for c in expected.checks]


def test_a_large_result_is_read_back_without_holding_its_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """5,000 findings (~2.6 MB of JSON) read in 64 KiB chunks: the reader never holds more than a few
    chunks of text at once, however long the file (a key followed by its colon must not make it
    read on to the end)."""
    from gatekeeper.reports import json as json_report

    monkeypatch.setattr(json_report._Stream, "CHUNK", 64 * 1024)
    held: list[int] = []
    more = json_report._Stream._more

    def watched(self: json_report._Stream) -> bool:
        grew = more(self)
        held.append(len(self._buf))
        return grew

    monkeypatch.setattr(json_report._Stream, "_more", watched)
    result = many_findings(5_000)
    path = write_results(tmp_path, result)
    assert path.stat().st_size > 2_000_000
    again = load_result(path)
    assert [f.fingerprint for c in again.checks for f in c.findings] == [
        f.fingerprint for c in result.checks for f in sorted(c.findings, key=Finding.sort_key)
    ]
    assert max(held) <= 4 * 64 * 1024


@pytest.mark.slow  # end to end: gatekeeper runs as a process
@pytest.mark.parametrize(
    "text",
    ["", '{"checks": [', '{"checks": [{"findings": [1,]}]}', '{"verdict" "pass"}', "[1, 2]", '{"checks": []} trailing'],
)
def test_a_truncated_or_malformed_result_is_refused_with_a_message(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "gatekeeper.json"
    bad.write_text(text, encoding="utf-8")
    proc = run_gatekeeper(["report", str(bad), "--format", "markdown"], tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "not a gatekeeper JSON result" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "gatekeeper.md").exists()


# --------------------------------------------------------------------------- job summary


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    return root


def run_check(project: Path, out: Path, env: dict[str, str]) -> tuple[int, str]:
    run = CliRunner().invoke(
        app, ["check", str(project), "--only", "security", "--no-audit", "--format", "json", "--output-dir", str(out)], env=env
    )
    return run.exit_code, run.output


def test_check_appends_the_markdown_summary_to_github_step_summary(project: Path, tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## an earlier step\n", encoding="utf-8")
    out = tmp_path / "reports"
    code, output = run_check(project, out, {"GITHUB_STEP_SUMMARY": str(summary)})
    result = load_result(out / "gatekeeper.json")
    assert code == result.exit_code, output
    assert summary.read_text(encoding="utf-8") == "## an earlier step\n" + render_markdown(result)


def test_check_without_github_step_summary_writes_no_summary(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    code, _ = run_check(project, out, {"GITHUB_STEP_SUMMARY": ""})
    assert code == load_result(out / "gatekeeper.json").exit_code
    attestation = ["gatekeeper.intoto.json", "gatekeeper.predicate.json", "gatekeeper.subjects.sha256"]
    assert sorted(p.name for p in out.iterdir()) == sorted(["gatekeeper.json", *attestation])


def test_an_unwritable_job_summary_warns_and_keeps_the_verdict(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    code, output = run_check(project, out, {"GITHUB_STEP_SUMMARY": str(tmp_path)})  # a folder
    assert code == load_result(out / "gatekeeper.json").exit_code
    assert "warning: could not append the job summary" in output
