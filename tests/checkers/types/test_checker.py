"""The types check runs the real mypy on the project's environment and agrees with mypy run by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.types import TypesChecker
from gatekeeper.errors import ToolError, ToolMissing
from gatekeeper.findings import Severity, Status
from tests.helpers.projects import section, write
from tests.helpers.pythons import other_pythons

PROJECT = {
    "pyproject.toml": (
        '[project]\nname = "demo"\nversion = "0"\n'
        '[tool.mypy]\nfiles = ["src"]\nwarn_unused_ignores = true\ndisable_error_code = ["import-untyped"]\n'
        '[[tool.mypy.overrides]]\nmodule = ["demo.legacy"]\nignore_errors = true\n'
    ),
    "src/demo/__init__.py": "",
    "src/demo/core.py": (
        "def f(x: int) -> str:\n    return x\n\n\n"
        "def g(y):\n    return y + 1\n\n\n"
        "reveal_type(f)\n"
        'z: int = "a"  # type: ignore[assignment]\n'
    ),
    "src/demo/legacy.py": 'def h() -> int:\n    return "no"\n',
    "scripts/outside.py": 'a: int = "not checked: not in files"\n',
}


def mypy_by_hand(root: Path, *args: str) -> list[dict[str, Any]]:
    """``mypy -O json`` in the project, as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "-O", "json", "--no-error-summary", "--cache-dir", str(root.parent / "hand-cache"), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def keys(items: Any) -> set[tuple[str, str, int]]:
    return {(str(i["code"]), i["file"], i["line"]) for i in items}


def finding_keys(result: Any) -> set[tuple[str, str, int]]:
    return {(f.rule_id, f.location.path, f.location.line) for f in result.findings}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write(tmp_path / "proj", PROJECT)


def test_findings_equal_mypy_run_by_hand_with_the_projects_config(project: Path, make_ctx: Any, tmp_path: Path) -> None:
    result = TypesChecker().run(section(TypesChecker), make_ctx(project, cache_dir=tmp_path / "cache"))
    by_hand = mypy_by_hand(project)
    assert finding_keys(result) == keys(by_hand)
    assert ("return-value", "src/demo/core.py", 2) in keys(by_hand)
    assert not any(i["file"].startswith("scripts/") or i["file"].endswith("legacy.py") for i in by_hand)  # config honoured
    notes = [f for f in result.findings if f.properties["mypy_severity"] == "note"]
    assert notes and all(f.severity is Severity.INFO and not f.blocking for f in notes)
    errors = [f for f in result.findings if f.properties["mypy_severity"] == "error"]
    assert errors and all(f.blocking for f in errors) and result.status is Status.FAIL
    assert result.metrics["errors"] == len(errors) and result.metrics["config"] == "pyproject.toml"
    shown = {(n.kind, n.detail) for n in result.narrowing}
    assert ("option", 'disable_error_code = ["import-untyped"]') in shown
    (override,) = [n for n in result.narrowing if n.detail.startswith("module = ")]
    assert override.detail == "module = demo.legacy: ignore_errors = true" and override.files == ("src/demo/legacy.py",)
    assert [n.detail for n in result.narrowing if n.kind == "line-comments"] == ["1 × # type: ignore (line 10)"]
    assert ("exclude", 'files = ["src"]') in shown  # scripts/outside.py is not checked
    assert not (project / ".mypy_cache").exists()  # mypy's cache lives under gatekeeper's
    assert any((tmp_path / "cache" / "types").iterdir())


def test_a_mypy_ini_without_a_mypy_section_is_still_the_configuration_mypy_reads(tmp_path: Path, make_ctx: Any) -> None:
    """mypy takes mypy.ini whatever it holds (a [mypy] section is required of setup.cfg and
    pyproject.toml only): its per-module sections apply, and setup.cfg's [mypy] does not."""
    files = {
        "mypy.ini": "[mypy-app]\ndisallow_untyped_defs = True\n",
        "setup.cfg": "[mypy]\nwarn_unused_ignores = True\n",
        "app.py": "def f(x):\n    return x\n",
    }
    root = write(tmp_path / "proj", files)
    by_hand = mypy_by_hand(root, ".")
    assert keys(by_hand) == {("no-untyped-def", "app.py", 1)}
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert finding_keys(result) == keys(by_hand) and result.status is Status.FAIL
    assert result.metrics["config"] == "mypy.ini"


def test_settings_mypy_sets_aside_are_named_as_mypy_names_them(tmp_path: Path, make_ctx: Any) -> None:
    files = {
        "pyproject.toml": '[tool.mypy]\npython_version = "3.8"\nwarn_unused_ignore = true\n',
        "pkg/__init__.py": 'x: int = "a"\n',
    }
    root = write(tmp_path / "proj", files)
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "hand-cache"), "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    warned = [line for line in by_hand.stderr.splitlines() if line.startswith("pyproject.toml: [mypy]: ")]
    assert len(warned) == 2 and any("python_version" in w for w in warned) and by_hand.returncode == 1
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.metrics["config_warnings"] == warned
    assert result.metrics["errors"] == 1 and warned[0] in result.summary and "and 1 more" in result.summary
    clean = write(tmp_path / "clean", {**files, "pyproject.toml": "[tool.mypy]\nwarn_unused_ignores = true\n"})
    quiet = TypesChecker().run(section(TypesChecker), make_ctx(clean))
    assert quiet.metrics["config_warnings"] == [] and quiet.summary == "1 error, 0 notes"


def test_strict_and_paths_equal_mypy_with_the_same_options(project: Path, make_ctx: Any) -> None:
    loose = TypesChecker().run(section(TypesChecker, paths=["src"]), make_ctx(project))
    strict = TypesChecker().run(section(TypesChecker, paths=["src"], strict=True), make_ctx(project))
    assert finding_keys(strict) == keys(mypy_by_hand(project, "--strict", "src"))
    assert ("no-untyped-def", "src/demo/core.py", 5) in finding_keys(strict) - finding_keys(loose)
    scripts = TypesChecker().run(section(TypesChecker, paths=["scripts"]), make_ctx(project))
    assert finding_keys(scripts) == keys(mypy_by_hand(project, "scripts")) == {("assignment", "scripts/outside.py", 1)}


def test_max_errors_tolerates_that_many(project: Path, make_ctx: Any) -> None:
    first = TypesChecker().run(section(TypesChecker), make_ctx(project))
    errors = first.metrics["errors"]
    assert TypesChecker().run(section(TypesChecker, max_errors=errors), make_ctx(project)).status is Status.PASS
    assert TypesChecker().run(section(TypesChecker, max_errors=errors - 1), make_ctx(project)).status is Status.FAIL


def test_fingerprints_survive_line_shifts(project: Path, make_ctx: Any) -> None:
    before = TypesChecker().run(section(TypesChecker), make_ctx(project))
    core = project / "src/demo/core.py"
    core.write_text("import os\n\nprint(os.sep)\n\n" + core.read_text(encoding="utf-8"), encoding="utf-8")
    after = TypesChecker().run(section(TypesChecker), make_ctx(project))
    assert {f.fingerprint for f in before.findings} == {f.fingerprint for f in after.findings}


def test_gatekeepers_mypy_checks_a_project_environment_that_has_none(project: Path, make_ctx: Any, bare_python: str) -> None:
    (project / "gatekeeper.toml").write_text(f'[environment]\npython = "{bare_python}"\n', encoding="utf-8")
    result = TypesChecker().run(section(TypesChecker), make_ctx(project))
    assert finding_keys(result) == keys(mypy_by_hand(project, "--python-executable", bare_python))
    assert f"--python-executable {bare_python}" in result.metrics["command"]
    with pytest.raises(ToolMissing, match=r"mypy.*gatekeeper\[types\]"):
        TypesChecker().run(section(TypesChecker), make_ctx(project, tool_python=bare_python))


def test_a_path_outside_the_project_is_refused(project: Path, make_ctx: Any) -> None:
    with pytest.raises(ToolError, match="outside the project"):
        TypesChecker().run(section(TypesChecker, paths=["../elsewhere"]), make_ctx(project))


def test_a_broken_mypy_config_is_an_error_not_a_pass(tmp_path: Path, make_ctx: Any) -> None:
    # json is installed but defines no plugin entry point: mypy stops with an error
    root = write(tmp_path / "p", {"mypy.ini": "[mypy]\nplugins = json\n", "m.py": "x: int = 1\n"})
    with pytest.raises(ToolError, match="mypy failed"):
        TypesChecker().run(section(TypesChecker), make_ctx(root))


def test_a_syntax_error_stops_mypy_and_is_an_error_not_findings(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"bad.py": "def f(:\n    pass\n", "ok.py": 'x: int = "a"\n'})
    with pytest.raises(ToolError, match=r"blocking error.*bad\.py:1.*\[syntax\]"):
        TypesChecker().run(section(TypesChecker), make_ctx(root))


def test_a_blocking_error_over_the_whole_root_says_to_name_the_paths(tmp_path: Path, make_ctx: Any) -> None:
    """pluggy 1.5.0's layout: two example folders each with a setup.py, no mypy `files`. ``mypy .`` by
    hand stops at "Duplicate module named setup" too; the error says how to point mypy at the code."""
    files = {
        "docs/examples/a/setup.py": "x = 1\n",
        "docs/examples/b/setup.py": "y = 2\n",
        "src/pkg/__init__.py": 'z: int = "a"\n',
    }
    root = write(tmp_path / "p", files)
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "hand"), "."], cwd=root, capture_output=True, text=True
    )
    assert by_hand.returncode == 2 and 'Duplicate module named "setup"' in by_hand.stdout
    with pytest.raises(ToolError) as stopped:
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert 'Duplicate module named "setup"' in str(stopped.value)
    assert 'set checks.types.paths to the project\'s own code, e.g. ["src"]' in str(stopped.value)
    result = TypesChecker().run(section(TypesChecker, paths=["src"]), make_ctx(root))
    assert [(f.location.path, f.rule_id) for f in result.findings] == [("src/pkg/__init__.py", "assignment")]
    # a blocking error in code the policy named is the code's own: no advice about paths
    write(root, {"src/pkg/broken.py": "def f(:\n"})
    with pytest.raises(ToolError) as broken:
        TypesChecker().run(section(TypesChecker, paths=["src"]), make_ctx(root))
    assert "[syntax]" in str(broken.value) and "checks.types.paths" not in str(broken.value)


def test_the_whole_root_advice_names_the_packages_of_a_flat_layout(tmp_path: Path, make_ctx: Any) -> None:
    """referencing 0.35.1's layout: the package at the root, a noxfile.py beside it and another in a
    git submodule's folder. ``mypy .`` by hand stops at "Duplicate module named noxfile"; the advice
    names the package there is, not a src folder there is not."""
    files = {
        "noxfile.py": "x = 1\n",
        "suite/noxfile.py": "y = 2\n",
        "referencing/__init__.py": 'z: int = "a"\n',
        "referencing/tests/__init__.py": "",
        "docs/__init__.py": "",
    }
    root = write(tmp_path / "p", files)
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "hand"), "."], cwd=root, capture_output=True, text=True
    )
    assert by_hand.returncode == 2 and 'Duplicate module named "noxfile"' in by_hand.stdout
    with pytest.raises(ToolError) as stopped:
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert 'set checks.types.paths to the project\'s own code, e.g. ["referencing"])' in str(stopped.value)
    result = TypesChecker().run(section(TypesChecker, paths=["referencing"]), make_ctx(root))
    assert [(f.location.path, f.rule_id) for f in result.findings] == [("referencing/__init__.py", "assignment")]


def test_the_error_named_is_the_blocking_one_not_an_error_mypy_met_before_it(tmp_path: Path, make_ctx: Any) -> None:
    """Mako 1.3.5's examples/bench: mypy reports the imports it could not follow, then stops at a
    module found twice under two names, and prints that one last with no line (-1)."""
    files = {
        "examples/bench/basic.py": "def f():\n    from genshi.template import TemplateLoader\n\n\ndef g():\n"
        "    from django import template, templatetags\n",
        "examples/bench/django/templatetags/__init__.py": "",
        "examples/bench/django/templatetags/bench.py": "from django.template import Library\n",
    }
    root = write(tmp_path / "p", files)
    mypy = [sys.executable, "-m", "mypy", "-O", "json", "--cache-dir", str(tmp_path / "hand"), "."]
    by_hand = subprocess.run(mypy, cwd=root, capture_output=True, text=True)
    reported = [json.loads(line) for line in by_hand.stdout.splitlines()]
    assert by_hand.returncode == 2 and [r["code"] for r in reported] == ["import-not-found", "import-not-found", None]
    with pytest.raises(ToolError) as stopped:
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert (
        "blocking error and checked nothing else: examples/bench/django/templatetags/__init__.py: Source file found twice "
        'under different module names: "templatetags" and "django.templatetags" [error]'
    ) in str(stopped.value)


def test_mypys_unused_section_note_is_a_note_not_a_crash(tmp_path: Path, make_ctx: Any) -> None:
    """With ``warn_unused_configs`` mypy prints ``setup.cfg: note: unused section(s): ...`` as text even
    under ``-O json``; a project configured that way (click 8.1.7 is) gets its errors, plus that note."""
    cfg = "[mypy]\nfiles = m.py\nwarn_unused_configs = True\n\n[mypy-nosuchmodule.*]\nignore_missing_imports = True\n"
    root = write(tmp_path / "p", {"setup.cfg": cfg, "m.py": 'x: int = "a"\n'})
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "hand-cache")], cwd=root, capture_output=True, text=True
    )
    assert "setup.cfg: note: unused section(s): [mypy-nosuchmodule.*]" in by_hand.stdout.splitlines()
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.FAIL
    assert (result.metrics["errors"], result.metrics["notes"]) == (1, 1)
    note = next(f for f in result.findings if f.location.path == "setup.cfg")
    assert note.message == "unused section(s): [mypy-nosuchmodule.*]"
    assert (note.severity, note.blocking, note.location.line) == (Severity.INFO, False, None)


def test_text_mypy_did_not_print_for_its_configuration_is_still_refused() -> None:
    from gatekeeper.checkers.types import parse_output

    note = "setup.cfg: note: unused section(s): [mypy-a.*]"
    assert parse_output(note, "setup.cfg")[0]["message"] == "unused section(s): [mypy-a.*]"
    for config, text in ((None, note), ("mypy.ini", note), ("setup.cfg", "setup.cfg: note: something else")):
        with pytest.raises(ToolError, match="not its JSON report"):
            parse_output(text, config)


def test_a_file_name_mypy_cannot_take_is_named_in_the_error(tmp_path: Path, make_ctx: Any) -> None:
    """mypy crashes ("INTERNAL ERROR") on a ``.py`` file whose name is not UTF-8, without naming it:
    the check's error (exit 3) names the file, so the user knows what to rename or leave out."""
    root = write(tmp_path / "p", {"app.py": "x: int = 1\n"})
    (Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9.py"))).write_text('y: int = "s"\n', encoding="utf-8")
    by_hand = subprocess.run([sys.executable, "-m", "mypy", "."], cwd=root, capture_output=True, text=True, timeout=300)
    assert by_hand.returncode == 2 and "INTERNAL ERROR" in by_hand.stdout + by_hand.stderr
    assert "caf" not in by_hand.stdout + by_hand.stderr  # mypy does not say which file
    with pytest.raises(ToolError) as caught:
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    message = str(caught.value)
    assert "mypy failed (exit 2)" in message and "caf\\xe9.py" in message and "INTERNAL ERROR" in message


def test_mypy_refusing_a_missing_file_is_quoted_without_its_verbose_log(tmp_path: Path, make_ctx: Any) -> None:
    """A configuration whose ``files`` names a folder the checkout lacks (a ``tools`` left out of an
    sdist) stops mypy with one line on stderr. The check runs mypy with ``-v`` (to learn what it
    read), and the error quotes mypy's own line, not the verbose log around it."""
    root = write(
        tmp_path / "p",
        {"pyproject.toml": '[tool.mypy]\nfiles = "src,tools"\n', "src/pkg/__init__.py": "", "src/pkg/a.py": "x: int = 1\n"},
    )
    by_hand = subprocess.run([sys.executable, "-m", "mypy"], cwd=root, capture_output=True, text=True, timeout=300)
    said = "tools: error: Cannot read file: No such file or directory"
    assert by_hand.returncode == 2 and said in by_hand.stdout + by_hand.stderr
    with pytest.raises(ToolError) as caught:
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert str(caught.value) == f"mypy failed (exit 2): {said}"


def test_the_whole_root_advice_names_namespace_packages_and_the_workspace_members_code(tmp_path: Path, make_ctx: Any) -> None:
    """jaraco.collections 5.2.1 as a uv workspace with jaraco.text 4.3.0 as its member: both ship the
    namespace package ``jaraco`` (no ``__init__.py``) and a mypy.ini with ``explicit_package_bases``;
    with a ``conftest.py`` in the root and in the member (jaraco.text ships one), ``mypy .`` by hand stops
    at "Duplicate module named conftest" (the real pair stopped at the member's package found twice, as
    ``jaraco.text`` installed and as ``text``). The
    advice named a ``src`` folder the project does not have; it names the namespace packages, the
    member's too, and mypy given them checks the code."""
    files = {
        "pyproject.toml": '[project]\nname = "jaraco.collections"\nversion = "1"\n\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "mypy.ini": "[mypy]\nexplicit_package_bases = True\n",
        "jaraco/classes/__init__.py": 'z: int = "a"\n',
        "tests/test_collections.py": "",
        "conftest.py": "collect_ignore = []\n",
        "packages/jaraco.text/conftest.py": "collect_ignore = []\n",
        "packages/jaraco.text/pyproject.toml": '[project]\nname = "jaraco.text"\nversion = "1"\n',
        "packages/jaraco.text/jaraco/text/__init__.py": "y: str = 1\n",
    }
    root = write(tmp_path / "p", files)
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "hand"), "."], cwd=root, capture_output=True, text=True
    )
    assert by_hand.returncode == 2 and 'Duplicate module named "conftest"' in by_hand.stdout
    with pytest.raises(ToolError) as stopped:
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    advised = '["jaraco", "packages/jaraco.text/jaraco"]'
    assert f"set checks.types.paths to the project's own code, e.g. {advised})" in str(stopped.value)
    result = TypesChecker().run(section(TypesChecker, paths=["jaraco", "packages/jaraco.text/jaraco"]), make_ctx(root))
    assert sorted((f.location.path, f.rule_id) for f in result.findings) == [
        ("jaraco/classes/__init__.py", "assignment"),
        ("packages/jaraco.text/jaraco/text/__init__.py", "assignment"),
    ]


#: mcp 2.3.0's shape: a src layout whose ``src/mcp-types`` is a workspace member, and an ``examples``
#: member holding the member ``examples/snippets``, whose ``servers`` package a test imports by its
#: full name (``from examples.snippets.servers import ...``)
NESTED_MEMBERS = {
    "pyproject.toml": '[project]\nname = "mcp"\nversion = "1"\n\n'
    '[tool.uv.workspace]\nmembers = ["src/mcp-types", "examples", "examples/snippets"]\n',
    "src/mcp/__init__.py": 'a: int = "x"\n',
    "src/mcp-types/pyproject.toml": '[project]\nname = "mcp-types"\nversion = "1"\n',
    "src/mcp-types/mcp_types/__init__.py": 'b: int = "x"\n',
    "examples/pyproject.toml": '[project]\nname = "mcp-example-stories"\nversion = "1"\n',
    "examples/stories/__init__.py": "",
    "examples/snippets/pyproject.toml": '[project]\nname = "mcp-snippets"\nversion = "1"\n',
    "examples/snippets/servers/__init__.py": "",
    "examples/snippets/servers/basic_prompt.py": 'c: int = "x"\n',
    "tests/test_integration.py": "from examples.snippets.servers import basic_prompt\n",
}


def test_the_whole_root_advice_names_no_folder_inside_another_it_names(tmp_path: Path, make_ctx: Any) -> None:
    """mcp 2.3.0: ``mypy .`` by hand stops at a snippet found under two module names. The advice named
    ``src`` and the member ``src/mcp-types/mcp_types`` inside it, ``examples/snippets`` and the member's
    ``examples/snippets/servers`` inside that: mypy given them stopped again (a module found twice), so
    the advice led to the same error. It names the outer folders alone, and mypy given them checks the
    code of every member."""
    root = write(tmp_path / "p", NESTED_MEMBERS)
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "hand"), "."], cwd=root, capture_output=True, text=True
    )
    assert by_hand.returncode == 2 and "found twice under different module names" in by_hand.stdout
    with pytest.raises(ToolError) as stopped:
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    advised = ["src", "examples/snippets", "examples/stories"]
    assert f"set checks.types.paths to the project's own code, e.g. {json.dumps(advised)})" in str(stopped.value)
    result = TypesChecker().run(section(TypesChecker, paths=advised), make_ctx(root))
    assert sorted((f.location.path, f.rule_id) for f in result.findings) == [
        ("examples/snippets/servers/basic_prompt.py", "assignment"),
        ("src/mcp-types/mcp_types/__init__.py", "assignment"),
        ("src/mcp/__init__.py", "assignment"),
    ]


def _mypy_oldest_target() -> tuple[int, int]:
    from mypy.defaults import PYTHON3_VERSION_MIN

    return (PYTHON3_VERSION_MIN[0], PYTHON3_VERSION_MIN[1])


BY_VERSION = "import sys\n\nif sys.version_info[:2] == ({0}, {1}):\n    a: int = 'environment'\nelse:\n    b: int = 'tool'\n"


def test_mypy_targets_the_python_of_the_environment_it_checks(tmp_path: Path, make_ctx: Any) -> None:
    # mypy targets the Python it runs on unless told otherwise: from a 3.11 tool interpreter over a
    # 3.12 environment it called PEP 695 generics a syntax error that the project's own mypy does not
    usable = {v: p for v, p in other_pythons().items() if v >= _mypy_oldest_target()}
    if not usable:
        pytest.skip("no interpreter of another Python version that mypy can target")
    (major, minor), other = sorted(usable.items())[-1]
    venv = tmp_path / "env"
    subprocess.run([other, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    env_python = str(venv / "bin" / "python")
    root = write(
        tmp_path / "proj",
        {"app.py": BY_VERSION.format(major, minor), "gatekeeper.toml": f'[environment]\npython = "{env_python}"\n'},
    )
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    by_hand = mypy_by_hand(root, "--python-executable", env_python, "--python-version", f"{major}.{minor}", "app.py")
    assert finding_keys(result) == keys(by_hand) == {("assignment", "app.py", 4)}
    assert f"--python-version {major}.{minor}" in result.metrics["command"]
    # the project's configuration names its own target: it is mypy's, as by hand
    (root / "mypy.ini").write_text(f"[mypy]\npython_version = {sys.version_info[0]}.{sys.version_info[1]}\n", encoding="utf-8")
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert finding_keys(result) == {("assignment", "app.py", 6)}
    assert "--python-version" not in result.metrics["command"]

    # an environment older than the oldest Python mypy can target: mypy keeps its own default
    older = {v: p for v, p in other_pythons().items() if v < _mypy_oldest_target()}
    if older:
        (major, minor), other = sorted(older.items())[-1]
        old_venv = tmp_path / "old-env"
        subprocess.run([other, "-m", "venv", "--without-pip", str(old_venv)], check=True, timeout=120)
        (root / "mypy.ini").unlink()
        (root / "app.py").write_text(BY_VERSION.format(major, minor), encoding="utf-8")
        (root / "gatekeeper.toml").write_text(f'[environment]\npython = "{old_venv / "bin" / "python"}"\n', encoding="utf-8")
        result = TypesChecker().run(section(TypesChecker), make_ctx(root))
        assert finding_keys(result) == {("assignment", "app.py", 6)}
        assert "--python-version" not in result.metrics["command"]


def test_mypys_oldest_target_is_not_asked_when_mypy_runs_on_the_environments_python(
    tmp_path: Path, make_ctx: Any, monkeypatch: Any
) -> None:
    """mypy on gatekeeper's own interpreter over an environment of the same X.Y targets that Python
    by itself: mypy's oldest target is not asked, an import of mypy in a process of its own that was
    30-40 ms of CPU before mypy could start (cachetools 8.0.3, jaraco.functools 4.6.0, whose
    configurations set no python_version). The environment's X.Y is still asked; the findings are
    mypy's by hand."""
    from gatekeeper import process

    venv = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    env_python = str(venv / "bin" / "python")
    here = sys.version_info[:2]
    root = write(
        tmp_path / "proj", {"app.py": BY_VERSION.format(*here), "gatekeeper.toml": f'[environment]\npython = "{env_python}"\n'}
    )
    ran: list[list[str]] = []
    real_run = process.run

    def run(args: Any, **kwargs: Any) -> Any:
        ran.append([str(a) for a in args])
        return real_run(args, **kwargs)

    monkeypatch.setattr(process, "run", run)
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert [a for a in ran if a[0] == env_python and a[-1] == "import sys; print(*sys.version_info[:2])"]
    assert not [a for a in ran if any("PYTHON3_VERSION_MIN" in part for part in a)]
    by_hand = mypy_by_hand(root, "--python-executable", env_python, "app.py")
    assert finding_keys(result) == keys(by_hand) == {("assignment", "app.py", 4)}
    assert "--python-version" not in result.metrics["command"]


def test_the_summary_names_the_mypy_version_pre_commit_pins_when_another_judged(project: Path, make_ctx: Any) -> None:
    """pluggy 1.6.0's pre-commit hooks run mirrors-mypy v1.15.0 while the gate runs its own mypy:
    the findings stay those of the mypy that ran, as by hand, and the summary names both versions;
    with the pin on the mypy that ran, nothing is said."""
    running = subprocess.run(
        [sys.executable, "-m", "mypy", "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()[1]
    hooks = "repos:\n-   repo: https://github.com/pre-commit/mirrors-mypy\n    rev: {}\n    hooks:\n    -   id: mypy\n"
    (project / ".pre-commit-config.yaml").write_text(hooks.format("v1.15.0"))
    result = TypesChecker().run(section(TypesChecker), make_ctx(project))
    assert finding_keys(result) == keys(mypy_by_hand(project))
    assert result.summary.endswith(
        f"; mypy {running} ran, .pre-commit-config.yaml runs mypy v1.15.0, whose checks can judge differently"
    )
    assert result.metrics["pre_commit_mypy"] == "v1.15.0"
    (project / ".pre-commit-config.yaml").write_text(hooks.format(f"v{running}"))
    same = TypesChecker().run(section(TypesChecker), make_ctx(project))
    assert "pre-commit" not in same.summary and same.metrics["pre_commit_mypy"] == f"v{running}"


def test_the_other_checks_are_told_to_start_once_mypys_process_has_started(project: Path, make_ctx: Any, tmp_path: Path) -> None:
    """mypy runs longest of the tools: the types check starts ahead of the others (``head_start``)
    and says ``begun`` once mypy's process is running, so that its start-up does not share the CPUs
    with theirs. gatekeeper's own probes before it (the Python versions) have ended by then."""
    import threading

    checker = TypesChecker()
    assert checker.head_start(section(TypesChecker)) is True
    ctx = make_ctx(project, cache_dir=tmp_path / "cache")
    said, running = ctx.begun, []

    def begun() -> None:  # the processes as the check says it, not once this thread wakes: mypy may have ended
        running.extend(_children_running("mypy"))
        said()

    ctx.begun = begun
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(checker.run(section(TypesChecker), ctx)), daemon=True)
    thread.start()
    assert ctx.wait_begun(120), "the types check never said that mypy had started"
    thread.join(300)
    assert running, "no mypy process was running when the types check said it had started"
    assert results and finding_keys(results[0]) == keys(mypy_by_hand(project))


def _children_running(module: str) -> list[str]:
    """The command lines of this process's children whose arguments name ``module`` (Linux's /proc)."""
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("needs /proc to see the processes running")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
                ppid = int(stat.read().rpartition(")")[2].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                args = cmdline.read().decode("utf-8", "replace").split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and module in args:
            found.append(" ".join(args))
    return found
