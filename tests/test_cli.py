"""Third-party checkers plug in through the entry-point group alone, and the CLI's core paths:
exit codes, the JSON report against its shipped schema, and re-rendering."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import jsonschema
import pytest
from markupsafe import escape

from gatekeeper.options import Option
from gatekeeper.reports.json import schema

PLUGIN = '''
from gatekeeper.checkers.base import (
    Bar, BarChart, Display, Option, Row, RuleInfo, ToolInfo, VerdictRow, VerdictTable, shard_record,
)
from gatekeeper.findings import CheckResult, Finding, Location, Severity, Status, fingerprint


class TodoChecker:
    """Counts TODO comments; more than max_todos fails. Presents itself like a built-in (without
    subclassing CheckerBase): its own rows, bars, table, tool and rule metadata."""

    name = "todo"
    description = "TODO comments (acme)"
    options = {"max_todos": Option("int", 0, "TODOs allowed", minimum=0)}
    tool = ToolInfo("acme-todo", "https://acme.example/todo", ("quality", "todo"))

    def display(self, result):
        per_file = {}
        for f in result.findings:
            per_file[f.location.path] = per_file.get(f.location.path, 0) + 1
        total = sum(per_file.values()) or 1
        counted = sorted(per_file.items())
        bars = tuple(Bar(path, 100 * n / total, f"{n} of {total}", f"{n} of the TODOs", n > 1) for path, n in counted)
        rows = tuple(VerdictRow((path, str(n)), "crowded" if n > 1 else "fine") for path, n in counted)
        crowded = sum(1 for r in rows if r.verdict == "crowded")
        return Display(
            rows=(Row("TODO comments left", result.metrics.get("todos"), "as few as possible", not result.blocking),),
            shown=frozenset({"todos"}),
            bars=BarChart("TODOs by file", ("Source file", "TODOs"), bars),
            table=VerdictTable("Crowded files", ("Source file", "TODOs", "Verdict"), rows, (("crowded", crowded),)),
        )

    def rule_info(self, finding):
        return RuleInfo(f"TODO left in {finding.location.path}", "https://acme.example/rules/ACME1")

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
    assert report["clock"]["source"] == "runner" and report["clock"]["authority"] == ""
    # every top-level key a run writes must be declared: an undeclared one, or a clock of another shape, is refused
    for bad in ({**report, "undeclared": 1}, {**report, "clock": {"source": "runner"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema())
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


def test_report_on_a_bad_file_is_a_clear_usage_error(tmp_path: Path, cli) -> None:
    (tmp_path / "bad.json").write_text('{"verdict": "pass"}')
    done = cli(["report", "bad.json"], cwd=tmp_path)
    assert done.returncode == 2 and "not a gatekeeper JSON result" in done.stderr and "Traceback" not in done.stderr
    done = cli(["report", "missing.json"], cwd=tmp_path)
    assert done.returncode == 2 and "not found" in done.stderr


def test_usage_errors_exit_2(project: Path, cli) -> None:
    done = cli(["check", "--only", "nosuch"], cwd=project)
    assert done.returncode == 2 and "no checker named 'nosuch'" in done.stderr
    done = cli(["check", "--shard", "3/2"], cwd=project)
    assert done.returncode == 2 and "--shard" in done.stderr
    done = cli(["check", "--format", "pdf"], cwd=project)
    assert done.returncode == 2 and "unknown format 'pdf'" in done.stderr
    done = cli(["check", "no/such/dir"], cwd=project)
    assert done.returncode == 2 and "project folder not found" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["merge", "part.json"],
        ["baseline", "create"],
        ["policy", "show"],
        ["hook", "security", "app.py"],
        ["audit", "verify"],
        ["audit", "show"],
        ["audit", "report"],
    ],
    ids=" ".join,
)
def test_every_command_reports_a_missing_policy_in_one_line_and_exits_2(project: Path, cli, command: list[str]) -> None:
    done = cli([*command, "--policy", "nope.toml"], cwd=project)
    assert done.returncode == 2
    assert done.stderr == "gatekeeper: error: nope.toml: policy file not found (check the --policy path)\n"
    assert not (project / "gatekeeper-reports").exists() and not (project / ".gatekeeper").exists()


def test_version_and_module_entry(project: Path, gk) -> None:
    done = gk(["--version"], cwd=project)
    assert done.returncode == 0 and done.stdout.startswith("gatekeeper ")


def test_help_shows_examples(project: Path, cli) -> None:
    done = cli(["check", "--help"], cwd=project)
    assert done.returncode == 0 and "Examples:" in done.stdout and "--policy" in done.stdout
    assert textwrap.dedent("gatekeeper check") in done.stdout


def test_every_help_page_shows_placeholders_not_python_types() -> None:
    import re

    import typer.main
    from typer.testing import CliRunner

    from gatekeeper.cli import app

    def paths(command: object, path: list[str]) -> list[list[str]]:
        subs = getattr(command, "commands", {})
        return [path, *(p for name, sub in sorted(subs.items()) for p in paths(sub, [*path, name]))]

    pages = {}
    for path in paths(typer.main.get_command(app), []):
        run = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert run.exit_code == 0, (path, run.output)
        pages[" ".join(path)] = run.output
    assert {"check", "audit verify", "audit report", "bundle", "db update", "cache key"} <= set(pages)
    typed = {name: re.findall(r"<(?:str|int|float|path|file|list\[[^]]*\])>", page) for name, page in pages.items()}
    assert {name: found for name, found in typed.items() if found} == {}
    # the placeholders the README's command line reference uses
    assert "--key-env NAME" in pages["audit verify"] and "--anchor SHA256" in pages["audit verify"]
    assert "--key-env NAME" in pages["audit report"] and "--key-env NAME" in pages["bundle"]
    assert "--policy FILE" in pages["check"] and "[PATH]" in pages["check"] and "--dir DIR" in pages["db update"]


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
    expected = {"parts": 2, "shards": [1, 2], "count": 2, "authenticated": False, "unauthenticated_parts": 2}
    assert both["merged"] == {**expected, "at": both["merged"]["at"]}
    assert both["merged"]["at"] >= both["finished_at"]  # when the merge made the verdict, after its parts
    claimed = {**both, "merged": {**both["merged"], "authenticated": True}}  # authenticated, yet by no key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(claimed, schema())

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


def test_a_plugin_presents_itself_in_html_and_sarif_like_a_builtin(plugin_path: Path, project: Path, gk) -> None:
    env = {"PYTHONPATH": str(plugin_path)}
    (project / "gatekeeper.toml").write_text("[checks.todo]\nmax_todos = 1\n")
    args = ["--only", "todo,evals", "--format", "json,html,sarif", "--no-audit"]
    done = gk(["check", *args], cwd=project, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    out = project / "gatekeeper-reports"
    html = (out / "gatekeeper.html").read_text(encoding="utf-8")
    todo = html[html.index('id="check-todo"') : html.index("</section>", html.index('id="check-todo"'))]
    # its own row (value, policy, met), its bar chart and its verdict table; no generic "todos" row
    assert "<tr><td>TODO comments left</td><td>2</td><td>as few as possible</td>" in todo and "✘ no" in todo
    assert "<td>todos</td>" not in todo
    assert "<h3>TODOs by file</h3>" in todo and '<th scope="col">Source file</th><th scope="col">TODOs</th>' in todo
    assert '<code>app.py</code></td><td class="num">2 of 2</td>' in todo and 'aria-label="2 of the TODOs"' in todo
    assert "<h3>Crowded files</h3>" in todo and '<span class="badge lic-crowded">crowded 1</span>' in todo
    assert '<tr class="lic-row-crowded"><td>app.py</td><td>2</td><td><span class="badge lic-crowded">crowded</span>' in todo
    # a plugin without presentation hooks gets the defaults: every metric in a generic row, read as a value
    evals = html[html.index('id="check-evals"') :]
    assert '<tr class="generic"><td>files scanned</td><td>1</td>' in evals
    assert '<tr class="generic"><td>counts</td><td><ul class="pairs"><li>high: 0</li></ul></td>' in evals
    runs = {r["automationDetails"]["id"]: r for r in json.loads((out / "gatekeeper.sarif").read_text())["runs"]}
    tool = runs["gatekeeper/todo/"]["tool"]
    assert tool["extensions"] == [{"name": "acme-todo", "informationUri": "https://acme.example/todo", "version": "1.0"}]
    (rule,) = tool["driver"]["rules"]
    assert rule["shortDescription"] == {"text": "TODO left in app.py"}
    assert rule["helpUri"] == "https://acme.example/rules/ACME1" and rule["properties"]["tags"] == ["quality", "todo"]
    # re-rendered from the JSON result where the plugin is installed: the same bytes
    again = gk(["report", str(out / "gatekeeper.json"), "--format", "html,sarif", "--output-dir", "again"], cwd=project, env=env)
    assert again.returncode == 0, again.stderr
    for name in ("gatekeeper.html", "gatekeeper.sarif"):
        assert (project / "again" / name).read_bytes() == (out / name).read_bytes(), name
    # where it is not installed, the same JSON still renders, with the generic presentation
    bare = gk(["report", str(out / "gatekeeper.json"), "--format", "html,sarif", "--output-dir", "bare"], cwd=project)
    assert bare.returncode == 0, bare.stderr
    generic = (project / "bare" / "gatekeeper.html").read_text(encoding="utf-8")
    assert '<tr class="generic"><td>todos</td><td>2</td>' in generic and "TODO comments left" not in generic


def test_two_plugins_with_one_name_are_an_error(plugin_path: Path, project: Path, gk) -> None:
    fork = plugin_path / "acme_fork-2.0.dist-info"
    fork.mkdir()
    (fork / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-fork\nVersion: 2.0\n")
    (fork / "entry_points.txt").write_text("[gatekeeper.checkers]\ntodo = acme_gate:EvalChecker\n")
    (fork / "RECORD").write_text("")
    env = {"PYTHONPATH": str(plugin_path)}
    for args in (["check", "--only", "todo", "--no-audit"], ["plugins"], ["policy", "validate"]):
        done = gk(args, cwd=project, env=env)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "two installed checkers are named 'todo'" in done.stderr and "Traceback" not in done.stderr
        assert "acme-gate 1.0 (acme_gate:TodoChecker)" in done.stderr and "acme-fork 2.0 (acme_gate:EvalChecker)" in done.stderr


SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample-project"


def test_every_builtin_checker_satisfies_the_contract_on_a_real_result(tmp_path: Path, gk) -> None:
    from gatekeeper.checkers import discover, load_all
    from gatekeeper.checkers.base import Checker, CheckerBase, LoadedChecker
    from gatekeeper.display import BarChart, Display, Row, RuleInfo, ToolInfo, VerdictTable
    from gatekeeper.options import Option
    from gatekeeper.reports.html import render_html
    from gatekeeper.reports.json import load_result

    # the sample project with every built-in on, a vulnerable pin and insecure code: real findings
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("gatekeeper-reports", ".gatekeeper", ".coverage*"))
    (root / "stock" / "admin.py").write_text(
        "import subprocess\n\n\ndef purge(path):\n    subprocess.call('rm -rf ' + path, shell=True)\n"
    )
    (root / "requirements.txt").write_text("jinja2==2.10\n")
    policy = (
        (root / "gatekeeper.toml")
        .read_text()
        .replace('advisory_db = "advisory-db"', 'advisory_db = "advisory-db"\nsource = "requirements.txt"')
    )
    (root / "gatekeeper.toml").write_text(
        policy + "".join(f"[checks.{n}]\nenabled = true\n" for n in ("lint", "types", "secrets"))
    )
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)  # the secrets check scans tracked files
    done = gk(["check", "--no-audit", "--format", "json"], cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    result = load_result(root / "gatekeeper-reports" / "gatekeeper.json")
    builtins = sorted(name for name, info in discover().items() if info.distribution == "gatekeeper")
    assert builtins == sorted(c.name for c in result.checks) == sorted((*BUILTINS, "lint", "types", "secrets"))
    assert all(c.status.value in ("pass", "fail") for c in result.checks), [(c.name, c.error) for c in result.checks]
    assert {c.name for c in result.checks if c.findings} >= {"dependencies", "security", "secrets"}
    loaded = load_all()
    html = render_html(result)
    for check in result.checks:
        entry = loaded[check.name]
        plugin = entry.plugin
        assert isinstance(entry, LoadedChecker) and not entry.error
        assert isinstance(plugin, Checker) and isinstance(plugin, CheckerBase), check.name
        assert isinstance(plugin.options, Mapping) and all(isinstance(o, Option) for o in plugin.options.values())
        assert entry.shardable is plugin.shardable and isinstance(entry.shardable, bool)
        assert isinstance(entry.tool, ToolInfo) and entry.tool.name and entry.tool.uri.startswith("https://")
        # the plugin's own hooks (not the guarded ones, which would hide an exception) on the real result
        shown = plugin.display(check)
        assert isinstance(shown, Display) and all(isinstance(r, Row) for r in shown.rows)
        assert shown.bars is None or isinstance(shown.bars, BarChart)
        assert shown.table is None or isinstance(shown.table, VerdictTable)
        assert shown.rows or shown.table, f"{check.name} presents nothing of its own"
        for row in shown.rows:
            assert f"<td>{escape(row.label)}</td>" in html, (check.name, row.label)
        for finding in check.findings:
            assert isinstance(plugin.rule_info(finding), RuleInfo)
        merged = plugin.merge_metrics([dict(check.metrics), dict(check.metrics)])
        assert isinstance(merged, dict) and set(merged) == set(check.metrics)
    deps = next(c for c in result.checks if c.name == "dependencies")
    info = loaded["dependencies"].rule_info(deps.findings[0])
    assert info.short_description == f"{deps.findings[0].rule_id} in jinja2"
    assert info.help_uri == f"https://osv.dev/vulnerability/{deps.findings[0].rule_id}"


def test_hooks_a_plugin_leaves_out_get_their_defaults_and_bad_ones_are_refused() -> None:
    from gatekeeper.checkers.base import CheckerBase, Display, ToolInfo, resolve, sum_metrics
    from gatekeeper.errors import PluginError
    from gatekeeper.findings import CheckResult, Status

    class Bare:
        options: Mapping[str, Option] = MappingProxyType({})

        def run(self, section, ctx):
            return CheckResult(name="bare", status=Status.PASS)

    bare = resolve("bare", Bare())
    result = CheckResult(name="bare", status=Status.PASS, metrics={"n": 1, "names": ["a"]})
    assert (bare.name, bare.description, bare.shardable, bare.tool) == ("bare", "", False, ToolInfo())
    assert bare.display(result) == Display() == CheckerBase().display(result)
    assert bare.merge_metrics([result.metrics, {"n": 2, "names": ["b"]}]) == sum_metrics(
        [result.metrics, {"n": 2, "names": ["b"]}]
    )
    assert bare.merge_metrics([{"n": 1}, {"n": 2}]) == {"n": 3}

    class Clumsy(Bare):
        def display(self, result):
            raise KeyError("metric")

        def rule_info(self, finding):
            return "not a RuleInfo"

        def merge_metrics(self, parts):
            raise ValueError("cannot merge")

    clumsy = resolve("clumsy", Clumsy())
    assert clumsy.display(result) == Display()  # a presentation bug: the generic presentation, not a lost report

    class Sloppy(Bare):
        def display(self, result):
            return Display(rows=("files: 3",), shown=frozenset({"n"}))

    assert resolve("sloppy", Sloppy()).display(result) == Display()  # ill-typed parts: the generic presentation
    with pytest.raises(PluginError, match="checker 'clumsy': merge_metrics failed: ValueError: cannot merge"):
        clumsy.merge_metrics([{}, {}])
    for attr, value, message in (
        ("shardable", "yes", "'shardable' must be True or False"),
        ("options", {"x": 1}, "'options' must be a mapping of Option"),
        ("tool", ("ruff", "https://x"), "'tool' must be a ToolInfo"),
        ("display", "rows", "'display' must be a method"),
    ):
        wrong = Bare()
        setattr(wrong, attr, value)
        with pytest.raises(PluginError, match=f"checker 'wrong' \\(acme:Wrong\\): {message}"):
            resolve("wrong", wrong, "acme:Wrong")


def test_merge_joins_a_checks_shard_metrics_with_its_own_merge_metrics(tmp_path: Path) -> None:
    from gatekeeper.checkers.base import CheckerBase, resolve, shard_record
    from gatekeeper.findings import CheckResult, GateResult, Status, Verdict
    from gatekeeper.merge import merge_results
    from gatekeeper.policy import load_policy

    class Peak(CheckerBase):
        """Splits its input; of its shards' metrics it keeps the largest, where the default would add up."""

        shardable = True

        def merge_metrics(self, parts):
            return {"peak": max(p["peak"] for p in parts)}

    inputs = ["a.py", "b.py"]
    policy = load_policy(tmp_path, {"peak": {}})

    def shard(index: int, peak: int) -> GateResult:
        record = shard_record((index, 2), inputs, [inputs[index - 1]])
        check = CheckResult(name="peak", status=Status.PASS, metrics={"peak": peak, "shard": record})
        return GateResult(verdict=Verdict.PASS, checks=(check,), tool_version="0.1.0", started_at="2026-11-29T02:40:00Z",
                          finished_at="2026-11-29T02:40:09Z", duration_s=9.0, repository={"commit": "ab" * 20},
                          policy=policy.describe(), extra={"shard": {"index": index, "count": 2}})  # fmt: skip

    merged = merge_results([shard(1, 5), shard(2, 3)], policy, {"peak": resolve("peak", Peak())})
    assert merged.checks[0].metrics["peak"] == 5

    class Summed(CheckerBase):
        shardable = True

    summed = merge_results([shard(1, 5), shard(2, 3)], policy, {"peak": resolve("peak", Summed())})
    assert summed.checks[0].metrics["peak"] == 8  # the default: numbers add up


def test_merge_unites_the_shards_narrowing_records(tmp_path: Path) -> None:
    from gatekeeper.checkers.base import CheckerBase, resolve, shard_record
    from gatekeeper.findings import CheckResult, GateResult, Narrowing, Status, Verdict
    from gatekeeper.merge import merge_results
    from gatekeeper.policy import load_policy

    class Split(CheckerBase):
        shardable = True

    inputs = ["a.py", "b.py"]
    policy = load_policy(tmp_path, {"split": {}})
    config = Narrowing("rules", "split.toml", 2, 'ignore = ["X1"]', "these rules are turned off")

    def shard(index: int) -> GateResult:
        own = Narrowing("line-comments", inputs[index - 1], 1, "1 × # noqa (line 1)", "silenced", (inputs[index - 1],), 1)
        check = CheckResult(
            name="split",
            status=Status.PASS,
            metrics={"shard": shard_record((index, 2), inputs, [inputs[index - 1]])},
            narrowing=(config, own),
        )
        return GateResult(verdict=Verdict.PASS, checks=(check,), tool_version="0.1.0", started_at="2026-11-29T02:40:00Z",
                          finished_at="2026-11-29T02:40:09Z", duration_s=9.0, repository={"commit": "ab" * 20},
                          policy=policy.describe(), extra={"shard": {"index": index, "count": 2}})  # fmt: skip

    merged = merge_results([shard(1), shard(2)], policy, {"split": resolve("split", Split())})
    records = merged.checks[0].narrowing
    assert records.count(config) == 1 and {n.source for n in records if n.kind == "line-comments"} == {"a.py", "b.py"}
