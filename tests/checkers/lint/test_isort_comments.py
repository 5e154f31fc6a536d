"""isort action comments (``# isort: skip_file``, ``off``/``on``, ``skip``, ``split``) hide ruff's
I001/I002 and ``--ignore-noqa`` does not lift them: each file with one ruff honours is a narrowing
record counting what ruff reports once they are gone, when the isort rules are selected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.lint import LintChecker, isortcomments
from gatekeeper.findings import Status
from tests.checkers.lint.test_checker import ruff_by_hand
from tests.helpers.narrowing import assert_reported, find
from tests.helpers.projects import section, write

ISORT = '[lint]\nextend-select = ["I"]\n'
BODY = "import sys\nimport os\n\nprint(os, sys)\n"


def without_comments(tmp_path: Path, files: dict[str, str]) -> set[tuple[str, str, int]]:
    """ruff by hand on the same project with its isort action comments taken out (``isort`` written ``xsort``)."""
    plain = {k: v.replace("isort", "xsort") if k.endswith(".py") else v for k, v in files.items()}
    return ruff_by_hand(write(tmp_path / "plain", plain))


@pytest.mark.parametrize(
    ("text", "kind", "detail"),
    [
        ("# isort: skip_file\n" + BODY, "file-comment", "# isort: skip_file"),
        ("# isort:skip_file\n" + BODY, "file-comment", "# isort:skip_file"),
        ("# ruff: isort: skip_file\n" + BODY, "file-comment", "# ruff: isort: skip_file"),
        ("x = 1  # isort: skip_file\n" + BODY, "file-comment", "# isort: skip_file"),
        (
            "# isort: off\n" + BODY.replace("\n\n", "\n# isort: on\n\n"),
            "range-comment",
            "2 × isort action comment (line 1: # isort: off, line 4: # isort: on)",
        ),
        ("# isort: off\n" + BODY, "range-comment", "# isort: off"),
        ("import sys  # isort: skip\nimport os\n\nprint(os, sys)\n", "line-comments", "# isort: skip"),
        ("import os\nimport sys\n\n# isort: split\nimport abc\n\nprint(abc, os, sys)\n", "line-comments", "# isort: split"),
    ],
)
def test_an_isort_action_comment_is_reported_with_the_import_findings_it_hid(
    tmp_path: Path, make_ctx: Any, text: str, kind: str, detail: str
) -> None:
    files = {"ruff.toml": ISORT, "app.py": text}
    root = write(tmp_path / "p", files)
    assert ruff_by_hand(root, "--ignore-noqa") == set()  # ruff honours the comment, and --ignore-noqa does not lift it
    plain = without_comments(tmp_path, files)
    assert {rule for rule, _, _ in plain} == {"I001"}
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS and not result.findings  # honoured, as ruff honours it
    record = find(result, kind, source="app.py")
    assert (record.detail, record.suppressed, record.files) == (detail, len(plain), ("app.py",))
    assert "I001/I002" in record.effect
    assert result.metrics["suppressed"] == record.suppressed
    assert_reported(result, record)


def test_a_missing_required_import_hidden_by_skip_file_is_counted(tmp_path: Path, make_ctx: Any) -> None:
    config = ISORT + 'isort.required-imports = ["from __future__ import annotations"]\n'
    files = {"ruff.toml": config, "app.py": "# isort: skip_file\n" + BODY, "ok.py": "from __future__ import annotations\n"}
    root = write(tmp_path / "p", files)
    plain = without_comments(tmp_path, files)
    assert {rule for rule, path, _ in plain if path == "app.py"} == {"I001", "I002"}
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS
    assert find(result, "file-comment", source="app.py").suppressed == 2


def test_no_record_when_the_isort_rules_are_not_selected(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"ruff.toml": '[lint]\nselect = ["F"]\n', "app.py": "# isort: skip_file\n" + BODY})
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS and result.narrowing == tuple(r for r in result.narrowing if r.source != "app.py")
    assert result.metrics["suppressed"] == 0


def test_a_configuration_file_ruff_lints_is_no_python_source_for_isort_comments(tmp_path: Path, make_ctx: Any) -> None:
    """ruff lints pyproject.toml and ruff.toml as TOML, where no isort rule runs: a comment there that
    reads like an isort action comment hides nothing and is no record (it was one, its TOML read as Python)."""
    pyproject = '[project]\nname = "demo"\nversion = "0"\n# isort: skip_file\n[tool.ruff.lint]\nextend-select = ["I"]\n'
    root = write(tmp_path / "p", {"pyproject.toml": pyproject, "app.py": BODY})
    ctx = make_ctx(root)
    runs: list[list[str]] = []
    run = ctx.run
    object.__setattr__(ctx, "run", lambda args, **kw: runs.append([str(a) for a in args]) or run(args, **kw))
    result = LintChecker().run(section(LintChecker), ctx)
    assert [r for r in result.narrowing if r.source == "pyproject.toml" and r.kind.endswith("comment")] == []
    assert not [a for a in runs if "--stdin-filename" in a]
    assert (
        {(f.rule_id, f.location.path) for f in result.findings if f.location}
        == {(code, path) for code, path, _ in ruff_by_hand(root)}
        == {("I001", "app.py")}
    )


def test_a_comment_that_hides_nothing_is_reported_with_nothing_counted(tmp_path: Path, make_ctx: Any) -> None:
    text = "# isort: skip_file\nimport os\nimport sys\n\nprint(os, sys)\n"
    root = write(tmp_path / "p", {"ruff.toml": ISORT, "app.py": text})
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    record = find(result, "file-comment", source="app.py")
    assert (record.detail, record.suppressed) == ("# isort: skip_file", 0)


def test_a_cached_run_gives_the_records_and_findings_of_an_uncached_one(tmp_path: Path, make_ctx: Any) -> None:
    files = {"ruff.toml": ISORT, "app.py": "# isort: skip_file\n" + BODY, "b.py": "import sys  # noqa: F401\nimport os\n"}
    root = write(tmp_path / "p", files)
    cache = tmp_path / "cache"
    cold = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    warm = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    uncached = LintChecker().run(section(LintChecker), make_ctx(root))
    assert warm.metrics["cached_files"] == warm.metrics["files_checked"] == uncached.metrics["files_checked"] > 0
    assert find(warm, "file-comment", source="app.py").suppressed == 1
    for result in (cold, warm):
        assert result.narrowing == uncached.narrowing and result.findings == uncached.findings
        assert result.metrics["suppressed"] == uncached.metrics["suppressed"]


def test_project_config_ignore_judges_the_text_without_the_comments(tmp_path: Path, make_ctx: Any) -> None:
    files = {"ruff.toml": ISORT, "app.py": "# isort: skip_file\n" + BODY}
    root = write(tmp_path / "p", files)
    expected = ruff_by_hand(write(tmp_path / "plain", {"app.py": files["app.py"].replace("isort", "xsort")}), "--isolated")
    result = LintChecker().run(section(LintChecker, project_config="ignore"), make_ctx(root))
    assert {(f.rule_id, f.location.path, f.location.line) for f in result.findings} == expected
    assert result.narrowing == ()
    # ruff's own defaults include I001 since 0.17 (before, they select no isort rule and nothing is hidden)
    if any(rule == "I001" for rule, _, _ in expected):
        assert result.status is Status.FAIL


def test_ruff_reads_the_comments_as_its_directives_do() -> None:
    text = b"# isort: on\nimport a  # noqa  isort:skip\n# isort: off\n# isort: skip\n"
    text += b"# isort: on\n# isort: skip_file\n# isort: off\n"
    assert isortcomments.honoured(text) == [
        (2, "# noqa  isort:skip"), (3, "# isort: off"), (5, "# isort: on"), (6, "# isort: skip_file"),
    ]  # fmt: skip
    neutral = isortcomments.neutralised(text)
    assert len(neutral) == len(text) and b"isort" not in neutral and neutral.count(b"xsort") == 7
    assert isortcomments.honoured(b's = "# isort: skip_file"\n') == []  # a string is no comment


def test_the_text_without_the_comments_is_checked_under_the_files_own_settings(tmp_path: Path, make_ctx: Any) -> None:
    # read through stdin under the file's name, a per-file ignore and a nested configuration still apply to it
    files = {
        "ruff.toml": ISORT + '[lint.per-file-ignores]\n"a.py" = ["I001"]\n',
        "a.py": "# isort: skip_file\n" + BODY,
        "sub/ruff.toml": '[lint]\nselect = ["F"]\n',
        "sub/b.py": "# isort: skip_file\n" + BODY,
        "c.py": "# isort: skip_file\n" + BODY,
    }
    root = write(tmp_path / "p", files)
    assert {(rule, path) for rule, path, _ in without_comments(tmp_path, files)} == {("I001", "c.py")}
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS
    assert find(result, "file-comment", source="a.py").suppressed == 0  # selected, ignored for this file
    assert find(result, "file-comment", source="c.py").suppressed == 1
    assert not [r for r in result.narrowing if r.source == "sub/b.py"]  # no isort rule selected there


def test_what_isort_comments_hid_is_not_counted_again_against_a_noqa_comment(tmp_path: Path, make_ctx: Any) -> None:
    files = {"ruff.toml": ISORT, "app.py": "# isort: skip_file\n# ruff: noqa: F401\nimport sys\nimport os\n"}
    root = write(tmp_path / "p", files)
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    isort = [r for r in result.narrowing if r.detail == "# isort: skip_file"]
    noqa = [r for r in result.narrowing if r.detail == "# ruff: noqa: F401"]
    assert [r.suppressed for r in isort] == [1] and [r.suppressed for r in noqa] == [2]
    assert result.metrics["suppressed"] == 3 and result.status is Status.PASS


@pytest.mark.parametrize("mark", ["\x0c\x0c", "\x1c\x1d", "\u2028\u2028"])
def test_a_character_str_splitlines_splits_on_does_not_move_the_comment_neutralised(
    tmp_path: Path, make_ctx: Any, mark: str
) -> None:
    # a form feed (a page break in older sources) or another character that str.splitlines takes for a
    # line end but Python and ruff do not: the comment neutralised is the one on the line tokenize named
    text = f"# {mark}\n# isort: skip_file\n" + BODY
    files = {"ruff.toml": ISORT, "app.py": text}
    root = write(tmp_path / "p", files)
    assert ruff_by_hand(root, "--ignore-noqa") == set()
    assert {rule for rule, _, _ in without_comments(tmp_path, files)} == {"I001"}
    honoured = LintChecker().run(section(LintChecker), make_ctx(root))
    assert find(honoured, "file-comment", source="app.py").suppressed == 1
    ignored = LintChecker().run(section(LintChecker, project_config="ignore"), make_ctx(root))
    expected = ruff_by_hand(write(tmp_path / "plain2", {"app.py": text.replace("isort", "xsort")}), "--isolated")
    assert {(f.rule_id, f.location.path, f.location.line) for f in ignored.findings} == expected
    assert isortcomments.neutralised(text.encode()) == text.replace("isort", "xsort").encode()


def test_a_file_ruff_cannot_read_as_utf8_is_its_e902_not_an_error(tmp_path: Path, make_ctx: Any) -> None:
    # ruff reads no comment of a file that is not UTF-8 (it reports E902 for it) and refuses such a
    # text on stdin: the comment in it hides nothing and the check is not an error
    text = b'# -*- coding: latin-1 -*-\n# isort: skip_file\nimport sys\nimport os\n\nprint(os, sys, "\xe9")\n'
    root = write(tmp_path / "p", {"ruff.toml": ISORT})
    (root / "app.py").write_bytes(text)
    expected = ruff_by_hand(root, "--ignore-noqa")
    assert {rule for rule, _, _ in expected} == {"E902"}
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.FAIL
    assert {(f.rule_id, f.location.path, f.location.line) for f in result.findings} == expected
    assert not [r for r in result.narrowing if r.source == "app.py"]


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        # a comment in a replacement field that spans lines (Python 3.12): before 3.12, tokenize reads the
        # f-string as one token and saw no comment in it
        ('s = f"""{\n    1  # isort: skip_file\n}"""\n', "file-comment"),
        # an f-string tokenize before 3.12 cannot read (it opens a triple-quoted string to the end of the
        # file): the file is read line by line, and the comment is not the line's first "#"
        ('s = f"{"\'\'\'"}"\nx = "#"  # isort: off\n', "range-comment"),
    ],
)
def test_a_comment_ruff_reads_in_python_312s_grammar_is_reported(tmp_path: Path, make_ctx: Any, head: str, kind: str) -> None:
    files = {"ruff.toml": ISORT, "app.py": head + BODY.replace("os, sys", "os, sys, s")}
    root = write(tmp_path / "p", files)
    assert ruff_by_hand(root, "--ignore-noqa") == set()  # ruff honours the comment
    assert {rule for rule, _, _ in without_comments(tmp_path, files)} == {"I001"}
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS
    assert find(result, kind, source="app.py").suppressed == 1
    ignored = LintChecker().run(section(LintChecker, project_config="ignore"), make_ctx(root))
    plain = {"app.py": files["app.py"].replace("isort", "xsort")}
    expected = ruff_by_hand(write(tmp_path / "plain2", plain), "--isolated")
    assert {(f.rule_id, f.location.path, f.location.line) for f in ignored.findings} == expected


def _notebook(*cells: str) -> str:
    code = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": cell}
            for i, cell in enumerate(cells)]  # fmt: skip
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    return json.dumps({"cells": code, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def test_an_isort_action_comment_in_a_notebook_is_reported(tmp_path: Path, make_ctx: Any) -> None:
    # ruff checks the code cells of a notebook, and honours the comments in them as in a module
    text = _notebook("x = 1\n", "# isort: skip_file\nimport sys\nimport os\n\nprint(os, sys)\n")
    root = write(tmp_path / "p", {"ruff.toml": ISORT, "a.ipynb": text})
    assert ruff_by_hand(root, "--ignore-noqa") == set()
    plain = write(tmp_path / "plain", {"ruff.toml": ISORT, "a.ipynb": text.replace("isort", "xsort")})
    assert {rule for rule, _, _ in ruff_by_hand(plain)} == {"I001"}
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert result.status is Status.PASS
    record = find(result, "file-comment", source="a.ipynb")
    assert (record.detail, record.suppressed) == ("# isort: skip_file", 1)
    ignored = LintChecker().run(section(LintChecker, project_config="ignore"), make_ctx(root))
    expected = ruff_by_hand(write(tmp_path / "plain2", {"a.ipynb": text.replace("isort", "xsort")}), "--isolated")
    assert {(f.rule_id, f.location.path, f.location.line) for f in ignored.findings} == expected


def test_what_a_comment_hid_in_one_notebook_cell_is_not_taken_for_anothers_finding(tmp_path: Path, make_ctx: Any) -> None:
    # ruff numbers a notebook's rows per cell: the I001 the comment hid in the second cell is at the same
    # row and column as the one ruff reports in the first, and is still one the comment hid
    unsorted = "import sys\nimport os\n\nprint(os, sys)\n"
    text = _notebook(unsorted + "# isort: off\n", unsorted.replace("sys", "re").replace("os", "abc"))
    root = write(tmp_path / "p", {"ruff.toml": ISORT, "a.ipynb": text})
    shown = ruff_by_hand(root, "--ignore-noqa")
    plain = write(tmp_path / "plain", {"ruff.toml": ISORT, "a.ipynb": text.replace("isort", "xsort")})
    assert (len(shown), len(ruff_raw(plain))) == (1, 2)
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert [f.rule_id for f in result.findings] == ["I001"]
    assert find(result, "range-comment", source="a.ipynb").suppressed == 1
    ignored = LintChecker().run(section(LintChecker, project_config="ignore"), make_ctx(root))
    assert [f.rule_id for f in ignored.findings] == ["I001", "I001"]


def ruff_raw(root: Path) -> list[dict[str, Any]]:
    """ruff's JSON diagnostics for ``root``, each entry as ruff prints it (a notebook's with its cell)."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "json", "--no-cache", "."],
        cwd=root, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    data: list[dict[str, Any]] = json.loads(done.stdout)
    return data
