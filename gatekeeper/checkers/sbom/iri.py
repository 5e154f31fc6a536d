"""RFC 3987 IRI syntax as one regular expression, for the SBOM's ``iri-reference`` format check.

jsonschema checks ``format: iri-reference`` with rfc3987-syntax, a Lark Earley parser that costs
tens of milliseconds per value: a validating ``cyclonedx-py environment`` run spent 5.9 of its 6.2 s
there on 70 components (about 95 %).
The IRI grammar is regular, so this module transcribes rfc3987-syntax's own grammar
(``syntax_rfc3987.lark``, which follows RFC 3987 §2.2) rule by rule into a regular expression that
accepts the same strings; tests compare the two on the SBOM's IRIs and on generated strings.
As in that grammar, ``ucschar`` covers the Basic Multilingual Plane only.
"""

from __future__ import annotations

import re
from functools import cache

_ALPHA = "A-Za-z"
_DIGIT = "0-9"
_HEXDIG = "0-9A-Fa-f"
_UCSCHAR = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
_IPRIVATE = "\ue000-\uf8ff"
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


# Compiled on first use, each once: compiling the two patterns costs ~30 ms apiece in the
# validator's process, and an SBOM's IRI references are almost all absolute (a relative one is
# rare). ``IRI-reference = IRI / irelative-ref``, and a full match of an alternation is a full
# match of one of its branches, so the two are tried in turn.
@cache
def _pattern(which: str) -> re.Pattern[str]:
    return re.compile(_IRI if which == "iri" else _IRELATIVE_REF)


def is_iri(value: object) -> bool:
    """RFC 3987 ``IRI`` (non-strings pass, as jsonschema's format checks do)."""
    return not isinstance(value, str) or _pattern("iri").fullmatch(value) is not None


def is_iri_reference(value: object) -> bool:
    """RFC 3987 ``IRI-reference`` (non-strings pass, as jsonschema's format checks do)."""
    if not isinstance(value, str):
        return True
    return _pattern("iri").fullmatch(value) is not None or _pattern("irelative-ref").fullmatch(value) is not None
