"""Per-file coverage analyses reused from the cache: only changed files are analysed again, and the
result is the one an uncached analysis gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.coverage import CoverageChecker
from gatekeeper.findings import CheckResult
from tests.checkers.coverage.test_checker import BRANCHY, CALC, TESTS, write_project
from tests.helpers.projects import section

pytestmark = pytest.mark.usefixtures("own_coverage_settings")

RUN = ["pytest", "-q", "-p", "no:cacheprovider"]
#: metrics that say how the figures were obtained, not what they are
HOW = ("cached", "cache_rejected", "files_reused", "tests")


def figures(result: CheckResult) -> tuple[Any, ...]:
    """Everything the check reports except how it got there: status, summary, findings, metrics."""
    metrics = {k: v for k, v in result.metrics.items() if k not in HOW}
    return result.status, result.summary, result.findings, metrics


def test_a_new_test_run_reanalyses_only_the_files_that_changed(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "proj", BRANCHY)
    cache_dir = tmp_path / "cache"
    checker = CoverageChecker()

    def cached() -> CheckResult:
        return checker.run(section(checker, min_total=0, min_file=50, run=RUN), make_ctx(root, cache_dir=cache_dir))

    def uncached() -> CheckResult:
        return checker.run(section(checker, min_total=0, min_file=50, run=RUN), make_ctx(root))

    first = cached()
    assert first.metrics["files_reused"] == 0
    measured = len(first.metrics["files"])
    assert measured == 3  # pkg/__init__.py, calc.py, text.py (generated.py is omitted)
    # a new run of the same tests: new data file, the same lines recorded, nothing parsed again
    second = cached()
    assert second.metrics["files_reused"] == measured
    assert figures(second) == figures(first) == figures(uncached())
    # each test run writes new data: only the per-file analyses are kept, one entry, not one per run
    assert len(list((cache_dir / "coverage").rglob("*.json"))) == 1

    # one source file changes: only that one is analysed again, and the figures are an uncached run's
    calc = root / "pkg" / "calc.py"
    calc.write_text(CALC.replace("def unused():\n    y = 1\n    return y\n", "def unused():\n    return 2\n"))
    third = cached()
    assert third.metrics["files_reused"] == measured - 1
    assert figures(third) == figures(uncached())
    assert figures(third) != figures(first)

    # the tests change what runs in calc.py (its source is the same): its recorded lines differ, so it is analysed again
    (root / "test_pkg.py").write_text(TESTS + "\n\ndef test_more():\n    assert sign(-3) == -1\n    assert sign(0) == 0\n")
    fourth = cached()
    assert fourth.metrics["files_reused"] == measured - 1
    assert figures(fourth) == figures(uncached())
    assert fourth.metrics["missing"] < third.metrics["missing"]

    # the configuration changes (precision): nothing is reused
    (root / "pyproject.toml").write_text(BRANCHY.replace("precision = 2", "precision = 1"))
    fifth = cached()
    assert fifth.metrics["files_reused"] == 0 and fifth.metrics["precision"] == 1
    assert figures(fifth) == figures(uncached())


def test_a_tampered_entry_is_rejected_and_recomputed(tmp_path: Path, make_ctx: Any) -> None:
    root = write_project(tmp_path / "proj", BRANCHY)
    cache_dir = tmp_path / "cache"
    checker = CoverageChecker()

    def cached() -> CheckResult:
        return checker.run(section(checker, min_total=0, run=RUN), make_ctx(root, cache_dir=cache_dir))

    honest = cached()
    # someone rewrites the kept analyses to claim every statement of every file ran
    entries = [p for p in (cache_dir / "coverage").rglob("*.json") if '"numbers"' in p.read_text()]
    assert entries
    for entry in entries:
        entry.write_text(entry.read_text().replace('"missing_lines":[', '"missing_lines":[0,'))
    again = cached()
    assert again.metrics["files_reused"] == 0 and again.metrics["cache_rejected"] >= 1
    assert figures(again) == figures(honest)


def test_a_file_written_while_coverage_reads_it_keeps_no_analysis(tmp_path: Path) -> None:
    """A measured file written between the read that keys its analysis and coverage.py's own reads
    of it (a process the tests left running; a file git ignores is outside the checkout's
    comparison, which would take the entry back) is analysed, but its analysis is not kept: it
    carries no key. The probe runs in a process of its own, as the check runs it (coverage.py's
    objects in this process would disturb the suite's own measurement)."""
    import subprocess
    import sys

    from tests.helpers.env import clean_env

    root = tmp_path / "proj"
    (root / "gen").mkdir(parents=True)
    (root / "gen" / "__init__.py").write_text("")
    (root / "gen" / "mod.py").write_text("def f(x):\n    if x:\n        return 1\n    return 2\n")
    (root / "app.py").write_text("def g():\n    return 3\n")
    (root / "test_it.py").write_text("from app import g\nfrom gen.mod import f\n\n\ndef test_it():\n    assert f(1) + g() == 4\n")
    env = clean_env(coverage=False)  # not this suite's own coverage
    subprocess.run([sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root,
                   env=env, check=True, capture_output=True, timeout=300)  # fmt: skip

    def analyse(swap: bool) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", _SWAPPING, str(root / ".coverage"), "swap" if swap else ""],
            cwd=root, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert answer["ok"], answer
        files = [Path(f["path"]).relative_to(root).as_posix() for f in answer["files"]]
        return dict(zip(files, answer["file_keys"], strict=True))

    keys = analyse(swap=False)
    assert all(isinstance(k, str) for k in keys.values()) and "gen/mod.py" in keys
    keys = analyse(swap=True)
    assert keys["gen/mod.py"] is None  # analysed, not kept
    assert all(isinstance(k, str) for name, k in keys.items() if name != "gen/mod.py")
    assert json.dumps(sorted(keys)) == json.dumps(["app.py", "gen/__init__.py", "gen/mod.py", "test_it.py"])


#: the probe's analysis, with gen/mod.py rewritten right after the read that keys it (when asked)
_SWAPPING = """
import io, json, sys
from pathlib import Path
from gatekeeper.checkers.coverage import probe

read_for_key = probe._file_key

def key_then_write(cov, context, fr):
    key = read_for_key(cov, context, fr)
    if sys.argv[2] and fr.filename.endswith("mod.py"):  # other bytes once the key is taken
        Path(fr.filename).write_text("def f(x):\\n    return 1\\n")
    return key

probe._file_key = key_then_write
sys.stdin = io.StringIO("{}")
print(json.dumps(probe.analyse({"data_file": sys.argv[1], "reuse": True})))
"""
