"""The hash algorithms an RFC 3161 token rests on, and which gatekeeper refuses.

A token binds a time to content through two hashes: its imprint (the content's digest, which
gatekeeper always asks for as SHA-256 and compares as such) and the digest the authority's
signature is computed over (the CMS SignerInfo's ``digestAlgorithm`` and ``signatureAlgorithm``).
OpenSSL's ``ts -verify`` accepts a token signed over SHA-1 or MD5, whose collisions can be made,
as code-signing verifiers no longer do; gatekeeper refuses it, at the run and at every verification.
"""

from __future__ import annotations

import re

#: algorithm names (as openssl prints them) whose collisions can be made
_WEAK = re.compile(r"md[245]|sha-?1(?!\d)", re.IGNORECASE)
_IMPRINT_ALGORITHM = re.compile(r"(?m)^Hash Algorithm: (\S+)")
_SIGNER_ALGORITHM = re.compile(r"(digestAlgorithm|signatureAlgorithm):\s*\n\s*algorithm: (\S+)")


def imprint_problem(ts_text: str) -> str | None:
    """What is wrong with the imprint ``openssl ts -reply -token_in -text`` printed (``ts_text``): anything but SHA-256."""
    found = _IMPRINT_ALGORITHM.search(ts_text)
    name = found.group(1) if found else "an unknown algorithm"
    if name.lower() == "sha256":
        return None
    return f"its imprint is a {name} digest, not the SHA-256 one gatekeeper asks for and compares"


def signature_problem(cms_text: str) -> str | None:
    """What is wrong with the authority's signature as ``openssl cms -cmsout -print`` printed it
    (``cms_text``): a digest or signature algorithm of the signer whose collisions can be made."""
    signers = cms_text.partition("signerInfos:")[2]
    if not signers:
        return "it holds no signer to check (not a signed token)"
    for field, name in _SIGNER_ALGORITHM.findall(signers):
        if _WEAK.search(name):
            return (
                f"the authority signed it over {name} ({field}), whose collisions can be made: a signature over it "
                "could be carried to other content or another time"
            )
    return None
