"""PEP 770: SBOMs that distributions ship in ``.dist-info/sboms/``.

Two questions, answered from files only (nothing is built or imported: building the project's
wheel would run its build backend, code from the checkout): which installed dependencies ship
SBOMs, and whether the project's wheel, when the policy names one (``checks.sbom.wheel``),
carries any. A shipped SBOM is read to say what it is (CycloneDX or SPDX JSON, how many
components or packages); one that cannot be read is listed as ``unreadable``, never dropped.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gatekeeper import readback
from gatekeeper.errors import ToolError

#: the CycloneDX property that points a component at the SBOM its distribution ships
PROPERTY = "gatekeeper:pep770:sbom"
#: a shipped SBOM larger than this is listed but not parsed
MAX_BYTES = 32 * 1024 * 1024


def shipped_sboms(packages: Iterable[Any]) -> list[dict[str, Any]]:
    """One entry per installed distribution whose ``.dist-info/sboms/`` holds files: its name,
    version and each file (path inside the .dist-info, sha256, what it is). Links are not followed."""
    out = []
    for d in packages:
        folder = Path(d.location) / "sboms" if d.location else None
        if folder is None or folder.is_symlink() or not folder.is_dir():
            continue
        files = [describe_file(p, p.relative_to(folder.parent).as_posix()) for p in sorted(folder.rglob("*")) if _plain_file(p)]
        if files:
            out.append({"package": d.name, "version": d.version, "files": files})
    return out


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def describe_file(path: Path, name: str) -> dict[str, Any]:
    """What a shipped SBOM file is: ``{name, sha256, format, components}`` (format cyclonedx,
    spdx, unknown or unreadable; components counted for the first two)."""
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_BYTES else b""
    except OSError:
        return {"name": name, "sha256": "", "format": "unreadable", "components": None}
    return {"name": name, "sha256": hashlib.sha256(data).hexdigest(), **kind_of(data)}


def kind_of(data: bytes) -> dict[str, Any]:
    """``{format, components}`` of an SBOM's bytes."""
    try:
        doc = readback.loads(data, "a shipped SBOM")
    except readback.LimitError:
        return {"format": "unreadable", "components": None}
    except (ValueError, UnicodeDecodeError):
        return {"format": "unknown", "components": None}  # e.g. SPDX tag-value or CycloneDX XML: listed, not counted
    if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
        return {"format": f"cyclonedx-{doc.get('specVersion', '')}", "components": _count(doc.get("components"))}
    if isinstance(doc, dict) and str(doc.get("spdxVersion", "")).startswith("SPDX-"):
        packages = doc.get("packages")
        return {"format": str(doc["spdxVersion"]).lower(), "components": len(packages) if isinstance(packages, list) else 0}
    return {"format": "unknown", "components": None}


def _count(components: Any) -> int:
    if not isinstance(components, list):
        return 0
    return sum(1 + _count(c.get("components")) for c in components if isinstance(c, dict))


def reference_in(bom: dict[str, Any], shipped: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The CycloneDX ``bom`` with each component whose distribution ships SBOMs pointing at them
    (a ``gatekeeper:pep770:sbom`` property per file, the path inside its .dist-info)."""
    by_name = {(_key(str(s["package"])), str(s["version"])): s for s in shipped}
    if not by_name:
        return bom
    components = []
    for c in bom.get("components") or ():
        entry = by_name.get((_key(str(c.get("name", ""))), str(c.get("version", "")))) if isinstance(c, dict) else None
        if entry is not None:
            props = [*(c.get("properties") or ()), *({"name": PROPERTY, "value": f["name"]} for f in entry["files"])]
            c = {**c, "properties": props}
        components.append(c)
    return {**bom, "components": components}


def _key(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def wheel_sboms(root: Path, pattern: str) -> list[dict[str, Any]]:
    """For each wheel ``pattern`` (a glob relative to ``root``) matches: its path and the files in
    its ``.dist-info/sboms/``. ToolError when nothing matches or a wheel cannot be read."""
    real = root.resolve()
    wheels = sorted(p for p in root.glob(pattern) if p.is_file() and p.name.endswith(".whl") and p.resolve().is_relative_to(real))
    if not wheels:
        raise ToolError(
            f"checks.sbom.wheel: no wheel matches {pattern!r} in {root} (build it before the gate, e.g. python -m build)"
        )
    out = []
    for wheel in wheels:
        try:
            with zipfile.ZipFile(wheel) as zf:
                names = zf.namelist()
                sboms = []
                for n in sorted(names):
                    parts = n.split("/")
                    if len(parts) >= 3 and parts[0].endswith(".dist-info") and parts[1] == "sboms" and not n.endswith("/"):
                        info = zf.getinfo(n)
                        data = zf.read(n) if info.file_size <= MAX_BYTES else b""
                        sboms.append({"name": "/".join(parts[1:]), "sha256": hashlib.sha256(data).hexdigest(), **kind_of(data)})
        except (OSError, zipfile.BadZipFile) as exc:
            raise ToolError(f"checks.sbom.wheel: {wheel.name} cannot be read as a wheel: {exc}") from None
        out.append({"path": wheel.relative_to(root).as_posix(), "sboms": sboms, "pep770": bool(sboms)})
    return out
