"""What detect-secrets skips or is told to skip is scanned anyway, or reported: never a silent pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.checkers import secrets as secrets_checker
from gatekeeper.checkers.secrets import SecretsChecker, narrowing
from gatekeeper.findings import Status
from tests.checkers.secrets.test_checker import AWS, FILTERS_OFF, scan_by_hand
from tests.helpers.narrowing import assert_reported, find
from tests.helpers.projects import git_init, section, write

ALLOWLIST_OFF = ("--disable-filter", "detect_secrets.filters.allowlist.is_line_allowlisted")

#: files detect-secrets' default filters skip by extension or name, each holding a key
SKIPPED_BY_NAME = {
    "site.css": f'a {{ b: "{AWS}" }}\n',
    "logo.svg": f"<svg><!-- {AWS} --></svg>\n",
    "deps.lock": f'key = "{AWS}"\n',
    "poetry.lock": f'key = "{AWS}"\n',
    "web/package-lock.json": f'{{"key": "{AWS}"}}\n',
}


@pytest.mark.parametrize("checks_at_once", [8, 1], ids=["one-process", "pool"])
def test_files_detect_secrets_skips_by_name_or_encoding_are_scanned(tmp_path: Path, make_ctx: Any, checks_at_once: int) -> None:
    root = write(tmp_path / "p", SKIPPED_BY_NAME)
    (root / "app.py").write_bytes(f'aws_key = "{AWS}"\n# caf\xe9\n'.encode("latin-1"))  # one byte that is not UTF-8
    git_init(root)
    assert scan_by_hand(root) == set()  # detect-secrets alone: every file skipped, "clean"
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(root, checks_at_once=checks_at_once))
    found = {f.location.path for f in result.findings}
    assert found == {*SKIPPED_BY_NAME, "app.py"} and result.status is Status.FAIL
    assert result.metrics["files_scanned"] == 6 and result.metrics["files_not_scanned"] == 0
    # file by file with the name filters off, detect-secrets finds the same; the file that is not UTF-8 it
    # still skips (and scanning several files at once, its process pool turns is_non_text_file back on)
    assert {p for f in SKIPPED_BY_NAME for _, p, _ in scan_by_hand(root, *FILTERS_OFF, f)} == set(SKIPPED_BY_NAME)
    assert scan_by_hand(root, *FILTERS_OFF, "app.py") == set()
    assert "--disable-filter detect_secrets.filters.heuristic.is_lock_file" in result.metrics["command"]


@pytest.mark.parametrize("pragma", ["# pragma: whitelist secret", "# pragma: allowlist secret", "// pragma: allowlist-secret"])
def test_allowlist_pragmas_are_reported_with_what_they_hid(tmp_path: Path, make_ctx: Any, pragma: str) -> None:
    root = write(tmp_path / "p", {"app.py": f'x = 1\naws_key = "{AWS}"  {pragma}\n', "ok.py": "y = 2\n"})
    git_init(root)
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(root))
    assert result.status is Status.PASS and not result.findings  # honoured, as detect-secrets honours it
    hidden = len(scan_by_hand(root, *FILTERS_OFF, *ALLOWLIST_OFF)) - len(scan_by_hand(root, *FILTERS_OFF))
    record = find(result, "line-comments", source="app.py")
    assert record.line == 2 and record.suppressed == hidden == 1
    assert_reported(result, record)


def test_project_config_ignore_honours_no_pragma(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "p", {"app.py": f'aws_key = "{AWS}"  # pragma: whitelist secret\n'})
    git_init(root)
    result = SecretsChecker().run(section(SecretsChecker, project_config="ignore"), make_ctx(root))
    assert [(f.rule_name, f.location.path) for f in result.findings] == [("AWS Access Key", "app.py")]
    assert result.status is Status.FAIL and not result.narrowing
    assert result.metrics["project_config"] == "ignore"


def test_where_processes_cannot_fork_the_worker_scans_in_one_process_with_the_same_result(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"a.css": SKIPPED_BY_NAME["site.css"], "b.lock": SKIPPED_BY_NAME["deps.lock"]})
    (root / "c.py").write_bytes(f'aws_key = "{AWS}"\n# caf\xe9\n'.encode("latin-1"))
    no_fork = (  # a platform without fork: detect-secrets' pool would spawn
        "import multiprocessing\nmultiprocessing.set_start_method('spawn')\n"
        "multiprocessing.get_all_start_methods = lambda: ['spawn']\n"
    )
    args = ["scan", "--no-verify", *FILTERS_OFF, "a.css", "b.lock", "c.py"]
    assert sorted(_worker_report(root, args, no_fork)) == ["a.css", "b.lock", "c.py"]


def _worker_report(root: Path, request: object, prefix: str = "") -> dict[str, Any]:
    worker = Path(secrets_checker.__file__).with_name("worker.py").read_text(encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-I", "-c", prefix + worker],
        input=json.dumps(request) + "\n",
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    hello, _, report = done.stdout.partition("\n")
    assert done.returncode == 0 and json.loads(hello)["lenient"] is True, done.stderr
    results: dict[str, Any] = json.loads(report)["results"]
    return results


def test_a_serial_scan_finds_what_the_process_pool_finds_and_starts_no_pool(tmp_path: Path) -> None:
    """The same files, filters and pragmas: the worker's one-process scan and detect-secrets' pool
    give the same report, with the name filters kept off and files that are not UTF-8 read leniently."""
    root = write(tmp_path / "p", {**SKIPPED_BY_NAME, "app/swagger.yaml": f"key: {AWS}\n"})
    (root / "c.py").write_bytes(f'aws_key = "{AWS}"\n# caf\xe9\n'.encode("latin-1"))
    (root / "d.py").write_text(f'x = "{AWS}"  # pragma: allowlist secret\ny = 1\n')
    files = [*SKIPPED_BY_NAME, "app/swagger.yaml", "c.py", "d.py"]
    no_pool = "import multiprocessing.pool\nmultiprocessing.pool.Pool.__init__ = None\n"  # a pool would crash
    for filters in (FILTERS_OFF, (*FILTERS_OFF, *ALLOWLIST_OFF)):
        args = ["scan", "--no-verify", *filters, *files]
        pooled = _worker_report(root, {"args": args, "serial": False})
        serial = _worker_report(root, {"args": args, "serial": True}, prefix=no_pool)
        assert serial == pooled
        assert sorted(serial) == sorted(files if filters != FILTERS_OFF else set(files) - {"d.py"})
    with pytest.raises(AssertionError):  # the stand-in pool does crash a pooled scan
        _worker_report(root, {"args": ["scan", "--no-verify", *FILTERS_OFF, *files], "serial": False}, prefix=no_pool)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_secret_in_utf16_or_utf32_text_is_found(tmp_path: Path, make_ctx: Any, encoding: str) -> None:
    """detect-secrets reads such a file as UTF-8 (valid: a NUL beside each character) and no pattern
    matches: by hand, "clean". The worker reads it in its encoding (by its byte order mark, or the
    NUL in every other byte), so the key is found as in the same text in UTF-8."""
    text = f'# settings\naws_key = "{AWS}"\n'
    root = write(tmp_path / "p", {"plain.txt": text})
    (root / "wide.txt").write_bytes(text.encode(encoding))
    git_init(root)
    assert scan_by_hand(root) == {("AWS Access Key", "plain.txt", 2)}  # the wide file: nothing
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(root))
    found = {(f.location.path, f.location.line) for f in result.findings}
    assert found == {("plain.txt", 2), ("wide.txt", 2)}
    assert result.metrics["files_scanned"] == 2 and result.metrics["files_not_scanned"] == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_pragma_in_utf16_or_utf32_text_is_reported_with_what_it_hid(tmp_path: Path, make_ctx: Any, encoding: str) -> None:
    """Read in its own encoding, the scan honours a pragma in such a file as in UTF-8; it must be
    found the same way (in the file's bytes no pragma matches), or what it hid goes unsaid."""
    text = f'# settings\naws_key = "{AWS}"  # pragma: allowlist secret\n'
    root = write(tmp_path / "p", {"plain.txt": text})
    (root / "wide.txt").write_bytes(text.encode(encoding))
    git_init(root)
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(root, cache_dir=tmp_path / "cache"))
    assert result.status is Status.PASS and result.findings == ()
    records = {n.source: (n.kind, n.line, n.suppressed) for n in result.narrowing}
    assert records == {"plain.txt": ("line-comments", 2, 1), "wide.txt": ("line-comments", 2, 1)}
    ignored = SecretsChecker().run(section(SecretsChecker, project_config="ignore"), make_ctx(root))
    assert {(f.location.path, f.location.line) for f in ignored.findings if f.location} == {("plain.txt", 2), ("wide.txt", 2)}


_PRAGMA_PIECES = [
    b"# pragma: allowlist secret",
    b"//pragma:whitelist-secret",
    b"<!-- pragma: allowlist nextline secret",
    b"pragma: allowlist secret",
    b"# ",
    b"#\t#",
    b"'",
    b"--",
    b"/*",
    b"\n",
    b"\r",
    b"\r\n",
    b"x = 1",
    b"\xff",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PRAGMA_PIECES), max_size=12))
def test_the_pragma_lines_are_those_a_line_by_line_search_finds(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[bytes]
) -> None:
    """A file is searched whole first: its pragma lines are still exactly the lines the pattern matches."""
    from gatekeeper.checkers.source import Sources

    root = tmp_path_factory.mktemp("p")
    data = b"".join(pieces)
    (root / "f.py").write_bytes(data)
    expected = [n for n, line in enumerate(data.splitlines(), start=1) if narrowing.allowlist().search(line)]
    assert narrowing.PragmaLines(Sources(root))("f.py") == expected
