"""How long ``gatekeeper audit report`` takes on a long audit log (10,000 runs by default).

    python benchmarks/bench_history.py [--runs 10000] [--rounds 3] [--workdir DIR]

Writes a chained log of realistic records (the same generator the history tests use), then runs
the real command in a subprocess, as a user would, and prints the wall time and the CPU time (user +
system, less sensitive to other load on the machine) of each round, with their medians. The target
is under 2 s for 10,000 runs.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "reports"))

from history_samples import history_records, write_log  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="records in the log")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of the command")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the log and the page")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="gatekeeper-bench-history-"))
    log = work / "audit.jsonl"
    write_log(log, history_records(args.runs))
    page = work / "history.html"
    times, cpus = [], []
    for _ in range(args.rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "gatekeeper", "audit", "report", str(log), "--output", str(page)],
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
    size = log.stat().st_size / 1e6
    print(f"log: {args.runs} runs, {size:.1f} MB; page: {page.stat().st_size / 1e6:.1f} MB")
    print("wall:   " + ", ".join(f"{t:.2f} s" for t in times) + f"; median {statistics.median(times):.2f} s (start-up included)")
    print("cpu:    " + ", ".join(f"{t:.2f} s" for t in cpus) + f"; median {statistics.median(cpus):.2f} s (user + system)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
