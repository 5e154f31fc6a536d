"""VEX out: the run's dependency vulnerabilities and their exceptions as OpenVEX 0.2.0 and as a
CycloneDX VEX document, for tools that read VEX (Trivy, Grype, Dependency-Track).

One statement per advisory finding of the dependencies check, about the package version as a
``pkg:pypi`` purl:

- accepted by a VEX statement: that statement's status (``not_affected`` with its justification,
  or ``fixed``; CycloneDX ``not_affected`` / ``resolved``);
- accepted by a policy waiver or the baseline: ``affected`` (CycloneDX ``exploitable``, response
  ``will_not_fix``) with the waiver's reason and expiry as the action statement: a waiver accepts
  a risk, it does not say the package is unaffected;
- open: ``affected`` (``exploitable``), with the fix version when one is known.

An OpenVEX document needs at least one statement: a run with no advisory finding renders nothing
(``""``), and the writer then writes no file and removes an earlier one. Pure: everything comes
from the ``GateResult``, times included.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from packaging.utils import canonicalize_name

from gatekeeper.findings import Finding, GateResult, Package, fingerprint

OPENVEX_CONTEXT = "https://openvex.dev/ns/v0.2.0"
#: the CycloneDX version of the VEX document when the run has no SBOM to follow
DEFAULT_CYCLONEDX = "1.6"
_OPENVEX_TO_CYCLONEDX = {
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "vulnerable_code_cannot_be_controlled_by_adversary": "requires_environment",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}


def purl(name: str, version: str) -> str:
    """The package URL of a PyPI release (``pkg:pypi/<PEP 503 name>@<version>``)."""
    from packageurl import PackageURL

    return str(PackageURL(type="pypi", name=canonicalize_name(name), version=version or None).to_string())


def advisories(result: GateResult) -> Iterator[tuple[Finding, Package]]:
    """The dependencies check's advisory findings (not the packages it could not audit) with their
    package, in report order."""
    check = result.check("dependencies")
    if check is None:
        return
    for f in sorted(check.findings, key=lambda f: (*f.sort_key(), f.fingerprint)):
        if f.package is not None and f.rule_id != "dependencies.unaudited":
            yield f, f.package


def render_openvex(result: GateResult) -> str:
    """The OpenVEX 0.2.0 document, or ``""`` when the run found no advisory to make a statement about."""
    statements = [_openvex_statement(f, p) for f, p in advisories(result)]
    if not statements:
        return ""
    doc = {
        "@context": OPENVEX_CONTEXT,
        "@id": f"urn:uuid:{_document_id(result, 'openvex')}",
        "author": "gatekeeper",
        "role": "quality gate",
        "timestamp": result.finished_at,
        "version": 1,
        "tooling": f"gatekeeper {result.tool_version}",
        "statements": _unique(statements),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _unique(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements once each (the schema asks for unique items; two findings may say the same)."""
    seen: set[str] = set()
    out = []
    for st in statements:
        key = json.dumps(st, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(st)
    return out


def _names(finding: Finding) -> list[str]:
    aliases = [str(a) for a in finding.properties.get("aliases") or () if str(a) != finding.rule_id]
    return list(dict.fromkeys(aliases))


def _fix(finding: Finding) -> str:
    fixes = [str(v) for v in finding.properties.get("fixed_versions") or ()]
    return f"upgrade to {' or '.join(fixes)}" if fixes else "no fixed version is known; remove or replace the package"


def _openvex_statement(finding: Finding, package: Package) -> dict[str, Any]:
    ref = purl(package.name, package.version)
    vulnerability: dict[str, Any] = {"name": finding.rule_id}
    if _names(finding):
        vulnerability["aliases"] = _names(finding)
    st: dict[str, Any] = {"vulnerability": vulnerability, "products": [{"@id": ref, "identifiers": {"purl": ref}}]}
    w = finding.waiver
    if w is not None and w.kind == "vex" and w.status in ("not_affected", "fixed"):
        st["status"] = w.status
        if w.justification:
            st["justification"] = w.justification
        if w.status == "not_affected" and not w.justification:
            st["impact_statement"] = w.reason or "not affected"
        st["status_notes"] = f"exception {w.id}, applies until {w.expires}: {w.reason}"
        return st
    st["status"] = "affected"
    if w is not None:
        until = f" until {w.expires}" if w.expires else ""
        st["action_statement"] = f"accepted by {w.kind} {w.id}{until}: {w.reason}"
    else:
        st["action_statement"] = _fix(finding)
    return st


def render_cyclonedx_vex(result: GateResult) -> str:
    """A CycloneDX VEX document (the SBOM check's spec version, else 1.6): the affected packages as
    components and one vulnerability with its ``analysis`` per advisory finding."""
    found = list(advisories(result))
    components: dict[str, dict[str, Any]] = {}
    vulnerabilities = []
    for f, package in found:
        ref = purl(package.name, package.version)
        components.setdefault(
            ref, {"type": "library", "bom-ref": ref, "name": package.name, "version": package.version, "purl": ref}
        )
        vulnerabilities.append(_cyclonedx_vulnerability(f, ref))
    doc: dict[str, Any] = {
        "$schema": f"http://cyclonedx.org/schema/bom-{_spec(result)}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": _spec(result),
        "serialNumber": f"urn:uuid:{_document_id(result, 'cyclonedx-vex')}",
        "version": 1,
        "metadata": {
            "timestamp": result.finished_at,
            "tools": {"components": [{"type": "application", "name": "gatekeeper", "version": result.tool_version}]},
        },
        "components": [components[k] for k in sorted(components)],
        "vulnerabilities": vulnerabilities,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _spec(result: GateResult) -> str:
    sbom = result.check("sbom")
    spec = str(sbom.metrics.get("spec_version") or "") if sbom is not None else ""
    return spec if spec in ("1.5", "1.6", "1.7") else DEFAULT_CYCLONEDX


def _cyclonedx_vulnerability(finding: Finding, ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bom-ref": f"{finding.rule_id}:{ref}",
        "id": finding.rule_id,
        "source": {"name": "OSV", "url": f"https://osv.dev/vulnerability/{quote(finding.rule_id)}"},
    }
    if _names(finding):
        out["references"] = [
            {"id": a, "source": {"name": "OSV", "url": f"https://osv.dev/vulnerability/{quote(a)}"}} for a in _names(finding)
        ]
    rating: dict[str, Any] = {"severity": finding.severity.value}
    score = finding.properties.get("cvss_score")
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        rating["score"] = float(score)
    out["ratings"] = [rating]
    description = str(finding.properties.get("description") or finding.message)
    if description:
        out["description"] = description
    out["affects"] = [{"ref": ref}]
    out["analysis"] = _analysis(finding)
    return out


def _analysis(finding: Finding) -> dict[str, Any]:
    w = finding.waiver
    if w is not None and w.kind == "vex" and w.status in ("not_affected", "fixed"):
        analysis: dict[str, Any] = {"state": "not_affected" if w.status == "not_affected" else "resolved"}
        if w.justification in _OPENVEX_TO_CYCLONEDX:
            analysis["justification"] = _OPENVEX_TO_CYCLONEDX[w.justification]
        analysis["detail"] = f"exception {w.id}, applies until {w.expires}: {w.reason}"
        return analysis
    if w is not None:
        until = f" until {w.expires}" if w.expires else ""
        return {"state": "exploitable", "response": ["will_not_fix"], "detail": f"accepted by {w.kind} {w.id}{until}: {w.reason}"}
    fixes = finding.properties.get("fixed_versions") or ()
    return {"state": "exploitable", "response": ["update"] if fixes else ["can_not_fix"], "detail": _fix(finding)}


def _document_id(result: GateResult, kind: str) -> uuid.UUID:
    """A stable document id: the same run gives the same id (reports are deterministic)."""
    repo: Mapping[str, Any] = result.repository
    # an RFC 4122 name-based (version 5) UUID: what CycloneDX's serialNumber pattern asks for
    name = fingerprint(kind, result.started_at, repo.get("root"), repo.get("commit"), result.policy.get("sha256"))
    return uuid.uuid5(uuid.NAMESPACE_URL, f"gatekeeper:{name}")
