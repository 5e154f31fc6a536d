"""The dependencies checker offline, against OSV databases the tests write, through the engine and the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.findings import GateResult, Severity, Status, Verdict, fingerprint
from tests.helpers.cli import installed_checkers, installed_options
from tests.helpers.osv import EXPECTED_ALL, EXPECTED_PROJECT, FRESH, RECORDS, dep_result, found, write_db

Project = Callable[..., Path]
Gate = Callable[[Path], GateResult]

#: a waiver expiry within gate.max_waiver_days of today
SOON = (dt.date.today() + dt.timedelta(days=180)).isoformat()
#: the reason and approver every waiver needs
ACCEPTED = 'reason = "accepted until the upstream fix"\napproved_by = "security@example.com"\n'


@pytest.mark.parametrize("layout", ["pypa", "flat", "pypa-zip", "flat-zip"])
def test_offline_matches_exactly_the_records_that_affect_installed_versions(
    layout: str, deps_project: Project, run_deps: Gate
) -> None:
    root = deps_project(checks='advisory_db = "{db}"', environment='scope = "project"')
    db = write_db(root, RECORDS, layout)
    (root / "gatekeeper.toml").write_text((root / "gatekeeper.toml").read_text().replace("{db}", db.name))
    result = dep_result(run_deps(root))

    assert found(result) == EXPECTED_PROJECT
    assert result.status is Status.FAIL
    m = result.metrics
    assert m["service"] == "osv-db"
    assert m["scope"] == "project"
    # the closure: alpha, Beta_Pkg[fast] -> gamma (extra) + delta, foo-bar-baz, safe; tooling left out
    assert sorted(m["left_out"]) == ["toolx", "weird"]
    assert m["packages_audited"] == 6
    assert m["unaudited"] == []
    assert m["vulnerabilities"] == 5
    # which database, and how current its data is (the newest record's modified time)
    assert result.summary.startswith(
        f"5 vulnerabilities in 4 of 6 packages (osv-db, scope project; database as of {FRESH[:10]}, 0 days old)"
    )
    assert m["db_as_of"] == FRESH and m["database"]["location"] == str(db) and m["database"]["max_age_days"] == 7
    # and its digest, as the documented shell pipeline (in-toto's dirHash1) or sha256sum computes it
    if db.is_dir():
        pipeline = "find . -type f | cut -c3- | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -f1 -d' '"
        by_hand = subprocess.run(["bash", "-c", pipeline], cwd=db, capture_output=True, text=True, check=True).stdout.strip()
        assert m["database"]["digest"] == {"dirHash1": by_hand}
    else:
        assert m["database"]["digest"] == {"sha256": hashlib.sha256(db.read_bytes()).hexdigest()}
    # only records naming audited packages were parsed: not TEST-2024-OTHER (not installed) nor
    # TEST-2024-TOOL (toolx is left out of the project scope)
    assert m["advisory_db"]["records_read"] == len(RECORDS) - 2
    assert m["advisory_db"]["withdrawn_skipped"] == 1


def test_finding_fields_severity_aliases_fixes_and_manifest(deps_project: Project, run_deps: Gate, tmp_path: Path) -> None:
    root = deps_project(checks='advisory_db = "advisories"', environment='scope = "project"')
    write_db(root, RECORDS, "pypa")
    result = dep_result(run_deps(root))
    by_id = {f.rule_id: f for f in result.findings}

    rng = by_id["TEST-2024-RANGE"]
    assert rng.package is not None and (rng.package.name, rng.package.version) == ("alpha", "1.4")
    assert rng.properties["aliases"] == ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"]
    assert rng.properties["fixed_versions"] == ["1.5"]
    assert rng.severity is Severity.MEDIUM  # CVSS 3.1 base 6.1
    assert rng.properties["cvss_score"] == 6.1
    assert rng.help_uri == "https://github.com/advisories/GHSA-aaaa-bbbb-cccc"
    assert rng.fingerprint == fingerprint("dependencies", "TEST-2024-RANGE", "alpha", "1.4")
    assert "fixed in 1.5" in rng.message
    # environment source: the finding points at the line of pyproject.toml that declares alpha
    lines = (root / "pyproject.toml").read_text().splitlines()
    manifest = rng.properties["manifest"]
    assert manifest["path"] == "pyproject.toml"
    assert lines[manifest["line"] - 1].strip() == '"alpha>=1",'
    assert rng.location is None

    zero = by_id["TEST-2024-ZERO"]
    assert zero.severity is Severity.CRITICAL  # 9.8
    assert zero.package is not None and zero.package.name == "foo-bar-baz"

    unknown = by_id["TEST-2024-LIST"]
    assert unknown.severity is Severity.HIGH
    assert unknown.properties["severity_source"] == "unknown"
    assert unknown.help_uri == "https://osv.dev/vulnerability/TEST-2024-LIST"
    assert unknown.properties["description"].startswith("Beta_Pkg: explicit list")
    gamma = by_id["TEST-2024-LAST"]
    assert gamma.properties["fixed_versions"] == []
    assert "no fixed version known" in gamma.message
    # gamma is not declared by the project, only reached through beta-pkg[fast]: the project's manifest, no line
    assert gamma.properties["manifest"] == {"path": "pyproject.toml", "line": None}


def test_a_setup_py_project_s_findings_point_at_setup_py_not_at_its_tool_settings(deps_project: Project, run_deps: Gate) -> None:
    """A legacy project declares its dependencies in setup.py; its pyproject.toml holds only the build
    system and ruff's settings, its setup.cfg only ``[bdist_wheel]`` and ``[flake8]``: a finding's
    manifest (SARIF and GitLab locations) is setup.py, the file that declares them."""
    root = deps_project(checks='advisory_db = "advisories"', environment='scope = "all"')
    (root / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n\n[tool.ruff]\nline-length = 100\n')
    (root / "setup.cfg").write_text("[bdist_wheel]\nuniversal = 1\n\n[flake8]\nmax-line-length = 100\n")
    (root / "setup.py").write_text('from setuptools import setup\n\nsetup(name="myproject", install_requires=["alpha>=1"])\n')
    write_db(root, RECORDS, "flat")
    result = dep_result(run_deps(root))
    assert result.metrics["manifest"] == "setup.py"
    alpha = next(f for f in result.findings if f.rule_id == "TEST-2024-RANGE")
    assert alpha.properties["manifest"] == {"path": "setup.py", "line": None}
    (root / "setup.cfg").write_text("[metadata]\nname = myproject\n\n[options]\ninstall_requires = alpha>=1\n")
    assert dep_result(run_deps(root)).metrics["manifest"] == "setup.cfg"  # setup.cfg declares the project now


def test_scope_all_audits_tooling_and_fails_closed_on_an_unparseable_version(deps_project: Project, run_deps: Gate) -> None:
    root = deps_project(checks='advisory_db = "advisories"', environment='scope = "all"')
    write_db(root, RECORDS, "flat")
    result = dep_result(run_deps(root))

    assert found(result) == EXPECTED_ALL
    assert result.metrics["scope"] == "all"
    assert result.metrics["left_out"] == []
    assert result.metrics["unaudited"] == ["weird"]
    assert "weird" in result.metrics["unaudited_reasons"]
    tool = next(f for f in result.findings if f.rule_id == "TEST-2024-TOOL")
    assert tool.severity is Severity.MEDIUM and tool.properties["severity_source"] == "label MODERATE"
    unaudited = next(f for f in result.findings if f.rule_id == "dependencies.unaudited")
    assert unaudited.blocking and unaudited.severity is Severity.HIGH
    assert "weird" in unaudited.message and "PEP 440" in unaudited.message
    assert unaudited.properties["packages"][0]["name"] == "weird"
    assert "1 could not be audited: weird" in result.summary


def test_unaudited_alone_fails_the_gate_unless_fail_on_unaudited_is_false(
    deps_project: Project, run_deps: Gate, tmp_path: Path
) -> None:
    # a database with nothing that affects the environment: only the unparseable version matters
    records = [r for r in RECORDS if r["id"] in ("TEST-2024-SAFE", "TEST-2024-OLD")]
    root = deps_project(checks='advisory_db = "advisories"')
    write_db(root, records, "pypa")
    gate = run_deps(root)
    result = dep_result(gate)
    assert found(result) == set()
    assert result.metrics["vulnerabilities"] == 0
    assert result.status is Status.FAIL and gate.verdict is Verdict.FAIL

    cfg = root / "gatekeeper.toml"
    cfg.write_text(cfg.read_text().replace("[checks.dependencies]\n", "[checks.dependencies]\nfail_on_unaudited = false\n"))
    gate = run_deps(root)
    result = dep_result(gate)
    assert result.status is Status.PASS and gate.verdict is Verdict.PASS
    unaudited = [f for f in result.findings if f.rule_id == "dependencies.unaudited"]
    assert len(unaudited) == 1 and not unaudited[0].blocking
    assert result.metrics["unaudited"] == ["weird"]


def test_fail_on_severity_blocks_only_at_or_above_the_threshold(deps_project: Project, run_deps: Gate) -> None:
    root = deps_project(checks='advisory_db = "advisories"\nfail_on_severity = "critical"', environment='scope = "project"')
    write_db(root, RECORDS, "pypa")
    result = dep_result(run_deps(root))
    blocking = {f.rule_id for f in result.findings if f.blocking}
    assert blocking == {"TEST-2024-ZERO"}  # 9.8; the unknown ones count as high, below critical
    assert result.status is Status.FAIL

    cfg = root / "gatekeeper.toml"
    cfg.write_text(cfg.read_text().replace('"critical"', '"high"'))
    result = dep_result(run_deps(root))
    assert {f.rule_id for f in result.findings if f.blocking} == {
        "TEST-2024-ZERO",
        "TEST-2024-LIST",
        "TEST-2024-LAST",
        "TEST-2024-MULTI",
    }


def test_waiver_matches_an_advisory_by_alias(deps_project: Project, run_deps: Gate) -> None:
    waivers = "\n".join(
        f'[[waivers]]\ncheck = "dependencies"\nrule = "{rule}"\nreason = "the vulnerable code is not reachable"\n'
        f'approved_by = "sec@example.com"\nexpires = {SOON}\n'
        for rule in ("ghsa-aaaa-bbbb-cccc", "TEST-2024-LIST", "TEST-2024-LAST", "TEST-2024-MULTI", "TEST-2024-ZERO")
    )
    root = deps_project(checks='advisory_db = "advisories"', environment='scope = "project"', extra=waivers)
    write_db(root, RECORDS, "pypa")
    gate = run_deps(root)
    result = dep_result(gate)
    rng = next(f for f in result.findings if f.rule_id == "TEST-2024-RANGE")
    assert rng.waiver is not None and not rng.blocking  # waived through its GHSA alias (any case)
    assert result.status is Status.PASS and gate.verdict is Verdict.PASS
    assert len(gate.waivers["applied"]) == 5


def test_requirements_source_pins_hashes_includes_markers_and_unpinned_lines(deps_project: Project, run_deps: Gate) -> None:
    root = deps_project(checks='advisory_db = "advisories"\nsource = "requirements/prod.txt"')
    write_db(root, RECORDS, "pypa")
    reqs = root / "requirements"
    reqs.mkdir()
    (reqs / "base.txt").write_text("# shared pins\nFOO_BAR.BAZ==1.0  # unnormalised spelling\n", encoding="utf-8")
    (reqs / "prod.txt").write_text(
        "--index-url https://example.invalid/simple\n"
        "-r base.txt\n"
        "alpha==1.4 \\\n"
        "    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
        "gamma==3.1 ; python_version < '3.0'\n"
        "safe==1.5 ; python_version >= '3.0'\n"
        "toolx>=1.0\n"
        "mystery @ https://example.invalid/mystery-1.0.tar.gz\n"
        "this is not a requirement\n",
        encoding="utf-8",
    )
    result = dep_result(run_deps(root))
    # gamma's marker is false for the environment's Python 3, so it is not audited
    assert found(result) == {("TEST-2024-ZERO", "foo-bar-baz"), ("TEST-2024-RANGE", "alpha"), ("TEST-2024-SAFE", "safe")}
    locs = {f.rule_id: f.location for f in result.findings}
    assert locs["TEST-2024-RANGE"] is not None and (locs["TEST-2024-RANGE"].path, locs["TEST-2024-RANGE"].line) == (
        "requirements/prod.txt",
        3,
    )
    assert locs["TEST-2024-ZERO"] is not None and (locs["TEST-2024-ZERO"].path, locs["TEST-2024-ZERO"].line) == (
        "requirements/base.txt",
        2,
    )
    reasons = result.metrics["unaudited_reasons"]
    assert sorted(reasons) == ["mystery", "requirements/prod.txt:9", "toolx"]
    assert reasons["toolx"].startswith("requirements/prod.txt:7:") and "not pinned" in reasons["toolx"]
    assert reasons["mystery"].startswith("requirements/prod.txt:8:")
    # an unparseable line is named by file and line, never quoted (it may hold anything)
    assert reasons["requirements/prod.txt:9"] == "this line cannot be parsed as a requirement"
    assert not any("this is not" in r for r in reasons.values())
    assert result.metrics["packages_audited"] == 3
    assert result.status is Status.FAIL


def test_requirements_whose_markers_are_false_here_are_named_in_the_metrics_and_counted_in_the_summary(
    deps_project: Project, run_deps: Gate
) -> None:
    """A pin whose marker is false for the target is not installed there, so not audited; the SBOM of
    the same file lists it, and the check said nothing of it. It is named, with its marker and line."""
    root = deps_project(checks='advisory_db = "advisories"\nsource = "requirements.txt"')
    write_db(root, RECORDS, "pypa")
    (root / "requirements.txt").write_text(
        "alpha==1.4\ngamma==3.1 ; python_full_version < '3.0'\nsafe==1.5 ; python_version >= '3.0'\n", encoding="utf-8"
    )
    result = dep_result(run_deps(root))
    assert result.metrics["left_out_by_markers"] == [
        {"name": "gamma", "marker": 'python_full_version < "3.0"', "line": "requirements.txt:2"}
    ]
    assert result.metrics["packages_audited"] == 2
    assert result.summary.endswith("; 1 left out by their markers")


def test_requirements_left_open_are_audited_at_the_version_their_constraints_file_pins(
    deps_project: Project, run_deps: Gate
) -> None:
    """pip installs an unpinned requirement at the version a ``-c`` file pins (wherever the ``-c``
    line stands, and through the ``-c`` files a constraints file names): that version is audited, at
    the pin's line; a constraint the requirement excludes (pip refuses to install) and a requirement
    no constraint pins stay unaudited. A ``-r`` line in a constraints file names requirements."""
    root = deps_project(checks='advisory_db = "advisories"\nsource = "requirements/dev.txt"')
    write_db(root, RECORDS, "pypa")
    reqs = root / "requirements"
    reqs.mkdir()
    (reqs / "base.txt").write_text("alpha>=1.0\n", encoding="utf-8")
    (reqs / "dev.txt").write_text("-r base.txt\ntoolx\nsafe>=2\n-c constraints.txt\nbeta-pkg==2.*\n", encoding="utf-8")
    (reqs / "constraints.txt").write_text("-c upper.txt\nsafe==1.5\nunrequired==9.9\n-r extra.txt\n", encoding="utf-8")
    (reqs / "extra.txt").write_text("gamma==3.0.5\n", encoding="utf-8")  # pip installs it: audited
    (reqs / "upper.txt").write_text("alpha==1.4 ; python_version >= '3'\n", encoding="utf-8")
    result = dep_result(run_deps(root))
    assert {name for _, name in found(result)} == {"alpha", "gamma"}
    alpha = next(f for f in result.findings if f.rule_id == "TEST-2024-RANGE")
    assert alpha.package is not None and alpha.package.version == "1.4"
    assert alpha.location is not None and (alpha.location.path, alpha.location.line) == ("requirements/upper.txt", 1)
    reasons = result.metrics["unaudited_reasons"]
    assert sorted(reasons) == ["beta-pkg", "safe", "toolx"]
    wildcard = "'beta-pkg==2.*' is not pinned to one version (a == with a wildcard matches a range; pin it with =="
    assert reasons["beta-pkg"].startswith(f"requirements/dev.txt:5: {wildcard}")  # arrow's dateparser==1.*
    conflict = "requirements/dev.txt:3: 'safe>=2' conflicts with safe==1.5 pinned by requirements/constraints.txt:2"
    assert reasons["safe"] == conflict
    assert (
        reasons["toolx"] == "requirements/dev.txt:2: 'toolx' is not pinned to one version (pin it with ==, e.g. with pip-compile)"
    )
    assert result.metrics["packages_audited"] == 2  # a constraint installs nothing: unrequired is not audited
    assert result.metrics["constraints"] == ["requirements/constraints.txt", "requirements/upper.txt"]


def pip_reads(path: Path) -> list[str]:
    """What pip installs from the requirements file at ``path`` (its own reading of the file, as
    ``pip install -r`` reads it): each requirement, ``-e`` ones marked."""
    code = (
        "import sys\n"
        "from pip._internal.network.session import PipSession\n"
        "from pip._internal.req.req_file import parse_requirements\n"
        "for r in parse_requirements(sys.argv[1], session=PipSession()):\n"
        "    print(('-e ' if r.is_editable else '') + ('(constraint) ' if r.constraint else '') + r.requirement)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120, check=True)
    return sorted(done.stdout.splitlines())


def test_requirements_options_are_read_as_pip_reads_them(deps_project: Project, run_deps: Gate) -> None:
    """pip reads an options line with optparse: a short option's value may follow it unspaced
    (``-rbase.txt``; ``-r=x.txt`` names the file ``=x.txt``), a long one may be abbreviated
    (``--requirem``) with its value after ``=``. What such lines include is audited, an editable
    one is unaudited, a constraint pins what it names, as pip installs them."""
    root = deps_project(checks='advisory_db = "advisories"\nsource = "requirements/prod.txt"')
    write_db(root, RECORDS, "pypa")
    reqs = root / "requirements"
    (reqs / "local").mkdir(parents=True)
    (reqs / "local" / "pyproject.toml").write_text('[project]\nname = "local"\nversion = "1"\n', encoding="utf-8")
    files = {
        "prod.txt": "-rbase.txt\n--requirem=more.txt\n-r=eq.txt\n-e./local\n--constr pins.txt\nsafe\n",
        "base.txt": "alpha==1.4\n",
        "more.txt": "gamma==3.0.5\n",
        "eq.txt": "toolx==0.1\n",  # what -r=eq.txt does not name
        "=eq.txt": "foo-bar-baz==1.0\n",
        "pins.txt": "safe==1.5\n",
    }
    for name, text in files.items():
        (reqs / name).write_text(text, encoding="utf-8")
    assert pip_reads(reqs / "prod.txt") == [
        "(constraint) safe==1.5", "-e ./local", "alpha==1.4", "foo-bar-baz==1.0", "gamma==3.0.5", "safe",
    ]  # fmt: skip
    result = dep_result(run_deps(root))
    assert {name for _, name in found(result)} == {"alpha", "gamma", "foo-bar-baz", "safe"}
    assert result.metrics["packages_audited"] == 4
    editable = "requirements/prod.txt:4: editable requirement has no pinned version"
    assert list(result.metrics["unaudited_reasons"].values()) == [editable]
    assert result.status is Status.FAIL


def test_pyproject_source_uses_pins_then_installed_versions(deps_project: Project, run_deps: Gate) -> None:
    root = deps_project(
        checks='advisory_db = "advisories"\nsource = "pyproject.toml"',
        deps=["alpha>=1", "gamma==3.0.5", "toolx<1.0", "absent>=2", "foo-bar-baz ; python_version < '3'"],
    )
    write_db(root, RECORDS, "pypa")
    result = dep_result(run_deps(root))
    # alpha: unpinned, installed 1.4 satisfies >=1; gamma: pinned 3.0.5 (not the installed 3.1)
    assert found(result) == {
        ("TEST-2024-RANGE", "alpha"),
        ("TEST-2024-LAST", "gamma"),
        ("TEST-2024-LASTOLD", "gamma"),
        ("TEST-2024-MULTI", "gamma"),
    }
    gamma = next(f for f in result.findings if f.rule_id == "TEST-2024-LAST")
    assert gamma.package is not None and gamma.package.version == "3.0.5"
    assert gamma.location is not None and gamma.location.path == "pyproject.toml"
    assert (root / "pyproject.toml").read_text().splitlines()[gamma.location.line - 1].strip() == '"gamma==3.0.5",'
    reasons = result.metrics["unaudited_reasons"]
    assert sorted(reasons) == ["absent", "toolx"]
    assert "does not satisfy" in reasons["toolx"]
    assert "not installed" in reasons["absent"]


def test_pyproject_source_without_the_file_names_the_setting_not_the_scope(deps_project: Project, run_deps: Gate) -> None:
    """flake8's checkout: setup.cfg and setup.py, no pyproject.toml. source = "pyproject.toml" (under the
    default scope = "all") was an error saying 'scope = "project" needs pyproject.toml ... (or use scope =
    "all")', a setting the policy did not make and a cure it already had. The error names the source
    setting and what to set it to."""
    root = deps_project(checks='advisory_db = "advisories"\nsource = "pyproject.toml"', deps=["alpha>=1"])
    write_db(root, RECORDS, "pypa")
    (root / "pyproject.toml").unlink()
    (root / "setup.cfg").write_text("[metadata]\nname = demo\n\n[options]\ninstall_requires =\n    alpha>=1\n")
    result = dep_result(run_deps(root))
    assert result.status is Status.ERROR
    assert result.error == (
        f'checks.dependencies.source = "pyproject.toml" needs {root / "pyproject.toml"}, which does not exist (set it to '
        '"environment", a requirements file or a lock file)'
    )


def test_missing_database_is_an_error_not_a_pass(deps_project: Project, run_deps: Gate) -> None:
    root = deps_project(checks='advisory_db = "no-such-db"')
    gate = run_deps(root)
    result = dep_result(gate)
    assert result.status is Status.ERROR
    assert result.error is not None and "no-such-db" in result.error and "does not exist" in result.error
    assert gate.verdict is Verdict.ERROR


def test_the_database_opened_beside_the_probe_changes_no_error(deps_project: Project, run_deps: Gate) -> None:
    """The database is opened while the environment is read; which error a run reports stays the same."""
    # both the source and the database are missing: the source is named, as it is checked first
    root = deps_project(checks='source = "missing-requirements.txt"\nadvisory_db = "no-such-db"')
    result = dep_result(run_deps(root))
    assert result.status is Status.ERROR and result.error is not None
    assert "missing-requirements.txt" in result.error and "no-such-db" not in result.error
    # the database fails alone: its own message
    root = deps_project(checks='advisory_db = "no-such-db"')
    (root / "no-such-db").mkdir()
    result = dep_result(run_deps(root))
    assert result.error is not None and "holds no .yaml, .yml or .json records" in result.error


def test_unreadable_record_for_an_installed_package_is_an_error(deps_project: Project, run_deps: Gate) -> None:
    root = deps_project(checks='advisory_db = "advisories"')
    db = write_db(root, RECORDS, "pypa")
    (db / "vulns" / "alpha" / "BROKEN-1.yaml").write_text(
        "id: BROKEN-1\naffected:\n  - package: {name: alpha\n", encoding="utf-8"
    )
    result = dep_result(run_deps(root))
    assert result.status is Status.ERROR
    assert result.error is not None and "BROKEN-1.yaml" in result.error


@pytest.mark.slow  # end to end: gatekeeper runs as a process
def test_cli_end_to_end_exit_codes_and_json_report(deps_project: Project) -> None:
    root = deps_project(checks='advisory_db = "advisories.zip"', environment='scope = "project"')
    write_db(root, RECORDS, "flat-zip")
    cmd = [sys.executable, "-m", "gatekeeper", "check", str(root), "--only", "dependencies", "--no-audit", "--format", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert report["verdict"] == "fail"
    (check,) = report["checks"]
    assert check["name"] == "dependencies" and check["status"] == "fail"
    assert {(f["rule_id"], f["package"]["name"]) for f in check["findings"]} == {
        ("TEST-2024-RANGE", "alpha"), ("TEST-2024-LIST", "Beta_Pkg"), ("TEST-2024-LAST", "gamma"),
        ("TEST-2024-MULTI", "gamma"), ("TEST-2024-ZERO", "foo-bar-baz"),
    }  # fmt: skip
    assert check["metrics"]["advisory_db"]["layout"] == "zip"
    assert check["metrics"]["vulnerabilities"] == 5

    # waive everything it found, by id or alias: the same run now passes with exit 0
    waived = "".join(
        f'[[waivers]]\ncheck = "dependencies"\nrule = "{r}"\n{ACCEPTED}expires = {SOON}\n'
        for r in ("CVE-2024-0001", "TEST-2024-LIST", "TEST-2024-LAST", "TEST-2024-MULTI", "TEST-2024-ZERO")
    )
    with (root / "gatekeeper.toml").open("a") as fh:
        fh.write("\n" + waived)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert report["verdict"] == "pass"
    assert all(f["waiver"] is not None for f in report["checks"][0]["findings"])


def test_project_scope_declared_but_not_installed_is_unaudited(deps_project: Project, run_deps: Gate) -> None:
    root = deps_project(
        checks='advisory_db = "advisories"',
        environment='scope = "project"',
        deps=["alpha>=1", "absent-pkg>=1", "gone ; python_version < '3'"],
    )
    write_db(root, RECORDS, "pypa")
    result = dep_result(run_deps(root))
    assert found(result) == {("TEST-2024-RANGE", "alpha")}
    assert result.metrics["unaudited"] == ["absent-pkg"]  # "gone" does not apply to this Python
    assert "not installed" in result.metrics["unaudited_reasons"]["absent-pkg"]
    assert result.status is Status.FAIL


def test_builds_from_a_folder_or_vcs_are_unaudited_and_the_project_itself_is_not_a_dependency(tmp_path: Path) -> None:
    """An advisory database describes releases on the index: its silence about a package built from
    a local folder or a VCS checkout proves nothing, so such a package is unaudited, never clean."""
    from gatekeeper.engine import RunRequest, run_checks
    from gatekeeper.policy import load_policy
    from tests.helpers.osv import make_env

    python = make_env(
        tmp_path / "venv",
        [
            ("localpkg", "1.0", []),
            ("vcspkg", "2.0", []),
            ("urlpkg", "3.0", []),
            ("indexpkg", "4.0", []),
            ("myproject", "0.1", []),
        ],
    )
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    (site / "localpkg-1.0.dist-info" / "direct_url.json").write_text(json.dumps({"url": "file:///src/localpkg", "dir_info": {}}))
    (site / "vcspkg-2.0.dist-info" / "direct_url.json").write_text(
        json.dumps({"url": "https://example.com/vcspkg.git", "vcs_info": {"vcs": "git", "commit_id": "0" * 40}})
    )
    (site / "urlpkg-3.0.dist-info" / "direct_url.json").write_text(
        json.dumps({"url": "https://files.example.com/urlpkg-3.0-py3-none-any.whl", "archive_info": {}})
    )
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "MyProject"\nversion = "0.1"\ndependencies = []\n')
    (tmp_path / "db" / "vulns" / "other").mkdir(parents=True)
    (tmp_path / "db" / "vulns" / "other" / "TEST-1.yaml").write_text(
        f"id: TEST-1\nmodified: '{FRESH}'\naffected:\n- package: {{name: other, ecosystem: PyPI}}\n  versions: ['1.0']\n"
    )
    (root / "gatekeeper.toml").write_text(
        f'[environment]\npython = "{python}"\nscope = "all"\n[checks.dependencies]\nadvisory_db = "{tmp_path / "db"}"\n'
    )
    checkers, options = installed_checkers(), installed_options()
    policy = load_policy(root, options)
    result = run_checks(RunRequest(root=root, policy=policy, output_dir=root / "out", only=("dependencies",)), checkers)
    dep = dep_result(result)
    assert dep.status is not Status.ERROR, dep.error
    assert dep.metrics["unaudited"] == ["localpkg", "vcspkg"]
    assert "local folder" in dep.metrics["unaudited_reasons"]["localpkg"]
    assert "VCS checkout" in dep.metrics["unaudited_reasons"]["vcspkg"]
    assert dep.metrics["packages_audited"] == 2  # indexpkg and urlpkg; the project itself is not audited
    assert dep.metrics["project"] == "myproject"
    assert dep.status is Status.FAIL and result.verdict is Verdict.FAIL


@pytest.mark.slow
def test_start_up_code_of_the_environment_cannot_hide_a_package(tmp_path: Path, checkers: Any) -> None:
    """A .pth file of the inspected environment (any installed package can ship one) runs whenever
    that interpreter starts with site: this one hides alpha from importlib.metadata, so every tool
    asking that way misses it. The inventory is read without site, its folders added as site adds them."""
    from tests.helpers import osv

    python = osv.make_env(tmp_path / "env", osv.FAKE_DISTS)
    site = next((tmp_path / "env" / "lib").glob("python3*/site-packages"))
    (site / "zz_hide.pth").write_text(
        "import importlib.metadata as m; m.distributions = (lambda d: (lambda *a, **k: "
        "(x for x in d(*a, **k) if x.metadata['Name'] != 'alpha')))(m.distributions)\n"
    )
    osv.make_env(tmp_path / "other", [("sidecar", "1.0", ())])  # a folder a .pth line names: still read
    other = next((tmp_path / "other" / "lib").glob("python3*/site-packages"))
    (site / "zz_more.pth").write_text(f"# a comment\n{other}\n")
    listed = subprocess.run(
        [python, "-I", "-c", "import importlib.metadata as m; print(sorted(d.metadata['Name'] for d in m.distributions()))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "'alpha'" not in listed and "'sidecar'" in listed  # what a tool asking with site sees
    root = osv.deps_project(tmp_path / "project", python, checks='advisory_db = "{db}"', environment='scope = "all"')
    db = write_db(root, RECORDS, "pypa")
    (root / "gatekeeper.toml").write_text((root / "gatekeeper.toml").read_text().replace("{db}", db.name))
    result = dep_result(osv.run_dependencies(root, checkers))
    assert found(result) == EXPECTED_ALL
    names = {p["name"] for p in result.metrics["packages"]}
    assert {"alpha", "sidecar"} <= names


def test_a_package_both_vulnerable_and_partly_undecided_is_counted_apart_and_alike_in_every_report(
    deps_project: Project, run_deps: Gate
) -> None:
    """alpha 1.4 is affected by one advisory (an ECOSYSTEM range) and left undecided by another (only a
    GIT range): it is vulnerable AND not audited. The summary counts it apart from the audited packages
    (never "2 of 2" when only foo-bar-baz of the two audited ones is vulnerable), every number in it
    is a metric, and the JSON, HTML, Markdown and SARIF reports all say the same."""
    from gatekeeper.reports.html import render_html
    from gatekeeper.reports.json import render_json
    from gatekeeper.reports.markdown import render_markdown
    from gatekeeper.reports.sarif import render_sarif

    git_only = {
        "id": "TEST-2024-GITONLY",
        "affected": [
            {
                "package": {"name": "alpha", "ecosystem": "PyPI"},
                "ranges": [{"type": "GIT", "repo": "https://example.invalid/a", "events": [{"introduced": "0"}]}],
            }
        ],
    }
    records = [r for r in RECORDS if r["id"] in ("TEST-2024-RANGE", "TEST-2024-ZERO")] + [git_only]
    root = deps_project(
        checks='advisory_db = "advisories"', environment='scope = "project"', deps=["alpha>=1", "foo-bar-baz", "safe"]
    )
    write_db(root, records, "pypa")
    gate = run_deps(root)
    (check,) = (c for c in json.loads(render_json(gate))["checks"] if c["name"] == "dependencies")
    counted = "2 vulnerabilities in 2 packages: 1 of the 2 audited, 1 audited only in part (osv-db, scope project;"
    assert check["summary"].startswith(counted)
    m = check["metrics"]
    assert m["vulnerabilities"] == 2 and m["vulnerable_packages"] == ["alpha", "foo-bar-baz"]
    assert m["packages_audited"] == 2 and m["unaudited"] == ["alpha"] and m["partly_audited"] == ["alpha"]
    assert "TEST-2024-GITONLY" in m["unaudited_reasons"]["alpha"]
    assert check["summary"].endswith("; 1 could not be audited: alpha (in part)")
    assert {f["rule_id"] for f in check["findings"]} == {"TEST-2024-RANGE", "TEST-2024-ZERO", "dependencies.unaudited"}
    html, markdown = render_html(gate), render_markdown(gate)
    (run,) = (r for r in json.loads(render_sarif(gate))["runs"] if r["automationDetails"]["id"] == "gatekeeper/dependencies/")
    assert run["properties"]["gatekeeper"]["summary"] == check["summary"]
    for text in (html, markdown):
        assert "2 vulnerabilities in 2 packages: 1 of the 2 audited, 1 audited only in part" in text
    assert "Vulnerable, audited only in part" in html


def _iso(days_from_now: float) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days_from_now)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_record_dated_ahead_of_the_clock_cannot_make_a_stale_database_current(deps_project: Project, run_deps: Gate) -> None:
    """A snapshot whose records were last modified 30 days ago, but one of which says it was modified
    in 600 days (as PyPA's PYSEC-2025-19 says 2027-07-09): the age is judged from the newest record
    not dated after the run, so the database is 30 days old, an error of the check naming the record
    it did not count, never "0 days old" and a pass."""
    old, future = _iso(-30), _iso(600)
    stale = [{**r, "modified": old} for r in RECORDS]
    ahead = {**stale[0], "id": "TEST-2024-AHEAD", "aliases": [], "modified": future}
    root = deps_project(checks='advisory_db = "advisories"', environment='scope = "project"')
    write_db(root, [*stale, ahead], "pypa")
    gate = run_deps(root)
    result = dep_result(gate)
    assert result.status is Status.ERROR and gate.verdict is Verdict.ERROR
    assert result.error is not None and "the advisory database is 30 days old" in result.error
    assert f"newest record modified {old}" in result.error
    assert f"(1 record is dated after this run's clock (vulns/alpha/TEST-2024-AHEAD.yaml: modified {future})" in result.error


def test_a_fresh_database_with_a_record_dated_ahead_says_it_was_not_counted(deps_project: Project, run_deps: Gate) -> None:
    """Within the limit the audit runs, the record dated ahead is matched like any other, and the
    summary, the ``database`` metric and the HTML report name it as not counted for the age."""
    from gatekeeper.reports.html import render_html

    recent, future = _iso(-2), _iso(600)
    fresh = [{**r, "modified": recent} for r in RECORDS]
    ahead = {**fresh[0], "id": "TEST-2024-AHEAD", "aliases": [], "modified": future}
    root = deps_project(checks='advisory_db = "advisories"', environment='scope = "project"')
    write_db(root, [*fresh, ahead], "flat")
    gate = run_deps(root)
    result = dep_result(gate)
    assert result.status is Status.FAIL
    assert ("TEST-2024-AHEAD", "alpha") in found(result)
    db = result.metrics["database"]
    assert db["as_of"] == recent and db["age_days"] == 2
    assert db["dated_ahead"] == [{"record": "TEST-2024-AHEAD.json", "modified": future}]
    note = (
        f"1 record is dated after this run's clock (TEST-2024-AHEAD.json: modified {future}), not counted for the database's age"
    )
    assert f"database as of {recent[:10]}, 2 days old; {note}" in result.summary
    assert result.metrics["advisory_db"]["dated_ahead"] == 1
    html = render_html(gate)
    assert "Records dated after the run (not counted for its age)" in html and f"TEST-2024-AHEAD.json ({future})" in html


#: CVSS vectors and their scores by FIRST's calculators (v3.1: 4.3 medium; v4.0: 5.3 medium, 7.1 high)
V3_MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:L"
V4_MEDIUM = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"
V4_HIGH = "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"
#: a v4 vector with its impact metrics interleaved, as GHSA once published one: out of the specification's order
V4_OUT_OF_ORDER = "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/SC:N/VI:H/SI:N/VA:H/SA:N"


def _rated_run(
    deps_project: Project, run_deps: Gate, severity: list[dict[str, str]], fail_on: str, **extra: Any
) -> tuple[GateResult, Any]:
    """The gate result and the dependencies check's JSON (as gatekeeper.json carries it) of a run in which
    alpha 1.4 is affected by one advisory rated by ``severity`` (and ``extra`` fields of the record),
    under ``fail_on_severity = fail_on``."""
    from gatekeeper.reports.json import render_json

    record = next(r for r in RECORDS if r["id"] == "TEST-2024-RANGE")
    rated = {**record, "id": "TEST-2024-V4", "aliases": [], "severity": severity, **extra}
    root = deps_project(checks=f'advisory_db = "advisories"\nfail_on_severity = "{fail_on}"', environment='scope = "project"')
    write_db(root, [rated], "pypa")
    gate = run_deps(root)
    (check,) = (c for c in json.loads(render_json(gate))["checks"] if c["name"] == "dependencies")
    return gate, check


def test_a_medium_cvss_v4_advisory_is_medium_and_passes_a_high_threshold(deps_project: Project, run_deps: Gate) -> None:
    """A record rated only by a CVSS v4 vector is scored as FIRST's calculator scores it, not counted
    as critical: under ``fail_on_severity = "high"`` a medium one is reported, and does not block."""
    gate, check = _rated_run(deps_project, run_deps, [{"type": "CVSS_V4", "score": V4_MEDIUM}], "high")
    (finding,) = check["findings"]
    assert (finding["rule_id"], finding["severity"], finding["blocking"]) == ("TEST-2024-V4", "medium", False)
    assert finding["properties"]["cvss_score"] == 5.3
    assert finding["properties"]["severity_source"] == f"CVSS_V4 {V4_MEDIUM}"
    assert check["metrics"]["by_severity"]["medium"] == 1 and check["metrics"]["by_severity"]["critical"] == 0
    assert check["status"] == "pass" and gate.verdict is Verdict.PASS


def test_the_higher_of_a_v3_and_a_v4_rating_counts_and_blocks(deps_project: Project, run_deps: Gate) -> None:
    """v3.1 says medium, v4.0 says high: the advisory is high, as OSV-Scanner rates an advisory by its
    highest score, and blocks under ``fail_on_severity = "high"``."""
    severity = [{"type": "CVSS_V3", "score": V3_MEDIUM}, {"type": "CVSS_V4", "score": V4_HIGH}]
    gate, check = _rated_run(deps_project, run_deps, severity, "high")
    (finding,) = check["findings"]
    assert (finding["severity"], finding["blocking"], finding["properties"]["cvss_score"]) == ("high", True, 7.1)
    assert finding["properties"]["severity_source"] == f"CVSS_V4 {V4_HIGH}"
    assert check["status"] == "fail" and gate.verdict is Verdict.FAIL


def test_a_malformed_v4_vector_fails_closed_and_says_why(deps_project: Project, run_deps: Gate) -> None:
    """A v4 vector gatekeeper cannot score may be critical: next to a medium v3 vector the advisory
    counts as critical and blocks under ``fail_on_severity = "critical"``, naming what is wrong."""
    severity = [{"type": "CVSS_V3", "score": V3_MEDIUM}, {"type": "CVSS_V4", "score": V4_OUT_OF_ORDER}]
    gate, check = _rated_run(deps_project, run_deps, severity, "critical")
    (finding,) = check["findings"]
    assert (finding["severity"], finding["blocking"]) == ("critical", True)
    assert "cvss_score" not in finding["properties"]
    assert finding["properties"]["severity_source"] == (
        f"CVSS_V4 {V4_OUT_OF_ORDER} (not scored: metric VI after SC, out of the specification's order; counted as critical)"
    )
    assert check["status"] == "fail" and gate.verdict is Verdict.FAIL


#: a v3.1 vector whose scope is neither U nor C: malformed
V3_BAD_SCOPE = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:X/C:H/I:H/A:H"


def test_a_malformed_v3_vector_counts_as_critical_over_the_database_label(deps_project: Project, run_deps: Gate) -> None:
    """A v3 vector gatekeeper cannot score may rate the advisory up to 10.0: it is not skipped for the
    database's milder label (LOW here), it counts as critical, blocks under ``fail_on_severity =
    "critical"``, and says what is wrong, as a malformed v4 vector does."""
    gate, check = _rated_run(
        deps_project, run_deps, [{"type": "CVSS_V3", "score": V3_BAD_SCOPE}], "critical", database_specific={"severity": "LOW"}
    )
    (finding,) = check["findings"]
    assert (finding["severity"], finding["blocking"]) == ("critical", True)
    assert "cvss_score" not in finding["properties"]
    assert finding["properties"]["severity_source"] == (
        f"CVSS_V3 {V3_BAD_SCOPE} (not scored: S:X is not a value of base metric S; counted as critical)"
    )
    assert check["metrics"]["by_severity"]["critical"] == 1 and check["metrics"]["by_severity"]["low"] == 0
    assert check["status"] == "fail" and gate.verdict is Verdict.FAIL


def test_a_malformed_v2_vector_counts_as_the_top_of_its_scale_over_a_milder_v3_one(deps_project: Project, run_deps: Gate) -> None:
    """CVSS v2 tops out at high: a v2 vector lacking a base metric next to a medium v3 vector makes
    the advisory high (not the medium the other vector says), blocking under ``fail_on_severity = "high"``."""
    severity = [{"type": "CVSS_V3", "score": V3_MEDIUM}, {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P"}]
    gate, check = _rated_run(deps_project, run_deps, severity, "high")
    (finding,) = check["findings"]
    assert (finding["severity"], finding["blocking"]) == ("high", True)
    assert finding["properties"]["severity_source"] == (
        "CVSS_V2 AV:N/AC:L/Au:N/C:P/I:P (not scored: base metric A missing; counted as high)"
    )
    assert check["status"] == "fail" and gate.verdict is Verdict.FAIL


def test_requirements_lines_pip_fills_from_the_environment_are_never_read_literally(
    deps_project: Project, run_deps: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip fills ``${NAME}`` in from the environment it installs in: ``-r ${DIR}/pins.txt`` reads
    another file than the one literally named so (a folder the checkout may hold), a marker comparing
    ``"${MACHINE}"`` holds where it reads false literally. gatekeeper cannot know that environment: an
    include through a variable is an error, a requirement written with one is unaudited."""
    monkeypatch.setenv("GK_PINS_DIR", "real")
    monkeypatch.setenv("GK_PINS_MACHINE", platform.machine())
    root = deps_project(checks='advisory_db = "advisories"\nsource = "requirements.txt"')
    write_db(root, RECORDS, "pypa")
    (root / "real").mkdir()
    (root / "real" / "pins.txt").write_text("alpha==1.4\n", encoding="utf-8")  # pip reads this one
    (root / "${GK_PINS_DIR}").mkdir()
    (root / "${GK_PINS_DIR}" / "pins.txt").write_text("alpha==1.5\n", encoding="utf-8")
    reqs = 'alpha==1.5\nsafe==1.5 ; platform_machine == "${GK_PINS_MACHINE}"\n'
    (root / "requirements.txt").write_text(reqs, encoding="utf-8")
    assert pip_reads(root / "requirements.txt") == ["alpha==1.5", f'safe==1.5 ; platform_machine == "{platform.machine()}"']
    result = dep_result(run_deps(root))
    assert result.status is Status.FAIL and result.metrics["packages_audited"] == 1
    unknowable = "pip fills in ${GK_PINS_MACHINE} from the environment it installs in, which gatekeeper cannot know"
    assert result.metrics["unaudited_reasons"] == {"safe": f"requirements.txt:2: {unknowable}"}
    (root / "requirements.txt").write_text("-r ${GK_PINS_DIR}/pins.txt\n", encoding="utf-8")
    assert pip_reads(root / "requirements.txt") == ["alpha==1.4"]
    result = dep_result(run_deps(root))
    assert result.status is Status.ERROR
    assert "requirements.txt:1: pip fills in ${GK_PINS_DIR} in what -r names" in (result.error or "")
    # a variable whose value has spaces adds options to the line (GitLab's commit message, say)
    monkeypatch.setenv("GK_PINS_NOTE", "-r real/pins.txt")
    (root / "requirements.txt").write_text("safe==5.0\n--pre ${GK_PINS_NOTE}\n", encoding="utf-8")
    assert pip_reads(root / "requirements.txt") == ["alpha==1.4", "safe==5.0"]
    result = dep_result(run_deps(root))
    assert result.status is Status.ERROR and "requirements.txt:2: pip fills in ${GK_PINS_NOTE} on this line" in (
        result.error or ""
    )
    assert "real/pins.txt" not in (result.error or "")
    monkeypatch.setenv("GK_PINS_NOTE", "x")  # a value that adds nothing: the line is read as written
    assert dep_result(run_deps(root)).status is Status.PASS
    # a constraint pip leaves out where the variable is set pins nothing there: alpha is installed unpinned
    (root / "requirements.txt").write_text("safe==5.0\nalpha\n-c pins.txt\n", encoding="utf-8")
    (root / "pins.txt").write_text('alpha==1.5 ; platform_machine != "${GK_PINS_MACHINE}"\n', encoding="utf-8")
    assert pip_reads(root / "requirements.txt") == [
        f'(constraint) alpha==1.5 ; platform_machine != "{platform.machine()}"',
        "alpha",
        "safe==5.0",
    ]
    result = dep_result(run_deps(root))
    assert result.status is Status.FAIL and result.metrics["packages_audited"] == 1
    assert result.metrics["unaudited_reasons"] == {"alpha": f"pins.txt:1: {unknowable}"}


@pytest.mark.parametrize("declared", ["coding", "bom"])
def test_a_requirements_file_is_decoded_as_pip_decodes_it(deps_project: Project, run_deps: Gate, declared: str) -> None:
    """pip decodes a requirements file by its byte-order mark, else by a ``# -*- coding: ... -*-``
    line among the first two: in UTF-7, ``"+AHgAOAA2AF8ANgA0-"`` is ``"x86_64"``, so the marker holds
    where read as UTF-8 it does not, and pip installs the line gatekeeper passed over."""
    import base64

    root = deps_project(checks='advisory_db = "advisories"\nsource = "requirements.txt"')
    write_db(root, RECORDS, "pypa")
    machine = platform.machine()
    hidden = "+" + base64.b64encode(machine.encode("utf-16-be")).decode().rstrip("=") + "-"
    text = f'alpha==1.5\nsafe==1.5 ; platform_machine == "{hidden if declared == "coding" else machine}"\n'
    data = b"# -*- coding: utf-7 -*-\n" + text.encode() if declared == "coding" else b"\xff\xfe" + text.encode("utf-16-le")
    (root / "requirements.txt").write_bytes(data)
    assert pip_reads(root / "requirements.txt") == ["alpha==1.5", f'safe==1.5 ; platform_machine == "{machine}"']
    result = dep_result(run_deps(root))
    assert found(result) == {("TEST-2024-SAFE", "safe")} and result.metrics["packages_audited"] == 2
    assert result.status is Status.FAIL
    for text in (b"# coding: no-such-codec\nalpha==1.5\n", b"# coding: idna\n.xn--99999999999999999999\n"):
        (root / "requirements.txt").write_bytes(text)  # the second: idna raises UnicodeError, not UnicodeDecodeError
        result = dep_result(run_deps(root))
        assert result.status is Status.ERROR and "cannot read requirements file" in (result.error or "")


def test_a_requirements_files_lines_are_joined_as_pip_joins_them(deps_project: Project, run_deps: Gate) -> None:
    """pip joins a line ending in a backslash to the next with nothing between (the backslashes at
    both ends of that line dropped), and only then strips comments: ``"x86_\\`` + ``64"`` is
    ``"x86_64"``, ``-r more\\`` + ``.txt`` names more.txt, and a comment ending in a backslash takes
    the next line with it. gatekeeper joined with a space: the marker read false (the line passed
    over), and ``-r`` named a file ``more`` the checkout held."""
    root = deps_project(checks='advisory_db = "advisories"\nsource = "requirements.txt"')
    write_db(root, RECORDS, "pypa")
    machine = platform.machine()
    (root / "more").write_text("alpha==1.5\n", encoding="utf-8")
    (root / "more.txt").write_text("alpha==1.4\n", encoding="utf-8")  # what pip reads
    text = (
        f'safe==1.5 ; platform_machine == "{machine[:-2]}\\\n{machine[-2:]}"\n'
        "-r more\\\n.txt\ngamma==3.1 # pinned \\\ntoolx==1.0\n"
    )
    (root / "requirements.txt").write_text(text, encoding="utf-8")
    assert pip_reads(root / "requirements.txt") == ["alpha==1.4", "gamma==3.1", f'safe==1.5 ; platform_machine == "{machine}"']
    result = dep_result(run_deps(root))
    assert {name for _, name in found(result)} == {"alpha", "gamma", "safe"}  # toolx==1.0 is in the comment
    assert result.metrics["packages_audited"] == 3 and result.status is Status.FAIL
    safe = next(f for f in result.findings if f.rule_id == "TEST-2024-SAFE")
    assert safe.location is not None and (safe.location.path, safe.location.line) == ("requirements.txt", 1)


def test_an_include_is_found_beside_the_file_as_named_not_where_its_link_leads(deps_project: Project, run_deps: Gate) -> None:
    """pip finds what ``-r`` names beside the including file as it was named (``os.path.abspath``,
    links not followed): requirements.txt linking to reqs/prod.txt, whose ``-r base.txt`` pip reads
    from the root, and a nested ``-r sub/link.txt`` likewise (the file it leads to, named again as
    itself, is read again there). gatekeeper looked beside the file the link leads to: reqs/base.txt's
    clean pin audited, the root's alpha 1.4 unseen (PASS)."""
    root = deps_project(checks='advisory_db = "advisories"\nsource = "requirements.txt"')
    write_db(root, RECORDS, "pypa")
    for folder in ("reqs", "sub", "other"):
        (root / folder).mkdir()
    (root / "reqs" / "prod.txt").write_text("-r base.txt\n-r sub/link.txt\n-r other/real.txt\n", encoding="utf-8")
    (root / "requirements.txt").symlink_to("reqs/prod.txt")
    (root / "base.txt").write_text("alpha==1.4\n", encoding="utf-8")  # what pip reads
    (root / "reqs" / "base.txt").write_text("alpha==1.5\n", encoding="utf-8")
    (root / "reqs" / "sub").mkdir()
    (root / "reqs" / "sub" / "link.txt").write_text("safe==5.0\n", encoding="utf-8")
    (root / "sub" / "link.txt").symlink_to("../other/real.txt")
    (root / "other" / "real.txt").write_text("-r pins.txt\n", encoding="utf-8")
    (root / "sub" / "pins.txt").write_text("safe==1.5\n", encoding="utf-8")  # what pip reads
    (root / "other" / "pins.txt").write_text("gamma==3.0.5\n", encoding="utf-8")  # and, through other/, this
    assert pip_reads(root / "requirements.txt") == ["alpha==1.4", "gamma==3.0.5", "safe==1.5"]
    result = dep_result(run_deps(root))
    assert {name for _, name in found(result)} == {"alpha", "gamma", "safe"} and result.status is Status.FAIL
    alpha = next(f for f in result.findings if f.rule_id == "TEST-2024-RANGE")
    assert alpha.location is not None and alpha.location.path == "base.txt"


def test_an_include_that_leaves_the_project_as_pip_names_it_is_refused(deps_project: Project, run_deps: Gate) -> None:
    """``-r deep/../../outside.txt``, with ``deep`` a link to a folder two levels down, stays inside
    the project when the link is followed first, but pip undoes ``deep/..`` first and opens a file
    beside the project: refused, never read."""
    root = deps_project(checks='advisory_db = "advisories"\nsource = "requirements.txt"')
    write_db(root, RECORDS, "pypa")
    (root / "a" / "b").mkdir(parents=True)
    (root / "deep").symlink_to("a/b")
    (root / "outside.txt").write_text("safe==5.0\n", encoding="utf-8")  # where the link leads
    (root.parent / "outside.txt").write_text("alpha==1.4\n", encoding="utf-8")  # what pip opens
    (root / "requirements.txt").write_text("-r deep/../../outside.txt\n", encoding="utf-8")
    assert pip_reads(root / "requirements.txt") == ["alpha==1.4"]
    result = dep_result(run_deps(root))
    assert result.status is Status.ERROR and "leads outside the project" in (result.error or "")


def test_scope_all_in_gatekeeper_s_own_environment_leaves_the_project_s_dependencies_unaudited(
    deps_project: Project, run_deps: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Hatch project run bare (its environments live outside the checkout) falls back to
    gatekeeper's own interpreter: with scope "all" its clean audit of gatekeeper's packages passed,
    while the project's declared dependencies, installed nowhere it looked, were never audited."""
    installed = "packaging>=20"  # a dependency of gatekeeper's too: installed there, audited at its version
    deps = [installed, "absent-pkg>=1", "gone ; python_version < '3'"]
    root = deps_project(checks='advisory_db = "advisories"', environment='scope = "all"', deps=deps)
    cfg = root / "gatekeeper.toml"
    cfg.write_text(cfg.read_text().replace(f'python = "{deps_project_python(cfg)}"\n', ""))  # the fallback
    write_db(root, RECORDS, "pypa")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    result = dep_result(run_deps(root))
    assert result.metrics["python"] == sys.executable
    assert result.metrics["unaudited"] == ["absent-pkg"]
    reason = result.metrics["unaudited_reasons"]["absent-pkg"]
    assert "not installed in gatekeeper's own environment" in reason and "[environment] python" in reason
    assert result.status is Status.FAIL
    assert "1 could not be audited: absent-pkg" in result.summary


def test_scope_all_in_gatekeeper_s_own_environment_with_dynamic_dependencies_is_an_error(
    deps_project: Project, run_deps: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project whose build backend computes its dependencies (setuptools' dynamic from requirements.txt,
    hatch-requirements-txt) run bare: nothing tells which they are without running the backend, and the
    audit of gatekeeper's own packages passed, the project's alpha 1.4 audited nowhere."""
    root = deps_project(checks='advisory_db = "advisories"', environment='scope = "all"', deps=["alpha==1.4"])
    cfg = root / "gatekeeper.toml"
    cfg.write_text(cfg.read_text().replace(f'python = "{deps_project_python(cfg)}"\n', ""))  # the fallback
    dynamic = '[project]\nname = "myproject"\nversion = "0.1"\ndynamic = ["dependencies"]\n'
    (root / "pyproject.toml").write_text(dynamic, encoding="utf-8")
    (root / "requirements.txt").write_text("alpha==1.4\n", encoding="utf-8")
    write_db(root, RECORDS, "pypa")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    result = dep_result(run_deps(root))
    assert result.status is Status.ERROR, result.summary
    assert 'lists "dependencies" in [project] dynamic' in (result.error or "")
    assert "gatekeeper's own, where the project is not installed" in (result.error or "")


def test_scope_all_in_the_project_s_environment_leaves_a_declared_dependency_it_lacks_unaudited(
    deps_project: Project, run_deps: Gate
) -> None:
    """The project's own environment missing a declared dependency: its clean audit of what is
    installed said nothing of it. It is unaudited, in the words of every environment check, whether
    pyproject.toml or setup.cfg's ``install_requires`` declares it; a marker false here is not missing."""
    deps = ["alpha>=1", "absent-pkg>=1", "gone ; python_version < '3'"]
    root = deps_project(checks='advisory_db = "advisories"', environment='scope = "all"', deps=deps)
    write_db(root, RECORDS, "pypa")
    result = dep_result(run_deps(root))
    assert "absent-pkg" in result.metrics["unaudited"] and "gone" not in result.metrics["unaudited"]
    reason = result.metrics["unaudited_reasons"]["absent-pkg"]
    assert reason == "required by the project but not installed in the environment"
    assert result.status is Status.FAIL

    (root / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n', encoding="utf-8")
    (root / "setup.cfg").write_text(
        "[metadata]\nname = myproject\n[options]\ninstall_requires =\n    alpha>=1\n    # a comment\n    cfg-absent\n",
        encoding="utf-8",
    )
    again = dep_result(run_deps(root))
    assert "cfg-absent" in again.metrics["unaudited"] and "absent-pkg" not in again.metrics["unaudited"]


def deps_project_python(policy: Path) -> str:
    """The interpreter a ``deps_project`` policy names under ``[environment]``."""
    line = next(x for x in policy.read_text().splitlines() if x.startswith("python = "))
    return line.split('"')[1]
