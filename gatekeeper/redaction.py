"""Redaction: masks anything that looks like a credential before a string is recorded.

The audit log and the run's provenance copy strings that come from outside gatekeeper (branch
names, CI variables, tool messages); ``redact`` is applied to every one of them. It errs on the
side of masking: a long random-looking token is hidden even when it may be harmless.
"""

from __future__ import annotations

import math
import re
from collections import Counter

MASK = "[REDACTED]"

#: Credentials with a recognisable shape, replaced whole.
_TOKENS = re.compile(
    r"""
      gh[pousr]_[A-Za-z0-9]{20,}                     # GitHub tokens (classic, OAuth, app, refresh)
    | github_pat_[A-Za-z0-9_]{20,}                   # GitHub fine-grained tokens
    | glpat-[A-Za-z0-9_\-]{20,}                      # GitLab personal access tokens
    | gl(?:cbt|dt|rt|ptt|ft|imt|oas|agent)-[A-Za-z0-9_\-]{16,}  # other GitLab tokens
    | (?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}  # AWS access key ids
    | xox[abposr]-[A-Za-z0-9\-]{10,}                 # Slack tokens
    | sk-[A-Za-z0-9_\-]{20,}                         # OpenAI-style secret keys
    | pypi-[A-Za-z0-9_\-]{40,}                       # PyPI upload tokens
    | npm_[A-Za-z0-9]{30,}                           # npm tokens
    | eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}  # JSON Web Tokens
    | -----BEGIN[ A-Z]*PRIVATE\ KEY-----.*?(?:-----END[ A-Z]*PRIVATE\ KEY-----|$)
    """,
    re.VERBOSE | re.DOTALL,
)

#: ``Authorization: Bearer xyz`` / ``Basic xyz``: the scheme stays, the credential goes.
_AUTH = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/\-]{8,}=*)")

#: ``password=...``, ``api_key: ...``, ``"token": "..."``: the key stays, the value goes.
_ASSIGNED = re.compile(
    r"""(?ix)
    \b([a-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|auth)[a-z0-9_\-]*)
    (["']?\s*[:=]\s*["']?)
    ([^\s"'&,;]+)
    """
)

_KEEP = frozenset({MASK, "Bearer", "bearer", "Basic", "basic", "[REDACTED]@"})

#: ``scheme://user:password@host``: the credentials go.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]+@")

#: Long runs of token alphabet, masked when they look random (see ``_looks_random``).
_LONG = re.compile(r"[A-Za-z0-9+/_\-]{32,}={0,2}")


def redact(text: str) -> str:
    """``text`` with every token-like substring replaced by ``[REDACTED]``."""
    if not text:
        return text
    out = _TOKENS.sub(MASK, text)
    out = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}@", out)
    out = _AUTH.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    out = _ASSIGNED.sub(lambda m: m.group(0) if m.group(3) in _KEEP else f"{m.group(1)}{m.group(2)}{MASK}", out)
    return _LONG.sub(lambda m: MASK if _looks_random(m.group(0)) else m.group(0), out)


def _looks_random(word: str) -> bool:
    """Hex of 40+ characters, or a mix of letters and digits dense enough to be a key."""
    if re.fullmatch(r"[0-9a-fA-F]{40,}", word):
        return True
    digits = sum(c.isdigit() for c in word)
    if digits < 2 or not any(c.isalpha() for c in word):
        return False
    counts = Counter(word)
    entropy = -sum(n / len(word) * math.log2(n / len(word)) for n in counts.values())
    return entropy >= 4.2
