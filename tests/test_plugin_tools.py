"""A third-party checker's tools go through the same layer as the built-ins' without the plugin
doing anything for it: a Python tool run as the README's plugins run theirs (``[sys.executable,
"-m", TOOL]`` in the project root) runs isolated, its module located and refused when it comes
from the checkout, and the report names the file that ran."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import pythoncmd
from gatekeeper.auditrecord import build_record
from gatekeeper.checkers import installed
from gatekeeper.checkers.base import CheckContext, CheckerBase, Option, resolve
from gatekeeper.engine import RunRequest, run_checks
from gatekeeper.findings import CheckResult, Status, Verdict
from gatekeeper.policy import load_policy
from tests.helpers.cli import installed_options
from tests.helpers.env import clean_env
from tests.helpers.projects import BUILTINS, git_init, run_tool, write

#: a plugin as the README's "Writing a checker" leads one to write it: ruff run with ``python -m``
PLUGIN = '''
"""acme_ruff: a gatekeeper check running ruff as ``python -m ruff``."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers import installed
from gatekeeper.checkers.base import CheckContext, CheckerBase, Option
from gatekeeper.findings import CheckResult, Finding, Location, Severity, decide_status

_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\\d+):\\d+: (?P<rule>[A-Z]+\\d+) (?P<message>.*)$")


class AcmeRuff(CheckerBase):
    name = "acmeruff"
    options = {"command": Option("str_list", ["-m", "ruff"], "how python runs the tool")}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        args = [*section["command"], "check", "--no-cache", "--isolated", "--output-format", "concise", "."]
        done = ctx.run([sys.executable, *args])
        findings = tuple(
            Finding(m["rule"], Severity.LOW, m["message"], blocking=True, location=Location(m["path"], int(m["line"])))
            for m in map(_LINE.match, done.stdout.splitlines())
            if m
        )
        return CheckResult("acmeruff", decide_status(findings), f"{len(findings)} findings", "ruff", findings=findings)
'''

PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "acme-ruff"
version = "1.0"

[project.entry-points."gatekeeper.checkers"]
acmeruff = "acme_ruff:AcmeRuff"

[tool.hatch.build.targets.wheel]
packages = ["acme_ruff"]
"""

#: a pull request's own ``ruff`` package: says nothing, exits 0, and notes that it ran
PLANTED = "import pathlib, sys\npathlib.Path(sys.argv[0]).parents[2].joinpath('planted-ran').write_text('yes')\n"


def _module(tmp_path: Path) -> Any:
    import types

    module = types.ModuleType("acme_ruff")
    exec(compile(PLUGIN, "acme_ruff.py", "exec"), module.__dict__)  # noqa: S102  # the plugin's own code
    return module


def _project(root: Path, extra: str = "", audit: bool = False) -> Path:
    off = "".join(f"[checks.{name}]\nenabled = false\n" for name in BUILTINS)
    write(root, {
        "app.py": "import os\n",
        "ruff/__init__.py": "",
        "ruff/__main__.py": PLANTED,
        "tools/spell.py": PLANTED,
        "gatekeeper.toml": f'[reports]\nformats = ["json"]\n[audit]\nenabled = {str(audit).lower()}\n{off}{extra}',
    })  # fmt: skip
    git_init(root)
    return root


def _run(root: Path) -> CheckResult:
    checker = resolve("acmeruff", _module(root).AcmeRuff())
    policy = load_policy(root, {**installed_options(), "acmeruff": checker.policy_options()})
    result = run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", use_cache=False), {"acmeruff": checker})
    assert result.verdict is not Verdict.PASS
    (check,) = result.checks
    return check


def test_a_plugins_python_m_tool_is_never_the_checkouts_module_and_its_report_names_the_one_that_ran(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    check = _run(root)
    # the pull request's ruff/ package did not run in gatekeeper's process tree: the installed ruff did
    assert not (tmp_path / "planted-ran").exists()
    by_hand = run_tool(
        [sys.executable, "-I", "-m", "ruff", "check", "--no-cache", "--isolated", "--output-format", "concise", "."],
        root,
        check=False,
    )
    expected = sorted(re.findall(r"^([^:\s]+):\d+:\d+: ([A-Z]+\d+)", by_hand.stdout, re.M))
    assert ("app.py", "F401") in expected
    assert check.status is Status.FAIL
    assert sorted((f.location.path if f.location else "", f.rule_id) for f in check.findings) == expected
    origin = check.tool_origin
    assert origin["source"] == "gatekeeper" and origin["path"].startswith(sysconfig.get_path("purelib"))
    assert Path(origin["path"]).parent.name == "ruff" and check.tool_version  # ruff's distribution and version


@pytest.mark.parametrize("flags", [["-bWI"], ["-bXI"], ["-bW", "ignore"]])
def test_an_interpreter_option_whose_value_reads_like_a_flag_is_read_as_its_value(tmp_path: Path, flags: list[str]) -> None:
    """``-bWI`` is -b and the warning filter "I" (Python warns it is invalid), not -I: the command is
    not isolated, so the layer still adds -I and the checkout's ruff/ package does not run; ``-bW
    ignore`` runs ruff, not a script named ignore."""
    root = _project(tmp_path / "project", f"[checks.acmeruff]\ncommand = {json.dumps([*flags, '-m', 'ruff'])}\n")
    check = _run(root)
    assert not (tmp_path / "planted-ran").exists()
    assert check.status is Status.FAIL, check.error
    assert ("app.py", "F401") in [(f.location.path if f.location else "", f.rule_id) for f in check.findings]
    assert Path(check.tool_origin["path"]).parent.name == "ruff"
    assert check.tool_origin["path"].startswith(sysconfig.get_path("purelib"))


def test_a_plugins_python_script_inside_the_checkout_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path / "project", '[checks.acmeruff]\ncommand = ["tools/spell.py"]\n')
    check = _run(root)
    assert not (tmp_path / "planted-ran").exists()
    assert check.status is Status.ERROR and "the script tools/spell.py is a file of the project under review" in (
        check.error or ""
    )


class _Script(CheckerBase):
    """Runs bandit's console script by its name on PATH, as a plugin author would."""

    options: Mapping[str, Option] = {}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        done = ctx.run(["bandit", "-q", "-f", "json", "app.py"])
        return CheckResult("script", Status.PASS if done.returncode == 0 else Status.FAIL, "bandit", "bandit")


def test_a_console_script_a_plugin_runs_is_located_by_the_module_it_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip's console script runs ``from bandit.cli.main import main`` in its interpreter: that module is
    located (and would be refused from the checkout) and named in the report, as a ``-m`` tool is."""
    scripts = tmp_path / "bin"
    scripts.mkdir()
    (scripts / "bandit").write_text(f"#!{sys.executable}\nimport sys\nfrom bandit.cli.main import main\nsys.exit(main())\n")
    (scripts / "bandit").chmod(0o755)
    check = _bandit_by_name(tmp_path, monkeypatch, scripts)
    assert check.tool_origin["path"] == str(Path(sysconfig.get_path("purelib")) / "bandit" / "__init__.py")


def _bandit_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scripts: Path) -> CheckResult:
    """The ``_Script`` plugin's check, with ``scripts`` first on ``PATH``: it passes and names bandit's version."""
    monkeypatch.setenv("PATH", f"{scripts}{os.pathsep}{os.environ['PATH']}")
    root = _project(tmp_path / "project")
    checker = resolve("script", _Script())
    policy = load_policy(root, {**installed_options(), "script": checker.policy_options()})
    result = run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", use_cache=False), {"script": checker})
    (check,) = result.checks
    assert check.status is Status.PASS, check.error
    assert check.tool_version == run_tool([sys.executable, "-m", "bandit", "--version"], root).stdout.split()[1]
    return check


@pytest.mark.parametrize("folder", ["x" * 130, "a folder"])
def test_a_console_script_pip_relays_through_bin_sh_is_located_by_its_module_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    """pip writes ``#!/bin/sh`` and ``'''exec' PYTHON "$0" "$@"`` when the interpreter's path is longer
    than a ``#!`` line may be (a deep CI workspace) or holds a space: that script's module is located,
    and named in the report, as a ``#!PYTHON`` script's is."""
    from pip._internal.operations.install.wheel import PipScriptMaker
    from pip._vendor.distlib.scripts import enquote_executable

    env = tmp_path / folder / "env"  # gatekeeper's own virtualenv, reached by a path no #! line can name
    env.parent.mkdir()
    env.symlink_to(sys.prefix, target_is_directory=True)
    scripts = tmp_path / "bin"
    scripts.mkdir()
    maker = PipScriptMaker(None, str(scripts))
    maker.executable, maker.variants = enquote_executable(str(env / "bin" / "python3")), {""}  # as pip's is
    maker.make("bandit = bandit.cli.main:main")
    assert (scripts / "bandit").read_text().startswith("#!/bin/sh\n'''exec' ")
    check = _bandit_by_name(tmp_path, monkeypatch, scripts)
    assert Path(check.tool_origin["path"]).resolve() == Path(sysconfig.get_path("purelib"), "bandit", "__init__.py").resolve()
    assert check.tool_origin["python"] == str(env / "bin" / "python3")


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("#!/usr/bin/python3\nimport sys\nfrom codespell_lib import _script_main\n", ("/usr/bin/python3", "codespell_lib")),
        ("#!/bin/sh\nfrom x import y\n", None),
        ("#!/usr/bin/python3\nprint('no entry point')\n", None),
        ("\x7fELF", None),
    ],
)
def test_a_console_script_is_known_by_its_shebang_and_its_entry_point(tmp_path: Path, path: str, answer: Any) -> None:
    (tmp_path / "tool").write_text(path, encoding="utf-8")
    assert pythoncmd.console_script(str(tmp_path / "tool")) == answer


class _Boom(CheckerBase):
    options: Mapping[str, Option] = {}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        raise RuntimeError("the plugin's own bug")


def test_a_plugins_check_names_its_distribution_in_the_result_and_the_audit_record_even_when_it_raises(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    origin = {"distribution": "acme-boom", "version": "2.0", "entry_point": "acme_boom:Boom"}
    checker = replace(resolve("boom", _Boom()), origin=origin)
    policy = load_policy(root, {**installed_options(), "boom": checker.policy_options()})
    result = run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", use_cache=False), {"boom": checker})
    (check,) = result.checks
    assert (result.verdict, check.status) == (Verdict.ERROR, Status.ERROR) and "the plugin's own bug" in (check.error or "")
    assert check.to_dict()["checker"] == origin and CheckResult.from_dict(check.to_dict()).checker == origin
    assert build_record(result, {}, "check")["checks"]["boom"]["checker"] == origin
    assert installed()["lint"].origin == {}  # gatekeeper's own checkers say nothing more


class _Direct(CheckerBase):
    """Runs ruff with ``subprocess`` itself, around ``ctx.run``: no -I, no deadline, no vetting."""

    options: Mapping[str, Option] = {"around": Option("bool", True, "")}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        args = [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--exit-zero", "."]
        if section["around"]:
            subprocess.run(args, cwd=ctx.root, capture_output=True, check=True)
        else:
            ctx.run(args)
        return CheckResult("direct", Status.PASS, "clean", "ruff")


@pytest.mark.parametrize("around", [True, False])
def test_a_plugin_that_starts_its_tool_around_the_layer_is_an_error_naming_what_it_started(tmp_path: Path, around: bool) -> None:
    root = _project(tmp_path / "project", f"[checks.direct]\naround = {str(around).lower()}\n")
    checker = replace(resolve("direct", _Direct()), origin={"distribution": "acme-direct", "version": "1", "entry_point": "x:y"})
    policy = load_policy(root, {**installed_options(), "direct": checker.policy_options()})
    result = run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", use_cache=False), {"direct": checker})
    (check,) = result.checks
    if not around:
        assert (result.verdict, check.status) == (Verdict.PASS, Status.PASS)
        return
    assert (result.verdict, check.status) == (Verdict.ERROR, Status.ERROR)
    assert f"around CheckContext.run (subprocess.Popen: {sys.executable} -m ruff)" in (check.error or "")
    assert check.checker["distribution"] == "acme-direct"


def _ruff_around(root: Path) -> int:
    """ruff as a plugin's helper thread would run it: ``subprocess`` in the project root, without -I."""
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--exit-zero", "."], cwd=root, capture_output=True).returncode


class _Pooled(CheckerBase):
    """Runs ruff around ``ctx.run`` from a thread of its own making: a pool's, or a plain ``Thread``."""

    options: Mapping[str, Option] = {"pool": Option("bool", True, "")}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        if section["pool"]:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(2) as pool:
                list(pool.map(_ruff_around, [ctx.root]))
        else:
            import threading

            helper = threading.Thread(target=_ruff_around, args=(ctx.root,))
            helper.start()
            helper.join()
        return CheckResult("pooled", Status.PASS, "clean", "ruff")


@pytest.mark.parametrize("pool", [True, False])
def test_a_process_a_plugins_own_thread_starts_around_the_layer_is_seen_too(tmp_path: Path, pool: bool) -> None:
    """The checkout's ruff/ package ran (no -I, the project root first on sys.path) from a
    ThreadPoolExecutor's thread, and the check passed: such a thread bears no check's name."""
    root = _project(tmp_path / "project", f"[checks.pooled]\npool = {str(pool).lower()}\n")
    checker = replace(resolve("pooled", _Pooled()), origin={"distribution": "acme-pooled", "version": "1", "entry_point": "x:y"})
    policy = load_policy(root, {**installed_options(), "pooled": checker.policy_options()})
    result = run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", use_cache=False), {"pooled": checker})
    (check,) = result.checks
    assert (tmp_path / "planted-ran").exists()  # what the layer would have stopped, had the plugin used it
    assert (result.verdict, check.status) == (Verdict.ERROR, Status.ERROR)
    assert f"around CheckContext.run (subprocess.Popen: {sys.executable} -m ruff (from the thread " in (check.error or "")
    assert "which no check is named by)" in (check.error or "")


class _Unisolated(CheckerBase):
    """Runs ruff through ``ctx.run``, asking for it not to be isolated."""

    options: Mapping[str, Option] = {}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        ctx.run([sys.executable, "-m", "ruff", "check", "--exit-zero", "."], isolated=False)
        return CheckResult("unisolated", Status.PASS, "clean", "ruff")


def test_a_plugin_cannot_ask_the_layer_for_an_unisolated_command(tmp_path: Path) -> None:
    """isolated=False (the coverage check's test command) ran the checkout's ruff/ package for a
    third-party check, no -I, its module not located, and the check passed."""
    root = _project(tmp_path / "project")
    origin = {"distribution": "acme-unisolated", "version": "1", "entry_point": "x:y"}
    checker = replace(resolve("unisolated", _Unisolated()), origin=origin)
    policy = load_policy(root, {**installed_options(), "unisolated": checker.policy_options()})
    result = run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", use_cache=False), {"unisolated": checker})
    (check,) = result.checks
    assert not (tmp_path / "planted-ran").exists()
    assert (result.verdict, check.status) == (Verdict.ERROR, Status.ERROR)
    assert "asked CheckContext.run for a command that is not isolated (isolated=False)" in (check.error or "")


class _Spawned(CheckerBase):
    """Runs ruff around ``ctx.run`` from a ``multiprocessing`` process started by ``method``."""

    options: Mapping[str, Option] = {"method": Option("str", "spawn", "")}

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        import multiprocessing

        helper = multiprocessing.get_context(section["method"]).Process(target=_ruff_around, args=(ctx.root,))
        helper.start()
        helper.join()
        return CheckResult("spawned", Status.PASS, "clean", "ruff")


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_multiprocessing_process_a_plugin_starts_around_the_layer_is_seen_too(tmp_path: Path, method: str) -> None:
    """The checkout's ruff/ package ran from a process multiprocessing started with "spawn" or
    "forkserver", and the check passed: they call _posixsubprocess.fork_exec, which raises no audit event."""
    root = _project(tmp_path / "project", f'[checks.spawned]\nmethod = "{method}"\n')
    origin = {"distribution": "acme-spawned", "version": "1", "entry_point": "x:y"}
    checker = replace(resolve("spawned", _Spawned()), origin=origin)
    policy = load_policy(root, {**installed_options(), "spawned": checker.policy_options()})
    result = run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", use_cache=False), {"spawned": checker})
    (check,) = result.checks
    assert (tmp_path / "planted-ran").exists()  # what the layer would have stopped, had the plugin used it
    assert (result.verdict, check.status) == (Verdict.ERROR, Status.ERROR)
    assert f"around CheckContext.run (_posixsubprocess.fork_exec: {sys.executable} " in (check.error or "")


@pytest.mark.parametrize(
    ("args", "kind", "target", "isolated"),
    [
        (["python3", "-m", "ruff", "check"], "module", "ruff", False),
        (["python3", "-I", "-m", "ruff"], "module", "ruff", True),
        (["python3", "-IS", "-c", "print(1)", "-m", "x"], "code", "", True),
        (["python3", "-W", "ignore", "-mruff.x"], "module", "ruff.x", False),
        (["python3", "-X", "utf8", "tools/a.py", "-I"], "script", "tools/a.py", False),
        (["python3", "-"], "stdin", "", False),
        (["python3", "-bWI", "-m", "ruff"], "module", "ruff", False),  # -W's value "I", not -I
        (["python3", "-bXI", "-m", "ruff"], "module", "ruff", False),
        (["python3", "-bWc", "-m", "ruff"], "module", "ruff", False),
        (["python3", "-bW", "ignore", "-m", "ruff"], "module", "ruff", False),
    ],
)
def test_a_python_command_is_read_as_the_interpreter_reads_it(args: list[str], kind: str, target: str, isolated: bool) -> None:
    assert pythoncmd.read(args) == pythoncmd.PythonCommand(kind, target, isolated)
    assert pythoncmd.read(pythoncmd.isolate(args)).isolated
    assert pythoncmd.isolate(args)[1] == "-I" or isolated


def test_interpreters_are_known_by_name_or_by_the_file_they_are() -> None:
    assert all(pythoncmd.is_interpreter(p) for p in ("python", "/usr/bin/python3.11", "python3.13t", "pypy3"))
    assert pythoncmd.is_interpreter(sys.executable) and not pythoncmd.is_interpreter("/usr/bin/git")
    assert not pythoncmd.is_interpreter("ruff") and not pythoncmd.is_interpreter("python-config")


@pytest.mark.slow
def test_an_installed_plugin_distribution_gets_the_same_isolation_through_gatekeeper_check(tmp_path: Path) -> None:
    """The plugin above built into a wheel by its own backend, pip-installed into a virtualenv that
    sees gatekeeper, found through its entry point: the checkout's ruff/ never runs."""
    source = tmp_path / "acme-ruff"
    write(source, {"acme_ruff/__init__.py": PLUGIN, "pyproject.toml": PYPROJECT})
    env = clean_env()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    wheels = tmp_path / "w"
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True, env=env)
    (wheel,) = wheels.glob("acme_ruff-1.0-*.whl")
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], check=True, env=env)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (Path(site) / "zz_gatekeeper.pth").write_text(f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")
    root = _project(tmp_path / "project", "[checks.acmeruff]\nenabled = true\n", audit=True)
    done = subprocess.run([str(python), "-m", "gatekeeper", "check"], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert not (tmp_path / "planted-ran").exists()
    (check,) = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))["checks"]
    assert ("app.py", "F401") in [(f["location"]["path"], f["rule_id"]) for f in check["findings"]]
    assert check["tool"]["path"].startswith(sysconfig.get_path("purelib")) and check["tool"]["source"] == "gatekeeper"
    # which plugin decided, from its metadata, in the result and the audit record
    named = {"distribution": "acme-ruff", "version": "1.0", "entry_point": "acme_ruff:AcmeRuff"}
    record = json.loads((root / ".gatekeeper" / "audit.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert check["checker"] == named and record["checks"]["acmeruff"]["checker"] == named
