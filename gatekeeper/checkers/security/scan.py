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
    """bandit's result ``r`` as kept (cached, and made a finding). For a test that flags a password
    written in the code (``secretprints.SECURITY_TESTS``), without it: its message cut before the
    quoted value and no code excerpt. A hash of either, as a fingerprint, would let a dictionary
    recover a weak password. Any other result keeps of its excerpt the lines it flags
    (``line_range``, which its fingerprint hashes), not the lines bandit adds around them, where a
    key the secrets check finds or a password B105 flags would be copied in plain text."""
    from gatekeeper.secretprints import SECURITY_TESTS, withheld_message

    if str(r.get("test_id")) not in SECURITY_TESTS:
        return {**r, "code": flagged_lines(str(r.get("code") or ""), r.get("line_range"))} if "code" in r else dict(r)
    kept = {k: v for k, v in r.items() if k != "code"}
    kept["issue_text"] = withheld_message(str(r.get("issue_text") or ""), str(r.get("test_name") or r.get("test_id")))
    return kept


def flagged_lines(code: str, line_range: Any) -> str:
    """The lines of bandit's ``code`` excerpt whose numbers ``line_range`` lists, as bandit wrote
    them; the excerpt as it is when none can be told (no range, or lines of another form)."""
    wanted = {n for n in line_range if isinstance(n, int)} if isinstance(line_range, list) else set()
    kept = [
        line
        for line in code.splitlines(keepends=True)
        if (found := _EXCERPT_LINE.match(line)) is not None and int(found.group(1)) in wanted
    ]
    return "".join(kept) if kept else code


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
