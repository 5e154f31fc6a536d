"""The per-file cache of the checks that judge each file on its own (lint, secrets): a cold run
stores its results in one pack, a run with a few changed files adds an entry per changed file,
and a pack that fails its checks is refused file by file. Driven through the lint check (real ruff)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatekeeper.checkers.lint import LintChecker
from tests.checkers.lint.test_checker import keys, ruff_by_hand
from tests.helpers.projects import section, write

FILES = {f"pkg/m{n}.py": f"import os\n\n\ndef f{n}(x):\n    return x == None\n" for n in range(6)}


def entries(cache: Path) -> list[Path]:
    """The lint check's cache entries."""
    return sorted((cache / "lint").rglob("*.json"))


def test_a_cold_run_stores_one_pack_and_a_run_with_one_changed_file_one_entry_more(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", FILES)
    cache = tmp_path / "cache"
    cold = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert cold.metrics["cached_files"] == 0 and cold.metrics["files_checked"] == 6
    (pack,) = entries(cache)  # every file's result in one entry
    assert len(json.loads(pack.read_text())["payload"]) == 6
    write(root, {"pkg/m0.py": "import sys\n"})
    changed = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert changed.metrics["cached_files"] == 5 and keys(changed) == ruff_by_hand(root)
    assert len(entries(cache)) == 2  # the pack as it was, and the changed file's own entry
    warm = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert warm.metrics["cached_files"] == 6 and warm.metrics["cache_rejected"] == 0
    assert (warm.findings, warm.narrowing) == (changed.findings, changed.narrowing)
    assert len(entries(cache)) == 2  # nothing new to store


def test_a_run_that_finds_most_files_outside_the_pack_stores_a_new_one(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", FILES)
    cache = tmp_path / "cache"
    LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    write(root, {name: "import json\n" for name in list(FILES)[:4]})  # most files changed
    changed = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert changed.metrics["cached_files"] == 2 and keys(changed) == ruff_by_hand(root)
    newest = max(entries(cache), key=lambda p: p.stat().st_mtime_ns)
    assert len(json.loads(newest.read_text())["payload"]) == 6  # a new pack of every file
    warm = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert warm.metrics["cached_files"] == 6 and keys(warm) == keys(changed)


def test_a_tampered_pack_is_refused_and_every_file_it_held_checked_again(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", FILES)
    cache = tmp_path / "cache"
    cold = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert len(cold.findings) == 6  # an unused import in each file
    (pack,) = entries(cache)
    stored = json.loads(pack.read_text())
    stored["payload"] = {key: [] for key in stored["payload"]}  # every file clean
    pack.write_text(json.dumps(stored))
    again = LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache))
    assert again.metrics["cached_files"] == 0 and again.metrics["cache_rejected"] == 6
    assert keys(again) == keys(cold) == ruff_by_hand(root)


def test_each_shard_keeps_a_pack_of_its_own(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", FILES)
    cache = tmp_path / "cache"
    first = [LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache, shard=(i, 2))) for i in (1, 2)]
    again = [LintChecker().run(section(LintChecker), make_ctx(root, cache_dir=cache, shard=(i, 2))) for i in (1, 2)]
    assert [r.metrics["cached_files"] for r in first] == [0, 0]
    assert [r.metrics["cached_files"] for r in again] == [r.metrics["files_checked"] for r in again] == [3, 3]
    assert [keys(r) for r in again] == [keys(r) for r in first]
