"""What a run does not need is not imported: a check's start-up time is paid on every pull request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def imported_after(code: str) -> set[str]:
    """The modules ``code`` imported in a fresh interpreter: those loaded before it ran (by the
    interpreter's start, or by coverage.py measuring the subprocess, as in CI) are left out."""
    probe = f"import sys\nbefore = set(sys.modules)\n{code}\nprint('\\n'.join(sorted(set(sys.modules) - before)))"
    done = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    return set(done.stdout.split())


def test_the_audit_record_and_the_timestamp_settings_load_no_cryptography_and_no_http_client() -> None:
    """cryptography is loaded where a key is used, urllib.request where an authority is asked."""
    loaded = imported_after(
        "from gatekeeper import audit, attestation, timestamp\n"
        "assert audit.signer_from_env() is None\n"
        "assert timestamp.authority_from({}, __import__('pathlib').Path('.')) is None\n"
    )
    assert "gatekeeper.audit" in loaded and "gatekeeper.timestamp" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "cryptography"}
    assert "urllib.request" not in loaded and "http.client" not in loaded


def test_a_signing_key_still_signs_and_verifies() -> None:
    from gatekeeper import signing

    signer = signing.generate()
    data = b"record"
    assert signer.keyring().verify(signer.key_id, data, signer.sign(data))
    assert not signer.keyring().verify(signer.key_id, data + b"!", signer.sign(data))


#: what running a check needs and loading its checker does not: each built-in checker's run path
#: (readers, report formats, sources, parsers, its tool's worker pool) and the libraries they use
RUN_PATHS = {
    "gatekeeper.checkers.coverage.data",
    "gatekeeper.checkers.coverage.testrun",
    "gatekeeper.checkers.coverage.formats",
    "gatekeeper.checkers.coverage.report",
    "xml.etree.ElementTree",
    "defusedxml",
    "gatekeeper.checkers.dependencies.sources",
    "gatekeeper.checkers.dependencies.online",
    "gatekeeper.checkers.dependencies.offline",
    "gatekeeper.checkers.dependencies.advisories",
    "gatekeeper.checkers.lockfiles.model",
    "gatekeeper.checkers.lockfiles.uv",
    "packaging.utils",
    "packaging.tags",
    "packaging.version",
    "gatekeeper.checkers.inventory",
    "gatekeeper.checkers.inventory.project",
    "gatekeeper.checkers.inventory.scope",
    "configparser",
    "gatekeeper.checkers.licenses.spdx",
    "license_expression",
    "gatekeeper.checkers.sbom.lockbom",
    "gatekeeper.checkers.sbom.validation",
    "packageurl",
    "uuid",
    "gatekeeper.checkers.security.pool",
    "gatekeeper.checkers.security.scan",
    "concurrent.futures",
    "gatekeeper.checkers.source",
    "gatekeeper.checkers.secrets.scan",
    "gatekeeper.checkers.secrets.launcher",
    "gatekeeper.checkers.secrets.results",
    "gatekeeper.checkers.secrets.narrowing",
    "gatekeeper.checkers.lint.narrowing",
    "gatekeeper.toolconfig",
    "gatekeeper.checkers.types.incremental",
    "gatekeeper.checkers.types.narrowing",
    "gatekeeper.redaction",
}


def test_loading_the_checkers_and_their_policy_options_imports_none_of_their_run_paths() -> None:
    """Discovery and policy validation need each checker's options and hooks, not how it runs: a
    check's run path is imported when it runs, in its own thread, and a check that does not run
    never imports it."""
    loaded = imported_after(
        "from gatekeeper.checkers import installed, policy_options\n"
        "checkers = installed()\n"
        "assert not [c.error for c in checkers.values() if c.error]\n"
        "options = policy_options(checkers)\n"
        "assert {'coverage', 'dependencies', 'licenses', 'lint', 'sbom', 'secrets', 'security', 'types'} <= set(options)\n"
        "assert 'target_platform' in options['dependencies'] and 'enabled' in options['lint']\n"
    )
    assert "gatekeeper.checkers.dependencies" in loaded and "gatekeeper.checkers.lint" in loaded
    assert sorted(RUN_PATHS & loaded) == []


@pytest.mark.skipif(os.name == "nt" or sys.version_info >= (3, 13), reason="url2pathname is more than unquote there")
def test_reading_a_local_install_url_loads_no_http_client() -> None:
    """A ``direct_url.json`` naming a folder (a local or editable install) is read on every run:
    its path comes without urllib.request, which imports http.client and ssl."""
    loaded = imported_after(
        "from pathlib import Path\n"
        "from gatekeeper.checkers.inventory import file_url_path\n"
        "from gatekeeper.toolorigin import _installed\n"
        "assert file_url_path('file:///opt/some%20where') == Path('/opt/some where').resolve()\n"
        "assert _installed(Path('/nonexistent-root'), 'tool', {'url': 'file:///opt/x', 'dir_info': {}}) == 'local'\n"
    )
    assert "gatekeeper.checkers.inventory" in loaded
    assert "urllib.request" not in loaded and "http.client" not in loaded and "ssl" not in loaded


def test_an_sbom_without_its_spdx_form_loads_no_license_table() -> None:
    """license-expression's SPDX table is the SPDX writer's: a policy that asks only for CycloneDX never loads it."""
    loaded = imported_after(
        "from gatekeeper.checkers.sbom import SbomChecker\n"
        "extra = {}\n"
        "SbomChecker()._write_spdx({'formats': ['cyclonedx']}, {}, None, extra)\n"
        "assert extra == {}\n"
    )
    assert "gatekeeper.checkers.sbom" in loaded
    assert "gatekeeper.checkers.sbom.spdx" not in loaded and "license_expression" not in loaded


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing has assert_never from Python 3.11")
def test_the_reports_load_no_typing_extensions() -> None:
    """typing has ``assert_never`` from Python 3.11: typing_extensions, imported for it alone, cost
    every run that writes SARIF about 2 ms."""
    loaded = imported_after("from gatekeeper.reports import gitlab, html, json, junit, markdown, sarif\n")
    assert "gatekeeper.reports.sarif" in loaded and "gatekeeper.reports.gitlab" in loaded
    assert "typing_extensions" not in loaded


def test_what_the_test_command_waits_for_loads_no_file_lister_report_reader_or_timestamp_code(tmp_path: Path) -> None:
    """Everything the main thread and the coverage check import before ``checks.coverage.run``'s
    command starts delays it: the project-file lister (``checkers.source``) is imported by the first
    check that lists files, coverage's report reader once the tests have started, and the timestamp
    code only for a policy that names an authority."""
    (tmp_path / "gatekeeper.toml").write_text('[checks.coverage]\nrun = ["pytest"]\n')
    loaded = imported_after(
        "from pathlib import Path\n"
        "from gatekeeper import engine, gate\n"
        "from gatekeeper.checkers import installed, policy_options\n"
        "from gatekeeper.checkers.coverage import testrun\n"
        f"run = gate._prepare(gate.Outputs(path=Path({str(tmp_path)!r}), audit=False), policy_options(installed()), None)\n"
        "assert run.authority is None and run.policy.checks['coverage']['run'] == ['pytest']\n"
    )
    assert {"gatekeeper.engine", "gatekeeper.gate", "gatekeeper.checkers.coverage.testrun"} <= loaded
    assert "gatekeeper.checkers.source" not in loaded
    assert "gatekeeper.checkers.coverage.report" not in loaded
    assert "gatekeeper.timestamp" not in loaded
    # skipped only where it would find no authority: a URL without its certificate still stops the run first
    from gatekeeper import gate
    from gatekeeper.checkers import installed, policy_options
    from gatekeeper.errors import PolicyError

    (tmp_path / "gatekeeper.toml").write_text('[audit]\ntimestamp_url = "https://tsa.example"\n')
    with pytest.raises(PolicyError, match="certificate"):
        gate._prepare(gate.Outputs(path=tmp_path, audit=False), policy_options(installed()), None)
