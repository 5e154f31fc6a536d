"""Names with bidirectional controls are shown escaped, never obeyed: a file ``util<U+202E>gnp.py``
would otherwise display as ``utilyp.png`` in a browser or a bidi-aware terminal, and a branch name
could reorder the rest of an audit row."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatekeeper.cli import app
from tests.helpers.projects import only, write

RLO, LRI = "\u202e", "\u2066"
FORMAT_CHARACTERS = (RLO, LRI, "\u200b", "\u200f", "\ufeff")
RISKY = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def _shown_raw(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in FORMAT_CHARACTERS if c in text]


def test_a_file_and_a_branch_named_with_bidi_controls_are_shown_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "proj", {"app.py": "x = 1\n", f"util{RLO}gnp.py": RISKY})
    policy = only("security").replace("[audit]\nenabled = false\n", "").replace('["json"]', '["json", "html", "markdown"]')
    write(root, {"gatekeeper.toml": policy, ".gitignore": "gatekeeper-reports/\n.gatekeeper/\n"})
    branch = f"feature{RLO}{LRI}niam"
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"]
    for args in (["init", "-q"], ["checkout", "-q", "-b", branch], ["add", "-A"], commit):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["check", str(root)])
    assert done.exit_code == 1, done.output
    assert "util\\u202egnp.py" in done.output and not _shown_raw(done.output)
    page = (root / "gatekeeper-reports" / "gatekeeper.html").read_text()
    assert "util\\u202egnp.py" in page and not _shown_raw(page)
    assert RLO in (root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8")  # the data keeps the name
    for args in (["audit", "show"], ["audit", "show", "--json"]):
        shown = CliRunner().invoke(app, args)
        assert shown.exit_code == 0 and "feature\\u202e\\u2066niam" in shown.output and not _shown_raw(shown.output), args
    history = tmp_path / "history.html"
    assert CliRunner().invoke(app, ["audit", "report", "--output", str(history)]).exit_code == 0
    text = history.read_text()
    assert "feature\\u202e\\u2066niam" in text and not _shown_raw(text)
