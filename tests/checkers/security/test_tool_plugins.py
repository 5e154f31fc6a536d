"""bandit's plugins never come from the project under review.

bandit imports every plugin its environment registers (``bandit.plugins``, ``bandit.formatters``,
``bandit.blacklists`` entry points) as it is imported. A project installed into the tool
interpreter with such an entry point (``pip install -e .``, ``pip install .``) would run its own code
inside bandit: the plugin here makes bandit report nothing, and the scan passed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.security import SecurityChecker
from gatekeeper.errors import ToolError
from tests.helpers.projects import bandit_json, section, write

#: imported by bandit's plugin loader, this drops every issue bandit finds (and leaves a mark)
QUIET = """\
from pathlib import Path
Path(__file__).resolve().parent.parent.joinpath("imported.txt").write_text("imported")
from bandit.core import test_properties, tester

_run = tester.BanditTester.run_tests


def _quiet(self, raw_context, checktype):
    scores = _run(self, raw_context, checktype)
    self.results.clear()
    return {k: [0] * len(v) for k, v in scores.items()}


tester.BanditTester.run_tests = _quiet


@test_properties.checks("Call")
@test_properties.test_id("B999")
def helper(context):
    return None
"""


def _bandit_origin() -> str | None:
    spec = importlib.util.find_spec("bandit")  # this suite's bandit, not imported here
    return spec.origin if spec is not None else None


def _tool_env(tmp_path: Path) -> tuple[Path, Path]:
    """A real virtualenv (no pip) whose site-packages reaches this suite's bandit through a ``.pth``
    line, as a tool interpreter with bandit installed: its python and its site-packages."""
    env = tmp_path / "toolenv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, capture_output=True, timeout=120)
    python = env / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    site = Path(purelib)
    (site / "suite.pth").write_text(str(Path(str(_bandit_origin())).resolve().parents[1]) + "\n", encoding="utf-8")
    return python, site


def _plugin(site: Path, module_home: Path, direct_url: dict[str, Any] | None) -> None:
    """The hostile plugin's distribution in ``site``, its module in ``module_home``."""
    (module_home / "quiet_bandit").mkdir(parents=True)
    (module_home / "quiet_bandit" / "__init__.py").write_text(QUIET, encoding="utf-8")
    info = site / "quiet_bandit-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: quiet-bandit\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[bandit.plugins]\nzz_helper = quiet_bandit:helper\n", encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")
    if module_home != site:  # an editable install's path entry
        (site / "__editable__.quiet_bandit.pth").write_text(f"{module_home}\n", encoding="utf-8")


@pytest.mark.parametrize("how", ["editable", "copied"])
def test_a_bandit_plugin_of_the_checkout_is_refused_before_bandit_loads_it(tmp_path: Path, make_ctx: Any, how: str) -> None:
    root = write(
        tmp_path / "proj", {"app.py": "import subprocess\n\n\ndef go(cmd):\n    return subprocess.call(cmd, shell=True)\n"}
    )
    python, site = _tool_env(tmp_path)
    if how == "editable":  # pip install -e . : the module stays in the tree
        _plugin(site, root / "src", {"url": root.as_uri(), "dir_info": {"editable": True}})
    else:  # pip install . : the module copied out of the tree, its direct_url.json naming it
        _plugin(site, site, {"url": root.as_uri(), "dir_info": {}})
    by_hand = subprocess.run([str(python), "-I", "-m", "bandit", "-q", "-r", "app.py", "-f", "json"], cwd=root,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert json.loads(by_hand.stdout)["results"] == []  # the plugin silences bandit itself
    marks = [root / "src" / "imported.txt", site / "imported.txt"]
    for mark in marks:
        mark.unlink(missing_ok=True)
    assert sorted(r["test_id"] for r in bandit_json(root, "-r", "app.py")["results"]) == ["B404", "B602"]  # a clean bandit

    checker = SecurityChecker()
    with pytest.raises(ToolError) as refused:
        checker.run(section(checker, paths=["."]), make_ctx(root, tool_python=str(python)))

    message = str(refused.value)
    assert "the bandit plugin zz_helper (bandit.plugins: quiet_bandit:helper) of quiet-bandit" in message
    where = "src/quiet_bandit" if how == "editable" else "."
    assert f"comes from the project under review ({where}" in message
    assert "a tool's plugin never runs from the checkout" in message
    assert not any(mark.exists() for mark in marks)  # bandit was never imported with it


def test_a_bandit_plugin_installed_from_elsewhere_still_loads(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "proj", {"app.py": "import subprocess\n\n\ndef go(cmd):\n    return subprocess.call(cmd, shell=True)\n"}
    )
    python, site = _tool_env(tmp_path)
    _plugin(site, site, None)  # from an index: no direct_url.json
    checker = SecurityChecker()
    result = checker.run(section(checker, paths=["."]), make_ctx(root, tool_python=str(python)))
    assert (site / "imported.txt").exists() and result.findings == ()  # the environment's plugin, its choice
