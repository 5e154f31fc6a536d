"""The plugin contract as a third party meets it, from the README alone: its example checker is
typed against gatekeeper's own types (``py.typed``), can be off by default, and its ``ToolInfo``,
rows and rules reach the SARIF and the HTML; built as a distribution of its own and installed in a
virtualenv, it runs through ``gatekeeper check`` like a built-in."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.base import CheckContext, CheckerBase, LoadedChecker, resolve
from gatekeeper.engine import RunRequest, run_checks
from gatekeeper.errors import PluginError, UsageError
from gatekeeper.findings import CheckResult, GateResult, Status, Verdict
from gatekeeper.policy import load_policy
from gatekeeper.reports.html import render_html
from gatekeeper.reports.sarif import render_sarif
from tests.helpers.cli import installed_options
from tests.helpers.env import clean_env
from tests.helpers.projects import BUILTINS

README = Path(__file__).resolve().parents[1] / "README.md"
PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "acme-gate"
version = "1.0"
requires-python = ">=3.10"

[project.entry-points."gatekeeper.checkers"]
todo = "acme_gate:TodoChecker"

[tool.hatch.build.targets.wheel]
packages = ["acme_gate"]
"""
#: three TODOs, one of them in a sub-package
PROJECT = {
    "app/__init__.py": "# TODO: a docstring\n",
    "app/core.py": "def f() -> int:\n    return 1  # TODO handle 2\n\n\n# TODO: more\n",
}


def readme_checker() -> str:
    """The README's example checker: the Python block of "Writing a checker" defining TodoChecker."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Writing a checker") :]
    section = section[: section.index("\n## ", 1)]
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "class TodoChecker" in b]
    return block


def readme_module() -> types.ModuleType:
    module = types.ModuleType("acme_gate")
    exec(compile(readme_checker(), "README.md", "exec"), module.__dict__)  # noqa: S102  # the README's own code
    return module


def write_project(root: Path, policy: str = "") -> Path:
    for rel, text in PROJECT.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    (root / "gatekeeper.toml").write_text(f'[reports]\nformats = ["json", "sarif", "html"]\n{off}{policy}', encoding="utf-8")
    if not (root / ".git").exists():  # the example reads ctx.project_files: git's view of the project
        subprocess.run(["git", "init", "-q", str(root)], check=True, env=clean_env())
    return root


def mypy_strict(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "acme_gate.py").write_text(source, encoding="utf-8")
    args = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy_cache"), "acme_gate.py"]
    return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=clean_env())


def test_the_readme_example_checker_passes_mypy_strict_against_gatekeepers_types(tmp_path: Path) -> None:
    assert (Path(sys.modules["gatekeeper"].__file__ or "").parent / "py.typed").is_file()
    done = mypy_strict(tmp_path, readme_checker())
    assert done.returncode == 0 and "Success: no issues found in 1 source file" in done.stdout, done.stdout + done.stderr
    # mypy really reads gatekeeper's types: a Finding given a str where it declares a bool is an error
    broken = mypy_strict(tmp_path, readme_checker().replace("blocking=over,", 'blocking="yes",'))
    assert broken.returncode == 1 and 'Argument "blocking" to "Finding" has incompatible type "str"' in broken.stdout


def test_a_checker_off_by_default_runs_only_where_a_policy_turns_it_on(tmp_path: Path) -> None:
    todo = resolve("todo", readme_module().TodoChecker())
    assert todo.enabled_by_default is False
    write_project(tmp_path)
    policy = load_policy(tmp_path, {**installed_options(), "todo": todo.policy_options()})
    assert policy.checks["todo"]["enabled"] is False
    with pytest.raises(UsageError, match="no check selected"):  # nothing else is enabled: a gate that looks at nothing
        run_checks(RunRequest(root=tmp_path, policy=policy, output_dir=tmp_path / "out"), {"todo": todo})
    write_project(tmp_path, "[checks.todo]\nenabled = true\nmax_todos = 3\n")
    policy = load_policy(tmp_path, {**installed_options(), "todo": todo.policy_options()})
    result = run_checks(RunRequest(root=tmp_path, policy=policy, output_dir=tmp_path / "out"), {"todo": todo})
    (check,) = result.checks
    assert (check.name, check.status, check.metrics["todos"], result.verdict) == ("todo", Status.PASS, 3, Verdict.PASS)
    # a checker on by default (the default) needs no policy at all
    assert resolve("plain", CheckerBase()).policy_options() == {}


def test_enabled_by_default_must_be_a_bool() -> None:
    class Vague(CheckerBase):
        enabled_by_default = "no"  # type: ignore[assignment]

    with pytest.raises(PluginError, match="checker 'vague': 'enabled_by_default' must be True or False"):
        resolve("vague", Vague())


def _todo_result(tmp_path: Path, todo: LoadedChecker, max_todos: int) -> tuple[GateResult, CheckResult]:
    write_project(tmp_path, f"[checks.todo]\nenabled = true\nmax_todos = {max_todos}\n")
    policy = load_policy(tmp_path, {**installed_options(), "todo": todo.policy_options()})
    result = run_checks(RunRequest(root=tmp_path, policy=policy, output_dir=tmp_path / "out"), {"todo": todo})
    return result, result.checks[0]


def test_the_readme_checkers_tool_rows_and_rules_reach_the_sarif_and_the_html(tmp_path: Path) -> None:
    todo = resolve("todo", readme_module().TodoChecker())
    result, check = _todo_result(tmp_path, todo, 1)
    assert check.status is Status.FAIL and len(check.findings) == 3 and all(f.fingerprint for f in check.findings)
    run = json.loads(render_sarif(result, checkers={"todo": todo}))["runs"][0]
    assert run["tool"]["extensions"] == [{"name": "acme-todo", "informationUri": "https://acme.example/todo", "version": "1.0"}]
    (rule,) = run["tool"]["driver"]["rules"]
    assert rule["helpUri"] == "https://acme.example/rules/ACME1" and "quality" in rule["properties"]["tags"]
    assert sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]) == [
        "app/__init__.py",
        "app/core.py",
        "app/core.py",
    ]
    html = render_html(result, checkers={"todo": todo})
    assert re.search(r"TODO comments</t[dh]>\s*<td[^>]*>3</td>\s*<td[^>]*>≤ 1</td>", html), html[:2000]


def test_a_tool_named_only_by_its_tool_info_still_gets_its_sarif_extension(tmp_path: Path) -> None:
    """A result that does not name its tool: the checker's ToolInfo names it, with its URI."""

    module = readme_module()

    class Anonymous(module.TodoChecker):  # type: ignore[misc,name-defined]
        def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
            from dataclasses import replace

            return replace(super().run(section, ctx), tool_name="", tool_version="")

    todo = resolve("todo", Anonymous())
    result, _ = _todo_result(tmp_path, todo, 5)
    run = json.loads(render_sarif(result, checkers={"todo": todo}))["runs"][0]
    assert run["tool"]["extensions"] == [{"name": "acme-todo", "informationUri": "https://acme.example/todo"}]


@pytest.mark.slow
def test_a_third_party_checker_built_and_installed_in_a_venv_runs_through_check_html_and_sarif(tmp_path: Path) -> None:
    """The README's checker as a real distribution: built into a wheel by its own build backend,
    installed by pip into a fresh virtualenv that sees gatekeeper, found through its entry point."""
    source = tmp_path / "acme-gate"
    (source / "acme_gate").mkdir(parents=True)
    (source / "acme_gate" / "__init__.py").write_text(readme_checker(), encoding="utf-8")
    (source / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    wheels = tmp_path / "wheels"
    env = clean_env()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True, env=env)
    (wheel,) = wheels.glob("acme_gate-1.0-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], check=True, env=env)
    # gatekeeper and its tools come from this suite's environment, the checker from the venv's own site-packages
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (Path(site) / "zz_gatekeeper.pth").write_text(f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")

    def gatekeeper(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(python), "-m", "gatekeeper", *args], cwd=project, env=env, capture_output=True, text=True)

    project = write_project(tmp_path / "project")
    listed = gatekeeper("plugins")
    assert re.search(r"^todo\s+acme-gate 1\.0\s+acme_gate:TodoChecker\n\s+TODO comments \(off by default\)$", listed.stdout, re.M)
    off = gatekeeper("check", "--no-audit")
    assert off.returncode == 2 and "no check selected" in off.stderr, off.stdout + off.stderr
    write_project(project, "[checks.todo]\nenabled = true\nmax_todos = 2\n")
    done = gatekeeper("check", "--no-audit")
    assert done.returncode == 1, done.stdout + done.stderr
    reports = project / "gatekeeper-reports"
    data = json.loads((reports / "gatekeeper.json").read_text(encoding="utf-8"))
    (check,) = data["checks"]
    assert (check["name"], check["status"], check["metrics"]["todos"], len(check["findings"])) == ("todo", "fail", 3, 3)
    run = json.loads((reports / "gatekeeper.sarif").read_text(encoding="utf-8"))["runs"][0]
    assert run["tool"]["extensions"][0]["informationUri"] == "https://acme.example/todo" and len(run["results"]) == 3
    html = (reports / "gatekeeper.html").read_text(encoding="utf-8")
    assert re.search(r"TODO comments</t[dh]>\s*<td[^>]*>3</td>\s*<td[^>]*>≤ 2</td>", html)
    assert "https://acme.example/rules/ACME1" in run["tool"]["driver"]["rules"][0]["helpUri"]


class _Counter(CheckerBase):
    """A checker that says what it looked at: its evidence is a file of its own."""

    options: Mapping[str, Any] = {}

    def __init__(self, name: str, evidence: dict[Any, Any] | None = None, environment: bool = False) -> None:
        self.name = name
        self.files = {"seen.txt": b"3 files\n"} if evidence is None else evidence
        self.inspects_environment = environment  # type: ignore[misc]

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        return CheckResult(name=self.name, status=Status.PASS, summary="looked")

    def evidence(self, result: CheckResult) -> dict[str, bytes]:
        return self.files


def test_a_checkers_evidence_goes_into_the_bundle_under_its_own_name_and_nowhere_else(tmp_path: Path) -> None:
    from gatekeeper.bundle import evidence_files

    checkers = {
        "counter": resolve("counter", _Counter("counter")),
        "escape": resolve("escape", _Counter("escape", {"../gatekeeper.json": b"forged"})),
        "reports": resolve("reports", _Counter("reports", {"gatekeeper.json": b"forged"})),
        "typed": resolve("typed", _Counter("typed", {"notes.txt": "a str, not bytes"})),
    }
    write_project(tmp_path)
    policy = load_policy(tmp_path, {**installed_options(), **{n: c.policy_options() for n, c in checkers.items()}})
    result = run_checks(RunRequest(root=tmp_path, policy=policy, output_dir=tmp_path / "out"), checkers)
    taken = {"reports/gatekeeper.json": b"{}"}
    assert evidence_files(result, taken, checkers) == {"counter/seen.txt": b"3 files\n"}


def test_a_checker_that_inspects_the_environment_puts_the_interpreter_it_saw_in_the_result(tmp_path: Path) -> None:
    write_project(tmp_path)
    for environment in (False, True):
        checkers = {"counter": resolve("counter", _Counter("counter", environment=environment))}
        policy = load_policy(tmp_path, {**installed_options(), "counter": checkers["counter"].policy_options()})
        result = run_checks(RunRequest(root=tmp_path, policy=policy, output_dir=tmp_path / "out"), checkers)
        assert ("environment" in result.extra) is environment
        if environment:
            assert result.extra["environment"]["python"] and result.extra["environment"]["scope"] == "all"


def test_trends_must_be_a_tuple_of_trend() -> None:
    class Loose(CheckerBase):
        trends = ("coverage",)  # type: ignore[assignment]

    with pytest.raises(PluginError, match="checker 'loose': 'trends' must be a tuple of Trend"):
        resolve("loose", Loose())


@pytest.mark.parametrize("value", [["gatekeeper.engine"], ("gatekeeper.engine", 3), ("",), "gatekeeper.engine"])
def test_run_imports_must_be_a_tuple_of_module_names(value: Any) -> None:
    class Eager(CheckerBase):
        options: Mapping[str, Any] = {}
        run_imports = value

    with pytest.raises(PluginError, match="checker 'eager': 'run_imports' must be a tuple of module names"):
        resolve("eager", Eager())
    assert resolve("plain", type("Plain", (CheckerBase,), {"options": {}})()).run_imports == ()


def test_the_history_pages_series_are_read_where_each_checkers_trends_say() -> None:
    """No check name in the history page: each series comes from the installed checker whose
    ``trends`` name it (coverage's total and minimum, the vulnerabilities, bandit's counts, denied licenses)."""
    from gatekeeper.history_run import TREND_SERIES as _METRICS
    from gatekeeper.history_run import trend_values as _key_values

    checks = {
        "coverage": {"metrics": {"total": 91.5, "thresholds": {"min_total": 80}}},
        "security": {"metrics": {"counts": {"high": 1, "medium": 2, "low": 0}}},
        "dependencies": {"metrics": {"vulnerabilities": 3}},
        "licenses": {"metrics": {"packages": 12}},  # counted, none denied: 0, not a gap
    }
    values = dict(zip(_METRICS, _key_values(checks), strict=True))
    assert values == {"coverage": 91.5, "vulnerabilities": 3, "sec_high": 1, "sec_medium": 2, "sec_low": 0, "denied": 0,
                      "coverage_min": 80}  # fmt: skip
    assert set(_key_values({})) == {None}  # a run without those checks is a gap in every chart
