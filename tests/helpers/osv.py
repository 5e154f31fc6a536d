"""OSV advisory databases written by the tests, a fake but real-format environment to audit, and a
way to run the dependencies checker through the engine (its fixtures are in tests/conftest.py).

No test reaches the network: advisories come from databases the tests write, and the online
mode talks to loopback servers (tests/checkers/dependencies/test_online.py).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name

from gatekeeper.engine import RunRequest, run_checks
from gatekeeper.findings import CheckResult, GateResult
from gatekeeper.policy import load_policy

# (name as its metadata spells it, version, Requires-Dist lines)
FAKE_DISTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("alpha", "1.4", ()),
    ("Beta_Pkg", "2.0.1", ("gamma ; extra == 'fast'", "delta>=0.1")),
    ("gamma", "3.1", ()),
    ("delta", "0.5", ()),
    ("foo-bar-baz", "1.0", ()),
    ("safe", "5.0", ()),
    ("toolx", "1.0", ()),
    ("weird", "1.0-custom-build", ()),
)

PROJECT_DEPS = ["alpha>=1", "beta_pkg[fast]==2.0.1", "foo-bar-baz", "safe"]


def _pkg(name: str, ecosystem: str = "PyPI") -> dict[str, Any]:
    return {"name": name, "ecosystem": ecosystem}


def _eco(*events: Mapping[str, str]) -> dict[str, Any]:
    return {"type": "ECOSYSTEM", "events": [dict(e) for e in events]}


# The advisories the checker tests use. Which ones affect which installed package is stated by
# hand in EXPECTED_* below, from these records and FAKE_DISTS, not computed by the code under test.
RECORDS: tuple[dict[str, Any], ...] = (
    {
        "id": "TEST-2024-RANGE",
        "summary": "alpha: path traversal",
        "aliases": ["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],  # 6.1
        "affected": [
            {
                "package": _pkg("alpha"),
                "ranges": [
                    _eco({"introduced": "1.0"}, {"fixed": "1.5"}),
                    {
                        "type": "GIT",
                        "repo": "https://example.invalid/alpha",
                        "events": [{"introduced": "0"}, {"fixed": "abc123"}],
                    },
                ],
            }
        ],
        "references": [
            {"type": "WEB", "url": "https://example.invalid/alpha/issue"},
            {"type": "ADVISORY", "url": "https://github.com/advisories/GHSA-aaaa-bbbb-cccc"},
        ],
    },
    {
        "id": "TEST-2024-OLD",  # an alpha advisory fixed before the installed release
        "affected": [{"package": _pkg("alpha"), "ranges": [_eco({"introduced": "0"}, {"fixed": "1.3"})]}],
    },
    {
        "id": "TEST-2024-LIST",
        "details": "Beta_Pkg: explicit list of releases.\nSecond line.",
        "affected": [{"package": _pkg("beta-pkg"), "versions": ["1.0", "2.0.1", "2.1"]}],
    },
    {
        "id": "TEST-2024-LAST",
        "summary": "gamma up to and including 3.1",
        "affected": [{"package": _pkg("gamma"), "ranges": [_eco({"introduced": "3.0"}, {"last_affected": "3.1"})]}],
    },
    {
        "id": "TEST-2024-LASTOLD",  # last_affected below the installed release
        "affected": [{"package": _pkg("gamma"), "ranges": [_eco({"introduced": "0"}, {"last_affected": "3.0.9"})]}],
    },
    {
        "id": "TEST-2024-MULTI",
        "summary": "two affected packages",
        "affected": [
            {"package": _pkg("alpha"), "ranges": [_eco({"introduced": "2.0"})]},
            {"package": _pkg("gamma"), "ranges": [_eco({"introduced": "3.0"}, {"fixed": "3.2"})]},
        ],
    },
    {
        "id": "TEST-2024-WITHDRAWN",
        "withdrawn": "2024-05-01T00:00:00Z",
        "affected": [{"package": _pkg("delta"), "ranges": [_eco({"introduced": "0"})]}],
    },
    {
        "id": "TEST-2024-NPM",
        "affected": [{"package": _pkg("delta", "npm"), "ranges": [_eco({"introduced": "0"})]}],
    },
    {
        "id": "TEST-2024-ZERO",
        "summary": "foo-bar-baz: every release",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],  # 9.8
        "affected": [{"package": _pkg("Foo_Bar.baz"), "ranges": [_eco({"introduced": "0"})]}],
    },
    {
        "id": "TEST-2024-SAFE",
        "affected": [
            {"package": _pkg("safe"), "ranges": [_eco({"introduced": "1.0"}, {"fixed": "2.0"})], "versions": ["1.0", "1.5"]}
        ],
    },
    {
        "id": "TEST-2024-TOOL",
        "summary": "toolx: moderate",
        "database_specific": {"severity": "MODERATE"},
        "affected": [{"package": _pkg("toolx"), "ranges": [_eco({"introduced": "0"}, {"fixed": "2.0"})]}],
    },
    {
        "id": "TEST-2024-OTHER",  # a package that is not installed
        "affected": [{"package": _pkg("not-installed"), "ranges": [_eco({"introduced": "0"})]}],
    },
)

# (advisory id, canonical package name) found with scope = "project"
EXPECTED_PROJECT = {
    ("TEST-2024-RANGE", "alpha"),
    ("TEST-2024-LIST", "beta-pkg"),
    ("TEST-2024-LAST", "gamma"),
    ("TEST-2024-MULTI", "gamma"),
    ("TEST-2024-ZERO", "foo-bar-baz"),
}
EXPECTED_ALL = EXPECTED_PROJECT | {("TEST-2024-TOOL", "toolx")}


def make_env(path: Path, dists: Iterable[tuple[str, str, Sequence[str]]]) -> Path:
    """A virtual environment (no pip) whose site-packages holds real-format .dist-info folders."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    site = next((path / "lib").glob("python3*/site-packages"))
    for name, version, requires in dists:
        info = site / f"{canonicalize_name(name).replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
        if any("extra ==" in r for r in requires):
            meta.append("Provides-Extra: fast")
        (info / "METADATA").write_text("\n".join(meta) + "\n", encoding="utf-8")
        (info / "INSTALLER").write_text("pip\n", encoding="utf-8")
        (info / "RECORD").write_text(f"{info.name}/METADATA,,\n{info.name}/INSTALLER,,\n{info.name}/RECORD,,\n", encoding="utf-8")
    return path / "bin" / "python"


#: a ``modified`` time for the records the tests write: the checker rejects a database whose
#: newest record is older than max_db_age_days (7 by default)
FRESH = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_db(root: Path, records: Iterable[Mapping[str, Any]], layout: str) -> Path:
    """An OSV database in one of four layouts: pypa (vulns/<pkg>/<ID>.yaml), flat (ID.json), or a zip
    of either; a record without a ``modified`` time gets FRESH."""
    base = layout.removesuffix("-zip")
    files: dict[str, str] = {}
    for rec in ({"modified": FRESH, **r} for r in records):
        if base == "pypa":
            first = rec["affected"][0]["package"]["name"]
            files[f"vulns/{first}/{rec['id']}.yaml"] = yaml.safe_dump(dict(rec), sort_keys=False)
        else:
            files[f"{rec['id']}.json"] = json.dumps(rec, indent=1)
    if layout.endswith("-zip"):
        target = root / "advisories.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in files.items():
                zf.writestr(name, text)
        return target
    target = root / "advisories"
    for name, text in files.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(text, encoding="utf-8")
    return target


def deps_project(
    root: Path, python: Path, checks: str = "", environment: str = "", extra: str = "", deps: Sequence[str] = PROJECT_DEPS
) -> Path:
    """A project folder with pyproject.toml (``deps``) and a gatekeeper.toml auditing the environment of ``python``."""
    root.mkdir(exist_ok=True)
    dep_lines = "".join(f'  "{d}",\n' for d in deps)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "myproject"\nversion = "0.1"\ndependencies = [\n{dep_lines}]\n', encoding="utf-8"
    )
    (root / "gatekeeper.toml").write_text(
        f'[audit]\nenabled = false\n\n[environment]\npython = "{python}"\n{environment}\n\n'
        f"[checks.dependencies]\n{checks}\n\n{extra}\n",
        encoding="utf-8",
    )
    return root


def run_dependencies(root: Path, checkers: Mapping[str, Any]) -> GateResult:
    """Run only the dependencies check of the project at ``root`` through the engine."""
    policy = load_policy(root, {n: c.options for n, c in checkers.items()})
    request = RunRequest(root=root, policy=policy, output_dir=root / "out", only=("dependencies",))
    return run_checks(request, checkers)


def dep_result(gate: GateResult) -> CheckResult:
    """The dependencies check's result in a gate result."""
    result = gate.check("dependencies")
    assert result is not None
    return result


def found(result: CheckResult) -> set[tuple[str, str]]:
    """(advisory id, canonical package) of every vulnerability finding."""
    return {
        (f.rule_id, canonicalize_name(f.package.name))
        for f in result.findings
        if f.package is not None and f.rule_id != "dependencies.unaudited"
    }
