"""What one security scan is made of: the plan bandit runs by (``ScanPlan``) and its verdict on one
file (``FileScan``, as cached); below the checker and ``results``, which both use them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: a line of bandit's ``code`` excerpt: its number, a space, the line
_EXCERPT_LINE = re.compile(r"^(\d+) ")

RESULT_KEYS = ("test_id", "test_name", "issue_severity", "issue_confidence", "issue_text", "line_number", "line_range")


def withheld(r: Mapping[str, Any]) -> dict[str, Any]:
    """bandit's result ``r`` as kept (cached, and made a finding): without its code excerpt, which
    copies the file's text, a key the secrets check finds on the flagged line or beside it included,
    into the cache (a finding's excerpt is made again from the file, ``excerpt``, whose bytes key
    the entry). For a test that flags a password written in the code (``secretprints.SECURITY_TESTS``),
    its message is also cut before the quoted value: a hash of either, as a fingerprint, would let a
    dictionary recover a weak password."""
    from gatekeeper.secretprints import SECURITY_TESTS, withheld_message

    kept = {k: v for k, v in r.items() if k != "code"}
    if str(r.get("test_id")) in SECURITY_TESTS:
        kept["issue_text"] = withheld_message(str(r.get("issue_text") or ""), str(r.get("test_name") or r.get("test_id")))
    elif "code" in r:
        kept["code_lines"] = flagged_lines(str(r.get("code") or ""), r.get("line_range"))
    return kept


def flagged_lines(code: str, line_range: Any) -> list[int]:
    """The numbers of the lines of bandit's ``code`` excerpt that ``line_range`` lists (its window
    around a finding may start below the first of them): the lines a finding's excerpt holds."""
    wanted = {n for n in line_range if isinstance(n, int)} if isinstance(line_range, list) else set()
    return [n for line in code.splitlines() if (found := _EXCERPT_LINE.match(line)) and (n := int(found.group(1))) in wanted]


def excerpt(data: bytes, numbers: Any) -> str:
    """The lines of a file (its bytes ``data``) that ``numbers`` lists (``flagged_lines``), as bandit's
    ``code`` excerpt gives them (``N text`` each, the file read as ``linecache`` reads it: its coding
    cookie, universal newlines, a last line given its newline); "" when it cannot be decoded."""
    import io
    import tokenize

    wanted = [n for n in numbers if isinstance(n, int)] if isinstance(numbers, list) else []
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        lines = io.TextIOWrapper(io.BytesIO(data), encoding, line_buffering=True).readlines()
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return ""
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(f"{n} {lines[n - 1]}" for n in sorted(set(wanted)) if 1 <= n <= len(lines))


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FileScan:
    """bandit's verdict on one file, as cached: its results, its metrics entry, a parse error, and how
    many of its issues the project's bandit baseline kept out of the results."""

    results: tuple[Mapping[str, Any], ...]
    metrics: Mapping[str, Any] | None
    error: str | None
    baseline_hidden: int = 0

    def to_json(self) -> dict[str, Any]:
        """The cache payload."""
        return {
            "results": [dict(r) for r in self.results],
            "metrics": dict(self.metrics) if self.metrics else None,
            "error": self.error,
            "baseline_hidden": self.baseline_hidden,
        }

    @classmethod
    def from_json(cls, data: Any) -> FileScan:
        """Read a payload back; raises ValueError when it is not one."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        results, metrics, error = data.get("results"), data.get("metrics"), data.get("error")
        if not isinstance(results, list) or not all(isinstance(r, dict) and all(k in r for k in RESULT_KEYS) for r in results):
            raise ValueError("bad results")
        if metrics is not None and not (isinstance(metrics, dict) and isinstance(metrics.get("loc"), int)):
            raise ValueError("bad metrics")
        if error is not None and not isinstance(error, str):
            raise ValueError("bad error")
        if metrics is None and error is None:
            raise ValueError("neither metrics nor error")
        hidden = data.get("baseline_hidden", 0)
        if not isinstance(hidden, int) or isinstance(hidden, bool) or hidden < 0:
            raise ValueError("bad baseline_hidden")
        return cls(tuple(results), metrics, error, hidden)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ScanPlan:
    """What bandit will scan and with which options (from ``probe``)."""

    args: tuple[str, ...]
    files: tuple[str, ...]  # normalised: posix, relative to the root, no "./"
    given: Mapping[str, str]  # normalised name -> the name bandit's discovery produced (passed back as is)
    version: str
    python: str
    config: str
    ini: str
    project: Mapping[str, Any] = field(default_factory=dict)  # what the project's bandit config narrows

    def command(self, targets: Sequence[str]) -> str:
        """The equivalent single bandit command line, for a user to reproduce the scan."""
        return " ".join(_quote(a) for a in ("bandit", "-r", *targets, *self.args, "-f", "json"))


def _quote(arg: str) -> str:
    return arg if arg and re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\"'\"'") + "'"
