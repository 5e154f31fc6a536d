"""A mypy configuration's ``files`` and ``mypy_path`` stay inside the project: mypy checked a runner's
file that ``files`` named outside it and quoted what it holds in every report, as it did through a
link leading out (``tests/test_linksout.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_checkout import repo
from tests.test_linksout import every_output, mypy_by_hand

#: what the runner's file holds; split so that this file does not hold it whole
TOKEN = "hvs_" + "Sup3rS3cretTok3n"


@pytest.mark.parametrize(
    "setting",
    [
        "files = app.py, ../../home/runner/.vault-token",
        "files = app.py, $MYPY_CONFIG_FILE_DIR/../../home/runner/.vault-token",
        "files = app.py, ../../home/*/.vault-token",
        "mypy_path = ../../home/runner",
    ],
)
def test_a_path_of_the_configuration_leading_outside_is_refused(tmp_path: Path, cli: Any, setting: str) -> None:
    home = tmp_path / "home" / "runner"
    home.mkdir(parents=True)
    (home / ".vault-token").write_text(f"{TOKEN}\n", encoding="utf-8")
    (home / "vault.py").write_text(f"{TOKEN}\n", encoding="utf-8")
    root = tmp_path / "work" / "proj"
    app = "import vault\n" if setting.startswith("mypy_path") else "x = 1\n"
    policy = '[reports]\nformats = ["json", "sarif", "html", "markdown"]\n[checks.types]\nenabled = true\n'
    repo(root, {"app.py": app, "mypy.ini": f"[mypy]\n{setting}\n", "gatekeeper.toml": policy})
    if setting.startswith("files = app.py, ../"):  # the hole: mypy by hand quotes the runner's file
        assert f'Name "{TOKEN}" is not defined' in mypy_by_hand(root)
    done = cli(["check", "--only", "types"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    (types,) = report["checks"]
    assert types["status"] == "error"
    key = setting.split(" = ")[0]
    assert f"mypy.ini sets {key} = " in types["error"] and "which leads outside the project" in types["error"]
    for where, text in every_output(root, done).items():
        assert TOKEN not in text, f"the runner's file leaked into {where}"


def test_paths_of_the_configuration_inside_the_project_are_read_as_before(tmp_path: Path, cli: Any) -> None:
    root = tmp_path / "proj"
    files = {
        "app.py": "import helper\n\nx: str = helper.n\n",
        "stubs/helper.pyi": "n: int\n",
        "mypy.ini": "[mypy]\nfiles = $MYPY_CONFIG_FILE_DIR/*.py\nmypy_path = $MYPY_CONFIG_FILE_DIR/stubs\n",
        "gatekeeper.toml": '[reports]\nformats = ["json"]\n[checks.types]\nenabled = true\n',
    }
    repo(root, files)
    done = cli(["check", "--only", "types"], cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    assert [f["location"]["line"] for f in report["checks"][0]["findings"]] == [3]
