"""Profile one cold security check (empty cache) in this process, with cProfile, and time its phases.

    python benchmarks/profile_security.py ROOT [--top 25] [--out FILE.prof]

ROOT holds a ``gatekeeper.toml`` whose ``[checks.security]`` says what to scan. The checker runs in
the main thread (so cProfile sees it) with a fresh, empty cache folder; bandit itself runs in child
processes, whose time shows here as waiting. The table lists the functions with the largest
cumulative time: discovery, hashing, the scan, cache writes and the mapping of results.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.security import SecurityChecker
from gatekeeper.policy import load_policy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", help="also write the raw profile here (for snakeviz, pstats)")
    args = parser.parse_args()
    root = args.root.resolve()
    policy = load_policy(root, {"security": SecurityChecker.options})  # the policy may configure only security
    section = policy.checks["security"]
    with tempfile.TemporaryDirectory(prefix="gatekeeper-prof-") as cache_dir:
        ctx = CheckContext(
            root=root,
            output_dir=Path(cache_dir) / "out",
            policy=policy,
            deadline=time.monotonic() + 3600,
            cache_dir=Path(cache_dir),
        )
        profiler = cProfile.Profile()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        profiler.enable()
        result = SecurityChecker().run(section, ctx)
        profiler.disable()
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if args.out:
        profiler.dump_stats(args.out)
    children = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"security check, cold: {wall:.2f} s wall; children CPU {children:.2f} s; {result.summary}")
    print(f"metrics: processes {result.metrics.get('processes')}, workers {result.metrics.get('workers')}")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(args.top)
    print(text.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
