"""Finding ruff costs no process of its own where it can be answered here, and says what ruff's own code says."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers import lint
from gatekeeper.checkers.lint import LintChecker
from gatekeeper.errors import ToolError
from tests.helpers.projects import section, write


def test_the_binary_found_here_is_the_one_ruffs_own_code_names_in_an_isolated_run() -> None:
    spec = importlib.util.find_spec("ruff")
    assert spec is not None and spec.origin
    done = subprocess.run([sys.executable, "-I", "-c", lint._PROBE], capture_output=True, text=True, timeout=60, check=True)
    assert lint._binary_here(spec.origin) == json.loads(done.stdout)["bin"]


def test_a_package_without_its_binary_anywhere_names_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = write(tmp_path / "prefix/lib/python3.99/site-packages/ruff", {"__init__.py": ""})
    monkeypatch.setattr(lint.sysconfig, "get_path", lambda *a, **k: str(tmp_path / "nowhere"))
    assert lint._binary_here(str(package / "__init__.py")) == ""
    (tmp_path / "prefix/bin").mkdir()
    (tmp_path / "prefix/bin/ruff").write_text("")
    assert lint._binary_here(str(package / "__init__.py")) == str(tmp_path / "prefix/bin/ruff")


def record_runs(ctx: Any) -> list[list[str]]:
    """Every command line ``ctx.run`` is given from now on, in order (the commands still run)."""
    started: list[list[str]] = []
    run = ctx.run

    def recording(args: Any, **kwargs: Any) -> Any:
        started.append([str(a) for a in args])
        return run(args, **kwargs)

    object.__setattr__(ctx, "run", recording)
    return started


def test_a_lint_run_in_gatekeepers_own_interpreter_starts_no_python(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"a.py": "import os\n"})
    ctx = make_ctx(root, cache_dir=tmp_path / "cache")
    started = record_runs(ctx)
    result = LintChecker().run(section(LintChecker), ctx)
    assert [f.rule_id for f in result.findings] == ["F401"]
    assert not [a for a in started if a[0] == sys.executable]
    assert result.metrics["tool_source"] == "gatekeeper"


def fake_ruff(path: Path, version: str, counter: Path) -> str:
    path.write_text(f'#!/bin/sh\necho x >> "{counter}"\necho "ruff {version}"\n')
    path.chmod(0o755)
    return str(path)


def test_ruffs_version_is_asked_once_per_binary_and_again_when_the_binary_changes(tmp_path: Path, make_ctx: Any) -> None:
    counter = tmp_path / "runs"
    ruff = fake_ruff(tmp_path / "ruff", "0.1.0", counter)
    ctx = make_ctx(write(tmp_path / "p", {"a.py": ""}), cache_dir=tmp_path / "cache")
    assert lint._version(ctx, ruff) == lint._version(ctx, ruff) == "0.1.0"
    assert counter.read_text().count("x") == 1
    fake_ruff(tmp_path / "ruff", "0.22.0", counter)  # rewritten in place: another size and change time
    assert lint._version(ctx, ruff) == "0.22.0"
    assert counter.read_text().count("x") == 2
    no_cache = make_ctx(tmp_path / "p", cache_dir=None)
    assert lint._version(no_cache, ruff) == lint._version(no_cache, ruff) == "0.22.0"
    assert counter.read_text().count("x") == 4


def test_a_failing_version_is_an_error_and_not_remembered(tmp_path: Path, make_ctx: Any) -> None:
    bad = tmp_path / "ruff"
    bad.write_text("#!/bin/sh\nexit 3\n")
    bad.chmod(0o755)
    ctx = make_ctx(write(tmp_path / "p", {"a.py": ""}), cache_dir=tmp_path / "cache")
    for _ in range(2):
        with pytest.raises(ToolError, match="exit 3"):
            lint._version(ctx, str(bad))


def test_the_tracked_files_are_listed_once_per_run_for_every_checker(tmp_path: Path, make_ctx: Any) -> None:
    from gatekeeper.checkers import source
    from tests.helpers.projects import git_init

    root = write(tmp_path / "p", {"a.py": "import os\n", "b.txt": "x\n"})
    git_init(root)
    ctx = make_ctx(root)
    listed = record_runs(ctx)
    first = source.tracked_files(root, ctx)
    first.append("changed by its caller")
    assert source.tracked_files(root, ctx) == ["a.py", "b.txt"]
    assert sum(1 for a in listed if "ls-files" in a) == 1
    other = make_ctx(root)  # another run lists them again
    assert source.tracked_files(root, other) == ["a.py", "b.txt"]
