"""The Action's check step (action/gate.sh): its verdict comes from this run's exit code and its own
fresh report, never from what the checkout committed; only this run's files are uploaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.cli import REPO
from tests.helpers.projects import only

SCRIPT = REPO / "action" / "gate.sh"
FORGED = {"verdict": "pass", "checks": [], "forged": True}


def _gate(cwd: Path, tmp_path: Path, **env: str) -> dict[str, str]:
    """Run gate.sh as the Action's step does; return what it wrote to $GITHUB_OUTPUT."""
    outputs = tmp_path / "github-output"
    outputs.write_text("")
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_", "GK_"))}
    full.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # the `gatekeeper` command
        GITHUB_OUTPUT=str(outputs),
        RUNNER_TEMP=str(tmp_path / "runner-temp"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        GK_PATH=".",
    )
    full.update(env)
    (tmp_path / "runner-temp").mkdir(exist_ok=True)
    done = subprocess.run(["bash", str(SCRIPT)], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(line.partition("=")[::2] for line in outputs.read_text().splitlines())


def _hostile_checkout(root: Path, elsewhere: Path) -> None:
    """A pull request's checkout: a committed report saying pass (SARIF and HTML beside it), and
    ``.gatekeeper`` a link out of the tree (so the real check stops with exit 2)."""
    root.mkdir()
    (root / "app.py").write_text("import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n")
    (root / "gatekeeper.toml").write_text(
        only("security").replace("[audit]\nenabled = false\n", "") + '[checks.security]\npaths = ["app.py"]\n'
    )
    committed = root / "gatekeeper-reports"
    committed.mkdir()
    (committed / "gatekeeper.json").write_text(json.dumps(FORGED))
    (committed / "gatekeeper.sarif").write_text('{"runs": []}')
    (committed / "gatekeeper.html").write_text("<p>all clear</p>")
    elsewhere.mkdir()
    (root / ".gatekeeper").symlink_to(elsewhere)


@pytest.mark.slow  # end to end: the Action's step runs gatekeeper check as a process
@pytest.mark.parametrize("output_dir", ["", "gatekeeper-reports"])
def test_a_committed_passing_report_is_never_this_runs_verdict(tmp_path: Path, output_dir: str) -> None:
    root = tmp_path / "checkout"
    _hostile_checkout(root, tmp_path / "elsewhere")
    got = _gate(root, tmp_path, GK_OUT=output_dir)
    assert (got["exit-code"], got["verdict"], got["sarif"]) == ("2", "error", "")  # the link stopped the check
    report_dir = Path(got["report-dir"])
    assert list(report_dir.iterdir()) == []  # nothing committed is uploaded as this run's output
    if output_dir:
        assert report_dir == (root / output_dir).resolve()  # emptied before the run
    else:
        assert tmp_path / "runner-temp" in report_dir.parents  # a fresh folder outside the checkout
        assert (root / "gatekeeper-reports" / "gatekeeper.json").read_text() == json.dumps(FORGED)
    assert list((tmp_path / "elsewhere").iterdir()) == []  # and nothing written through the link


@pytest.mark.slow  # end to end: the Action's step runs gatekeeper check as a process
def test_the_verdict_is_this_runs_own(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    _hostile_checkout(root, tmp_path / "elsewhere")
    (root / ".gatekeeper").unlink()
    got = _gate(root, tmp_path, GK_OUT="gatekeeper-reports")
    assert (got["exit-code"], got["verdict"]) == ("1", "fail")  # B602 in app.py, whatever was committed
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text())
    assert report["verdict"] == "fail" and "forged" not in report
    assert got["sarif"] == str((root / "gatekeeper-reports" / "gatekeeper.sarif").resolve())
    (root / "app.py").write_text("def add(a, b):\n    return a + b\n")
    got = _gate(root, tmp_path)
    assert (got["exit-code"], got["verdict"]) == ("0", "pass")
    assert json.loads((Path(got["report-dir"]) / "gatekeeper.json").read_text())["verdict"] == "pass"


@pytest.mark.slow  # end to end: the Action's step runs gatekeeper check as a process
def test_a_pass_its_own_report_does_not_confirm_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    _hostile_checkout(root, tmp_path / "elsewhere")
    (root / ".gatekeeper").unlink()
    (root / "app.py").write_text("x = 1\n")
    # --output-dir among the extra arguments sends the reports elsewhere: the folder gate.sh reads stays empty
    got = _gate(root, tmp_path, GK_ARGS=f"--output-dir {tmp_path / 'other'}")
    assert (got["exit-code"], got["verdict"]) == ("3", "error")


@pytest.mark.slow  # end to end: the Action's step runs gatekeeper check as a process
@pytest.mark.parametrize("where", ["link", "parent"])
def test_an_output_dir_it_must_not_empty_is_refused(tmp_path: Path, where: str) -> None:
    root = tmp_path / "checkout"
    _hostile_checkout(root, tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "keep.txt").write_text("not ours to delete")
    output_dir = ".gatekeeper/reports" if where == "link" else ".."
    got = _gate(root, tmp_path, GK_OUT=output_dir)
    assert (got["exit-code"], got["verdict"], got["report-dir"]) == ("2", "error", "")
    assert (tmp_path / "elsewhere" / "keep.txt").exists() and (root / "app.py").exists()


def test_the_action_runs_the_script_and_uploads_only_what_it_names() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    steps = {s.get("name"): s for s in action["runs"]["steps"]}
    assert steps["gatekeeper check"]["run"].strip() == 'exec bash "$ACTION_PATH/action/gate.sh"'
    sarif, reports = steps["Upload SARIF to code scanning"], steps["Upload reports"]
    assert sarif["with"]["sarif_file"] == "${{ steps.gate.outputs.sarif }}" and "steps.gate.outputs.sarif != ''" in sarif["if"]
    assert reports["with"]["path"] == "${{ steps.gate.outputs.report-dir }}"
    assert action["inputs"]["output-dir"]["default"] == ""


def _readme_merge_job() -> dict[str, dict[str, object]]:
    """The README's CI-matrix example: the verdict job's steps, by id or action."""
    readme = (REPO / "README.md").read_text()
    block = next(b for b in readme.split("```yaml")[1:] if "gatekeeper merge part-" in b).split("```")[0]
    steps = yaml.safe_load(block)["jobs"]["verdict"]["steps"]
    return {s.get("id") or s.get("uses", "").split("@")[0]: s for s in steps}


def _merge_step(work: Path, tmp_path: Path) -> tuple[int, dict[str, str]]:
    """Run the README's merge step as GitHub runs a `run:` step (bash -e); return its exit code and outputs."""
    script = tmp_path / "merge-step.sh"
    script.write_text(str(_readme_merge_job()["merge"]["run"]))
    outputs, temp = tmp_path / "github-output", tmp_path / "runner-temp"
    outputs.write_text("")
    temp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GATEKEEPER_", "GK_"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", GITHUB_OUTPUT=str(outputs))
    env.update(RUNNER_TEMP=str(temp), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run(["bash", "-e", str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, dict(line.partition("=")[::2] for line in outputs.read_text().splitlines())


@pytest.mark.slow
def test_the_readme_matrix_uploads_only_the_sarif_its_merge_wrote(tmp_path: Path) -> None:
    upload = _readme_merge_job()["github/codeql-action/upload-sarif"]
    assert upload["with"] == {"sarif_file": "${{ steps.merge.outputs.sarif }}"}
    assert "steps.merge.outputs.sarif != ''" in str(upload["if"])
    root = tmp_path / "checkout"
    _hostile_checkout(root, tmp_path / "elsewhere")
    (root / ".gatekeeper").unlink()
    for shard in (1, 2):
        subprocess.run(
            ["gatekeeper", "check", "--shard", f"{shard}/2", "--results-out", f"part-{shard}.json", "--no-audit"],
            cwd=root, env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
            capture_output=True, timeout=300,
        )  # fmt: skip
    (root / "part-2.json").rename(root / "held-back.json")  # a shard missing: merge refuses
    code, got = _merge_step(root, tmp_path)
    assert code == 2 and "sarif" not in got  # nothing to upload, and the committed SARIF is not offered
    assert list(Path(got["dir"]).iterdir()) == [] and tmp_path / "runner-temp" in Path(got["dir"]).parents
    (root / "held-back.json").rename(root / "part-2.json")
    code, got = _merge_step(root, tmp_path)
    assert code == 1  # the parts add up: B602 in app.py fails the merged verdict
    sarif = json.loads(Path(got["sarif"]).read_text())
    assert Path(got["sarif"]).parent == Path(got["dir"]) and sarif["runs"] and sarif != {"runs": []}


SHELL_CALL = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"
SECRET = "s" * 40


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _origin(tmp_path: Path) -> tuple[str, str, str]:
    """A bare origin (file:// URL): REF on main has one shell call; feature (two commits) adds a
    second; main moves on after feature branched. Returns the URL, REF and main's tip."""
    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q", "-b", "main")
    (src / "app.py").write_text(SHELL_CALL)
    (src / "gatekeeper.toml").write_text(only("security") + '[checks.security]\npaths = ["app.py"]\n')
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m"]
    _git(src, "add", "-A")
    _git(src, *commit, "REF")
    ref = _git(src, "rev-parse", "HEAD")
    _git(src, "checkout", "-q", "-b", "feature")
    (src / "app.py").write_text(SHELL_CALL + "\n\ndef other(cmd):\n    subprocess.run(cmd, shell=True)\n")
    _git(src, "add", "-A")
    _git(src, *commit, "a second shell call")
    (src / "notes.txt").write_text("more\n")
    _git(src, "add", "-A")
    _git(src, *commit, "notes")
    _git(src, "checkout", "-q", "main")
    (src / "README").write_text("main moves on\n")
    _git(src, "add", "-A")
    _git(src, *commit, "main moves on")
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(tmp_path / "origin.git")], check=True)
    return f"file://{tmp_path / 'origin.git'}", ref, _git(src, "rev-parse", "main")


def _workspace(tmp_path: Path, url: str, *clone: str) -> Path:
    """The runner's checkout, always at the same path (the cache folder is per checkout path), fresh."""
    work = tmp_path / "workspace"
    if work.exists():
        subprocess.run(["rm", "-rf", str(work)], check=True)
    subprocess.run(["git", "clone", "-q", *clone, url, str(work)], check=True)
    return work


def _security(report_dir: str) -> list[tuple[int, bool]]:
    checks = json.loads((Path(report_dir) / "gatekeeper.json").read_text())["checks"]
    return sorted((f["location"]["line"], f["blocking"]) for c in checks if c["name"] == "security" for f in c["findings"])


@pytest.mark.slow
def test_new_code_input_gates_a_pull_request_from_its_merge_base(tmp_path: Path) -> None:
    url, ref, tip = _origin(tmp_path)
    pr = {"GK_NEW_CODE": "merge-base", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_BASE_REF": "main"}
    cold, warm = {"XDG_CACHE_HOME": str(tmp_path / "cold")}, {"XDG_CACHE_HOME": str(tmp_path / "warm")}
    # a pull request's shallow checkout (actions/checkout's fetch-depth: 1): no base branch, no history
    work = _workspace(tmp_path, url, "--depth", "1", "--branch", "feature")
    got = _gate(work, tmp_path, GK_CACHE_SECRET=SECRET, **pr, **cold)
    assert (got["exit-code"], got["new-code-ref"], got["new-code-result"]) == ("1", ref, "worktree"), got
    assert ref != tip  # the merge-base, not the base branch's tip
    assert _git(work, "rev-parse", "--is-shallow-repository") == "false"
    # REF's B602 and import are existing; only the second shell call blocks
    assert [blocking for line, blocking in _security(got["report-dir"]) if blocking] == [True]
    blocking_when_cold = _security(got["report-dir"])

    # the push of REF to the default branch: a full run, whose result the cache keeps (and the Action saves)
    work = _workspace(tmp_path, url, "--branch", "main")
    _git(work, "checkout", "-q", "--detach", ref)
    push = {"GK_NEW_CODE": "merge-base", "GITHUB_EVENT_NAME": "push", "GITHUB_BASE_REF": ""}
    got = _gate(work, tmp_path, GK_CACHE_SECRET=SECRET, **push, **warm)
    assert (got["exit-code"], got["new-code-ref"], got["new-code-result"]) == ("1", "", "")  # the history fails in full
    # the pull request's job restores that cache: REF's result is read from it, same blocking
    work = _workspace(tmp_path, url, "--depth", "1", "--branch", "feature")
    got = _gate(work, tmp_path, GK_CACHE_SECRET=SECRET, **pr, **warm)
    assert (got["exit-code"], got["new-code-ref"], got["new-code-result"]) == ("1", ref, "stored"), got
    assert _security(got["report-dir"]) == blocking_when_cold


def test_new_code_input_refuses_what_is_not_a_ref(tmp_path: Path) -> None:
    url, _, _ = _origin(tmp_path)
    work = _workspace(tmp_path, url, "--depth", "1", "--branch", "feature")
    for bad in ({"GK_NEW_CODE": "--upload-pack=touch owned"}, {"GK_NEW_CODE": "merge-base", "GITHUB_BASE_REF": "main..x"}):
        got = _gate(work, tmp_path, **bad)
        assert (got["exit-code"], got["verdict"], got["new-code-ref"]) == ("2", "error", "")
    assert not (work / "owned").exists()
    # a branch of origin named as REF is fetched when the checkout lacks it
    got = _gate(work, tmp_path, GK_NEW_CODE="origin/main")
    assert got["exit-code"] == "1" and got["new-code-ref"] == _git(work, "rev-parse", "origin/main")


#: a test of the checkout's that walks up its process tree and keeps what each ancestor's environment
#: block (``/proc/PID/environ``, readable by any process of the same user) says of the two secrets
ANCESTORS = """
import os, sys


def test_ancestors():
    wanted = [bytes.fromhex(os.environ["LOOK_FOR_" + n]) for n in ("CACHE", "SIGNING")]  # not as they are
    pid, seen = os.getpid(), []
    while pid > 1:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            pid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        try:
            with open(f"/proc/{pid}/environ", "rb") as block:
                text = block.read()
        except OSError:
            continue
        seen += [f"{pid}: {w[:6].decode()}..." for w in wanted if w in text]
    with open(os.environ["LOOK_OUT"], "w") as out:
        out.write("\\n".join(seen))
"""


@pytest.mark.slow  # end to end: the Action's step runs gatekeeper check, and it runs the tests
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/PID/environ is Linux's")
def test_the_secrets_are_in_no_environment_block_the_tests_can_read(tmp_path: Path) -> None:
    """The step's shell is started with the secrets in its environment: the tests under
    checks.coverage.run, run by gatekeeper under it, find them in no ancestor's environment block,
    while gatekeeper still has both (the attestation is signed, the cache written)."""
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "test_ancestors.py").write_text(ANCESTORS)
    policy = only("coverage", extra='[checks.coverage]\nrun = ["pytest", "-q", "-p", "no:cacheprovider"]\nmin_total = 0\n')
    (root / "gatekeeper.toml").write_text(policy + f'[environment]\npython = "{sys.executable}"\n')
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    signing = "k" * 48
    look = {
        "LOOK_FOR_CACHE": SECRET.encode().hex(),
        "LOOK_FOR_SIGNING": signing.encode().hex(),
        "LOOK_OUT": str(tmp_path / "seen.txt"),
    }
    got = _gate(root, tmp_path, GK_CACHE_SECRET=SECRET, GK_SIGNING_KEY=signing, **look)
    assert (got["exit-code"], got["verdict"]) == ("0", "pass"), got
    assert (tmp_path / "seen.txt").read_text() == ""
    envelope = json.loads((Path(got["report-dir"]) / "gatekeeper.intoto.json").read_text())
    assert envelope["signatures"], "the signing key did not reach gatekeeper"
    assert list((tmp_path / "cache").rglob("*.json")), "the cache's secret did not reach gatekeeper"
