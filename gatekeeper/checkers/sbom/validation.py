"""Running the SBOM validator (``validate``) in its own process: for a written file, or started
early, while cyclonedx-py generates the SBOM, and handed the file's path once it is written."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gatekeeper import process
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import ToolError, ToolTimeout
from gatekeeper.process import tail

#: the validator, run as a script by its path (``validate``'s docstring says why)
_VALIDATOR = Path(__file__).with_name("validate.py")
_VALIDATE_TIMEOUT_S = 300.0

Verdict = tuple[str | None, list[str]]


def validate_file(ctx: CheckContext, path: Path, spec_version: str) -> Verdict:
    """Validate the SBOM file in a separate process (``validate``): (message or None, formats checked)."""
    # gatekeeper's own code (and its dependency cyclonedx-python-lib): it runs where gatekeeper runs,
    # whatever interpreter gate.tool_python names for the tools
    with tempfile.TemporaryDirectory(prefix="gatekeeper-sbom-") as cwd:
        args = [sys.executable, "-I", str(_VALIDATOR), spec_version, str(path.resolve())]
        done = ctx.run(args, timeout=_VALIDATE_TIMEOUT_S, cwd=cwd)
    return _verdict(done.stdout, done.stderr, done.returncode)


@contextmanager
def early_validator(ctx: CheckContext, spec_version: str) -> Iterator[Callable[[Path], Verdict]]:
    """``validate_file`` with the validator started now: it imports and builds the schema validator
    while the caller generates the SBOM, then validates the file whose path the yielded function
    hands it. A validator not handed a file is killed on leaving."""
    with tempfile.TemporaryDirectory(prefix="gatekeeper-sbom-") as cwd, tempfile.TemporaryFile() as errors:
        proc = process.spawn([sys.executable, "-I", str(_VALIDATOR), spec_version, "-"], cwd=cwd, stderr=errors)
        handed = False

        def validate(path: Path) -> Verdict:
            nonlocal handed
            handed = True
            try:
                out, _ = proc.communicate(
                    (str(path.resolve()) + "\n").encode(), timeout=min(_VALIDATE_TIMEOUT_S, ctx.remaining())
                )
            except subprocess.TimeoutExpired:
                process.release(proc, kill=True)
                raise ToolTimeout("the SBOM validator did not finish in time and was killed") from None
            errors.seek(0)
            return _verdict(out.decode("utf-8", "replace"), errors.read().decode("utf-8", "replace"), proc.returncode)

        try:
            yield validate
        finally:
            process.release(proc, kill=not handed)


def _verdict(stdout: str, stderr: str, returncode: int | None) -> Verdict:
    """The validator's printed verdict; output it did not print is a ``ToolError``, never a pass."""
    try:
        verdict = json.loads(stdout)
        valid, error, formats = bool(verdict["valid"]), verdict["error"], [str(f) for f in verdict["formats"]]
    except (ValueError, KeyError, TypeError):
        raise ToolError(
            f"the SBOM validator failed (exit {returncode}): {tail(stderr or stdout)}"
            " (is cyclonedx-python-lib installed with its validation extra?)"
        ) from None
    if valid:
        return None, formats
    return str(error), formats
