"""Patch coverage: the lines changed since the merge base of HEAD and ``diff_base`` (git diff, like
diff-cover) measured against the coverage data, and the findings when too few are covered."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from gatekeeper import process
from gatekeeper.checkers.base import CheckContext
from gatekeeper.checkers.coverage.report import (
    CHECK,
    CoverageReport,
    covered_percent,
    display_covered,
    number_text,
    should_fail_under,
    shown_percent,
)
from gatekeeper.errors import ToolError
from gatekeeper.findings import NO_BASELINE, Finding, Location, Narrowing, Severity, fingerprint

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def changed_lines(ctx: CheckContext, base: str) -> tuple[dict[str, set[int]], list[dict[str, str | None]]]:
    """Lines added or changed since the merge base of HEAD and ``base``, by path relative to the root,
    and the submodules whose recorded commit changed (``moved_submodules``): git diff shows such a
    change as one "Subproject commit" line, never the code it brings, which no figure can count.

    The diff runs from the merge base to the working tree (so uncommitted edits count), like
    diff-cover. Raises ToolError when there is no git repository, no such ref or no common history.
    """
    inside = ctx.run(["git", "rev-parse", "--is-inside-work-tree"])
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise ToolError(
            f"patch coverage (checks.coverage.min_diff) needs git history, but {ctx.root} is not in a git work tree "
            f"({process.tail(inside.stderr, 200)}); set min_diff = 0 or run in a git checkout"
        )
    merge = ctx.run(["git", "merge-base", "HEAD", base])
    if merge.returncode != 0 or not merge.stdout.strip():
        detail = process.tail(merge.stderr, 200) or "no common ancestor"
        raise ToolError(
            f"cannot find the merge base of HEAD and {base!r} ({detail}): fetch the base branch with its history "
            "(e.g. git fetch origin main, or fetch-depth: 0 in actions/checkout) or set checks.coverage.diff_base"
        )
    mb = merge.stdout.strip().splitlines()[0]
    done = ctx.run(
        [
            "git",
            "-c",
            "core.quotepath=off",
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",  # the lines as the files hold them, whatever driver the checkout's .gitattributes names
            "--text",  # a .gitattributes marking the code binary or -diff printed "Binary files differ", no line
            "--unified=0",
            "--src-prefix=a/",  # whatever diff.noprefix or diff.mnemonicPrefix (w/, c/) the configuration sets
            "--dst-prefix=b/",
            "--relative",
            "--find-renames",  # renames as git diff finds them by default, never copies (diff.renames = copies)
            # a submodule's commit as "Subproject commit SHA" lines, whatever diff.submodule (log lists its
            # commits) or an ignore setting (diff.ignoreSubmodules, .gitmodules' ignore = all) says
            "--submodule=short",
            "--ignore-submodules=none",
            # every change but a deletion: a committed link turned into a module is a type change (T),
            # which AMRC left out with every line of it
            "--diff-filter=d",
            mb,
            "--",
        ]
    )
    if done.returncode != 0:
        raise ToolError(f"git diff {mb[:12]} failed: {process.tail(done.stderr, 300)}")
    moved = moved_submodules(done.stdout)
    return {p: lines for p, lines in parse_diff(done.stdout).items() if p not in {m["path"] for m in moved}}, moved


_GITLINK_HEADER = re.compile(r"^(?:new file mode 160000|new mode 160000|index \S+ 160000)$")


def moved_submodules(text: str) -> list[dict[str, str | None]]:
    """The gitlinks of a ``git diff --submodule=short`` output whose commit changed: ``path``, ``from``
    (None: the submodule is new) and ``to`` (the checked-out commit, ``-dirty`` when its work tree is
    changed). A file's header is never a hunk's line (those begin with +, - or \\), so a line of code
    reading "Subproject commit" counts only in a file the header marks a gitlink (mode 160000)."""
    moved: list[dict[str, str | None]] = []
    gitlink, path, before = False, None, None
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            gitlink, path, before = False, None, None
        elif _GITLINK_HEADER.match(line):
            gitlink = True
        elif line.startswith("+++ ") and gitlink:
            name = _unquoted(line[4:].rstrip("\t"))
            path = name[2:] if name.startswith("b/") else name
        elif gitlink and path is not None and line.startswith("-Subproject commit "):
            before = line.split()[-1]
        elif gitlink and path is not None and line.startswith("+Subproject commit "):
            moved.append({"path": path, "from": before, "to": line.split()[-1]})
    return moved


#: what the record of a moved submodule says it did to the patch figure
SUBMODULE_EFFECT = (
    "git diff shows a submodule's new commit as one line, not the code it brings: the changed lines of the "
    "submodule are in no patch coverage figure, and min_diff judged the others alone"
)


def submodule_records(moved: Sequence[Mapping[str, str | None]]) -> tuple[Narrowing, ...]:
    """One ``not-scanned`` record per submodule whose commit changed since the diff base."""
    return tuple(
        Narrowing("not-scanned", ".gitmodules", None, submodule_note([m]), SUBMODULE_EFFECT, (str(m["path"]),)) for m in moved
    )


def submodule_note(moved: Sequence[Mapping[str, str | None]]) -> str:
    """What the summary says of the submodules whose commit changed ("" when none did)."""
    return ", ".join(
        f"submodule {m['path']} moved {str(m['from'])[:12]}..{str(m['to'])[:12]}"
        if m["from"]
        else f"submodule {m['path']} added at {str(m['to'])[:12]}"
        for m in moved
    )


def parse_diff(text: str) -> dict[str, set[int]]:
    """The added line numbers per new path in a ``git diff --unified=0`` output.

    A hunk's lines are skipped by the counts its header gives, never read as headers: an added line
    holding ``++ /dev/null`` (in a string) is ``+++ /dev/null`` in the diff, and one holding a form
    feed or U+2028 (which ``str.splitlines`` splits at) began a line of its own; either ended the file's
    changes there, and its later hunks, uncovered code, were no file's."""
    changed: dict[str, set[int]] = {}
    current: str | None = None
    removed = added = 0  # the lines of the current hunk still to come
    for line in text.split("\n"):
        if removed or added:
            if line.startswith("\\"):  # "\ No newline at end of file" is no line of the hunk
                continue
            if line.startswith("-") and removed:
                removed -= 1
                continue
            if line.startswith("+") and added:
                added -= 1
                continue
            removed = added = 0  # not the hunk's: read as a header
        if line.startswith("+++ "):
            name = _unquoted(line[4:].rstrip("\t"))
            current = None if name == "/dev/null" else (name[2:] if name.startswith("b/") else name)
            continue
        match = _HUNK.match(line)
        if match:
            removed = int(match.group(1) if match.group(1) is not None else 1)
            start, added = int(match.group(2)), int(match.group(3) if match.group(3) is not None else 1)
            if current is not None:
                changed.setdefault(current, set()).update(range(start, start + added))
    return {path: lines for path, lines in changed.items() if lines}


#: the escapes of a name git quotes (a ``"``, ``\\`` or control character in it): C's
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquoted(name: str) -> str:
    """A path as git names it in a diff's header, its quotes undone: ``"b/pkg/we\\"ird.py"`` is
    ``b/pkg/we"ird.py`` (read as written, such a file's changed lines were no file's, and min_diff
    passed over them); octal escapes are the bytes of its UTF-8 name."""
    if len(name) < 2 or not name.startswith('"') or not name.endswith('"'):
        return name
    body, out, at = name[1:-1], bytearray(), 0
    while at < len(body):
        char = body[at]
        if char == "\\" and at + 1 < len(body):
            following = body[at + 1]
            if following in "0123" and len(body) >= at + 4 and all(c in "01234567" for c in body[at + 1 : at + 4]):
                out.append(int(body[at + 1 : at + 4], 8))
                at += 4
                continue
            out.append(_ESCAPES.get(following, ord(following) if following.isascii() else 63))
            at += 2
            continue
        out += char.encode("utf-8", "surrogateescape")
        at += 1
    return out.decode("utf-8", "surrogateescape")


def patch_coverage(
    report: CoverageReport,
    changed: Mapping[str, set[int]],
    minimum: float,
    base: str,
    moved: Sequence[Mapping[str, str | None]] = (),
) -> tuple[dict[str, Any], list[Finding]]:
    """The coverage of the ``changed`` lines the data measures: the ``diff`` metric, a finding per
    file with uncovered changed lines, and a blocking one below ``minimum``."""
    p = report.precision
    measured_total = covered_total = 0
    uncovered_by_file: dict[str, list[int]] = {}
    for f in report.files:
        lines = changed.get(f.path)
        if not lines:
            continue
        measurable = lines & f.lines
        uncovered = sorted(measurable & f.missing_lines)
        measured_total += len(measurable)
        covered_total += len(measurable) - len(uncovered)
        if uncovered:
            uncovered_by_file[f.path] = uncovered
    exact = covered_percent(covered_total, measured_total) if measured_total else None
    percent = float(display_covered(exact, p)) if exact is not None else None
    failing = exact is not None and should_fail_under(exact, minimum, p)
    findings: list[Finding] = []
    for path, uncovered_lines in sorted(uncovered_by_file.items()):
        ranges = line_ranges(uncovered_lines)
        plural = "s" if len(uncovered_lines) != 1 else ""
        findings.append(
            Finding(
                rule_id="coverage.diff_uncovered",
                severity=Severity.MEDIUM,
                message=f"{len(uncovered_lines)} changed line{plural} not covered by tests: {ranges}",
                blocking=failing,
                location=Location(path, line=uncovered_lines[0], end_line=uncovered_lines[-1]),
                fingerprint=fingerprint(CHECK, "coverage.diff_uncovered", path, ranges),
                rule_name="changed lines not covered",
                tags=("coverage", "patch"),
                properties={"lines": ranges, "count": len(uncovered_lines)},
            )
        )
    if failing:
        findings.append(
            Finding(
                rule_id="coverage.min_diff",
                severity=Severity.HIGH,
                message=f"patch coverage {shown_percent(percent, p)} "
                f"({covered_total} of {measured_total} changed lines since {base}) "
                f"is below the minimum {number_text(minimum)}%",
                blocking=True,
                fingerprint=fingerprint(CHECK, "coverage.min_diff"),
                rule_name="minimum patch coverage",
                tags=("coverage", "patch", NO_BASELINE),
                properties={"percent": percent, "minimum": minimum},
            )
        )
    diff = {
        "percent": percent,
        "changed_lines": measured_total,
        "covered_lines": covered_total,
        "base": base,
        "files": {path: line_ranges(lines) for path, lines in sorted(uncovered_by_file.items())},
        # not measured: the code a moved submodule brings is in no changed line above
        "submodules": [dict(m) for m in moved],
    }
    return diff, findings


def line_ranges(lines: Sequence[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    parts: list[str] = []
    ordered = sorted(set(lines))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)
