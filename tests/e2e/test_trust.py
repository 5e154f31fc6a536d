"""The checkout under review is untrusted: each attack a pull request could make, run against the real tools.

A pull request can add files to the tree: modules named like the tools, coverage data, cache
entries, a bandit configuration, tests that read the environment. None of them may turn a failing
gate into a pass, read the audit signing key, or narrow a check without saying so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers import cache
from gatekeeper.checkers.dependencies.advisories import open_database
from tests.helpers.env import clean_env
from tests.helpers.services import Answers

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

GATEKEEPER = Path(sys.executable).with_name("gatekeeper")  # the console script, as CI runs it
PYTHON = sys.executable

APP = """\
import subprocess


def run(cmd):
    return subprocess.call(cmd, shell=True)


def half(x):
    if x > 0:
        return x // 2
    return 0


def unused(y):
    z = y * 3
    return z
"""

TESTS = """\
from app import half


def test_half():
    assert half(4) == 2
"""


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _env(cache_home: Path, **extra: str) -> dict[str, str]:
    return clean_env({"XDG_CACHE_HOME": str(cache_home), **extra}, coverage=False)


def _check(root: Path, cache_home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GATEKEEPER), "check", *args],
        cwd=root,
        env=_env(cache_home, **env),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _result(root: Path, name: str) -> dict[str, Any]:
    data = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    check: dict[str, Any] = next(c for c in data["checks"] if c["name"] == name)
    return check


COVERAGE_CONFIG = "[project]\nname = 'victim'\nversion = '1.0'\n[tool.coverage.run]\ninclude = ['app.py']\n"


def _project(root: Path, policy: str, config: str = COVERAGE_CONFIG) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text(APP)
    (root / "test_app.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(config)
    (root / "gatekeeper.toml").write_text('[reports]\nformats = ["json", "html"]\n' + policy)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "project")
    return root


def _honest_total(root: Path, tmp: Path, *extra: str) -> str:
    """``coverage report``'s total for the project's tests, run by hand in a clean copy."""
    copy = tmp / "honest"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".coverage*", ".git", "gatekeeper-reports", *extra))
    subprocess.run([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=copy, check=True)
    subprocess.run([PYTHON, "-m", "coverage", "combine"], cwd=copy, capture_output=True)
    out = subprocess.run([PYTHON, "-m", "coverage", "report", "--format=total"], cwd=copy, capture_output=True, text=True)
    return out.stdout.strip()


# --------------------------------------------------------------------------- planted modules

PLANTS = {
    "pip_audit.py": 'print(\'{"dependencies": [{"name": "jinja2", "version": "2.10", "vulns": []}], "fixes": []}\')',
    "piplicenses.py": "print('[]')",
    "cyclonedx_py/__init__.py": "",
    "cyclonedx_py/__main__.py": 'print(\'{"bomFormat": "CycloneDX", "components": []}\')',
    "bandit/__init__.py": "",
    "bandit/cli/__init__.py": "",
    "bandit/cli/main.py": 'def main():\n    print(\'{"results": [], "metrics": {}, "errors": []}\')\n    return 0\n',
    "coverage/__init__.py": "",
    "coverage/__main__.py": "",
    "coverage/cmdline.py": "def main():\n    return 0\n",
    "gatekeeper/__init__.py": "",
    "gatekeeper/checkers/__init__.py": "",
    "gatekeeper/checkers/sbom/validate.py": 'print(\'{"valid": true, "error": null, "formats": []}\')',
}


def _plant(root: Path) -> None:
    """Every planted module records that it ran (in PWNED) before it prints its fake answer."""
    for name, body in PLANTS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        marker = f"open({str(root / 'PWNED')!r}, 'a').write({name!r} + '\\n')\n"
        path.write_text(marker + body + "\n")


#: what the loopback api.osv.dev knows: jinja2 2.10 (PYSEC-2019-217's shape)
JINJA2_ADVISORY = {
    "id": "PYSEC-2019-217",
    "summary": "Jinja2 sandbox escape via str.format_map",
    "details": "In Pallets Jinja before 2.10.1, str.format_map allows a sandbox escape.",
    "aliases": ["CVE-2019-10906"],
    "affected": [
        {
            "package": {"name": "jinja2", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}],
        }
    ],
}


@pytest.fixture
def osv_api(osv_service: tuple[str, list[dict[str, Any]], Answers]) -> str:
    """A loopback api.osv.dev that knows one advisory (JINJA2_ADVISORY); other requests go nowhere."""
    url, _, answers = osv_service
    answers[("jinja2", "2.10")] = [JINJA2_ADVISORY]
    return url


def test_modules_planted_in_the_project_root_change_nothing(tmp_path: Path, osv_api: str) -> None:
    policy = f"""
[checks.coverage]
run = ["pytest", "-q", "-p", "no:cacheprovider"]
min_total = 0
[checks.security]
paths = ["app.py"]
exclude = []
[checks.dependencies]
source = "requirements.txt"
service = "osv"
osv_url = "{osv_api}"
[checks.licenses]
unknown = "warn"
allow = ["MIT", "BSD-3-Clause", "Apache-2.0", "BSD-2-Clause", "MPL-2.0", "PSF-2.0", "0BSD", "ISC"]
deny = []
[checks.sbom]
"""
    root = _project(tmp_path / "p", policy)
    (root / "requirements.txt").write_text("jinja2==2.10\n")
    _plant(root)
    done = _check(root, tmp_path / "cache", "--no-audit")
    assert not (root / "PWNED").exists(), (root / "PWNED").read_text()
    assert done.returncode == 1, done.stdout + done.stderr
    deps = _result(root, "dependencies")
    assert deps["status"] == "fail" and {f["rule_id"] for f in deps["findings"]} == {"PYSEC-2019-217"}
    security = _result(root, "security")
    assert "B602" in {f["rule_id"] for f in security["findings"]} and security["status"] == "fail"
    coverage = _result(root, "coverage")
    planted = {name.split("/")[0] for name in PLANTS}
    assert f"{coverage['metrics']['total']:.0f}" == _honest_total(root, tmp_path, *planted) == "60"
    sbom = _result(root, "sbom")
    assert sbom["status"] == "pass" and sbom["metrics"]["components"] > 10 and sbom["metrics"]["valid"] is True
    licenses = _result(root, "licenses")
    assert len(licenses["metrics"]["packages"]) > 10


#: gatekeeper's own dependencies and standard modules it imports, as a pull request could name
#: folders in the checkout's root (first on sys.path under ``python -m``, ahead of the standard library)
DEPENDENCY_PLANTS = ("typer", "jinja2", "markupsafe", "packaging", "coverage", "pydantic", "tomli", "json", "subprocess")


def test_python_dash_m_in_the_checkout_imports_none_of_its_folders(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "[checks.security]\npaths = ['app.py']\nexclude = []\n")
    for name in DEPENDENCY_PLANTS:  # each raises too, so a run that imported one could not pass either
        (root / name).mkdir()
        marker = f"open({str(root / 'PWNED')!r}, 'a').write({name!r} + '\\n')\n"
        (root / name / "__init__.py").write_text(marker + "raise SystemExit(0)\n")
    command = [PYTHON, "-m", "gatekeeper", "check", "--only", "security", "--no-audit", "--format", "json,html"]
    done = subprocess.run(command, cwd=root, env=_env(tmp_path / "cache"), capture_output=True, text=True, timeout=600)
    assert not (root / "PWNED").exists(), (root / "PWNED").read_text()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "B602" in {f["rule_id"] for f in _result(root, "security")["findings"]}
    assert (root / "gatekeeper-reports" / "gatekeeper.html").is_file()  # jinja2 and markupsafe: gatekeeper's own


#: what ``python -m`` imports (runpy and importlib.util's imports) after it has put the current folder
#: first on sys.path and before any line of gatekeeper runs, on the Python the suite runs (3.11); the
#: README names these. Later standard modules (enum, re, typing, json, ...) come after __main__ dropped the folder.
RUNPY_IMPORTS = {"importlib", "warnings", "collections", "types", "functools", "contextlib", "operator", "keyword", "reprlib"}
AFTER_MAIN = ("enum", "re", "typing", "json", "subprocess", "pathlib", "signal", "dataclasses")


def _plant_module(folder: Path, name: str, marker: Path) -> None:
    (folder / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r} + '\\n')\n")


def test_python_dash_m_runs_only_runpys_own_imports_from_the_current_folder(tmp_path: Path) -> None:
    """What the README says ``python -m gatekeeper`` does and does not protect against, and that the
    ``gatekeeper`` command (and ``python -I -m``) takes nothing from the current folder."""
    marker = tmp_path / "RAN"
    ran: set[str] = set()
    for name in sorted(RUNPY_IMPORTS | set(AFTER_MAIN)):  # one at a time: a planted module breaks the imports after it
        folder = tmp_path / name
        folder.mkdir()
        _plant_module(folder, name, marker)
        subprocess.run(
            [PYTHON, "-m", "gatekeeper", "--version"], cwd=folder, env=_env(tmp_path / "c"), capture_output=True, timeout=60
        )
        ran |= set(marker.read_text().split()) if marker.exists() else set()
    assert ran == RUNPY_IMPORTS  # a warnings.py in the checkout runs under `python -m gatekeeper`; a json.py does not
    every = tmp_path / "every"
    every.mkdir()
    marker.unlink()
    for name in RUNPY_IMPORTS | set(AFTER_MAIN) | {"gatekeeper", "typer"}:
        _plant_module(every, name, marker)
    for command in ([str(GATEKEEPER), "--version"], [PYTHON, "-I", "-m", "gatekeeper", "--version"]):
        done = subprocess.run(command, cwd=every, env=_env(tmp_path / "c"), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.startswith("gatekeeper "), done.stderr
        assert not marker.exists(), (command, marker.read_text())


# --------------------------------------------------------------------------- the signing key


def test_tests_under_run_cannot_read_the_signing_key(tmp_path: Path) -> None:
    dump = tmp_path / "env.json"
    # the test dumps its own environment and the environment block of every process above it
    # (/proc/<pid>/environ: readable by any process of the same user, whatever os.environ forgot)
    steal = (
        "import json, os\n\n\ndef _ancestors():\n    pid = os.getppid()\n    while pid > 1:\n"
        "        try:\n            yield open(f'/proc/{pid}/environ', 'rb').read().decode('utf-8', 'replace')\n"
        "            pid = int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1])\n"
        "        except OSError:\n            return\n\n\n"
        f"def test_steal():\n    open({str(dump)!r}, 'w').write(json.dumps({{**os.environ, '_above': list(_ancestors())}}))\n"
    )
    root = _project(tmp_path / "p", '[checks.coverage]\nrun = ["pytest", "-q", "-p", "no:cacheprovider"]\nmin_total = 0\n')
    (root / "test_steal.py").write_text(steal)
    done = _check(
        root, tmp_path / "cache", "--only", "coverage", GATEKEEPER_AUDIT_KEY="k3y-0f-the-ci-j0b", GATEKEEPER_CACHE_KEY=CACHE_KEY
    )
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(dump.read_text())
    assert seen["_above"], "the test could not read any ancestor's environment block"
    assert "GATEKEEPER_AUDIT_KEY" not in seen and "k3y-0f-the-ci-j0b" not in dump.read_text()
    assert "GATEKEEPER_CACHE_KEY" not in seen and CACHE_KEY not in dump.read_text()  # nor the cache's key
    assert seen.get("XDG_CACHE_HOME")  # the rest of the job's environment is there
    record = json.loads((root / ".gatekeeper" / "audit.jsonl").read_text().splitlines()[-1])
    assert record["sig"]["alg"] == "hmac-sha256"  # the key was still read, once, by gatekeeper itself
    verify = subprocess.run(
        [str(GATEKEEPER), "audit", "verify"],
        cwd=root,
        env=_env(tmp_path / "cache", GATEKEEPER_AUDIT_KEY="k3y-0f-the-ci-j0b"),
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and "1 checked, all valid" in verify.stdout, verify.stdout + verify.stderr


def test_key_named_by_key_env_is_not_passed_on_either(tmp_path: Path) -> None:
    from gatekeeper import childenv

    env = {"MY_AUDIT_KEY": "abc", "PATH": "/bin"}
    assert childenv.for_child({**env, "GATEKEEPER_AUDIT_KEY": "x"}) == env
    import os

    os.environ["MY_AUDIT_KEY"] = "abc"
    try:
        assert childenv.take("MY_AUDIT_KEY") == "abc"
        assert "MY_AUDIT_KEY" not in os.environ and "MY_AUDIT_KEY" not in childenv.for_child(env)
    finally:
        os.environ.pop("MY_AUDIT_KEY", None)


# --------------------------------------------------------------------------- the cache


def _forge(entry: Path, secret: bytes, change: Any) -> None:
    """Rewrite a cache entry's payload with ``change`` and re-MAC it with ``secret`` (an attacker's own)."""
    data = json.loads(entry.read_text())
    data["payload"] = change(data["payload"])
    body = json.dumps(data["payload"], sort_keys=True, separators=(",", ":")).encode()
    data["mac"] = hmac.new(secret, data["key"].encode() + b"\x00" + body, hashlib.sha256).hexdigest()
    entry.write_text(json.dumps(data))


def test_a_committed_poisoned_cache_entry_does_not_pass_a_fresh_clone(tmp_path: Path) -> None:
    policy = '[checks.security]\npaths = ["app.py"]\nexclude = []\n[cache]\ndir = ".gatekeeper/cache"\n'
    attacker = _project(tmp_path / "attacker", policy)
    mine = tmp_path / "attacker-cache"
    first = _check(attacker, mine, "--only", "security", "--no-audit")
    assert first.returncode == 1
    stored = list((attacker / ".gatekeeper" / "cache" / "security").rglob("*.json"))
    # one file's scan, and bandit's discovery answer (which keeps bandit from starting on a warm run)
    entries = [e for e in stored if "results" in json.loads(e.read_text())["payload"]]
    assert (len(entries), len(stored)) == (1, 2)
    secret = (mine / "gatekeeper" / "secret.key").read_bytes().strip()
    for entry in entries:
        _forge(entry, secret, lambda p: {**p, "results": []})
    # the forged entry is well-formed: under the attacker's own secret it turns B602 into a pass
    assert _check(attacker, mine, "--only", "security", "--no-audit").returncode == 0
    _git(attacker, "add", "-f", ".gatekeeper/cache")
    _git(attacker, "commit", "-qm", "speed up CI")

    victim = tmp_path / "victim"
    _git(tmp_path, "clone", "-q", str(attacker), str(victim))
    assert list((victim / ".gatekeeper" / "cache").rglob("*.json"))
    done = _check(victim, tmp_path / "ci-cache", "--only", "security", "--no-audit")
    # the forged entry is refused and B602 found again; the fresh entry written in its place rewrote a
    # file the checkout tracks, which the checkout comparison names: an error, never a pass
    assert done.returncode == 3, done.stdout
    assert "the run changed 1 tracked file(s) of the checkout it judged" in done.stdout
    security = _result(victim, "security")
    assert "B602" in {f["rule_id"] for f in security["findings"]}
    assert security["metrics"]["cache_rejected"] == 1 and security["metrics"]["cached_files"] == 0

    # by default the cache is not in the tree at all: the committed entries are never read
    (victim / "gatekeeper.toml").write_text((victim / "gatekeeper.toml").read_text().replace('dir = ".gatekeeper/cache"', ""))
    done = _check(victim, tmp_path / "ci-cache", "--only", "security", "--no-audit")
    assert done.returncode == 1
    assert _result(victim, "security")["metrics"]["cache_rejected"] == 0
    assert list((tmp_path / "ci-cache" / "gatekeeper" / "repos").glob("victim-*/security/*/*.json"))
    assert (tmp_path / "ci-cache" / "gatekeeper" / "secret.key").stat().st_mode & 0o777 == 0o600


def test_advisory_record_cache_entries_holding_null_do_not_drop_advisories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "osv"
    (db / "PyPI").mkdir(parents=True)
    record = {
        "id": "PYSEC-2019-217",
        "aliases": ["CVE-2019-10906"],
        "affected": [
            {
                "package": {"name": "jinja2", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}],
            }
        ],
    }
    (db / "PyPI" / "PYSEC-2019-217.json").write_text(json.dumps(record))
    folder = tmp_path / "tree-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker"))
    assert [m.id for m in open_database(db, folder).match([("jinja2", "2.10")])[0]] == ["PYSEC-2019-217"]
    secret = cache._secret()
    assert secret is not None
    entries = list((folder / "advisory-records").rglob("*.json"))
    assert len(entries) == 1
    for entry in entries:
        _forge(entry, secret, lambda p: {"record": None})
    assert open_database(db, folder).match([("jinja2", "2.10")])[0] == []  # the forgery works for its author

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "ci"))  # the CI job: another user, another secret
    victim = open_database(db, folder)
    assert [m.id for m in victim.match([("jinja2", "2.10")])[0]] == ["PYSEC-2019-217"]
    assert victim.describe()["cache_rejected"] == 2  # the record and the name index


CACHE_KEY = "c4che-key-of-the-ci-j0b-from-a-repository-secret"  # what the Action passes as GATEKEEPER_CACHE_KEY


def _gk(root: Path, cache_home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GATEKEEPER), *args], cwd=root, env=_env(cache_home, **env), capture_output=True, text=True, timeout=600
    )


def _restore(saved: Path, runner: Path) -> None:
    """What actions/cache does between two runs: the cache folder, and nothing else, copied to a fresh runner."""
    shutil.copytree(saved / "gatekeeper" / "repos", runner / "gatekeeper" / "repos")


def test_a_cache_restored_on_another_runner_is_reused_only_under_the_same_key(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", '[checks.security]\npaths = ["app.py"]\nexclude = []\n')
    first_runner = tmp_path / "runner-1"
    first = _check(root, first_runner, "--only", "security", "--no-audit", GATEKEEPER_CACHE_KEY=CACHE_KEY)
    assert first.returncode == 1, first.stdout + first.stderr
    folder = Path(_gk(root, first_runner, "cache", "dir").stdout.strip())
    assert folder.is_relative_to(first_runner / "gatekeeper" / "repos") and list((folder / "security").rglob("*.json"))
    assert not (first_runner / "gatekeeper" / "secret.key").exists()  # the key is never stored with the cache
    assert not any(CACHE_KEY.encode() in p.read_bytes() for p in first_runner.rglob("*") if p.is_file())

    def run(runner: str, **env: str) -> dict[str, Any]:
        _restore(first_runner, tmp_path / runner)
        done = _check(root, tmp_path / runner, "--only", "security", "--no-audit", **env)
        assert done.returncode == 1, done.stdout + done.stderr
        security = _result(root, "security")
        assert "B602" in {f["rule_id"] for f in security["findings"]}
        return dict(security["metrics"])

    same = run("runner-2", GATEKEEPER_CACHE_KEY=CACHE_KEY)
    assert (same["cached_files"], same["cache_rejected"]) == (1, 0)
    other = run("runner-3", GATEKEEPER_CACHE_KEY="another-key-" + "x" * 40)  # e.g. the secret was rotated
    assert (other["cached_files"], other["cache_rejected"]) == (0, 1)
    fork = run("runner-4")  # a fork's pull request gets no secrets: a fresh per-user secret, a cold run
    assert (fork["cached_files"], fork["cache_rejected"]) == (0, 1)

    short = _check(root, tmp_path / "runner-5", "--only", "security", "--no-audit", GATEKEEPER_CACHE_KEY="short")
    assert short.returncode == 2 and "GATEKEEPER_CACHE_KEY" in short.stderr and "at least 32" in short.stderr
    assert "Traceback" not in short.stderr
    assert _check(root, tmp_path / "runner-5", "--only", "security", "--no-cache", GATEKEEPER_CACHE_KEY="short").returncode == 1


def test_the_ci_cache_key_changes_with_the_policy_and_the_tool_versions(tmp_path: Path) -> None:
    from gatekeeper.cachekey import ci_key, key_material
    from gatekeeper.commands import load_checkers as _load_checkers
    from gatekeeper.policy import load_policy

    root = _project(tmp_path / "p", '[checks.security]\npaths = ["app.py"]\n')
    home = tmp_path / "home"
    first = _gk(root, home, "cache", "key")
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert _gk(root, home, "cache", "key").stdout.strip() == key  # stable
    material = json.loads(_gk(root, home, "cache", "key", "--json").stdout)
    assert material["key"] == key and key.startswith(f"py{sys.version.split()[0]}-gk")
    bandit = next(t["version"] for t in material["tools"] if t["name"] == "bandit")
    assert bandit == subprocess.run([PYTHON, "-m", "bandit", "--version"], capture_output=True, text=True).stdout.split()[1]

    (root / "gatekeeper.toml").write_text((root / "gatekeeper.toml").read_text() + 'fail_on_severity = "high"\n')
    changed = _gk(root, home, "cache", "key").stdout.strip()
    prefix = key.rpartition("-policy.")[0]
    assert changed != key and changed.startswith(prefix + "-policy.")  # same tools: the broader restore key still matches

    policy = load_policy(root, _load_checkers()[1], None)
    tools = {t["name"]: t["version"] for t in material["tools"]}
    assert ci_key(key_material(policy, tools)) == changed
    newer = ci_key(key_material(policy, {**tools, "bandit": "99.0"}))
    assert newer != changed and not newer.startswith(prefix)


def test_cache_entries_without_a_valid_mac_are_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    cache.write(folder, "k" * 64, {"results": ["a finding"]})
    assert cache.read(folder, "k" * 64) == ({"results": ["a finding"]}, False)
    entry = next(folder.rglob("*.json"))
    data = json.loads(entry.read_text())
    data["payload"] = {"results": []}
    entry.write_text(json.dumps(data))
    assert cache.read(folder, "k" * 64) == (None, True)
    # the old format: a plain sha256 of the payload, which anyone can compute
    plain = {"key": "k" * 64, "sha256": hashlib.sha256(b'{"results":[]}').hexdigest(), "payload": {"results": []}}
    entry.write_text(json.dumps(plain))
    assert cache.read(folder, "k" * 64) == (None, True)


def test_cache_entries_are_private_to_their_owner_and_written_whole(tmp_path: Path) -> None:
    """An entry (it may hold paths and findings) is readable by its owner only, and no temporary file stays."""
    folder = tmp_path / "c"
    cache.write(folder, "k" * 64, {"results": ["a finding"]})
    cache.write(folder, "k" * 64, {"results": ["another"]})
    entries = [p for p in folder.rglob("*") if p.is_file() and p.name != "secret.key"]
    assert [p.name for p in entries] == ["k" * 64 + ".json"]
    assert entries[0].stat().st_mode & 0o777 == 0o600
    assert cache.read(folder, "k" * 64) == ({"results": ["another"]}, False)


# --------------------------------------------------------------------------- coverage data


def test_a_planted_parallel_data_file_is_not_combined_with_run(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", '[checks.coverage]\nrun = ["pytest", "-q", "-p", "no:cacheprovider"]\nmin_total = 90\n')
    # the attacker's data: every line of app.py run (measured in a copy with a complete test)
    forger = tmp_path / "forger"
    shutil.copytree(root, forger)
    (forger / "test_app.py").write_text(
        "from app import half, run, unused\n\n\ndef test_all():\n    half(4)\n    half(-1)\n    unused(1)\n    run('true')\n"
    )
    subprocess.run([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=forger, check=True)
    planted = root / ".coverage.ci.1.x"
    shutil.copy(forger / ".coverage", planted)
    before = planted.read_bytes()
    _git(root, "add", "-f", planted.name)
    _git(root, "commit", "-qm", "data")
    done = _check(root, tmp_path / "cache", "--only", "coverage", "--no-audit")
    assert done.returncode == 1, done.stdout + done.stderr
    total = _result(root, "coverage")["metrics"]["total"]
    assert f"{total:.0f}" == _honest_total(root, tmp_path, planted.name) != "100"
    assert planted.read_bytes() == before and not (root / ".coverage").exists()


def test_coverage_data_tracked_by_git_is_refused_without_run(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "[checks.coverage]\nmin_total = 50\n")
    fake = {
        "meta": {"version": "7.6.1", "branch_coverage": False},
        "totals": {"percent_covered": 100.0, "percent_covered_display": "100", "num_statements": 9, "missing_lines": 0},
        "files": {},
    }
    (root / "coverage.json").write_text(json.dumps(fake))
    _git(root, "add", "coverage.json")
    _git(root, "commit", "-qm", "coverage")
    done = _check(root, tmp_path / "cache", "--only", "coverage", "--no-audit")
    assert done.returncode == 3, done.stdout
    assert "coverage data tracked by git was refused: coverage.json" in done.stdout
    assert "not produced by this CI job" in done.stdout
    # the same data file produced in the job (untracked) is read
    _git(root, "rm", "-q", "--cached", "coverage.json")
    _git(root, "commit", "-qm", "untrack")
    subprocess.run([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, check=True)
    subprocess.run([PYTHON, "-m", "coverage", "json", "-q"], cwd=root, check=True)
    (root / ".coverage").unlink()
    done = _check(root, tmp_path / "cache", "--only", "coverage", "--no-audit")
    assert done.returncode == 0, done.stdout
    assert _result(root, "coverage")["metrics"]["source"] == "coverage-json"


def test_committed_coverage_data_behind_a_link_or_copied_into_place_is_refused(tmp_path: Path) -> None:
    """data_file = "cov/coverage.json" where cov is a committed link to fixtures/, whose
    coverage.json is committed: git ls-files of the name as given lists nothing, and the forged
    100% passed. A copy of a committed file put in place (its very bytes) is refused too."""
    root = _project(tmp_path / "p", '[checks.coverage]\nmin_total = 100\ndata_file = "cov/coverage.json"\n')
    subprocess.run([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, check=True)
    subprocess.run([PYTHON, "-m", "coverage", "json", "-q", "-o", "real.json"], cwd=root, check=True)
    (root / ".coverage").unlink()
    data = json.loads((root / "real.json").read_text())
    (root / "real.json").unlink()
    for entry in data["files"].values():
        entry["summary"].update(percent_covered=100.0, percent_covered_display="100", missing_lines=0)
        entry["executed_lines"] = sorted(entry["executed_lines"] + entry["missing_lines"])
        entry["missing_lines"] = []
    data["totals"].update(percent_covered=100.0, percent_covered_display="100", missing_lines=0)
    (root / "fixtures").mkdir()
    (root / "fixtures" / "coverage.json").write_text(json.dumps(data))
    (root / "cov").symlink_to("fixtures")
    _git(root, "add", "fixtures/coverage.json", "cov")
    _git(root, "commit", "-qm", "fixtures")
    done = _check(root, tmp_path / "cache", "--only", "coverage", "--no-audit")
    assert done.returncode == 3, done.stdout
    assert "coverage data tracked by git was refused: fixtures/coverage.json" in done.stdout
    shutil.copy(root / "fixtures" / "coverage.json", root / "coverage.json")
    (root / "gatekeeper.toml").write_text((root / "gatekeeper.toml").read_text().replace("cov/coverage.json", "coverage.json"))
    _git(root, "commit", "-qam", "policy")
    done = _check(root, tmp_path / "cache", "--only", "coverage", "--no-audit")
    assert done.returncode == 3, done.stdout
    assert "refused: coverage.json (the bytes of fixtures/coverage.json)" in done.stdout


def test_parallel_data_without_run_is_combined_in_a_private_copy(tmp_path: Path) -> None:
    config = COVERAGE_CONFIG + "parallel = true\n"
    root = _project(tmp_path / "p", "[checks.coverage]\nmin_total = 0\n", config=config)
    subprocess.run([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, check=True)
    subprocess.run([PYTHON, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, check=True)
    users = sorted(p.name for p in root.glob(".coverage.*"))
    assert len(users) == 2 and not (root / ".coverage").exists()
    done = _check(root, tmp_path / "cache", "--only", "coverage", "--no-audit")
    assert done.returncode == 0, done.stdout
    metrics = _result(root, "coverage")["metrics"]
    assert metrics["data_file"] == ".coverage.* (2 parallel data files, combined)"
    assert sorted(p.name for p in root.glob(".coverage*")) == users  # the user's files, as they were
    assert f"{metrics['total']:.0f}" == _honest_total(root, tmp_path)

    # one of them committed: refused, with the reason
    _git(root, "add", "-f", users[0])
    _git(root, "commit", "-qm", "data")
    done = _check(root, tmp_path / "cache", "--only", "coverage", "--no-audit")
    assert done.returncode == 3 and f"tracked by git was refused: {users[0]}" in done.stdout


def test_missing_data_names_the_files_looked_for_and_what_run_printed(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "[checks.coverage]\nmin_total = 0\n")
    done = _check(root, tmp_path / "cache", "--only", "coverage", "--no-audit")
    assert done.returncode == 3
    assert "looked for .coverage, .coverage.* (parallel data), coverage.json, coverage.xml" in done.stdout

    (root / "gatekeeper.toml").write_text('[checks.coverage]\nrun = ["no_such_test_runner", "-q"]\nmin_total = 0\n')
    done = _check(root, tmp_path / "cache", "--only", "coverage", "--no-audit")
    assert done.returncode == 3, done.stdout
    text = done.stdout
    assert "the test command no_such_test_runner -q (checks.coverage.run) exited with 1" in text
    assert "wrote no coverage data" in text
    # the command's own error, on a line of its own (real newlines, marked as continuing the error)
    assert "\n    | No module named 'no_such_test_runner'" in text, text


# --------------------------------------------------------------------------- bandit configuration


def test_a_narrowing_bandit_config_is_reported_and_can_be_ignored(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", '[checks.security]\npaths = ["."]\nexclude = ["test_app.py"]\n')
    (root / "legacy").mkdir()
    shutil.move(root / "app.py", root / "legacy" / "app.py")
    (root / "ok.py").write_text("import pickle\n\n\ndef load(b):\n    return pickle.loads(b)  # nosec\n")
    (root / ".bandit").write_text("[bandit]\nexclude = ./legacy\nskips = B101\n")
    done = _check(root, tmp_path / "cache", "--only", "security", "--no-audit")
    assert done.returncode == 0, done.stdout  # honoured, as bandit would ...
    security = _result(root, "security")
    narrowed = {(n["kind"], n["source"], n["detail"]): n for n in security["narrowing"]}
    assert narrowed["exclude", ".bandit", "exclude = ./legacy"]["files"] == ["legacy/app.py"]
    assert ("rules", ".bandit", "skips = B101") in narrowed and ("config-file", ".bandit", "") in narrowed
    nosec = narrowed["line-comments", "ok.py", "1 × # nosec (line 5)"]
    assert nosec["suppressed"] == 1 and security["metrics"]["project_config"] == "honour"
    assert "project bandit config: 1 file excluded, skips B101, 1 # nosec honoured" in security["summary"]
    page = (root / "gatekeeper-reports" / "gatekeeper.html").read_text()  # ... but never silently
    assert "Narrowed by the project" in page and "<code>legacy/app.py</code>" in page
    assert "<code>1 × # nosec (line 5)</code>" in page

    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text() + 'project_config = "ignore"\n')
    done = _check(root, tmp_path / "cache", "--only", "security", "--no-audit")
    assert done.returncode == 1, done.stdout
    rules = {f["rule_id"] for f in _result(root, "security")["findings"]}
    assert {"B602", "B301"} <= rules  # the excluded file is scanned, the # nosec mark is not honoured

    (root / ".bandit").unlink()
    (root / "pyproject.toml").write_text('[tool.bandit]\nexclude_dirs = ["legacy"]\nskips = ["B602"]\n')
    done = _check(root, tmp_path / "cache", "--only", "security", "--no-audit")
    assert done.returncode == 1 and "B602" in {f["rule_id"] for f in _result(root, "security")["findings"]}
    policy.write_text(policy.read_text().replace('project_config = "ignore"\n', ""))
    done = _check(root, tmp_path / "cache", "--only", "security", "--no-audit")
    narrowed = {(n["kind"], n["detail"]): n for n in _result(root, "security")["narrowing"]}
    assert narrowed["config-file", ""]["source"] == "pyproject.toml" and ("rules", "skips = B602") in narrowed
    assert narrowed["exclude", "exclude = legacy"]["files"] == ["legacy/app.py"]
