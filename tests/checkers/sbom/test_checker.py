"""The sbom checker: cyclonedx-py run for real on a real venv, validated, thresholds, scope."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper import process, runmain
from gatekeeper.checkers.sbom import SbomChecker
from gatekeeper.checkers.sbom.validate import validate_text
from gatekeeper.checkers.sbom.validation import early_validator, validate_file
from gatekeeper.errors import ToolError
from gatekeeper.findings import Status
from tests.helpers.cli import REPO
from tests.helpers.dists import DISTS, FakeEnv, bare_venv, context, make_project, write_dist


def _policy(python: Path, sbom: str = "", scope: str = "all") -> str:
    return f'[environment]\npython = "{python}"\nscope = "{scope}"\n[checks.sbom]\n{sbom}\n'


def _run(root: Path, **kw: object):  # type: ignore[no-untyped-def]
    ctx = context(root, **kw)
    return SbomChecker().run(ctx.policy.checks["sbom"], ctx)


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
def test_sbom_of_the_environment(dist_env: FakeEnv, tmp_path: Path, spec: str) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python, f'spec_version = "{spec}"'))
    result = _run(root)
    assert result.status is Status.PASS, result.findings
    m = result.metrics
    # every distribution the venv's interpreter sees is a component (the project is not installed)
    assert m["components"] == dist_env.dist_count() == len(DISTS)
    assert (m["spec_version"], m["valid"]) == (spec, True)
    assert m["root"] == {"name": "demo-app", "version": "0.3.0"}
    # the artifact is the SBOM the metrics describe
    assert result.artifacts == {"sbom": "sbom.cdx.json"}
    bom = json.loads((root / "out" / "sbom.cdx.json").read_text())
    assert bom["specVersion"] == spec and bom["bomFormat"] == "CycloneDX"
    names = sorted(c["name"] for c in bom["components"])
    assert names == sorted(d[0] for d in DISTS)
    assert m["with_license"] == sum(1 for c in bom["components"] if c.get("licenses"))
    # cyclonedx-py records no license for juliet (none declared) and golf/bravo/charlie
    # (a bare "BSD License" classifier is not a license id or name it maps)
    without = sorted(c["name"] for c in bom["components"] if not c.get("licenses"))
    assert "juliet" in without and "alpha" not in without
    # mike is installed from a local folder (PEP 610 direct_url file://): cyclonedx-py gives it no purl
    assert m["with_purl"] == len(DISTS) - 1
    assert [c["name"] for c in bom["components"] if not c.get("purl")] == ["mike"]
    assert result.tool_name == "cyclonedx-bom" and result.tool_version
    assert "iri-reference" in m["validation"]["formats"]


def _without_random_refs(bom: dict) -> str:  # type: ignore[type-arg]
    """The SBOM's components and graph as text, cyclonedx-py's random ``BomRef.<n>.<n>`` references numbered in order."""
    import re

    text = json.dumps([bom["components"], bom.get("dependencies")], sort_keys=True)
    refs: dict[str, str] = {}
    return re.sub(r"BomRef\.[0-9.]+", lambda m: refs.setdefault(m.group(0), f"ref-{len(refs)}"), text)


def test_the_components_are_those_of_cyclonedx_py_run_by_hand(dist_env: FakeEnv, tmp_path: Path) -> None:
    """cyclonedx-py runs through ``runmain`` (its process ends without the interpreter's teardown):
    the SBOM is the one ``python -I -m cyclonedx_py`` prints, and its exit status counts as before."""
    root = make_project(tmp_path / "p", _policy(dist_env.python))
    result = _run(root)
    assert result.status is Status.PASS and result.metrics["valid"] is True
    ours = json.loads((root / "out" / "sbom.cdx.json").read_text())
    args = [sys.executable, "-I", "-m", "cyclonedx_py", "environment", "--sv", "1.6", "--of", "JSON", "--no-validate"]
    args += ["-o", "-", "--pyproject", str(root / "pyproject.toml"), str(dist_env.python)]
    by_hand = subprocess.run(args, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert _without_random_refs(ours) == _without_random_refs(json.loads(by_hand.stdout))
    # a failing run's status is still cyclonedx-py's own: an interpreter that is not there
    nowhere = [*args[:-1], str(tmp_path / "nowhere")]
    failed = subprocess.run(runmain.command(nowhere), capture_output=True, text=True, cwd=tmp_path, check=False)
    by_hand_failed = subprocess.run(nowhere, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert failed.returncode == by_hand_failed.returncode != 0 and failed.stdout == by_hand_failed.stdout == ""


def test_cyclonedx_py_asks_the_inspected_interpreter_without_its_start_up_code(tmp_path: Path) -> None:
    """cyclonedx-py asks the interpreter it inspects for its sys.path: a ``.pth`` import line of that
    environment never runs (here one that takes a folder off sys.path, hiding its package from
    cyclonedx-py by hand), and the folder a ``.pth`` line names is read, as the inventory reads it."""
    python, site = bare_venv(tmp_path / "venv")
    write_dist(site, "alpha", "1.0", ["License-Expression: MIT"], None, {})
    extra = tmp_path / "extra"
    write_dist(extra, "charlie", "3.0", ["License-Expression: BSD-3-Clause"], None, {})
    (site / "extra.pth").write_text(f"{extra}\n", encoding="utf-8")
    ran = tmp_path / "pth-ran"
    hide = f"import sys; open({str(ran)!r}, 'w').close(); sys.path[:] = [p for p in sys.path if p != {str(extra)!r}]"
    (site / "zz_hide.pth").write_text(hide + "\n", encoding="utf-8")
    root = make_project(tmp_path / "p", _policy(python))
    result = _run(root)
    assert result.status is Status.PASS and not ran.exists()
    ours = json.loads((root / "out" / "sbom.cdx.json").read_text())
    assert sorted(c["name"] for c in ours["components"]) == ["alpha", "charlie"]
    assert result.metrics["components"] == 2
    args = [sys.executable, "-I", "-m", "cyclonedx_py", "environment", "--of", "JSON", "--no-validate", "-o", "-", str(python)]
    by_hand = subprocess.run(args, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert ran.exists() and [c["name"] for c in json.loads(by_hand.stdout)["components"]] == ["alpha"]


def test_thresholds_fail_the_gate(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python, "require_purl = true\nmin_license_coverage = 95.0"))
    result = _run(root)
    assert result.status is Status.FAIL
    purl = [f for f in result.findings if f.rule_id == "sbom.require_purl"]
    assert [(f.package.name, f.package.version) for f in purl if f.package] == [("mike", "1.3")]
    assert all(f.blocking for f in purl)
    (cov,) = [f for f in result.findings if f.rule_id == "sbom.min_license_coverage"]
    assert cov.blocking and cov.properties["coverage"] == result.metrics["license_coverage"] < 95
    assert "juliet" in cov.properties["without_license"]
    # a threshold the inventory meets passes
    root2 = make_project(tmp_path / "q", _policy(dist_env.python, f"min_license_coverage = {result.metrics['license_coverage']}"))
    assert _run(root2).status is Status.PASS


def test_project_scope_restricts_components_and_graph(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python, scope="project"), deps=["alpha", "bravo"])
    result = _run(root)
    assert result.status is Status.PASS and result.metrics["valid"]
    bom = json.loads((root / "out" / "sbom.cdx.json").read_text())
    assert sorted(c["name"] for c in bom["components"]) == ["alpha", "bravo", "charlie"]
    assert result.metrics["components"] == 3 and result.metrics["scope"] == "project"
    refs = {c["bom-ref"] for c in bom["components"]} | {"root-component"}
    graph = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert set(graph) == refs
    assert all(r in refs for deps in graph.values() for r in deps)
    assert sorted(graph["root-component"]) == ["alpha==1.0", "bravo==2.0"]
    assert graph["bravo==2.0"] == ["charlie==3.0"]


def test_requirements_file_source(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python, 'source = "requirements.txt"'))
    digest = "a" * 64
    (root / "requirements.txt").write_text(f"alpha==1.0 --hash=sha256:{digest}\nbravo==2.0\n", encoding="utf-8")
    result = _run(root)
    assert result.status is Status.PASS
    assert (result.metrics["components"], result.metrics["with_hashes"], result.metrics["with_purl"]) == (2, 1, 2)
    assert result.metrics["scope"] == "requirements"


def test_requirements_file_source_follows_its_includes_inside_the_project_alone(dist_env: FakeEnv, tmp_path: Path) -> None:
    """cyclonedx-py follows a requirements file's -r lines as pip does. One naming a runner's file
    outside the project had its lines listed as components (a password among them: hunter2pass), and
    the SBOM cached under requirements.txt's bytes alone was served after the included file changed."""
    root = make_project(tmp_path / "p", _policy(dist_env.python, 'source = "requirements.txt"'))
    (tmp_path / "runner.txt").write_text("hunter2pass==1.0\n", encoding="utf-8")
    (root / "requirements.txt").write_text("alpha==1.0\n-r more.txt\n", encoding="utf-8")
    (root / "more.txt").write_text("bravo==2.0\n", encoding="utf-8")
    cache_dir = tmp_path / "cache"
    first = _run(root, cache_dir=cache_dir)
    assert (first.status, first.metrics["components"], first.metrics["cached"]) == (Status.PASS, 2, False)
    (root / "more.txt").write_text("bravo==2.0\ncharlie==3.0\n", encoding="utf-8")
    second = _run(root, cache_dir=cache_dir)
    assert (second.metrics["components"], second.metrics["cached"]) == (3, False)
    bom = json.loads((root / "out" / "sbom.cdx.json").read_text())
    assert sorted(c["name"] for c in bom["components"]) == ["alpha", "bravo", "charlie"]
    assert second.metrics["requirements_files"] == ["requirements.txt", "more.txt"]
    (root / "more.txt").write_text("bravo==2.0\n-r ../runner.txt\n", encoding="utf-8")
    with pytest.raises(ToolError, match=r"^more.txt:2: -r: runner.txt leads outside the project"):
        _run(root, cache_dir=cache_dir)


def test_requirements_include_through_a_link_and_dotdot_is_followed_where_cyclonedx_opens_it(
    dist_env: FakeEnv, tmp_path: Path
) -> None:
    """cyclonedx-py (pip-requirements-parser) opens an include's path as joined, letting the kernel
    follow a link before a "..": -r link/../runner.txt, link a folder outside the project, opened the
    runner's file and listed hunter2pass as a component, while the project's own runner.txt, where
    pip's normalised path leads, was the one checked to lie inside the project."""
    root = make_project(tmp_path / "p", _policy(dist_env.python, 'source = "requirements.txt"'))
    (tmp_path / "runner.txt").write_text("hunter2pass==1.0\n", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    (root / "runner.txt").write_text("bravo==2.0\n", encoding="utf-8")
    (root / "requirements.txt").write_text("alpha==1.0\n-r link/../runner.txt\n", encoding="utf-8")
    with pytest.raises(ToolError, match=r"^requirements.txt:2: -r: .*leads outside the project"):
        _run(root)
    assert not (root / "out" / "sbom.cdx.json").exists()
    (root / "link").unlink()
    (root / "deep" / "inner").mkdir(parents=True)
    (root / "deep" / "runner.txt").write_text("charlie==3.0\n", encoding="utf-8")
    (root / "link").symlink_to(root / "deep" / "inner")
    with pytest.raises(ToolError, match=r"^requirements.txt:2: -r: runner.txt is reached through a link before a '..'"):
        _run(root)
    (root / "link").unlink()
    (root / "link").mkdir()
    result = _run(root)
    assert (result.status, result.metrics["components"]) == (Status.PASS, 2)


def test_pyproject_source_lists_declared_dependencies(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python, 'source = "pyproject.toml"'), deps=["alpha==1.0", "bravo>=2"])
    result = _run(root)
    bom = json.loads((root / "out" / "sbom.cdx.json").read_text())
    assert result.metrics["valid"]
    assert sorted((c["name"], c.get("version")) for c in bom["components"]) == [("alpha", "1.0"), ("bravo", None)]


def test_invalid_sbom_is_reported_with_the_validators_message(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python))
    result = _run(root)
    good = (root / "out" / "sbom.cdx.json").read_text()
    assert validate_text(good, "1.6") is None
    bom = json.loads(good)
    bom["components"][0]["type"] = "gadget"
    message = validate_text(json.dumps(bom), "1.6")
    assert message is not None and "'gadget' is not one of" in message and "components/0/type" in message
    # a URL that is not an IRI (a space in the host) is caught by the iri-reference format check
    bom = json.loads(good)
    bom["components"][0]["externalReferences"] = [{"type": "website", "url": "http://exa mple.org/"}]
    message = validate_text(json.dumps(bom), "1.6")
    assert message is not None and "'http://exa mple.org/' is not valid" in message and "externalReferences/0/url" in message
    bom["components"][0]["externalReferences"][0]["url"] = "http://example.org/ä?q=1#x"
    assert validate_text(json.dumps(bom), "1.6") is None
    # strict schema: an unknown property is rejected
    bom = json.loads(good)
    bom["components"][0]["colour"] = "blue"
    assert "Additional properties" in str(validate_text(json.dumps(bom), "1.6"))
    # and through the validator process the checker uses
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bom), encoding="utf-8")
    problem, formats = validate_file(context(root), bad_file, "1.6")
    assert problem is not None and "colour" in problem and "iri-reference" in formats
    assert result.status is Status.PASS  # the real one was fine


def test_invalid_sbom_fails_the_check(dist_env: FakeEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cyclonedx-py writing a schema-invalid SBOM: blocking sbom.invalid with the validator's message."""
    import gatekeeper.checkers.sbom as sbom

    root = make_project(tmp_path / "p", _policy(dist_env.python))
    real_restrict = sbom.restrict

    def corrupting(bom: dict, keep: set[str], project: dict | None = None) -> dict:  # type: ignore[type-arg]
        out = real_restrict(bom, keep, project)
        out["components"][0]["type"] = "gadget"
        return out

    # a corrupting filter on the restriction path
    monkeypatch.setattr(sbom, "restrict", corrupting)
    root = make_project(tmp_path / "q", _policy(dist_env.python, scope="project"), deps=["alpha"])
    result = _run(root)
    assert result.status is Status.FAIL and result.metrics["valid"] is False
    (finding,) = result.findings
    assert finding.rule_id == "sbom.invalid" and finding.blocking
    assert "'gadget' is not one of" in finding.message
    assert (root / "out" / "sbom.cdx.json").is_file()  # written anyway, for inspection


def test_cyclonedx_crash_is_an_error(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python))
    with pytest.raises(ToolError, match="cyclonedx-bom is not installed in "):
        _run(root, tool_python=str(dist_env.python))  # an interpreter without cyclonedx-bom
    root2 = make_project(tmp_path / "q", _policy(dist_env.python, 'source = "missing.txt"'))
    with pytest.raises(ToolError, match=r"missing\.txt"):
        _run(root2)


def test_the_early_validator_gives_the_same_verdict_and_never_outlives_the_check(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python))
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [{"type": "gadget", "name": "x"}]}
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bom), encoding="utf-8")
    with early_validator(context(root), "1.6") as validate:
        early = validate(bad_file)
    assert early == validate_file(context(root), bad_file, "1.6")
    assert early[0] is not None and "'gadget' is not one of" in early[0]
    # generation fails before the validator is handed a file: it is killed, not left waiting on its stdin
    with pytest.raises(RuntimeError), early_validator(context(root), "1.6") as validate:
        (proc,) = process._LIVE
        raise RuntimeError("cyclonedx-py failed")
    assert proc.returncode is not None and not process._LIVE


def test_the_validator_process_checks_every_draft_7_format_the_schemas_use(dist_env: FakeEnv, tmp_path: Path) -> None:
    """The validator's process leaves out the libraries of formats no draft-7 schema has (duration,
    color); every format jsonschema checks for draft 7, with all its libraries loaded here, it checks."""
    import re

    import jsonschema
    from cyclonedx.schema import _res
    from jsonschema import Draft7Validator

    root = make_project(tmp_path / "p", _policy(dist_env.python))
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "metadata": {"timestamp": "2024-01-01T00:00:00Z"}}
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bom), encoding="utf-8")
    problem, formats = validate_file(context(root), good, "1.6")
    assert problem is None and formats == sorted(Draft7Validator.FORMAT_CHECKER.checkers)
    schemas = [p for p in Path(_res.__file__).parent.glob("*.schema.json")]
    named = {f for p in schemas for f in re.findall(r'"format"\s*:\s*"([^"]+)"', p.read_text(encoding="utf-8"))}
    drafts = ("Draft3", "Draft4", "Draft6", "Draft7", "Draft201909", "Draft202012")
    known = {f for d in drafts for f in getattr(jsonschema, f"{d}Validator").FORMAT_CHECKER.checkers}
    used = named & known  # a "format" key may also be a property's name (jsf's "format": "string")
    assert {"date-time", "iri-reference"} <= used <= set(formats)
    bom["metadata"] = {"timestamp": "the first of January"}  # a date-time format check still fails it
    good.write_text(json.dumps(bom), encoding="utf-8")
    problem, _ = validate_file(context(root), good, "1.6")
    assert problem is not None and "date-time" in problem


def test_component_count_matches_cyclonedx_on_the_test_environment(tmp_path: Path) -> None:
    """On the test run's own venv, with the project (gatekeeper, installed) as the root component."""
    repo = REPO
    root = make_project(tmp_path / "p", _policy(Path(sys.executable)), name="gatekeeper", version="0.1.0")
    result = _run(root)
    assert result.metrics["valid"] is True
    probe = "import importlib.metadata as m; print(len({d.metadata['Name'].lower() for d in m.distributions()}))"
    count = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    # every distribution but gatekeeper itself, which cyclonedx-py moves to metadata.component
    assert result.metrics["components"] == int(count) - 1
    assert result.metrics["root"] == {"name": "gatekeeper", "version": "0.1.0"}
    assert repo.is_dir()


def test_sbom_file_is_written_atomically_with_normal_permissions(tmp_path: Path) -> None:
    import os
    import stat

    from gatekeeper.fileio import write_atomic

    target = tmp_path / "deep" / "sbom.json"
    write_atomic(target, "{}\n")
    write_atomic(target, '{"a": 1}\n')
    assert target.read_text() == '{"a": 1}\n'
    assert os.listdir(target.parent) == ["sbom.json"]  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_an_empty_dependency_closure_is_an_error_in_every_environment_check_unless_allowed(
    dist_env: FakeEnv, tmp_path: Path
) -> None:
    from tests.helpers.dists import run_gate
    from tests.helpers.osv import RECORDS, write_db

    db = write_db(tmp_path / "db", RECORDS, "flat")
    policy = _policy(dist_env.python, scope="project") + f'[checks.dependencies]\nadvisory_db = "{db}"\n'
    root = make_project(tmp_path / "p", policy, deps=[])  # a project without dependencies: nothing in scope
    gate = run_gate(root, ("dependencies", "licenses", "sbom"))
    checks = {c.name: c for c in gate.checks}
    assert {name: c.status for name, c in checks.items()} == dict.fromkeys(("dependencies", "licenses", "sbom"), Status.ERROR)
    for name, check in checks.items():
        assert check.error is not None and f"set checks.{name}.allow_empty = true if that is expected" in check.error
    assert checks["sbom"].error.startswith("the SBOM lists no component (scope project")
    assert checks["sbom"].metrics["components"] == 0 and (root / "out" / "sbom.cdx.json").is_file()  # still written

    allowed = _policy(dist_env.python, "allow_empty = true", scope="project") + "[checks.licenses]\nallow_empty = true\n"
    allowed += f'[checks.dependencies]\nadvisory_db = "{db}"\nallow_empty = true\n'
    (root / "gatekeeper.toml").write_text(allowed)
    again = run_gate(root, ("dependencies", "licenses", "sbom"))
    assert {c.name: c.status for c in again.checks} == dict.fromkeys(("dependencies", "licenses", "sbom"), Status.PASS)


def test_declared_dependencies_not_installed_are_named_by_the_sbom_and_the_licenses(dist_env: FakeEnv, tmp_path: Path) -> None:
    """A project whose declared dependency is installed nowhere gatekeeper looked (nbformat run bare,
    outside its Hatch environment): the dependencies check leaves it unaudited, and the SBOM and the
    license listing, which cannot list it, said nothing of it."""
    from tests.helpers.dists import run_gate

    policy = _policy(dist_env.python, scope="project") + '[checks.licenses]\nunknown = "warn"\ndeny = []\nallow = []\n'
    root = make_project(tmp_path / "p", policy, deps=["alpha>=1", "absent-pkg>=1"])
    gate = run_gate(root, ("sbom", "licenses"))
    sbom, licenses = gate.check("sbom"), gate.check("licenses")
    assert sbom is not None and licenses is not None
    names = {c["name"] for c in json.loads((root / "out" / "sbom.cdx.json").read_text())["components"]}
    assert "alpha" in names and "absent-pkg" not in names
    assert sbom.metrics["missing"] == licenses.metrics["missing"] == ["absent-pkg"]
    assert "1 required by the project but not installed, not listed: absent-pkg" in sbom.summary
    assert "1 required by the project but not installed, license never read, so unknown: absent-pkg" in licenses.summary
