"""What the project's bandit configuration and ``# nosec`` marks narrow goes through the checker
contract's narrowing records, like every other check's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.security import SecurityChecker
from gatekeeper.errors import ToolError
from gatekeeper.findings import Status
from tests.helpers.narrowing import assert_reported, find
from tests.helpers.projects import bandit_json, git_init, section, write

SHELL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)"


def test_bandit_exclusions_skips_and_nosec_are_narrowing_records(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p",
        {
            ".bandit": "[bandit]\nexclude = ./legacy\nskips = B101\n",
            "legacy/old.py": SHELL + "\n",
            "app.py": SHELL + "  # nosec\n",
            "checks.py": "def f(x):\n    assert x\n",
        },
    )
    result = SecurityChecker().run(section(SecurityChecker, exclude=[]), make_ctx(root))
    assert result.status is Status.PASS and {f.rule_id for f in result.findings} == {"B404"}  # low: import subprocess
    excluded = find(result, "exclude", source=".bandit")
    assert (excluded.detail, excluded.files) == ("exclude = ./legacy", ("legacy/old.py",))
    assert find(result, "rules", source=".bandit").detail == "skips = B101"
    nosec = find(result, "line-comments", source="app.py")
    assert (nosec.line, nosec.suppressed) == (5, bandit_json(root, "-r", ".", "--ini", ".bandit")["metrics"]["_totals"]["nosec"])
    assert_reported(result, excluded)
    assert_reported(result, nosec)
    ignored = SecurityChecker().run(section(SecurityChecker, exclude=[], project_config="ignore"), make_ctx(root))
    assert ignored.narrowing == () and {f.location.path for f in ignored.findings} >= {"app.py", "legacy/old.py", "checks.py"}


def test_a_cached_discovery_follows_the_project_configuration(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p", {"legacy/old.py": SHELL + "\n", "app.py": SHELL + "\n", "checks.py": "def f(x):\n    assert x\n"}
    )
    cache = tmp_path / "cache"
    checker = SecurityChecker()

    def rules(result: Any) -> set[tuple[str, str]]:
        return {(f.rule_id, f.location.path) for f in result.findings if f.location and f.rule_id != "B404"}

    first = checker.run(section(checker), make_ctx(root, cache_dir=cache))
    assert ("B602", "legacy/old.py") in rules(first) and ("B101", "checks.py") in rules(first)
    (root / ".bandit").write_text("[bandit]\nexclude = ./legacy\nskips = B101\n")  # a new .bandit: asked again
    narrowed = checker.run(section(checker), make_ctx(root, cache_dir=cache))
    assert rules(narrowed) == rules(checker.run(section(checker), make_ctx(root))) == {("B602", "app.py")}
    (root / ".bandit").write_text("[bandit]\nskips = B101\n")  # the same names, other bytes: asked again
    again = checker.run(section(checker), make_ctx(root, cache_dir=cache))
    assert rules(again) == {("B602", "app.py"), ("B602", "legacy/old.py")}
    (root / "legacy" / "new.py").write_text(SHELL + "\n")  # a new file: found
    assert ("B602", "legacy/new.py") in rules(checker.run(section(checker), make_ctx(root, cache_dir=cache)))


ASSERTS = "def f(x):\n    assert x\n    return x\n"


def test_a_plugin_test_s_own_skips_and_a_config_file_named_by_bandit_are_reported(tmp_path: Path, make_ctx: Any) -> None:
    # [tool.bandit.assert_used] skips turns B101 off for the files it names: bandit's own setting, not its skips list
    pyproject = '[project]\nname = "p"\nversion = "0"\n\n[tool.bandit.assert_used]\nskips = ["*app.py"]\n'
    root = write(tmp_path / "p", {"pyproject.toml": pyproject, "app.py": ASSERTS})
    assert [r["test_id"] for r in bandit_json(root, "-r", ".")["results"]] == ["B101"]
    assert bandit_json(root, "-r", ".", "-c", "pyproject.toml")["results"] == []
    result = SecurityChecker().run(section(SecurityChecker), make_ctx(root))
    assert result.status is Status.PASS and result.findings == ()
    record = find(result, "option", source="pyproject.toml")
    assert record.detail == 'assert_used = {"skips": ["*app.py"]}'
    assert_reported(result, record)
    # a .bandit naming a config file (configfile): bandit loads it, and what it skips is reported
    other = write(
        tmp_path / "q", {".bandit": "[bandit]\nconfigfile = conf/bandit.yaml\n", "conf/bandit.yaml": "skips: ['B101']\n"}
    )
    (other / "app.py").write_text(ASSERTS)
    assert bandit_json(other, "-r", ".", "--ini", ".bandit")["results"] == []
    named = SecurityChecker().run(section(SecurityChecker), make_ctx(other))
    assert named.status is Status.PASS and named.findings == ()
    skips = find(named, "rules", detail="skips = B101 (in .bandit, conf/bandit.yaml)")
    assert_reported(named, skips)


def test_a_cached_scan_follows_the_config_file_a_bandit_file_names(tmp_path: Path, make_ctx: Any) -> None:
    # a config file named by .bandit's configfile decides the scan as much as .bandit itself does
    root = write(
        tmp_path / "p", {".bandit": "[bandit]\nconfigfile = conf/bandit.yaml\n", "conf/bandit.yaml": "skips: ['B602']\n"}
    )
    (root / "app.py").write_text(SHELL + "\n")
    cache = tmp_path / "cache"
    checker = SecurityChecker()

    def run() -> Any:
        return checker.run(section(checker), make_ctx(root, cache_dir=cache))

    def by_hand() -> set[str]:
        return {r["test_id"] for r in bandit_json(root, "-r", ".", "--ini", ".bandit")["results"]}

    first = run()
    assert {f.rule_id for f in first.findings} == by_hand() == {"B404"}
    assert find(first, "rules", detail="skips = B602 (in .bandit, conf/bandit.yaml)")
    (root / "conf" / "bandit.yaml").write_text("skips: []\n")  # the skip is gone: scanned again, no record left
    second = run()
    assert {f.rule_id for f in second.findings} == by_hand() == {"B404", "B602"}
    assert not [n for n in second.narrowing if n.kind == "rules"]


def _notebook(code: str) -> str:
    cell = {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": [code]}
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    return json.dumps({"cells": [cell], "metadata": meta, "nbformat": 4, "nbformat_minor": 5})


def test_notebooks_bandit_never_reads_are_reported_not_scanned(tmp_path: Path, make_ctx: Any) -> None:
    """bandit scans .py files only: a notebook's shell=True call is in no bandit report, by hand or
    through the check, so the check names the notebooks in the scanned paths it could not look at."""
    root = write(
        tmp_path / "p",
        {
            "app.py": "x = 1\n",
            "docs/analysis.ipynb": _notebook(SHELL),
            "tests/fixture.ipynb": _notebook(SHELL),  # excluded by the policy: not in the scan's scope
            "scratch.ipynb": _notebook("print(1)"),  # not tracked: not the project's
        },
    )
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "app.py", "docs", "tests"], cwd=root, check=True)
    by_hand = bandit_json(root, "-r", ".")
    assert by_hand["results"] == [] and sorted(by_hand["metrics"]) == ["./app.py", "_totals"]
    result = SecurityChecker().run(section(SecurityChecker, exclude=["tests"]), make_ctx(root))
    assert result.findings == () and result.metrics["files_scanned"] == 1
    unread = find(result, "not-scanned")
    assert (unread.detail, unread.files) == ("1 Jupyter notebook (.ipynb)", ("docs/analysis.ipynb",))
    assert "bandit scans Python source files (.py) only" in unread.effect
    assert result.metrics["notebooks_not_scanned"] == 1
    assert result.summary.endswith("; 1 notebook (.ipynb) not scanned")
    assert_reported(result, unread)
    only_app = SecurityChecker().run(section(SecurityChecker, paths=["app.py"]), make_ctx(root))
    assert only_app.narrowing == () and only_app.metrics["notebooks_not_scanned"] == 0


def test_a_baseline_a_bandit_file_names_is_reported_with_what_it_hid_and_keys_the_cache(tmp_path: Path, make_ctx: Any) -> None:
    # bandit leaves out every issue equal to one its baseline lists (file, test and text, any line):
    # a baseline listing one shell=True call hides the second one too
    root = write(tmp_path / "p", {"app/x.py": SHELL + "\n\n\ndef again(cmd):\n    return subprocess.call(cmd, shell=True)\n"})
    everything = bandit_json(root, "-r", "app")["results"]
    assert sorted(r["test_id"] for r in everything) == ["B404", "B602", "B602"]
    one = [r for r in everything if r["test_id"] == "B602"][:1]
    write(root, {"app/bl.json": json.dumps({"results": one}), "app/.bandit": "[bandit]\nbaseline = app/bl.json\n"})
    assert [r["test_id"] for r in bandit_json(root, "-r", "app")["results"]] == ["B404"]
    cache = tmp_path / "cache"
    checker = SecurityChecker()

    def run() -> Any:
        return checker.run(section(checker, paths=["app"], workers=1), make_ctx(root, cache_dir=cache))

    first = run()
    assert [f.rule_id for f in first.findings] == ["B404"] and first.status is Status.PASS
    record = find(first, "option", detail="baseline = app/bl.json")
    assert (record.files, record.suppressed) == (("app/x.py",), 2)
    assert "one listed issue hides every issue like it" in record.effect
    assert first.metrics["baseline_hidden"] == 2 and first.summary.endswith("2 hidden by its baseline")
    assert_reported(first, record)
    again = run()
    assert again.metrics["cached_files"] == 1 and find(again, "option", detail="baseline = app/bl.json").suppressed == 2
    # the baseline emptied, the file unchanged: its cached scan no longer applies
    write(root, {"app/bl.json": json.dumps({"results": []})})
    emptied = run()
    assert emptied.metrics["cached_files"] == 0
    assert sorted(f.rule_id for f in emptied.findings) == sorted(r["test_id"] for r in bandit_json(root, "-r", "app")["results"])
    assert emptied.status is Status.FAIL and find(emptied, "option", detail="baseline = app/bl.json").suppressed == 0


def test_files_bandit_s_own_exclusions_leave_out_are_reported_not_scanned(tmp_path: Path, make_ctx: Any) -> None:
    # bandit drops every path containing one of its default exclusions, a file's own name included:
    # a module named CVS_tools.py is never read, by hand or here, and that must not be silent
    files = {"app/main.py": SHELL + "\n", "app/CVS_tools.py": SHELL + "\n", "app/.tox_setup.py": SHELL + "\n"}
    root = write(tmp_path / "p", {**files, "app/lib.egg/ok.py": SHELL + "\n", "docs/x.py": SHELL + "\n"})
    git_init(root)
    scanned_by_hand = {r["filename"].removeprefix("./") for r in bandit_json(root, "-r", "app")["results"]}
    assert scanned_by_hand == {"app/main.py", "app/lib.egg/ok.py"}
    checker = SecurityChecker()
    result = checker.run(section(checker, paths=["app"], workers=1), make_ctx(root))
    assert {f.location.path for f in result.findings if f.location} == scanned_by_hand
    record = find(result, "not-scanned", detail="2 files bandit's default exclusions left out")
    assert record.files == ("app/.tox_setup.py", "app/CVS_tools.py")  # docs/x.py lies outside the paths scanned
    assert "as a substring: a file's own name counts" in record.effect
    assert_reported(result, record)


def test_a_bandit_configuration_outside_the_project_is_refused(tmp_path: Path, make_ctx: Any) -> None:
    # bandit by hand loads the file .bandit names wherever it is: there its skips hide B602
    outside = tmp_path / "shared" / "bandit.yaml"
    outside.parent.mkdir()
    outside.write_text("skips: ['B602']\n")
    checker = SecurityChecker()
    for how, files in (
        ("by its name", {".bandit": f"[bandit]\nconfigfile = {outside}\n"}),
        ("through a link", {".bandit": "[bandit]\nconfigfile = conf/bandit.yaml\n"}),
    ):
        root = write(tmp_path / how.replace(" ", "-"), {**files, "app.py": SHELL + "\n"})
        if how == "through a link":
            (root / "conf").mkdir()
            (root / "conf" / "bandit.yaml").symlink_to(outside)
        assert {r["test_id"] for r in bandit_json(root, "-r", ".", "--ini", ".bandit")["results"]} == {"B404"}
        with pytest.raises(ToolError, match="lies outside the project"):
            checker.run(section(checker), make_ctx(root))
    linked = write(tmp_path / "linked-ini", {"app.py": SHELL + "\n"})
    (linked / ".bandit").symlink_to(write(tmp_path / "elsewhere", {"x.ini": "[bandit]\nskips = B602\n"}) / "x.ini")
    with pytest.raises(ToolError, match=r"\.bandit lies outside the project"):
        checker.run(section(checker), make_ctx(linked))
