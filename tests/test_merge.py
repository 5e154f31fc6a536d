"""Sharding end to end: the real built-in checkers run as N = 2 and 3 shards over a project with
several packages, and ``merge`` gives the findings and verdict of one single run; parts that are
not every shard of one run, or that do not add up, are refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import REPO, run_gatekeeper
from tests.helpers.env import clean_env

#: the projects these tests build measure themselves, even when this suite runs under coverage
#: shards: the sample project checked whole and in 2 and 3 shards, as processes
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

SAMPLE = REPO / "fixtures" / "sample-project"

#: code bandit flags (and code it does not), spread over several packages of different sizes
MODULES = {
    "billing/__init__.py": "",
    "billing/invoices.py": "import subprocess\n\n\ndef send(cmd):\n    return subprocess.call(cmd, shell=True)\n",
    "billing/tax.py": "def rate(x):\n    return x * 0.2\n" * 3,
    "billing/export.py": "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n",
    "ingest/__init__.py": "",
    "ingest/feed.py": "import yaml\n\n\ndef parse(text):\n    return yaml.load(text)\n",
    "ingest/hashing.py": "import hashlib\n\n\ndef digest(b):\n    return hashlib.md5(b).hexdigest()\n",
    "ingest/tmp.py": "def scratch():\n    return open('/tmp/ingest.log', 'w')\n",
    "admin/__init__.py": "",
    "admin/shell.py": "import os\n\n\ndef run(cmd):\n    os.system(cmd)\n    return eval(cmd)\n",
    "admin/secrets.py": "PASSWORD = 'hunter2'\n\n\ndef check(p):\n    assert p\n    return p == PASSWORD\n",
    "admin/views.py": "def index():\n    return 'ok'\n",
}


def _gk(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_gatekeeper(args, cwd, clean_env(coverage=False), timeout=900)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project (all five checks, offline) grown by three packages with insecure code."""
    root = tmp_path_factory.mktemp("shards") / "project"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("gatekeeper-reports", ".gatekeeper", ".coverage*"))
    for name, text in MODULES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    policy = (root / "gatekeeper.toml").read_text(encoding="utf-8")
    (root / "gatekeeper.toml").write_text(
        policy.replace('paths = ["stock"]', 'paths = ["stock", "billing", "ingest", "admin"]'), encoding="utf-8"
    )
    return root


@pytest.fixture(scope="module")
def single(tree: Path) -> dict[str, Any]:
    done = _gk(["check", "--format", "json", "--output-dir", "single", "--no-audit", "--no-cache"], tree)
    assert done.returncode == 1, done.stdout + done.stderr
    report: dict[str, Any] = json.loads((tree / "single" / "gatekeeper.json").read_text())
    return report


def _shards(tree: Path, count: int, tag: str) -> list[Path]:
    parts = []
    for i in range(1, count + 1):
        part = tree / f"{tag}-{i}.json"
        args = ["check", "--shard", f"{i}/{count}", "--results-out", str(part), "--format", "json"]
        done = _gk([*args, "--output-dir", f"{tag}-out-{i}", "--no-audit", "--no-cache"], tree)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        parts.append(part)
    return parts


def _keyed(report: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        c["name"]: sorted(
            (f["rule_id"], f["fingerprint"], (f["location"] or {}).get("path"), (f["location"] or {}).get("line"), f["blocking"])
            for f in c["findings"]
        )
        for c in report["checks"]
    }


@pytest.mark.parametrize("count", [2, 3])
def test_merged_shards_equal_the_single_run(tree: Path, single: dict[str, Any], count: int) -> None:
    parts = _shards(tree, count, f"n{count}")
    reports = [json.loads(p.read_text()) for p in parts]
    # security splits its files: it runs in every shard; each other check runs in exactly one
    for report in reports:
        assert "security" in [c["name"] for c in report["checks"]]
    whole = [c["name"] for r in reports for c in r["checks"] if c["name"] != "security"]
    assert sorted(whole) == ["coverage", "dependencies", "licenses", "sbom"]
    scanned = [c["metrics"]["files_scanned"] for r in reports for c in r["checks"] if c["name"] == "security"]
    assert sum(scanned) == {c["name"]: c for c in single["checks"]}["security"]["metrics"]["files_scanned"] == 15
    merged = _gk(["merge", *map(str, parts), "--format", "json", "--output-dir", f"n{count}-merged", "--no-audit"], tree)
    assert merged.returncode == 1, merged.stdout + merged.stderr
    both = json.loads((tree / f"n{count}-merged" / "gatekeeper.json").read_text())
    assert _keyed(both) == _keyed(single)
    assert len(_keyed(both)["security"]) >= 8  # the insecure code of every package, not one shard's share
    assert both["verdict"] == single["verdict"] == "fail"
    assert {c["name"]: c["status"] for c in both["checks"]} == {c["name"]: c["status"] for c in single["checks"]}


def test_merge_refuses_parts_that_do_not_add_up(tree: Path) -> None:
    parts = _shards(tree, 2, "bad")
    first = json.loads(parts[0].read_text())
    security = next(c for c in first["checks"] if c["name"] == "security")
    # a shard that claims it covered one file fewer: the files no longer add up to those discovered
    dropped = dict(first, checks=[dict(c) for c in first["checks"]])
    sec = next(c for c in dropped["checks"] if c["name"] == "security")
    sec["metrics"] = dict(
        security["metrics"], shard=dict(security["metrics"]["shard"], covered=security["metrics"]["shard"]["covered"][1:])
    )
    (tree / "dropped.json").write_text(json.dumps(dropped))
    done = _gk(["merge", "dropped.json", str(parts[1]), "--no-audit", "--output-dir", "m-dropped"], tree)
    assert done.returncode == 2 and "do not add up" in done.stderr, done.stderr
    # a shard that scanned a different tree (another file list) cannot be merged with this one
    other = dict(sec["metrics"]["shard"], inputs_digest="0" * 64)
    sec["metrics"] = dict(security["metrics"], shard=other)
    (tree / "other.json").write_text(json.dumps(dropped))
    done = _gk(["merge", "other.json", str(parts[1]), "--no-audit", "--output-dir", "m-other"], tree)
    assert done.returncode == 2 and "discovered different inputs" in done.stderr, done.stderr
    # a part whose check says pass while it holds a blocking finding merges as the failure it is
    for i, part in enumerate(parts, 1):
        lying = json.loads(part.read_text())
        for check in lying["checks"]:
            check["status"] = "pass"
        lying["verdict"] = "pass"
        (tree / f"lying-{i}.json").write_text(json.dumps(lying))
    done = _gk(["merge", "lying-1.json", "lying-2.json", "--format", "json", "--no-audit", "--output-dir", "m-lying"], tree)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((tree / "m-lying" / "gatekeeper.json").read_text())
    assert {c["name"]: c["status"] for c in report["checks"]}["security"] == "fail"
    # the policy enables a check no part ran
    skipped = _gk(["check", "--shard", "2/2", "--skip", "sbom,licenses,dependencies,coverage", "--results-out", "skip.json",
                   "--format", "json", "--output-dir", "skip-out", "--no-audit"], tree)  # fmt: skip
    assert skipped.returncode in (0, 1), skipped.stderr
    first_security_only = dict(first, checks=[c for c in first["checks"] if c["name"] == "security"])
    (tree / "sec-only.json").write_text(json.dumps(first_security_only))
    done = _gk(["merge", "sec-only.json", "skip.json", "--no-audit", "--output-dir", "m-skip"], tree)
    assert done.returncode == 2 and "no part ran it" in done.stderr, done.stderr


def test_a_merged_checks_summary_counts_one_finding_in_the_singular() -> None:
    from gatekeeper.findings import CheckResult, Finding, Location, Severity, Status
    from gatekeeper.merge import _merge_check

    finding = Finding("B602", Severity.HIGH, "shell=True", blocking=True, location=Location("a.py", 3), fingerprint="f1")
    parts = [
        CheckResult("security", Status.FAIL, findings=(finding,)),
        CheckResult("security", Status.PASS),
    ]
    assert _merge_check("security", parts, None).summary == "1 blocking of 1 finding, from 2 shards"
    twice = [parts[0], CheckResult("security", Status.FAIL, findings=(replace(finding, fingerprint="f2"),))]
    assert _merge_check("security", twice, None).summary == "2 blocking of 2 findings, from 2 shards"
