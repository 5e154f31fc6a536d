"""The lint check runs the real ruff and agrees with ruff run by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.lint import LintChecker
from gatekeeper.errors import ToolError, ToolMissing
from gatekeeper.findings import Status
from tests.helpers.projects import git_init, section, write

PROJECT = {
    "pyproject.toml": (
        '[project]\nname = "demo"\nversion = "0"\n'
        '[tool.ruff]\nline-length = 100\nextend-exclude = ["generated"]\n'
        '[tool.ruff.lint]\nselect = ["E", "F", "I", "B", "UP"]\n'
        '[tool.ruff.lint.per-file-ignores]\n"scripts/*" = ["F401"]\n'
    ),
    "demo/__init__.py": "",
    "demo/core.py": (
        "import sys\nimport os\n\n\ndef f(items=[]):\n    return undefined_name + len(items)\n\n\n"
        "def g(x):\n    if x == None:\n        return 1  # noqa: E501\n    return 2\n"
    ),
    "demo/style.py": "from typing import List\n\n\ndef h(a: List[int]) -> int:\n    l = 1\n    return l\n",
    "scripts/tool.py": "import json\n",
    "generated/big.py": "import os, sys\n",
}


def ruff_by_hand(root: Path, *args: str) -> set[tuple[str, str, int]]:
    """``ruff check --output-format json`` in the project, as a user runs it: (rule, path, line)."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "json", "--no-cache", *args, "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return {
        (d["code"], Path(d["filename"]).resolve().relative_to(root.resolve()).as_posix(), d["location"]["row"])
        for d in json.loads(done.stdout)
    }


def keys(result: Any) -> set[tuple[str, str, int]]:
    return {(f.rule_id, f.location.path, f.location.line) for f in result.findings}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write(tmp_path / "proj", PROJECT)


def test_findings_equal_ruff_run_by_hand_with_the_projects_config(project: Path, make_ctx: Any) -> None:
    result = LintChecker().run(section(LintChecker), make_ctx(project))
    expected = ruff_by_hand(project)
    assert keys(result) == expected
    assert ("F821", "demo/core.py", 6) in expected and ("B006", "demo/core.py", 5) in expected
    assert not any(path.startswith(("generated/", "scripts/")) for _, path, _ in expected)  # config honoured
    assert result.status is Status.FAIL and all(f.blocking for f in result.findings)
    by_rule = {f.rule_id: f for f in result.findings}
    assert by_rule["F401"].properties["fix"] == "safe"  # ruff's fix availability
    assert by_rule["F821"].properties["fix"] is None
    assert by_rule["F821"].help_uri.startswith("https://docs.astral.sh/ruff/rules/")
    shown = {(n.kind, n.source, n.detail) for n in result.narrowing}
    assert ("exclude", "pyproject.toml", 'extend-exclude = ["generated"]') in shown
    assert ("rules", "pyproject.toml", 'lint.per-file-ignores = {"scripts/*": ["F401"]}') in shown
    (noqa,) = [n for n in result.narrowing if n.kind == "line-comments"]
    assert (noqa.source, noqa.line, noqa.suppressed) == ("demo/core.py", 11, 0)  # nothing to hide on that line
    assert result.tool_name == "ruff" and result.tool_version
    # the summary tells the files ruff found something in from the files it checked
    with_findings = len({path for _, path, _ in expected})  # demo/core.py and demo/style.py
    assert (with_findings, result.metrics["files_checked"]) == (2, 5)  # with demo/__init__.py, scripts/, pyproject.toml
    assert result.summary == f"{len(expected)} findings in 2 of 5 files"
    assert result.metrics["files_with_findings"] == with_findings


def test_fail_on_prefixes_and_max_findings(project: Path, make_ctx: Any) -> None:
    ctx = make_ctx(project)
    only_f = LintChecker().run(section(LintChecker, fail_on=["F"]), ctx)
    assert any(not f.rule_id.startswith("F") for f in only_f.findings)
    assert all(f.blocking == f.rule_id.startswith("F") for f in only_f.findings)
    tolerated = LintChecker().run(section(LintChecker, max_findings=len(only_f.findings)), ctx)
    assert tolerated.status is Status.PASS and not tolerated.blocking
    over = LintChecker().run(section(LintChecker, max_findings=len(only_f.findings) - 1), ctx)
    assert over.status is Status.FAIL


def test_without_project_config_ruff_defaults_apply(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"m.py": "import os\nx = 1\n", "other/ruff_like.py": "def f():\n    return y\n"})
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(result) == ruff_by_hand(root, "--isolated")
    assert {("F401", "m.py", 1), ("F821", "other/ruff_like.py", 2)} <= keys(result)
    assert result.metrics["config"] is None


def test_cache_reuses_unchanged_files_and_rechecks_changed_ones(project: Path, make_ctx: Any, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert first.metrics["cached_files"] == 0
    second = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert second.metrics["cached_files"] == first.metrics["files_checked"]
    assert keys(second) == keys(first)
    (project / "demo/style.py").write_text("import os\n", encoding="utf-8")
    third = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert third.metrics["cached_files"] == first.metrics["files_checked"] - 1
    assert keys(third) == ruff_by_hand(project)
    # a changed config invalidates every entry
    text = (project / "pyproject.toml").read_text(encoding="utf-8").replace('"B", ', "")
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    fourth = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert fourth.metrics["cached_files"] == 0 and keys(fourth) == ruff_by_hand(project)


def test_fingerprints_survive_line_shifts(project: Path, make_ctx: Any) -> None:
    before = LintChecker().run(section(LintChecker), make_ctx(project))
    core = project / "demo/core.py"
    core.write_text('"""Docs."""\n\n' + core.read_text(encoding="utf-8"), encoding="utf-8")
    after = LintChecker().run(section(LintChecker), make_ctx(project))
    assert {f.fingerprint for f in before.findings} == {f.fingerprint for f in after.findings}
    assert {f.location.line for f in after.findings if f.rule_id == "F821"} == {8}


def test_shards_cover_every_file_once(project: Path, make_ctx: Any) -> None:
    whole = LintChecker().run(section(LintChecker), make_ctx(project))
    parts = [LintChecker().run(section(LintChecker), make_ctx(project, shard=(i, 2))) for i in (1, 2)]
    scanned = [set(p.metrics["shard"]["covered"]) for p in parts]
    assert scanned[0] and scanned[1] and not scanned[0] & scanned[1]
    assert len(scanned[0] | scanned[1]) == parts[0].metrics["shard"]["inputs_total"] == whole.metrics["files_checked"]
    assert keys(parts[0]) | keys(parts[1]) == keys(whole)
    assert LintChecker.shardable is True


def test_missing_ruff_says_how_to_install(project: Path, make_ctx: Any, bare_python: str) -> None:
    (project / "gatekeeper.toml").write_text(f'[environment]\npython = "{bare_python}"\n', encoding="utf-8")
    with pytest.raises(ToolMissing, match=r"gatekeeper\[lint\]"):
        LintChecker().run(section(LintChecker), make_ctx(project, tool_python=bare_python))


def test_gatekeepers_own_ruff_is_used_when_the_project_has_none(project: Path, make_ctx: Any, bare_python: str) -> None:
    (project / "gatekeeper.toml").write_text(f'[environment]\npython = "{bare_python}"\n', encoding="utf-8")
    result = LintChecker().run(section(LintChecker), make_ctx(project))
    assert result.metrics["tool_source"] == "gatekeeper"
    assert keys(result) == ruff_by_hand(project)


def test_a_shard_does_not_apply_max_findings_to_its_share_alone(project: Path, make_ctx: Any) -> None:
    whole = LintChecker().run(section(LintChecker), make_ctx(project))
    capped = section(LintChecker, max_findings=len(whole.findings))
    assert LintChecker().run(capped, make_ctx(project)).status is Status.PASS
    parts = [LintChecker().run(capped, make_ctx(project, shard=(i, 2))) for i in (1, 2)]
    findings = [f for p in parts for f in p.findings]
    assert len(findings) == len(whole.findings) and all(f.blocking for f in findings)
    assert all("max_findings_not_applied" in p.metrics for p in parts)


def test_links_count_where_they_point_and_nothing_outside_the_project_is_checked(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"pkg/a.py": "import os\n", "pkg/deep/b.py": "import json\n"})
    outside = write(tmp_path / "elsewhere", {"evil.py": "import sys\n"})
    (root / "evil_link.py").symlink_to(outside / "evil.py")  # ruff checks it; it is not the project's
    (root / "alias.py").symlink_to(root / "pkg" / "a.py")  # the same file under a second name
    (root / "pkg" / "deep" / "up.py").symlink_to(Path("..") / "a.py")
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(result) == {("F401", "pkg/a.py", 1), ("F401", "pkg/deep/b.py", 1)}
    assert result.metrics["files_checked"] == 2


@pytest.mark.parametrize("config", ["ruff.toml", "pyproject.toml"])
def test_settings_that_exclude_every_python_file_are_an_empty_check(tmp_path: Path, make_ctx: Any, config: str) -> None:
    """ruff lists the configuration files it lints too: a run that checks nothing else looked at no code."""
    excluding = 'extend-exclude = ["*.py"]\n'
    text = excluding if config == "ruff.toml" else f'[project]\nname = "demo"\nversion = "0"\n[tool.ruff]\n{excluding}'
    root = write(tmp_path / "proj", {config: text, "demo/core.py": "import os\n"})
    listed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--show-files", "--no-cache", "."], cwd=root, capture_output=True, text=True
    )
    assert [Path(line).name for line in listed.stdout.split()] == [config]  # what ruff itself checks
    with pytest.raises(ToolError, match=rf"ruff found no Python files to check \(only {config}\).*allow_empty = true"):
        LintChecker().run(section(LintChecker), make_ctx(root))
    allowed = LintChecker().run(section(LintChecker, allow_empty=True), make_ctx(root))
    assert allowed.status is Status.PASS and allowed.metrics["files_checked"] == 1
    assert "exclude" in [r.kind for r in allowed.narrowing]  # and the setting that left every file out is reported


def test_a_file_whose_tree_changed_is_checked_again(tmp_path: Path, make_ctx: Any) -> None:
    """ruff reads more of the tree than the file: an ``__init__.py`` beside it (INP001) and its mode
    (EXE002). Removing one or making a file executable changes what ruff says of files whose bytes
    did not change, so their cached results are not served."""
    project = write(
        tmp_path / "proj",
        {
            "ruff.toml": '[lint]\nselect = ["INP001", "EXE002"]\n',
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/mod.py": "X = 1\n",
        },
    )
    git_init(project)
    cache = tmp_path / "cache"
    first = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert first.status is Status.PASS and keys(first) == ruff_by_hand(project) == set()
    subprocess.run(["git", "rm", "-q", "-f", "pkg/sub/__init__.py"], cwd=project, check=True)
    second = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert keys(second) == ruff_by_hand(project) == {("INP001", "pkg/sub/mod.py", 1)}
    assert second.status is Status.FAIL and second.metrics["cached_files"] == 0
    (project / "pkg/__init__.py").chmod(0o755)
    third = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert keys(third) == ruff_by_hand(project) == {("INP001", "pkg/sub/mod.py", 1), ("EXE002", "pkg/__init__.py", 1)}
    fourth = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert fourth.metrics["cached_files"] == fourth.metrics["files_checked"] and keys(fourth) == keys(third)


def test_a_requires_python_above_a_nested_config_keys_the_cache(tmp_path: Path, make_ctx: Any) -> None:
    """A ruff.toml without target-version takes the Python version from the closest pyproject.toml
    above it, [tool.ruff] or not: raising requires-python there turns on UP006/UP035 in files whose
    bytes did not change, so their cached "clean" is not served."""
    project = write(
        tmp_path / "proj",
        {
            "pyproject.toml": '[project]\nname = "x"\nversion = "0"\nrequires-python = ">=3.8"\n',
            "sub/ruff.toml": '[lint]\nselect = ["UP"]\n',
            "sub/m.py": "from typing import List\n\n\ndef f(x: List[int]) -> List[int]:\n    return x\n",
        },
    )
    git_init(project)
    cache = tmp_path / "cache"
    first = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert first.status is Status.PASS and keys(first) == ruff_by_hand(project) == set()
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\nrequires-python = ">=3.12"\n')
    expected = {("UP035", "sub/m.py", 1), ("UP006", "sub/m.py", 4)}
    second = LintChecker().run(section(LintChecker), make_ctx(project, cache_dir=cache))
    assert ruff_by_hand(project) == expected and keys(second) == expected
    assert second.metrics["cached_files"] == 0 and "pyproject.toml" in second.metrics["config_files"]


@pytest.mark.parametrize("exclude", ["", 'exclude = ["skipped.py"]\n'])
def test_a_file_whose_name_is_not_utf8_is_an_error_naming_it(tmp_path: Path, make_ctx: Any, exclude: str) -> None:
    """ruff reads such a file but names it with U+FFFD in place of its bytes, a name no file has:
    checked by that name it was one E902 "No such file" finding in place of ruff's, a pass when E902
    does not block (and with lint.exclude, an error blaming ruff's log)."""
    root = write(tmp_path / "p", {"pyproject.toml": f'[tool.ruff.lint]\nselect = ["F"]\n{exclude}', "app.py": "x = 1\n"})
    Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9.py")).write_bytes(b"import os\n")
    git_init(root)
    assert ruff_by_hand(root) == {("F401", "caf\ufffd.py", 1)}  # ruff finds an unused import there

    with pytest.raises(ToolError, match=r"names 1 file\(s\) whose names are not UTF-8 .*\(caf\\xe9\.py\).*extend-exclude"):
        LintChecker().run(section(LintChecker, fail_on=["F"]), make_ctx(root))


def test_a_file_whose_name_is_not_utf8_beside_one_named_with_u_fffd_is_not_judged_as_that_one(
    tmp_path: Path, make_ctx: Any
) -> None:
    """Both files are listed by ruff (and git) under the one name ``caf\ufffd.py``, which exists:
    the clean file's result stood for both, and ruff's F401 in the other went unreported."""
    root = write(tmp_path / "p", {"pyproject.toml": '[tool.ruff.lint]\nselect = ["F"]\n', "caf\ufffd.py": "x = 1\n"})
    Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9.py")).write_bytes(b"import os\n")
    git_init(root)
    assert ruff_by_hand(root) == {("F401", "caf\ufffd.py", 1)}  # ruff finds an unused import, in caf\xe9.py
    with pytest.raises(ToolError, match=r"names 1 file\(s\) whose names are not UTF-8 .*\(caf\\xe9\.py\)"):
        LintChecker().run(section(LintChecker), make_ctx(root))


def _pre_commit(ruff_rev: str) -> str:
    return (
        "repos:\n  - repo: https://github.com/psf/black-pre-commit-mirror\n    rev: 23.11.0\n    hooks:\n      - id: black\n"
        f"  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: {ruff_rev}\n    hooks:\n      - id: ruff\n"
    )


def test_the_summary_names_the_ruff_version_pre_commit_pins_when_another_judged(project: Path, make_ctx: Any) -> None:
    """humanize pins ruff v0.1.6 in its pre-commit hooks, which find nothing, while the gate's newer
    ruff finds 7 (UP031, UP018): the findings stay ruff's by hand, and the summary names both
    versions; with the pin on the ruff that ran, nothing is said."""
    running = subprocess.run(
        [sys.executable, "-m", "ruff", "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()[-1]
    (project / ".pre-commit-config.yaml").write_text(_pre_commit("v0.1.6"))
    git_init(project)
    result = LintChecker().run(section(LintChecker), make_ctx(project))
    assert keys(result) == ruff_by_hand(project)
    assert result.summary.endswith(
        f"(ruff {running}; .pre-commit-config.yaml runs ruff v0.1.6, whose rules can judge differently)"
    )
    assert result.metrics["pre_commit_ruff"] == "v0.1.6"
    (project / ".pre-commit-config.yaml").write_text(_pre_commit(f"v{running}"))
    same = LintChecker().run(section(LintChecker), make_ctx(project))
    assert "pre-commit" not in same.summary and same.metrics["pre_commit_ruff"] == f"v{running}"


def test_the_summary_says_when_ruff_linted_a_virtualenv_the_projects_exclude_let_in(tmp_path: Path, make_ctx: Any) -> None:
    """portalocker's ``exclude = ['docs']`` replaces ruff's default excludes, so ``ruff check .`` lints
    the ``.venv`` the README has users create in the checkout (131,814 findings, 1,681 files there):
    the findings stay ruff's by hand, and the summary says where they lie and why; with
    ``extend-exclude`` ruff leaves the virtualenv out and nothing is said."""
    files = {
        "ruff.toml": 'exclude = ["docs"]\n',
        "pkg/__init__.py": "import os\n",
        ".venv/pyvenv.cfg": "home = /usr/bin\n",
        ".venv/lib/site-packages/dep/__init__.py": "import sys\nimport json\n",
        ".venv/lib/site-packages/dep/more.py": "import re\n",
    }
    root = write(tmp_path / "proj", files)
    (root / ".gitignore").write_text("")
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(result) == ruff_by_hand(root)
    assert {path for _, path, _ in keys(result)} >= {"pkg/__init__.py", ".venv/lib/site-packages/dep/more.py"}
    assert result.summary.endswith(
        " of 4 files; 2 in .venv/, a virtualenv ruff lints because the project's exclude "
        "replaces ruff's default excludes (extend-exclude adds to them)"
    )
    (root / "ruff.toml").write_text('extend-exclude = ["docs"]\n')
    extended = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(extended) == ruff_by_hand(root)
    assert {path for _, path, _ in keys(extended)} == {"pkg/__init__.py"}
    assert "virtualenv" not in extended.summary
