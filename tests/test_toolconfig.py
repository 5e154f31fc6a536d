"""A project's tool configuration: ruff's extend chain as ruff follows it, every file inside the root."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper import toolconfig
from gatekeeper.errors import ToolError
from tests.helpers.projects import write


def test_the_chain_follows_extend_from_each_files_own_folder(tmp_path: Path) -> None:
    root = write(
        tmp_path / "proj",
        {
            "pyproject.toml": '[project]\nname = "x"\n[tool.ruff]\nextend = "tools/base.toml"\nline-length = 90\n',
            "tools/base.toml": 'extend = "../shared/ruff.toml"\n[lint]\nignore = ["E501"]\n',
            "shared/ruff.toml": '[lint]\nselect = ["E"]\n',
            "pkg/ruff.toml": '[lint]\nselect = ["F"]\n',
            "pkg/pyproject.toml": '[project]\nrequires-python = ">=3.12"\n',
            "docs/pyproject.toml": '[project]\nname = "docs"\n',  # no [tool.ruff]: not ruff's
        },
    )
    chain = toolconfig.ruff_chain(root, "pyproject.toml")
    assert [c.path for c in chain] == ["pyproject.toml", "tools/base.toml", "shared/ruff.toml"]
    assert chain[0].options["line-length"] == 90 and chain[0].extend == "tools/base.toml"
    assert chain[2].options["lint"] == {"select": ["E"]} and chain[2].extend == ""
    tracked = [
        *("pyproject.toml", "tools/base.toml", "shared/ruff.toml"),
        *("pkg/ruff.toml", "pkg/pyproject.toml", "docs/pyproject.toml"),
    ]
    # shared/ruff.toml is also the configuration of its own folder, as ruff sees it
    assert toolconfig.ruff_configs(root, tracked) == ("pyproject.toml", "pkg/ruff.toml", "shared/ruff.toml")
    # the pyproject.toml beside a ruff.toml decides its target version: part of what decides ruff's settings
    assert toolconfig.ruff_files(root, tracked) == (
        "pyproject.toml",
        "tools/base.toml",
        "shared/ruff.toml",
        "pkg/ruff.toml",
        "pkg/pyproject.toml",
    )


def test_ruffs_own_order_in_a_folder(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"pyproject.toml": "[tool.ruff]\n", "ruff.toml": "", ".ruff.toml": ""})
    assert toolconfig.ruff_config(root) == ".ruff.toml"
    (root / ".ruff.toml").unlink()
    assert toolconfig.ruff_config(root) == "ruff.toml"
    (root / "ruff.toml").unlink()
    assert toolconfig.ruff_config(root) == "pyproject.toml"
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    assert toolconfig.ruff_config(root) == ""


@pytest.mark.parametrize(
    ("extend", "said"),
    [
        ("/proc/self/environ", "lies outside the project"),
        ("../outside.toml", "lies outside the project"),
        ("~/.config/ruff/ruff.toml", "~ or $ expansion"),
        ("$HOME/x.toml", "~ or $ expansion"),
        ("missing.toml", "no such file"),
    ],
)
def test_an_extend_leading_outside_the_root_is_refused_without_reading_it(tmp_path: Path, extend: str, said: str) -> None:
    write(tmp_path, {"outside.toml": "[lint]\nignore = ['ALL']\nSECRET_VALUE = 'hunter2-do-not-print'\n"})
    root = write(tmp_path / "proj", {"ruff.toml": f"extend = {extend!r}\n"})
    with pytest.raises(ToolError) as caught:
        toolconfig.ruff_chain(root, "ruff.toml")
    assert said in str(caught.value) and "ruff.toml" in str(caught.value)
    assert "hunter2" not in str(caught.value) and "PATH=" not in str(caught.value)


def test_a_link_leading_out_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"outside.toml": "[lint]\nignore = ['ALL']\n"})
    root = write(tmp_path / "proj", {"ruff.toml": 'extend = "base.toml"\n'})
    os.symlink(tmp_path / "outside.toml", root / "base.toml")
    with pytest.raises(ToolError, match="leads outside the project"):
        toolconfig.ruff_chain(root, "ruff.toml")
    # and a link to a file of the project is fine
    write(root, {"real.toml": "[lint]\n"})
    (root / "base.toml").unlink()
    os.symlink("real.toml", root / "base.toml")
    assert [c.path for c in toolconfig.ruff_chain(root, "ruff.toml")] == ["ruff.toml", "base.toml"]


def test_a_loop_and_a_broken_file_are_errors_that_quote_nothing(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"ruff.toml": 'extend = "a.toml"\n', "a.toml": 'extend = "ruff.toml"\n'})
    with pytest.raises(ToolError, match=re.escape("circle: ruff.toml -> a.toml -> ruff.toml")):
        toolconfig.ruff_chain(root, "ruff.toml")
    write(root, {"a.toml": "token = 'ghp_notreallyasecretbutlongenough123'\nthis is not toml\n"})
    with pytest.raises(ToolError) as caught:
        toolconfig.ruff_chain(root, "ruff.toml")
    assert "a.toml is not valid TOML" in str(caught.value) and "line 2" in str(caught.value)
    assert "ghp_" not in str(caught.value) and "not toml" not in str(caught.value)


def test_the_chain_is_the_one_ruff_itself_follows(tmp_path: Path) -> None:
    """ruff, run by hand, applies the setting from the far end of the chain that toolconfig found."""
    root = write(
        tmp_path / "proj",
        {
            "ruff.toml": 'extend = "cfg/base.toml"\n',
            "cfg/base.toml": 'extend = "../cfg2/more.toml"\n',
            "cfg2/more.toml": '[lint]\nselect = ["F401"]\n',
            "m.py": "import os\nx = undefined\n",
        },
    )
    assert [c.path for c in toolconfig.ruff_chain(root, "ruff.toml")][-1] == "cfg2/more.toml"
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "F401" in done.stdout and "F821" not in done.stdout  # only the far end's select applies


def test_digest_changes_with_any_file_of_the_chain(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"ruff.toml": 'extend = "b.toml"\n', "b.toml": "[lint]\n"})
    files = [c.path for c in toolconfig.ruff_chain(root, "ruff.toml")]
    before = toolconfig.digest(root, files)
    write(root, {"b.toml": '[lint]\nselect = ["ALL"]\n'})
    assert toolconfig.digest(root, files) != before


def test_a_configuration_read_again_is_parsed_once_and_each_reader_gets_a_copy_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check reads ruff's configuration files several times, each time from their bytes: the same
    text is parsed once, every reader gets a copy it may change, and new bytes are parsed anew."""
    from gatekeeper import tomlio

    root = write(tmp_path / "proj", {"ruff.toml": 'line-length = 90\n[lint]\nselect = ["E"]\n'})
    parsed: list[str] = []
    loads = tomlio.loads
    monkeypatch.setattr(tomlio, "loads", lambda text: parsed.append(text) or loads(text))
    first = toolconfig.ruff_options(root, "ruff.toml")
    assert first is not None
    first["lint"]["select"].append("F")
    assert toolconfig.ruff_options(root, "ruff.toml") == {"line-length": 90, "lint": {"select": ["E"]}}
    assert len(parsed) == 1
    (root / "ruff.toml").write_text('line-length = 80\n[lint]\nselect = ["E"]\n', encoding="utf-8")
    assert toolconfig.ruff_options(root, "ruff.toml") == {"line-length": 80, "lint": {"select": ["E"]}}
    assert len(parsed) == 2
