"""The CI log: a live progress line on a terminal, plain lines elsewhere, and the final table.

Text from a result passes through ``clean`` (control characters shown escaped) so that a finding
holding ANSI escapes cannot rewrite the terminal, and is folded onto one line; every line then
passes through ``for_output`` as it is printed (credentials masked, no forged GitHub workflow
command). Colour follows NO_COLOR / FORCE_COLOR and the terminal.
"""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from collections.abc import Mapping
from typing import Any, TextIO

from gatekeeper import checkout, linksout
from gatekeeper.display import shorten
from gatekeeper.engine import Progress
from gatekeeper.escapes import clean, clean_line, for_output
from gatekeeper.findings import CheckResult, Finding, GateResult, Narrowing, Status, Verdict
from gatekeeper.interpreter import sentence
from gatekeeper.toolorigin import sentence as origin_sentence


def use_color(stream: TextIO) -> bool:
    """Colour unless NO_COLOR is set; forced by FORCE_COLOR; otherwise only on a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty() and os.environ.get("TERM") != "dumb"


SHOWN_FINDINGS = 20  # blocking findings listed in the CI log
SHOWN_NARROWING = 10  # narrowing records listed in the CI log per check
MESSAGE_WIDTH = 400  # a finding in the CI log is cut here; the reports carry the whole message
WIDTH = 80  # the console's lines wrap to fit a terminal this wide
#: what the console and the annotations say when the checkout's tracked files could not be compared
UNCOMPARED = "the tracked files of the checkout could not be compared before and after the run"

_COLORS = {"pass": "32", "fail": "31", "error": "35", "skipped": "33"}


class Console(Progress):
    """Shows checkers as they start and finish, then the summary table and the verdict."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.color = use_color(self.stream)
        self.live = self.stream.isatty() if live is None else live
        self._running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def paint(self, text: str, status: str) -> str:
        """``text`` coloured for ``status`` when colour is on."""
        code = _COLORS.get(status)
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def line(self, text: str = "", *, command: bool = False) -> None:
        """Print one line (clearing the live status line first); ``command`` marks a workflow
        command gatekeeper wrote itself (an annotation), the only kind of line that may start with ``::``."""
        text = for_output(text, command=command)
        with self._lock:
            if self.live:
                self.stream.write("\r\x1b[2K")
            self.stream.write(text + "\n")
            self.stream.flush()

    def _wrapped(self, text: str, indent: str, first: str = "") -> None:
        """``text`` wrapped to ``WIDTH`` columns, continuation lines indented (long paths are not broken)."""
        width = WIDTH - len(first)
        for part in textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]:
            self.line(first + part)

    def _continued(self, text: str) -> None:
        """A further line of a tool's own multi-line message, behind ``|``: a CI runner trims
        indentation, and no line may then start with "::" and pose as a workflow command. Wrapped to
        ``WIDTH`` columns like every other line."""
        for part in textwrap.wrap(clean_line(text), WIDTH - 6, break_on_hyphens=False) or [""]:
            self.line(f"    | {part}")

    def started(self, name: str) -> None:
        """A checker started: note it; on a terminal start the live line."""
        with self._lock:
            self._running[name] = time.monotonic()
        if not self.live:
            self.line(f"gatekeeper: {name} started")
        elif self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def finished(self, result: CheckResult) -> None:
        """A checker finished: print its line. A pass or fail is not final yet (waivers and the
        baseline may still clear a finding; the environment's confirmation and the checkout's
        comparison may still make it an error), so that line gives the tool's count of findings,
        and the table below holds the status; an error or a skip is final and is named."""
        with self._lock:
            self._running.pop(result.name, None)
        status = result.status.value
        took = f"in {result.duration_s:.1f}s"
        if result.status in (Status.PASS, Status.FAIL):
            count = len(result.findings)
            self.line(f"gatekeeper: {result.name} finished {took}: {count:,} finding{'' if count == 1 else 's'}")
        else:
            self.line(f"gatekeeper: {result.name} {self.paint(status, status)} {took}")

    def stop(self) -> None:
        """Stop the live line."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
            with self._lock:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                if not self._running:
                    continue
                now = time.monotonic()
                parts = [f"{n} {now - t:.0f}s" for n, t in sorted(self._running.items())]
                self.stream.write("\r\x1b[2K" + "running: " + ", ".join(parts))
                self.stream.flush()

    def _waiver_lines(self, result: GateResult) -> None:
        """One line each naming the expired and the unused waivers (VEX statements included)."""
        for state in ("expired", "unused"):
            entries = result.waivers.get(state) or []
            if entries:
                self.line(f"{state} waivers: {', '.join(clean_line(str(w.get('id'))) for w in entries)}")

    def _tools(self, result: GateResult) -> None:
        """One line per check whose tool was located: which binary ran, and where it came from."""
        for c in result.checks:
            if c.tool_origin:
                self.line(clean_line(f"tool: {c.name}: {c.tool_name} {c.tool_version} {origin_sentence(dict(c.tool_origin))}"))

    def summary(self, result: GateResult) -> None:
        """The table of checks (status, key metric, duration) and the verdict last."""
        self.stop()
        rows = [(c.name, c.status.value, clean_line(_headline(c)), f"{c.duration_s:.1f}s") for c in result.checks]
        names = max([len("check")] + [len(r[0]) for r in rows])
        states = max([len("status")] + [len(r[1]) for r in rows])
        # the result column gets what an 80-column terminal leaves; longer results wrap under it
        indent = names + states + 4
        room = max(20, WIDTH - indent - 8)
        self.line()
        environment = result.extra.get("environment")
        if isinstance(environment, dict):
            self.line(clean_line(sentence(environment)))  # one line, whatever the path's length
        self.line(f"{'check':<{names}}  {'status':<{states}}  {'result':<{room}}  time")
        for name, status, headline, took in rows:
            padded = f"{status:<{states}}"
            parts = textwrap.wrap(headline, room, break_on_hyphens=False) or [""]
            self.line(f"{name:<{names}}  {self.paint(padded, status)}  {parts[0]:<{room}}  {took}")
            for part in parts[1:]:
                self.line(" " * indent + part)
        self._narrowing(result)
        self._tools(result)
        blocking = [(c, f) for c in result.checks for f in c.findings if f.blocking]
        if blocking:
            self.line()
            self.line(f"blocking findings ({len(blocking)}):")
            shown = _interleave(blocking, SHOWN_FINDINGS)
            for check, finding in shown:
                where = ""
                if finding.location:
                    where = finding.location.path + (f":{finding.location.line}" if finding.location.line else "") + " "
                elif finding.package and not finding.message.startswith(f"{finding.package.name} "):
                    where = f"{finding.package.name} {finding.package.version} "
                head, *further = _message_lines(finding.message)
                text = clean_line(f"[{check.name}] {finding.severity.value} {finding.rule_id} {where}{head}")
                self._wrapped(shorten(text, MESSAGE_WIDTH), "      ", first="  ")
                for line in further:
                    self._continued(line)
            if len(blocking) > len(shown):
                self.line(f"  … and {len(blocking) - len(shown)} more (see the reports)")
        self._closing(result)

    def _closing(self, result: GateResult) -> None:
        """The errors (each check's, the checkout's), the waivers, and the verdict with its reason."""
        errors = [c for c in result.checks if c.status is Status.ERROR]
        for check in errors:
            # a tool's own words (say, the tail of a failing test run) keep their lines
            first, *rest = (check.error or check.summary).split("\n")
            self.line(clean_line(f"error in {check.name}: {first}"))
            for more in rest:
                self._continued(more)
        tree = result.extra.get("checkout") or {}
        uncompared = str(tree.get("error") or "")
        for line in tree_lines(tree):
            self.line(f"error: {line}")
        if uncompared:
            first, *rest = f"error: {UNCOMPARED}: {uncompared}".split("\n")
            self.line(clean_line(first))
            for more in rest:
                self._continued(more)
        self._waiver_lines(result)
        self.line()
        verdict = result.verdict.value
        if checkout.touched(tree):
            why = (
                "the checkout changed during the run (a tool, or the tests the policy runs, wrote into it); "
                "the tree must be left as it was found"
            )
        elif tree.get("links_out"):
            why = "a link in the checkout leads outside its git work tree: what it leads to is no part of the project"
        elif tree.get("reencoded"):
            why = "git checks out tracked files in another encoding than it stores them: the tools would judge other bytes"
        elif uncompared:
            why = "the checkout could not be compared: no run can vouch that it left the tree as it was found"
        else:
            why = _why(result)
        self.line(f"verdict: {self.paint(verdict.upper(), verdict)} ({why})")

    def _narrowing(self, result: GateResult) -> None:
        """What the project narrowed, check by check (at most ``SHOWN_NARROWING`` records each; the reports list all)."""
        checks = [c for c in sorted(result.checks, key=lambda c: c.name) if c.narrowing]
        if not checks:
            return
        self.line()
        self.line(f"narrowed by the project ({sum(len(c.narrowing) for c in checks)}):")
        for check in checks:
            for record in check.narrowing[:SHOWN_NARROWING]:
                text = clean_line(f"[{check.name}] {narrowing_text(record)}")
                if len(text) > MESSAGE_WIDTH:
                    text = text[: MESSAGE_WIDTH - 1] + "…"
                self._wrapped(text, "      ", first="  ")
            if len(check.narrowing) > SHOWN_NARROWING:
                self.line(f"  … and {len(check.narrowing) - SHOWN_NARROWING} more for {check.name} (see the reports)")


def narrowing_text(record: Narrowing) -> str:
    """One narrowing record as a line: kind, where, the setting or comment, its effect, what it suppressed."""
    where = record.source + (f":{record.line}" if record.source and record.line else "")
    parts = [record.kind, where, record.detail and f"`{record.detail}`"]
    head = " ".join(p for p in parts if p)
    tail = record.effect
    named = [f for f in record.files if f != record.source]
    if named:
        more = f", … ({len(named)} files)" if len(named) > 3 else ""
        tail += f" [{', '.join(named[:3])}{more}]"
    if record.suppressed is not None:
        tail += f" ({record.suppressed} finding{'s' if record.suppressed != 1 else ''} suppressed)"
    return f"{head}: {tail}" if tail else head


def _interleave(pairs: list[tuple[CheckResult, Finding]], limit: int) -> list[tuple[CheckResult, Finding]]:
    """Up to ``limit`` findings, taken in turn from each check (most severe first within a check),
    so that forty advisories do not hide the one high bandit finding; then ordered by severity."""
    queues: dict[str, list[tuple[CheckResult, Finding]]] = {}
    for check, finding in sorted(pairs, key=lambda cf: cf[1].sort_key()):
        queues.setdefault(check.name, []).append((check, finding))
    picked: list[tuple[CheckResult, Finding]] = []
    while len(picked) < limit and any(queues.values()):
        for name in sorted(queues):
            if queues[name] and len(picked) < limit:
                picked.append(queues[name].pop(0))
    return sorted(picked, key=lambda cf: (cf[1].sort_key()[0], cf[0].name, *cf[1].sort_key()[1:]))


#: lines of a multi-line finding message shown in the CI log (a failing test run's FAILED lines,
#: a mypy hint); the reports carry them all
MESSAGE_LINES = 6


def _message_lines(message: str) -> list[str]:
    """A finding's message as the console shows it: its first line, then up to ``MESSAGE_LINES - 1``
    further non-blank lines (each cut at a word to ``MESSAGE_WIDTH``), the rest counted."""
    first, *rest = message.split("\n")
    rest = [line.rstrip() for line in rest if line.strip()]
    shown = [shorten(line, MESSAGE_WIDTH) for line in rest[: MESSAGE_LINES - 1]]
    if len(rest) > len(shown):
        shown.append(f"… {len(rest) - len(shown)} more lines in the reports")
    return [first, *shown]


def _headline(check: CheckResult) -> str:
    if check.status is Status.ERROR:
        text = (check.error or check.summary or "error").split("\n", 1)[0]
        return shorten(text, 70)
    return check.summary or f"{len(check.findings)} findings"


ANNOTATION_CAP = 50


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(result: GateResult, cap: int = ANNOTATION_CAP) -> list[str]:
    """Blocking findings as GitHub Actions ``::error`` workflow commands, most severe first, capped.

    See https://docs.github.com/actions/reference/workflow-commands-for-github-actions; values
    are escaped so a finding cannot inject a workflow command of its own.
    """
    blocking = sorted(((c, f) for c in result.checks for f in c.findings if f.blocking), key=lambda cf: cf[1].sort_key())
    lines = []
    for check, finding in blocking[:cap]:
        props = [f"title={_escape_property(clean(f'gatekeeper {check.name}: {finding.rule_id}'))}"]
        if finding.location:
            props.insert(0, f"file={_escape_property(clean(finding.location.path))}")
            if finding.location.line:
                props.insert(1, f"line={finding.location.line}")
                if finding.location.end_line:
                    props.insert(2, f"endLine={finding.location.end_line}")
        message = finding.message
        if finding.package:
            message = f"{finding.package.name} {finding.package.version}: {message}"
        lines.append(f"::error {','.join(props)}::{_escape_data(clean(message))}")
    if len(blocking) > cap:
        lines.append(f"::warning title=gatekeeper::{len(blocking) - cap} more blocking findings are in the reports")
    tree = result.extra.get("checkout") or {}
    for text in tree_lines(tree, shown=20):
        lines.append(f"::error title=gatekeeper checkout::{_escape_data(clean(text))}")
    if tree.get("error"):
        text = f"{UNCOMPARED}: {tree['error']}"
        lines.append(f"::error title=gatekeeper checkout::{_escape_data(clean(text))}")
    for check in result.checks:
        if check.status is Status.ERROR:
            lines.append(
                f"::error title={_escape_property('gatekeeper ' + check.name)}::{_escape_data(clean(check.error or 'error'))}"
            )
    return lines


def tree_lines(tree: Mapping[str, Any], shown: int = 10) -> list[str]:
    """What the run wrote into the checkout, a sentence per kind (tracked files changed, untracked
    files created, removed, rewritten, tracked files written and put back), each naming at most ``shown`` files."""
    said = {
        "changed": "the run changed {n} tracked file(s) of the checkout it judged: {files}",
        "created": "the run created {n} untracked file(s) that git does not ignore in the checkout it judged: {files} "
        "(if the tests write them on purpose, list them in .gitignore)",
        "removed": "the run removed {n} untracked file(s) from the checkout it judged: {files} "
        "(if the tests remove them on purpose, list them in .gitignore)",
        "rewritten": "the run rewrote {n} untracked file(s) that git does not ignore in the checkout it judged: {files} "
        "(if the tests write them on purpose, list them in .gitignore)",
        "restored": "the run wrote {n} tracked file(s) of the checkout it judged and put their bytes back: {files} "
        "(the checks that read them meanwhile may have read other bytes)",
        "git_settings": "the run wrote {n} file(s) of git's ignore rules or configuration, which decide the files the "
        "checks list: {files}",
        "read_written": "the run wrote or removed {n} file(s) a check read that the checkout's comparison does not "
        "cover (git ignores them, or the root is no git work tree): {files} "
        "(the tool and the cache key may have read other bytes)",
        "transient": "the run created and removed again {n} file(s) of a tool configuration's name in the checkout "
        "it judged: {files} (a tool may have read them meanwhile)",
        "links_out": "the checkout holds {n} link(s) leading outside its git work tree, which the tools would follow: "
        "{files} (" + linksout.CURE + ")",
        "reencoded": "git checks out {n} tracked file(s) in another encoding than the repository stores them, so the "
        "tools would read other bytes than it holds (a key stored as UTF-8 checked out as UTF-32 matches no pattern): "
        "{files} (drop their working-tree-encoding attribute in .gitattributes, .git/info/attributes or core.attributesFile)",
    }
    out = []
    for key, text in said.items():
        paths = [clean_line(str(f)) for f in tree.get(key) or ()]
        if paths:
            files = ", ".join(paths[:shown]) + (f" and {len(paths) - shown} more" if len(paths) > shown else "")
            out.append(text.format(n=len(paths), files=files))
    return out


def _why(result: GateResult) -> str:
    """What the verdict line says about the verdict: a pass of part of the policy says it gates nothing."""
    scope = result.extra.get("scope")
    if result.verdict is Verdict.PASS and isinstance(scope, Mapping) and scope.get("complete") is False:
        from gatekeeper.gated import partial_note

        return f"every selected check passed; {partial_note(scope)}: it gates no commit"
    return {
        Verdict.PASS: "every enabled check passed",
        Verdict.FAIL: "at least one check violated the policy",
        Verdict.ERROR: "a check could not run (gate.fail_on_error)",
    }[result.verdict]
