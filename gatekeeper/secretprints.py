"""The secrets check's fingerprints, and results stored in their earlier form read in today's.

A secrets finding's fingerprint is made of the check, its rule (the secret's type), its file and
its place among that rule's findings in that file: the first has no number, the second ``1``, and
so on (``prints``). Nothing in it comes from the secret. Earlier, it hashed detect-secrets'
``hashed_secret``, an unsalted SHA-1 of the secret that the findings also carried (in
``properties`` and, its first 12 digits, in the message): from those, a short or common secret is
recovered by hashing candidates. A result stored then (a ``gatekeeper.json``, a new-code run's
REF result) is read with those values replaced (``upgraded``), so that nothing made from it
(a report, a new-code comparison, the audit record) carries them again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gatekeeper.findings import Finding, GateResult, fingerprint

CHECK = "secrets"
#: the property in which findings of the earlier form carried detect-secrets' SHA-1 of the secret
LEGACY_PROPERTY = "hashed_secret"
#: the SHA-1's first digits, as the earlier form's messages quoted them
_LEGACY_MESSAGE = re.compile(r", sha1 [0-9a-f]{6,40}…?")


def prints(counts: Mapping[tuple[str, str], int]) -> list[str]:
    """The fingerprints of ``counts[rule, path]`` secrets findings of each rule in each file."""
    return [fingerprint(CHECK, rule, path, *([n] if n else [])) for (rule, path), c in sorted(counts.items()) for n in range(c)]


def _order(f: Finding) -> tuple[str, int, str]:
    loc = f.location
    return (loc.path if loc else "", (loc.line or 0) if loc else 0, f.rule_id)


def upgraded(result: GateResult) -> GateResult:
    """``result`` with the secrets findings of the earlier form (those that carry ``hashed_secret``)
    given today's fingerprints, their messages without the SHA-1's digits and their properties
    without it; the waivers' lists of the fingerprints they covered follow. A result of today's
    form is returned as it is."""
    renamed: dict[str, str] = {}
    checks = []
    for check in result.checks:
        if check.name != CHECK or not any(LEGACY_PROPERTY in f.properties for f in check.findings):
            checks.append(check)
            continue
        seen: Counter[tuple[str, str]] = Counter()
        findings = []
        for f in sorted(check.findings, key=_order):
            key = (f.rule_id, f.location.path if f.location else "")
            n = seen[key]
            seen[key] += 1
            fp = fingerprint(CHECK, *key, *([n] if n else []))
            renamed[f.fingerprint] = fp
            props = {k: v for k, v in f.properties.items() if k != LEGACY_PROPERTY}
            findings.append(replace(f, fingerprint=fp, message=_LEGACY_MESSAGE.sub("", f.message), properties=props))
        checks.append(replace(check, findings=tuple(findings)))
    if not renamed:
        return result
    return replace(result, checks=tuple(checks), waivers=_renamed_waivers(result.waivers, renamed))


def _renamed_waivers(waivers: Mapping[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
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
