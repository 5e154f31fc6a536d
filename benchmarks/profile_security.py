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
from typing import Any

from gatekeeper.checkers import installed, policy_options
from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.security import SecurityChecker
from gatekeeper.policy import load_policy

#: what a cold scan spends its time on: (file the function is in, function name)
PHASES = {
    "discovery (bandit's own -r walk, a child)": ("security/__init__.py", "discover"),
    "cache keys: hashing every file": ("checkers/cache.py", "file_digest"),
    "cache lookups": ("security/__init__.py", "_cache_read"),
    "scan (bandit processes; waiting here)": ("security/__init__.py", "_scan"),
    "assembling the result (findings in file order)": ("security/__init__.py", "result"),
    "mapping results to findings (before: after the scan)": ("security/__init__.py", "_to_result"),
}


def phase(stats: pstats.Stats, module: str, function: str) -> tuple[int, float]:
    """Calls and cumulative seconds of the functions named ``function`` in a file ending with ``module``."""
    calls, total = 0, 0.0
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if name == function and filename.replace("\\", "/").endswith(module):
            calls += row[1]
            total += row[3]
    return calls, total


def time_in_threads(totals: dict[str, list[float]]) -> None:
    """Add up the time spent in bandit-report parsing and cache writes, in whichever thread they run.

    cProfile sees the main thread only; these may run in the threads that talk to bandit.
    """
    from gatekeeper.checkers import cache, security

    timed_here = (
        ("parse_output", security, "parse_output"),
        ("cache.write", cache, "write"),
        ("mapping results to findings (Tally.add)", getattr(security, "Tally", None), "add"),
    )
    for label, owner, name in timed_here:
        original = getattr(owner, name, None)
        if original is None:  # an older version of the checker (profiled for a before/after comparison)
            continue
        slot = totals.setdefault(label, [0.0, 0.0])

        def timed(*args: object, _original: Any = original, _slot: list[float] = slot, **kwargs: object) -> object:
            t = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                _slot[0] += 1
                _slot[1] += time.perf_counter() - t

        setattr(owner, name, timed)


def record_finish_times() -> list[float]:
    """When each bandit process's share ended (perf_counter), to show how evenly the work was split."""
    from gatekeeper.checkers import security

    finished: list[float] = []
    pool = getattr(security, "pool", None)
    owner, name = (pool.BanditPool, "_serve") if pool is not None else (security, "_scan_group")  # before: one share each

    original = getattr(owner, name)

    def timed(*args: object, **kwargs: object) -> object:
        try:
            return original(*args, **kwargs)
        finally:
            finished.append(time.perf_counter())

    setattr(owner, name, timed)
    return finished


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", help="also write the raw profile here (for snakeviz, pstats)")
    args = parser.parse_args()
    root = args.root.resolve()
    policy = load_policy(root, policy_options(installed()))  # the policy may configure the other checks too
    section = policy.checks["security"]
    with tempfile.TemporaryDirectory(prefix="gatekeeper-prof-") as cache_dir:
        ctx = CheckContext(
            root=root,
            output_dir=Path(cache_dir) / "out",
            policy=policy,
            deadline=time.monotonic() + 3600,
            cache_dir=Path(cache_dir),
        )
        finished = record_finish_times()
        threads: dict[str, list[float]] = {}
        time_in_threads(threads)
        profiler = cProfile.Profile()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        profiler.enable()
        result = SecurityChecker().run(section, ctx)
        profiler.disable()
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        own_after = resource.getrusage(resource.RUSAGE_SELF)
    if args.out:
        profiler.dump_stats(args.out)
    children = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    mine = (own_after.ru_utime - own.ru_utime) + (own_after.ru_stime - own.ru_stime)
    print(f"security check, cold: {wall:.2f} s wall; CPU: children {children:.2f} s, this process {mine:.2f} s (profiled)")
    print(f"result: {result.summary}")
    print(f"metrics: processes {result.metrics.get('processes')}, workers {result.metrics.get('workers')}")
    ends = sorted(t - t0 for t in finished)
    if ends:
        print(f"bandit processes finished at {', '.join(f'{t:.2f}' for t in ends)} s (spread {ends[-1] - ends[0]:.2f} s)")
    stats = pstats.Stats(profiler)
    print("phases (cumulative s in this process; bandit runs in children, so the scan shows as waiting):")
    for label, (module, function) in PHASES.items():
        calls, total = phase(stats, module, function)
        print(f"  {label:<44} {total:7.3f} s  ({calls} calls)")
    for label, (calls, total) in threads.items():
        print(f"  {label + ', in any thread':<44} {total:7.3f} s  ({int(calls)} calls)")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(args.top)
    print(text.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
