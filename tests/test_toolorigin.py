"""A tool never comes from the checkout: not from a virtualenv in it, not from a package installed
from it, not as a program planted in it; and each check's report names the binary that ran."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.lint import LintChecker
from gatekeeper.checkers.secrets import SecretsChecker
from gatekeeper.checkers.types import TypesChecker
from gatekeeper.engine import RunRequest, run_checks
from gatekeeper.errors import ToolError
from gatekeeper.findings import Status
from gatekeeper.policy import load_policy
from tests.helpers.cli import installed_checkers, installed_options
from tests.helpers.projects import git_init, section, write

#: the project's own "ruff" and "detect_secrets": they answer "clean" whatever they are asked
FAKE_RUFF = "import sys\n\ndef find_ruff_bin():\n    return sys.executable\n"
FAKE_DETECT = "VERSION = '99.0'\n"


def make_venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    return folder / "bin" / "python"


def site_packages(python: Path) -> Path:
    done = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True, timeout=60
    )
    return Path(done.stdout.strip())


def install_editable(python: Path, project: Path, name: str) -> None:
    """What ``pip install -e PROJECT`` leaves behind: a .pth naming its source folder, and PEP 610 metadata."""
    site = site_packages(python)
    (site / f"__editable__.{name}.pth").write_text(f"{project / 'src'}\n", encoding="utf-8")
    info = site / f"{name}-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0\n", encoding="utf-8")
    direct = {"url": project.as_uri(), "dir_info": {"editable": True}}
    (info / "direct_url.json").write_text(json.dumps(direct), encoding="utf-8")


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A project whose untracked .venv has the project installed editable, with its own ruff, mypy and detect_secrets."""
    root = write(
        tmp_path / "proj",
        {
            "pyproject.toml": '[project]\nname = "proj"\nversion = "0"\n[tool.ruff.lint]\nselect = ["F"]\n',
            "src/ruff/__init__.py": FAKE_RUFF,
            "src/detect_secrets/__init__.py": "",
            "src/detect_secrets/__version__.py": FAKE_DETECT,
            "src/mypy/__init__.py": "",
            "app.py": "import os\nAWS = 'AKIAIOSFODNN7EXAMPLE'\n",
            ".gitignore": ".venv/\n",
        },
    )
    git_init(root)
    install_editable(make_venv(root / ".venv"), root, "proj")
    return root


@pytest.mark.slow
def test_the_projects_own_tools_are_never_run(hostile: Path, make_ctx: Any) -> None:
    ctx = make_ctx(hostile)
    assert ctx.target_python == str(hostile / ".venv" / "bin" / "python")  # the project's environment is inspected...
    lint = LintChecker().run(section(LintChecker), ctx)
    assert lint.status is Status.FAIL and ("F401", "app.py", 1) in {
        (f.rule_id, f.location.path, f.location.line) for f in lint.findings
    }
    assert lint.metrics["tool_source"] == "gatekeeper"  # ...but the tools are gatekeeper's
    assert not Path(ctx.tools["ruff"].path).resolve().is_relative_to(hostile.resolve())
    secrets = SecretsChecker().run(section(SecretsChecker), make_ctx(hostile))
    assert secrets.status is Status.FAIL and secrets.metrics["tool_source"] == "gatekeeper"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("checker", "planted"),
    [
        (LintChecker, "src/ruff/__init__.py"),
        (SecretsChecker, "src/detect_secrets/__init__.py"),
        (TypesChecker, "src/mypy/__init__.py"),
    ],
)
def test_a_tool_interpreter_in_the_checkout_is_refused_naming_the_file(
    hostile: Path, make_ctx: Any, checker: Any, planted: str
) -> None:
    # the interpreter itself is a link out of the tree; what it would import is the checkout's
    ctx = make_ctx(hostile, tool_python=str(hostile / ".venv" / "bin" / "python"))
    with pytest.raises(ToolError) as caught:
        checker().run(section(checker), ctx)
    assert planted in str(caught.value) and "never runs from the checkout" in str(caught.value)


@pytest.mark.slow
def test_a_tool_in_the_checkout_is_refused_when_every_result_is_cached(hostile: Path, make_ctx: Any, tmp_path: Path) -> None:
    checker = SecretsChecker
    cache = tmp_path / "cache"
    checker().run(section(checker), make_ctx(hostile, cache_dir=cache))  # every file's result cached
    ctx = make_ctx(hostile, cache_dir=cache, tool_python=str(hostile / ".venv" / "bin" / "python"))
    with pytest.raises(ToolError, match="never runs from the checkout"):
        checker().run(section(checker), ctx)


@pytest.mark.slow
def test_a_tool_installed_from_the_project_is_refused_even_outside_it(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "proj", {"app.py": "import os\n"})
    python = make_venv(tmp_path / "env")  # an environment outside the tree...
    site = site_packages(python)
    write(site, {"ruff/__init__.py": FAKE_RUFF})  # ...whose ruff was built from the checkout (pip install .)
    info = site / "ruff-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ruff\nVersion: 0\n", encoding="utf-8")
    (info / "direct_url.json").write_text(json.dumps({"url": root.as_uri(), "dir_info": {}}), encoding="utf-8")
    with pytest.raises(ToolError, match=r"ruff was installed from the project under review \(\., per its direct_url.json\)"):
        LintChecker().run(section(LintChecker), make_ctx(root, tool_python=str(python)))


def test_a_program_inside_the_checkout_is_never_started(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "proj", {"bin/tool": "#!/bin/sh\necho clean\n"})
    (root / "bin/tool").chmod(0o755)
    ctx = make_ctx(root)
    with pytest.raises(ToolError, match=r"the program bin/tool is a file of the project under review"):
        ctx.run([str(root / "bin/tool")])


def test_each_checks_report_names_the_binary_its_version_and_origin(tmp_path: Path) -> None:
    root = write(tmp_path / "proj", {"app.py": "import os\n", "gatekeeper.toml": "[checks.lint]\nenabled = true\n"})
    checkers = {n: c for n, c in installed_checkers().items() if n == "lint"}
    policy = load_policy(root, installed_options())
    result = run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", only=("lint",)), checkers)
    tool = result.check("lint").to_dict()["tool"]  # type: ignore[union-attr]
    assert tool["name"] == "ruff" and tool["version"] and tool["source"] == "gatekeeper" and tool["installed"] == "index"
    scripts = Path(sysconfig.get_path("scripts")).resolve()
    assert Path(tool["path"]).name == "ruff" and Path(tool["python"]) == Path(sys.executable)
    assert Path(tool["path"]).resolve().parent == scripts or "site-packages" in tool["path"]


@pytest.mark.parametrize(
    ("module", "distribution"), [("ruff", "ruff"), ("mypy", "mypy"), ("bandit", "bandit"), ("no_such_tool", "x")]
)
def test_gatekeepers_own_interpreter_is_asked_in_process_with_the_answer_of_an_isolated_probe(
    module: str, distribution: str
) -> None:
    from gatekeeper import toolorigin

    probe = subprocess.run(
        [sys.executable, "-I", "-c", toolorigin._PROBE, module, distribution], capture_output=True, text=True, timeout=60
    )
    assert toolorigin._answer_here(module, distribution) == json.loads(probe.stdout)


@pytest.mark.slow
def test_a_result_cached_by_one_copy_of_a_tool_is_not_reused_by_another_of_the_same_version(
    tmp_path: Path, make_ctx: Any
) -> None:
    """The project's own "detect-secrets 1.5.0" once wrote "clean" under the real 1.5.0's key: the origin is part of the key."""
    root = write(tmp_path / "proj", {"app.py": "import os\n"})
    other = make_venv(tmp_path / "other")  # a second interpreter whose ruff is the very same package
    (site_packages(other) / "shared.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    first = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    again = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert first.metrics["cached_files"] == 0 and again.metrics["cached_files"] == 1
    elsewhere = make_ctx(root, cache_dir=cache, tool_python=str(other))
    moved = LintChecker().run(section(LintChecker), elsewhere)
    assert moved.tool_version == first.tool_version  # the same ruff, the same version: only the origin differs
    assert moved.metrics["cached_files"] == 0 and moved.metrics["tool_source"] == "tool_python"
