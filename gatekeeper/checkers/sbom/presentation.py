"""How the sbom check presents itself: the SBOM's size, validity and completeness."""

from __future__ import annotations

from collections.abc import Mapping

from gatekeeper.display import Display, Row, ToolInfo, number, percent, threshold
from gatekeeper.findings import CheckResult

TOOL = ToolInfo("cyclonedx-bom", "https://cyclonedx.org/", ("sbom", "supply-chain"))
#: the metric keys the rows below present (the others get generic rows)
SHOWN = frozenset({"components", "spec_version", "valid", "with_license", "with_purl", "license_coverage", "thresholds"})
_COUNTS = (
    ("components", "Components"),
    ("spec_version", "CycloneDX version"),
    ("valid", "Valid against the CycloneDX schema"),
    ("with_license", "Components with a license"),
    ("with_purl", "Components with a package URL"),
)


def display(check: CheckResult) -> Display:
    """Components and their completeness, schema validity, and the policy's coverage floors."""
    m = check.metrics
    rows = [Row(label, m[key], "", bool(m[key]) if key == "valid" else None) for key, label in _COUNTS if key in m]
    coverage = number(m.get("license_coverage"))
    floor = threshold(m, "min_license_coverage")
    if coverage is not None and floor:
        rows.append(Row("License coverage", percent(coverage, None), f"≥ {floor:g}%", coverage >= floor))
    thresholds = m.get("thresholds")
    if isinstance(thresholds, Mapping) and thresholds.get("require_purl") and "with_purl" in m and "components" in m:
        known = number(m["components"]) is not None and number(m["with_purl"]) is not None
        without = int(float(m["components"]) - float(m["with_purl"])) if known else None
        rows.append(
            Row("Components without a package URL", without, "0 (require_purl)", without == 0 if without is not None else None)
        )
    return Display(rows=tuple(rows), shown=SHOWN)
