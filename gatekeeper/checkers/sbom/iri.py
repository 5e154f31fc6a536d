"""RFC 3987 IRI syntax as one regular expression, for the SBOM's ``iri-reference`` format check.

jsonschema checks ``format: iri-reference`` with rfc3987-syntax, a Lark Earley parser that costs
tens of milliseconds per value: a validating ``cyclonedx-py environment`` run spent 5.9 of its 6.2 s
there on 70 components (about 95 %).
The IRI grammar is regular, so this module transcribes rfc3987-syntax's own grammar
(``syntax_rfc3987.lark``, which follows RFC 3987 §2.2) rule by rule into a regular expression that
accepts the same strings; tests compare the two on the SBOM's IRIs and on generated strings.
As in that grammar, ``ucschar`` covers the Basic Multilingual Plane only.

Each character of ``ucschar`` stands in the grammar where every other one does (in ``iunreserved``),
and so does each of ``iprivate`` (in ``iquery``): which one of them a string holds never decides a
match. So the pattern names one of each (the first), and a string is matched with each such
character replaced by that one (``_marked``; ASCII, almost every SBOM IRI, is matched as it is).
A pattern spelling the classes out costs ~16 ms to compile, Python's ``re`` visiting every code
point of each of its dozen copies of them; this one ~3 ms.
"""

from __future__ import annotations

import re
from functools import cache

_ALPHA = "A-Za-z"
_DIGIT = "0-9"
_HEXDIG = "0-9A-Fa-f"
#: RFC 3987's ``ucschar`` (the grammar's: the Basic Multilingual Plane's) and ``iprivate``, as code point ranges
_UCSCHAR_RANGES = ((0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF))
_IPRIVATE_RANGES = ((0xE000, 0xF8FF),)
#: the one character of each that the pattern names, and that ``_marked`` puts for any of them
_UCSCHAR = chr(_UCSCHAR_RANGES[0][0])
_IPRIVATE = chr(_IPRIVATE_RANGES[0][0])
_SUB_DELIMS = "!$&'()*+,;="
_IUNRESERVED = f"{_ALPHA}{_DIGIT}\\-._~{_UCSCHAR}"
_PCT = f"%[{_HEXDIG}][{_HEXDIG}]"

_IPCHAR = f"(?:[{_IUNRESERVED}{re.escape(_SUB_DELIMS)}:@]|{_PCT})"
_ISEGMENT = f"{_IPCHAR}*"
_ISEGMENT_NZ = f"{_IPCHAR}+"
_ISEGMENT_NZ_NC = f"(?:[{_IUNRESERVED}{re.escape(_SUB_DELIMS)}@]|{_PCT})+"

_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16 = f"[{_HEXDIG}]{{1,4}}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = (  # the grammar's nine alternatives, verbatim (it is narrower than RFC 3986's IPv6address)
    "(?:"
    f"(?:{_H16}:){{6}}{_LS32}"
    f"|::(?:{_H16}:){{5}}{_LS32}"
    f"|{_H16}::(?:{_H16}:){{4}}{_LS32}"
    f"|{_H16}:{_H16}::(?:{_H16}:){{3}}{_LS32}"
    f"|(?:{_H16}:){{2}}{_H16}::(?:{_H16}:){{2}}{_LS32}"
    f"|(?:{_H16}:){{3}}{_H16}::{_H16}:{_LS32}"
    f"|(?:{_H16}:){{4}}{_H16}::{_LS32}"
    f"|(?:{_H16}:){{5}}{_H16}::{_H16}"
    f"|(?:{_H16}:){{6}}{_H16}::"
    ")"
)
_IPVFUTURE = f"v[{_HEXDIG}]+\\.[{_ALPHA}{_DIGIT}\\-._~{re.escape(_SUB_DELIMS)}:]+"
_IP_LITERAL = rf"\[(?:{_IPV6}|{_IPVFUTURE})\]"
_IREG_NAME = f"(?:[{_IUNRESERVED}{re.escape(_SUB_DELIMS)}]|{_PCT})*"
_IHOST = f"(?:{_IP_LITERAL}|{_IPV4}|{_IREG_NAME})"
_IUSERINFO = f"(?:[{_IUNRESERVED}{re.escape(_SUB_DELIMS)}:]|{_PCT})*"
_IAUTHORITY = f"(?:{_IUSERINFO}@)?{_IHOST}(?::[{_DIGIT}]*)?"

_IPATH_ABEMPTY = f"(?:/{_ISEGMENT})*"
_IPATH_ABSOLUTE = f"/(?:{_ISEGMENT_NZ}(?:/{_ISEGMENT})*)?"
_IPATH_NOSCHEME = f"{_ISEGMENT_NZ_NC}(?:/{_ISEGMENT})*"
_IPATH_ROOTLESS = f"{_ISEGMENT_NZ}(?:/{_ISEGMENT})*"

_SCHEME = f"[{_ALPHA}][{_ALPHA}{_DIGIT}+\\-.]*"
_IHIER_PART = f"(?://{_IAUTHORITY}{_IPATH_ABEMPTY}|{_IPATH_ABSOLUTE}|{_IPATH_ROOTLESS}|)"
_IRELATIVE_PART = f"(?://{_IAUTHORITY}{_IPATH_ABEMPTY}|{_IPATH_ABSOLUTE}|{_IPATH_NOSCHEME}|)"
_IQUERY = f"(?:{_IPCHAR}|[{_IPRIVATE}/?])*"
_IFRAGMENT = f"(?:{_IPCHAR}|[/?])*"

_IRI = f"{_SCHEME}:{_IHIER_PART}(?:\\?{_IQUERY})?(?:#{_IFRAGMENT})?"
_IRELATIVE_REF = f"{_IRELATIVE_PART}(?:\\?{_IQUERY})?(?:#{_IFRAGMENT})?"


# Compiled on first use, each once: compiling the two patterns costs ~3 ms apiece in the
# validator's process, and an SBOM's IRI references are almost all absolute (a relative one is
# rare). ``IRI-reference = IRI / irelative-ref``, and a full match of an alternation is a full
# match of one of its branches, so the two are tried in turn.
@cache
def _pattern(which: str) -> re.Pattern[str]:
    return re.compile(_IRI if which == "iri" else _IRELATIVE_REF)


def _mark(char: str) -> str:
    code = ord(char)
    if any(low <= code <= high for low, high in _UCSCHAR_RANGES):
        return _UCSCHAR
    if any(low <= code <= high for low, high in _IPRIVATE_RANGES):
        return _IPRIVATE
    return char


def _marked(value: str) -> str:
    """``value`` with each ``ucschar`` replaced by ``_UCSCHAR`` and each ``iprivate`` by ``_IPRIVATE``:
    it matches the pattern exactly when ``value`` matches the grammar (the module's docstring)."""
    return value if value.isascii() else "".join(map(_mark, value))


def is_iri(value: object) -> bool:
    """RFC 3987 ``IRI`` (non-strings pass, as jsonschema's format checks do)."""
    return not isinstance(value, str) or _pattern("iri").fullmatch(_marked(value)) is not None


def is_iri_reference(value: object) -> bool:
    """RFC 3987 ``IRI-reference`` (non-strings pass, as jsonschema's format checks do)."""
    if not isinstance(value, str):
        return True
    value = _marked(value)
    return _pattern("iri").fullmatch(value) is not None or _pattern("irelative-ref").fullmatch(value) is not None
