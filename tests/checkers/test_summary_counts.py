"""A check's summary counts in words that read: one file, one package, one component."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper.checkers import dependencies, licenses, sbom
from gatekeeper.checkers.dependencies.sources.base import Collected
from gatekeeper.checkers.lint import LintChecker
from gatekeeper.checkers.security import SecurityChecker
from tests.helpers.projects import git_init, section


def _one_file(tmp_path: Path) -> Path:
    (tmp_path / "add.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    git_init(tmp_path)
    return tmp_path


def test_bandit_on_one_file_says_one_file(tmp_path: Path, make_ctx: Any) -> None:
    result = SecurityChecker().run(section(SecurityChecker, workers=1), make_ctx(_one_file(tmp_path)))
    assert result.summary == "0 findings (1 file, 2 lines)", result.summary


def test_ruff_on_one_file_says_one_file(tmp_path: Path, make_ctx: Any) -> None:
    result = LintChecker().run(section(LintChecker), make_ctx(_one_file(tmp_path)))
    assert result.metrics["files_checked"] == 1
    assert result.summary == "0 findings in 1 file", result.summary


def test_one_package_and_one_component_are_singular() -> None:
    assert licenses._summary({"denied": 0, "unknown": 0, "ignored": 0}, 1) == "1 package, all allowed"
    assert licenses._summary({"denied": 1, "unknown": 0, "ignored": 0}, 1) == "1 denied, 0 unknown of 1 package"
    assert licenses._summary({"denied": 0, "unknown": 0, "ignored": 0}, 2) == "2 packages, all allowed"
    assert dependencies._summary([], [], 1, "osv-db", Collected()) == "no known vulnerabilities in 1 package (osv-db)"
    assert dependencies._summary([], [], 3, "osv-db", Collected()) == "no known vulnerabilities in 3 packages (osv-db)"
    one = {"components": 1, "spec_version": "1.6", "with_license": 1, "with_purl": 1}
    assert sbom._summary(one, None).startswith("1 component, CycloneDX 1.6 valid; ")
    assert sbom._summary({**one, "components": 2}, None).startswith("2 components, ")


def test_ruff_counts_a_thousand_findings_with_a_separator(tmp_path: Path, make_ctx: Any) -> None:
    """lint's count read ``1000 findings`` beside bandit's ``1,000 lines``: every count is grouped."""
    (tmp_path / "many.py").write_text("import os\n" * 1000)  # F811 on each redefinition, F401 on the last, I001
    git_init(tmp_path)
    result = LintChecker().run(section(LintChecker), make_ctx(tmp_path))
    assert len(result.findings) == 1001
    assert result.summary.startswith("1,001 findings in 1 of 1 file"), result.summary
