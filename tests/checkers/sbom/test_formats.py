"""SPDX 2.3 beside CycloneDX (validated by the SPDX project's own tools), CycloneDX 1.7, and PEP 770
SBOMs in .dist-info/sboms/: shipped by installed dependencies, and carried (or not) by a wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.sbom import SPEC_VERSIONS, SbomChecker, spec_problem
from gatekeeper.checkers.sbom.validate import validate_text
from gatekeeper.errors import PolicyError
from gatekeeper.findings import Status
from gatekeeper.policy import load_policy
from tests.helpers.cli import installed_options
from tests.helpers.dists import DISTS, FakeEnv, context, make_project


def _policy(python: Path, sbom: str = "") -> str:
    return f'[environment]\npython = "{python}"\n[checks.sbom]\n{sbom}\n'


def _run(root: Path) -> Any:
    ctx = context(root)
    return SbomChecker().run(ctx.policy.checks["sbom"], ctx)


def _spdx_problems(path: Path) -> list[str]:
    """What the SPDX project's validator (spdx-tools) says about the document at ``path``."""
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    return [m.validation_message for m in validate_full_spdx_document(parse_file(str(path)))]


def _cdx_licenses(component: dict[str, Any]) -> list[str]:
    out = []
    for entry in component.get("licenses") or ():
        lic = entry.get("license") or {}
        out.append(entry.get("expression") or lic.get("id") or lic.get("name"))
    return out


def test_spdx_sbom_is_valid_and_describes_what_the_cyclonedx_one_does(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python, 'formats = ["cyclonedx", "spdx"]'))
    result = _run(root)
    assert result.status is Status.PASS, result.findings
    assert result.artifacts == {"sbom": "sbom.cdx.json", "sbom_spdx": "sbom.spdx.json"}
    spdx_path = root / "out" / "sbom.spdx.json"
    assert _spdx_problems(spdx_path) == []
    spdx = json.loads(spdx_path.read_text(encoding="utf-8"))
    bom = json.loads((root / "out" / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert spdx["spdxVersion"] == "SPDX-2.3" and result.metrics["spdx"]["packages"] == len(spdx["packages"])
    assert "SPDX 2.3 sbom.spdx.json" in result.summary

    # the same packages, versions and purls; the root is the application the document describes
    libs = {p["name"]: p for p in spdx["packages"] if p["primaryPackagePurpose"] == "LIBRARY"}
    assert sorted(libs) == sorted(c["name"] for c in bom["components"]) == sorted(d[0] for d in DISTS)
    for c in bom["components"]:
        pkg = libs[c["name"]]
        assert pkg["versionInfo"] == c["version"]
        purls = [r["referenceLocator"] for r in pkg.get("externalRefs", ()) if r["referenceType"] == "purl"]
        assert purls == ([c["purl"]] if c.get("purl") else [])
    app = next(p for p in spdx["packages"] if p["primaryPackagePurpose"] == "APPLICATION")
    assert (app["name"], app["versionInfo"]) == ("demo-app", "0.3.0")
    assert {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": app["SPDXID"]} in spdx[
        "relationships"
    ]

    # the same licenses: SPDX ids and expressions verbatim, a license known by name only as a LicenseRef
    refs = {e["licenseId"]: e["extractedText"] for e in spdx.get("hasExtractedLicensingInfos", ())}
    for c in bom["components"]:
        declared = libs[c["name"]]["licenseDeclared"]
        cdx = _cdx_licenses(c)
        if not cdx:
            assert declared == "NOASSERTION", c["name"]
            continue
        named = sorted(refs[t] for t in declared.replace("(", " ").replace(")", " ").split() if t.startswith("LicenseRef-"))
        plain = [t for t in cdx if t not in named]
        assert all(t in declared for t in plain), (c["name"], declared, cdx)
        assert named == sorted(t for t in cdx if t not in plain)
    assert libs["echo"]["licenseDeclared"] == "MIT OR GPL-3.0-only"
    assert libs["lima"]["licenseDeclared"].count("LicenseRef-") == 2 and " AND " in libs["lima"]["licenseDeclared"]
    # and the same dependency graph: bravo requires charlie
    ids = {p["SPDXID"]: p["name"] for p in spdx["packages"]}
    depends = {
        (ids[r["spdxElementId"]], ids[r["relatedSpdxElement"]])
        for r in spdx["relationships"]
        if r["relationshipType"] == "DEPENDS_ON"
    }
    assert ("bravo", "charlie") in depends


def test_pyspdxtools_command_line_accepts_the_spdx_sbom(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p", _policy(dist_env.python, 'formats = ["cyclonedx", "spdx"]\nspdx_output = "bom.spdx.json"')
    )
    assert _run(root).status is Status.PASS
    tool = Path(sys.executable).with_name("pyspdxtools")
    done = subprocess.run([str(tool), "-i", str(root / "out" / "bom.spdx.json")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ERROR" not in done.stdout + done.stderr


def test_cyclonedx_1_7_where_the_library_supports_it(dist_env: FakeEnv, tmp_path: Path) -> None:
    assert "1.7" in SPEC_VERSIONS  # cyclonedx-python-lib 11 validates 1.7; cyclonedx-bom 7 writes it
    root = make_project(tmp_path / "p", _policy(dist_env.python, 'spec_version = "1.7"'))
    result = _run(root)
    assert result.status is Status.PASS, result.findings
    assert (result.metrics["spec_version"], result.metrics["valid"]) == ("1.7", True)
    text = (root / "out" / "sbom.cdx.json").read_text(encoding="utf-8")
    assert json.loads(text)["specVersion"] == "1.7" and validate_text(text, "1.7") is None


def test_an_unsupported_spec_version_names_the_supported_ones(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", '[checks.sbom]\nspec_version = "2.0"\n')
    with pytest.raises(PolicyError) as err:
        load_policy(root, installed_options())
    assert err.value.key == "checks.sbom.spec_version"
    assert all(repr(v) in str(err.value) for v in SPEC_VERSIONS)


def test_cyclonedx_1_7_with_an_older_library_says_which_version_it_needs(tmp_path: Path) -> None:
    older = ("1.4", "1.5", "1.6")  # what cyclonedx-python-lib 10 validates
    problem = spec_problem("1.7", older, "10.5.0")
    assert "CycloneDX 1.7 needs cyclonedx-python-lib 11 or later, with cyclonedx-bom 7 or later" in problem
    assert "the installed cyclonedx-python-lib 10.5.0 validates 1.4, 1.5, 1.6" in problem
    assert spec_problem("1.6", older, "10.5.0") == "" and "expected one of" in spec_problem("2.0", older, "10.5.0")
    # through the policy loader with the library installed here, 1.7 is accepted
    root = make_project(tmp_path / "p", '[checks.sbom]\nspec_version = "1.7"\n')
    assert load_policy(root, installed_options()).checks["sbom"]["spec_version"] == "1.7"


SHIPPED_SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "version": 1,
    "components": [
        {"type": "library", "name": "libfoo", "version": "2.1", "bom-ref": "libfoo"},
        {"type": "library", "name": "zlib", "version": "1.3.1", "bom-ref": "zlib"},
    ],
}


def _build_wheel(project: Path, out: Path) -> Path:
    """The wheel hatchling (a real PEP 517 backend) builds from ``project``."""
    code = "import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out / done.stdout.strip().splitlines()[-1]


def _hatch_project(path: Path, name: str, sbom: bool) -> Path:
    (path / name).mkdir(parents=True)
    (path / name / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    extra = ""
    if sbom:
        (path / "native.cdx.json").write_text(json.dumps(SHIPPED_SBOM), encoding="utf-8")
        extra = 'sbom-files = ["native.cdx.json"]\n'
    (path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
        f'[tool.hatch.build.targets.wheel]\npackages = ["{name}"]\n{extra}',
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_pep770_sboms_of_installed_dependencies_and_of_the_wheel(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    shipper = _build_wheel(_hatch_project(tmp_path / "shipper", "shipper", sbom=True), dist)
    plain = _build_wheel(_hatch_project(tmp_path / "plainpkg", "plainpkg", sbom=False), dist)
    with zipfile.ZipFile(shipper) as zf:
        assert "shipper-1.0.dist-info/sboms/native.cdx.json" in zf.namelist()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
    subprocess.run([*install, str(shipper), str(plain)], check=True, timeout=300, capture_output=True)

    root = make_project(
        tmp_path / "app",
        _policy(python, 'formats = ["cyclonedx", "spdx"]\nwheel = "dist/*.whl"\nrequire_wheel_sbom = true'),
    )
    shutil.copytree(dist, root / "dist")
    result = _run(root)
    m = result.metrics
    # the installed dependency that ships an SBOM, what it is, and the CycloneDX component pointing at it
    assert m["dependency_sboms"] == [
        {
            "package": "shipper",
            "version": "1.0",
            "files": [
                {
                    "name": "sboms/native.cdx.json",
                    "sha256": m["dependency_sboms"][0]["files"][0]["sha256"],
                    "format": "cyclonedx-1.6",
                    "components": 2,
                }
            ],
        }
    ]
    bom = json.loads((root / "out" / "sbom.cdx.json").read_text(encoding="utf-8"))
    comp = next(c for c in bom["components"] if c["name"] == "shipper")
    assert {"name": "gatekeeper:pep770:sbom", "value": "sboms/native.cdx.json"} in comp["properties"]
    assert m["valid"] is True and _spdx_problems(root / "out" / "sbom.spdx.json") == []
    # the wheels: which carries .dist-info/sboms/, and the one that does not fails require_wheel_sbom
    assert [(w["path"], w["pep770"]) for w in m["wheel"]] == [
        (f"dist/{plain.name}", False),
        (f"dist/{shipper.name}", True),
    ]
    assert [f.rule_id for f in result.findings] == ["sbom.wheel_without_sbom"]
    assert result.status is Status.FAIL
    assert "1 dependency ships SBOMs (PEP 770)" in result.summary
    assert f"wheel dist/{plain.name} carries no SBOM" in result.summary


def test_a_wheel_glob_that_matches_nothing_is_an_error_not_a_silent_pass(dist_env: FakeEnv, tmp_path: Path) -> None:
    from gatekeeper.errors import ToolError

    root = make_project(tmp_path / "p", _policy(dist_env.python, 'wheel = "dist/*.whl"'))
    with pytest.raises(ToolError, match="no wheel matches"):
        _run(root)
