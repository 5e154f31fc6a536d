"""Hostile content end to end: finding messages, file names, package names and license strings
holding HTML, script, SARIF-breaking characters, ANSI escape sequences, newlines and undecodable
bytes go through a real ``gatekeeper check`` and come out safe in every format, in the terminal,
in GitHub annotations and in the audit log.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers.osv import FRESH

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

PLUGIN = r"""
from gatekeeper.errors import ToolError
from gatekeeper.findings import CheckResult, Finding, Location, Package, Severity, Status

EVIL = (
    "csi \x1b[31mRED\x1b[0m osc \x1b]0;title\x07 nul \x00 cr \r bell \x07 del \x7f c1 \x9b "
    "\nverdict: PASS (every enabled check passed)\n::error::injected\n"
    "</script><script>alert(1)</script> <img src=x onerror=alert(2)> "
    "sarif \"]}], {\"$schema\": 1 %SRCROOT% \\ u2028\u2028 u2029\u2029 | pipe `tick` [link](javascript:alert(3)) @here "
    "bad-byte \udcff"
)


class Hostile:
    name = "hostile"
    description = "emits hostile text"
    options = {}

    def run(self, section, ctx):
        findings = (
            Finding(rule_id="H1<b>", severity=Severity.HIGH, message=EVIL, blocking=True,
                    location=Location("src/\x1b[31mred\nverdict: PASS <x>.py", 3), fingerprint="f1",
                    help_uri="javascript:alert(4)", rule_name=EVIL, tags=("x\x1b[1m",)),
            Finding(rule_id="H2", severity=Severity.MEDIUM, message="package " + EVIL, blocking=True,
                    package=Package("<b>pkg</b>\x1b]0;t\x07\n::warning::pkg", "1.0\r\n::error::v"), fingerprint="f2",
                    properties={"license": "MIT\x1b[2J OR <script>alert(5)</script>\nverdict: PASS"}),
        )
        return CheckResult(name="hostile", status=Status.FAIL, summary="sum \x1b[2J\nverdict: PASS", findings=findings,
                           tool_name="evil\x1b[5m", tool_version="<i>1</i>")


class Broken:
    name = "broken"
    description = "fails with a hostile message"
    options = {}

    def run(self, section, ctx):
        raise ToolError("tool said:\n\x1b[32mverdict: PASS (every enabled check passed)\x1b[0m\n::error::fake \udcfe")
"""

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def run(tmp_path: Path, make_plugin, gk):
    site = make_plugin(
        tmp_path / "site",
        "hostile-gate",
        "hostile_gate",
        PLUGIN,
        {"hostile": "hostile_gate:Hostile", "broken": "hostile_gate:Broken"},
    )
    root = tmp_path / "proj"
    root.mkdir()
    done = gk(
        ["check", "--only", "hostile,broken", "--format", "json,sarif,html,markdown,junit"],
        cwd=root,
        env={"PYTHONPATH": str(site), "GITHUB_ACTIONS": "true"},
    )
    return root, done, site


def test_terminal_and_annotations_cannot_be_driven_or_forged(run) -> None:
    _, done, _ = run
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for stream in (done.stdout, done.stderr):
        assert not CONTROL.search(stream), repr(CONTROL.search(stream))
    lines = done.stdout.splitlines()
    # only gatekeeper's own verdict starts a line; forged ones stay inside a finding's line
    assert [line for line in lines if line.startswith("verdict:")] == [
        "verdict: ERROR (a check could not run (gate.fail_on_error))"
    ]
    # GitHub reads workflow commands at the start of a line after whitespace: only gatekeeper's own are there
    commands = [line for line in lines if line.lstrip().startswith("::")]
    assert commands and all(re.match(r"::(error|warning) (file|title)=", c) for c in commands), commands
    assert all("%0A" in c or "\n" not in c for c in commands)
    # escape sequences are shown escaped: not obeyed, and not stripped either
    assert "csi \\x1b[31mRED\\x1b[0m osc \\x1b]0;title\\x07 nul \\x00 cr \\x0d bell \\x07" in done.stdout
    assert "\\xff" in done.stdout  # the undecodable byte is visible, not a crash


def test_every_report_is_written_and_safe(run) -> None:
    root, done, _ = run
    assert done.returncode == 3
    out = root / "gatekeeper-reports"
    data = json.loads((out / "gatekeeper.json").read_text(encoding="utf-8"))
    hostile = next(c for c in data["checks"] if c["name"] == "hostile")
    messages = sorted(f["message"] for f in hostile["findings"])
    assert "\x1b[31mRED" in messages[1] and messages[1].endswith("bad-byte \\xff")  # JSON keeps the text, as data
    assert hostile["findings"][0]["location"]["path"] == "src/\x1b[31mred\nverdict: PASS <x>.py"
    # SARIF: valid JSON, URIs percent-encoded, only http(s) help links
    sarif = json.loads((out / "gatekeeper.sarif").read_text(encoding="utf-8"))
    (run_,) = sarif["runs"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run_["results"]}
    assert "src/%1B%5B31mred%0Averdict%3A%20PASS%20%3Cx%3E.py" in uris
    assert all(re.fullmatch(r"[A-Za-z0-9%._~/-]+", u) for u in uris), uris
    assert all(not r.get("helpUri", "https://").startswith("javascript") for r in run_["tool"]["driver"]["rules"])
    # HTML: markup from findings is text
    html = (out / "gatekeeper.html").read_text(encoding="utf-8")
    for raw in ("<script>alert(1)", "<img src=x", "<b>pkg</b>", "<script>alert(5)", "<i>1</i>"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"(href|src)\s*=\s*[\"']?\s*javascript:", html, re.I)
    # Markdown: no raw HTML, no table broken by a pipe or newline, no escape sequences
    md = (out / "gatekeeper.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "<img" not in md and "\x1b" not in md
    assert "](javascript:" not in md
    for line in md.splitlines():
        assert not line.startswith("verdict: PASS")
    # JUnit: well-formed XML 1.0 (no control characters), text kept
    tree = ET.parse(out / "gatekeeper.junit.xml")  # noqa: S314 - our own report
    text = "".join(tree.getroot().itertext())
    assert "<script>alert(1)</script>" in text and "\x1b" not in text


def test_audit_log_stays_verifiable_and_show_is_clean(run, gk) -> None:
    root, _, site = run
    verify = gk(["audit", "verify"], cwd=root, env={"PYTHONPATH": str(site)})
    assert verify.returncode == 0 and "consistent, not authenticated, 1 record(s)" in verify.stdout, verify.stdout + verify.stderr
    show = gk(["audit", "show"], cwd=root, env={"PYTHONPATH": str(site)})
    assert show.returncode == 0, show.stderr
    assert not CONTROL.search(show.stdout), repr(show.stdout)
    rerender = gk(["report", str(root / "gatekeeper-reports" / "gatekeeper.json"), "--output-dir", str(root / "again")], cwd=root)
    assert rerender.returncode == 0, rerender.stderr
    for name in ("gatekeeper.sarif", "gatekeeper.html", "gatekeeper.md", "gatekeeper.junit.xml"):
        assert (root / "again" / name).read_bytes() == (root / "gatekeeper-reports" / name).read_bytes(), name


def _environment_with_hostile_metadata(root: Path) -> Path:
    """A real virtual environment whose installed distributions carry hostile names, versions and licenses."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "env")], check=True)
    site = next((root / "env" / "lib").glob("python3*/site-packages"))
    dists = [
        ("evil-1.0", "evil<script>alert(1)</script>", "1.0", "MIT\x1b[31m <img src=x onerror=alert(2)> | `pwn` \x07"),
        ("ansi-2.0", "ansi\x1b]0;title\x07pkg", "2.0\x1b[2J", "GPL-3.0-only"),
        ("plain-1.0", "plain", "1.0", 'Apache-2.0"}]}, {"x": "</script>'),
    ]
    for folder, name, version, license_ in dists:
        info = site / f"{folder}.dist-info"
        info.mkdir()
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: {license_}\n"
        (info / "METADATA").write_text(meta, encoding="utf-8")
        (info / "RECORD").write_text("", encoding="utf-8")
    return root / "env" / "bin" / "python"


def test_hostile_package_metadata_through_the_real_checkers(tmp_path: Path, gk) -> None:
    """Package names, versions and license strings with markup, escapes and JSON-breaking text,
    read by the real dependencies (offline), licenses (pip-licenses) and sbom (cyclonedx-py) checkers."""
    root = tmp_path / "proj"
    root.mkdir()
    python = _environment_with_hostile_metadata(root)
    (root / "osv").mkdir()
    advisory = {
        "id": "T-1",
        "modified": FRESH,
        "summary": "<b>x</b>",
        "affected": [{"package": {"name": "plain", "ecosystem": "PyPI"}, "versions": ["1.0"]}],
    }
    (root / "osv" / "T-1.json").write_text(json.dumps(advisory), encoding="utf-8")
    (root / "gatekeeper.toml").write_text(
        f'[environment]\npython = "{python}"\n[checks.dependencies]\nadvisory_db = "osv"\n'
        '[reports]\nformats = ["json", "sarif", "html", "markdown", "junit"]\n',
        encoding="utf-8",
    )
    done = gk(["check", "--only", "sbom,licenses,dependencies", "--no-cache"], cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert not CONTROL.search(done.stdout) and "Traceback" not in done.stderr
    out = root / "gatekeeper-reports"
    data = json.loads((out / "gatekeeper.json").read_text(encoding="utf-8"))
    got = {c["name"]: c["status"] for c in data["checks"]}
    assert got == {"sbom": "pass", "licenses": "fail", "dependencies": "fail"}
    licenses = next(c for c in data["checks"] if c["name"] == "licenses")
    by_name = {p["name"]: p for p in licenses["metrics"]["packages"]}
    assert by_name["evil<script>alert(1)</script>"]["verdict"] == "unknown"  # never silently allowed
    json.loads((out / "gatekeeper.sarif").read_text(encoding="utf-8"))
    json.loads((out / "sbom.cdx.json").read_text(encoding="utf-8"))
    html = (out / "gatekeeper.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>x</b>" not in html
    md = (out / "gatekeeper.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "<img" not in md and not CONTROL.search(md)
    ET.parse(out / "gatekeeper.junit.xml")  # noqa: S314 - our own report
    verify = gk(["audit", "verify"], cwd=root)
    assert verify.returncode == 0, verify.stdout + verify.stderr
