"""VEX documents as exceptions for the dependencies check: OpenVEX 0.2.0 and CycloneDX VEX.

``[checks.dependencies] vex = ["vex/openvex.json"]`` names documents inside the project. Each
statement that says a PyPI package version is ``not_affected`` (with a justification) or
``fixed`` becomes a ``Waiver`` of kind ``vex``, one per package it names, and goes through the
same ``apply_waivers`` as the policy's waivers: matched by vulnerability id or any alias and by
package and version, shown and counted like a waiver, reported unused when it matched nothing.

VEX has no expiry date, so a statement is bounded like a waiver by ``gate.max_waiver_days``: it
applies until its own ``timestamp`` (OpenVEX ``last_updated``/``timestamp``, else the document's;
CycloneDX ``analysis.lastUpdated``/``firstIssued``, else ``metadata.timestamp``) plus that many
days, and is reported expired after that, so an old assessment is made again. A timestamp later
than the run counts from the run's day. Statements of other statuses (affected,
under_investigation, exploitable, in_triage) are no exceptions and are only counted; products that
are not PyPI packages are counted as skipped. A document that is not valid OpenVEX or CycloneDX,
or a statement that cannot be read, is a ``PolicyError`` naming the file (exit 2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gatekeeper import readback
from gatekeeper.errors import PolicyError
from gatekeeper.fileio import relative_to_root, shipped_dir
from gatekeeper.waivers import Waiver

VEX_KEY = "checks.dependencies.vex"
OPENVEX_CONTEXT = "https://openvex.dev/ns"
#: OpenVEX justifications and the CycloneDX ``analysis.justification`` each corresponds to
OPENVEX_TO_CYCLONEDX: Mapping[str, str] = {
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "vulnerable_code_cannot_be_controlled_by_adversary": "requires_environment",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}
#: CycloneDX justifications in OpenVEX terms (the mapping Trivy uses when it converts)
CYCLONEDX_TO_OPENVEX: Mapping[str, str] = {
    "code_not_present": "vulnerable_code_not_present",
    "code_not_reachable": "vulnerable_code_not_in_execute_path",
    "requires_configuration": "vulnerable_code_cannot_be_controlled_by_adversary",
    "requires_dependency": "vulnerable_code_cannot_be_controlled_by_adversary",
    "requires_environment": "vulnerable_code_cannot_be_controlled_by_adversary",
    "protected_by_compiler": "inline_mitigations_already_exist",
    "protected_at_runtime": "inline_mitigations_already_exist",
    "protected_at_perimeter": "inline_mitigations_already_exist",
    "protected_by_mitigating_control": "inline_mitigations_already_exist",
}


@dataclass
class VexDocument:
    """What one document gave: its exceptions (as waivers) and what it held besides."""

    path: str
    format: str
    statements: int = 0
    waivers: list[Waiver] = field(default_factory=list)
    not_exceptions: int = 0  # statements whose status is no exception (affected, under_investigation, ...)
    other_products: int = 0  # products that are not PyPI packages
    sha256: str = ""  # of the bytes read: the policy names a document by path, its digest pins what it said

    def describe(self) -> dict[str, Any]:
        """The result's ``vex`` entry for this document."""
        return {
            "path": self.path,
            "format": self.format,
            "statements": self.statements,
            "exceptions": len(self.waivers),
            "not_exceptions": self.not_exceptions,
            "other_products": self.other_products,
            **({"sha256": self.sha256} if self.sha256 else {}),
        }


@dataclass(frozen=True, slots=True)
class _Claim:
    """One exception a statement makes, before it becomes a waiver."""

    names: tuple[str, ...]
    purl: str
    status: str  # not_affected | fixed
    justification: str  # OpenVEX terms
    detail: str
    issued: dt.datetime | None
    author: str


def load_vex(root: Path, files: Sequence[str], max_days: int, today: dt.date) -> list[VexDocument]:
    """Read every VEX document ``files`` names (relative to ``root``, inside it); PolicyError when
    one is missing, leaves the project, or is not a readable OpenVEX or CycloneDX VEX document."""
    docs = []
    for name in files:
        path = (root / name).resolve()
        rel = relative_to_root(path, root)
        if rel is None:
            raise PolicyError(f"{name!r} leads outside the project", key=VEX_KEY, hint="a VEX document must be inside it")
        if not path.is_file():
            raise PolicyError(f"{name!r} does not exist in {root}", key=VEX_KEY, hint="fix the path")
        try:  # bounded like everything gatekeeper reads from the checkout (nesting, numbers)
            raw = path.read_bytes()
            data = readback.loads(raw, rel)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise _bad(rel, f"not readable JSON: {exc}") from None
        doc = read_document(data, rel, max_days, today)
        doc.sha256 = hashlib.sha256(raw).hexdigest()
        docs.append(doc)
    return docs


def read_document(data: Any, rel: str, max_days: int, today: dt.date) -> VexDocument:
    """The exceptions in one parsed document (``rel`` names it in waiver ids and errors)."""
    if isinstance(data, dict) and str(data.get("@context", "")).startswith(OPENVEX_CONTEXT):
        doc, claims = _openvex(data, rel)
    elif isinstance(data, dict) and data.get("bomFormat") == "CycloneDX":
        doc, claims = _cyclonedx(data, rel)
    else:
        raise _bad(rel, 'neither an OpenVEX document ("@context" https://openvex.dev/ns/...) nor CycloneDX ("bomFormat")')
    for index, group in claims:
        pypi = [c for c in group if _pypi(c.purl)]
        doc.other_products += len(group) - len(pypi)
        for j, claim in enumerate(pypi):
            wid = f"{rel}#{index}" if len(pypi) == 1 else f"{rel}#{index}.{j + 1}"
            doc.waivers.append(_waiver(claim, wid, rel, max_days, today))
    return doc


def _waiver(claim: _Claim, wid: str, rel: str, max_days: int, today: dt.date) -> Waiver:
    from packageurl import PackageURL

    purl = PackageURL.from_string(claim.purl)
    issued = min(claim.issued.date(), today) if claim.issued else today
    why = claim.status + (f" ({claim.justification})" if claim.justification else "")
    reason = f"VEX: {why}" + (f": {claim.detail}" if claim.detail else "")
    return Waiver(
        id=wid,
        check="dependencies",
        rule=claim.names[0],
        aliases=claim.names[1:],
        reason=reason,
        expires=issued + dt.timedelta(days=max_days),
        approved_by=claim.author,
        package=purl.name,
        version=purl.version or "",
        kind="vex",
        source=rel,
        status=claim.status,
        justification=claim.justification,
    )


def _pypi(purl: str) -> bool:
    from packageurl import PackageURL

    try:
        return PackageURL.from_string(purl).type == "pypi"
    except ValueError:
        return False


# --------------------------------------------------------------------------- OpenVEX


@cache
def _openvex_validator() -> Any:
    import jsonschema  # type: ignore[import-untyped]

    schema = json.loads((shipped_dir("schemas") / "openvex_json_schema_0.2.0.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def _openvex(data: Mapping[str, Any], rel: str) -> tuple[VexDocument, list[tuple[int, list[_Claim]]]]:
    error = next(iter(_openvex_validator().iter_errors(data)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        raise _bad(rel, f"not valid OpenVEX 0.2.0: {error.message}" + (f" (at /{where})" if where else ""))
    doc = VexDocument(path=rel, format="openvex")
    issued_doc = _time(data.get("last_updated") or data["timestamp"], rel, "timestamp")
    claims: list[tuple[int, list[_Claim]]] = []
    for i, st in enumerate(data["statements"], 1):
        doc.statements += 1
        status = str(st["status"])
        if status not in ("not_affected", "fixed"):
            doc.not_exceptions += 1
            continue
        justification = str(st.get("justification") or "")
        if status == "not_affected" and not justification:
            raise _bad(
                rel,
                f"statement {i}: not_affected needs a justification to be an exception (an impact_statement alone is not one)",
            )
        stamp = st.get("last_updated") or st.get("timestamp")
        issued = _time(stamp, rel, f"statement {i} timestamp") if stamp else issued_doc
        vuln = st["vulnerability"]
        names = (str(vuln["name"]), *(str(a) for a in vuln.get("aliases") or ()))
        detail = str(st.get("impact_statement") or st.get("status_notes") or "")
        author = str(st.get("supplier") or data["author"])
        purls = [p for product in st.get("products") or () for p in _product_purls(product)]
        if not purls:
            raise _bad(rel, f"statement {i}: names no product with a package URL, so no package can be matched")
        claims.append((i, [_Claim(names, p, status, justification, detail, issued, author) for p in purls]))
    return doc, claims


def _product_purls(product: Mapping[str, Any]) -> list[str]:
    """The package URLs a product stands for: its subcomponents' when it lists any (the product is
    then the application that contains them), else its own."""
    parts = product.get("subcomponents") or [product]
    out = []
    for part in parts:
        purl = str((part.get("identifiers") or {}).get("purl") or "")
        if not purl and str(part.get("@id", "")).startswith("pkg:"):
            purl = str(part["@id"])
        if purl:
            out.append(purl)
    return out


# --------------------------------------------------------------------------- CycloneDX


def _cyclonedx(data: Mapping[str, Any], rel: str) -> tuple[VexDocument, list[tuple[int, list[_Claim]]]]:
    from gatekeeper.checkers.sbom.validate import validate_text

    spec = str(data.get("specVersion", ""))
    if spec not in ("1.4", "1.5", "1.6", "1.7"):
        raise _bad(rel, f"CycloneDX specVersion {spec!r}: VEX is read from CycloneDX 1.4 to 1.7")
    problem = validate_text(json.dumps(data), spec)
    if problem is not None:
        raise _bad(rel, f"not valid CycloneDX {spec}: {problem}")
    doc = VexDocument(path=rel, format=f"cyclonedx-{spec}")
    meta = data.get("metadata") or {}
    issued_doc = _time(meta["timestamp"], rel, "metadata.timestamp") if meta.get("timestamp") else None
    by_ref = {str(c.get("bom-ref")): c for c in _components(data.get("components") or ())}
    author = ", ".join(str(a.get("name") or a.get("email") or "") for a in meta.get("authors") or ()) or "CycloneDX VEX"
    claims: list[tuple[int, list[_Claim]]] = []
    for i, vuln in enumerate(data.get("vulnerabilities") or (), 1):
        doc.statements += 1
        analysis = vuln.get("analysis") or {}
        state = str(analysis.get("state") or "")
        if state not in ("not_affected", "resolved", "resolved_with_pedigree"):
            doc.not_exceptions += 1
            continue
        justification = CYCLONEDX_TO_OPENVEX.get(str(analysis.get("justification") or ""), "")
        if state == "not_affected" and not justification:
            raise _bad(rel, f"vulnerabilities[{i - 1}]: not_affected needs an analysis.justification to be an exception")
        stamp = analysis.get("lastUpdated") or analysis.get("firstIssued")
        issued = _time(stamp, rel, f"vulnerabilities[{i - 1}] analysis time") if stamp else issued_doc
        if issued is None:
            raise _bad(rel, f"vulnerabilities[{i - 1}]: no analysis time and no metadata.timestamp, so it cannot be bounded")
        names = (str(vuln.get("id") or ""), *(str(r.get("id")) for r in vuln.get("references") or () if r.get("id")))
        if not names[0]:
            raise _bad(rel, f"vulnerabilities[{i - 1}]: has no id")
        status = "not_affected" if state == "not_affected" else "fixed"
        detail = str(analysis.get("detail") or "")
        purls = [_resolve_ref(str(a.get("ref", "")), by_ref, rel, i) for a in vuln.get("affects") or ()]
        if not purls:
            raise _bad(rel, f"vulnerabilities[{i - 1}]: affects names no component")
        claims.append((i, [_Claim(names, p, status, justification, detail, issued, author) for p in purls]))
    return doc, claims


def _components(items: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    for c in items:
        if isinstance(c, dict):
            yield c
            yield from _components(c.get("components") or ())


def _resolve_ref(ref: str, by_ref: Mapping[str, Mapping[str, Any]], rel: str, i: int) -> str:
    """The package URL an ``affects.ref`` points at: a component of this document (by bom-ref), a
    BOM-Link whose fragment is one or is a purl, or a purl."""
    key = ref.rsplit("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref
    component = by_ref.get(key)
    if component is not None and component.get("purl"):
        return str(component["purl"])
    if key.startswith("pkg:"):
        return key
    raise _bad(rel, f"vulnerabilities[{i - 1}]: affects ref {ref!r} is neither a component with a purl nor a purl")


# --------------------------------------------------------------------------- helpers


def _time(value: Any, rel: str, what: str) -> dt.datetime:
    text = str(value)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _bad(rel, f"{what} {text!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _bad(rel: str, message: str) -> PolicyError:
    return PolicyError(message, file=rel, key=VEX_KEY)
