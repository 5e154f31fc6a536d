"""The secrets check runs the real detect-secrets over tracked files and never lets a secret out."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers import secrets as secrets_checker
from gatekeeper.checkers.secrets import SecretsChecker, launcher, scan
from gatekeeper.errors import ToolError, ToolMissing, ToolTimeout
from gatekeeper.findings import Status
from tests.helpers.projects import git_init, section, write

AWS = "AKIAZ7QPLM3XN5RTV2KD"
PASSWORD = "s3cr3t-Hunter2-Qx9vLw"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PROJECT = {
    "app/settings.py": f'DEBUG = False\npassword = "{PASSWORD}"\n',
    "deploy/aws.cfg": f"[default]\naws_access_key_id = {AWS}\n",
    "scripts/ci.sh": f"export GITHUB_TOKEN={GITHUB}\n",
    "app/allowed.py": f'api_key = "{PASSWORD}x"  # pragma: allowlist secret\n',
    "tests/fixtures/fake.py": f'token = "{GITHUB}"\n',
    "README.md": "Nothing to see.\n",
}


#: the detect-secrets filters the check turns off (they skip whole files by name or extension)
FILTERS_OFF = tuple(a for f in secrets_checker.FILE_FILTERS for a in ("--disable-filter", f))


def scan_by_hand(root: Path, *args: str) -> set[tuple[str, str, int]]:
    """``detect-secrets scan --no-verify`` in the work tree (git-tracked files), as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--no-verify", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    return {(r["type"], path, r["line_number"]) for path, items in results.items() for r in items}


def keys(result: Any) -> set[tuple[str, str, int]]:
    return {(f.rule_name, f.location.path, f.location.line) for f in result.findings}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write(tmp_path / "proj", PROJECT)
    git_init(root)
    write(root, {"untracked.env": f"AWS_KEY={AWS}\n"})  # not tracked: not scanned
    return root


@pytest.mark.parametrize("checks_at_once", [8, 1], ids=["one-process", "pool"])
def test_findings_equal_detect_secrets_run_by_hand_over_tracked_files(project: Path, make_ctx: Any, checks_at_once: int) -> None:
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(project, checks_at_once=checks_at_once))
    expected = scan_by_hand(project, *FILTERS_OFF)
    assert keys(result) == expected
    assert ("AWS Access Key", "deploy/aws.cfg", 2) in expected and ("GitHub Token", "scripts/ci.sh", 1) in expected
    assert not any(path in ("untracked.env", "app/allowed.py") for _, path, _ in expected)
    assert result.status is Status.FAIL and all(f.blocking for f in result.findings)
    assert all(set(f.properties) == {"secret_type", "cwe"} for f in result.findings)  # no hash of the secret
    (pragma,) = result.narrowing
    assert (pragma.kind, pragma.source, pragma.line, pragma.suppressed) == ("line-comments", "app/allowed.py", 1, 1)
    assert result.metrics["files_scanned"] == len(PROJECT) and result.metrics["files_not_scanned"] == 0


def test_no_secret_value_in_any_finding_field(project: Path, make_ctx: Any) -> None:
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(project))
    text = json.dumps([f.to_dict() for f in result.findings]) + json.dumps(dict(result.metrics)) + result.summary
    for secret in (AWS, PASSWORD, GITHUB, GITHUB[4:]):
        assert secret not in text


def test_exclude_and_plugins_narrow_the_scan_and_say_so(project: Path, make_ctx: Any) -> None:
    full = SecretsChecker().run(section(SecretsChecker), make_ctx(project))
    assert any(f.location.path.startswith("tests/") for f in full.findings)
    result = SecretsChecker().run(section(SecretsChecker, exclude=["tests/fixtures/*"]), make_ctx(project))
    assert not any(f.location.path.startswith("tests/") for f in result.findings)
    assert result.metrics["excluded_by_policy"] == {"count": 1, "exclude": ["tests/fixtures/*"]}
    only_aws = SecretsChecker().run(section(SecretsChecker, plugins=["AWSKeyDetector"]), make_ctx(project))
    disabled = [a for p in ("KeywordDetector", "GitHubTokenDetector") for a in ("--disable-plugin", p)]
    assert keys(only_aws) == {("AWS Access Key", "deploy/aws.cfg", 2)}
    assert ("AWS Access Key", "deploy/aws.cfg", 2) in scan_by_hand(project, *disabled, *FILTERS_OFF)
    with pytest.raises(ToolError, match="NoSuchDetector"):
        SecretsChecker().run(section(SecretsChecker, plugins=["NoSuchDetector"]), make_ctx(project))


def test_cache_holds_hashes_only_and_is_reused(project: Path, make_ctx: Any, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=cache))
    second = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=cache))
    assert second.metrics["cached_files"] == first.metrics["files_scanned"] and keys(second) == keys(first)
    stored = "".join(p.read_text(encoding="utf-8") for p in cache.rglob("*.json"))
    assert stored and all(secret not in stored for secret in (AWS, PASSWORD, GITHUB))


def test_fingerprints_survive_line_shifts(project: Path, make_ctx: Any) -> None:
    before = SecretsChecker().run(section(SecretsChecker), make_ctx(project))
    settings = project / "app/settings.py"
    settings.write_text("import os\n\n\n" + settings.read_text(encoding="utf-8"), encoding="utf-8")
    after = SecretsChecker().run(section(SecretsChecker), make_ctx(project))
    assert {f.fingerprint for f in before.findings} == {f.fingerprint for f in after.findings}


def test_shards_cover_every_file_once(project: Path, make_ctx: Any) -> None:
    whole = SecretsChecker().run(section(SecretsChecker), make_ctx(project))
    parts = [SecretsChecker().run(section(SecretsChecker), make_ctx(project, shard=(i, 2))) for i in (1, 2)]
    a, b = (set(p.metrics["shard"]["covered"]) for p in parts)
    assert a and b and not a & b and len(a | b) == whole.metrics["files_scanned"]
    assert keys(parts[0]) | keys(parts[1]) == keys(whole)


def test_outside_a_git_work_tree_is_an_error(tmp_path: Path, make_ctx: Any) -> None:
    root = write(tmp_path / "plain", {"a.py": "x = 1\n"})
    with pytest.raises(ToolError, match="git"):
        SecretsChecker().run(section(SecretsChecker), make_ctx(root))


def test_gatekeepers_own_detect_secrets_is_used_when_the_project_has_none(project: Path, make_ctx: Any, bare_python: str) -> None:
    (project / "gatekeeper.toml").write_text(f'[environment]\npython = "{bare_python}"\n', encoding="utf-8")
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(project))
    assert result.metrics["tool_source"] == "gatekeeper"
    assert keys(result) == scan_by_hand(project) and result.tool_version


def test_missing_detect_secrets_says_how_to_install(project: Path, make_ctx: Any, bare_python: str) -> None:
    (project / "gatekeeper.toml").write_text(f'[environment]\npython = "{bare_python}"\n', encoding="utf-8")
    with pytest.raises(ToolMissing, match=r"gatekeeper\[secrets\]"):
        SecretsChecker().run(section(SecretsChecker), make_ctx(project, tool_python=bare_python))


WORKER_RUN = "A detect-secrets worker:"  # in the worker's source, which is its -c argument
#: a stand-in worker's first steps: it says a version and takes the request, then does what it is told
HELLO = "import json, sys\nprint(json.dumps({'version': '1.5.0'}), flush=True)\nsys.stdin.readline()\n"


def _faulty(project: Path, tmp_path: Path, fault: str, make_ctx: Any, **ctx: Any) -> Any:
    """A context whose interpreter (project's and gatekeeper's) runs ``fault`` (shell, or Python
    after ``HELLO`` when it starts with "py:") in place of the worker."""
    if fault.startswith("py:"):
        (tmp_path / "fake_worker.py").write_text(HELLO + fault[3:] + "\n")
        fault = f"exec {sys.executable} {tmp_path / 'fake_worker.py'}"
    wrapper = tmp_path / "python-faulty"
    wrapper.write_text(f'#!/bin/sh\necho "$@" | grep -q -- "{WORKER_RUN}" && {{ {fault}; }}\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    (project / "gatekeeper.toml").write_text(f'[environment]\npython = "{wrapper}"\n', encoding="utf-8")
    return dataclasses.replace(make_ctx(project, tool_python=str(wrapper)), **ctx)


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("echo '<html>502</html>'; exit 0", ToolError, r"detect-secrets could not be started .*\(exit 0\): <html>502"),
        ("echo 'Traceback: boom' >&2; exit 1", ToolError, r"could not be started .*\(exit 1\): Traceback: boom"),
        ("exit 0", ToolError, r"could not be started .*\(exit 0\): no output"),
        ("py:raise SystemExit(3)", ToolError, r"detect-secrets failed \(exit 3\)"),
        ("py:print('{}')", ToolError, "not its JSON report"),
        ("py:print(json.dumps({'results': 7}))", ToolError, "not its JSON report"),
        ("py:print(json.dumps({'results': {'app/settings.py': [{'type': 'x'}]}}))", ToolError, "not its JSON report"),
        ("py:import os; os.kill(os.getpid(), 9)", ToolError, r"detect-secrets failed \(exit -9\)"),
        ("exec sleep 300", ToolTimeout, "did not start before the check's timeout"),
        ("py:import time; time.sleep(300)", ToolTimeout, "did not finish before the check's timeout"),
    ],
)
def test_a_worker_that_fails_hangs_or_prints_garbage_is_an_error_never_a_clean_scan(
    project: Path, make_ctx: Any, tmp_path: Path, fault: str, error: type[Exception], message: str
) -> None:
    ctx = _faulty(project, tmp_path, fault, make_ctx, deadline=time.monotonic() + 8)
    t0 = time.monotonic()
    with pytest.raises(error, match=message):
        SecretsChecker().run(section(SecretsChecker), ctx)
    assert time.monotonic() - t0 < 30


def test_a_failed_scan_says_what_was_raised_never_its_message(project: Path, make_ctx: Any, tmp_path: Path) -> None:
    quoting = f"raise RuntimeError('while scanning a simple key in line 2: password: {PASSWORD}')"
    ctx = _faulty(project, tmp_path, "py:" + quoting, make_ctx, deadline=time.monotonic() + 20)
    with pytest.raises(ToolError, match=r"detect-secrets failed \(exit 1\): it raised RuntimeError") as raised:
        SecretsChecker().run(section(SecretsChecker), ctx)
    assert PASSWORD not in str(raised.value)


#: a YAML file detect-secrets 1.5 cannot scan: its YAML transformer recurses once per level
DEEP_YAML = "key:\n  " + "- " * 1000 + "\n"


@pytest.mark.parametrize("checks_at_once", [8, 1], ids=["one-process", "pool"])
def test_files_detect_secrets_fails_on_are_named_and_the_check_cannot_pass(
    project: Path, make_ctx: Any, checks_at_once: int
) -> None:
    write(project, {"data/deep.yaml": DEEP_YAML, "data/deeper.yml": DEEP_YAML + f"password: {PASSWORD}\n"})
    git_init(project)
    by_hand = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--no-verify", "data/deep.yaml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert by_hand.returncode != 0 and "RecursionError" in by_hand.stderr  # the tool itself fails on it
    with pytest.raises(ToolError) as failed:
        SecretsChecker().run(section(SecretsChecker), make_ctx(project, checks_at_once=checks_at_once))
    message = str(failed.value)
    assert "on 2 tracked files: data/deep.yaml (RecursionError), data/deeper.yml (RecursionError)" in message
    assert 'checks.secrets.exclude = ["data/deep.yaml", "data/deeper.yml"]' in message
    assert PASSWORD not in message and "app/settings.py" not in message  # the files it did scan are not blamed
    # leaving them out, as the message says, scans the rest: the same findings as before they were added
    result = SecretsChecker().run(
        section(SecretsChecker, exclude=["data/deep.yaml", "data/deeper.yml"]), make_ctx(project, checks_at_once=checks_at_once)
    )
    assert keys(result) == scan_by_hand(project, *FILTERS_OFF, "--exclude-files", "^data/")
    assert result.metrics["excluded_by_policy"]["count"] == 2


def test_every_batch_after_the_workers_first_is_scanned_by_a_process_of_its_own(
    project: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "MAX_FILES_PER_RUN", 2)
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(project))
    assert keys(result) == scan_by_hand(project) and result.metrics["files_scanned"] == len(PROJECT)


def test_the_process_pool_is_left_out_only_beside_other_checks_and_below_the_size_limit(
    project: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []
    real = launcher._request

    def spy(args: Any, serial: bool) -> bytes:
        asked.append(serial)
        return real(args, serial)

    monkeypatch.setattr(launcher, "_request", spy)
    alone = SecretsChecker().run(section(SecretsChecker), make_ctx(project))
    assert asked and not any(asked)
    asked.clear()
    beside = SecretsChecker().run(section(SecretsChecker), make_ctx(project, checks_at_once=8))
    assert asked and all(asked)
    asked.clear()
    monkeypatch.setattr(scan, "SERIAL_BELOW_BYTES", 10)  # every batch is larger
    large = SecretsChecker().run(section(SecretsChecker), make_ctx(project, checks_at_once=8))
    assert asked and not any(asked)
    dicts = [[f.to_dict() for f in result.findings] for result in (alone, beside, large)]
    assert dicts[0] == dicts[1] == dicts[2] and dicts[0]


def test_detect_secrets_is_handed_the_largest_files_first(tmp_path: Path, make_ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its process pool hands the files out in the order named, one at a time: a large file named
    last (click's uv.lock, the costliest of its files to scan, is its last tracked file) left one
    process scanning it alone after the others had run out of files. The findings do not change."""
    files = {**PROJECT, "zz/big.txt": "nothing secret here\n" * 4000, "app/mid.txt": "plain words\n" * 500}
    root = write(tmp_path / "proj", files)
    git_init(root)
    asked: list[list[str]] = []
    real = launcher._request

    def spy(args: Any, serial: bool) -> bytes:
        asked.append([str(a) for a in args])
        return real(args, serial)

    monkeypatch.setattr(launcher, "_request", spy)
    result = SecretsChecker().run(section(SecretsChecker), make_ctx(root))
    named = [a for a in asked[0] if a in files]
    assert named[:2] == ["zz/big.txt", "app/mid.txt"] and sorted(named) == sorted(files)
    sizes = [(root / f).stat().st_size for f in named]
    assert sizes == sorted(sizes, reverse=True)
    assert keys(result) == scan_by_hand(root) and result.metrics["files_scanned"] == len(files)


def _tool_processes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every process the check starts from now on (argument lists), each still really started."""
    from gatekeeper import process

    started: list[list[str]] = []
    real_run, real_spawn = process.run, process.spawn

    def run(args: Any, **kwargs: Any) -> Any:
        started.append([str(a) for a in args])
        return real_run(args, **kwargs)

    def spawn(args: Any, **kwargs: Any) -> Any:
        started.append([str(a) for a in args])
        return real_spawn(args, **kwargs)

    monkeypatch.setattr(process, "run", run)
    monkeypatch.setattr(process, "spawn", spawn)
    return started


def _same_result(a: Any, b: Any) -> None:
    assert (a.status, a.summary, a.tool_name, a.tool_version, a.findings, a.narrowing) == (
        b.status,
        b.summary,
        b.tool_name,
        b.tool_version,
        b.findings,
        b.narrowing,
    )
    drop = ("cached_files", "cache_rejected")
    assert {k: v for k, v in a.metrics.items() if k not in drop} == {k: v for k, v in b.metrics.items() if k not in drop}


def test_a_warm_run_starts_no_detect_secrets_and_reports_the_same(
    project: Path, make_ctx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cold = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=cache))
    started = _tool_processes(monkeypatch)
    warm = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=cache))
    assert not [a for a in started if any("detect_secrets" in p or "detect-secrets" in p for p in a)]
    _same_result(warm, cold)
    assert warm.metrics["cached_files"] == cold.metrics["files_scanned"] > 0 and warm.tool_version == cold.tool_version
    assert any(n.suppressed for n in warm.narrowing)  # the pragma's hidden secret, from the cache

    settings = project / "app/settings.py"  # one changed file: detect-secrets runs, on that file only
    settings.write_text(settings.read_text(encoding="utf-8") + f'OTHER = "{GITHUB}"\n', encoding="utf-8")
    changed = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=cache))
    assert [a for a in started if any("detect_secrets" in p for p in a)]
    assert changed.metrics["cached_files"] == cold.metrics["files_scanned"] - 1
    assert keys(changed) == keys(SecretsChecker().run(section(SecretsChecker), make_ctx(project)))
    assert ("GitHub Token", "app/settings.py", 3) in keys(changed)


def test_a_forged_version_entry_is_not_believed(project: Path, make_ctx: Any, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=cache))
    for entry in (cache / "secrets").rglob("*.json"):  # every entry, the tool's version among them, edited
        data = json.loads(entry.read_text(encoding="utf-8"))
        if isinstance(data.get("payload"), dict):
            data["payload"]["version"] = "9.9.9"
        else:  # a forged finding-free result, or one more finding
            data["payload"] = [] if data["payload"] else [{"type": "Secret Keyword", "line_number": 1}]
        entry.write_text(json.dumps(data), encoding="utf-8")
    again = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=cache))
    assert again.tool_version == cold.tool_version and keys(again) == keys(cold)
    assert again.metrics["cached_files"] == 0 and again.metrics["cache_rejected"] == cold.metrics["files_scanned"]


def test_the_plugin_list_is_asked_once_per_detect_secrets(
    project: Path, make_ctx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    only_aws = section(SecretsChecker, plugins=["AWSKeyDetector"])
    cold = SecretsChecker().run(only_aws, make_ctx(project, cache_dir=cache))
    started = _tool_processes(monkeypatch)
    warm = SecretsChecker().run(only_aws, make_ctx(project, cache_dir=cache))
    assert not [a for a in started if any("detect_secrets" in p for p in a)]
    _same_result(warm, cold)
    assert keys(warm) == {("AWS Access Key", "deploy/aws.cfg", 2)} and "--disable-plugin" in warm.metrics["command"]
    with pytest.raises(ToolError, match="NoSuchDetector"):  # checked against the cached list too
        SecretsChecker().run(section(SecretsChecker, plugins=["NoSuchDetector"]), make_ctx(project, cache_dir=cache))


def test_a_cached_version_the_started_tool_contradicts_is_replaced(project: Path, make_ctx: Any, tmp_path: Path) -> None:
    from gatekeeper.checkers import cache as entries

    folder = tmp_path / "cache"
    cold = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=folder))
    (hello,) = [e for e in (folder / "secrets").rglob("*.json") if "version" in json.loads(e.read_text())["payload"]]
    key = json.loads(hello.read_text())["key"]
    entries.write(folder / "secrets", key, {"version": "0.0.1", "lenient": True})  # a valid entry the tool contradicts
    settings = project / "app/settings.py"
    settings.write_text(settings.read_text(encoding="utf-8") + f'OTHER = "{GITHUB}"\n', encoding="utf-8")
    again = SecretsChecker().run(section(SecretsChecker), make_ctx(project, cache_dir=folder))
    # the changed file started detect-secrets; its own version decided the keys: the rest came from the cache
    assert again.tool_version == cold.tool_version != "0.0.1"
    assert again.metrics["cached_files"] == cold.metrics["files_scanned"] - 1
    assert keys(again) == keys(SecretsChecker().run(section(SecretsChecker), make_ctx(project)))
    assert ("GitHub Token", "app/settings.py", 3) in keys(again)
    assert json.loads(hello.read_text())["payload"]["version"] == cold.tool_version


def _git(root: Path, *args: str) -> None:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "protocol.file.allow=always"]
    subprocess.run(["git", *ident, *args], cwd=root, check=True, capture_output=True, timeout=60)


def test_the_files_of_a_checked_out_submodule_are_scanned(tmp_path: Path, make_ctx: Any) -> None:
    # a vendored library kept as a git submodule: `git ls-files` (and detect-secrets' own file
    # discovery) lists only its folder's gitlink, while ruff and bandit walk into it
    lib = write(tmp_path / "lib", {"keys.py": f'AWS_KEY = "{AWS}"\n', "README.md": "a library\n"})
    _git(lib, "init", "-q")
    _git(lib, "add", "-A")
    _git(lib, "commit", "-qm", "lib")
    root = write(tmp_path / "proj", {"app.py": "print('hi')\n"})
    _git(root, "init", "-q")
    _git(root, "submodule", "-q", "add", str(lib), "vendor/lib")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "app")
    assert scan_by_hand(root, *FILTERS_OFF) == set()  # detect-secrets' discovery misses it

    result = SecretsChecker().run(section(SecretsChecker), make_ctx(root))

    listed = subprocess.run(
        ["git", "ls-files", "--recurse-submodules"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    expected = {(t, p, n) for t, p, n in scan_by_hand(root, *FILTERS_OFF, *listed)}
    assert keys(result) == expected == {("AWS Access Key", "vendor/lib/keys.py", 1)}
    assert result.status is Status.FAIL
    assert result.metrics["files_scanned"] == 4  # app.py, .gitmodules and the library's two files


def test_a_tracked_file_whose_name_is_not_utf8_is_named_and_the_check_cannot_pass(project: Path, make_ctx: Any) -> None:
    """git's listing is read as UTF-8: such a name came back with U+FFFD in place of its bytes, a
    name no file has, and the file was left out without a word while detect-secrets finds its secret."""
    Path(os.fsdecode(os.fsencode(project) + b"/app/caf\xe9.py")).write_bytes(f'password = "{PASSWORD}"\n'.encode())
    git_init(project)
    assert scan_by_hand(project, "app/caf\udce9.py") == {("Secret Keyword", "app/caf\udce9.py", 1)}
    with pytest.raises(ToolError) as failed:
        SecretsChecker().run(section(SecretsChecker), make_ctx(project))
    message = str(failed.value)
    assert "1 tracked file(s) whose names are not UTF-8 (app/caf\\xe9.py)" in message and PASSWORD not in message
    assert 'checks.secrets.exclude = ["app/caf\\\\xe9.py"]' in message
    # left out as the message says (reviewed by hand): the rest is scanned, and the file is counted as left out
    result = SecretsChecker().run(section(SecretsChecker, exclude=["app/caf\\xe9.py"]), make_ctx(project))
    assert keys(result) == {k for k in scan_by_hand(project, *FILTERS_OFF) if k[1] != "app/caf\udce9.py"}
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=project, capture_output=True, check=True).stdout.count(b"\0")
    assert result.metrics["excluded_by_policy"]["count"] == 1 and result.metrics["files_scanned"] == tracked - 1


def test_a_file_whose_name_is_not_utf8_beside_one_named_with_u_fffd_is_not_scanned_as_that_one(
    project: Path, make_ctx: Any
) -> None:
    """git lists both under the one name ``app/caf\ufffd.py``, which exists: that clean file was
    scanned in place of both, and the secret in the other was never looked at."""
    (project / "app" / "caf\ufffd.py").write_text("x = 1\n")
    Path(os.fsdecode(os.fsencode(project) + b"/app/caf\xe9.py")).write_bytes(f'password = "{PASSWORD}"\n'.encode())
    git_init(project)
    assert ("Secret Keyword", "app/caf\udce9.py", 1) in scan_by_hand(project, "app/caf\udce9.py")
    with pytest.raises(ToolError, match=r"1 tracked file\(s\) whose names are not UTF-8 \(app/caf\\xe9\.py\)"):
        SecretsChecker().run(section(SecretsChecker), make_ctx(project))
