"""Redaction: masks anything that looks like a credential before text leaves the process.

Reports, the console, GitHub annotations, the job summary and the audit log all carry strings
that come from outside gatekeeper (file names, tool messages, branch names, CI variables). They
pass through this module once, at the boundary: ``redact_result`` for a whole result,
``redact_tree`` for a record (keys and values), ``redact`` for one line of text. Masked are
credentials with a known shape, ``user:password@`` in URLs, ``password=...`` assignments (not
after a key naming a collection, such as the ``secrets`` check's name), long
random-looking tokens, and the value of every environment variable whose name looks secret
(``*TOKEN*``, ``*SECRET*``, ``*KEY*``, ``*PASSWORD*``, the audit signing key). It errs on the
side of masking: a long random-looking token is hidden even when it may be harmless.

The random-token rule follows the entropy scanners. truffleHog (its README's "How it works") and
detect-secrets (``HexHighEntropyString`` limit 3.0, ``Base64HighEntropyString`` 4.5) flag any long
hex run: hex is too narrow an alphabet for entropy to tell a key from a digest, so here too 40 or
more hex digits are masked, unless what surrounds them says what they are, as detect-secrets'
``is_likely_id_string`` (``filters/heuristic.py``) trusts an ``id`` written before a value and
gitleaks' global allowlist (``cmd/generate/config/base/config.go``) trusts where a value sits (lock
files, ``*.dist-info``) rather than how it looks: a digest named by its algorithm or as a commit
(``sha256:``, ``commit``, each id of a ``commits A, B and C`` list), and a commit folder of a forge's
link (``/blob/<40 hex>/``). A path is judged folder by folder, so an advisory record's path
(``vulns/langchain-community/PYSEC-2024-115.yaml``) is kept. Known token shapes, user-info,
assignments and the environment's secrets are masked before any of these exceptions is consulted,
wherever they sit in a path or link.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatekeeper.findings import CheckResult, Finding, GateResult

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
#: Prose about the scheme (``HTTP Basic Authentication``, ``basic authentication``) names no credential.
_AUTH = re.compile(
    r"(?i)\b(bearer|basic)(\s+)(?!(?:authenticat|authoriz|credential)[a-z]*(?![A-Za-z0-9._~+/=\-]))([A-Za-z0-9._~+/\-]{8,}=*)"
)

#: ``password=...``, ``api_key: ...``, ``"token": "..."``: the key stays, the value goes.
_ASSIGNED = re.compile(
    r"""(?ix)
    \b([a-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|auth)[a-z0-9_\-]*)
    (["']?\s*[:=]\s*["']?)
    ([^\s"'&,;]+)
    """
)

#: an assigned value that stands for one: ``...``, ``…``, ``***`` (closing brackets and a full stop may follow)
_PLACEHOLDER = re.compile(r"(?:\.{3,}|…|\*{3,})[)\]}.]*")

#: one of these occurs in every text ``_ASSIGNED`` can match
_ASSIGNED_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "auth")

_KEEP = frozenset({MASK, "Bearer", "bearer", "Basic", "basic", "[REDACTED]@"})

#: A key that names a collection (``secrets: 3 found``, ``tokens = [...]``, the ``secrets`` check,
#: ``gatekeeper.checkers.secrets:SecretsChecker``) holds no single credential: what follows it is
#: prose or a name, and is left alone. A credential after it is still masked by shape
#: (``_TOKENS``) or as a long random-looking word.
_COLLECTIONS = ("secrets", "tokens", "passwords", "keys")

#: ``scheme://user:password@host`` and ``scheme://token@host``: the user-info goes (``git@``, an
#: account name and no credential, stays).
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)(?!git@)[^/\s@]+@")

#: Environment variables whose values are masked wherever they appear (names compared upper-case).
SECRET_NAME_PARTS = ("TOKEN", "SECRET", "KEY", "PASSWORD", "PASSWD", "CREDENTIAL")
#: The audit log's signing key, masked whatever it is called.
SIGNING_KEY_ENV = "GATEKEEPER_AUDIT_KEY"
#: Shorter values are not masked: they would hide ordinary words all over the output.
MIN_SECRET_LENGTH = 8

#: Keys whose values are names or digests, not prose: the random-token heuristic would mangle them
#: (a long path, a sha256) and is not applied; known token shapes and environment secrets still are.
_VERBATIM_KEYS = frozenset({"path", "root", "uri", "help_uri", "fingerprint", "sha256", "commit", "digest", "prev", "sig"})
_SCALARS = frozenset({int, float, bool, type(None)})
_HEX_DIGEST = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")

#: Long runs of token alphabet, masked when they look random (see ``_looks_random``).
_LONG = re.compile(r"[A-Za-z0-9+/_\-]{32,}={0,2}")

#: A digest is evidence, never a secret: hex of exactly the length of the algorithm named before
#: it on the same line (``sha256:<64 hex>``, ``# sha256 of that file: <64 hex>``, ``gitCommit``
#: with 40 or 64, ``commits`` and ``patch`` / ``patched`` as advisories name their fixes) is kept by
#: the random-token heuristic, and so is each of a list under one label; a secret word (``token``,
#: ``key``...) between label and run undoes the label. Known token shapes, environment secrets
#: and ``password=`` assignments are masked before this rule is consulted.
_DIGEST_LABEL = re.compile(r"(?i)\b(sha-?1|sha-?224|sha-?256|sha-?384|sha-?512|gitcommit|commits?|patch(?:ed)?)\b")
_DIGEST_LENGTHS = {"sha1": (40,), "sha224": (56,), "sha256": (64,), "sha384": (96,), "sha512": (128,),
                   "gitcommit": (40, 64), "commit": (40, 64), "commits": (40, 64),
                   "patch": (40, 64), "patched": (40, 64)}  # advisories: "The name of the patch is <commit>"  # fmt: skip
#: how far before a run its label is looked for: the label, 40 characters of gap and a few digests
#: of a list (``commits 537bc7c7..., 4a91f206... and 8933b8a2...``)
_LABEL_WINDOW = 48 + 3 * 66

#: Advisory ids long enough for the random-token rule (``SNYK-PYTHON-FLASKUNCHAINED-1293189``, which
#: OSV records list among their aliases); PYSEC-, GHSA- and CVE- ids are shorter than any run it judges.
_ADVISORY_ID = re.compile(r"SNYK-[A-Z]+(?:-[A-Z0-9]+)+-[0-9]+")

#: A commit in a forge's URL: the hex folder after ``blob/``, ``tree/``, ``commit/``, ``commits/``,
#: ``raw/`` or ``blame/`` (GitHub, GitLab's ``-/blob/``, Gitea), 40 or 64 lowercase hex digits as
#: git spells a commit id, is a name, not a secret (``github.com/tensorflow/tensorflow/blob/460e000d.../
#: tensorflow/lite/kernels/div.cc``, which advisories link to by the hundred). Only that folder is
#: spared: the rest of the path is judged as any other.
_GIT_REF = re.compile(r"(?<![^/])(blob|tree|commits?|raw|blame)/(?:[0-9a-f]{64}|[0-9a-f]{40})(?![^/])")


#: this process's environment (its raw bytes) and the secret values found in it: ``secret_values``
#: runs for every line printed and every string of a result, and decoding the environment each
#: time cost more than the masking itself; a changed environment is read again
_ENVIRON_SECRETS: tuple[dict[bytes, bytes], tuple[str, ...]] | None = None


def secret_values(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values (8 characters or more) of the environment variables whose names look secret,
    longest first, so that a value containing another is masked whole."""
    global _ENVIRON_SECRETS  # a cache of this process's environment
    if environ is None:
        raw = getattr(os.environ, "_data", None)  # CPython's bytes mapping: compared without decoding
        known = _ENVIRON_SECRETS
        if known is not None and known[0] == raw:
            return known[1]
        found = _secret_values(os.environ)
        if isinstance(raw, dict):
            _ENVIRON_SECRETS = (dict(raw), found)
        return found
    return _secret_values(environ)


def _secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    found = {
        value
        for name, value in env.items()
        if len(value) >= MIN_SECRET_LENGTH
        and (name.upper() == SIGNING_KEY_ENV or any(part in name.upper() for part in SECRET_NAME_PARTS))
    }
    return tuple(sorted(found, key=lambda v: (-len(v), v)))


def redact(text: str, secrets: Iterable[str] | None = None, *, heuristic: bool = True) -> str:
    """``text`` with every credential-like substring replaced by ``[REDACTED]``.

    ``secrets`` are literal values to mask (default: ``secret_values()`` of this process's
    environment); ``heuristic=False`` leaves long random-looking words (digests, paths) alone.
    """
    if not text:
        return text
    out = text
    for value in secret_values() if secrets is None else secrets:
        if value in out:
            out = out.replace(value, MASK)
    out = _TOKENS.sub(MASK, out)
    # the cheap substring tests spare most strings the costlier patterns (100,000 findings must not take minutes)
    if "@" in out:
        out = strip_userinfo(out, MASK + "@")
    lower = out.lower()
    if "bearer" in lower or "basic" in lower:
        out = _AUTH.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    if any(word in lower for word in _ASSIGNED_WORDS):
        out = _ASSIGNED.sub(_assigned, out)
    if not heuristic or len(out) < 32:
        return out
    return _LONG.sub(_mask_long, out)


def _assigned(m: re.Match[str]) -> str:
    """``key=value`` with the value masked, unless it is already a mask, the key names a collection,
    or the value is a placeholder: an ellipsis or asterisks (``protocol_factory(credentials=...)``, in an
    advisory), as gitleaks' global allowlist spares runs of one repeated character."""
    value = m.group(3)
    if value in _KEEP or m.group(1).lower().endswith(_COLLECTIONS) or _PLACEHOLDER.fullmatch(value):
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}{MASK}"


def strip_userinfo(text: str, replacement: str = "") -> str:
    """``text`` with the user-info (``user:password@``, ``token@``) of every URL in it replaced."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{replacement}", text)


def redact_tree(
    value: Any,
    secrets: Iterable[str] | None = None,
    *,
    heuristic: bool = True,
    _key: str = "",
    memo: dict[tuple[str, bool], str] | None = None,
) -> Any:
    """``value`` (JSON-like: mappings, lists, strings, scalars) with every string redacted, the
    keys of mappings included. A whole value that is a hex digest (a commit, a sha256) is kept;
    so are paths and digests under the keys in ``_VERBATIM_KEYS``, except for known secrets.
    ``memo`` (for the same ``secrets``) carries redacted strings from one call to the next."""
    known = tuple(secret_values() if secrets is None else secrets)
    memo = {} if memo is None else memo  # keys and many values repeat across thousands of findings

    def text(value: str, heuristic: bool) -> str:
        done = memo.get((value, heuristic))
        if done is None:
            keep = _HEX_DIGEST.fullmatch(value) is not None and value not in known
            done = memo[(value, heuristic)] = value if keep else redact(value, known, heuristic=heuristic)
        return done

    def walk(value: Any, key: str) -> Any:
        kind = type(value)
        if kind is str:
            return text(value, heuristic and key not in _VERBATIM_KEYS)
        if kind in _SCALARS:
            return value
        if kind is dict or isinstance(value, Mapping):
            return {(text(k, heuristic) if type(k) is str else k): walk(v, str(k)) for k, v in value.items()}
        if kind is list or isinstance(value, tuple):
            return [walk(v, key) for v in value]
        return text(value, heuristic) if isinstance(value, str) else value

    return walk(value, _key)


def _redact_finding(finding: Finding, known: tuple[str, ...], memo: dict[tuple[str, bool], str]) -> Finding:
    """``finding`` itself when redaction changes nothing in it (no second copy of 100,000 findings), else a redacted copy."""
    from gatekeeper.findings import Finding

    data = finding.to_dict()
    redacted = redact_tree(data, known, _key="findings", memo=memo)
    return finding if redacted == data else Finding.from_dict(redacted)


class Ahead:
    """Findings redacted ahead, as each check's result arrives while the others still run, for
    ``redact_result`` to take: a finding is looked up as the very object redacted (one a waiver
    replaced is redacted then), and only while the environment's secrets are the ones it used."""

    def __init__(self) -> None:
        self.known = secret_values()
        self.memo: dict[tuple[str, bool], str] = {}
        self._done: dict[int, tuple[Finding, Finding]] = {}  # id -> (the finding, redacted): kept alive, ids unique

    def redact(self, result: CheckResult) -> None:
        """Redact the findings of one check's result now."""
        for finding in result.findings:
            self._done[id(finding)] = (finding, _redact_finding(finding, self.known, self.memo))

    def finding(self, finding: Finding) -> Finding | None:
        """``finding`` as it was redacted ahead; None when it was not."""
        done = self._done.get(id(finding))
        return done[1] if done is not None and done[0] is finding else None


def redact_result(result: GateResult, ahead: Ahead | None = None) -> GateResult:
    """``result`` with every string redacted (``redact_tree`` over each part's JSON form): what the
    reports, the console, the annotations, the job summary and the audit record are made from.
    ``ahead``: the findings already redacted while the run went on (the same redaction)."""
    from dataclasses import replace

    from gatekeeper.findings import CheckResult, Finding

    known = secret_values()
    if ahead is not None and ahead.known != known:
        ahead = None  # the secrets to mask changed since: everything is redacted with today's
    memo: dict[tuple[str, bool], str] = ahead.memo if ahead is not None else {}

    def redacted(finding: Finding) -> Finding:
        done = ahead.finding(finding) if ahead is not None else None
        return done if done is not None else _redact_finding(finding, known, memo)

    checks = []
    for c in result.checks:
        # one finding at a time: the JSON form of 100,000 findings at once would take hundreds of MB
        head = CheckResult.from_dict(redact_tree(replace(c, findings=()).to_dict(), known, memo=memo))
        findings = tuple(redacted(f) for f in sorted(c.findings, key=Finding.sort_key))
        checks.append(replace(head, findings=findings, duration_s=c.duration_s))
    return replace(
        result,
        checks=tuple(checks),
        repository=redact_tree(dict(result.repository), known),
        policy=redact_tree(dict(result.policy), known),
        waivers=redact_tree(dict(result.waivers), known),
        extra=redact_tree(dict(result.extra), known),
    )


def _mask_long(match: re.Match[str]) -> str:
    """The masked run, or the run itself when it does not look random. A forge's commit folder
    (``_GIT_REF``) is left out of the judgement. A path is judged folder by folder: an absolute one
    (``/tmp/pytest-3/test_x0/python``, which tool errors quote), and a relative one with a ``_`` or
    ``-`` beside its ``/`` (``packaging/pep517_backend/_compat``, ``vulns/setuptools/PYSEC-2022-43012``),
    which no base64 encoding spells: the standard alphabet has ``/`` but neither of the others, the
    URL-safe one has them but no ``/``. One random folder masks the whole run. So the relative one is
    also judged stretch by stretch between its ``_`` and ``-`` (a stretch with a folder mixing upper
    and lower case and digits, as a key does and a folder seldom does): a standard base64 key, ``/``
    and all, beside a ``_`` or ``-`` (``deploy_<key>``, a branch ``ci/rotate-<key>``) is still masked."""
    word = match.group(0)
    if _labelled_digest(match):
        return word
    if _ADVISORY_ID.fullmatch(word):
        return word
    judged = _GIT_REF.sub(r"\1/", word) if "/" in word else word  # a forge's commit folder is a name
    if len(judged) < 32:
        return word
    if judged.startswith("/") and judged.count("/") >= 2:
        return MASK if _any_random(judged.split("/")) else word
    if "/" in judged and ("_" in judged or "-" in judged):
        stretches = (s for s in re.split(r"[_\-]", judged) if any(map(_KEYISH.search, s.split("/"))))
        return MASK if _any_random(judged.split("/")) or _any_random(stretches) else word
    return MASK if _looks_random(judged) else word


#: a folder name with upper and lower case letters and a digit
_KEYISH = re.compile(r"^(?=.*[A-Z])(?=.*[a-z])(?=.*[0-9])")


def _any_random(parts: Iterable[str]) -> bool:
    """True when one of ``parts`` is 32 characters or more and looks random."""
    return any(len(part) >= 32 and _looks_random(part) for part in parts)


def _labelled_digest(match: re.Match[str]) -> bool:
    """True when the run is lowercase hex of the exact length of the digest algorithm named just
    before it on its line (the last such name wins), e.g. ``sha256:3f2a...`` or ``commit 9c1e...``."""
    word = match.group(0)
    if not re.fullmatch(r"[0-9a-f]+", word):
        return False
    before = match.string[max(0, match.start() - _LABEL_WINDOW) : match.start()]
    labels = list(_DIGEST_LABEL.finditer(before))
    if not labels:
        return False
    lengths = _DIGEST_LENGTHS[labels[-1].group(1).lower().replace("-", "")]
    if len(word) not in lengths:
        return False
    # the gap may hold the earlier digests of a list under the same label, and 40 characters besides
    gap = re.sub(r"\b[0-9a-f]{32,}\b", lambda d: "" if len(d.group(0)) in lengths else d.group(0), before[labels[-1].end() :])
    if len(gap) > 40 or "\n" in gap or re.search(r"[A-Za-z0-9+/_\-]{32,}", gap):
        return False
    if gap.startswith("(") or re.search(r"\w\s*=", gap):  # a call (requests.patch(...)), or the hex is another name's value
        return False
    return not any(word in gap.lower() for word in _ASSIGNED_WORDS)  # "commit the token <hex>" names a secret


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
