"""What gatekeeper reads back is read under limits: nesting, number size, member size. A file beyond
them is a clear error naming it (exit 2), and nothing is written or appended from it."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gatekeeper import readback
from gatekeeper.bundle import build_bundle, report_files
from gatekeeper.cli import app
from gatekeeper.reports.json import load_result, render_json
from tests.helpers.projects import only
from tests.helpers.samples import failing_result

DEEP = '{"a":' * 100_000 + "1" + "}" * 100_000
HUGE = "1" + "0" * 400


def _result_text() -> str:
    return render_json(failing_result())


def _hostile(kind: str) -> str:
    """A results file nested 100,000 deep, or holding a 400-digit number where a duration goes."""
    if kind == "deep":
        return DEEP
    return _result_text().replace('"duration_s": 9.3', f'"duration_s": {HUGE}', 1)


def _invoke(args: list[str]) -> Any:
    return CliRunner().invoke(app, args)


# --------------------------------------------------------------------------- results, parts, baselines


@pytest.mark.parametrize("kind", ["deep", "huge"])
@pytest.mark.parametrize("command", ["report", "merge", "bundle"])
def test_a_result_beyond_the_limits_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, kind: str
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "part.json"
    bad.write_text(_hostile(kind), encoding="utf-8")
    out = tmp_path / "out"
    args = {
        "report": ["report", str(bad), "--output-dir", str(out)],
        "merge": ["merge", str(bad), "--output-dir", str(out), "--no-audit"],
        "bundle": ["bundle", str(bad), "--output", str(out / "b.zip")],
    }[command]
    run = _invoke(args)
    assert run.exit_code == 2, run.output
    expected = "nested more than 64 levels deep" if kind == "deep" else "an integer of 401 digits"
    assert f"{bad}: {expected}" in run.output
    assert "Traceback" not in run.output and not out.exists()


@pytest.mark.parametrize("kind", ["deep", "huge"])
def test_a_baseline_beyond_the_limits_stops_check_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    (tmp_path / "gatekeeper.toml").write_text(only("security"))
    baseline = tmp_path / "baseline.json"
    doc = DEEP if kind == "deep" else f'{{"version": 1, "findings": [], "metrics": {{"security": {{"files_scanned": {HUGE}}}}}}}'
    baseline.write_text(doc)
    monkeypatch.chdir(tmp_path)
    run = _invoke(["check", str(tmp_path), "--baseline", str(baseline)])
    assert run.exit_code == 2, run.output
    assert f"{baseline}: " in run.output and ("nested more than 64" in run.output or "401 digits" in run.output)
    assert not (tmp_path / "gatekeeper-reports").exists()


def _mutated(change: Callable[[dict[str, Any]], None]) -> str:
    data = json.loads(_result_text())
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(lambda d: d["waivers"]["applied"][0].pop("id"), "waivers.applied[0] is not a table with a text", id="no-id"),
        pytest.param(lambda d: d["waivers"].update(expired=["w-old"]), "waivers.expired[0] is not a table", id="string-waiver"),
        pytest.param(lambda d: d["waivers"].update(unused=5), "waivers.unused is a int, not a list", id="waivers-not-list"),
        pytest.param(
            lambda d: d["waivers"]["applied"][0].update(fingerprints=[["f"]]),
            "waivers.applied[0].fingerprints is not a list of text",
            id="fingerprint-list",
        ),
        pytest.param(lambda d: d["repository"].update(commit=["3f"]), "repository.commit is a list, not text", id="commit-list"),
        pytest.param(lambda d: d["policy"].update(sha256=["ab"]), "policy.sha256 is a list, not text", id="digest-list"),
        pytest.param(lambda d: d["policy"].update(files=[{"path": 1}]), "policy.files is not a list of tables", id="files"),
    ],
)
def test_merge_refuses_a_part_of_the_wrong_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    part = tmp_path / "part-1.json"
    part.write_text(_mutated(change))
    run = _invoke(["merge", str(part), "--output-dir", str(tmp_path / "out"), "--no-audit"])
    assert run.exit_code == 2, run.output
    assert f"{part}: not a gatekeeper JSON result ({expected}" in run.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("chunk", [7, 1 << 20])
def test_the_streamed_reader_bounds_each_finding_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    from gatekeeper.reports import json as json_report

    monkeypatch.setattr(json_report._Stream, "CHUNK", chunk)
    text = _result_text()
    deep = '"properties": ' + '{"x": ' * 61 + "1" + "}" * 61
    path = tmp_path / "gatekeeper.json"
    path.write_text(text.replace('"properties": {}', deep, 1))
    with pytest.raises(readback.LimitError, match="nested more than 64 levels deep") as caught:
        load_result(path)
    assert caught.value.file == str(path)
    shallower = '"properties": ' + '{"x": ' * 50 + "1" + "}" * 50  # within the limit: read back
    path.write_text(text.replace('"properties": {}', shallower, 1))
    assert load_result(path).verdict.value == "fail"


# --------------------------------------------------------------------------- the audit log


def _log_of_one_run(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    from gatekeeper.audit import append, build_record

    log = tmp_path / "audit.jsonl"
    append(log, build_record(failing_result(), {}, "check"))
    return log, json.loads(log.read_text())


def test_audit_report_names_a_count_out_of_range_instead_of_crashing(tmp_path: Path) -> None:
    log, record = _log_of_one_run(tmp_path)
    record["checks"]["security"]["metrics"]["counts"]["low"] = 1.7e308  # a valid record otherwise
    log.write_text(json.dumps(record) + "\n")
    page = tmp_path / "history.html"
    run = _invoke(["audit", "report", str(log), "--output", str(page)])
    assert run.exit_code == 1, run.output
    assert "TAMPERED" in run.output
    assert "line 1: beyond the reading limits (the number 1.7e+308 is out of range" in run.output
    assert "beyond the reading limits" in page.read_text()  # the page says so at the top


def test_audit_show_lists_a_record_whose_waivers_are_not_lists(tmp_path: Path) -> None:
    log, record = _log_of_one_run(tmp_path)
    record["waivers"] = {"expired": 5}
    log.write_text(json.dumps(record) + "\n")
    run = _invoke(["audit", "show", str(log)])
    assert run.exit_code == 0, run.output
    assert "expired waivers: 5" in run.output.splitlines()[1]


def test_check_stops_before_writing_anything_when_the_log_ends_beyond_the_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = only("security").replace("[audit]\nenabled = false\n", '[audit]\nenabled = true\nlog = "audit.jsonl"\n')
    assert 'log = "audit.jsonl"' in policy
    (tmp_path / "gatekeeper.toml").write_text(policy)
    log, _ = _log_of_one_run(tmp_path)
    with log.open("a") as fh:
        fh.write('{"seq": 1e999}\n')
    before = log.read_bytes()
    monkeypatch.chdir(tmp_path)
    run = _invoke(["check", str(tmp_path)])
    assert run.exit_code == 2, run.output
    assert f"{log}: the number 1e999 is out of range" in run.output
    assert log.read_bytes() == before  # nothing appended
    assert not (tmp_path / "gatekeeper-reports").exists()  # and no report claims a verdict


def test_a_number_no_reader_accepts_is_kept_as_text_in_the_record(tmp_path: Path) -> None:
    from dataclasses import replace

    from gatekeeper.audit import append, build_record, verify_log

    result = failing_result()
    checks = tuple(replace(c, metrics={**c.metrics, "huge": 1e300, "inf": float("inf")}) for c in result.checks)
    log = tmp_path / "audit.jsonl"
    append(log, build_record(replace(result, checks=checks), {}, "check"))
    assert verify_log(log).ok
    metrics = json.loads(log.read_text())["checks"]["security"]["metrics"]
    assert (metrics["huge"], metrics["inf"]) == ("1e+300", "inf")


# --------------------------------------------------------------------------- bundles


def _zip_headers(data: bytearray, name: bytes) -> list[int]:
    """Offsets of the general-purpose flag field of ``name``'s local and central headers."""
    found = []
    for sig, flag_at, name_len_at, header in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        at = data.find(sig)
        while at >= 0:
            length = int.from_bytes(data[at + name_len_at : at + name_len_at + 2], "little")
            if bytes(data[at + header : at + header + length]) == name:
                found.append(at + flag_at)
            at = data.find(sig, at + 4)
    assert len(found) == 2
    return found


def _encrypted(data: bytearray, name: bytes) -> None:
    for at in _zip_headers(data, name):
        data[at] |= 0x1


def _method_98(data: bytearray, name: bytes) -> None:
    for at in _zip_headers(data, name):
        data[at + 2 : at + 4] = (98).to_bytes(2, "little")  # PPMd, which Python's zipfile cannot read


@pytest.mark.parametrize(("damage", "why"), [(_encrypted, "is encrypted"), (_method_98, "uses compression method 98")])
@pytest.mark.parametrize("entry", ["reports/gatekeeper.json", "manifest.json"])
def test_bundle_verify_names_an_entry_it_cannot_read(tmp_path: Path, damage: Any, why: str, entry: str) -> None:
    result = failing_result()
    data = bytearray(build_bundle(result, report_files(result), None, False))
    damage(data, entry.encode())
    bundle = tmp_path / "evidence.zip"
    bundle.write_bytes(bytes(data))
    run = _invoke(["bundle", "verify", str(bundle)])
    assert run.exit_code == 1, run.output
    assert f"changed: {entry} (" in run.output and why in run.output
    assert "Traceback" not in run.output


def test_bundle_verify_never_inflates_an_entry_past_its_manifest_size(tmp_path: Path) -> None:
    result = failing_result()
    good = zipfile.ZipFile(io.BytesIO(build_bundle(result, report_files(result), None, False)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info in good.infolist():
            if info.filename == "reports/gatekeeper.md":  # same size in the header, more bytes in the stream
                zf.writestr(info.filename, good.read(info) + b" " * 50_000_000)
            else:
                zf.writestr(info.filename, good.read(info))
    bundle = tmp_path / "evidence.zip"
    bundle.write_bytes(buffer.getvalue())
    run = _invoke(["bundle", "verify", str(bundle)])
    assert run.exit_code == 1, run.output
    assert "changed: reports/gatekeeper.md (50" in run.output and "manifest says" in run.output


# --------------------------------------------------------------------------- the layer itself


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_SCALAR = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(alphabet='[]{}"\\ab\n')
#: JSON values whose strings are full of brackets, quotes and backslashes
_JSON = st.deferred(
    lambda: _SCALAR | st.lists(_JSON, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\x'), _JSON, max_size=3)
)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.integers(0, 6))
def test_too_deep_agrees_with_the_parsed_depth(value: Any, limit: int) -> None:
    text = json.dumps(value)
    assert readback.too_deep(text, limit=limit) is (_depth(value) > limit)
    assert readback.too_deep(text.encode(), limit=limit) is (_depth(value) > limit)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 65 + "]" * 65, "nested more than 64 levels deep"),
        ("[1e999]", "the number 1e999 is out of range"),
        ("[-1.7e308]", "the number -1.7e308 is out of range"),
        ("[NaN]", "NaN is not a number"),
        ("[-Infinity]", "-Infinity is not a number"),
        ("[99999999999999999999]", "an integer of 20 digits"),
        ("[9223372036854775809]", "the integer 9223372036854775809 is out of range"),
        ('{"verdict": "pass\\ud800"}', "a string holding a lone surrogate"),
        ('{"\\uDFFF": 1}', "a string holding a lone surrogate"),
    ],
)
def test_loads_refuses_what_no_gatekeeper_file_holds(text: str, message: str) -> None:
    with pytest.raises(readback.LimitError, match=message) as caught:
        readback.loads(text, "x.json", line=3)
    assert str(caught.value).startswith("x.json:3: ")


def test_loads_reads_an_escaped_surrogate_pair_as_its_character() -> None:
    assert readback.loads('["\\ud83d\\ude00 \\u00e9"]', "x.json") == ["\U0001f600 \u00e9"]


def test_loads_reads_what_gatekeeper_writes() -> None:
    text = "[" * 64 + f"{2**63}, -9.2e18, 0.5, 1e-300" + "]" * 64
    value = readback.loads(text, "x.json")
    assert _depth(value) == 64
    inner = value
    while isinstance(inner[0], list):
        inner = inner[0]
    assert inner == [2**63, -9.2e18, 0.5, 1e-300]
