"""A CycloneDX SBOM of a lock file: the locked packages of the chosen groups, nothing installed.

cyclonedx-py reads environments and requirements files, not uv.lock, pylock.toml, poetry.lock or
pdm.lock, so gatekeeper writes this SBOM itself from the ``Lock`` that
``gatekeeper.checkers.lockfiles`` read: one component per counted package (name, version, the
``pkg:pypi`` purl for a package from an index, the lock's hashes), the project as the root
component (its workspace members as components without a purl), and the lock's dependency
graph. It is validated like every SBOM, with the same strict validator.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from packageurl import PackageURL

from gatekeeper import __version__
from gatekeeper.checkers.lockfiles.model import Lock, LockedPackage

# hashlib names (as lock files spell them) -> CycloneDX hash algorithms
_ALGORITHMS = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}


def lock_bom(lock: Lock, spec_version: str, project: Mapping[str, str]) -> dict[str, Any]:
    """The CycloneDX document (a dict) of ``lock`` for CycloneDX ``spec_version``; ``project`` is the
    root's name and version (from pyproject.toml; the lock's own entry for it wins on the version)."""
    name = project.get("name", "")
    own = next((m for m in lock.members if m.key == LockedPackage(name, "", None).key), None)
    root_version = (own.version if own else "") or project.get("version", "")
    root_ref = own.ref if own else f"{LockedPackage(name, root_version, None).key}@{root_version}"
    root: dict[str, Any] = {"type": "application", "bom-ref": root_ref, "name": name or lock.path.parent.name}
    if root_version:
        root["version"] = root_version
    others = [m for m in lock.members if m is not own]
    components = [_component(p, registry=p.origin == "registry") for p in lock.packages]
    components += [_component(m, registry=False) for m in others]
    depended = {ref for p in (*lock.packages, *lock.members) for ref in p.dependencies}
    top = own.dependencies if own else tuple(p.ref for p in lock.packages if p.ref not in depended)
    graph = [{"ref": root_ref, "dependsOn": sorted(set(top) | {m.ref for m in others if m.ref not in depended})}]
    graph += [{"ref": p.ref, "dependsOn": list(p.dependencies)} for p in (*lock.packages, *others)]
    tool = {"name": "gatekeeper", "version": __version__}
    tools: Any = [tool] if spec_version == "1.4" else {"components": [{"type": "application", **tool}]}
    return {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec_version}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": spec_version,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "tools": tools,
            "component": root,
            "properties": [{"name": "gatekeeper:lock", "value": f"{lock.format} {lock.path.name}"}],
        },
        "components": sorted(components, key=lambda c: (c["name"], c.get("version", ""))),
        "dependencies": sorted(graph, key=lambda d: d["ref"]),
    }


def _component(pkg: LockedPackage, registry: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "library", "bom-ref": pkg.ref, "name": pkg.name}
    if pkg.version:
        out["version"] = pkg.version
    if registry and pkg.version:
        out["purl"] = PackageURL(type="pypi", name=pkg.key, version=pkg.version).to_string()
    hashes = [{"alg": _ALGORITHMS[alg], "content": digest} for alg, digest in pkg.hashes if alg in _ALGORITHMS]
    if hashes:
        out["hashes"] = hashes
    if pkg.line:
        out["properties"] = [{"name": "gatekeeper:lock_entry_line", "value": str(pkg.line)}]
    return out
