"""The licenses checker on real environments, compared with pip-licenses run by hand."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.checkers.licenses import LicensesChecker
from gatekeeper.findings import Status
from tests.helpers.dists import FakeEnv, bare_venv, context, make_project, run_gate, write_dist

#: a waiver expiry within gate.max_waiver_days of today
SOON = (dt.date.today() + dt.timedelta(days=180)).isoformat()
#: the reason and approver every waiver needs
ACCEPTED = 'reason = "a license it does not have"\napproved_by = "legal@example.com"\n'


EXPECTED = {
    "alpha": ("MIT", "allowed"),
    "bravo": ("BSD-2-Clause", "allowed"),
    "charlie": ("BSD-3-Clause", "allowed"),
    "delta": ("GPL-3.0-only", "denied"),
    "echo": ("MIT OR GPL-3.0-only", "allowed"),
    "foxtrot": ("MIT AND GPL-3.0-only", "denied"),
    "golf": ("", "unknown"),
    "hotel": ("Apache-2.0", "allowed"),
    "india": ("MPL-2.0", "allowed"),
    "juliet": ("", "unknown"),
    "kilo": ("GPL-2.0-only WITH Classpath-exception-2.0", "denied"),
    "lima": ("Apache-2.0 OR BSD-3-Clause", "allowed"),
    "mike": ("MIT", "allowed"),
    "november": ("PSF-2.0", "allowed"),
    "oscar": ("BSD-3-Clause", "allowed"),  # from its second license file: pip-licenses shows the first
}


def _policy(python: Path, extra: str = "", scope: str = "all") -> str:
    return f'[environment]\npython = "{python}"\nscope = "{scope}"\n[checks.licenses]\ndeny = ["GPL-*", "AGPL-*"]\n{extra}\n'


def _by_hand(python: str, cwd: Path, *options: str) -> list[dict[str, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "piplicenses", "--format=json", "--with-system", "--python", python, *options],
        capture_output=True, text=True, check=True, cwd=cwd,
    )  # fmt: skip
    data: list[dict[str, str]] = json.loads(done.stdout)
    return data


def test_verdicts_on_a_real_environment(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python))
    result = LicensesChecker().run(context(root).policy.checks["licenses"], context(root))
    table = {p["name"]: (p["license"], p["verdict"]) for p in result.metrics["packages"]}
    assert table == EXPECTED
    assert result.status is Status.FAIL
    assert result.metrics["counts"] == {"allowed": 10, "denied": 3, "unknown": 2, "ignored": 0}
    assert result.summary == "3 denied, 2 unknown of 15 packages"
    by_pkg = {f.package.name: f for f in result.findings if f.package}
    assert set(by_pkg) == {"delta", "foxtrot", "kilo", "golf", "juliet"}
    delta = by_pkg["delta"]
    assert delta.rule_id == "license.denied" and delta.blocking
    assert delta.package is not None and delta.package.version == "4.0"
    assert delta.properties["raw"] == "GNU General Public License v3 (GPLv3)"
    assert delta.properties["license"] == "GPL-3.0-only"
    assert delta.properties["license_ids"] == ["GPL-3.0-only"]
    assert "GPL-3.0-only is denied (deny: 'GPL-*')" in delta.properties["reason"]
    assert "delta 4.0" in delta.message and "GPL-3.0-only" in delta.message
    assert by_pkg["foxtrot"].properties["license_ids"] == ["MIT", "GPL-3.0-only"]
    golf = by_pkg["golf"]
    assert golf.rule_id == "license.unknown" and golf.blocking
    assert golf.properties["raw"] == "BSD License" and golf.properties["license"] == ""
    assert "license file" in golf.properties["reason"]
    # where the BSD variant came from is recorded
    sources = {p["name"]: p["source"] for p in result.metrics["packages"]}
    assert sources["bravo"] == "classifier+license-file" and sources["alpha"] == "expression"


def test_list_equals_pip_licenses_on_the_fake_env(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python))
    ctx = context(root)
    result = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
    ours = sorted((p["name"], p["version"], p["raw"]) for p in result.metrics["packages"])
    mixed = _by_hand(str(dist_env.python), tmp_path)
    assert ours == sorted((d["Name"], d["Version"], d["License"]) for d in mixed)
    assert len(ours) == len(EXPECTED)
    # pip-licenses shows oscar's COPYING, not its BSD text: the checker read the other license file
    texts = {
        d["Name"]: d["LicenseText"] for d in _by_hand(str(dist_env.python), tmp_path, "--with-license-file", "--no-license-path")
    }
    assert "Redistribution" not in texts["oscar"] and "Redistribution" in texts["bravo"]


def test_list_equals_pip_licenses_on_the_test_environment(tmp_path: Path) -> None:
    """The test run's own environment: dozens of real packages with every kind of metadata."""
    root = make_project(tmp_path / "p", _policy(Path(sys.executable)))
    ctx = context(root)
    result = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
    ours = sorted((p["name"], p["version"], p["raw"]) for p in result.metrics["packages"])
    theirs = _by_hand(sys.executable, tmp_path)
    # gatekeeper itself is the reviewer, not a package of the project: left out, and said so
    assert ours == sorted((d["Name"], d["Version"], d["License"]) for d in theirs if d["Name"] != "gatekeeper")
    assert result.metrics["left_out"] == ["gatekeeper"]
    assert len(ours) > 30
    # and the three sources pip-licenses reads separately are the ones normalised
    every = {d["Name"]: d for d in _by_hand(sys.executable, tmp_path, "--from=all")}
    for p in result.metrics["packages"]:
        if p["source"] == "expression":
            assert every[p["name"]]["License-Expression"] != "UNKNOWN"


def test_unknown_warn_does_not_block(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p", _policy(dist_env.python, 'unknown = "warn"\nignore_packages = ["delta", "Foxtrot", "kilo"]')
    )
    ctx = context(root)
    result = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
    assert result.status is Status.PASS
    unknown = [f for f in result.findings if f.rule_id == "license.unknown"]
    assert {f.package.name for f in unknown if f.package} == {"golf", "juliet"}
    assert not any(f.blocking for f in unknown)
    verdicts = {p["name"]: p["verdict"] for p in result.metrics["packages"]}
    assert verdicts["delta"] == verdicts["foxtrot"] == verdicts["kilo"] == "ignored"
    assert not any(f.rule_id == "license.denied" for f in result.findings)


def test_allow_list_and_and_classifier_join(dist_env: FakeEnv, tmp_path: Path) -> None:
    extra = 'allow = ["MIT", "BSD-*"]\nunknown = "warn"\nclassifier_join = "and"'
    root = make_project(tmp_path / "p", _policy(dist_env.python, extra))
    ctx = context(root)
    result = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
    rows = {p["name"]: p for p in result.metrics["packages"]}
    assert rows["hotel"]["verdict"] == "denied" and "not on the allow list" in rows["hotel"]["reason"]
    assert rows["bravo"]["verdict"] == "allowed"  # glob BSD-*
    # two classifiers read as AND: Apache-2.0 is not allowed, so lima is denied
    assert rows["lima"]["license"] == "Apache-2.0 AND BSD-3-Clause" and rows["lima"]["verdict"] == "denied"


def test_waiver_by_package_through_the_engine(dist_env: FakeEnv, tmp_path: Path) -> None:
    waivers = """
[[waivers]]
check = "licenses"
package = "delta"
rule = "GPL-3.0-only"
reason = "internal tool, not distributed"
approved_by = "legal@example.com"
expires = 2099-01-01

[[waivers]]
check = "licenses"
package = "foxtrot"
rule = "license.denied"
reason = "covered by the vendor agreement"
approved_by = "legal@example.com"
expires = 2099-01-01

[[waivers]]
check = "licenses"
package = "kilo"
rule = "GPL-2.0-only"
reason = "classpath exception accepted"
approved_by = "legal@example.com"
expires = 2099-01-01

[[waivers]]
check = "licenses"
package = "golf"
reason = "BSD-3-Clause per upstream README"
approved_by = "legal@example.com"
expires = 2099-01-01

[[waivers]]
check = "licenses"
package = "juliet"
rule = "license.unknown"
reason = "our own internal package"
approved_by = "legal@example.com"
expires = 2099-01-01
""".replace("2099-01-01", SOON)
    root = make_project(tmp_path / "p", _policy(dist_env.python) + waivers)
    gate = run_gate(root, ("licenses",))
    check = gate.check("licenses")
    assert check is not None and check.status is Status.PASS, check
    assert gate.exit_code == 0
    waived = {f.package.name: f.waiver.id for f in check.findings if f.package and f.waiver}
    assert waived == {"delta": "W1", "foxtrot": "W2", "kilo": "W3", "golf": "W4", "juliet": "W5"}
    # a waiver whose rule names a license the package does not have does not apply
    wrong = f'[[waivers]]\ncheck = "licenses"\npackage = "delta"\nrule = "MIT"\n{ACCEPTED}expires = {SOON}\n'
    gate2 = run_gate(
        make_project(tmp_path / "q", _policy(dist_env.python, 'ignore_packages = ["foxtrot", "kilo", "golf", "juliet"]') + wrong),
        ("licenses",),
    )
    check2 = gate2.check("licenses")
    assert gate2.exit_code == 1 and check2 is not None
    assert [f.package.name for f in check2.blocking if f.package] == ["delta"]
    assert [w["id"] for w in gate2.waivers["unused"]] == ["W1"]


def test_project_scope_restricts_the_list(dist_env: FakeEnv, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", _policy(dist_env.python, scope="project"), deps=["alpha", "bravo>=1", "delta"])
    ctx = context(root)
    result = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
    assert [p["name"] for p in result.metrics["packages"]] == ["alpha", "bravo", "charlie", "delta"]
    assert result.metrics["scope"] == "project"
    assert "juliet" in result.metrics["left_out"]
    # the same list pip-licenses gives for those packages
    theirs = _by_hand(str(dist_env.python), tmp_path, "--packages", "alpha", "bravo", "charlie", "delta")
    assert sorted((p["name"], p["version"], p["raw"]) for p in result.metrics["packages"]) == sorted(
        (d["Name"], d["Version"], d["License"]) for d in theirs
    )
    (denied,) = [f for f in result.findings if f.blocking]
    assert denied.package is not None and denied.package.name == "delta"
    # delta is declared directly in pyproject.toml: the finding points at its line
    assert denied.properties["manifest"] == {"path": "pyproject.toml", "line": 8}
    assert (root / "pyproject.toml").read_text().splitlines()[7].strip() == '"delta",'


def test_fingerprint_survives_a_version_bump(dist_env: FakeEnv, tmp_path: Path) -> None:
    from gatekeeper.checkers.licenses import Judged, _finding

    ctx = context(make_project(tmp_path / "p", _policy(dist_env.python)))
    section = ctx.policy.checks["licenses"]
    a = Judged("delta", "4.0", "GPLv3", "GPL-3.0-only", ("GPL-3.0-only",), "classifier", "denied", "x")
    b = Judged("Delta", "4.1", "GPLv3", "GPL-3.0-only", ("GPL-3.0-only",), "classifier", "denied", "x")
    c = Judged("delta", "4.1", "MIT", "MIT", ("MIT",), "expression", "denied", "x")
    fa, fb, fc = (_finding(j, section, {}, "pyproject.toml") for j in (a, b, c))
    assert fa is not None and fb is not None and fc is not None
    assert fa.fingerprint == fb.fingerprint != fc.fingerprint


def test_pip_licenses_garbage_is_an_error(dist_env: FakeEnv, tmp_path: Path) -> None:
    """A tool_python without pip-licenses: the check errors instead of passing."""
    root = make_project(tmp_path / "p", _policy(dist_env.python))
    ctx = context(root, tool_python=str(dist_env.python))
    from gatekeeper.errors import ToolError

    with pytest.raises(ToolError, match="pip-licenses is not installed in "):
        LicensesChecker().run(ctx.policy.checks["licenses"], ctx)


def test_a_judgement_served_from_the_cache_loads_no_spdx_table(dist_env: FakeEnv, tmp_path: Path) -> None:
    """With the listing and its judgement cached, the check imports neither license-expression nor
    the SPDX normalisation (their loading was most of its own CPU), and reports what it reported."""
    root = make_project(tmp_path / "p", _policy(dist_env.python))
    cache_dir = tmp_path / "cache"
    first = LicensesChecker().run(context(root).policy.checks["licenses"], context(root, cache_dir=cache_dir))
    probe = (
        "import sys\nfrom pathlib import Path\n"
        "from gatekeeper.checkers.licenses import LicensesChecker\n"
        "from tests.helpers.dists import context\n"
        f"root, cache = Path({str(root)!r}), Path({str(cache_dir)!r})\n"
        "before = set(sys.modules)\n"
        "result = LicensesChecker().run(context(root).policy.checks['licenses'], context(root, cache_dir=cache))\n"
        "import json\nprint(json.dumps({'loaded': sorted(set(sys.modules) - before), 'packages': result.metrics['packages'],"
        " 'cached': result.metrics['cached'], 'status': result.status.value}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[3], timeout=120
    )
    second = json.loads(done.stdout.splitlines()[-1])
    assert second["cached"] is True and second["packages"] == first.metrics["packages"]
    assert second["status"] == first.status.value
    assert not [m for m in second["loaded"] if m.split(".")[0] in ("license_expression", "boolean")]
    assert "gatekeeper.checkers.licenses.spdx" not in second["loaded"]
    assert "gatekeeper.checkers.lockfiles.model" not in second["loaded"]  # no lock to compare with


def test_a_license_field_the_classifiers_contradict_is_judged_with_them(tmp_path: Path) -> None:
    """License: MIT beside a GPLv3 classifier (pip-licenses --from=mixed shows the GPL) is both
    licenses, never the MIT alone: read as MIT, it passed a gate denying GPL-*; beside an
    Other/Proprietary classifier it is unknown. Classifiers naming the License field's own license
    (a BSD one beside a BSD-* field) change nothing; an OR of them keeps its choice."""
    python, site = bare_venv(tmp_path / "venv")
    gpl = "Classifier: License :: OSI Approved :: GNU General Public License v3 (GPLv3)"
    mit = "Classifier: License :: OSI Approved :: MIT License"
    write_dist(site, "twofaced", "1.0", ["License: MIT", gpl], None, {})
    write_dist(site, "agreeing", "1.0", ["License: MIT", mit], None, {})
    write_dist(site, "choosing", "1.0", ["License: MIT", mit, gpl], None, {})
    write_dist(site, "closed", "1.0", ["License: MIT", "Classifier: License :: Other/Proprietary License"], None, {})
    bsd = "Classifier: License :: OSI Approved :: BSD License"
    write_dist(site, "bsdish", "1.0", ["License: BSD-3-Clause", bsd], None, {})
    root = make_project(tmp_path / "p", _policy(python))
    by_hand = {p["Name"]: p["License"] for p in _by_hand(str(python), tmp_path, "--from=mixed")}
    assert by_hand["twofaced"] == "GNU General Public License v3 (GPLv3)"
    result = LicensesChecker().run(context(root).policy.checks["licenses"], context(root))
    table = {p["name"]: (p["license"], p["verdict"], p["source"]) for p in result.metrics["packages"]}
    assert table["twofaced"] == ("MIT AND GPL-3.0-only", "denied", "metadata+classifier")
    assert table["agreeing"] == ("MIT", "allowed", "metadata")
    assert table["choosing"] == ("MIT AND (GPL-3.0-only OR MIT)", "allowed", "metadata+classifier")
    assert table["closed"] == ("", "unknown", "")
    assert table["bsdish"] == ("BSD-3-Clause", "allowed", "metadata")
    closed = next(p for p in result.metrics["packages"] if p["name"] == "closed")
    assert closed["reason"] == "License 'MIT', but classifier 'Other/Proprietary License' does not identify an SPDX license"
    assert result.status is Status.FAIL
    assert sorted(f.package.name for f in result.findings if f.package) == ["closed", "twofaced"]
