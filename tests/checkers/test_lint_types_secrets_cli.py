"""The lint, types and secrets checks through the real CLI: policies, baselines, reports, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.projects import git_init, write

#: end to end: gatekeeper check as a process over the real tools
pytestmark = pytest.mark.slow

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

AWS = "AKIAZ7QPLM3XN5RTV2KD"
PASSWORD = "s3cr3t-Hunter2-Qx9vLw"
ALLOWLISTED = "Zq8-allowlisted-Wv4rT6yU"  # behind a pragma: not a finding, still never shown
POLICY = """
[reports]
formats = ["json", "sarif", "html", "markdown", "junit"]
[checks.coverage]
enabled = false
[checks.security]
enabled = false
[checks.dependencies]
enabled = false
[checks.sbom]
enabled = false
[checks.licenses]
enabled = false
[checks.lint]
enabled = true
[checks.types]
enabled = true
[checks.secrets]
enabled = true
"""
LEGACY = {
    "gatekeeper.toml": POLICY,
    "pyproject.toml": (
        '[project]\nname = "legacy"\nversion = "0"\n[tool.ruff.lint]\nselect = ["E", "F"]\n[tool.mypy]\nfiles = ["legacy"]\n'
    ),
    "legacy/__init__.py": "",
    "legacy/old.py": "import os\n\n\ndef total(x: int) -> str:\n    return x\n",
}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    root = write(tmp_path / "legacy", LEGACY)
    git_init(root)
    return root


def test_secrets_never_reach_a_report_the_console_the_audit_log_or_the_cache(tmp_path: Path, gk: Any) -> None:
    root = write(
        tmp_path / "app",
        {
            "gatekeeper.toml": POLICY,
            "svc/__init__.py": "",
            "svc/config.py": f'password = "{PASSWORD}"\naws_key = "{AWS}"\n',
            "deploy.env": f"AWS_ACCESS_KEY_ID={AWS}\n",
            "svc/legacy.py": f'api_password = "{ALLOWLISTED}"  # pragma: allowlist secret\n',
        },
    )
    git_init(root)
    cache_home = tmp_path / "cache-home"  # the cache lives outside the checkout, in the user's cache folder
    done = gk(["check", "--output-dir", "out"], cwd=root, env={"XDG_CACHE_HOME": str(cache_home)})
    assert done.returncode == 1, done.stdout + done.stderr
    result = load(root / "out" / "gatekeeper.json")
    secrets = next(c for c in result["checks"] if c["name"] == "secrets")
    assert {(f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in secrets["findings"]} >= {
        ("secret.aws-access-key", "svc/config.py", 2),
        ("secret.aws-access-key", "deploy.env", 1),
        ("secret.secret-keyword", "svc/config.py", 1),
    }
    written = [p for d in (root / "out", root / ".gatekeeper", cache_home) for p in d.rglob("*") if p.is_file()]
    assert any(p.name == "audit.jsonl" for p in written) and any(cache_home in p.parents for p in written)
    assert {p.name for p in written} >= {"gatekeeper.sarif", "gatekeeper.html", "gatekeeper.md", "gatekeeper.junit.xml"}
    texts = [done.stdout, done.stderr, *(p.read_bytes().decode("utf-8", "replace") for p in written)]
    for secret in (AWS, PASSWORD, ALLOWLISTED):
        assert not [t[:80] for t in texts if secret in t]
    sarif = load(root / "out" / "gatekeeper.sarif")
    runs = {r["tool"]["driver"]["name"]: r for r in sarif["runs"]}
    secret_rules = runs["gatekeeper-secrets"]["tool"]["driver"]["rules"]
    assert secret_rules and all(float(r["properties"]["security-severity"]) >= 7.0 for r in secret_rules)
    assert "external/cwe/cwe-798" in secret_rules[0]["properties"]["tags"]
    assert all(r["helpUri"].startswith("https://") for run in runs.values() for r in run["tool"]["driver"]["rules"])
    # the pragma narrowed the scan: a record naming the file and the secret it hid, shown in the HTML
    (pragma,) = secrets["narrowing"]
    assert (pragma["kind"], pragma["files"], pragma["suppressed"]) == ("line-comments", ["svc/legacy.py"], 1)
    html = (root / "out" / "gatekeeper.html").read_text(encoding="utf-8")
    assert "<tr><td>Potential secrets</td><td>3</td>" in html and "Narrowed by the project" in html
    assert "<code>svc/legacy.py</code>" in html[html.index("Narrowed by the project") :]
    junit = (root / "out" / "gatekeeper.junit.xml").read_text(encoding="utf-8")
    assert 'name="secrets"' in junit and 'name="lint"' in junit and 'name="types"' in junit


def test_a_legacy_project_adopts_lint_and_types_with_a_baseline(legacy: Path, gk: Any) -> None:
    first = gk(["check", "--only", "lint,types", "--no-audit", "--output-dir", "out"], cwd=legacy)
    assert first.returncode == 1, first.stdout + first.stderr
    made = gk(["baseline", "create", "--only", "lint,types", "--no-audit", "--output", "baseline.json"], cwd=legacy)
    assert made.returncode == 0, made.stdout + made.stderr
    old = legacy / "legacy/old.py"
    old.write_text('"""Old code, moved down by a docstring."""\n\n' + old.read_text(encoding="utf-8"), encoding="utf-8")
    adopted = gk(
        ["check", "--only", "lint,types", "--no-audit", "--baseline", "baseline.json", "--output-dir", "out"], cwd=legacy
    )
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    checks = {c["name"]: c for c in load(legacy / "out" / "gatekeeper.json")["checks"]}
    assert all(f["waiver"]["kind"] == "baseline" for c in checks.values() for f in c["findings"])
    assert {f["rule_id"] for f in checks["lint"]["findings"]} == {"F401"}
    assert {f["rule_id"] for f in checks["types"]["findings"]} == {"return-value"}
    write(legacy, {"legacy/new.py": "import sys\n\n\ndef half(x: int) -> int:\n    return x / 2\n"})
    new = gk(["check", "--only", "lint,types", "--no-audit", "--baseline", "baseline.json", "--output-dir", "out"], cwd=legacy)
    assert new.returncode == 1
    checks = {c["name"]: c for c in load(legacy / "out" / "gatekeeper.json")["checks"]}
    blocking = {(c, f["rule_id"], f["location"]["path"]) for c in checks for f in checks[c]["findings"] if f["blocking"]}
    assert blocking == {("lint", "F401", "legacy/new.py"), ("types", "return-value", "legacy/new.py")}


def test_an_enabled_check_whose_tool_is_missing_exits_3_saying_how_to_install(legacy: Path, gk: Any, bare_python: str) -> None:
    policy = POLICY + f'[gate]\ntool_python = "{bare_python}"\n'  # the tools come from gate.tool_python
    (legacy / "gatekeeper.toml").write_text(policy, encoding="utf-8")
    done = gk(["check", "--only", "types", "--no-audit", "--output-dir", "out"], cwd=legacy)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "mypy is not installed" in done.stdout + done.stderr and "gatekeeper[types]" in done.stdout + done.stderr


def test_off_in_the_default_policy_on_in_strict_and_turned_on_by_init(tmp_path: Path, gk: Any) -> None:
    shown = gk(["policy", "show"], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    checks = tomllib.loads(shown.stdout.split("\n", 1)[1])["checks"]
    assert not any(checks[n]["enabled"] for n in ("lint", "types", "secrets"))
    (tmp_path / "gatekeeper.toml").write_text('extends = "strict"\n', encoding="utf-8")
    strict = tomllib.loads(gk(["policy", "show"], cwd=tmp_path).stdout.split("\n", 1)[1])["checks"]
    assert all(strict[n]["enabled"] for n in ("lint", "types", "secrets"))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    init = gk(["policy", "init"], cwd=fresh)
    assert init.returncode == 0 and "turned on lint, secrets, types" in init.stdout
    made = tomllib.loads((fresh / "gatekeeper.toml").read_text(encoding="utf-8"))["checks"]
    assert all(made[n]["enabled"] for n in ("lint", "types", "secrets"))
    assert gk(["policy", "validate"], cwd=fresh).returncode == 0
    listed = gk(["plugins"], cwd=fresh)
    assert all(name in listed.stdout for name in ("lint (ruff)", "type checking (mypy)", "detect-secrets"))


def test_a_change_to_one_file_rescans_only_that_file_with_the_findings_of_a_cold_run(tmp_path: Path, gk) -> None:
    """The pull-request case: the cache of the base branch, one file changed; bandit, ruff and
    detect-secrets each scan that one file again, and the findings are those of a cold run."""
    files = {
        f"pkg/m{i}.py": f"import os\nimport subprocess\n\n\ndef run{i}(cmd):\n    return subprocess.call(cmd, shell=True)\n"
        for i in range(5)
    }
    files["pkg/__init__.py"] = ""
    policy = POLICY.replace("[checks.security]\nenabled = false", '[checks.security]\npaths = ["pkg"]\nexclude = []')
    policy = policy.replace("[checks.types]\nenabled = true", "[checks.types]\nenabled = false")
    root = write(tmp_path / "p", {**files, "gatekeeper.toml": policy})
    git_init(root)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}

    def check(*extra: str) -> dict[str, Any]:
        done = gk(["check", ".", "--no-audit", *extra], cwd=root, env=env)
        assert done.returncode == 1, done.stdout + done.stderr
        data: dict[str, Any] = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
        return {c["name"]: c for c in data["checks"]}

    def findings(checks: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
        return {
            name: sorted(
                (f["rule_id"], f["location"]["path"], f["location"]["line"], f["fingerprint"], f["message"])
                for f in c["findings"]
            )
            for name, c in checks.items()
        }

    base = check()  # the base branch's run fills the cache
    assert [base[n]["metrics"]["cached_files"] for n in ("security", "lint", "secrets")] == [0, 0, 0]
    (root / "pkg" / "m2.py").write_text(files["pkg/m2.py"] + f"\n\nTOKEN = {AWS!r}\n\n\ndef ev(x):\n    return eval(x)\n")
    warm = check()
    assert warm["security"]["metrics"]["files_scanned"] == 6 and warm["security"]["metrics"]["cached_files"] == 5
    assert warm["lint"]["metrics"]["files_checked"] == 6 and warm["lint"]["metrics"]["cached_files"] == 5
    # detect-secrets reads every tracked file, the policy too: all but the changed one from the cache
    assert warm["secrets"]["metrics"]["files_scanned"] == 7 and warm["secrets"]["metrics"]["cached_files"] == 6
    assert all(warm[n]["metrics"]["cache_rejected"] == 0 for n in ("security", "lint", "secrets"))
    cold = check("--no-cache")
    assert findings(warm) == findings(cold)
    assert {"B307"} <= {f[0] for f in findings(warm)["security"]} and findings(warm)["secrets"]  # the change was seen


def test_plugins_says_which_built_in_checks_are_off_by_default() -> None:
    """``gatekeeper plugins`` marks a check the policy must turn on, as the README says it does: the
    built-in lint, types and secrets checks are off through an ``enabled`` option of their own."""
    from gatekeeper.checkers import plugin_lines

    lines = plugin_lines()
    described = {lines[i].split()[0]: lines[i + 1] for i in range(len(lines) - 1) if not lines[i].startswith(" ")}
    off = {name for name, description in described.items() if description.endswith("(off by default)")}
    assert {"lint", "types", "secrets"} <= off
    assert not off & {"coverage", "security", "dependencies", "sbom", "licenses"}
