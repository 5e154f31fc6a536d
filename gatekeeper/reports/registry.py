"""The one list of report formats: the policy's ``reports.formats`` choices, ``--format`` and its
help, ``gatekeeper report``'s default and the writer all read it, so they cannot drift apart.

Standard library only: ``gatekeeper.policy`` imports it without loading any renderer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ReportFormat:
    """A format's name (as the policy and ``--format`` spell it), its file in the output folder,
    its ``module:function`` renderer (``render(result) -> str``) and who reads it."""

    name: str
    file: str
    target: str
    reader: str


REGISTRY: tuple[ReportFormat, ...] = (
    ReportFormat("json", "gatekeeper.json", "gatekeeper.reports.json:render_json", "machines, archives"),
    ReportFormat("sarif", "gatekeeper.sarif", "gatekeeper.reports.sarif:render_sarif", "GitHub code scanning"),
    ReportFormat("html", "gatekeeper.html", "gatekeeper.reports.html:render_html", "compliance officers"),
    ReportFormat("markdown", "gatekeeper.md", "gatekeeper.reports.markdown:render_markdown", "pull requests"),
    ReportFormat("junit", "gatekeeper.junit.xml", "gatekeeper.reports.junit:render_junit", "any CI's test tab"),
    ReportFormat(
        "gitlab-codequality",
        "gatekeeper.codequality.json",
        "gatekeeper.reports.gitlab:render_codequality",
        "GitLab Code Quality (artifacts:reports:codequality)",
    ),
    ReportFormat(
        "gitlab-sast", "gatekeeper.gl-sast.json", "gatekeeper.reports.gitlab:render_sast", "GitLab SAST (artifacts:reports:sast)"
    ),
    ReportFormat(
        "gitlab-dependency-scanning",
        "gatekeeper.gl-dependency-scanning.json",
        "gatekeeper.reports.gitlab:render_dependency_scanning",
        "GitLab dependency scanning (artifacts:reports:dependency_scanning)",
    ),
    ReportFormat(
        "openvex", "gatekeeper.openvex.json", "gatekeeper.reports.vex:render_openvex", "OpenVEX consumers (Trivy, Grype)"
    ),
    ReportFormat(
        "cyclonedx-vex", "gatekeeper.vex.cdx.json", "gatekeeper.reports.vex:render_cyclonedx_vex", "CycloneDX VEX consumers"
    ),
)

#: every format name, in the order the help and the documentation list them
FORMAT_NAMES: tuple[str, ...] = tuple(f.name for f in REGISTRY)
