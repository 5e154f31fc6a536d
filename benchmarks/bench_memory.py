"""Peak resident memory of ``gatekeeper check`` (and of ``gatekeeper report``) with 100,000 findings.

    python benchmarks/bench_memory.py                     # 500 files x 200 findings, ~2-4 min
    python benchmarks/bench_memory.py --files 50 --per-file 100 --workdir /tmp/gk-mem

A real tree, scanned by the real bandit: ``--files`` Python modules, each with ``--per-file``
findings of four kinds (``assert`` B101 low, ``subprocess`` with ``shell=True`` B602 high,
``eval`` B307 medium, ``pickle.loads`` B301 medium; plus the imports bandit flags once per file).
The policy enables the security check alone, every report format and the audit log. Three runs:

* ``check --no-cache``: cold, bandit's processes included;
* ``check``, twice: the first fills the cache, the second (measured) reads every file's result
  from it, so the figure is gatekeeper's own (no bandit process runs);
* ``report gatekeeper.json --format json,sarif,html,markdown,junit``: rendering every format from
  the JSON result alone.

Each run is wrapped so that, as it exits, it records ``getrusage(RUSAGE_SELF).ru_maxrss`` (the
gatekeeper process's peak) and ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the peak of its largest
child, e.g. one bandit process: Linux reports the largest, not the sum). Linux charges a child,
at ``exec``, with the resident size of the process it was started from, so the children's figure
is never below gatekeeper's own size when it started them: it bounds bandit's peak from above.
Target: at most 300 MB, and the HTML report at most 15 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: runs gatekeeper's CLI in this process and records the peaks as it exits
WRAPPER = """
import atexit, json, resource, sys
out = sys.argv[1]
def record():
    with open(out, "w") as fh:
        json.dump({"self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, fh)
atexit.register(record)
sys.argv = ["gatekeeper", *sys.argv[2:]]
from gatekeeper.cli import run
run()
"""

BLOCK = """\
def f{i}(data, cmd):
    assert data, "{i}"
    subprocess.call(cmd, shell=True)
    value = eval(data)
    return pickle.loads(value)


"""


def make_tree(root: Path, files: int, per_file: int) -> int:
    """Write the tree; return how many findings bandit should report."""
    if root.exists():
        shutil.rmtree(root)
    (root / "pkg").mkdir(parents=True)
    blocks = per_file // 4
    for n in range(files):
        body = "import pickle\nimport subprocess\n\n\n" + "".join(BLOCK.format(i=i) for i in range(blocks))
        (root / "pkg" / f"mod{n:04d}.py").write_text(body)
    policy = (
        '[reports]\nformats = ["json", "sarif", "html", "markdown", "junit"]\n'
        "[checks.coverage]\nenabled = false\n[checks.dependencies]\nenabled = false\n"
        "[checks.sbom]\nenabled = false\n[checks.licenses]\nenabled = false\n"
        '[checks.security]\npaths = ["pkg"]\nexclude = []\n'
    )
    (root / "gatekeeper.toml").write_text(policy)
    return files * (blocks * 4 + 2)  # the two imports (B403, B404) once per file


def measured(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, dict[str, int], int]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-I", "-c", WRAPPER, str(out), *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    took = time.monotonic() - t0
    if done.returncode not in (0, 1):
        sys.exit(f"gatekeeper {' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    peaks: dict[str, int] = json.loads(out.read_text())
    out.unlink()
    return took, peaks, done.returncode


def count_findings(path: Path) -> int:
    """The findings in a JSON result, counted in a child process: Linux charges every later child,
    at ``exec``, with this process's peak, so this process must never hold a 100 MB document."""
    code = "import json, sys; print(sum(len(c['findings']) for c in json.load(open(sys.argv[1]))['checks']))"
    return int(subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--per-file", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "gatekeeper-bench-memory")
    args = parser.parse_args()
    root = args.workdir / "tree"
    expected = make_tree(root, args.files, args.per_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEKEEPER_", "GITHUB_", "COVERAGE_"))}
    env.update({"XDG_CACHE_HOME": str(args.workdir / "cache"), "NO_COLOR": "1"})
    shutil.rmtree(args.workdir / "cache", ignore_errors=True)
    print(f"# gatekeeper memory benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, load average {os.getloadavg()}")
    print(f"# tree: {args.files} files x {args.per_file // 4 * 4 + 2} findings = {expected:,} expected")
    rows = []
    check = ["check", ".", "--output-dir", "reports"]
    took, peaks, code = measured([*check, "--no-cache"], root, env)
    found = count_findings(root / "reports" / "gatekeeper.json")
    rows.append(("check, cold (--no-cache)", took, peaks))
    measured(check, root, env)  # fills the cache
    took, peaks, _ = measured(check, root, env)
    rows.append(("check, every file cached", took, peaks))
    took, peaks, _ = measured(["report", "reports/gatekeeper.json", "--output-dir", "rerendered"], root, env)
    rows.append(("report, every format from the JSON", took, peaks))
    print(f"# findings: {found:,} (exit {code})")
    print("| run | wall s | gatekeeper peak RSS MB | largest child peak RSS MB (at most) |")
    print("|---|---:|---:|---:|")
    for name, took, peaks in rows:
        child = f"{peaks['children_kb'] / 1024:.0f}" if peaks["children_kb"] else "—"
        print(f"| {name} | {took:.1f} | {peaks['self_kb'] / 1024:.0f} | {child} |")
    sizes = {p.name: p.stat().st_size for p in sorted((root / "reports").iterdir())}
    print("| report | MB |\n|---|---:|")
    for name, size in sizes.items():
        print(f"| {name} | {size / 1e6:.1f} |")
    worst = max(max(p["self_kb"], p["children_kb"]) for _, _, p in rows) / 1024
    html = sizes.get("gatekeeper.html", 0) / 1e6
    print(
        f"# peak {worst:.0f} MB (target <= 300): {'met' if worst <= 300 else 'NOT met'}; "
        f"HTML {html:.1f} MB (target <= 15): {'met' if html <= 15 else 'NOT met'}; "
        f"load average after {os.getloadavg()}"
    )
    _ = resource  # the children's peaks come from the wrapper's own getrusage
    return 0 if found >= 100_000 or args.files * args.per_file < 100_000 else 1


if __name__ == "__main__":
    sys.exit(main())
