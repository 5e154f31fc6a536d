"""What the project's bandit configuration and ``# nosec`` marks narrow goes through the checker
contract's narrowing records, like every other check's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper.checkers.security import SecurityChecker
from gatekeeper.findings import Status
from tests.helpers.narrowing import assert_reported, find
from tests.helpers.projects import bandit_json, section, write

SHELL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)"


def test_bandit_exclusions_skips_and_nosec_are_narrowing_records(tmp_path: Path, make_ctx: Any) -> None:
    root = write(
        tmp_path / "p",
        {
            ".bandit": "[bandit]\nexclude = ./legacy\nskips = B101\n",
            "legacy/old.py": SHELL + "\n",
            "app.py": SHELL + "  # nosec\n",
            "checks.py": "def f(x):\n    assert x\n",
        },
    )
    result = SecurityChecker().run(section(SecurityChecker, exclude=[]), make_ctx(root))
    assert result.status is Status.PASS and {f.rule_id for f in result.findings} == {"B404"}  # low: import subprocess
    excluded = find(result, "exclude", source=".bandit")
    assert (excluded.detail, excluded.files) == ("exclude = ./legacy", ("legacy/old.py",))
    assert find(result, "rules", source=".bandit").detail == "skips = B101"
    nosec = find(result, "line-comments", source="app.py")
    assert (nosec.line, nosec.suppressed) == (5, bandit_json(root, "-r", ".", "--ini", ".bandit")["metrics"]["_totals"]["nosec"])
    assert_reported(result, excluded)
    assert_reported(result, nosec)
    ignored = SecurityChecker().run(section(SecurityChecker, exclude=[], project_config="ignore"), make_ctx(root))
    assert ignored.narrowing == () and {f.location.path for f in ignored.findings} >= {"app.py", "legacy/old.py", "checks.py"}
