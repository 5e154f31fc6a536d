"""The whole gate, end to end, on the sample project in fixtures/: its tests run under coverage,
bandit scans it, its dependency closure is audited offline, its SBOM is written and its licenses
checked, with the numbers equal to the tools' own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from gatekeeper.reports.json import schema
from tests.helpers.cli import REPO
from tests.helpers.env import clean_env
from tests.helpers.projects import git_init

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

SAMPLE = REPO / "fixtures" / "sample-project"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=clean_env(coverage=False), capture_output=True, text=True, timeout=600)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("gatekeeper-reports", ".gatekeeper", ".coverage*"))
    return root


README = (REPO / "README.md").read_text(encoding="utf-8")


def _as_shown(text: str) -> str:
    """Console text with what differs from run to run or machine to machine put as the README shows
    none of it: absolute paths, durations, versions of three parts, the database's age, digests."""
    text = re.sub(r"/[^\s()]+", "/PATH", text)
    text = re.sub(r"\b\d+(?:\.\d+)?s\b", "Ns", text)
    text = re.sub(r"\b\d+\.\d+\.\d+\b", "X.Y.Z", text)
    text = re.sub(r"\b\d+\.\d+(\s+)days old", r"N\1days old", text)
    return re.sub(r"\b[0-9a-f]{64}\b", "SHA256", text)


def _readme_run() -> str:
    """The README's sample run as a pattern: its lines as they are, each ``...`` any lines."""
    block = README.split("## What a run looks like", 1)[1].split("```", 2)[1]
    lines = _as_shown(block).strip("\n").splitlines()[1:]  # below "$ gatekeeper check"
    return "".join("(?:.*\n)*?" if line == "..." else re.escape(line) + "\n" for line in lines)


def _named_files(text: str) -> set[str]:
    """The files a passage names in backticks, ``.sarif`` standing for ``gatekeeper.sarif``."""
    names = set()
    for word in re.findall(r"`([^`/ ]+)`", text):
        if word.startswith("."):
            names.add("gatekeeper" + word)
        elif re.fullmatch(r"[\w-]+(?:\.[a-z0-9]+)+", word) and word.split(".")[-1] in {"json", "sha256"}:
            names.add(word)
    return names - {"gatekeeper.venv"}


def test_the_sample_project_passes_and_the_numbers_are_the_tools_own(sample: Path) -> None:
    git_init(sample)  # a checkout, committed, as the README's run of it is
    committed = _run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "sample"], sample)
    assert committed.returncode == 0, committed.stderr
    done = _run([sys.executable, "-m", "gatekeeper", "check"], sample)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((sample / "gatekeeper-reports" / "gatekeeper.json").read_text())
    jsonschema.validate(report, schema())
    checks = {c["name"]: c for c in report["checks"]}
    assert {n: c["status"] for n, c in checks.items()} == dict.fromkeys(
        ("coverage", "dependencies", "licenses", "sbom", "security"), "pass"
    )
    # coverage: the same total as `coverage report` on the same tests run by hand (the gate's own
    # data went to a private folder, not into the checkout)
    assert not list(sample.glob(".coverage*"))
    _run([sys.executable, "-m", "coverage", "run", "-m", "unittest", "discover", "-s", "tests", "-q"], sample)
    total = _run([sys.executable, "-m", "coverage", "report", "--format=total"], sample).stdout.strip()
    assert checks["coverage"]["metrics"]["total"] == float(total)
    # security: bandit itself finds nothing either (the one B701 is marked nosec in the source)
    bandit = json.loads(_run([sys.executable, "-m", "bandit", "-r", "stock", "-f", "json"], sample).stdout)
    assert bandit["results"] == [] and checks["security"]["metrics"]["files_scanned"] == 3
    # `# nosec B701` names its test, which bandit counts as a skipped test rather than a nosec line
    assert checks["security"]["metrics"]["skipped_tests"] == bandit["metrics"]["_totals"]["skipped_tests"] == 1
    assert checks["security"]["metrics"]["lines_scanned"] == bandit["metrics"]["_totals"]["loc"]
    # dependencies, sbom, licenses look at the same closure: jinja2 and markupsafe
    assert checks["dependencies"]["metrics"]["packages_audited"] == 2
    assert sorted(p["name"].lower() for p in checks["licenses"]["metrics"]["packages"]) == ["jinja2", "markupsafe"]
    bom = json.loads((sample / "gatekeeper-reports" / "sbom.cdx.json").read_text())
    assert sorted(c["name"].lower() for c in bom["components"]) == ["jinja2", "markupsafe"]
    assert bom["metadata"]["component"]["name"] == "stock" and bom["metadata"]["component"]["version"] == "1.2.0"
    # the policy's thresholds travel with the metrics, so the HTML can show each number against its floor
    assert checks["coverage"]["metrics"]["thresholds"]["min_total"] == 85.0
    assert "≥ 85%" in (sample / "gatekeeper-reports" / "gatekeeper.html").read_text(encoding="utf-8")
    for name in ("gatekeeper.sarif", "gatekeeper.html", "gatekeeper.md", "gatekeeper.junit.xml"):
        assert (sample / "gatekeeper-reports" / name).stat().st_size > 0
    verify = _run([sys.executable, "-m", "gatekeeper", "audit", "verify"], sample)
    assert verify.returncode == 0 and "1 record" in verify.stdout
    # the README shows this run: its console, line for line where it does not elide ("..."), and its files
    shown = _readme_run()
    assert re.fullmatch(shown, _as_shown(done.stdout)), f"README's run:\n{shown}\n\nthe run:\n{_as_shown(done.stdout)}"
    written = {p.name for p in (sample / "gatekeeper-reports").iterdir()}
    quick_start = README.split("## Two commands", 1)[1].split("**On your own project**", 1)[0]
    named = _named_files(quick_start)
    assert written == named, f"the run wrote {sorted(written)}; the README names {sorted(named)}"


def test_the_sample_project_fails_when_a_vulnerable_pin_and_insecure_code_arrive(sample: Path) -> None:
    (sample / "stock" / "admin.py").write_text(
        "import subprocess\n\n\ndef purge(path):\n    subprocess.call('rm -rf ' + path, shell=True)\n"
    )
    (sample / "requirements.txt").write_text("jinja2==2.10\n")
    policy = (
        (sample / "gatekeeper.toml")
        .read_text()
        .replace('advisory_db = "advisory-db"', 'advisory_db = "advisory-db"\nsource = "requirements.txt"')
    )
    (sample / "gatekeeper.toml").write_text(policy)
    done = _run([sys.executable, "-m", "gatekeeper", "check", "--no-audit"], sample)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((sample / "gatekeeper-reports" / "gatekeeper.json").read_text())
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["security"]["status"] == "fail" and checks["dependencies"]["status"] == "fail"
    advisories = sorted(f["rule_id"] for f in checks["dependencies"]["findings"])
    # the sample's database: PYSEC-2019-217 (fixed in 2.10.1) and PYSEC-2021-66 (fixed in 2.11.3) affect 2.10;
    # PYSEC-2014-8, PYSEC-2014-82 and PYSEC-2019-220 were fixed before it
    expected = sorted(
        p.stem
        for p in (sample / "advisory-db" / "vulns" / "jinja2").glob("*.yaml")
        if '- "2.10"' in p.read_text() or "- '2.10'" in p.read_text() or "\n  - 2.10\n" in p.read_text()
    )
    assert advisories == expected == ["PYSEC-2019-217", "PYSEC-2021-66"]
    assert [f["location"]["path"] for f in checks["dependencies"]["findings"]] == ["requirements.txt"] * 2
    assert "B602 stock/admin.py:5" in done.stdout
