"""Every way a project's mypy configuration or comments narrow the types check is reported;
``project_config = "ignore"`` runs mypy on a configuration of gatekeeper's own, outside the tree."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from typing import Any

from gatekeeper.checkers.types import TypesChecker, narrowing
from gatekeeper.findings import Status
from tests.checkers.types.test_checker import keys, mypy_by_hand
from tests.helpers.narrowing import assert_reported, find
from tests.helpers.projects import section, write

WRONG = 'x: int = "no"\n'


def test_an_inline_ignore_errors_comment_is_reported(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"app.py": "# mypy: ignore-errors\n" + WRONG})
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and mypy_by_hand(root, ".") == []  # honoured, as mypy honours it
    record = find(result, "file-comment", source="app.py")
    assert (record.line, record.detail) == (1, "# mypy: ignore-errors")
    assert_reported(result, record)


def test_a_file_level_type_ignore_is_told_apart_from_line_ones(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p",
        {
            "whole.py": "# type: ignore\n" + WRONG,
            "lines.py": '"""Doc."""\n# type: ignore\ny: int = "a"  # type: ignore[assignment]\n',
        },
    )
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and mypy_by_hand(root, ".") == []
    whole = find(result, "file-comment", source="whole.py")
    assert whole.effect.startswith("mypy reports no error in this file")
    lines = find(result, "line-comments", source="lines.py")
    assert lines.detail == "2 × # type: ignore (line 2, 3)"  # after the docstring: not file-level
    assert_reported(result, whole)


def test_comments_after_a_byte_order_mark_are_reported_as_mypy_reads_them(tmp_path: Path, make_ctx: Any) -> None:
    # mypy drops a UTF-8 BOM before it reads the file: both comments then start line 1
    root = write(
        tmp_path / "p", {"inline.py": "\ufeff# mypy: ignore-errors\n" + WRONG, "whole.py": "\ufeff# type: ignore\n" + WRONG}
    )
    assert (root / "inline.py").read_bytes().startswith(b"\xef\xbb\xbf# mypy")
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and mypy_by_hand(root, ".") == []  # honoured, as mypy honours them
    inline = find(result, "file-comment", source="inline.py")
    assert (inline.line, inline.detail) == (1, "# mypy: ignore-errors")
    whole = find(result, "file-comment", source="whole.py")
    assert whole.effect.startswith("mypy reports no error in this file")
    assert_reported(result, inline)


def test_files_in_the_config_that_leave_code_out_are_listed(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"mypy.ini": "[mypy]\nfiles = app/__init__.py\n", "app/__init__.py": "", "app/core.py": WRONG})
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and mypy_by_hand(root) == []
    record = find(result, "exclude", source="mypy.ini")
    assert (record.line, record.detail, record.files) == (2, "files = app/__init__.py", ("app/core.py",))
    assert_reported(result, record)
    ignored = TypesChecker().run(section(TypesChecker, project_config="ignore"), make_ctx(root))
    assert keys(mypy_by_hand(root, "--config-file", "", ".")) == {("assignment", "app/core.py", 1)}
    assert {(f.rule_id, f.location.path) for f in ignored.findings} == {("assignment", "app/core.py")}
    assert ignored.status is Status.FAIL and ignored.narrowing == () and ignored.metrics["config"] is None


def test_exclude_and_relaxing_overrides_name_the_files_they_affect(tmp_path: Path, make_ctx: Any) -> None:
    config = '[tool.mypy]\nexclude = ["^gen/"]\n[[tool.mypy.overrides]]\nmodule = "app.legacy.*"\nignore_errors = true\n'
    root = write(
        tmp_path / "p",
        {
            "pyproject.toml": config,
            "gen/out.py": WRONG,
            "app/__init__.py": "",
            "app/legacy/__init__.py": "",
            "app/legacy/old.py": WRONG,
        },
    )
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and mypy_by_hand(root, ".") == []
    assert find(result, "exclude", source="pyproject.toml").files == ("gen/out.py",)
    override = find(result, "option", source="pyproject.toml")
    assert override.files == ("app/legacy/__init__.py", "app/legacy/old.py")
    assert_reported(result, override)


def test_with_project_config_ignore_inline_comments_still_apply_and_say_so(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p", {"mypy.ini": "[mypy]\nignore_errors = True\n", "a.py": WRONG, "b.py": "# mypy: ignore-errors\n" + WRONG}
    )
    result = TypesChecker().run(section(TypesChecker, project_config="ignore"), make_ctx(root))
    assert {f.location.path for f in result.findings} == {"a.py"}  # mypy.ini not read; b.py's comment cannot be disregarded
    (record,) = result.narrowing
    assert record.source == "b.py" and record.effect.endswith("mypy cannot be told to disregard it")


def test_only_settings_that_relax_mypy_are_reported() -> None:
    text = (
        "[mypy]\nstrict = True\nfollow_imports = silent\n\n"
        "[mypy-tests.*]\ndisallow_untyped_defs = False\ncheck_untyped_defs = True\n"
    )
    main = {"strict": "True", "follow_imports": "silent"}
    overrides = [{"module": "tests.*", "disallow_untyped_defs": "False", "check_untyped_defs": "True"}]
    records = narrowing.config_records(("mypy.ini", text), main, overrides, ["app/x.py", "tests/test_x.py"])
    assert [(r.kind, r.line, r.detail, r.files) for r in records] == [
        ("config-file", None, "", ()),
        ("option", 3, "follow_imports = silent", ()),
        ("option", 5, "module = tests.*: disallow_untyped_defs = False", ("tests/test_x.py",)),
    ]


OPTIONAL = "from typing import Optional\n\n\ndef f(x: Optional[int]) -> int:\n    return x\n"


def test_turning_off_a_check_mypy_runs_by_default_is_reported(tmp_path: Path, make_ctx: Any) -> None:
    # strict_optional = False hides every Optional error; always_false keeps code from being checked
    config = "[mypy]\nstrict_optional = False\nalways_false = DEBUG\nplatform = win32\n"
    code = OPTIONAL + "DEBUG = 0\nif DEBUG:\n    " + WRONG + "import sys\nif sys.platform == 'linux':\n    " + WRONG
    root = write(tmp_path / "p", {"mypy.ini": config, "app.py": code})
    assert mypy_by_hand(root, "--config-file", "/dev/null", "app.py") != []  # what mypy reports without it
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and mypy_by_hand(root, ".") == []
    optional = find(result, "option", detail="strict_optional = False")
    assert optional.line == 2 and "no Optional error" in optional.effect
    assert find(result, "option", detail="always_false = DEBUG").line == 3
    assert find(result, "option", detail="platform = win32").line == 4
    assert_reported(result, optional)


def test_the_no_spelling_of_a_setting_is_read_as_mypy_reads_it(tmp_path: Path, make_ctx: Any) -> None:
    # mypy reads no_strict_optional = True as strict_optional = False
    root = write(tmp_path / "p", {"mypy.ini": "[mypy]\nno_strict_optional = True\n", "app.py": OPTIONAL})
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and mypy_by_hand(root, ".") == []
    assert find(result, "option", detail="no_strict_optional = True").line == 2


def test_exclude_gitignore_names_the_files_mypy_leaves_out(tmp_path: Path, make_ctx: Any) -> None:
    # .gitignore names a folder and a pattern; legacy_api.py is tracked all the same (git add -f), which mypy does not ask
    files = {
        "mypy.ini": "[mypy]\nexclude_gitignore = True\n",
        ".gitignore": "generated/\nlegacy_*.py\n",
        "app.py": "x: int = 1\n",
        "generated/models.py": WRONG,
        "pkg/legacy_api.py": WRONG,
        "pkg/__init__.py": "",
    }
    root = write(tmp_path / "p", files)
    for args in (["init", "-q"], ["add", "-A"], ["add", "-f", "pkg/legacy_api.py"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    unfiltered = {e["file"] for e in mypy_by_hand(root, "--config-file", "/dev/null", ".")}
    assert unfiltered == {"generated/models.py", "pkg/legacy_api.py"}  # what mypy reports without the setting
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and mypy_by_hand(root, ".") == []  # honoured, as mypy honours it
    record = find(result, "option", detail="exclude_gitignore = True")
    assert record.files == ("generated/models.py", "pkg/legacy_api.py")
    assert record.effect == "mypy skips the files .gitignore names: those listed, as mypy finds them"
    assert_reported(result, record)
    # the policy's own paths: only what mypy leaves out of them
    narrowed = TypesChecker().run(section(TypesChecker, paths=["pkg"]), make_ctx(root))
    assert find(narrowed, "option", detail="exclude_gitignore = True").files == ("pkg/legacy_api.py",)


def test_functions_no_type_check_takes_out_of_the_check_are_reported(tmp_path: Path, make_ctx: Any) -> None:
    """``@no_type_check`` (under any name it was imported as, or through the module) makes mypy skip
    a function's body and calls: mypy by hand reports nothing, and each such function is named."""
    code = (
        "import typing as t\nfrom typing import no_type_check as unchecked\n\n\n"
        "@unchecked\ndef f(x: int) -> str:\n    return x\n\n\n"
        "class C:\n    @t.no_type_check\n    def g(self, x: int) -> str:\n        return x\n\n\n"
        "def no_type_check(fn):\n    return fn\n\n\n"  # a decorator of its own, which mypy does not honour
        "def h(x: int) -> int:\n    return x\n\n\ny: int = f('a')\n"
    )
    root = write(tmp_path / "p", {"app.py": code})
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and mypy_by_hand(root, ".") == []
    records = [(n.line, n.detail) for n in result.narrowing if n.kind == "range-comment"]
    assert records == [(5, "@unchecked on f (lines 5-7)"), (11, "@t.no_type_check on g (lines 11-13)")]
    assert_reported(result, find(result, "range-comment", source="app.py", line=5))


def test_comment_records_come_only_from_lines_holding_the_comment(tmp_path: Path) -> None:
    """A text searched whole first still yields exactly the per-line records: a comment broken over
    two lines (which a search of the whole text matches) is no comment, and neither is one in the
    middle of a line for ``# mypy:``."""
    from gatekeeper.checkers.source import Sources

    files = {
        "split.py": "x = 1  #\ttype:\n ignore\ny = 2  # mypy: ignore-errors\n",
        "plain.py": "from typing import Any\nx: Any = 1\n",
        "both.py": "# mypy: strict\n# type: ignore\nz = 1  # type: ignore[misc]\n",
        "crlf.py": "a = 1\r\nb = 2  # type:ignore\r\n",
    }
    root = write(tmp_path / "p", files)
    records = narrowing.comment_records(sorted(files), Sources(root), honour=True)
    assert [(r.kind, r.source, r.line, r.detail) for r in records] == [
        ("file-comment", "both.py", 1, "# mypy: strict"),
        ("file-comment", "both.py", 2, "# type: ignore"),
        ("line-comments", "both.py", 3, "1 × # type: ignore (line 3)"),
        ("line-comments", "crlf.py", 2, "1 × # type: ignore (line 2)"),
    ]


def test_modules_mypy_passes_over_for_a_stub_or_a_package_beside_them_are_listed(tmp_path: Path, make_ctx: Any) -> None:
    wrong = "def f(x: int) -> str:\n    return x\n"
    root = write(
        tmp_path / "p",
        {
            "pkg/__init__.py": "",
            "pkg/stubbed.py": wrong,
            "pkg/stubbed.pyi": "def f(x: int) -> str: ...\n",
            "pkg/dup.py": wrong,
            "pkg/dup/__init__.py": "",
            "pkg/fine.py": "from pkg.stubbed import f\n\nY: str = f(1)\n",
        },
    )
    # given the folder, mypy checks the stub and the package in their place; named, each file has an error
    assert mypy_by_hand(root, ".") == []
    assert {i["file"] for i in mypy_by_hand(root, "pkg/stubbed.py", "pkg/fine.py")} == {"pkg/stubbed.py"}
    assert {i["file"] for i in mypy_by_hand(root, "pkg/dup.py")} == {"pkg/dup.py"}
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS and result.metrics["errors"] == 0
    stub = find(result, "not-scanned", files=("pkg/stubbed.py",))
    assert stub.detail == "1 module(s) with a stub beside them: pkg/stubbed.pyi"
    assert_reported(result, stub)
    package = find(result, "not-scanned", files=("pkg/dup.py",))
    assert package.detail == "1 file(s) beside a package of their name: pkg/dup/"
    # named one by one, mypy checks a file whatever lies beside it: nothing is passed over
    named = TypesChecker().run(section(TypesChecker, paths=["pkg/stubbed.py", "pkg/fine.py"]), make_ctx(root))
    assert named.status is Status.FAIL and [n for n in named.narrowing if n.kind == "not-scanned"] == []
    ignored = TypesChecker().run(section(TypesChecker, project_config="ignore"), make_ctx(root))
    assert {n.files for n in ignored.narrowing if n.kind == "not-scanned"} == {("pkg/stubbed.py",), ("pkg/dup.py",)}


def test_settings_mypy_reads_from_its_configuration_that_hide_errors_are_reported(tmp_path: Path, make_ctx: Any) -> None:
    # the project's own typeshed, in which an int is a str; an empty body; a bytearray for bytes
    code = "def f(x: int) -> str:\n    return x\n\n\ndef g() -> int:\n    pass\n\n\nB: bytes = bytearray()\n"
    root = write(tmp_path / "p", {"app.py": code})
    spec = importlib.util.find_spec("mypy")
    assert spec is not None and spec.submodule_search_locations
    shutil.copytree(Path(spec.submodule_search_locations[0]) / "typeshed", root / "ts")
    builtins = root / "ts" / "stdlib" / "builtins.pyi"
    builtins.write_text(builtins.read_text(encoding="utf-8").replace("\nclass int:", "\nclass int(str):", 1), encoding="utf-8")
    assert {i["code"] for i in mypy_by_hand(root, "app.py")} == {"return-value", "empty-body", "assignment"}
    write(root, {"mypy.ini": "[mypy]\ncustom_typeshed_dir = ts\nallow_empty_bodies = True\nstrict_bytes = False\n"})
    assert mypy_by_hand(root, "app.py") == []
    result = TypesChecker().run(section(TypesChecker, paths=["app.py"]), make_ctx(root))
    assert result.status is Status.PASS
    assert [(r.line, r.detail) for r in result.narrowing if r.kind == "option"] == [
        (2, "custom_typeshed_dir = ts"),
        (3, "allow_empty_bodies = True"),
        (4, "strict_bytes = False"),
    ]
    assert "not its own" in find(result, "option", detail="custom_typeshed_dir = ts").effect


def test_files_mypy_s_search_passes_over_by_name_are_listed(tmp_path: Path, make_ctx: Any) -> None:
    wrong = "def f(x: int) -> str:\n    return x\n"
    root = write(
        tmp_path / "p",
        {".ci/deploy.py": wrong, "pkg/__init__.py": "", "pkg/.hidden.py": wrong, "pkg/ok.py": "X: int = 1\n", "notes.txt": ""},
    )
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    # given the root, mypy passes over a hidden folder and a hidden file; named, each has an error
    assert mypy_by_hand(root, ".") == []
    assert {i["file"] for i in mypy_by_hand(root, ".ci/deploy.py", "pkg/.hidden.py")} == {".ci/deploy.py", "pkg/.hidden.py"}
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS
    record = find(result, "not-scanned", files=(".ci/deploy.py", "pkg/.hidden.py"))
    assert "passes over such names" in record.effect
    assert_reported(result, record)
    # a hidden folder named as the folder to search is searched: nothing passed over
    named = TypesChecker().run(section(TypesChecker, paths=[".ci"]), make_ctx(root))
    assert named.status is Status.FAIL and [n for n in named.narrowing if n.kind == "not-scanned"] == []


def test_the_allow_and_disallow_spellings_of_a_setting_are_read_as_mypy_reads_them(tmp_path: Path, make_ctx: Any) -> None:
    # mypy reads allow_any_generics = True as disallow_any_generics = False (the strict check off for
    # the module), and disallow_empty_bodies = False as allow_empty_bodies = True
    code = "def f(x: list) -> int:\n    return 1\n\n\ndef g() -> int:\n    pass\n"
    root = write(tmp_path / "p", {"mypy.ini": "[mypy]\n", "app.py": code})
    assert {i["code"] for i in mypy_by_hand(root, "--strict", "app.py")} == {"type-arg", "empty-body"}
    write(root, {"mypy.ini": "[mypy]\ndisallow_empty_bodies = False\n\n[mypy-app]\nallow_any_generics = True\n"})
    assert mypy_by_hand(root, "--strict", "app.py") == []
    result = TypesChecker().run(section(TypesChecker, strict=True), make_ctx(root))
    assert result.status is Status.PASS
    bodies = find(result, "option", detail="disallow_empty_bodies = False")
    assert bodies.line == 2 and "empty" in bodies.effect
    generics = find(result, "option", detail="module = app: allow_any_generics = True")
    assert generics.files == ("app.py",) and "generic types without parameters" in generics.effect
    assert_reported(result, generics)
