"""All eight checks on real projects: gatekeeper against the eight tools run one after another by hand.

    python benchmarks/bench_all.py PROJECT[:PKG[:TESTS]] ... [--runs 3] [--advisory-db DB]

Each PROJECT is a project's root with its git repository and its own ``.venv`` holding the project
(installed), its test dependencies, pytest and coverage; PKG is the package folder bandit scans
(relative to the root; default: the root); TESTS a comma-separated list of pytest arguments (e.g.
``tests/test_markers.py,tests/test_tags.py`` to keep a long suite short; default: pytest's own
discovery). Run the script with the interpreter of the environment where gatekeeper and the tools
are installed (bandit, ruff, mypy, detect-secrets, pip-licenses, cyclonedx-py: taken from next to
``sys.executable``, so both sides use the same versions).

The policy (``gatekeeper.toml``, written into the project; add it and ``.gatekeeper/`` to
``.git/info/exclude``) turns on all eight checks: coverage, security (``paths = [PKG]``),
dependencies (offline, ``--advisory-db``), sbom, licenses, lint, types, secrets, for the project's
environment (``[environment] python = ".venv/bin/python"``); reports json, sarif, html.

Each round, on each project, in this order:

1. **by hand**: ``coverage run -m pytest`` (the project's venv; the data file ``.coverage`` in the
   root), ``coverage report``, ``bandit -r PKG``, ``ruff check .``, ``mypy`` (the configuration's
   ``files``, else ``.``; a fresh cache folder), ``detect-secrets scan``, ``pip-licenses``,
   ``cyclonedx-py environment`` (validating); each step timed;
2. **cold**: ``gatekeeper check`` with ``run`` (the tests run under coverage by gatekeeper), an
   empty cache; and **cold, no tests**: the policy reads the ``.coverage`` of step 1
   (``data_file``), an empty cache: set against the by-hand steps without the test run;
3. **warm with run**: the cold run's cache, unchanged tree: gatekeeper's own share is the run's wall
   time less the test command's (``metrics.tests.duration_s``), over the wall time; beside it the
   by-hand pipeline's counterpart, ``coverage report``'s share of the tests and the report;
4. **pull request**: one file of PKG gains a function (a bandit, a ruff and a detect-secrets
   finding), the tests run again by hand (not timed: a CI step before the gate), the cold run's
   cache copied to a fresh cache home (not timed) and ``gatekeeper check`` (no tests) timed; then a
   **reference**: the same tree with an empty cache. The script stops unless both give the same
   findings. Then each tool by hand on the change alone: bandit, ruff and detect-secrets on the
   changed file, ``coverage report --include`` of it, and mypy on the changed tree with the cache
   its by-hand run of step 1 left (mypy's own incremental run). The change is undone at the end of
   the round;
5. **each check alone**: ``gatekeeper check --only NAME`` with an empty cache for each check, set
   against its tool by hand (coverage: ``coverage report``; dependencies has no step by hand):
   the whole command's wall time, and the check's own ``duration_s`` (the rest is gatekeeper's
   fixed cost: start-up, environment probe, reports, audit record);
6. **the machine's ceiling**: a CPU-bound loop alone and two at once: 2 x alone / two at once is
   what two cores give two processes right now (1.0 to 2.0), measured once before the first
   round and after each.

**The floors**: the least any gate could reach on that project while it still runs each tool's own
work, each as a ratio beside its target. Cold: the longest single step by hand (nothing ends
before its longest tool) or the CPU of every step by hand spread over the ceiling measured before
the round, whichever is more, counting nothing for the SBOM step (cyclonedx-py spends most of its
time validating with a schema library a gate need not load); with and without the test run. Pull
request, two floors over the cold run: mypy's incremental run by hand alone; and every tool by hand
on the change alone (step 4), the longest of them or their CPU spread over the ceiling, whichever
is more (nothing counted for the environment's checks: it did not change). A floor above its target
says that target cannot be met there by overlapping or caching better, only by running less of the
tools.

Then ``gatekeeper --version`` (median of 7). Every ratio is paired per round and the table gives
the median (min–max). The 1-minute load average is printed after every round: on a busy machine
the wall figures say more about the other work than about gatekeeper.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
CACHE_KEY = "bench-all-" + "0123456789abcdef" * 3
CHECKS = ("coverage", "security", "dependencies", "sbom", "licenses", "lint", "types", "secrets")
CHANGE = (
    "\n\ndef _bench_all_change(cmd):\n    import subprocess\n"
    '    token = "AKIAZ7QPLM3XN5RTV2KD"\n    return subprocess.call(cmd, shell=True), token\n'
)
BURN = "import sys\nn=0\nfor i in range(int(sys.argv[1])): n += i * i\n"


@dataclass
class Project:
    """One project: its root, the folder bandit scans, the pytest arguments."""

    root: Path
    package: str
    tests: list[str]
    series: dict[str, list[float]] = field(default_factory=dict)

    @property
    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")

    def add(self, name: str, value: float) -> None:
        self.series.setdefault(name, []).append(value)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def policy(project: Project, advisory_db: str, *, tests: bool) -> str:
    coverage = (
        f"run = {json.dumps(['pytest', '-q', '-p', 'no:cacheprovider', *project.tests])}" if tests else 'data_file = ".coverage"'
    )
    return f"""\
[reports]
formats = ["json", "sarif", "html"]
[environment]
python = ".venv/bin/python"
[checks.coverage]
{coverage}
min_total = 0
[checks.security]
paths = [{json.dumps(project.package)}]
exclude = []
[checks.dependencies]
advisory_db = {json.dumps(advisory_db)}
max_db_age_days = 36500
[checks.lint]
enabled = true
[checks.types]
enabled = true
[checks.secrets]
enabled = true
"""


def timed(args: list[str], cwd: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0, 1)) -> tuple[float, str]:
    """Wall seconds of one command (its output returned); stops the benchmark on an unexpected exit."""
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if done.returncode not in ok:
        raise SystemExit(f"{args[:4]} exited {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return took, done.stdout


def mypy_targets(root: Path) -> list[str]:
    """What a user names on mypy's command line: nothing when the project's configuration lists its
    ``files`` (mypy checks those; ``mypy .`` would check everything else too), else ``.``."""
    from gatekeeper.checkers.types import find_config

    return [] if find_config(root).files else ["."]


def by_hand(project: Project, scratch: Path) -> dict[str, float]:
    """The eight tools one after another, as a user runs them; seconds per step."""
    py, root = project.python, project.root
    sbom = scratch / "sbom.json"
    steps = {
        "tests": [py, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider", *project.tests],
        "coverage report": [py, "-m", "coverage", "report"],
        "bandit": [str(BIN / "bandit"), "-q", "-r", project.package, "-f", "json", "-o", str(scratch / "bandit.json")],
        "ruff": [str(BIN / "ruff"), "check", "--output-format", "json", "--no-cache", "."],
        "mypy": [str(BIN / "mypy"), "--python-executable", py, "--cache-dir", str(scratch / "mypy-cache"), *mypy_targets(root)],
        "detect-secrets": [str(BIN / "detect-secrets"), "scan", "--no-verify"],
        "pip-licenses": [str(BIN / "pip-licenses"), "--python", py, "--format=json"],
        "cyclonedx-py": [str(BIN / "cyclonedx-py"), "environment", "--sv", "1.6", "--of", "JSON", "-o", str(sbom), py],
    }
    shutil.rmtree(scratch / "mypy-cache", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    times = {}
    for name, args in steps.items():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        times[name] = timed(args, root, env, ok=(0, 1, 2))[0]
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times[f"CPU {name}"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    times["CPU"] = sum(v for k, v in times.items() if k.startswith("CPU ") and k != "CPU tests")
    return times


def mypy_by_hand(project: Project, scratch: Path) -> float:
    """Wall seconds of ``mypy`` as ``by_hand`` runs it, on its cache folder as the last run left it
    (after a one-file change: mypy's own incremental run, the least any gate running mypy can spend)."""
    args = [str(BIN / "mypy"), "--python-executable", project.python, "--cache-dir", str(scratch / "mypy-cache")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    return timed([*args, *mypy_targets(project.root)], project.root, env, ok=(0, 1, 2))[0]


def change_by_hand(project: Project, changed: Path, scratch: Path) -> dict[str, tuple[float, float]]:
    """(wall s, CPU s) of each tool by hand on a pull request's change alone, as little as a user
    could run: bandit, ruff and detect-secrets on the changed file, ``coverage report`` of that file
    (the data of the tests run again), and mypy's incremental run (``mypy_by_hand``). The environment
    did not change, so nothing is run for the dependencies, licenses and SBOM checks."""
    py, root = project.python, project.root
    rel = str(changed.relative_to(root))
    steps = {
        "bandit": [str(BIN / "bandit"), "-q", rel, "-f", "json", "-o", str(scratch / "bandit-change.json")],
        "ruff": [str(BIN / "ruff"), "check", "--output-format", "json", "--no-cache", rel],
        "detect-secrets": [str(BIN / "detect-secrets"), "scan", "--no-verify", rel],
        "coverage report": [py, "-m", "coverage", "report", f"--include={rel}"],
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    out = {}
    for name, args in steps.items():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        took = timed(args, root, env, ok=(0, 1, 2))[0]
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out[name] = (took, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    took = mypy_by_hand(project, scratch)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["mypy"] = (took, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return out


def floors(hand: dict[str, float], cpu: dict[str, float], ceiling_now: float) -> tuple[float, float]:
    """The least wall time any gate can take for a cold run with the test run, and without it, while
    it runs each tool's own work: the longest single step (nothing finishes before its longest tool),
    or all the tools' CPU spread over what the two cores give at once (``ceiling_now``), whichever is
    more. The SBOM step counts for nothing (cyclonedx-py spends most of its time validating with a
    schema library gatekeeper does not need), so each floor is generous to the gate."""
    kept = [k for k in hand if k != "cyclonedx-py"]
    rest = [k for k in kept if k != "tests"]
    with_tests = max(max(hand[k] for k in kept), sum(cpu[k] for k in kept) / ceiling_now)
    without = max(max(hand[k] for k in rest), sum(cpu[k] for k in rest) / ceiling_now)
    return with_tests, without


def gatekeeper(project: Project, home: Path, out: str, *extra: str) -> tuple[float, float, dict[str, Any]]:
    """(wall s, CPU s of every process, the JSON result) of one ``gatekeeper check``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEKEEPER_", "GITHUB_", "COVERAGE_"))}
    env.update({"XDG_CACHE_HOME": str(home), "GATEKEEPER_CACHE_KEY": CACHE_KEY, "NO_COLOR": "1"})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    took, _ = timed([str(BIN / "gatekeeper"), "check", ".", "--output-dir", out, *extra], project.root, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return took, cpu, json.loads((project.root / out / "gatekeeper.json").read_text())


def findings(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            c["name"],
            f["rule_id"],
            (f["location"] or {}).get("path"),
            (f["location"] or {}).get("line"),
            f["fingerprint"],
            f["message"],
        )
        for c in data["checks"]
        for f in c["findings"]
    )


def durations(data: dict[str, Any]) -> dict[str, float]:
    return {c["name"]: float(c["duration_s"]) for c in data["checks"]}


def ceiling(count: int) -> float:
    """2 x one CPU-bound process alone / two at once: what the two cores give two processes now."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", BURN, str(count)], check=True)
    alone = time.perf_counter() - t0
    t0 = time.perf_counter()
    both = [subprocess.Popen([sys.executable, "-c", BURN, str(count)]) for _ in range(2)]
    for p in both:
        p.wait()
    return 2 * alone / (time.perf_counter() - t0)


def one_round(project: Project, advisory_db: str, work: Path, alone: bool, ceiling_now: float) -> None:
    root, name = project.root, project.root.name
    homes = work / f"homes-{name}"
    shutil.rmtree(homes, ignore_errors=True)
    hand = by_hand(project, work)
    hand_cpu = hand.pop("CPU")
    cpu = {k.removeprefix("CPU "): hand.pop(k) for k in list(hand) if k.startswith("CPU ")}
    for step, spent in cpu.items():
        project.add(f"hand CPU {step}", spent)
    for step, took in hand.items():
        project.add(f"hand {step}", took)
    hand_all, hand_rest = sum(hand.values()), sum(v for k, v in hand.items() if k != "tests")
    project.add("hand, all eight", hand_all)
    project.add("hand, without the test run", hand_rest)
    (root / "gatekeeper.toml").write_text(policy(project, advisory_db, tests=True))
    cold, cold_cpu, cold_data = gatekeeper(project, homes / "cold", ".gatekeeper/cold")
    warm, _, warm_data = gatekeeper(project, homes / "cold", ".gatekeeper/warm")
    # the test command's own time as gatekeeper measured it (older versions: the same round's by-hand run)
    coverage = next(c for c in warm_data["checks"] if c["name"] == "coverage")
    tests_s = float((coverage["metrics"].get("tests") or {}).get("duration_s") or hand["tests"])
    (root / "gatekeeper.toml").write_text(policy(project, advisory_db, tests=False))
    base, base_cpu, base_data = gatekeeper(project, homes / "base", ".gatekeeper/base")
    project.add("gatekeeper cold", cold)
    project.add("gatekeeper cold, no tests", base)
    project.add("cold / hand (tests included)", cold / hand_all)
    project.add("cold, no tests / hand without tests", base / hand_rest)
    floor_all, floor_rest = floors(hand, cpu, ceiling_now)
    project.add("floor: cold / hand (tests included)", floor_all / hand_all)
    project.add("floor: cold, no tests / hand without tests", floor_rest / hand_rest)
    project.add("CPU: hand without tests", hand_cpu)
    project.add("CPU: cold, no tests", base_cpu)
    project.add("CPU cold, no tests / CPU hand without tests", base_cpu / hand_cpu)
    project.add("warm with run", warm)
    project.add("warm: gatekeeper's own share", (warm - tests_s) / warm)
    # the pipeline's own counterpart: coverage report after the tests, over both
    by_hand_share = hand["coverage report"] / (hand["tests"] + hand["coverage report"])
    project.add("by hand: coverage report's share after the tests", by_hand_share)
    for check, took in durations(cold_data).items():
        project.add(f"in cold: {check}", took)
    pr_s, ref_s, change = pull_request(project, homes, work)
    project.add("pull request (no tests, cache restored)", pr_s)
    project.add("reference: cold on the changed tree", ref_s)
    project.add("pull request / cold (no tests)", pr_s / base)
    for step, (took, spent) in change.items():
        project.add(f"by hand on the change: {step}", took)
        project.add(f"by hand on the change: CPU {step}", spent)
    project.add("floor: pull request / cold (mypy's incremental run alone)", change["mypy"][0] / base)
    longest = max(took for took, _ in change.values())
    spread = sum(spent for _, spent in change.values()) / ceiling_now
    project.add("floor: pull request / cold (every tool by hand on the change)", max(longest, spread) / base)
    if alone:
        tools = {"coverage": "coverage report", "security": "bandit", "lint": "ruff", "types": "mypy"}
        tools |= {"secrets": "detect-secrets", "licenses": "pip-licenses", "sbom": "cyclonedx-py"}
        for check in CHECKS:
            took, _, data = gatekeeper(project, homes / f"alone-{check}", f".gatekeeper/alone-{check}", "--only", check)
            own = durations(data)[check]
            project.add(f"alone: {check}", took)
            project.add(f"alone: {check}, the check's own duration_s", own)
            project.add(f"alone: {check}, gatekeeper's fixed cost (wall - check)", took - own)
            if check in tools:
                project.add(f"alone / by hand: {check}", took / hand[tools[check]])
                project.add(f"check's own duration / by hand: {check}", own / hand[tools[check]])
    shutil.rmtree(homes, ignore_errors=True)
    _ = base_data, cold_cpu


def pull_request(project: Project, homes: Path, work: Path) -> tuple[float, float, dict[str, tuple[float, float]]]:
    """One file changed, the tests run again (not timed), the base run's cache restored: the check's wall
    time, a cold run's on the same tree (whose findings must be the same), and each tool by hand on
    the change alone (``change_by_hand``; mypy on its cache from the round's by-hand run of the
    unchanged tree). The tests run once more after the file is restored: data written for the changed
    file no longer fits the tree, which gatekeeper refuses."""
    root = project.root
    changed = sorted((root / project.package).rglob("*.py"), key=lambda p: p.stat().st_size)[-1]
    original = changed.read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    try:
        changed.write_bytes(original + CHANGE.encode())
        timed(
            [project.python, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider", *project.tests], root, env
        )
        shutil.copytree(homes / "base", homes / "pr")
        pr, _, pr_data = gatekeeper(project, homes / "pr", ".gatekeeper/pr")
        ref, _, ref_data = gatekeeper(project, homes / "ref", ".gatekeeper/ref")
        change = change_by_hand(project, changed, work)
    finally:
        changed.write_bytes(original)
        # the data must fit the tree again for the runs after this one (data of the changed file is an error)
        timed(
            [project.python, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider", *project.tests], root, env
        )
    if findings(pr_data) != findings(ref_data):
        raise SystemExit(f"{root.name}: the pull-request run's findings differ from a cold run's on the same tree")
    for check, took in durations(pr_data).items():
        project.add(f"in pull request: {check}", took)
    project.add("pull request: outside the engine (start-up, reports)", pr - float(pr_data["duration_s"]))
    metrics = {c["name"]: c["metrics"] for c in pr_data["checks"]}
    project.add("pull request: coverage files reused", float(metrics["coverage"].get("files_reused", 0)))
    project.add("pull request: files measured", float(len(metrics["coverage"]["files"])))
    return pr, ref, change


def fmt(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def version_time() -> list[float]:
    out = []
    for _ in range(8):
        out.append(timed([str(BIN / "gatekeeper"), "--version"], Path(tempfile.gettempdir()), ok=(0,))[0])
    return out[1:]


TARGETS = {
    "cold / hand (tests included)": 0.5,
    "cold, no tests / hand without tests": 0.35,
    "pull request / cold (no tests)": 0.1,
    "warm: gatekeeper's own share": 0.1,
}


def report(projects: list[Project], machine: list[float], loads: list[float], version: list[float], runs: int) -> None:
    print(f"# gatekeeper with all eight checks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {runs} rounds")
    print(f"# 1-minute load average at the start and after each round: {', '.join(f'{x:.1f}' for x in loads)}")
    print(f"# the machine's ceiling for two processes (2 x alone / two at once), per round: {fmt(machine)}")
    print(f"# gatekeeper --version: {fmt(version, 3)} s (target < 0.15 s)")
    names = [p.root.name for p in projects]
    print(f"| measurement, median (min–max) | {' | '.join(names)} | target |")
    print(f"|---|{'---|' * len(projects)}---|")
    keys = list(dict.fromkeys(k for p in projects for k in p.series))
    for key in keys:
        cells = [fmt(p.series[key], 3 if "/" in key or "share" in key else 2) if key in p.series else "" for p in projects]
        target = f"≤ {TARGETS[key]}" if key in TARGETS else ""
        print(f"| {key} | {' | '.join(cells)} | {target} |")


def main() -> int:
    # gatekeeper's modules are compiled once and their bytecode kept, as in any installation: a
    # PYTHONDONTWRITEBYTECODE inherited from the shell would make every run compile them again
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(str(__import__("gatekeeper").__file__)).parent)], check=True
    )
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("projects", nargs="+", help="ROOT[:PKG[:TEST,ARGS]]")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--advisory-db", default="/work/shared/advisory-db")
    parser.add_argument("--no-alone", action="store_true", help="leave out each check run alone")
    parser.add_argument("--burn", type=int, default=20_000_000, help="iterations of the ceiling's CPU loop")
    args = parser.parse_args()
    projects = []
    for spec in args.projects:
        root, _, rest = spec.partition(":")
        package, _, tests = rest.partition(":")
        projects.append(Project(Path(root).resolve(), package or ".", [t for t in tests.split(",") if t]))
    work = Path(tempfile.mkdtemp(prefix="gatekeeper-bench-all-"))
    # every run's temporary files (pytest's numbered tmp_path folders above all) in a folder of the
    # benchmark's own: pytest deletes the oldest numbered folders of the user's temporary directory
    # when it starts, and one test run had 3.9 s added by deleting another suite's leftovers
    (work / "tmp").mkdir()
    os.environ["TMPDIR"] = str(work / "tmp")
    tempfile.tempdir = None
    loads, machine = [os.getloadavg()[0]], [ceiling(args.burn)]  # the first before any round: the floors of round 1 use it
    for r in range(1, args.runs + 1):
        for project in projects:
            one_round(project, args.advisory_db, work, not args.no_alone, machine[-1])
            log(f"round {r} {project.root.name}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in project.series.items() if "/" in k))
        machine.append(ceiling(args.burn))
        loads.append(os.getloadavg()[0])
    report(projects, machine, loads, version_time(), args.runs)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
