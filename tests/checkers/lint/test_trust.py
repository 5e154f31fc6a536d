"""The lint check reads the project as ``ruff check`` does, writes nothing into it, and keeps its
configuration inside the root."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.lint import LintChecker
from gatekeeper.errors import ToolError
from gatekeeper.findings import Status
from tests.checkers.lint.test_checker import keys, ruff_by_hand
from tests.helpers.projects import git_init, section, write


def git_diff(root: Path) -> str:
    done = subprocess.run(["git", "diff", "--name-only"], cwd=root, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


@pytest.mark.parametrize("config", ["fix = true\n", "fix = true\nunsafe-fixes = true\n"])
def test_fix_in_the_projects_config_rewrites_nothing(tmp_path: Path, make_ctx: Any, config: str) -> None:
    root = write(
        tmp_path / "p",
        {
            "ruff.toml": config + '[lint]\nselect = ["F", "UP", "RUF"]\n',
            "m.py": "import os\nimport sys\nfrom typing import List\n\nx: List[int] = []\nprint(sys.argv)\n",
            "n.py": "def f(x):\n    return x == None or undefined\n",
        },
    )
    git_init(root)
    before = {p: (root / p).read_bytes() for p in ("m.py", "n.py")}
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert git_diff(root) == ""  # the work tree still equals what git holds
    assert {p: (root / p).read_bytes() for p in before} == before
    assert not (root / ".ruff_cache").exists()
    assert keys(result) == ruff_by_hand(root, "--no-fix") and result.status is Status.FAIL
    assert ("F401", "m.py", 1) in keys(result)  # the finding a fix would have removed
    assert "--no-fix" in result.metrics["command"] and "--no-unsafe-fixes" in result.metrics["command"]


def test_findings_equal_ruff_by_hand_with_ruff_toml_and_requires_python(tmp_path: Path, make_ctx: Any) -> None:
    """ruff takes the target version from requires-python beside a ruff.toml; an explicit --config would lose it."""
    root = write(
        tmp_path / "p",
        {
            "pyproject.toml": '[project]\nname = "x"\nversion = "0"\nrequires-python = ">=3.9"\n',
            "ruff.toml": '[lint]\nselect = ["UP", "F"]\n',
            "a.py": "from typing_extensions import Unpack\n\n\ndef f(*args: Unpack[tuple[int, ...]]) -> None: ...\n",
            "b.py": "import os\n",
        },
    )
    by_hand = ruff_by_hand(root)
    assert not any(rule == "UP044" for rule, _, _ in by_hand)  # needs 3.11: not for a >=3.9 project
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(result) == by_hand == {("F401", "b.py", 1)}


def test_findings_equal_ruff_by_hand_without_a_ruff_configuration(tmp_path: Path, make_ctx: Any) -> None:
    """Without any ruff configuration ruff still takes the target version from requires-python;
    --isolated (which keeps parent and user configurations out) would lose it."""
    root = write(
        tmp_path / "p",
        {
            "pyproject.toml": '[project]\nname = "x"\nversion = "0"\nrequires-python = ">=3.7"\n',
            "a.py": "from typing import List\n\nX: List[int] = []\n",
            "b.py": "import os\n",
        },
    )
    by_hand = ruff_by_hand(root)
    assert ("F401", "b.py", 1) in by_hand
    assert not any(rule == "UP035" for rule, _, _ in by_hand)  # typing.List is fine for a >=3.7 project
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(result) == by_hand


@pytest.mark.parametrize("requires", [">=3.5", ">3.8", ">=3.8.1", "!=3.9.*,>=3.8", ">=3.6,!=3.7.*", ">=3", "~=3.10", "<4,>=3.9"])
def test_the_target_version_is_the_one_ruff_takes_from_requires_python(tmp_path: Path, make_ctx: Any, requires: str) -> None:
    """ruff reads the lowest major.minor of the lower bounds, and none when that is not a version it
    knows (3.5): then its default applies, not 3.7. The findings say which version was taken."""
    files = {
        "pyproject.toml": f'[project]\nname = "x"\nversion = "0"\nrequires-python = "{requires}"\n',
        "a.py": "from typing import List, Optional\n\n\ndef f(x: Optional[List[int]]) -> List[int]:\n    return x or []\n",
        "b.py": "import os\n",
    }
    root = write(tmp_path / "p", files)
    by_hand = ruff_by_hand(root)
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(result) == by_hand
    if requires == ">=3.5":  # ruff takes no version from it: not what 3.7 gives
        assert by_hand != ruff_by_hand(root, "--target-version", "py37")
    if requires == ">3.8":  # 3.8, not the first version the specifier admits (3.9)
        assert by_hand == ruff_by_hand(root, "--target-version", "py38") != ruff_by_hand(root, "--target-version", "py39")


def test_nested_configurations_apply_as_ruff_applies_them(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p",
        {
            "ruff.toml": '[lint]\nselect = ["F"]\n',
            "sub/ruff.toml": '[lint]\nselect = ["E741"]\n',
            "a.py": "import os\n",
            "sub/b.py": "import os\nl = 1\n",
        },
    )
    git_init(root)
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(result) == ruff_by_hand(root) == {("F401", "a.py", 1), ("E741", "sub/b.py", 2)}
    assert result.metrics["config_files"] == ["ruff.toml", "sub/ruff.toml"]


@pytest.mark.parametrize("extend", ["/proc/self/environ", "../outside.toml"])
def test_an_extend_outside_the_root_is_an_error_that_shows_nothing_of_it(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch, extend: str
) -> None:
    monkeypatch.setenv("GK_TEST_MARKER", "marker-from-the-environment")
    write(tmp_path, {"outside.toml": "# marker-from-the-file\n[lint]\nignore = ['ALL']\n"})
    root = write(tmp_path / "p", {"pyproject.toml": f"[tool.ruff]\nextend = {extend!r}\n", "a.py": "import os\n"})
    with pytest.raises(ToolError) as caught:
        LintChecker().run(section(LintChecker), make_ctx(root))
    message = str(caught.value)
    assert "lies outside the project" in message and extend in message
    assert "marker-from" not in message


def test_a_configuration_error_of_ruff_does_not_quote_the_file(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"ruff.toml": '[lint]\nbogus_key = "quoted-value-never-shown"\n', "a.py": "x = 1\n"})
    with pytest.raises(ToolError) as caught:
        LintChecker().run(section(LintChecker), make_ctx(root))
    assert "unknown field `bogus_key`" in str(caught.value) and "line 2" in str(caught.value)
    assert "quoted-value-never-shown" not in str(caught.value)


def test_the_cache_key_covers_every_file_of_the_extend_chain(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p",
        {
            "pyproject.toml": '[tool.ruff]\nextend = "tools/base.toml"\n',
            "tools/base.toml": '[lint]\nselect = ["E711"]\n',
            "a.py": "import os\n",
        },
    )
    cache = tmp_path / "cache"
    first = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert first.status is Status.PASS and not first.findings
    write(root, {"tools/base.toml": '[lint]\nselect = ["F"]\n'})  # the extended file is tightened
    second = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert second.metrics["cached_files"] == 0
    assert keys(second) == ruff_by_hand(root) == {("F401", "a.py", 1)} and second.status is Status.FAIL


def test_a_ruff_toml_git_ignores_keys_the_cache_and_is_reported(tmp_path: Path, make_ctx: Any) -> None:
    """With ``respect-gitignore = false`` ruff checks the files of a folder git ignores with that
    folder's own ``ruff.toml``: its bytes decide the verdict as much as the root's, so a cached
    result made under one of its versions is never served under another."""
    root = write(tmp_path / "p", {"ruff.toml": "respect-gitignore = false\n", ".gitignore": "gen/\n", "app.py": "x = 1\n"})
    git_init(root)
    write(root, {"gen/bad.py": "import os\n", "gen/ruff.toml": '[lint]\nignore = ["F401"]\n'})
    cache = tmp_path / "cache"
    first = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert keys(first) == ruff_by_hand(root) == set() and first.status is Status.PASS
    assert "gen/ruff.toml" in [r.source for r in first.narrowing if r.kind == "config-file"]
    write(root, {"gen/ruff.toml": '[lint]\nignore = ["E501"]\n'})  # the file ruff reads, as a user edits it
    second = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert keys(second) == ruff_by_hand(root) == {("F401", "gen/bad.py", 1)} and second.status is Status.FAIL


def test_a_ruff_toml_git_ignores_that_is_a_link_is_read_reported_and_kept_inside_the_root(tmp_path: Path, make_ctx: Any) -> None:
    """ruff reads a ``ruff.toml`` through a link as any other: one in a folder git ignores that leads
    to a file ignoring F401 took gen/bad.py's finding away, unreported, and the check passed."""
    root = write(tmp_path / "p", {"ruff.toml": "respect-gitignore = false\n", ".gitignore": "gen/\ncfg/\n", "app.py": "x = 1\n"})
    git_init(root)
    write(root, {"gen/bad.py": "import os\n", "cfg/quiet.toml": '[lint]\nignore = ["F401"]\n'})
    assert ruff_by_hand(root) == {("F401", "gen/bad.py", 1)}
    (root / "gen" / "ruff.toml").symlink_to("../cfg/quiet.toml")
    assert ruff_by_hand(root) == set()  # ruff reads the link's target
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(result) == set() and result.status is Status.PASS
    assert "gen/ruff.toml" in [r.source for r in result.narrowing if r.kind == "config-file"]
    outside = write(tmp_path / "elsewhere", {"quiet.toml": '[lint]\nignore = ["F401"]\n'}) / "quiet.toml"
    (root / "gen" / "ruff.toml").unlink()
    (root / "gen" / "ruff.toml").symlink_to(outside)
    assert ruff_by_hand(root) == set()
    with pytest.raises(ToolError, match=r"gen/ruff\.toml leads outside the project"):
        LintChecker().run(section(LintChecker), make_ctx(root))


@pytest.mark.parametrize("where", ["above", "user"])
def test_a_configuration_outside_the_project_that_ruff_would_read_is_an_error(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """With ruff configured in a nested folder alone, ruff runs without --isolated, and for the root's
    files it reads the closest configuration above the root, else the user's: one there that turns
    a rule off hid the root's findings, and the check passed where ruff in the project alone fails."""
    quiet = '[lint]\nignore = ["F401"]\n'
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    root = write(tmp_path / "outer" / "p", {"a.py": "import os\n", "sub/ruff.toml": "line-length = 100\n", "sub/b.py": "x = 1\n"})
    git_init(root)
    assert ruff_by_hand(root) == {("F401", "a.py", 1)}
    config = write(tmp_path / ("outer" if where == "above" else "xdg/ruff"), {"ruff.toml": quiet}) / "ruff.toml"
    assert ruff_by_hand(root) == set()  # ruff by hand reads it for a.py
    with pytest.raises(ToolError, match="ruff would judge 1 file") as raised:
        LintChecker().run(section(LintChecker), make_ctx(root))
    assert f"(a.py) by {config}, a configuration outside the project" in str(raised.value)
    write(root, {"ruff.toml": "line-length = 90\n"})  # a root configuration: ruff reads nothing above it
    result = LintChecker().run(section(LintChecker), make_ctx(root))
    assert keys(result) == ruff_by_hand(root) == {("F401", "a.py", 1)} and result.status is Status.FAIL


@pytest.mark.parametrize("where", ["root", "src", "configured"])
def test_a_folder_that_makes_an_import_first_party_keys_the_cache(tmp_path: Path, make_ctx: Any, where: str) -> None:
    """ruff's isort calls ``import build`` first-party when a ``build`` folder lies in one of its
    source folders, tracked or not (a build leaves one, git ignores it): a result cached while it
    was there was served after it had gone, where ruff reports the block unsorted."""
    config = ('src = ["lib"]\n' if where == "configured" else "") + '[lint]\nselect = ["I"]\n'
    app = "import requests\n\nimport build\n\nprint(build, requests)\n"
    root = write(tmp_path / "p", {"ruff.toml": config, ".gitignore": "build/\n", "app.py": app})
    git_init(root)
    folder = root / {"root": "build", "src": "src/build", "configured": "lib/build"}[where]
    folder.mkdir(parents=True)
    cache = tmp_path / "cache"
    first = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert keys(first) == ruff_by_hand(root) == set() and first.status is Status.PASS
    folder.rmdir()  # gone: build is a third-party import, sorted before requests
    second = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert keys(second) == ruff_by_hand(root) == {("I001", "app.py", 1)} and second.status is Status.FAIL
