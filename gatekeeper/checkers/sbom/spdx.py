"""SPDX 2.3 JSON from the CycloneDX SBOM the check generated, so both describe the same inventory.

Each CycloneDX component (and the root component) becomes an SPDX package with the same name,
version, purl (an external reference of category PACKAGE-MANAGER) and hashes; its licenses become
``licenseDeclared`` (or ``licenseConcluded`` for a CycloneDX ``concluded`` acknowledgement): SPDX
ids and expressions as they are, and a license given only by name as a ``LicenseRef-`` with the
name as its extracted text. The CycloneDX dependency graph becomes DEPENDS_ON relationships, and
the document DESCRIBES the root (or, without one, every package). Pure: no disk, no clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from license_expression import get_spdx_licensing

NOASSERTION = "NOASSERTION"
#: CycloneDX hash algorithms and their SPDX 2.3 names
_HASHES = {
    "MD5": "MD5",
    "SHA-1": "SHA1",
    "SHA-256": "SHA256",
    "SHA-384": "SHA384",
    "SHA-512": "SHA512",
    "SHA3-256": "SHA3-256",
    "SHA3-384": "SHA3-384",
    "SHA3-512": "SHA3-512",
    "BLAKE2b-256": "BLAKE2b-256",
    "BLAKE2b-384": "BLAKE2b-384",
    "BLAKE2b-512": "BLAKE2b-512",
    "BLAKE3": "BLAKE3",
}


def to_spdx(bom: Mapping[str, Any], tools: Sequence[str]) -> dict[str, Any]:
    """The SPDX 2.3 document for the CycloneDX ``bom``; ``tools`` name its creators (``name-version``)."""
    refs = _Refs()
    extracted: dict[str, str] = {}
    root = (bom.get("metadata") or {}).get("component")
    packages = []
    if isinstance(root, dict):
        packages.append(_package(root, refs.add(root), extracted, purpose="APPLICATION"))
    for c in bom.get("components") or ():
        if isinstance(c, dict):
            packages.append(_package(c, refs.add(c), extracted, purpose="LIBRARY"))
    relationships = []
    described = [refs.of(root)] if isinstance(root, dict) else [p["SPDXID"] for p in packages]
    for target in described:
        relationships.append({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": target})
    for entry in bom.get("dependencies") or ():
        source = refs.by_bom_ref.get(str(entry.get("ref")))
        for dep in entry.get("dependsOn") or ():
            target = refs.by_bom_ref.get(str(dep))
            if source and target:
                relationships.append({"spdxElementId": source, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": target})
    name = str(root.get("name")) if isinstance(root, dict) and root.get("name") else "sbom"
    serial = str(bom.get("serialNumber") or "").removeprefix("urn:uuid:") or "unknown"
    doc: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": f"https://gatekeeper.invalid/spdxdocs/{_id_part(name)}-{serial}",
        "creationInfo": {
            "created": _created(str((bom.get("metadata") or {}).get("timestamp") or "")),
            "creators": [f"Tool: {t}" for t in tools],
            "comment": f"converted from the CycloneDX {bom.get('specVersion', '')} SBOM {bom.get('serialNumber', '')}",
        },
        "packages": packages,
        "relationships": relationships,
    }
    if extracted:
        doc["hasExtractedLicensingInfos"] = [
            {"licenseId": ref, "extractedText": text, "name": text} for ref, text in sorted(extracted.items())
        ]
    return doc


class _Refs:
    """SPDX ids for components: unique, from the component's name, and found again by bom-ref."""

    def __init__(self) -> None:
        self.by_bom_ref: dict[str, str] = {}
        self._count = 0
        self._ids: dict[int, str] = {}

    def add(self, component: Mapping[str, Any]) -> str:
        self._count += 1
        spdx_id = f"SPDXRef-Package-{self._count}-{_id_part(str(component.get('name') or 'unnamed'))}"
        self._ids[id(component)] = spdx_id
        if component.get("bom-ref"):
            self.by_bom_ref[str(component["bom-ref"])] = spdx_id
        return spdx_id

    def of(self, component: Mapping[str, Any]) -> str:
        return self._ids[id(component)]


def _id_part(text: str) -> str:
    """``text`` with only the characters an SPDX id may hold (letters, digits, ``.`` and ``-``)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "x"


def _created(stamp: str) -> str:
    """A CycloneDX timestamp as SPDX's ``YYYY-MM-DDThh:mm:ssZ`` (UTC)."""
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _package(c: Mapping[str, Any], spdx_id: str, extracted: dict[str, str], purpose: str) -> dict[str, Any]:
    declared, concluded = license_fields(c.get("licenses") or (), extracted)
    pkg: dict[str, Any] = {
        "SPDXID": spdx_id,
        "name": str(c.get("name") or "unnamed"),
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": concluded,
        "licenseDeclared": declared,
        "copyrightText": NOASSERTION,
        "primaryPackagePurpose": purpose,
    }
    if c.get("version"):
        pkg["versionInfo"] = str(c["version"])
    if c.get("description"):
        pkg["summary"] = str(c["description"])
    if c.get("purl"):
        pkg["externalRefs"] = [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": str(c["purl"])}
        ]
    checksums = [
        {"algorithm": _HASHES[str(h.get("alg"))], "checksumValue": str(h.get("content"))}
        for h in c.get("hashes") or ()
        if str(h.get("alg")) in _HASHES and h.get("content")
    ]
    if checksums:
        pkg["checksums"] = checksums
    return pkg


def license_fields(entries: Sequence[Mapping[str, Any]], extracted: dict[str, str]) -> tuple[str, str]:
    """(licenseDeclared, licenseConcluded) for a CycloneDX ``licenses`` list: several entries are
    ANDed (the package carries each of them), a missing one is NOASSERTION."""
    declared: list[str] = []
    concluded: list[str] = []
    for entry in entries:
        lic = entry.get("license") if isinstance(entry.get("license"), dict) else None
        acknowledgement = str((lic or entry).get("acknowledgement") or "declared")
        if entry.get("expression"):
            text = _expression(str(entry["expression"]), extracted)
        elif lic and lic.get("id"):
            text = _expression(str(lic["id"]), extracted)
        elif lic and lic.get("name"):
            text = _license_ref(str(lic["name"]), extracted)
        else:
            continue
        (concluded if acknowledgement == "concluded" else declared).append(text)
    return _and(declared), _and(concluded)


def _and(parts: list[str]) -> str:
    if not parts:
        return NOASSERTION
    if len(parts) == 1:
        return parts[0]
    return " AND ".join(f"({p})" if " " in p else p for p in parts)


def _expression(text: str, extracted: dict[str, str]) -> str:
    """``text`` when it is a valid SPDX expression of known ids, else a LicenseRef for it."""
    info = _licensing().validate(text, strict=True)
    if not info.errors and not info.invalid_symbols:
        return str(info.normalized_expression or text)
    return _license_ref(text, extracted)


@cache
def _licensing() -> Any:
    return get_spdx_licensing()


def _license_ref(text: str, extracted: dict[str, str]) -> str:
    ref = f"LicenseRef-{_id_part(text)}"
    while ref in extracted and extracted[ref] != text:
        ref += "-x"
    extracted[ref] = text
    return ref
