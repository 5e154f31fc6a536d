"""Time ``gatekeeper check`` against the hand-run sequential pipeline it replaces, side by side.

    python benchmarks/bench_gate.py                          # 8 sdists (Django 2.2 ... click), 3 rounds, ~5 min
    python benchmarks/bench_gate.py --runs 5                 # steadier medians
    python benchmarks/bench_gate.py --corpus-size full       # Django 5.2.19 django + tests (2,820 files), ~10 min
    python benchmarks/bench_gate.py --corpus-size small      # Django 5.2.19 django/ only
    python benchmarks/bench_gate.py --env PYTHON --advisory-db DB --workdir DIR

What runs (all from one invocation, on the same machine, with the same inputs), in every round:

* the **sequential pipeline**: six commands, each its own process, one
  after another: ``bandit -q -r PATHS -f json``, ``pip-audit --dry-run`` (over the big env's
  site-packages), ``cyclonedx-py environment`` (validating, spec 1.6), ``pip-licenses`` (over the
  big env), ``coverage report`` and ``coverage json``;
* **the security check alone**: ``gatekeeper check --only security`` with an emptied cache, set
  against the pipeline's single-process ``bandit -r`` of the same round: the parallel speed-up;
* **two bandit runs at once**: the pipeline's ``bandit -r`` twice, started together: 2 x bandit's
  time alone / this is the machine's own scaling (1.0-2.0: what two cores give two independent
  bandit processes, shared caches, memory bandwidth and a shared host included): the reference
  for the security check's speed-up, which splits one scan between two processes;
* **gatekeeper cold**: ``gatekeeper check`` with all five checkers, an emptied cache folder,
  reports json+sarif+html, ``--no-audit``;
* **gatekeeper warm**: the same command again right after, with the cache the cold run left,
  on the unchanged tree.

They alternate round by round so that drifts in machine speed hit all of them; ratios are taken
per round (paired) and the table quotes medians with min-max. Then the CLI start-up
(``gatekeeper --version``) and the offline advisory matching (``bench_advisories.py``) are timed.

Inputs, prepared once into ``--workdir`` and reused (never timed):

* the corpus: by default the package folders of eight sdists (``ISSUE_SDISTS``: Django 2.2.28,
  flask, werkzeug, jinja2, requests, urllib3, sqlparse, click; 1,028 files), downloaded with
  ``pip download --no-binary :all: --no-deps``; or ``django/`` (and ``tests/``) of the Django
  5.2.19 sdist (``--corpus DIR`` or downloaded). Copied into the work folder so that nothing is
  written into an original;
* ``.coverage``: a real, cheap measurement, ``coverage run --branch --source=PACKAGES`` of a script
  that imports every module of the corpus's packages (Django with minimal settings), so the data
  covers the files the way a test run would, in seconds;
* the big environment (``--env PYTHON``, or a venv built from ``benchmarks/requirements-env.txt``):
  the one whose packages the dependencies, sbom and licenses steps inspect;
* the advisory database (``--advisory-db``, the PyPA advisory-db in OSV form, a folder or zip):
  gatekeeper matches offline against it. The hand pipeline's pip-audit cannot reach a vulnerability
  service here, so it runs ``--dry-run`` (collects the packages, matches nothing): it does *less*
  work than gatekeeper's dependencies check, which favours the pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
DJANGO = "5.2.19"
DEFAULT_CORPUS = Path("/work/bench/django-5.2.19")
DEFAULT_ENV = Path("/work/bench/env/bin/python")
DEFAULT_DB = Path("/work/shared/advisory-db")
#: the default corpus: eight real projects' sdists, (requirement, folder in the sdist to scan, its name in the corpus)
ISSUE_SDISTS = (
    ("Django==2.2.28", "Django-2.2.28/django", "django"),
    ("flask==2.3.3", "flask-2.3.3/src/flask", "flask"),
    ("werkzeug==2.3.8", "werkzeug-2.3.8/src/werkzeug", "werkzeug"),
    ("jinja2==3.1.4", "jinja2-3.1.4/src/jinja2", "jinja2"),
    ("requests==2.32.3", "requests-2.32.3/src/requests", "requests"),
    ("urllib3==2.2.3", "urllib3-2.2.3/src/urllib3", "urllib3"),
    ("sqlparse==0.5.1", "sqlparse-0.5.1/sqlparse", "sqlparse"),
    ("click==8.1.7", "click-8.1.7/src/click", "click"),
)

IMPORT_ALL = """
# imports every module of the packages named in argv (django configured first, when it is one)
import importlib, pkgutil, sys, warnings
warnings.simplefilter("ignore")
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
                    "django.contrib.sites", "django.contrib.flatpages", "django.contrib.redirects",
                    "django.contrib.sitemaps", "django.contrib.humanize", "django.contrib.syndication"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    USE_TZ=True, SECRET_KEY="bench",
)
try:
    django.setup()
except Exception as exc:
    print(f"django.setup() failed ({exc}); importing the modules anyway")
packages, sys.argv[1:] = sys.argv[1:], []  # a package's __main__ must not take them as its own arguments
ok = failed = 0
for top in packages:
    try:
        package = importlib.import_module(top)
    except BaseException:
        failed += 1
        continue
    for info in pkgutil.walk_packages(package.__path__, top + ".", onerror=lambda name: None):
        try:
            importlib.import_module(info.name)
            ok += 1
        except BaseException:
            failed += 1
print(f"imported {ok} modules ({failed} could not be imported without their optional dependencies)")
"""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(args: Sequence[str], cwd: Path, *, env: dict[str, str] | None = None, ok: Sequence[int] = (0,)) -> float:
    """Wall time of one process; a failing exit code (not in ``ok``) stops the benchmark."""
    t0 = time.perf_counter()
    done = subprocess.run(list(args), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode not in ok:
        raise SystemExit(f"command failed (exit {done.returncode}): {' '.join(args)}\n{done.stderr[-2000:]}")
    return elapsed


def children_cpu() -> float:
    """User + system CPU seconds of every finished child process so far (and of their waited-for children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- preparation


def prepare_corpus(args: argparse.Namespace, work: Path) -> Path:
    if args.corpus_size == "sdists":
        return prepare_sdists_corpus(work)
    source = Path(args.corpus) if args.corpus else DEFAULT_CORPUS
    if not (source / "django" / "__init__.py").is_file():
        source = work / f"django-{DJANGO}"
        if not (source / "django").is_dir():
            log(f"downloading the Django {DJANGO} sdist from the package index")
            pip_download([f"django=={DJANGO}"], work)
            shutil.unpack_archive(str(work / f"django-{DJANGO}.tar.gz"), str(work))
    corpus = work / f"corpus-{args.corpus_size}"
    marker = corpus / ".bench-source"
    if not (marker.is_file() and marker.read_text() == str(source.resolve())):
        log(f"copying {source} ({args.corpus_size}) into {corpus}")
        shutil.rmtree(corpus, ignore_errors=True)
        corpus.mkdir(parents=True)
        for part in paths_for(args):
            shutil.copytree(source / part, corpus / part, ignore=shutil.ignore_patterns("__pycache__"))
        marker.write_text(str(source.resolve()))
    return corpus


def pip_download(requirements: list[str], dest: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", *requirements, "--no-binary", ":all:", "--no-deps", "-d", str(dest), "-q"],
        check=True,
    )


def prepare_sdists_corpus(work: Path) -> Path:
    """The package folders of the eight sdists, side by side in one tree (downloaded once)."""
    corpus = work / "corpus-sdists"
    marker = corpus / ".bench-source"
    wanted = " ".join(req for req, _, _ in ISSUE_SDISTS)
    if marker.is_file() and marker.read_text() == wanted:
        return corpus
    sdists = work / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    log(f"downloading {len(ISSUE_SDISTS)} sdists from the package index: {wanted}")
    pip_download([req for req, _, _ in ISSUE_SDISTS], sdists)
    unpacked = work / "sdists-unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    for archive in sorted(sdists.glob("*.tar.gz")):
        shutil.unpack_archive(str(archive), str(unpacked))
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    for _, inside, name in ISSUE_SDISTS:
        shutil.copytree(unpacked / inside, corpus / name, ignore=shutil.ignore_patterns("__pycache__"))
    marker.write_text(wanted)
    return corpus


def describe_corpus(args: argparse.Namespace) -> str:
    if args.corpus_size == "sdists":
        return "sdists of " + ", ".join(req for req, _, _ in ISSUE_SDISTS) + " (their package folders)"
    return f"Django {DJANGO} {' + '.join(paths_for(args))}"


def paths_for(args: argparse.Namespace) -> list[str]:
    if args.corpus_size == "sdists":
        return [name for _, _, name in ISSUE_SDISTS]
    return ["django", "tests"] if args.corpus_size == "full" else ["django"]


def prepare_env(args: argparse.Namespace, work: Path) -> Path:
    if args.env:
        return Path(args.env)
    if DEFAULT_ENV.exists():
        return DEFAULT_ENV
    venv = work / "env"
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"building the big environment in {venv} from benchmarks/requirements-env.txt (several minutes)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(HERE / "requirements-env.txt")], check=True)
    return python


def site_packages(python: Path) -> str:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run([str(python), "-I", "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def prepare_coverage(corpus: Path, env_python: Path, work: Path, packages: list[str]) -> Path:
    data = corpus / ".coverage"
    if data.is_file():
        return data
    script = work / "import_all.py"
    script.write_text(IMPORT_ALL)
    # the corpus first on the path (its packages are the ones measured), then the big env for their dependencies
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(corpus), site_packages(env_python)]))
    source = ",".join(packages)
    log(f"measuring coverage: importing every module under coverage run --branch --source={source}")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage",
            "run",
            "--branch",
            f"--source={source}",
            f"--data-file={data}",
            str(script),
            *packages,
        ],
        cwd=corpus,
        env=env,
        check=True,
    )
    return data


POLICY = """\
# written by benchmarks/bench_gate.py
[gate]
fail_on_error = true
[reports]
formats = ["json", "sarif", "html"]
[environment]
python = "{env}"
[checks.coverage]
data_file = ".coverage"
min_total = 0.0
[checks.security]
paths = {paths}
exclude = []
[checks.dependencies]
advisory_db = "{db}"
max_db_age_days = 36500  # a fixed snapshot: its age is not what is measured
[checks.sbom]
spec_version = "1.6"
[checks.licenses]
unknown = "warn"
"""


def write_policy(corpus: Path, env_python: Path, db: Path, paths: list[str]) -> Path:
    policy = corpus / "gatekeeper.toml"
    policy.write_text(POLICY.format(env=env_python, db=db, paths=json.dumps(paths)))
    return policy


# ---------------------------------------------------------------- the measured commands


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def pipeline_steps(corpus: Path, env_python: Path, out: Path, paths: list[str]) -> list[tuple[str, list[str], tuple[int, ...]]]:
    site = site_packages(env_python)
    return [
        ("bandit", [tool("bandit"), "-q", "-r", *paths, "-f", "json", "-o", str(out / "p-bandit.json")], (0, 1)),
        (
            "pip-audit --dry-run",
            [tool("pip-audit"), "--dry-run", "-f", "json", "--progress-spinner", "off", "--path", site],
            (0,),
        ),
        (
            "cyclonedx-py (validating)",
            [tool("cyclonedx-py"), "environment", "--sv", "1.6", "--of", "JSON", "-o", str(out / "p-sbom.json"), str(env_python)],
            (0,),
        ),
        ("pip-licenses", [tool("pip-licenses"), "--python", str(env_python), "--format=json"], (0,)),
        ("coverage report", [tool("coverage"), "report"], (0,)),
        ("coverage json", [tool("coverage"), "json", "-q", "-o", str(out / "p-cov.json")], (0,)),
    ]


def run_pipeline(
    steps: list[tuple[str, list[str], tuple[int, ...]]], corpus: Path
) -> tuple[float, dict[str, float], dict[str, float]]:
    """The pipeline's wall time, and each step's wall and CPU (user + system) time."""
    each: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t0 = time.perf_counter()
    for name, args, ok in steps:
        c0 = children_cpu()
        each[name] = timed(args, corpus, ok=ok)
        cpu[name] = children_cpu() - c0
    return time.perf_counter() - t0, each, cpu


def two_at_once(args: list[str], corpus: Path) -> float:
    """Wall time of two copies of one command started together (each writing its own output)."""
    copies = [[a.replace(".json", f"-{n}.json") if a.endswith(".json") else a for a in args] for n in (1, 2)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, cwd=corpus, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in copies]
    codes = [p.wait() for p in procs]
    if any(code not in (0, 1) for code in codes):
        raise SystemExit(f"two bandit runs at once failed: exit codes {codes}")
    return time.perf_counter() - t0


def run_gate(corpus: Path, out: Path, *, cold: bool, only: str = "") -> tuple[float, dict[str, float], dict[str, str]]:
    if cold:
        from gatekeeper.checkers.cache import default_dir  # the cache lives outside the tree, per repository

        shutil.rmtree(corpus / ".gatekeeper", ignore_errors=True)
        shutil.rmtree(default_dir(corpus), ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    args = [tool("gatekeeper"), "check", str(corpus), "--output-dir", str(out), "--format", "json,sarif,html", "--no-audit"]
    if only:  # one check alone, its JSON report only
        args = [*args[:5], "--format", "json", "--no-audit", "--only", only]
    wall = timed(args, corpus, ok=(0, 1))  # 1: the gate failed (django has findings); 3 would be a check error
    result = json.loads((out / "gatekeeper.json").read_text())
    errors = {c["name"]: c["error"] for c in result["checks"] if c["status"] == "error"}
    if errors:
        raise SystemExit(f"gatekeeper reported check errors: {errors}")
    durations = {c["name"]: float(c["duration_s"]) for c in result["checks"]}
    return wall, durations, {c["name"]: c["summary"] for c in result["checks"]}


# ---------------------------------------------------------------- sanity: same inputs, same answers


def compare(corpus: Path, out_pipe: Path, out_gate: Path) -> list[str]:
    gate = {c["name"]: c for c in json.loads((out_gate / "gatekeeper.json").read_text())["checks"]}
    lines = []
    bandit = json.loads((out_pipe / "p-bandit.json").read_text())
    sec = gate["security"]["metrics"]
    hand_files = len([k for k in bandit["metrics"] if k != "_totals"])
    severities = [r["issue_severity"].lower() for r in bandit["results"]]
    hand_counts = {lvl: severities.count(lvl) for lvl in ("high", "medium", "low")}
    lines.append(
        f"bandit: pipeline {hand_files} files, {bandit['metrics']['_totals']['loc']} loc, {hand_counts}; "
        f"gatekeeper {sec.get('files_scanned')} files, {sec.get('lines_scanned')} loc, {sec.get('counts')}"
    )
    cov = json.loads((out_pipe / "p-cov.json").read_text())
    lines.append(
        f"coverage: pipeline {len(cov['files'])} files, total {cov['totals']['percent_covered']:.4f}%; "
        f"gatekeeper {len(gate['coverage']['metrics'].get('files', []))} files, total {gate['coverage']['metrics'].get('total')}%"
    )
    sbom = json.loads((out_pipe / "p-sbom.json").read_text())
    components = gate["sbom"]["metrics"].get("components")
    lines.append(f"sbom: pipeline {len(sbom.get('components', []))} components; gatekeeper {components}")
    lines.append(
        f"licenses: gatekeeper {len(gate['licenses']['metrics'].get('packages', []))} packages; "
        f"dependencies: gatekeeper audited {gate['dependencies']['metrics'].get('packages_audited')} "
        f"({gate['dependencies']['metrics'].get('vulnerabilities')} vulnerabilities, offline)"
    )
    return lines


def same_bandit_findings(out_pipe: Path, out_sec: Path) -> str:
    """Whether the security check reported exactly the pipeline's bandit results (file, line, column, test id, severity)."""
    bandit = json.loads((out_pipe / "p-bandit.json").read_text())
    hand = Counter(
        (r["filename"].removeprefix("./"), r["line_number"], r["col_offset"] + 1, r["test_id"], r["issue_severity"].lower())
        for r in bandit["results"]
    )
    check = next(c for c in json.loads((out_sec / "gatekeeper.json").read_text())["checks"] if c["name"] == "security")
    gate = Counter(
        (f["location"]["path"], f["location"]["line"], f["location"]["column"], f["rule_id"], f["severity"])
        for f in check["findings"]
        if f["rule_id"] != "security.parse_error"
    )
    errors = len(bandit["errors"]), len(check["metrics"]["parse_errors"])
    verdict = (
        "identical"
        if hand == gate and errors[0] == errors[1]
        else f"DIFFERENT ({len(hand - gate)} only by hand, {len(gate - hand)} only in gatekeeper)"
    )
    return (
        f"security alone vs bandit: {sum(gate.values())} findings vs {sum(hand.values())}, "
        f"parse errors {errors[1]} vs {errors[0]}: {verdict} (file, line, column, test id, severity); "
        f"{check['metrics'].get('processes')} bandit worker processes"
    )


# ---------------------------------------------------------------- extras


def startup(runs: int, corpus: Path) -> tuple[list[float], list[float]]:
    version = [timed([tool("gatekeeper"), "--version"], corpus) for _ in range(runs + 1)][1:]
    bare = [timed([sys.executable, "-c", "pass"], corpus) for _ in range(runs + 1)][1:]
    return version, bare


def advisories(db: Path, env_python: Path, runs: int) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_advisories.py"), str(db), "--python", str(env_python), "-n", str(runs)],
        check=True,
        capture_output=True,
        text=True,
    )
    found = {}
    for line in done.stdout.splitlines():
        m = re.match(r"(cold|warm) \(.*?\)\s*: median ([\d.]+) ms \(min ([\d.]+), max ([\d.]+), n=(\d+)\)", line)
        if m:
            found[m.group(1)] = f"{float(m.group(2)) / 1000:.3f} ({float(m.group(3)) / 1000:.3f}–{float(m.group(4)) / 1000:.3f})"
        elif line.startswith(("environment:", "records parsed")):
            found.setdefault("about", "")
            found["about"] += line + "; "
    return found


# ---------------------------------------------------------------- report


def fmt(values: Sequence[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def at_least(values: Sequence[float], target: float) -> str:
    return "PASS" if statistics.median(values) >= target else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", help=f"an unpacked Django {DJANGO} sdist (default {DEFAULT_CORPUS}, else downloaded)")
    parser.add_argument(
        "--corpus-size",
        choices=("sdists", "full", "small"),
        default="sdists",
        help="sdists: the package folders of 8 sdists, Django 2.2 to click (1,028 files); "
        f"full: Django {DJANGO} django/ + tests/ (~2,800 files); small: its django/ only (885 files)",
    )
    parser.add_argument("--env", help=f"python of the big environment (default {DEFAULT_ENV}, else built)")
    parser.add_argument("--advisory-db", default=str(DEFAULT_DB), help="OSV advisory database (folder or zip)")
    parser.add_argument(
        "--workdir", default=str(Path(tempfile.gettempdir()) / "gatekeeper-bench"), help="where the corpus copy and outputs live"
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds of (sequential, cold, warm)")
    parser.add_argument("--startup-runs", type=int, default=10)
    parser.add_argument("--advisory-runs", type=int, default=5)
    args = parser.parse_args()

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    db = Path(args.advisory_db)
    if not db.exists():
        raise SystemExit(f"no advisory database at {db}: pass --advisory-db (pypa/advisory-database in OSV form, folder or zip)")
    corpus = prepare_corpus(args, work)
    env_python = prepare_env(args, work)
    paths = paths_for(args)
    prepare_coverage(corpus, env_python, work, [p for p in paths if p != "tests"])
    write_policy(corpus, env_python, db.resolve(), paths)
    out_pipe, out_gate = work / "out-pipeline", work / "out-gate"
    out_pipe.mkdir(exist_ok=True)
    steps = pipeline_steps(corpus, env_python, out_pipe, paths)
    py_files = sum(1 for p in paths for _ in (corpus / p).rglob("*.py"))
    n_dists = subprocess.run(
        [str(env_python), "-I", "-c", "import importlib.metadata as m; print(len(list(m.distributions())))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()

    seq: list[float] = []
    cold: list[float] = []
    warm: list[float] = []
    sec: list[float] = []
    both: list[float] = []
    cpu: dict[str, list[float]] = {"seq": [], "cold": [], "warm": [], "bandit": [], "sec": []}
    steps_t: dict[str, list[float]] = {}
    checks_cold: dict[str, list[float]] = {}
    checks_warm: dict[str, list[float]] = {}
    loads = [os.getloadavg()[0]]
    out_sec = work / "out-security"
    for i in range(args.runs):
        log(f"round {i + 1}/{args.runs}: sequential pipeline")
        c0 = children_cpu()
        total, each, each_cpu = run_pipeline(steps, corpus)
        seq.append(total)
        cpu["seq"].append(children_cpu() - c0)
        cpu["bandit"].append(each_cpu["bandit"])
        for k, v in each.items():
            steps_t.setdefault(k, []).append(v)
        log(f"round {i + 1}/{args.runs}: sequential {total:.1f}s (bandit {each['bandit']:.1f}s); security check alone, cold")
        c0 = children_cpu()
        wall, _, _ = run_gate(corpus, out_sec, cold=True, only="security")
        sec.append(wall)
        cpu["sec"].append(children_cpu() - c0)
        log(f"round {i + 1}/{args.runs}: security alone {wall:.1f}s; two bandit runs at once (the machine's own scaling)")
        both.append(two_at_once(steps[0][1], corpus))
        log(f"round {i + 1}/{args.runs}: two at once {both[-1]:.1f}s; gatekeeper cold")
        c0 = children_cpu()
        wall, durations, _ = run_gate(corpus, out_gate, cold=True)
        cold.append(wall)
        cpu["cold"].append(children_cpu() - c0)
        for k, v in durations.items():
            checks_cold.setdefault(k, []).append(v)
        if i == 0:
            sanity = [*compare(corpus, out_pipe, out_gate), same_bandit_findings(out_pipe, out_sec)]
        log(f"round {i + 1}/{args.runs}: cold {wall:.1f}s; gatekeeper warm")
        c0 = children_cpu()
        wall, durations, _ = run_gate(corpus, out_gate, cold=False)
        warm.append(wall)
        cpu["warm"].append(children_cpu() - c0)
        for k, v in durations.items():
            checks_warm.setdefault(k, []).append(v)
        log(f"round {i + 1}/{args.runs}: warm {wall:.2f}s")
        loads.append(os.getloadavg()[0])
    log("start-up and advisory matching")
    version, bare = startup(args.startup_runs, corpus)
    adv = advisories(db, env_python, args.advisory_runs)

    def paired(a: list[float], b: list[float]) -> list[float]:
        return [x / y for x, y in zip(a, b, strict=True)]

    r_cold = paired(cold, seq)
    r_warm = paired(warm, cold)
    r_cpu = paired(cpu["cold"], cpu["seq"])
    speedup = paired(steps_t["bandit"], sec)
    r_sec_cpu = paired(cpu["sec"], cpu["bandit"])
    scaling = [2 * x / y for x, y in zip(steps_t["bandit"], both, strict=True)]
    share = paired(speedup, scaling)
    n = args.runs
    rows = [
        ("bandit alone, one process (the pipeline's step)", fmt(steps_t["bandit"]), n, "", ""),
        ("gatekeeper security check alone, cold (`--only security`)", fmt(sec), n, "", ""),
        (
            "**speed-up bandit / security check (paired)**",
            fmt(speedup, 3),
            n,
            ">= 1.8",
            verdict(-statistics.median(speedup), -1.8),
        ),
        ("two `bandit -r` runs at once (each on every file)", fmt(both), n, "", ""),
        ("machine's scaling for two bandits: 2 x bandit alone / two at once (paired)", fmt(scaling, 3), n, "", ""),
        ("speed-up / machine's scaling (paired)", fmt(share, 3), n, "", ""),
        ("CPU user+sys: bandit / security check", f"{fmt(cpu['bandit'])} / {fmt(cpu['sec'])}", n, "", ""),
        ("CPU ratio security check / bandit (paired)", fmt(r_sec_cpu, 3), n, "", ""),
        ("sequential pipeline (6 tools, one after another)", fmt(seq), n, "", ""),
        ("gatekeeper check, cold (empty cache)", fmt(cold), n, "", ""),
        ("gatekeeper check, warm (unchanged tree)", fmt(warm), n, "", ""),
        ("**ratio cold / sequential (paired)**", fmt(r_cold, 3), n, "<= 0.45", verdict(statistics.median(r_cold), 0.45)),
        ("ratio warm / cold (paired)", fmt(r_warm, 3), n, "<= 0.2", verdict(statistics.median(r_warm), 0.2)),
        ("gatekeeper --version", fmt(version, 3), len(version), "< 0.3 s", verdict(statistics.median(version), 0.3)),
        ("CPU user+sys, sequential pipeline", fmt(cpu["seq"]), n, "", ""),
        ("CPU user+sys, gatekeeper cold", fmt(cpu["cold"]), n, "", ""),
        ("CPU user+sys, gatekeeper warm", fmt(cpu["warm"]), n, "", ""),
        ("CPU ratio cold / sequential (paired)", fmt(r_cpu, 3), n, "", ""),
        ("python -c pass (reference)", fmt(bare, 3), len(bare), "", ""),
        ("offline advisory matching, cold", adv.get("cold", "?"), args.advisory_runs, "", ""),
        ("offline advisory matching, warm cache", adv.get("warm", "?"), args.advisory_runs, "", ""),
    ]
    print(f"# gatekeeper benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        f"1-min load average at the start and after each round: {', '.join(f'{x:.2f}' for x in loads)}"
    )
    print(f"corpus: {describe_corpus(args)}: {py_files} .py files")
    print(f"environment: {env_python} ({n_dists} distributions); advisory db: {db}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print()
    print("| measurement | median s (min–max) | N | target | result |")
    print("|---|---|---|---|---|")
    for name, value, count, target, res in rows:
        print(f"| {name} | {value} | {count} | {target} | {res} |")
    print()
    print(
        "Wall times are whole processes. Each round runs: the pipeline, the security check alone, gatekeeper cold, "
        "gatekeeper warm;\nratios are taken within a round (paired). speed-up = the pipeline's `bandit -r` wall time / "
        "`gatekeeper check --only security` wall time\n(empty cache; start-up, discovery and reports included); "
        "the machine's scaling is what two independent bandit processes, each on every file,\n"
        "get from two cores in the same round. "
        "CPU = user + system time of all the processes of a measurement.\nWith a load average near or above the CPU "
        "count, other work takes the second core and wall ratios tend to the CPU ratios."
    )
    print()
    for label, table in (
        ("sequential pipeline steps, wall s", steps_t),
        ("gatekeeper cold, per check duration_s", checks_cold),
        ("gatekeeper warm, per check duration_s", checks_warm),
    ):
        print(f"{label} (median): " + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in table.items()))
    print("advisory matching: " + adv.get("about", ""))
    print("same inputs, same answers (round 1):")
    for line in sanity:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
