"""Paths named by tools are mapped into the project exactly as resolving them would, links included."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper.fileio import RootRelative, relative_to_root


def test_root_relative_agrees_with_resolving_every_path(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "pkg" / "deep").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    for name in ("pkg/a.py", "pkg/deep/b.py"):
        (root / name).write_text("x = 1\n")
    (tmp_path / "outside" / "evil.py").write_text("x = 1\n")
    (root / "out_dir").symlink_to(tmp_path / "outside")  # a folder link leaving the project
    (root / "in_dir").symlink_to(root / "pkg")  # a folder link staying inside
    (root / "evil.py").symlink_to(tmp_path / "outside" / "evil.py")
    (root / "pkg" / "up.py").symlink_to(Path("..") / "pkg" / "a.py")
    (root / "loop").symlink_to(root / "loop")
    names = [
        "pkg/a.py", "pkg/deep/b.py", "out_dir/evil.py", "in_dir/deep/b.py", "evil.py", "pkg/up.py", "loop",
        "out_dir/../pkg/a.py", "in_dir/../pkg/a.py", "pkg/deep/..", "pkg/.", ".", "missing/x.py", "../outside/evil.py",
        "pkg//a.py", "loop/x.py",
    ]  # fmt: skip
    relative = RootRelative(root)
    paths = [root / n for n in names] + [tmp_path / "outside" / "evil.py", Path("/"), tmp_path]
    got = {str(p): relative(p) for p in paths}
    assert got == {str(p): relative_to_root(p, root) for p in paths}
    assert got[str(root / "in_dir/deep/b.py")] == "pkg/deep/b.py" and got[str(root / "out_dir/evil.py")] is None
    assert got[str(root / "evil.py")] is None and got[str(root / "out_dir/../pkg/a.py")] is None
    old = Path.cwd()
    os.chdir(root)
    try:  # a relative path is taken from the working folder, as ``resolve`` takes it
        assert relative(Path("in_dir/a.py")) == "pkg/a.py" == relative_to_root(Path("in_dir/a.py"), root)
    finally:
        os.chdir(old)


def test_every_report_is_on_disk_before_the_first_is_renamed_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reports are synced together (their waits overlap), and still all of them before any rename."""

    from gatekeeper.findings import CheckResult, GateResult, Status, Verdict
    from gatekeeper.reports import write_reports
    from tests.helpers.reports import record_syncs

    events = record_syncs(monkeypatch)
    check = CheckResult(name="demo", status=Status.PASS, summary="clean")
    result = GateResult(
        verdict=Verdict.PASS, checks=(check,), tool_version="0", started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z", duration_s=1.0, repository={}, policy={}, waivers={}, extra={},
    )  # fmt: skip
    written = write_reports(result, tmp_path, ("json", "sarif", "html"))
    assert events == ["fsync"] * 3 + ["replace"] * 3
    assert sorted(Path(p).name for p in written) == sorted(p.name for p in tmp_path.iterdir())


def test_a_file_that_cannot_be_synced_is_an_error(tmp_path: Path) -> None:
    from gatekeeper.fileio import fsync_all

    (tmp_path / "a").write_text("x")
    fsync_all([tmp_path / "a"])
    with pytest.raises(FileNotFoundError):
        fsync_all([tmp_path / "a", tmp_path / "missing"])


def test_a_streamed_report_is_staged_byte_for_byte_in_order(tmp_path: Path) -> None:
    from gatekeeper.fileio import stage

    chunks: list[str | bytes] = ["é", "x" * 70_000, b"\x00raw", *(["tok", "€"] * 40_000), "end"]
    expected = b"".join(c if isinstance(c, bytes) else c.encode("utf-8") for c in chunks)
    tmp, digest = stage(tmp_path / "report.json", iter(chunks), sync=False)
    assert tmp.read_bytes() == expected
    assert digest == hashlib.sha256(expected).hexdigest()


def test_tokens_streamed_one_by_one_are_hashed_and_written_in_pieces() -> None:
    from gatekeeper import fileio

    pieces = list(fileio._pieces(["ab"] * 100_000))
    assert b"".join(pieces) == b"ab" * 100_000
    assert len(pieces) == -(-200_000 // fileio.PIECE)  # not one write per token


@pytest.mark.parametrize(
    "path",
    [
        "/home/me/proj",
        "/tmp/with%20space/x%2Fy",
        "/caf%C3%A9/%E2%82%AC",
        "/bad%FFbyte/%C3",
        "/percent%25done/%zz",
        "//server/share",
        "/plus+sign/and;semicolon?",
        "",
    ],
)
def test_url_path_is_what_url2pathname_gives(path: str) -> None:
    """The path a file: URL names is the standard library's answer, without importing urllib.request."""
    from urllib.request import url2pathname

    from gatekeeper.fileio import url_path

    assert url_path(path) == url2pathname(path)


def _fifo_reader(path: Path) -> tuple[Callable[[], bytes], threading.Thread]:
    """A named pipe at ``path`` and a thread reading it to its end: (what it read, the thread)."""
    os.mkfifo(path)
    got: list[bytes] = []

    def read() -> None:
        with open(path, "rb") as fh:
            got.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lambda: b"".join(got), reader


def test_a_write_to_a_named_pipe_goes_into_it_and_leaves_it_a_pipe(tmp_path: Path) -> None:
    """``--output /dev/null`` or a pipe: the bytes go into the destination, which stays what it was;
    renamed over, a device such as /dev/null would become a file for every process on the machine."""
    import stat

    from gatekeeper.fileio import write_atomic

    pipe = tmp_path / "out.pipe"
    got, reader = _fifo_reader(pipe)
    digest = write_atomic(pipe, "a report\n")
    reader.join(timeout=10)
    assert got() == b"a report\n" and digest == hashlib.sha256(b"a report\n").hexdigest()
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pipe"]  # no temporary file left beside it


def test_audit_report_into_a_named_pipe_writes_the_page_into_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stat

    from typer.testing import CliRunner

    from gatekeeper.cli import app
    from tests.helpers.projects import only, write

    root = write(tmp_path / "proj", {"app.py": "x = 1\n"})
    write(root, {"gatekeeper.toml": only("security").replace("[audit]\nenabled = false\n", "")})
    monkeypatch.chdir(root)
    assert CliRunner().invoke(app, ["check", str(root)]).exit_code == 0
    pipe = tmp_path / "history.pipe"
    got, reader = _fifo_reader(pipe)
    done = CliRunner().invoke(app, ["audit", "report", "--output", str(pipe)])
    reader.join(timeout=30)
    assert done.exit_code == 0, done.output
    assert got().startswith(b"<!DOCTYPE html>") and stat.S_ISFIFO(os.stat(pipe).st_mode)
