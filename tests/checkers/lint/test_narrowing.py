"""Every way a project's ruff configuration or comments narrow the lint check is reported, with
what it suppressed counted by ruff itself; ``project_config = "ignore"`` honours none of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from gatekeeper.checkers.lint import LintChecker
from gatekeeper.findings import Status
from tests.checkers.lint.test_checker import ruff_by_hand
from tests.helpers.narrowing import assert_reported, find, reported
from tests.helpers.projects import git_init, section, write

UNUSED = "import os\n"


def hidden(root: Path) -> int:
    """How many diagnostics the project's suppression comments hide, as ruff counts them."""
    return len(ruff_by_hand(root, "--ignore-noqa")) - len(ruff_by_hand(root))


@pytest.mark.parametrize(
    ("text", "kind", "detail"),
    [
        ("# flake8: noqa\n" + UNUSED, "file-comment", "# flake8: noqa"),
        ('"""Doc."""\n\n' + UNUSED + "\n# ruff: noqa\n", "file-comment", "# ruff: noqa"),
        ("# ruff: file-ignore[F401]\n" + UNUSED, "file-comment", "# ruff: file-ignore[F401]"),
        ("# ruff: disable[F401]\n" + UNUSED, "range-comment", "# ruff: disable[F401]"),
        ("import os  # noqa\nimport sys  # ruff: ignore[F401]\n", "line-comments", "2 × # noqa or # ruff: ignore (line 1, 2)"),
    ],
)
def test_a_suppression_comment_is_reported_with_what_ruff_hid(
    tmp_path: Path, make_ctx: Any, text: str, kind: str, detail: str
) -> None:
    root = write(tmp_path / "p", {"app.py": text})
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS and not result.findings  # honoured, as ruff honours it
    record = find(result, kind, source="app.py")
    assert record.detail == detail and record.suppressed == hidden(root) > 0
    assert result.metrics["suppressed"] == record.suppressed
    assert_reported(result, record)


def test_a_disable_range_counts_only_what_lies_inside_it(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"app.py": "# ruff: disable[F401]\nimport os\n# ruff: enable[F401]\nimport sys\n"})
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    record = find(result, "range-comment", source="app.py")
    assert record.effect.endswith("lines 1-3") and record.suppressed == 1
    assert {(f.rule_id, f.location.line) for f in result.findings} >= {("F401", 4)}


def test_an_extend_chain_that_ignores_every_rule_is_reported_file_by_file(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p",
        {"ruff.toml": 'extend = "tools/base.toml"\n', "tools/base.toml": '[lint]\nignore = ["ALL"]\n', "app.py": UNUSED},
    )
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS and ruff_by_hand(root) == set()
    head = find(result, "config-file", source="ruff.toml")
    assert (head.line, head.detail) == (1, 'extend = "tools/base.toml"')
    find(result, "config-file", source="tools/base.toml")
    ignore_all = find(result, "rules", source="tools/base.toml")
    assert (ignore_all.line, ignore_all.detail) == (2, 'lint.ignore = ["ALL"]')
    assert_reported(result, ignore_all)


def test_a_narrow_select_is_reported(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"ruff.toml": '[lint]\nselect = ["E501"]\n', "app.py": UNUSED})
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS
    record = find(result, "rules", source="ruff.toml")
    assert record.detail == 'lint.select = ["E501"]' and "only these rules run" in record.effect
    assert_reported(result, record)


def test_files_the_projects_excludes_drop_are_listed_apart_from_rufs_defaults(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p",
        {
            "ruff.toml": 'extend-exclude = ["legacy"]\n',
            "app.py": "x = 1\n",
            "legacy/old.py": UNUSED,
            "node_modules/gen.py": UNUSED,
        },
    )
    git_init(root)
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    by_project, by_default = [n for n in result.narrowing if n.kind == "exclude" and not n.source]
    assert by_project.files == ("legacy/old.py",) and by_default.files == ("node_modules/gen.py",)
    assert find(result, "exclude", source="ruff.toml").detail == 'extend-exclude = ["legacy"]'
    assert_reported(result, by_project)


def test_project_config_ignore_runs_ruff_on_its_defaults_and_honours_no_comment(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p",
        {
            "ruff.toml": 'extend = "base.toml"\n',
            "base.toml": '[lint]\nignore = ["ALL"]\n',
            "a.py": "# flake8: noqa\n" + UNUSED,
            "b.py": "# ruff: disable[F401]\n" + UNUSED,
        },
    )
    result = LintChecker().run(section(LintChecker, project_config="ignore"), make_ctx(root))
    assert {(f.rule_id, f.location.path) for f in result.findings} == {("F401", "a.py"), ("F401", "b.py")}
    assert {(f.rule_id, f.location.path, f.location.line) for f in result.findings} == ruff_by_hand(
        root, "--isolated", "--ignore-noqa"
    )
    assert result.status is Status.FAIL and result.narrowing == ()
    assert result.metrics["project_config"] == "ignore" and "--ignore-noqa" in result.metrics["command"]


@pytest.mark.parametrize(
    "config",
    [
        {"pyproject.toml": '[tool.ruff.lint]\nexclude = ["b.py"]\n'},
        {"ruff.toml": 'extend = "tools/base.toml"\n', "tools/base.toml": '[lint]\nexclude = ["b.py"]\n'},
    ],
)
def test_lint_exclude_leaves_out_the_files_ruff_check_leaves_out(tmp_path: Path, make_ctx: Any, config: dict[str, str]) -> None:
    root = write(tmp_path / "p", {**config, "a.py": UNUSED, "b.py": UNUSED})
    git_init(root)
    listed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--show-files", "--no-cache", "."],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert any(p.endswith("b.py") for p in listed)  # ruff lists it, yet does not lint it
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert ruff_by_hand(root) == {("F401", "a.py", 1)}
    assert {(f.rule_id, f.location.path, f.location.line) for f in result.findings} == ruff_by_hand(root)
    assert result.metrics["files_checked"] == len(listed) - 1
    by_project = next(n for n in result.narrowing if n.kind == "exclude" and not n.source)
    assert by_project.files == ("b.py",) and "lint.exclude" in by_project.detail
    assert_reported(result, by_project)


def test_settings_that_tune_the_rules_are_reported(tmp_path: Path, make_ctx: Any) -> None:
    """A line-length past every line turns E501 off in effect, builtins hide F821, a plugin's
    threshold hides C901: ruff by hand reports nothing, and those settings are one record."""
    config = (
        'line-length = 1000\nbuiltins = ["magic"]\ntarget-version = "py311"\n'
        '[lint]\nselect = ["E501", "F821", "C901"]\n[lint.mccabe]\nmax-complexity = 50\n'
    )
    code = "def f(x):\n" + "".join(f"    if x == {i}:\n        return magic\n" for i in range(12)) + f"    return '{'a' * 120}'\n"
    root = write(tmp_path / "p", {"ruff.toml": config, "app.py": code})
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS and ruff_by_hand(root) == set()
    assert ruff_by_hand(root, "--isolated", "--select", "E501,F821,C901") != set()  # ruff's defaults see them
    record = find(result, "option", source="ruff.toml")
    assert record.line == 1 and "line-length = 1000" in record.effect + record.detail
    assert record.detail == 'line-length = 1000; builtins = ["magic"]; lint.mccabe.max-complexity = 50'
    assert_reported(result, record)


def test_files_a_tracked_ignore_file_drops_are_reported_under_its_name(tmp_path: Path, make_ctx: Any) -> None:
    """ruff honours a ``.ignore`` file as it honours ``.gitignore``: the files it drops are not
    checked, and the record says which file dropped them, not only ".gitignore"."""
    root = write(tmp_path / "p", {".ignore": "gen/\n", "sub/.ignore": "old.py\n", "app.py": "x = 1\n"})
    write(root, {"gen/made.py": UNUSED, "sub/old.py": UNUSED, "sub/new.py": "y = 2\n"})
    git_init(root)
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert ruff_by_hand(root, "--isolated") == set() and result.status is Status.PASS  # ruff left both out
    (dropped,) = [n for n in result.narrowing if n.kind == "exclude" and not n.source]
    assert dropped.files == ("gen/made.py", "sub/old.py")
    assert ".ignore, sub/.ignore" in dropped.detail
    assert_reported(result, dropped)


def _summary_shown(result: Any, note: str) -> None:
    """``note`` is in the check's summary, on the console and in the HTML report."""
    shown = reported(result)
    console = " ".join(shown["console"].replace(" 0.0s", "").split())  # the table wraps a long summary
    assert note in result.summary and note in console
    assert str(escape(note)) in shown["html"]


def test_a_nested_configuration_alone_is_not_named_as_the_projects(tmp_path: Path, make_ctx: Any) -> None:
    """``config/ruff.toml`` configures only the files below ``config/``: the root has no ruff
    configuration, and the metric and the summary say so instead of naming the nested file as the project's."""
    root = write(tmp_path / "p", {"config/ruff.toml": '[lint]\nselect = ["E741"]\n', "config/b.py": UNUSED, "a.py": UNUSED})
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert {(f.rule_id, f.location.path) for f in result.findings} == {("F401", "a.py")}  # ruff's defaults at the root
    assert result.metrics["config"] is None and result.metrics["nested_configs"] == ["config/ruff.toml"]
    _summary_shown(result, "no ruff configuration in the root (config/ruff.toml configures only its own folder)")


@pytest.mark.parametrize(
    ("files", "named"),
    [
        ({"setup.cfg": "[metadata]\nname = x\n\n[flake8]\nmax-line-length = 120\n"}, "setup.cfg [flake8]"),
        ({"tox.ini": "[tox]\nenv_list = py3\n[flake8]\nextend-ignore = F401\n"}, "tox.ini [flake8]"),
        ({".flake8": "[flake8]\nselect = E9\n"}, ".flake8"),
    ],
)
def test_a_flake8_configuration_ruff_does_not_read_is_said(
    tmp_path: Path, make_ctx: Any, files: dict[str, str], named: str
) -> None:
    """ruff reads no flake8 configuration: with none of its own in the root, its defaults apply
    (F401 is reported whatever ``extend-ignore`` says), and the summary says so."""
    root = write(tmp_path / "p", {**files, "a.py": UNUSED})
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert {(f.rule_id, f.location.path, f.location.line) for f in result.findings} == ruff_by_hand(root, "--isolated")
    assert result.metrics["config"] is None
    _summary_shown(result, f"{named} is not read by ruff; ruff's defaults apply")


def test_a_flake8_configuration_beside_ruffs_own_is_not_mentioned(tmp_path: Path, make_ctx: Any) -> None:
    files = {"ruff.toml": '[lint]\nselect = ["F"]\n', "setup.cfg": "[flake8]\nmax-line-length = 120\n", "a.py": UNUSED}
    result = LintChecker().run(section(LintChecker), make_ctx(write(tmp_path / "p", files)))
    assert result.summary == "1 finding in 1 of 2 files" and result.metrics["config"] == "ruff.toml"
    assert result.metrics["nested_configs"] == []
