"""Stands in for a bandit worker whose scans misbehave: ``python fault_relay.py FAULT.sh ARGS...``.

gatekeeper's first bandit worker first finds the files (its first stdin line is a discovery
request, answered in one frame) and then scans. So that a fault lands on the scans, this relay
answers the discovery request as the real worker does (gatekeeper's own probe, sent with the
request) and then hands the rest of its input to ``sh FAULT.sh ARGS...`` (``$REAL "$@"`` there
runs the real worker). Any other first line goes to the fault unchanged. It imports nothing from
gatekeeper and reads its input unbuffered, so the fault gets every byte after the first line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def _line() -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            break
        data += byte
    return data


def main() -> int:
    fault, args = sys.argv[1], sys.argv[2:]
    first = _line()
    try:
        request = json.loads(first) if first.strip() else None
    except ValueError:
        request = None
    if isinstance(request, dict) and "discover" in request:
        probe: dict[str, Any] = {"__name__": "gatekeeper_bandit_probe"}
        exec(compile(str(request["probe"]), "probe.py", "exec"), probe)  # noqa: S102  # gatekeeper's own probe
        answer = json.dumps(probe["answer"](request["discover"])).encode("utf-8")
        os.write(1, b"%d\n" % len(answer) + answer)
        os.execv("/bin/sh", ["sh", fault, *args])
    child = subprocess.Popen(["/bin/sh", fault, *args], stdin=subprocess.PIPE)
    assert child.stdin is not None
    try:
        child.stdin.write(first)
        while chunk := os.read(0, 65536):
            child.stdin.write(chunk)
        child.stdin.close()
    except BrokenPipeError:
        pass
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
