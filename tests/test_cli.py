"""Third-party checkers plug in through the entry-point group alone, and the CLI's core paths:
exit codes, the JSON report against its shipped schema, and re-rendering."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from gatekeeper.reports.json import schema

PLUGIN = '''
from gatekeeper.checkers.base import Option, shard_record
from gatekeeper.findings import CheckResult, Finding, Location, Severity, Status, fingerprint


class TodoChecker:
    """Counts TODO comments; more than max_todos fails."""

    name = "todo"
    description = "TODO comments (acme)"
    options = {"max_todos": Option("int", 0, "TODOs allowed", minimum=0)}

    def run(self, section, ctx):
        found = []
        for path in sorted(ctx.root.rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if "TODO" in line:
                    rel = path.relative_to(ctx.root).as_posix()
                    found.append((rel, number, line.strip()))
        too_many = len(found) > section["max_todos"]
        findings = tuple(
            Finding(rule_id="ACME1", severity=Severity.LOW, message=f"TODO: {text}", blocking=too_many,
                    location=Location(rel, number), fingerprint=fingerprint("todo", rel, text))
            for rel, number, text in found
        )
        return CheckResult(name="todo", status=Status.PASS, summary=f"{len(found)} TODOs (max {section['max_todos']})",
                           tool_name="acme-todo", tool_version="1.0", findings=findings, metrics={"todos": len(found)})


class EvalChecker:
    """Flags eval( calls; splits its files across shards."""

    name = "evals"
    description = "eval calls (acme)"
    shardable = True
    options = {}

    def run(self, section, ctx):
        everything = sorted(p for p in ctx.root.rglob("*.py") if "site" not in p.parts)
        files = everything
        if ctx.shard:
            index, count = ctx.shard
            files = [f for i, f in enumerate(everything) if i % count == index - 1]
        findings = []
        for path in files:
            rel = path.relative_to(ctx.root).as_posix()
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if "eval(" in line:
                    findings.append(Finding(rule_id="ACME2", severity=Severity.HIGH, message="eval call", blocking=True,
                                            location=Location(rel, number), fingerprint=fingerprint("evals", rel, line.strip())))
        return CheckResult(name="evals", status=Status.PASS, summary=f"{len(findings)} eval calls",
                           findings=tuple(findings), metrics={"files_scanned": len(files), "counts": {"high": len(findings)},
                           **({"shard": shard_record(ctx.shard, [str(f) for f in everything], [str(f) for f in files])}
                              if ctx.shard else {})})
'''


BUILTINS = ("coverage", "security", "dependencies", "sbom", "licenses")


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    """A third-party package 'acme-gate' with its dist-info, importable through PYTHONPATH."""
    site = tmp_path / "site"
    (site / "acme_gate").mkdir(parents=True)
    (site / "acme_gate" / "__init__.py").write_text(PLUGIN)
    info = site / "acme_gate-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-gate\nVersion: 1.0\nLicense: MIT\n")
    (info / "entry_points.txt").write_text(
        "[gatekeeper.checkers]\ntodo = acme_gate:TodoChecker\nevals = acme_gate:EvalChecker\nbroken = acme_missing:Nope\n"
    )
    (info / "RECORD").write_text("")
    return site


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "app.py").write_text("def f():\n    return 1  # TODO: speed up\n\n# TODO: docs\n")
    return root


def test_plugins_lists_third_party_and_broken_checkers(plugin_path: Path, project: Path, gk) -> None:
    done = gk(["plugins"], cwd=project, env={"PYTHONPATH": str(plugin_path)})
    assert done.returncode == 0, done.stderr
    assert "todo" in done.stdout and "acme-gate 1.0" in done.stdout and "TODO comments (acme)" in done.stdout
    assert "broken" in done.stdout and "BROKEN" in done.stdout and "acme_missing" in done.stdout
    for builtin in ("coverage", "security", "dependencies", "sbom", "licenses"):
        assert builtin in done.stdout


def test_check_runs_the_plugin_with_its_own_section(plugin_path: Path, project: Path, gk) -> None:
    env = {"PYTHONPATH": str(plugin_path)}
    (project / "gatekeeper.toml").write_text("[checks.todo]\nmax_todos = 1\n")
    done = gk(["check", "--only", "todo", "--format", "json", "--no-audit"], cwd=project, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "verdict: FAIL" in done.stdout and "2 TODOs (max 1)" in done.stdout
    report = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
    jsonschema.validate(report, schema())
    (todo,) = report["checks"]
    assert todo["status"] == "fail" and todo["metrics"] == {"todos": 2}
    assert [(f["location"]["path"], f["location"]["line"]) for f in todo["findings"]] == [("app.py", 2), ("app.py", 4)]
    (project / "gatekeeper.toml").write_text("[checks.todo]\nmax_todos = 2\n")
    done = gk(["check", "--only", "todo", "--format", "json", "--no-audit"], cwd=project, env=env)
    assert done.returncode == 0 and "verdict: PASS" in done.stdout


def test_plugin_options_are_validated(plugin_path: Path, project: Path, gk) -> None:
    (project / "gatekeeper.toml").write_text("[checks.todo]\nmax_todo = 1\n")
    done = gk(["check", "--only", "todo"], cwd=project, env={"PYTHONPATH": str(plugin_path)})
    assert done.returncode == 2
    assert "checks.todo.max_todo: unknown key (did you mean 'max_todos'?)" in done.stderr


def test_a_broken_plugin_is_an_error_not_a_pass(plugin_path: Path, project: Path, gk) -> None:
    (project / "gatekeeper.toml").write_text("[checks.todo]\nmax_todos = 5\n")
    done = gk(["check", "--only", "todo,broken", "--format", "json", "--no-audit"], cwd=project,
              env={"PYTHONPATH": str(plugin_path)})  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads((project / "gatekeeper-reports" / "gatekeeper.json").read_text())
    status = {c["name"]: (c["status"], c["error"]) for c in report["checks"]}
    assert status["broken"][0] == "error" and "could not be loaded" in status["broken"][1]
    assert status["todo"][0] == "pass"
    assert report["verdict"] == "error"


def test_report_re_renders_the_same_json(plugin_path: Path, project: Path, gk) -> None:
    gk(["check", "--only", "todo", "--format", "json", "--no-audit"], cwd=project, env={"PYTHONPATH": str(plugin_path)})
    original = project / "gatekeeper-reports" / "gatekeeper.json"
    done = gk(["report", str(original), "--format", "json", "--output-dir", "again"], cwd=project)
    assert done.returncode == 0, done.stderr
    assert (project / "again" / "gatekeeper.json").read_bytes() == original.read_bytes()


def test_report_on_a_bad_file_is_a_clear_usage_error(tmp_path: Path, gk) -> None:
    (tmp_path / "bad.json").write_text('{"verdict": "pass"}')
    done = gk(["report", "bad.json"], cwd=tmp_path)
    assert done.returncode == 2 and "not a gatekeeper JSON result" in done.stderr and "Traceback" not in done.stderr
    done = gk(["report", "missing.json"], cwd=tmp_path)
    assert done.returncode == 2 and "not found" in done.stderr


def test_usage_errors_exit_2(project: Path, gk) -> None:
    done = gk(["check", "--only", "nosuch"], cwd=project)
    assert done.returncode == 2 and "no checker named 'nosuch'" in done.stderr
    done = gk(["check", "--shard", "3/2"], cwd=project)
    assert done.returncode == 2 and "--shard" in done.stderr
    done = gk(["check", "--format", "pdf"], cwd=project)
    assert done.returncode == 2 and "unknown format 'pdf'" in done.stderr
    done = gk(["check", "no/such/dir"], cwd=project)
    assert done.returncode == 2 and "project folder not found" in done.stderr


def test_version_and_module_entry(project: Path, gk) -> None:
    done = gk(["--version"], cwd=project)
    assert done.returncode == 0 and done.stdout.startswith("gatekeeper ")


def test_help_shows_examples(project: Path, gk) -> None:
    done = gk(["check", "--help"], cwd=project)
    assert done.returncode == 0 and "Examples:" in done.stdout and "--policy" in done.stdout
    assert textwrap.dedent("gatekeeper check") in done.stdout


def test_shards_merge_into_the_single_run_verdict(plugin_path: Path, project: Path, gk) -> None:
    env = {"PYTHONPATH": str(plugin_path)}
    for i in range(6):
        (project / f"m{i}.py").write_text(f"x = eval('{i}')\n" * (i % 3))
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in (*BUILTINS, "broken"))
    (project / "gatekeeper.toml").write_text(f"[checks.todo]\nmax_todos = 1\n{off}")
    args = ["--only", "todo,evals", "--format", "json", "--no-audit"]
    single = gk(["check", *args, "--output-dir", "single"], cwd=project, env=env)
    assert single.returncode == 1
    for i in (1, 2):
        part = gk(["check", *args, "--shard", f"{i}/2", "--results-out", f"part-{i}.json", "--output-dir", f"s{i}"],
                  cwd=project, env=env)  # fmt: skip
        assert part.returncode in (0, 1), part.stderr
    parts = [json.loads((project / f"part-{i}.json").read_text()) for i in (1, 2)]
    assert sorted(c["name"] for c in parts[0]["checks"]) == ["evals", "todo"]  # todo dealt to shard 1
    assert [c["name"] for c in parts[1]["checks"]] == ["evals"]
    merged = gk(["merge", "part-1.json", "part-2.json", "--format", "json", "--output-dir", "merged", "--no-audit"],
                cwd=project, env=env)  # fmt: skip
    assert merged.returncode == 1, merged.stdout + merged.stderr
    one = json.loads((project / "single" / "gatekeeper.json").read_text())
    both = json.loads((project / "merged" / "gatekeeper.json").read_text())
    jsonschema.validate(both, schema())

    def keyed(report):
        return {c["name"]: sorted((f["fingerprint"], f["location"]["path"], f["location"]["line"]) for f in c["findings"])
                for c in report["checks"]}  # fmt: skip

    assert keyed(both) == keyed(one)
    evals = {c["name"]: c for c in both["checks"]}["evals"]
    assert evals["metrics"]["files_scanned"] == 7 and evals["metrics"]["counts"]["high"] == 6
    assert both["verdict"] == one["verdict"] == "fail"
    missing = gk(["merge", "part-1.json", "--no-audit", "--output-dir", "m2"], cwd=project, env=env)
    assert missing.returncode == 2 and "missing" in missing.stderr
    twice = gk(["merge", "part-1.json", "part-1.json", "--no-audit", "--output-dir", "m3"], cwd=project, env=env)
    assert twice.returncode == 2 and "shard 1/2 given more than once" in twice.stderr
    # shard 2 of a differently split run, and a shard 2 that skipped the split check
    gk(["check", *args, "--shard", "3/3", "--results-out", "other.json", "--output-dir", "s3"], cwd=project, env=env)
    mixed = gk(["merge", "part-1.json", "other.json", "--no-audit", "--output-dir", "m4"], cwd=project, env=env)
    assert mixed.returncode == 2 and "split differently" in mixed.stderr
    gk(["check", *args, "--skip", "evals", "--shard", "2/2", "--results-out", "noevals.json", "--output-dir", "s4"],
       cwd=project, env=env)  # fmt: skip
    short = gk(["merge", "part-1.json", "noevals.json", "--no-audit", "--output-dir", "m5"], cwd=project, env=env)
    assert short.returncode == 2 and "evals splits its input across every shard" in short.stderr


def test_github_annotations_for_blocking_findings(plugin_path: Path, project: Path, gk) -> None:
    (project / "evil.py").write_text("x = 1  # TODO: %0A::error file=x::injected\n")
    done = gk(["check", "--only", "todo", "--format", "json", "--no-audit"], cwd=project,
              env={"PYTHONPATH": str(plugin_path), "GITHUB_ACTIONS": "true"})  # fmt: skip
    assert done.returncode == 1
    notes = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert "::error file=app.py,line=2,title=gatekeeper todo%3A ACME1::TODO: return 1  # TODO: speed up" in notes
    assert any(n.startswith("::error file=evil.py,line=1,") and "%250A::error" in n for n in notes)
    (project / "evil.py").write_text("x = 1  # TODO: line\r\n::warning::injected\n")  # a raw CR inside one finding
    done = gk(["check", "--only", "todo", "--format", "json", "--no-audit"], cwd=project,
              env={"PYTHONPATH": str(plugin_path), "GITHUB_ACTIONS": "true"})  # fmt: skip
    assert not [line for line in done.stdout.splitlines() if line.startswith("::warning::injected")]
    quiet = gk(["check", "--only", "todo", "--format", "json", "--no-audit"], cwd=project, env={"PYTHONPATH": str(plugin_path)})
    assert not [line for line in quiet.stdout.splitlines() if line.startswith("::")]
