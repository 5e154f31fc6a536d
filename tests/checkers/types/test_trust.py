"""The types check: mypy's own verdict on notes, and an incremental cache nobody can poison."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.types import TypesChecker
from gatekeeper.errors import ToolError, ToolMissing
from gatekeeper.findings import Severity, Status
from tests.checkers.types.test_checker import finding_keys, keys, mypy_by_hand
from tests.helpers.dists import bare_venv
from tests.helpers.projects import PYTHON, run_tool, section, write

GOOD = "def f(x: int) -> int:\n    return x\n"
BAD = "def f(x: int) -> str:\n    return x\n"  # the same length: mypy then trusts the meta's digest


def test_a_project_whose_only_message_is_a_note_passes_as_mypy_says(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"m.py": 'def f():\n    x: int = "a"\n    return x\n'})
    plain = run_tool([PYTHON, "-m", "mypy", "--cache-dir", str(tmp_path / "c"), "m.py"], root, check=False)
    assert plain.returncode == 0 and "Success" in plain.stdout  # mypy's own verdict
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.PASS
    assert [(f.rule_id, f.severity, f.blocking) for f in result.findings] == [("annotation-unchecked", Severity.INFO, False)]
    assert finding_keys(result) == keys(mypy_by_hand(root, "."))


def poison(cache: Path, root: Path) -> int:
    """Give ``m.py`` the failing text and make mypy's cached meta vouch for it (its digest edited)."""
    old, new = (hashlib.sha1(t.encode(), usedforsecurity=False).hexdigest().encode() for t in (GOOD, BAD))
    write(root, {"m.py": BAD})
    edited = 0
    for db in cache.rglob("cache.*.db"):
        with sqlite3.connect(db) as con:
            for path, data in con.execute("select path, data from files2").fetchall():
                if old in data:
                    con.execute("update files2 set data = ? where path = ?", (data.replace(old, new), path))
                    edited += 1
    for meta in cache.rglob("m.meta.json"):  # mypy's JSON cache format, when sqlite is off
        meta.write_bytes(meta.read_bytes().replace(old, new))
        edited += 1
    return edited


def test_an_edited_mypy_cache_outside_the_tree_is_rejected_and_mypy_starts_cold(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"m.py": GOOD})
    cache = tmp_path / "cache"
    first = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache))
    assert first.status is Status.PASS and first.metrics["incremental_cache"] == "cold"
    again = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache))
    assert again.metrics["incremental_cache"] == "warm"
    (folder,) = (cache / "types").glob("mypy-*")
    assert poison(folder, root) == 1
    # the poisoned cache does fool mypy itself...
    mypy = [PYTHON, "-m", "mypy", "-O", "json", "--no-error-summary", "--python-executable", PYTHON]
    fooled = run_tool([*mypy, "--cache-dir", str(folder), "m.py"], root, check=False)
    assert fooled.returncode == 0 and fooled.stdout == ""
    shutil.rmtree(folder)
    write(root, {"m.py": GOOD})
    TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache))
    poison(folder, root)
    # ...but not the gate: the folder no longer matches its authenticated manifest
    result = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache))
    assert result.metrics["incremental_cache"] == "rejected"
    assert result.status is Status.FAIL and finding_keys(result) == {("return-value", "m.py", 2)}


def test_what_mypy_rewrites_in_a_warm_run_is_sealed_as_it_left_it(tmp_path: Path, make_ctx: Any) -> None:
    # seal hashes again only the files whose stat data changed since verify: what mypy rewrote
    root = write(tmp_path / "p", {"m.py": GOOD, "n.py": "from m import f\n\nX = f(1)\n"})
    cache = tmp_path / "cache"
    assert TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache)).metrics["incremental_cache"] == "cold"
    write(root, {"m.py": GOOD + "\n\ndef g(y: str) -> str:\n    return y\n"})  # mypy rewrites its cache of m
    changed = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache))
    assert changed.metrics["incremental_cache"] == "warm" and changed.status is Status.PASS
    again = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache))
    assert again.metrics["incremental_cache"] == "warm"  # the manifest holds what mypy wrote
    assert finding_keys(again) == finding_keys(changed) == keys(mypy_by_hand(root, "."))


def test_a_stale_digest_in_a_sealed_manifest_empties_the_folder_never_vouches_for_it(tmp_path: Path) -> None:
    from gatekeeper.checkers.types import incremental

    folder, cache = tmp_path / "mypy-t", tmp_path / "cache"
    write(folder, {"a.db": "one", "b.db": "two"})
    hashed: incremental.Hashed = {}
    incremental.seal(cache, folder, "t")
    assert incremental.verify(cache, folder, "t", seen=hashed) == "warm" and set(hashed) == {"a.db", "b.db"}
    stamp, _ = hashed["a.db"]
    incremental.seal(cache, folder, "t", known={"a.db": (stamp, "0" * 64)})  # as if a.db changed unseen
    assert incremental.verify(cache, folder, "t") == "rejected" and not folder.exists()


def test_a_mypy_cache_inside_the_tree_is_never_read(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"m.py": GOOD})
    outside = tmp_path / "cache"
    TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=outside))
    (folder,) = (outside / "types").glob("mypy-*")
    committed = root / ".gkcache" / "types" / folder.name  # where a policy's cache.dir = ".gkcache" puts it
    shutil.copytree(folder, committed)
    assert poison(committed, root) == 1
    result = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=root / ".gkcache"))
    assert result.metrics["incremental_cache"].startswith("not kept: cache.dir lies inside the project")
    assert result.status is Status.FAIL and finding_keys(result) == {("return-value", "m.py", 2)}


@pytest.mark.parametrize(
    ("ini", "said"),
    [
        ("[mypy]\njunit_xml = ../written-outside.xml\n", "sets junit_xml: mypy would write reports"),
        ("[mypy]\nplugins = tools/plugin.py\n", "names the plugin file tools/plugin.py: mypy would run it"),
    ],
)
def test_a_config_that_writes_or_runs_checkout_code_is_refused(tmp_path: Path, make_ctx: Any, ini: str, said: str) -> None:
    root = write(tmp_path / "p", {"mypy.ini": ini, "m.py": GOOD, "tools/plugin.py": "raise SystemExit('ran')\n"})
    with pytest.raises(ToolError, match=said):
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert not (tmp_path / "written-outside.xml").exists()


@pytest.mark.parametrize("setting", ["bazel = True", "no_bazel = False"])
def test_a_mypy_cache_the_checkout_commits_for_bazel_mode_is_refused(tmp_path: Path, make_ctx: Any, setting: str) -> None:
    # bazel mode: mypy keeps its cache in its working directory (the root) and trusts a module's
    # cached result without comparing the file with it; a committed cache vouches for any code
    ini = f"[mypy]\n{setting}\nsqlite_cache = False\n"
    root = write(tmp_path / "p", {"mypy.ini": ini, "m.py": GOOD})
    mypy = [PYTHON, "-m", "mypy", "-O", "json", "--no-error-summary", "--python-executable", PYTHON]
    run_tool([*mypy, "--cache-dir", str(tmp_path / "elsewhere"), "m.py"], root)
    assert (root / "m.meta.ff").is_file()  # written into the root whatever --cache-dir says
    write(root, {"m.py": BAD})
    fooled = run_tool([*mypy, "--cache-dir", str(tmp_path / "fresh"), "m.py"], root, check=False)
    assert fooled.returncode == 0 and fooled.stdout == ""  # mypy itself takes the committed cache's word
    plain = write(tmp_path, {"plain.ini": "[mypy]\n"}) / "plain.ini"  # the same mypy without the setting
    honest = run_tool([*mypy, "--config-file", str(plain), "--cache-dir", str(tmp_path / "fresh"), "m.py"], root, check=False)
    assert '"code": "return-value"' in honest.stdout
    with pytest.raises(ToolError, match=f"mypy.ini sets {setting}: mypy would keep its incremental cache in the project's root"):
        TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=tmp_path / "cache"))


def test_a_config_that_turns_type_checking_off_is_refused(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"pyproject.toml": "[tool.mypy]\nsemantic_analysis_only = true\n", "m.py": BAD})
    fooled = run_tool([PYTHON, "-m", "mypy", "--cache-dir", str(tmp_path / "c"), "m.py"], root, check=False)
    assert fooled.returncode == 0 and "Success" in fooled.stdout  # mypy checked no type
    with pytest.raises(ToolError, match=r"pyproject\.toml sets semantic_analysis_only = True: mypy would check no types at all"):
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    write(root, {"pyproject.toml": "[tool.mypy]\nsemantic_analysis_only = false\n"})
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert result.status is Status.FAIL and finding_keys(result) == {("return-value", "m.py", 2)}


#: a plugin file of the checkout: were mypy to import it, it would leave a mark and end mypy with
#: exit 0 and no output, which is how a clean run of ``mypy -O json`` looks
FAKE_CLEAN = "import os, pathlib\npathlib.Path(os.environ['GK_TEST_MARK']).write_text('ran')\nos._exit(0)\n"


@pytest.mark.parametrize("entry", ["plug.py:", "a:plug.py:plugin"])
def test_a_plugin_file_named_with_an_entry_point_is_refused_as_mypy_reads_it(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    """mypy splits an entry at its last colon (``plug.py:`` is the file plug.py, entry point "") and
    imports the file before it looks for the entry point: by hand, the checkout's code runs and mypy
    reports nothing over a type error."""
    plugin = entry.rsplit(":", 1)[0]
    root = write(tmp_path / "p", {"mypy.ini": f"[mypy]\nfiles = m.py\nplugins = {entry}\n", "m.py": BAD, plugin: FAKE_CLEAN})
    mark = tmp_path / "mark"
    monkeypatch.setenv("GK_TEST_MARK", str(mark))
    by_hand = run_tool([PYTHON, "-m", "mypy", "-O", "json", "--cache-dir", str(tmp_path / "c")], root, check=False)
    assert (by_hand.returncode, by_hand.stdout, mark.read_text()) == (0, "", "ran")
    mark.unlink()
    with pytest.raises(ToolError, match=f"names the plugin file {plugin}: mypy would run it"):
        TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert not mark.exists()


@pytest.mark.slow
def test_a_plugin_module_installed_from_the_checkout_is_refused(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool interpreter with mypy and the project installed editable (a .pth naming its src): the
    plugin the project's configuration names by module would be imported from the checkout."""
    root = write(
        tmp_path / "p",
        {"mypy.ini": "[mypy]\nfiles = src/m.py\nplugins = projplug\n", "src/m.py": BAD, "src/projplug.py": FAKE_CLEAN},
    )
    python, site = bare_venv(tmp_path / "tools")
    (site / "gatekeeper-tools.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")  # mypy
    (site / "__editable__.proj-0.pth").write_text(str(root / "src") + "\n", encoding="utf-8")
    mark = tmp_path / "mark"
    monkeypatch.setenv("GK_TEST_MARK", str(mark))
    by_hand = run_tool([python, "-I", "-m", "mypy", "-O", "json", "--cache-dir", str(tmp_path / "c")], root, check=False)
    assert (by_hand.returncode, by_hand.stdout, mark.read_text()) == (0, "", "ran")
    mark.unlink()
    with pytest.raises(ToolError, match=r"projplug comes from src/projplug\.py"):
        TypesChecker().run(section(TypesChecker), make_ctx(root, tool_python=str(python)))
    assert not mark.exists()


def test_a_plugin_module_missing_from_the_tool_interpreter_is_named(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p", {"pyproject.toml": '[tool.mypy]\nplugins = ["no_such_plugin_module.sub:plugin"]\n', "m.py": GOOD}
    )
    with pytest.raises(ToolMissing, match=r"no_such_plugin_module is not installed in .*a mypy plugin pyproject\.toml names"):
        TypesChecker().run(section(TypesChecker), make_ctx(root))


@pytest.mark.slow
def test_a_config_that_installs_stub_packages_never_changes_the_inspected_environment(
    tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``install_types`` with ``non_interactive``: by hand, mypy runs the project interpreter's pip to
    install types-PyYAML (here a pip that only leaves a mark: no network) and checks again. The gate
    inspects that environment: mypy must not change it, and the missing stubs stay an error."""
    python, site = bare_venv(tmp_path / "env")
    mark = tmp_path / "pip-ran"
    write(site, {"yaml/__init__.py": "", "pip/__init__.py": "", "pip/__main__.py": f"open({str(mark)!r}, 'a').write('ran')\n"})
    ini = "[mypy]\nfiles = m.py\ninstall_types = True\nnon_interactive = True\n"
    policy = f'[environment]\npython = "{python}"\n'
    root = write(tmp_path / "p", {"mypy.ini": ini, "m.py": "import yaml\n\nx: int = 1\n", "gatekeeper.toml": policy})
    mypy = [PYTHON, "-m", "mypy", "-O", "json", "--cache-dir", str(tmp_path / "c"), "--python-executable", str(python)]
    run_tool(mypy, root, check=False)
    assert mark.read_text() == "ran"  # mypy by hand ran pip in the project's environment
    mark.unlink()
    result = TypesChecker().run(section(TypesChecker), make_ctx(root))
    assert f"--python-executable {python}" in result.metrics["command"]  # the environment inspected
    assert not mark.exists()
    assert result.status is Status.FAIL and [f.rule_id for f in result.findings] == ["import-untyped"]


def test_a_run_taken_back_leaves_the_next_one_cold_not_rejected(tmp_path: Path, make_ctx: Any) -> None:
    """A run whose checkout changed takes back the cache entries it stored (``cache.end_log``), the
    manifest among them: mypy's folder is then vouched for by nothing, and the next run empties it
    and says cold, as after no run at all; ``rejected`` is for a folder that does not match what was sealed."""
    from gatekeeper.checkers import cache as entries

    root = write(tmp_path / "p", {"m.py": BAD})
    cache = tmp_path / "cache"
    log = entries.log_writes(cache)
    first = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache))
    entries.end_log(log, keep=False)
    assert first.metrics["incremental_cache"] == "cold" and any((cache / "types").glob("mypy-*/*"))
    log = entries.log_writes(cache)  # the next run, which logs its own entries (and keeps them)
    again = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache))
    entries.end_log(log, keep=True)
    assert again.metrics["incremental_cache"] == "cold"
    assert finding_keys(again) == finding_keys(first) == keys(mypy_by_hand(root, ".")) == {("return-value", "m.py", 2)}
    log = entries.log_writes(cache)
    assert TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=cache)).metrics["incremental_cache"] == "warm"
    entries.end_log(log, keep=True)


def test_a_config_file_that_is_a_link_inside_the_project_is_read_where_it_leads(tmp_path: Path, make_ctx: Any) -> None:
    """mypy reads a ``mypy.ini`` that links to a shared file; the check ran without it (no error, no word)."""
    root = write(
        tmp_path / "p", {"configs/mypy.ini": "[mypy]\ndisallow_untyped_defs = True\n", "m.py": "def f(x):\n    return x\n"}
    )
    (root / "mypy.ini").symlink_to("configs/mypy.ini")
    by_hand = mypy_by_hand(root, ".")
    assert keys(by_hand) == {("no-untyped-def", "m.py", 1)}
    result = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=tmp_path / "cache"))
    assert result.status is Status.FAIL and finding_keys(result) == keys(by_hand)
    assert result.metrics["config"] == "mypy.ini"


def test_a_config_file_that_links_out_of_the_project_is_refused(tmp_path: Path, make_ctx: Any) -> None:
    outside = write(tmp_path / "shared", {"mypy.ini": "[mypy]\nignore_errors = True\n"})
    root = write(tmp_path / "p", {"m.py": BAD})
    (root / "mypy.ini").symlink_to(outside / "mypy.ini")
    assert mypy_by_hand(root, ".") == []  # mypy follows it: the error is hidden
    with pytest.raises(ToolError, match=r"mypy.ini leads outside the project \(through a link\)"):
        TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=tmp_path / "cache"))


def test_a_configuration_above_the_project_that_mypy_by_hand_would_read_is_named(tmp_path: Path, make_ctx: Any) -> None:
    """Judging a folder of a repository whose mypy configuration sits at the top: mypy by hand in the
    folder climbs to it, the check reads only the folder's own, and says so."""
    repo = write(
        tmp_path / "repo", {"mypy.ini": "[mypy]\ndisallow_untyped_defs = True\n", "sub/m.py": "def f(x):\n    return x\n"}
    )
    (repo / ".git").mkdir()  # where mypy's climb stops
    root = repo / "sub"
    assert keys(mypy_by_hand(root, ".")) == {("no-untyped-def", "m.py", 1)}
    result = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=tmp_path / "cache"))
    assert result.status is Status.PASS and result.metrics["config_above"] == "../mypy.ini"
    assert "mypy by hand in the project would read ../mypy.ini, above it: this check does not" in result.summary
    (root / "setup.cfg").write_text("[mypy]\n", encoding="utf-8")  # a configuration of its own: mypy climbs no further
    own = TypesChecker().run(section(TypesChecker), make_ctx(root, cache_dir=tmp_path / "cache"))
    assert own.metrics["config_above"] is None and "above it" not in own.summary
