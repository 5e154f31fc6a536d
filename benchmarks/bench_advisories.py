"""Time offline matching of an OSV advisory database against an environment (median of N runs).

    python benchmarks/bench_advisories.py /work/shared/advisory-db --python /path/to/venv/bin/python
    python benchmarks/bench_advisories.py /work/shared/advisory-db --synthetic 300

With --python, the packages are those installed in that interpreter's environment (read once, as
the checker does; the read is not timed). With --synthetic N, the environment is N package names
taken from the database itself at version 0.0.1, so that every record of every one of them is
parsed and most match: a worst case for the parse step. Each run opens the database and matches;
"cold" builds the name index and parses every needed record from scratch (no cache); "warm" reuses
the index and the parsed records cached by a previous run, as a CI run with a kept cache would.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from packaging.utils import canonicalize_name

from gatekeeper.checkers.dependencies.advisories import open_database

_LIST = "import importlib.metadata as m, json; print(json.dumps([(d.metadata['Name'], d.version) for d in m.distributions()]))"


def _packages(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.python:
        out = subprocess.run([args.python, "-I", "-c", _LIST], check=True, capture_output=True, text=True).stdout
        return [(str(n), str(v)) for n, v in json.loads(out)]
    db = open_database(Path(args.db))
    names = db.package_names()
    db.close()
    step = max(1, len(names) // args.synthetic)
    return [(n, "0.0.1") for n in names[::step][: args.synthetic]]


def _once(db_path: Path, packages: list[tuple[str, str]], cache: Path | None) -> tuple[float, int, int, int]:
    t0 = time.perf_counter()
    db = open_database(db_path, cache)
    matches, unsure = db.match(packages)
    db.close()
    return (time.perf_counter() - t0) * 1000, db.records_read, len(matches), len(unsure)


def main() -> int:
    """Print the median time of cold and warm runs, and what they found."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", help="the OSV database (directory or zip)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--python", help="interpreter of the environment to audit")
    group.add_argument("--synthetic", type=int, help="audit N package names taken from the database")
    parser.add_argument("-n", "--runs", type=int, default=7)
    args = parser.parse_args()
    packages = _packages(args)
    db_path = Path(args.db)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        cold = [_once(db_path, packages, None) for _ in range(args.runs)]
        _once(db_path, packages, cache)  # fill the index and parsed-record caches
        warm = [_once(db_path, packages, cache) for _ in range(args.runs)]
    _, records, found, unsure = warm[-1]
    db = open_database(db_path)
    files = len(db.files)
    db.close()
    distinct = {canonicalize_name(n) for n, _ in packages}
    kind = f"python {args.python}" if args.python else "synthetic"
    print(f"database: {db_path} ({files} record files)")
    print(f"environment: {len(packages)} packages ({kind}); {len(distinct)} distinct names")
    print(f"records parsed per run: {records}; advisories matched: {found}; indeterminate: {unsure}")
    for label, runs in (("cold (no cache)  ", cold), ("warm (cache kept)", warm)):
        times = [r[0] for r in runs]
        print(f"{label}: median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f}, n={len(times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
