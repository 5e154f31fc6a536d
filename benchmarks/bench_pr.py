"""The pull-request case in CI: a cache restored from the base branch, one file changed.

    python benchmarks/bench_pr.py                       # 5 rounds, ~15 min on 2 busy cores
    python benchmarks/bench_pr.py --runs 3 --workdir /tmp/gk-pr --sdists DIR

The tree: the Python files of the package folders (``django/``, ``src/flask/``, ...; 1,028
files) in the sdists of Django 2.2.28, Flask 2.3.3, Werkzeug 2.3.8, Jinja2 3.1.4, requests 2.32.3,
urllib3 2.2.3, sqlparse 0.5.1 and click 8.1.7 (``pip download --no-binary :all: --no-deps``, or
the archives already in ``--sdists``), side by side in one git work tree. The policy enables the
checks that read the tree file by file: security (bandit), lint (ruff) and secrets
(detect-secrets), every report format, no audit log.

Each round, as a CI runner would see it (every run in a fresh ``XDG_CACHE_HOME``, the same
``GATEKEEPER_CACHE_KEY`` a repository secret would give):

1. **cold**: the base tree, empty cache (the base branch's first run); its cache folder
   (``gatekeeper cache dir``) is then saved, as ``actions/cache/save`` would;
2. **pull request**: one file changed (a function with a bandit, a ruff and a detect-secrets
   finding appended to ``click/core.py``), the saved folder copied into a fresh cache home (what
   ``actions/cache/restore`` does; the copy is not timed, it is a separate CI step), then ``check``;
3. **reference**: the changed tree again, empty cache: a cold run. The script stops unless its
   findings equal the pull-request run's (rule, path, line, fingerprint, message, severity,
   blocking, check), and unless the pull-request run scanned exactly one file per check.

The table gives the median of the rounds with min and max, and the ratio pull request / cold per
round (paired). Target: at most 0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

#: sdist -> the package folder inside it whose Python files make up the tree
SDISTS = {
    "Django==2.2.28": "django",
    "flask==2.3.3": "src/flask",
    "werkzeug==2.3.8": "src/werkzeug",
    "jinja2==3.1.4": "src/jinja2",
    "requests==2.32.3": "src/requests",
    "urllib3==2.2.3": "src/urllib3",
    "sqlparse==0.5.1": "sqlparse",
    "click==8.1.7": "src/click",
}
CHANGED = "click/core.py"
CHANGE = (
    "\n\ndef _bench_pr_change(cmd):\n    import subprocess\n"
    '    token = "AKIAZ7QPLM3XN5RTV2KD"\n    return subprocess.call(cmd, shell=True), token\n'
)
CACHE_KEY = "bench-pr-" + "0123456789abcdef" * 3  # what a repository secret would hold
PER_FILE = ("security", "lint", "secrets")
POLICY = """\
[reports]
formats = ["json", "sarif", "html", "markdown", "junit"]
[audit]
enabled = false
[checks.coverage]
enabled = false
[checks.dependencies]
enabled = false
[checks.sbom]
enabled = false
[checks.licenses]
enabled = false
[checks.security]
paths = ["."]
exclude = []
[checks.lint]
enabled = true
[checks.secrets]
enabled = true
"""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def prepare(work: Path, sdists: Path | None) -> Path:
    """Unpack the eight sdists into ``work/tree`` (a git work tree with a policy); return it."""
    archives = work / "sdists"
    archives.mkdir(parents=True, exist_ok=True)
    if sdists is not None:
        for path in sdists.glob("*.tar.gz"):
            if path.resolve() != (archives / path.name).resolve():  # --sdists may be the workdir's own folder
                shutil.copy(path, archives / path.name)
    tree = work / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir()
    for spec, package in SDISTS.items():
        dist, version = spec.split("==")
        found = [p for p in archives.glob("*.tar.gz") if p.name.lower() == f"{dist.lower()}-{version}.tar.gz"]
        if not found:
            log(f"downloading {spec}")
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", spec, "-d", str(archives)]
            subprocess.run(cmd, check=True)
            found = [p for p in archives.glob("*.tar.gz") if p.name.lower() == f"{dist.lower()}-{version}.tar.gz"]
        with tarfile.open(found[0]) as tar:
            tar.extractall(work / "unpacked", filter="data")
        source = work / "unpacked" / found[0].name[: -len(".tar.gz")] / package
        for py in source.rglob("*.py"):  # the Python files only (no docs, tests or translations)
            target = tree / Path(package).name / py.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(py, target)
        shutil.rmtree(work / "unpacked")
    (tree / "gatekeeper.toml").write_text(POLICY)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tree, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tree, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tree, check=True)
    return tree


def gatekeeper(tree: Path, cache_home: Path, out: str, *extra: str) -> tuple[float, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEKEEPER_", "GITHUB_", "COVERAGE_"))}
    env.update({"XDG_CACHE_HOME": str(cache_home), "GATEKEEPER_CACHE_KEY": CACHE_KEY, "NO_COLOR": "1"})
    exe = str(Path(sys.executable).with_name("gatekeeper"))
    t0 = time.perf_counter()
    done = subprocess.run([exe, *extra, ".", "--output-dir", out], cwd=tree, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"gatekeeper exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    data: dict[str, Any] = json.loads((tree / out / "gatekeeper.json").read_text())
    return took, data


def findings(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    out = []
    for check in data["checks"]:
        for f in check["findings"]:
            loc = f["location"] or {}
            out.append(
                (
                    check["name"],
                    f["rule_id"],
                    loc.get("path"),
                    loc.get("line"),
                    f["fingerprint"],
                    f["message"],
                    f["severity"],
                    f["blocking"],
                )
            )
    return sorted(out)


def cache_dir(tree: Path, cache_home: Path) -> Path:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    exe = str(Path(sys.executable).with_name("gatekeeper"))
    done = subprocess.run([exe, "cache", "dir", "."], cwd=tree, env=env, capture_output=True, text=True, check=True)
    return Path(done.stdout.strip())


def fmt(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "gatekeeper-bench-pr")
    parser.add_argument("--sdists", type=Path, default=None, help="a folder already holding the eight .tar.gz")
    args = parser.parse_args()
    work = args.workdir.resolve()
    tree = prepare(work, args.sdists)
    files = sum(1 for p in tree.rglob("*.py"))
    original = (tree / CHANGED).read_bytes()
    loads = [os.getloadavg()]
    cold_s: list[float] = []
    pr_s: list[float] = []
    ref_s: list[float] = []
    ratios: list[float] = []
    counts: dict[str, Any] = {}
    for r in range(1, args.runs + 1):
        homes = {name: work / f"runner-{r}-{name}" for name in ("cold", "pr", "ref")}
        for home in homes.values():
            shutil.rmtree(home, ignore_errors=True)
        (tree / CHANGED).write_bytes(original)
        took, base = gatekeeper(tree, homes["cold"], "reports-cold", "check")
        cold_s.append(took)
        saved = cache_dir(tree, homes["cold"])  # actions/cache/save ...
        restored = cache_dir(tree, homes["pr"])
        shutil.copytree(saved, restored)  # ... and actions/cache/restore on the next runner
        (tree / CHANGED).write_bytes(original + CHANGE.encode())
        took, pr = gatekeeper(tree, homes["pr"], "reports-pr", "check")
        pr_s.append(took)
        took, ref = gatekeeper(tree, homes["ref"], "reports-ref", "check")
        ref_s.append(took)
        ratios.append(pr_s[-1] / cold_s[-1])
        if findings(pr) != findings(ref):
            raise SystemExit("the pull-request run's findings differ from a cold run's on the same tree")
        metrics = {c["name"]: c["metrics"] for c in pr["checks"]}
        scanned = {
            n: metrics[n].get("files_scanned", metrics[n].get("files_checked", 0)) - metrics[n]["cached_files"] for n in PER_FILE
        }
        if scanned != dict.fromkeys(PER_FILE, 1) or any(metrics[n]["cache_rejected"] for n in PER_FILE):
            raise SystemExit(f"the pull-request run rescanned {scanned} files (expected 1 per check)")
        counts = {
            "base findings": len(findings(base)),
            "changed-tree findings": len(findings(pr)),
            "files per check": {n: metrics[n].get("files_scanned", metrics[n].get("files_checked")) for n in PER_FILE},
        }
        loads.append(os.getloadavg())
        log(
            f"round {r}: cold {cold_s[-1]:.1f} s, pull request {pr_s[-1]:.1f} s ({ratios[-1]:.3f}), "
            f"reference cold {ref_s[-1]:.1f} s"
        )
        for home in homes.values():
            shutil.rmtree(home, ignore_errors=True)
    (tree / CHANGED).write_bytes(original)

    print(f"# gatekeeper pull-request benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"# tree: the packages of {', '.join(SDISTS)}: {files:,} .py files; {counts}")
    print(f"# load average (1, 5, 15 min) from {loads[0]} to {loads[-1]}")
    print(f"| measurement (median of {args.runs}, min–max) | value |")
    print("|---|---:|")
    print(f"| cold, base tree, empty cache (s) | {fmt(cold_s, 1)} |")
    print(f"| pull request: cache restored, 1 file changed (s) | {fmt(pr_s, 1)} |")
    print(f"| reference: cold on the changed tree (s) | {fmt(ref_s, 1)} |")
    print(f"| ratio pull request / cold (paired per round) | {fmt(ratios, 3)} |")
    print("| files rescanned by the pull-request run, per check | 1 (security, lint, secrets) |")
    print("| findings of the pull-request run = cold run on the changed tree | yes (asserted every round) |")
    worst = statistics.median(ratios)
    print(f"# target: pull request <= 0.1 x cold: {'met' if worst <= 0.1 else 'NOT met'} (median {worst:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
