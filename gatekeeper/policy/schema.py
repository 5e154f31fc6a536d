"""What a policy may say: the core sections' options, the top-level keys, the controls' keys, the
paths confined to the project, and the validated, frozen ``Policy``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gatekeeper.options import MAX_TIMEOUT_S, Option
from gatekeeper.policydigest import PolicyFile
from gatekeeper.reports.registry import FORMAT_NAMES

if TYPE_CHECKING:
    from gatekeeper.waivers import Waiver


POLICY_FILE = "gatekeeper.toml"

REPORT_FORMATS = FORMAT_NAMES

#: The sections gatekeeper itself owns; checker sections come from the checkers' own options.
CORE_SCHEMA: Mapping[str, Mapping[str, Option]] = {
    "gate": {
        "fail_on_error": Option("bool", True, "a check that cannot run fails the gate (exit 3)"),
        "timeout_s": Option("float", 900.0, "time limit per checker, in seconds", minimum=1, maximum=MAX_TIMEOUT_S),
        "tool_python": Option(
            "str", "", "interpreter that runs every tool (bandit, coverage, pip-audit, ruff, mypy...); default: gatekeeper's"
        ),
        "strict_waivers": Option("bool", False, "expired or unused waivers fail the gate"),
        "controls": Option("str_list", [], "shipped control catalogues to report against, e.g. nist-ssdf-1.1"),
        "max_waiver_days": Option(
            "int", 365, "a waiver may expire at most this many days from today", minimum=1, maximum=100 * 366
        ),
        "new_code": Option(
            "str",
            "",
            '"merge-base": only findings new since the merge-base with the base branch block',
            choices=("", "merge-base"),
        ),
        "new_code_base": Option(
            "str", "", 'the base branch new_code = "merge-base" starts from; empty: the pull request\'s target from the CI'
        ),
    },
    "review": {
        "enabled": Option("bool", True, "new-code runs review the packages added, changed or removed since REF"),
        "block_vulnerable": Option("bool", True, "an added or changed package with a known vulnerability blocks"),
        "deny": Option("str_list", [], "packages that may not be added"),
        "allow_licenses": Option("str_list", [], "licenses (SPDX ids) an added package may have; empty: any"),
    },
    "reports": {
        "output_dir": Option("str", "gatekeeper-reports", "where reports are written (relative to the project)"),
        "formats": Option("str_list", ["json", "sarif", "html"], "report formats", choices=REPORT_FORMATS),
    },
    "audit": {
        "enabled": Option("bool", True, "append a record of every run to the audit log"),
        "log": Option("str", ".gatekeeper/audit.jsonl", "the audit log (relative to the project)"),
        "timestamp_url": Option(
            "str", "", "RFC 3161 timestamp authority: each audit record and attestation carries its token; empty: runner's clock"
        ),
        "timestamp_ca": Option("str", "", "PEM certificate(s) the authority's tokens must chain to; required with timestamp_url"),
    },
    "cache": {
        "enabled": Option("bool", True, "reuse results for unchanged inputs"),
        "dir": Option("str", "", "the cache folder (relative to the project); empty: the user's cache directory, per repository"),
    },
    "environment": {
        "python": Option("str", "", "interpreter of the environment to inspect; default: active venv, else gatekeeper's"),
        "scope": Option(
            "str", "all", "all installed distributions, or the project's dependency closure", choices=("all", "project")
        ),
    },
}

CONTROL_SCHEMA: Mapping[str, Option] = {
    "id": Option("str", "", "the control's identifier, e.g. SEC-7"),
    "title": Option("str", "", "what the control requires"),
    "checks": Option("str_list", [], "the checks whose results are the control's evidence"),
    "framework": Option("str", "", "the framework or catalogue the control belongs to; default: custom"),
}

TOP_KEYS = ("extends", "waivers_file", "waivers", "controls", "checks", *CORE_SCHEMA)


@dataclass(frozen=True)
class Policy:
    """A validated policy with every default filled in; read-only."""

    path: str  # the file it came from ("" for the shipped default)
    sha256: str  # digest of that file's bytes
    source: str  # "file", "pyproject" or "default"
    data: Mapping[str, Any] = field(repr=False)
    waivers: tuple[Waiver, ...] = ()
    #: every file the policy was built from (this file first, then each it extends, then its waivers file)
    files: tuple[PolicyFile, ...] = ()
    effective_sha256: str = ""  # digest of ``data``, the effective policy (``policydigest.effective_sha256``)

    def section(self, name: str) -> Mapping[str, Any]:
        """A core section (gate, reports, audit, cache, environment) as a read-only mapping."""
        return MappingProxyType(self.data[name])

    @property
    def gate(self) -> Mapping[str, Any]:
        """The ``[gate]`` section."""
        return self.section("gate")

    @property
    def reports(self) -> Mapping[str, Any]:
        """The ``[reports]`` section."""
        return self.section("reports")

    @property
    def audit(self) -> Mapping[str, Any]:
        """The ``[audit]`` section."""
        return self.section("audit")

    @property
    def cache(self) -> Mapping[str, Any]:
        """The ``[cache]`` section."""
        return self.section("cache")

    @property
    def environment(self) -> Mapping[str, Any]:
        """The ``[environment]`` section."""
        return self.section("environment")

    @property
    def checks(self) -> Mapping[str, Mapping[str, Any]]:
        """Every installed checker's section, defaults filled in."""
        return MappingProxyType({k: MappingProxyType(v) for k, v in self.data["checks"].items()})

    def describe(self) -> dict[str, Any]:
        """The ``policy`` block of the JSON result: the top file and its sha256, the effective policy's
        sha256, and every file it was built from with its own."""
        return {
            "path": self.path or "(built-in default)",
            "sha256": self.sha256,
            "source": self.source,
            "effective_sha256": self.effective_sha256,
            "files": [f.to_dict() for f in self.files],
        }


#: Policy keys naming a place gatekeeper writes (or a file it reads and quotes): relative to the
#: project root (checks.sbom.output: to the output folder) and never leaving it, so a policy from
#: the checkout cannot aim a write, or a requirements file, outside the tree. The command line
#: (--output-dir, --results-out) may name any place.
CONFINED_PATHS: Mapping[str, tuple[str, ...]] = {
    "reports.output_dir": (),
    "audit.log": (),
    "cache.dir": (),
    "checks.sbom.output": (),
    "checks.sbom.source": ("environment",),
    "checks.dependencies.source": ("environment",),
    "checks.dependencies.vex": (),
    "checks.sbom.spdx_output": (),
    "checks.sbom.wheel": (),
}
