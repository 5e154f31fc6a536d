"""A backslash is a character of a file's name on POSIX, never a folder separator: a pull request
that adds ``tools\\deploy.py`` beside the reviewed ``tools/deploy.py`` must not have its findings
named, waived or cached as the other file's, nor be left unscanned."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gatekeeper.checkers.secrets import SecretsChecker
from gatekeeper.cli import app
from tests.helpers.projects import git_init, only, section, write

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a backslash separates folders on Windows")

REVIEWED = 'import subprocess\n\nCMD = "make deploy"\n\n\ndef deploy():\n    return subprocess.call(CMD, shell=True)\n'
ADDED = "import subprocess\n\n\ndef run(user_input):\n    return subprocess.call(user_input, shell=True)\n"
WAIVERS = """
[checks.security]
fail_on_severity = "medium"

[[waivers]]
id = "W-DEPLOY"
check = "security"
rule = "B602"
path = "tools/deploy.py"
reason = "a fixed command, reviewed"
approved_by = "security@example.com"
expires = {expires}
"""


def _bandit_by_hand(root: Path) -> set[tuple[str, int, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", ".", "-f", "json"], cwd=root, capture_output=True, text=True, timeout=120
    )
    return {(r["filename"].removeprefix("./"), r["line_number"], r["test_id"]) for r in json.loads(done.stdout)["results"]}


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_a_waiver_for_a_reviewed_file_does_not_cover_one_whose_name_holds_a_backslash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: bool
) -> None:
    root = write(tmp_path / "proj", {"tools/deploy.py": REVIEWED, ".gitignore": "out/\n.gatekeeper/\n"})
    expires = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    policy = only("security").replace('["json"]', '["json", "sarif"]') + WAIVERS.format(expires=expires)
    write(root, {"gatekeeper.toml": policy.replace("[checks.security]\nenabled = false\n", "")})
    git_init(root)
    monkeypatch.chdir(root)
    args = ["check", str(root), "--output-dir", "out", *([] if cache else ["--no-cache"])]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output  # the reviewed file's finding is waived
    write(root, {"tools\\deploy.py": ADDED})  # the pull request's file
    git_init(root)
    assert ("tools\\deploy.py", 5, "B602") in _bandit_by_hand(root)
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 1, done.output
    result = json.loads((root / "out" / "gatekeeper.json").read_text())
    (check,) = result["checks"]
    assert check["metrics"]["files_scanned"] == 2
    found = {
        (f["location"]["path"], f["location"]["line"], f["rule_id"], (f["waiver"] or {}).get("id")) for f in check["findings"]
    }
    assert ("tools\\deploy.py", 5, "B602", None) in found and ("tools/deploy.py", 7, "B602", "W-DEPLOY") in found
    assert {(p, line, rule) for p, line, rule, _ in found} == _bandit_by_hand(root)
    sarif = json.loads((root / "out" / "gatekeeper.sarif").read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert {"tools%5Cdeploy.py", "tools/deploy.py"} <= uris


def test_a_secret_in_a_file_whose_name_holds_a_backslash_is_named_by_that_file(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "proj", {"conf/settings.py": "DEBUG = False\n", "conf\\settings.py": "AWS = 'AKIAZ7QPLM3XN5RTV2KD'\n"}
    )
    git_init(root)
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(root))
    assert {(f.location.path, f.location.line) for f in result.findings} == {("conf\\settings.py", 1)}
