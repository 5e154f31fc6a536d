"""The security checker against ``bandit -r PATHS -f json`` run by hand on a corpus of insecure code built here."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers import security
from gatekeeper.checkers.security import SecurityChecker, normalize_path, pool
from gatekeeper.checkers.security.results import snippet_hash
from gatekeeper.errors import ToolError, ToolTimeout
from gatekeeper.findings import Finding, Severity, Status, fingerprint
from gatekeeper.secretprints import SECURITY_TESTS
from tests.helpers.narrowing import assert_reported
from tests.helpers.projects import PYTHON, bandit_json, run_tool, section

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = pytest.mark.usefixtures("own_coverage_settings")

CORPUS: dict[str, str] = {
    "app/shell.py": """\
import subprocess


def run(cmd):
    subprocess.call(cmd, shell=True)
    os.system("ls " + cmd)
    subprocess.Popen(["ls", "-l"])
    os.chmod("/etc/app.conf", 0o777)
""",
    "app/crypto.py": """\
import hashlib
import pickle
import random


def token():
    return random.random()


def digest(data):
    return hashlib.md5(data).hexdigest()


def load(blob):
    return pickle.loads(blob)
""",
    "app/web.py": """\
import requests
import yaml
from flask import Flask
from jinja2 import Environment

app = Flask(__name__)
env = Environment(autoescape=False)


def fetch(url):
    return requests.get(url, verify=False, timeout=5)


def fetch_slow(url):
    return requests.get(url)


def config(text):
    return yaml.load(text)


if __name__ == "__main__":
    app.run(debug=True, host="0.0.0.0")
""",
    "app/db.py": """\
PASSWORD = "hunter2"


def connect(user, password="s3cret"):
    return user, password


def find(cursor, name):
    query = "SELECT * FROM users WHERE name = '%s'" % name
    cursor.execute(query)
    login(user="root", password="toor")


def login(user, password):
    return user, password
""",
    "app/misc.py": """\
import pickle  # nosec B403
import tempfile


def evaluate(expr):
    return eval(expr)


def run_code(code):
    exec(code)


def scratch():
    return open("/tmp/scratch.txt", "w")


def careless(items):
    for item in items:
        try:
            item.close()
        except Exception:
            continue
    try:
        tempfile.mktemp()
    except Exception:
        pass
    assert items, "no items"


def tolerated(x):
    return eval(x)  # nosec B307


def trusted(blob):
    return pickle.loads(blob)  # nosec
""",
    "app/broken.py": "def broken(:\n    pass\n",
    "app/clean.py": "def add(a, b):\n    return a + b\n" * 40,
    "tests/test_app.py": "def test_x():\n    assert 1 + 1 == 2\n",
    "latests.py": "import pickle\n",  # "tests" must not exclude it (bandit's -x also matches substrings)
}


def build_corpus(root: Path) -> Path:
    for name, text in CORPUS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# bandit's own default -x list (importing bandit here would trip a DeprecationWarning in stevedore)
BANDIT_DEFAULT_EXCLUDE = (
    run_tool([PYTHON, "-W", "ignore", "-c", "from bandit.core.constants import EXCLUDE; print(','.join(EXCLUDE))"], Path.cwd())
    .stdout.strip()
    .split(",")
)
# The policy's default exclude as -x: of .venv, venv, .tox, build, dist and tests only tests exists
# here; bandit needs it spelled ./tests too, since `-r .` names its files ./tests/...
SAME_X = ",".join(["tests", "./tests", *BANDIT_DEFAULT_EXCLUDE])


def key_set(findings: tuple[Finding, ...]) -> set[tuple[str, str, int]]:
    return {
        (f.rule_id, f.location.path, f.location.line or 0)
        for f in findings
        if f.location and not f.rule_id.startswith("security.")
    }


def bandit_set(report: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(r["test_id"], normalize_path(r["filename"]), r["line_number"]) for r in report["results"]}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def reference(corpus: Path) -> dict[str, Any]:
    """``bandit -r . -x <the policy's exclude plus bandit's defaults> -f json``, by hand."""
    return bandit_json(corpus, "-r", ".", "-x", SAME_X)


def test_findings_equal_a_bandit_run_by_hand(corpus: Path, reference: dict[str, Any], make_ctx: Any) -> None:
    checker = SecurityChecker()
    result = checker.run(section(checker, workers=1), make_ctx(corpus))
    expected = bandit_set(reference)
    assert len({r["test_id"] for r in reference["results"]}) >= 15
    assert key_set(result.findings) == expected
    assert len([f for f in result.findings if not f.rule_id.startswith("security.")]) == len(reference["results"])
    totals = reference["metrics"]["_totals"]
    assert result.metrics["files_scanned"] == len(reference["metrics"]) - 1
    assert result.metrics["lines_scanned"] == totals["loc"]
    assert result.metrics["nosec"] == totals["nosec"] == 1
    assert result.metrics["skipped_tests"] == totals["skipped_tests"] == 2
    assert result.metrics["counts"] == {s: totals[f"SEVERITY.{s.upper()}"] for s in ("high", "medium", "low")}
    assert result.metrics["command"] == f"bandit -r . -x '{SAME_X}' -f json"
    paths = {f.location.path for f in result.findings if f.location}
    assert "tests/test_app.py" not in paths and "latests.py" in paths
    # every field comes from bandit's own result
    by_key = {(r["test_id"], normalize_path(r["filename"]), r["line_number"]): r for r in reference["results"]}
    for finding in result.findings:
        if finding.rule_id.startswith("security.") or finding.location is None:
            continue
        r = by_key[(finding.rule_id, finding.location.path, finding.location.line)]
        assert finding.severity.value == r["issue_severity"].lower()
        assert finding.properties["confidence"] == r["issue_confidence"].lower()
        assert finding.properties["cwe"] == r["issue_cwe"]
        assert f"CWE-{r['issue_cwe']['id']}" in finding.tags
        assert finding.help_uri == r["more_info"]
        assert finding.rule_name == r["test_name"]
        if finding.rule_id in SECURITY_TESTS:  # it flags a password, which bandit quotes: not reported
            assert finding.message == "Possible hardcoded password (the value is not reported)" != r["issue_text"]
            assert "code" not in finding.properties
        else:
            assert finding.message == r["issue_text"]
        assert finding.location.end_line == max(r["line_range"])
        assert finding.blocking == finding.severity.at_least(Severity.MEDIUM)
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"{len(expected)} findings: {totals['SEVERITY.HIGH']} high")


def test_a_syntax_error_is_a_warning_finding_not_a_crash(corpus: Path, reference: dict[str, Any], make_ctx: Any) -> None:
    checker = SecurityChecker()
    result = checker.run(section(checker, workers=1), make_ctx(corpus))
    assert [e["filename"] for e in reference["errors"]] == ["./app/broken.py"]
    (warning,) = [f for f in result.findings if f.rule_id == "security.parse_error"]
    assert warning.location is not None and warning.location.path == "app/broken.py"
    assert not warning.blocking and warning.severity is Severity.LOW
    assert result.metrics["parse_errors"] == [{"path": "app/broken.py", "reason": reference["errors"][0]["reason"]}]
    # a file bandit did not scan at all is narrowing too, beside the notebooks it does not read
    (record,) = [n for n in result.narrowing if n.kind == "not-scanned" and n.files == ("app/broken.py",)]
    assert record.detail == "1 file bandit could not parse" and "gate.tool_python" in record.effect
    assert_reported(result, record)


def test_a_code_excerpt_holds_the_flagged_lines_and_no_secret_beside_them(tmp_path: Path, make_ctx: Any) -> None:
    """bandit's excerpt adds the lines before and after the flagged ones: a key the secrets check
    finds there, or a password bandit's own B105 flags, was copied in plain text into the B602
    finding (past the reports' redaction, which knows no hex string) and into the cache. The
    excerpt is now the lines bandit flags (its line_range) as bandit prints them, and the
    fingerprint, which hashed those lines alone, is what it was."""
    key, password = "b7f3c9e1a2d4f6081a3c5e7f9b2d4f60", "Tr0ub4dor"
    call = '    subprocess.call(\n        "ls " + ref,\n        shell=True,\n    )\n'
    source = f'import subprocess\n\n\ndef go(ref):\n{call}    ref = "{key}"\n    password = "{password}"\n'
    root = tmp_path / "p"
    (root / "app").mkdir(parents=True)
    (root / "app" / "run.py").write_text(source, encoding="utf-8")
    shell_by_hand = next(r for r in bandit_json(root, "-r", "app")["results"] if r["test_id"] == "B602")
    assert key in shell_by_hand["code"] and password in shell_by_hand["code"]  # bandit's own excerpt
    assert shell_by_hand["line_range"] == [5, 6, 7, 8]
    numbered = {int(line.split(" ")[0]): line for line in shell_by_hand["code"].splitlines(keepends=True)}
    flagged = "".join(numbered[n] for n in sorted(numbered) if n in shell_by_hand["line_range"])
    assert flagged.startswith("6 ") and flagged.endswith("8     )\n")  # bandit's excerpt starts a line below the call
    checker = SecurityChecker()
    cache = tmp_path / "cache"
    for cached in (0, 1):
        result = checker.run(section(checker, paths=["app"], workers=1), make_ctx(root, cache_dir=cache))
        assert result.metrics["cached_files"] == cached
        shell = next(f for f in result.findings if f.rule_id == "B602")
        assert shell.properties["code"] == flagged
        assert shell.fingerprint == fingerprint(
            "security", "B602", "app/run.py", snippet_hash(shell_by_hand["code"], shell_by_hand["line_range"])
        )
        assert "B105" in {f.rule_id for f in result.findings}
    stored = "".join(p.read_text(encoding="utf-8") for p in cache.rglob("*.json"))
    assert "shell=True" in stored and key not in stored and password not in stored


@pytest.mark.parametrize("cached", [False, True])
def test_a_scan_whose_every_file_bandit_could_not_parse_is_an_error(tmp_path: Path, make_ctx: Any, cached: bool) -> None:
    # newer syntax than the tool interpreter parses (or a syntax error) hides a whole file from bandit,
    # which still counts its lines and exits 0: nothing was scanned, so nothing was shown to be safe
    root = tmp_path / "p"
    (root / "app").mkdir(parents=True)
    (root / "app" / "run.py").write_text("import subprocess\nsubprocess.call(CMD, shell=True)\nx = (\n", encoding="utf-8")
    by_hand = bandit_json(root, "-r", "app")
    assert by_hand["results"] == [] and [e["filename"] for e in by_hand["errors"]] == ["app/run.py"]
    assert by_hand["metrics"]["_totals"]["loc"] == 3
    checker = SecurityChecker()
    if cached:  # the scan's verdict on the file read back from the cache says the same
        checker.run(section(checker, paths=["app"], workers=1), make_ctx(root, cache_dir=tmp_path / "cache"))
    result = checker.run(section(checker, paths=["app"], workers=1), make_ctx(root, cache_dir=tmp_path / "cache"))
    assert result.status is Status.ERROR and result.metrics["cached_files"] == int(cached)
    assert result.error == (
        "bandit could not parse any of the 1 files it was given; set checks.security.allow_empty = true if that is expected"
    )
    (root / "app" / "ok.py").write_text("import subprocess\nsubprocess.call(CMD, shell=True)\n", encoding="utf-8")
    partly = checker.run(section(checker, paths=["app"], workers=1), make_ctx(root, cache_dir=tmp_path / "cache"))
    assert partly.status is Status.FAIL and partly.metrics["parse_errors"] == [
        {"path": "app/run.py", "reason": by_hand["errors"][0]["reason"]}
    ]


def test_confidence_filter_and_failing_severity(corpus: Path, reference: dict[str, Any], make_ctx: Any) -> None:
    checker = SecurityChecker()
    result = checker.run(section(checker, workers=1, min_confidence="high", fail_on_severity="high"), make_ctx(corpus))
    high_conf = {
        (r["test_id"], normalize_path(r["filename"]), r["line_number"])
        for r in reference["results"]
        if r["issue_confidence"] == "HIGH"
    }
    assert key_set(result.findings) == high_conf
    assert result.metrics["below_confidence"] == len(reference["results"]) - len(high_conf) > 0
    assert all(f.blocking == (f.severity is Severity.HIGH) for f in result.findings)
    assert any(f.severity is Severity.MEDIUM for f in result.findings)  # reported, but not blocking


def test_skip_and_tests_lists_equal_bandit_with_s_and_t(corpus: Path, make_ctx: Any) -> None:
    checker = SecurityChecker()
    skipped = checker.run(section(checker, workers=1, skip=["B101", "B311"]), make_ctx(corpus))
    assert key_set(skipped.findings) == bandit_set(bandit_json(corpus, "-r", ".", "-x", SAME_X, "-s", "B101,B311"))
    assert not {f.rule_id for f in skipped.findings} & {"B101", "B311"}
    only = checker.run(section(checker, workers=1, tests=["B602", "B307"]), make_ctx(corpus))
    assert key_set(only.findings) == bandit_set(bandit_json(corpus, "-r", ".", "-x", SAME_X, "-t", "B602,B307"))
    assert {f.rule_id for f in only.findings if not f.rule_id.startswith("security.")} == {"B602", "B307"}
    with pytest.raises(ToolError, match="bandit refused the options"):
        checker.run(section(checker, workers=1, tests=["B999"]), make_ctx(corpus))


def test_project_bandit_config_in_pyproject_is_honoured(tmp_path: Path, make_ctx: Any) -> None:
    root = build_corpus(tmp_path / "p")
    (root / "pyproject.toml").write_text('[tool.bandit]\nskips = ["B101", "B404"]\nexclude_dirs = ["app/db.py"]\n')
    checker = SecurityChecker()
    result = checker.run(section(checker, workers=1), make_ctx(root))
    expected = bandit_set(bandit_json(root, "-r", ".", "-x", SAME_X, "-c", "pyproject.toml"))
    assert key_set(result.findings) == expected
    rules = {f.rule_id for f in result.findings}
    assert "B101" not in rules and "B404" not in rules and "B602" in rules
    assert not any(f.location and f.location.path == "app/db.py" for f in result.findings)
    assert result.metrics["config"] == "pyproject.toml"


def test_project_dot_bandit_file_is_honoured(tmp_path: Path, make_ctx: Any) -> None:
    root = build_corpus(tmp_path / "p")
    (root / ".bandit").write_text("[bandit]\nskips = B603,B311\n")
    checker = SecurityChecker()
    result = checker.run(section(checker, workers=2), make_ctx(root))
    # bandit finds .bandit itself; with the same -x on the command line it reads skips from it
    expected = bandit_set(bandit_json(root, "-r", ".", "-x", SAME_X))
    assert key_set(result.findings) == expected
    assert not {f.rule_id for f in result.findings} & {"B603", "B311"}
    assert result.metrics["config"] == "./.bandit"


def test_a_yaml_config_file_named_by_the_policy_is_read_by_bandit_in_the_workers(tmp_path: Path, make_ctx: Any) -> None:
    # the workers load yaml only when bandit reads such a file: it must read it as bandit -c does
    root = build_corpus(tmp_path / "p")
    (root / "bandit.yaml").write_text("skips: ['B602', 'B311']\n")
    checker = SecurityChecker()
    result = checker.run(section(checker, workers=2, config="bandit.yaml"), make_ctx(root))
    expected = bandit_set(bandit_json(root, "-r", ".", "-x", SAME_X, "-c", "bandit.yaml"))
    assert key_set(result.findings) == expected
    rules = {f.rule_id for f in result.findings}
    assert not rules & {"B602", "B311"} and "B301" in rules
    assert result.metrics["config"] == "bandit.yaml"


def test_two_workers_give_the_same_findings_as_one(corpus: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    checker = SecurityChecker()
    single = checker.run(section(checker, workers=1), make_ctx(corpus))
    monkeypatch.setattr(security, "MIN_SHARD_BYTES", 1)  # the corpus is small: split it anyway
    double = checker.run(section(checker, workers=2), make_ctx(corpus))
    assert single.metrics["processes"] == 1
    assert double.metrics["processes"] == 2
    assert [f.to_dict() for f in sorted(double.findings, key=Finding.sort_key)] == [
        f.to_dict() for f in sorted(single.findings, key=Finding.sort_key)
    ]
    for key in ("files_scanned", "lines_scanned", "counts", "nosec", "parse_errors"):
        assert double.metrics[key] == single.metrics[key]


def _counting_python(tmp_path: Path) -> tuple[str, Path]:
    """An interpreter that logs a line each time a bandit worker starts, and the log."""
    log = tmp_path / "workers.log"
    wrapper = tmp_path / "python-counting"
    wrapper.write_text(f'#!/bin/sh\necho "$@" | grep -q -- "{BANDIT_RUN}" && echo started >> {log}\nexec {PYTHON} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return str(wrapper), log


def test_a_small_cold_scan_starts_one_bandit_worker_a_large_one_two(
    corpus: Path, make_ctx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second worker imports bandit during discovery only when the paths hold enough source for
    two; either way the findings are the same."""
    checker = SecurityChecker()
    python, log = _counting_python(tmp_path)
    small = checker.run(section(checker, workers=2), make_ctx(corpus, tool_python=python))
    assert log.read_text().split() == ["started"] and small.metrics["processes"] == 1
    log.unlink()
    monkeypatch.setattr(security, "MIN_SHARD_BYTES", 64)  # the corpus counts as large: two workers, both used
    large = checker.run(section(checker, workers=2), make_ctx(corpus, tool_python=python))
    assert log.read_text().split() == ["started", "started"] and large.metrics["processes"] == 2
    assert [f.to_dict() for f in sorted(large.findings, key=Finding.sort_key)] == [
        f.to_dict() for f in sorted(small.findings, key=Finding.sort_key)
    ]


def test_beside_other_checks_a_scan_too_small_for_the_larger_share_starts_one_worker(
    corpus: Path, make_ctx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With other checks running at the same time, a second bandit process is started only for
    ``BESIDE_OTHERS_SHARD_BYTES`` of source per process; alone, for ``MIN_SHARD_BYTES``. The
    findings and figures are the same either way."""
    checker = SecurityChecker()
    python, log = _counting_python(tmp_path)
    monkeypatch.setattr(security, "MIN_SHARD_BYTES", 64)  # enough source for two when alone
    monkeypatch.setattr(security, "BESIDE_OTHERS_SHARD_BYTES", 1 << 30)  # never enough beside others
    alone = checker.run(section(checker, workers=2), make_ctx(corpus, tool_python=python, checks_at_once=1))
    assert log.read_text().split() == ["started", "started"] and alone.metrics["processes"] == 2
    log.unlink()
    beside = checker.run(section(checker, workers=2), make_ctx(corpus, tool_python=python, checks_at_once=8))
    assert log.read_text().split() == ["started"] and beside.metrics["processes"] == 1
    assert [f.to_dict() for f in sorted(beside.findings, key=Finding.sort_key)] == [
        f.to_dict() for f in sorted(alone.findings, key=Finding.sort_key)
    ]
    for key in ("files_scanned", "lines_scanned", "counts", "nosec", "parse_errors"):
        assert beside.metrics[key] == alone.metrics[key]
    log.unlink()
    monkeypatch.setattr(security, "BESIDE_OTHERS_SHARD_BYTES", 64)  # a large scan is still split beside others
    large = checker.run(section(checker, workers=2), make_ctx(corpus, tool_python=python, checks_at_once=8))
    assert log.read_text().split() == ["started", "started"] and large.metrics["processes"] == 2


def test_the_size_guess_counts_python_source_under_the_paths_and_leaves_excluded_folders_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "p"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "tests").mkdir()
    share = security.MIN_SHARD_BYTES + 1000  # one worker's worth of source
    (root / "pkg" / "a.py").write_text("x" * share)
    (root / "pkg" / "notes.txt").write_text("x" * 3 * share)  # not Python: not counted
    (root / "tests" / "t.py").write_text("x" * 3 * share)
    assert not security._worth_two(root, ["pkg"], [])
    assert not security._worth_two(root, ["."], ["tests"])
    assert security._worth_two(root, ["."], [])
    (root / "pkg" / "sub" / "b.pyw").write_text("x" * share)  # with a.py, two workers' worth
    assert security._worth_two(root, ["pkg"], [])
    assert security._worth_two(root, ["pkg/a.py", "pkg/sub/b.pyw"], [])
    (root / "pkg" / "sub" / "b.pyw").unlink()
    assert not security._worth_two(root, ["pkg"], [])
    monkeypatch.setattr(security, "SIZE_GUESS_ENTRIES", 2)  # too many entries to look at: taken as large
    assert security._worth_two(root, ["pkg"], [])


def test_parallel_workers_report_exactly_what_one_bandit_run_reports_on_a_real_tree(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bandit's own source (real code with ``# nosec`` marks), a file that does not parse and marked
    lines: every file's results (line numbers, columns, code, CWE), metrics and errors, byte for byte."""
    spec = importlib.util.find_spec("bandit")
    assert spec is not None and spec.origin is not None
    root = tmp_path / "p"
    shutil.copytree(Path(spec.origin).parent, root / "bandit", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "broken.py").write_text("def broken(:\n    pass\n")
    (root / "marked.py").write_text(
        "import subprocess\n\n"
        "subprocess.call('ls', shell=True)  # nosec\n"
        "subprocess.call('ls', shell=True)  # nosec B602\n"
        "subprocess.call('ls', shell=True)  # nosec B101\n"
        "eval(input())\n"
    )
    seen: dict[str, security.FileScan] = {}
    real_parse = security.parse_output

    def spy(*args: Any, **kwargs: Any) -> dict[str, security.FileScan]:
        out = real_parse(*args, **kwargs)
        seen.update(out)
        return out

    monkeypatch.setattr(security, "parse_output", spy)
    monkeypatch.setattr(security, "MIN_SHARD_BYTES", 1)
    monkeypatch.setattr(pool, "MIN_BATCH_BYTES", 1)  # many small batches: every hand-over is exercised
    checker = SecurityChecker()
    result = checker.run(section(checker, workers=2), make_ctx(root))
    assert result.metrics["processes"] == 2
    single = bandit_json(root, "-r", ".", "-x", SAME_X)
    reference = security.parse_output(json.dumps(single), sorted(seen))
    assert len(seen) == len(single["metrics"]) - 1 >= 70
    assert seen == reference
    assert seen["broken.py"].error == "syntax error while parsing AST from file"
    lines = [r["line_number"] for r in seen["marked.py"].results]
    assert 3 not in lines and 6 in lines  # the bare "# nosec" honoured, eval reported
    assert result.metrics["nosec"] == single["metrics"]["_totals"]["nosec"] > 0
    assert result.metrics["lines_scanned"] == single["metrics"]["_totals"]["loc"]


def test_batches_go_out_largest_first_and_shrink_to_single_files() -> None:
    sizes = {"huge.py": 400_000, **{f"m{i}.py": 40_000 for i in range(10)}, **{f"s{i}.py": 100 for i in range(50)}}
    batches = pool.Batches(list(sizes), sizes, 2)
    taken = list(iter(batches.take, []))
    assert taken[0] == ["huge.py"]
    assert sorted(f for b in taken for f in b) == sorted(sizes)  # every file exactly once
    assert len(taken[-1]) == 1 or sum(sizes[f] for f in taken[-1]) <= pool.MIN_BATCH_BYTES
    firsts = [sizes[b[0]] for b in taken]
    assert firsts == sorted(firsts, reverse=True)


def test_shards_cover_every_file_once_and_merge_to_a_single_run(corpus: Path, reference: dict[str, Any], make_ctx: Any) -> None:
    checker = SecurityChecker()
    parts = [checker.run(section(checker, workers=1), make_ctx(corpus, shard=(i, 3))) for i in (1, 2, 3)]
    scanned = [set(p.metrics["shard"]["covered"]) for p in parts]
    everything = {normalize_path(k) for k in reference["metrics"] if k != "_totals"}
    assert set().union(*scanned) == everything
    assert sum(len(s) for s in scanned) == len(everything)  # disjoint
    assert all(p.metrics["shard"]["inputs_total"] == len(everything) for p in parts)
    assert len({p.metrics["shard"]["inputs_digest"] for p in parts}) == 1
    merged = set().union(*(key_set(p.findings) for p in parts))
    assert merged == bandit_set(reference)
    assert sum(p.metrics["lines_scanned"] for p in parts) == reference["metrics"]["_totals"]["loc"]


#: what identifies a bandit worker process on its command line (its source, run through -c, starts so)
BANDIT_RUN = "A bandit worker:"


def test_cache_reuses_unchanged_files_and_rescans_changed_ones(tmp_path: Path, make_ctx: Any) -> None:
    root = build_corpus(tmp_path / "p")
    cache = tmp_path / "cache"
    log = tmp_path / "calls.log"
    # a python that records every process started with it (a bandit worker, the look-up of where bandit
    # comes from, or anything else), then runs the real one
    wrapper = tmp_path / "python-logged"
    wrapper.write_text(
        f'#!/bin/sh\nif echo "$@" | grep -q -- "{BANDIT_RUN}"; then echo worker >> {log}; '
        f'elif echo "$@" | grep -q -- "find_spec"; then echo origin >> {log}; else echo other >> {log}; fi\n'
        f'exec {PYTHON} "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    checker = SecurityChecker()

    def run() -> Any:
        return checker.run(section(checker, workers=1), make_ctx(root, cache_dir=cache, tool_python=str(wrapper)))

    def started() -> list[str]:
        return log.read_text().splitlines()

    first = run()
    scanned = first.metrics["files_scanned"]
    assert first.metrics["cached_files"] == 0
    assert started() == [
        "origin",
        "worker",
    ]  # where bandit comes from (no import), then one bandit process found the files and scanned them

    second = run()
    assert second.metrics["cached_files"] == scanned
    assert second.metrics["processes"] == 0
    # every result and bandit's discovery answer came from the cache: no bandit started at all
    assert started() == ["origin", "worker", "origin"]
    assert [f.to_dict() for f in second.findings] == [f.to_dict() for f in first.findings]
    assert (second.status, second.summary, second.tool_version) == (first.status, first.summary, first.tool_version)
    drop = ("cached_files", "cache_rejected", "processes")
    assert {k: v for k, v in second.metrics.items() if k not in drop} == {k: v for k, v in first.metrics.items() if k not in drop}

    with (root / "app" / "clean.py").open("a") as fh:
        fh.write("\n\ndef risky(x):\n    return eval(x)\n")
    third = run()
    assert third.metrics["cached_files"] == scanned - 1
    # the same names under the paths: discovery's answer still holds, one worker scans the changed file
    assert started() == ["origin", "worker", "origin", "origin", "worker"] and third.metrics["processes"] == 1
    assert third.metrics["cached_files"] + 1 == third.metrics["files_scanned"]  # only the changed file was scanned
    assert key_set(third.findings) == bandit_set(bandit_json(root, "-r", ".", "-x", SAME_X))
    assert any(f.rule_id == "B307" and f.location and f.location.path == "app/clean.py" for f in third.findings)

    (root / "app" / "added.py").write_text("import pickle\n\n\ndef load(b):\n    return pickle.loads(b)\n")
    fourth = run()  # a new file: bandit finds the files again (and scans the new one in the same process)
    assert started()[5:] == ["origin", "worker"] and fourth.metrics["files_scanned"] == scanned + 1
    assert key_set(fourth.findings) == bandit_set(bandit_json(root, "-r", ".", "-x", SAME_X))


def test_a_changed_worker_scans_again(tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker decides how bandit runs and how its results are read: results another worker wrote
    (an older gatekeeper's) are not served."""
    from gatekeeper.checkers.security import pool

    root = build_corpus(tmp_path / "p")
    cache = tmp_path / "cache"
    checker = SecurityChecker()
    first = checker.run(section(checker, workers=1), make_ctx(root, cache_dir=cache))
    assert checker.run(section(checker, workers=1), make_ctx(root, cache_dir=cache)).metrics["cached_files"] > 0
    changed = tmp_path / "worker.py"
    changed.write_text(pool._WORKER.read_text(encoding="utf-8") + "\n# another release of the worker\n", encoding="utf-8")
    monkeypatch.setattr(pool, "_WORKER", changed)
    again = checker.run(section(checker, workers=1), make_ctx(root, cache_dir=cache))
    assert again.metrics["cached_files"] == 0 and key_set(again.findings) == key_set(first.findings)


def test_a_corrupt_cache_entry_is_ignored_and_replaced(tmp_path: Path, make_ctx: Any) -> None:
    root = build_corpus(tmp_path / "p")
    cache = tmp_path / "cache"
    checker = SecurityChecker()
    first = checker.run(section(checker, workers=1), make_ctx(root, cache_dir=cache))
    everything = sorted((cache / "security").rglob("*.json"))
    entries = [p for p in everything if "results" in json.loads(p.read_text())["payload"]]  # one per file
    assert len(entries) == first.metrics["files_scanned"]
    (plan,) = set(everything) - set(entries)  # and bandit's discovery answer: forged to scan nothing
    forged = json.loads(plan.read_text())
    forged["payload"]["files"] = []
    plan.write_text(json.dumps(forged))
    # tamper with one entry (drop its findings, keep the old checksum) and truncate another
    tampered = next(p for p in entries if json.loads(p.read_text())["payload"]["results"])
    entry = json.loads(tampered.read_text())
    entry["payload"]["results"] = []
    tampered.write_text(json.dumps(entry))
    truncated = next(p for p in entries if p != tampered)
    truncated.write_bytes(truncated.read_bytes()[:20])
    second = checker.run(section(checker, workers=1), make_ctx(root, cache_dir=cache))
    assert second.metrics["cache_rejected"] == 2
    assert second.metrics["cached_files"] == len(entries) - 2
    assert [f.to_dict() for f in second.findings] == [f.to_dict() for f in first.findings]
    third = checker.run(section(checker, workers=1), make_ctx(root, cache_dir=cache))
    assert third.metrics["cache_rejected"] == 0 and third.metrics["cached_files"] == len(entries)


def test_fingerprints_survive_line_shifts(tmp_path: Path, make_ctx: Any) -> None:
    root = build_corpus(tmp_path / "p")
    checker = SecurityChecker()
    before = {
        (f.rule_id, f.location.path): f for f in checker.run(section(checker, workers=1), make_ctx(root)).findings if f.location
    }
    shell = root / "app" / "shell.py"
    shell.write_text('"""A module docstring pushed in later."""\n\n' + shell.read_text())
    after = {
        (f.rule_id, f.location.path): f for f in checker.run(section(checker, workers=1), make_ctx(root)).findings if f.location
    }
    moved = before[("B602", "app/shell.py")], after[("B602", "app/shell.py")]
    assert moved[1].location and moved[0].location and moved[1].location.line == moved[0].location.line + 2
    assert moved[0].fingerprint == moved[1].fingerprint
    assert len({f.fingerprint for f in after.values()}) == len(after)


def test_bandit_crash_is_an_error(corpus: Path, make_ctx: Any, tmp_path: Path) -> None:
    broken = tmp_path / "python-broken"
    broken.write_text(
        f'#!/bin/sh\necho "$@" | grep -q -- "{BANDIT_RUN}" && {{ echo "Traceback: boom" >&2; exit 2; }}\nexec {PYTHON} "$@"\n'
    )
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    checker = SecurityChecker()
    with pytest.raises(ToolError, match=r"bandit file discovery failed \(exit 2\): Traceback: boom"):
        checker.run(section(checker, workers=1), make_ctx(corpus, tool_python=str(broken)))


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("echo '<html>502 Bad Gateway</html>'; exit 0", "bandit file discovery printed something other than its answer: <html>"),
        ("exit 0", r"bandit file discovery failed \(exit 0\): no output"),
        ("printf '5\\n[1,2]'; exit 0", "bandit file discovery printed an unexpected answer"),
    ],
)
def test_a_worker_that_cannot_find_the_files_is_an_error(
    corpus: Path, make_ctx: Any, tmp_path: Path, fault: str, message: str
) -> None:
    """The first bandit worker finds the files before it scans: garbage, silence or a framed
    non-answer there is an error naming discovery, never an empty (passing) scan."""
    broken = tmp_path / "python-broken"
    broken.write_text(f'#!/bin/sh\necho "$@" | grep -q -- "{BANDIT_RUN}" && {{ {fault}; }}\nexec {PYTHON} "$@"\n')
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    checker = SecurityChecker()
    with pytest.raises(ToolError, match=message):
        checker.run(section(checker, workers=1), make_ctx(corpus, tool_python=str(broken)))


def test_a_worker_that_hangs_while_finding_the_files_is_killed_at_the_deadline(
    corpus: Path, make_ctx: Any, tmp_path: Path
) -> None:
    hanging = tmp_path / "python-hanging"
    hanging.write_text(f'#!/bin/sh\necho "$@" | grep -q -- "{BANDIT_RUN}" && exec sleep 300\nexec {PYTHON} "$@"\n')
    hanging.chmod(hanging.stat().st_mode | stat.S_IEXEC)
    checker = SecurityChecker()
    ctx = dataclasses.replace(make_ctx(corpus, tool_python=str(hanging)), deadline=time.monotonic() + 2)
    t0 = time.monotonic()
    with pytest.raises(ToolTimeout, match="bandit file discovery did not finish before the check's timeout"):
        checker.run(section(checker, workers=1), ctx)
    assert time.monotonic() - t0 < 30


def test_a_project_module_named_like_a_bandit_dependency_does_not_shadow_it(tmp_path: Path, make_ctx: Any) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "yaml.py").write_text('raise SystemExit("the project yaml.py was imported by the scanner")\n')
    (root / "app.py").write_text("import pickle\n")
    checker = SecurityChecker()
    result = checker.run(section(checker, workers=1), make_ctx(root))
    assert key_set(result.findings) == {("B403", "app.py", 1)}
    assert result.metrics["files_scanned"] == 2


def test_a_file_only_the_tool_interpreters_python_cannot_parse_is_an_error_not_a_hidden_file(
    tmp_path: Path, make_ctx: Any
) -> None:
    """mesa 3.5.1 (requires Python 3.12, PEP 695 generics) checked with a 3.11 tool interpreter: bandit
    could not parse 8 of its files and the check went on over the others, the 8 a non-blocking
    finding; run on 3.12, bandit finds 20 issues where the 3.11 run found 12. A file the environment's
    Python parses is syntax newer than bandit's Python, and the check is an error saying so; a file
    no Python parses stays the non-blocking finding it was."""
    from tests.helpers.pythons import other_pythons, venv_of

    newer = {v: p for v, p in other_pythons().items() if v >= (3, 12) and v > sys.version_info[:2]}
    if not newer:
        pytest.skip("no interpreter of Python 3.12 or later, newer than the one running the tests")
    env_python = venv_of(sorted(newer.items())[-1][1], tmp_path / "env")
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("import subprocess\n", encoding="utf-8")
    (root / "app" / "model.py").write_text(
        "import subprocess\n\n\nclass Box[T]:\n    def run(self, cmd: T) -> None:\n        subprocess.call(cmd, shell=True)\n",
        encoding="utf-8",
    )
    (root / "gatekeeper.toml").write_text(f'[environment]\npython = "{env_python}"\n', encoding="utf-8")
    checker = SecurityChecker()
    result = checker.run(section(checker, workers=1), make_ctx(root))
    assert result.status is Status.ERROR
    assert result.error is not None and "could not parse 1 file that the environment's Python" in result.error
    assert "(app/model.py): syntax newer than the tool interpreter's; set gate.tool_python" in result.error
    # a file no Python parses is the project's syntax error: the finding it was
    (root / "app" / "model.py").write_text("def broken(:\n", encoding="utf-8")
    result = checker.run(section(checker, workers=1), make_ctx(root))
    assert result.status is Status.PASS and sorted(f.rule_id for f in result.findings) == ["B404", "security.parse_error"]
