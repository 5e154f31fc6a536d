"""``gatekeeper --version`` answers without importing the command line."""

from __future__ import annotations

import subprocess
import sys

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
