"""Findings that point at a secret: fingerprints made of their place, and results stored in the
earlier form read in today's.

A finding's fingerprint usually hashes what it flags (bandit's and ruff's the flagged line), so
that it survives code moving. For a finding that flags a secret that hash is a digest of the
secret: whoever reads a report or baseline recovers a weak one (``hunter2``, a PIN) by hashing
candidates, salted or slow hash alike. So these findings (``placed``: every finding of the secrets
check, and those of ruff's and bandit's rules that flag a hardcoded password) have a fingerprint
made of the check, the rule, the file and the finding's place among that rule's findings in that
file: the first has no number, the second ``1``, and so on (``prints``). Nothing in it comes from
the secret; it is the same on every machine, and two secrets of one rule on one line are two.

Earlier, the secrets check hashed detect-secrets' ``hashed_secret`` (an unsalted SHA-1 of the
secret) into its fingerprints and carried it in ``properties`` and, its first 12 digits, in the
message; bandit's password findings carried the password in their message and code excerpt. A
result stored then (a ``gatekeeper.json`` read back, a new-code run's REF result) is read with
those values replaced (``upgraded``), so that nothing made from it carries them again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gatekeeper.findings import CheckResult, Finding, GateResult, Location, fingerprint

CHECK = "secrets"
#: ruff's rules (flake8-bandit's) that flag a password written in the code
LINT_RULES = frozenset({"S105", "S106", "S107"})
#: bandit's tests that flag a password written in the code (string, function argument, default)
SECURITY_TESTS = frozenset({"B105", "B106", "B107"})
#: the checks whose findings are placed, and which of their rules (None: all)
PLACED: Mapping[str, frozenset[str] | None] = {CHECK: None, "lint": LINT_RULES, "security": SECURITY_TESTS}
#: what findings of the earlier form carried of the secret, in ``properties``
LEGACY_PROPERTIES = frozenset({"hashed_secret", "code"})
#: the SHA-1's first digits, as the secrets check's earlier messages quoted them
_LEGACY_DIGITS = re.compile(r", sha1 [0-9a-f]{6,40}…?")
#: a message that quotes a value after a colon (bandit's ``Possible hardcoded password: 'x'``)
_QUOTED = re.compile(r"^(?P<head>[^'\"]*?)\s*:\s*['\"].*$", re.DOTALL)


def placed(check: str, rule: str) -> bool:
    """Whether a finding of ``check`` and ``rule`` flags a secret (its fingerprint is its place)."""
    if check not in PLACED:
        return False
    rules = PLACED[check]
    return rules is None or rule in rules


def prints(check: str, counts: Mapping[tuple[str, str], int]) -> list[str]:
    """The fingerprints of ``counts[rule, path]`` placed findings of ``check`` of each rule in each file."""
    return [fingerprint(check, rule, path, *([n] if n else [])) for (rule, path), c in sorted(counts.items()) for n in range(c)]


def withheld_message(text: str, name: str) -> str:
    """A message that may quote a password, without it: cut before the quoted value (``Possible
    hardcoded password``), or, in another form, ``possible hardcoded secret (NAME)``."""
    match = _QUOTED.match(text)
    head = match.group("head").strip() if match else ""
    return f"{head} (the value is not reported)" if head else f"possible hardcoded secret ({name})"


#: the checks whose fingerprints hash the flagged line (``source.line_hash``): on a line the
#: secrets check flags, theirs are placed instead (``on_secret_lines``)
LINE_HASHED = frozenset({"lint", "types", "security"})
#: what places a finding of another check on a line the secrets check flags (``on_secret_lines``)
ON_FLAGGED_LINE = "on a line the secrets check flags"


def on_secret_lines(checks: Sequence[CheckResult]) -> tuple[tuple[CheckResult, ...], dict[str, str]]:
    """``checks`` with each finding of another check whose lines take in one the secrets check
    flags placed: a fingerprint of its check, rule, file and place among such findings of that rule
    in that file (``ON_FLAGGED_LINE``), not the hash of its line that lint, types and security make
    (a dictionary recovers a weak secret from it: ``password = "hunter2"`` is ruff's F841 too), and
    no code excerpt. Also {fingerprint: the one it had before}, for matching a baseline or a REF
    made before (``waivers.apply_waivers``): a placed one's line hash as it was before lines were
    masked (``CheckResult.prior_prints``), and each other masked line's; kept in memory, never written."""
    lines = {(loc.path, loc.line) for c in checks if c.name == CHECK for f in c.findings if (loc := f.location) is not None}
    earlier: dict[str, str] = {k: v for c in checks for k, v in c.prior_prints.items()}
    if not lines:
        return tuple(checks), earlier
    out = []
    for check in checks:
        seen: Counter[tuple[str, str]] = Counter()
        changed: dict[int, Finding] = {}
        for n, f in sorted(enumerate(check.findings), key=lambda item: _order(item[1])):
            if check.name not in LINE_HASHED or placed(check.name, f.rule_id) or not _on(f.location, lines):
                continue
            key = (f.rule_id, f.location.path if f.location else "")
            fp = fingerprint(check.name, *key, ON_FLAGGED_LINE, *([seen[key]] if seen[key] else []))
            seen[key] += 1
            earlier[fp] = check.prior_prints.get(f.fingerprint, f.fingerprint)
            props = {k: v for k, v in f.properties.items() if k != "code"}
            changed[n] = replace(f, fingerprint=fp, properties=props)
        out.append(replace(check, findings=tuple(changed.get(n, f) for n, f in enumerate(check.findings))) if changed else check)
    return tuple(out), earlier


def _on(loc: Location | None, lines: set[tuple[str, int | None]]) -> bool:
    """Whether ``loc``'s lines take in one of ``lines`` (path, line)."""
    if loc is None or loc.line is None:
        return False
    return any((loc.path, n) in lines for n in range(loc.line, max(loc.line, loc.end_line or loc.line) + 1))


def _order(f: Finding) -> tuple[str, int, int]:
    loc = f.location
    return (loc.path, loc.line or 0, loc.column or 0) if loc else ("", 0, 0)


def upgraded(result: GateResult) -> GateResult:
    """``result`` with the placed findings of a check stored in the earlier form (one of them
    carries a ``LEGACY_PROPERTIES`` key: the secrets check's SHA-1, bandit's code excerpt) given
    their fingerprints as made today (from rule, file and place), without what that form carried
    of the secret (those properties, the SHA-1's digits in a secrets message, the password bandit
    quoted); the waivers' lists of the fingerprints they covered follow. A check of today's form is
    read as it was written. (ruff's password findings had no such mark: a stored result's keep
    their earlier fingerprints, a hash of the line.)"""
    renamed: dict[str, str] = {}
    checks = [_upgraded_check(c, renamed) if _legacy(c) else c for c in result.checks]
    if not renamed:
        return result
    return replace(result, checks=tuple(checks), waivers=renamed_waivers(result.waivers, renamed))


def _legacy(check: CheckResult) -> bool:
    """Whether ``check`` was stored in the earlier form: one of its placed findings carries a
    ``LEGACY_PROPERTIES`` key."""
    return check.name in PLACED and any(
        placed(check.name, f.rule_id) and not LEGACY_PROPERTIES.isdisjoint(f.properties) for f in check.findings
    )


def _upgraded_check(check: CheckResult, renamed: dict[str, str]) -> CheckResult:
    seen: Counter[tuple[str, str]] = Counter()
    changed: dict[int, Finding] = {}
    for n, f in sorted(enumerate(check.findings), key=lambda item: _order(item[1])):
        if not placed(check.name, f.rule_id):
            continue
        key = (f.rule_id, f.location.path if f.location else "")
        fp = fingerprint(check.name, *key, *([seen[key]] if seen[key] else []))
        seen[key] += 1
        message = _LEGACY_DIGITS.sub("", f.message)
        if check.name == "security" and "code" in f.properties:  # bandit quoted the password in it
            message = withheld_message(message, f.rule_name or f.rule_id)
        props = {k: v for k, v in f.properties.items() if k not in LEGACY_PROPERTIES}
        if (fp, message, props) != (f.fingerprint, f.message, dict(f.properties)):
            renamed[f.fingerprint] = fp
            changed[n] = replace(f, fingerprint=fp, message=message, properties=props)
    if not changed:
        return check
    return replace(check, findings=tuple(changed.get(n, f) for n, f in enumerate(check.findings)))


def renamed_waivers(waivers: Mapping[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
    """A waiver summary with the fingerprints each entry lists renamed (``renamed``: old to new)."""
    out: dict[str, Any] = {}
    for kind, entries in waivers.items():
        if not isinstance(entries, list):
            out[kind] = entries
            continue
        out[kind] = [
            {**e, "fingerprints": sorted({renamed.get(p, p) for p in e["fingerprints"]})}
            if isinstance(e, dict) and isinstance(e.get("fingerprints"), list)
            else e
            for e in entries
        ]
    return out
