"""A detect-secrets worker: started before the files to scan are known, it scans once when told to.

Run by the secrets checker as ``python -I -c <this source>`` in the project's root (``-I``: the
checkout is not on ``sys.path``), as soon as the check starts, so that detect-secrets is imported
while gatekeeper still lists, reads and hashes the files.

1. It prints one JSON line: ``{"version": "1.5.0"}`` once detect-secrets and its command-line
   code are imported, or ``{"missing": "<module>"}`` when detect-secrets is not installed in this
   interpreter.
2. It reads one JSON line on stdin: the list of detect-secrets' arguments (``scan --no-verify
   FILE...``). An empty input (every file's result came from the cache) ends it: nothing is scanned.
3. It runs detect-secrets' own ``main()`` on them, as ``python -m detect_secrets`` does: its
   report goes to stdout, its messages to stderr, and its exit code is this process's.

It imports nothing from gatekeeper.
"""

import json
import sys


def main() -> int:
    try:
        from detect_secrets.__version__ import VERSION
        from detect_secrets.main import main as detect_secrets
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "detect_secrets":
            raise
        print(json.dumps({"missing": exc.name}), flush=True)
        return 0
    print(json.dumps({"version": VERSION}), flush=True)
    request = sys.stdin.readline()
    if not request.strip():
        return 0
    return int(detect_secrets([str(arg) for arg in json.loads(request)]) or 0)


if __name__ == "__main__":
    sys.exit(main())
