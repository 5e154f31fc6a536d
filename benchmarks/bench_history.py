"""How long ``gatekeeper audit report`` takes on a long audit log (10,000 runs by default).

    python benchmarks/bench_history.py [--runs 10000] [--rounds 3] [--signed] [--workdir DIR]

Writes a chained log of realistic records (the same generator the history tests use; with
``--signed`` every record carries an HMAC and the command is given the key, so it checks them all), then runs
the real command in a subprocess, as a user would, and prints the wall time and the CPU time (user +
system, less sensitive to other load on the machine) of each round, with their medians. The target
is under 2 s for 10,000 runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers.history import history_records, write_log  # noqa: E402


def _load() -> str:
    """The 1-minute load average (the other work on the machine), when the system tells it."""
    try:
        return Path("/proc/loadavg").read_text(encoding="ascii").split()[0]
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="records in the log")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of the command")
    parser.add_argument("--signed", action="store_true", help="sign every record and check the signatures")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the log and the page")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="gatekeeper-bench-history-"))
    log = work / "audit.jsonl"
    key = "bench-history-signing-key" if args.signed else None
    write_log(log, history_records(args.runs), key.encode() if key else None)
    env = {k: v for k, v in os.environ.items() if k != "GATEKEEPER_AUDIT_KEY"}
    if key:
        env["GATEKEEPER_AUDIT_KEY"] = key
    page = work / "history.html"
    times, cpus = [], []
    load_before = _load()
    for _ in range(args.rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "gatekeeper", "audit", "report", str(log), "--output", str(page)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            cwd=work,  # not this checkout: `-m gatekeeper` would import the package beside the current folder
        )
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
    size = log.stat().st_size / 1e6
    signed = ", signed (every signature checked)" if key else ""
    print(f"log: {args.runs} runs{signed}, {size:.1f} MB; page: {page.stat().st_size / 1e6:.1f} MB")
    print("wall:   " + ", ".join(f"{t:.2f} s" for t in times) + f"; median {statistics.median(times):.2f} s (start-up included)")
    print("cpu:    " + ", ".join(f"{t:.2f} s" for t in cpus) + f"; median {statistics.median(cpus):.2f} s (user + system)")
    print(f"wall min {min(times):.2f} s, max {max(times):.2f} s; load average (1 min) before {load_before}, after {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
