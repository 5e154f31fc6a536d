"""``gatekeeper --version`` answers without importing the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper import __version__
from gatekeeper.entry import run


def test_version_alone_prints_the_version(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["gatekeeper", "--version"])
    run()
    assert capsys.readouterr().out == f"gatekeeper {__version__}\n"


def test_version_imports_neither_typer_nor_the_commands() -> None:
    probe = (
        "import sys; sys.argv = ['gatekeeper', '--version']\n"
        "from gatekeeper.entry import run; run()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click', 'rich', 'pydantic', 'jinja2')"
        " or m.startswith('gatekeeper.')))"
    )
    done = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True)
    version, imported = done.stdout.splitlines()
    assert version == f"gatekeeper {__version__}"
    assert imported == "['gatekeeper.entry']"


def test_any_other_command_line_goes_to_the_full_one(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["gatekeeper", "--version", "--help"])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"gatekeeper {__version__}\n"  # typer's eager --version, the same line


def test_a_check_runs_with_the_collector_at_its_slower_pace_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """``check`` raises the collector's first threshold (its own CPU: a run keeps most of what it
    builds) while it runs, and a caller in the same process gets its own back, the exit code kept."""
    import gc

    from gatekeeper import checkline, entry

    seen: list[tuple[int, int, int]] = []

    def fake_check(args: list[str]) -> int:
        seen.append(gc.get_threshold())
        return 1

    monkeypatch.setattr(checkline, "run_check", fake_check)
    monkeypatch.setattr(sys, "argv", ["gatekeeper", "check", "."])
    before = gc.get_threshold()
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 1
    assert seen == [(entry.CHECK_GC_THRESHOLD, *before[1:])]
    assert gc.get_threshold() == before


def test_the_console_script_ends_a_check_without_collecting_what_the_run_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` ends the process once ``check`` returns: the collector keeps the check's pace to the
    end (restored, the next allocation would collect every object of the run first)."""
    import gc

    from gatekeeper import checkline, entry

    at_the_end: list[tuple[int, int, int]] = []
    monkeypatch.setattr(checkline, "run_check", lambda args: 3)
    monkeypatch.setattr(entry, "leave", lambda code: at_the_end.append((code, *gc.get_threshold()[:1])))  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "argv", ["gatekeeper", "check", "."])
    before = gc.get_threshold()
    try:
        with pytest.raises(SystemExit) as exited:
            entry.main()
    finally:
        gc.set_threshold(*before)
    assert exited.value.code == 3
    assert at_the_end == [(3, entry.CHECK_GC_THRESHOLD)]


def _script(tmp_path: Path, before: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script's entry (``main``) in a fresh interpreter, ``before`` run first."""
    probe = f"import sys\n{before}\nsys.argv = ['gatekeeper', *{list(args)!r}]\nfrom gatekeeper.entry import main\nmain()\n"
    return subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=False)


def test_the_console_script_ends_with_its_exit_code_its_output_flushed_and_its_exit_handlers_run(tmp_path: Path) -> None:
    """The script skips the interpreter's teardown, nothing else: what was printed (block-buffered
    into a pipe) arrives, exit handlers (coverage.py saving its data) run, the exit code is kept."""
    handler = f"import atexit\natexit.register(lambda: open({str(tmp_path / 'handled')!r}, 'w').write('ran'))"
    done = _script(tmp_path, handler, "--version")
    assert (done.returncode, done.stdout) == (0, f"gatekeeper {__version__}\n")
    assert (tmp_path / "handled").read_text() == "ran"
    (tmp_path / "handled").unlink()
    missing = _script(tmp_path, handler, "check", str(tmp_path / "no-such-project"))
    assert missing.returncode == 2 and "gatekeeper: error:" in missing.stderr
    assert (tmp_path / "handled").read_text() == "ran"


def test_the_console_script_waits_for_a_thread_that_is_still_working(tmp_path: Path) -> None:
    done_file = tmp_path / "done"
    worker = (
        "import threading, time\n"
        f"threading.Thread(target=lambda: (time.sleep(0.5), open({str(done_file)!r}, 'w').write('done'))).start()"
    )
    done = _script(tmp_path, worker, "--version")
    assert done.returncode == 0 and done_file.read_text() == "done"
