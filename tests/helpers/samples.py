"""Results the report tests render: a realistic failing run over all five checkers, with hostile text.

The findings are shaped like the built-in checkers' (bandit ids and CWEs, OSV advisories with
aliases and fixed versions, SPDX license verdicts); some strings try to break out of HTML, XML and
Markdown so that every format must escape them.
"""

from __future__ import annotations

from dataclasses import replace

from gatekeeper.findings import (
    AppliedWaiver,
    CheckResult,
    Finding,
    GateResult,
    Location,
    Package,
    Severity,
    Status,
    Verdict,
    fingerprint,
)

SCRIPT = "<script>window.__pwned=1</script>"
ATTR = '" onmouseover="window.__pwned=2" x="'
IMG = "<img src=x onerror=window.__pwned=3>"
HOSTILE_PATH = 'src/app/we"ird <b>name</b>.py'

WAIVER = AppliedWaiver(
    id="w-asserts",
    reason="asserts guard invariants in scripts, <never> in production",
    approved_by="security@example.com",
    expires="2027-06-30",
)
BASELINED = AppliedWaiver(
    id="baseline", kind="baseline", reason="present in .gatekeeper/baseline.json", approved_by="", expires=""
)


def _f(check: str, rule: str, sev: Severity, msg: str, **kw: object) -> Finding:
    loc = kw.get("location")
    pkg = kw.get("package")
    return Finding(
        rule_id=rule,
        severity=sev,
        message=msg,
        fingerprint=fingerprint(check, rule, loc.path if isinstance(loc, Location) else "", pkg, msg),
        **kw,  # type: ignore[arg-type]
    )


def coverage_check() -> CheckResult:
    files = [
        {"path": "src/app/__init__.py", "percent": 100.0},
        {"path": "src/app/cli.py", "percent": 91.3},
        {"path": "src/app/run.py", "percent": 64.2},
        {"path": HOSTILE_PATH, "percent": 12.5},
    ]
    findings = (
        _f(
            "coverage",
            "coverage-total",
            Severity.HIGH,
            "total coverage 72.40% is below the policy minimum of 80.00%",
            blocking=True,
            rule_name="minimum total coverage",
        ),
        _f(
            "coverage",
            "coverage-file",
            Severity.MEDIUM,
            f"{HOSTILE_PATH} is 12.50% covered, below min_file 50.00% {SCRIPT}",
            blocking=True,
            location=Location(HOSTILE_PATH),
            rule_name="minimum file coverage",
        ),
    )
    return CheckResult(
        name="coverage",
        status=Status.FAIL,
        summary="total 72.40% < 80.00%",
        tool_name="coverage",
        tool_version="7.6.1",
        duration_s=0.84,
        metrics={
            "total": 72.4,
            "min_total": 80.0,
            "min_file": 50.0,
            "files": files,
            "diff": {"percent": 50.0, "changed_lines": 10, "covered_lines": 5, "min_diff": 60.0},
        },
        findings=findings,
    )


def security_check() -> CheckResult:
    findings = (
        _f(
            "security",
            "B602",
            Severity.HIGH,
            "subprocess call with shell=True identified, security issue.",
            blocking=True,
            location=Location("src/app/run.py", 12, 12, 4),
            help_uri="https://bandit.readthedocs.io/en/1.7.9/plugins/b602_subprocess_popen_with_shell_equals_true.html",
            rule_name="subprocess_popen_with_shell_equals_true",
            properties={"confidence": "high", "cwe": 78, "code": "subprocess.call(cmd, shell=True)"},
        ),
        _f(
            "security",
            "B608",
            Severity.MEDIUM,
            f"Possible SQL injection vector through string-based query construction: {ATTR}{IMG}",
            blocking=True,
            location=Location(HOSTILE_PATH, 7, 8, 0),
            help_uri="https://bandit.readthedocs.io/en/1.7.9/plugins/b608_hardcoded_sql_expressions.html",
            rule_name="hardcoded_sql_expressions",
            properties={"confidence": "medium", "cwe": 89},
        ),
        _f(
            "security",
            "B105",
            Severity.LOW,
            "Possible hardcoded password: 'hunter2'",
            location=Location("src/app/cli.py", 30, 30, 11),
            help_uri="https://bandit.readthedocs.io/en/1.7.9/plugins/b105_hardcoded_password_string.html",
            rule_name="hardcoded_password_string",
            properties={"confidence": "medium", "cwe": 259},
        ),
        _f(
            "security",
            "B101",
            Severity.LOW,
            "Use of assert detected. The enclosed code will be removed when compiling to optimised byte code.",
            location=Location("scripts/release.py", 5, 5, 4),
            help_uri="https://bandit.readthedocs.io/en/1.7.9/plugins/b101_assert_used.html",
            rule_name="assert_used",
            waiver=WAIVER,
            properties={"confidence": "high", "cwe": 703},
        ),
    )
    return CheckResult(
        name="security",
        status=Status.FAIL,
        summary="2 blocking findings (fail_on_severity medium)",
        tool_name="bandit",
        tool_version="1.7.9",
        duration_s=1.92,
        metrics={"files_scanned": 14, "lines_scanned": 1203, "counts": {"high": 1, "medium": 1, "low": 2}},
        findings=findings,
    )


def dependencies_check() -> CheckResult:
    findings = (
        _f(
            "dependencies",
            "GHSA-j8r2-6x86-q33q",
            Severity.HIGH,
            "requests 2.25.0: Unintended leak of Proxy-Authorization header in requests",
            blocking=True,
            package=Package("requests", "2.25.0"),
            help_uri="https://osv.dev/vulnerability/GHSA-j8r2-6x86-q33q",
            tags=("vulnerability",),
            properties={
                "aliases": ["CVE-2023-32681", "PYSEC-2023-74"],
                "fixed_versions": ["2.31.0"],
                "severity_score": 6.1,
                "description": "Requests leaks Proxy-Authorization headers to destination servers on redirects.",
                "manifest": {"path": "requirements.txt", "line": 3},
            },
        ),
        _f(
            "dependencies",
            "PYSEC-2024-1",
            Severity.CRITICAL,
            f"evil-pkg 0.1: remote code execution {SCRIPT}",
            blocking=True,
            package=Package("evil-pkg", "0.1"),
            properties={"aliases": [], "fixed_versions": [], "description": f"RCE {IMG}"},
        ),
        _f(
            "dependencies",
            "GHSA-h5c8-rqwp-cp95",
            Severity.MEDIUM,
            "jinja2 3.1.2: HTML attribute injection when passing user input as keys to xmlattr filter",
            package=Package("jinja2", "3.1.2"),
            waiver=BASELINED,
            properties={"aliases": ["CVE-2024-22195"], "fixed_versions": ["3.1.3"]},
        ),
    )
    return CheckResult(
        name="dependencies",
        status=Status.FAIL,
        summary="3 known vulnerabilities in 2 packages (1 baselined)",
        tool_name="pip-audit",
        tool_version="2.7.3",
        duration_s=3.4,
        metrics={"packages_audited": 41, "unaudited": ["private-lib"], "vulnerabilities": 3, "service": "osv-db"},
        findings=findings,
    )


def sbom_check() -> CheckResult:
    findings = (
        _f(
            "sbom",
            "sbom-no-license",
            Severity.INFO,
            "component private-lib 1.0 has no license in the SBOM",
            package=Package("private-lib", "1.0"),
        ),
    )
    return CheckResult(
        name="sbom",
        status=Status.PASS,
        summary="CycloneDX 1.6 SBOM with 42 components",
        tool_name="cyclonedx-bom",
        tool_version="4.6.1",
        duration_s=2.1,
        metrics={"components": 42, "spec_version": "1.6", "valid": True, "with_license": 41, "with_purl": 42},
        artifacts={"sbom": "sbom.cdx.json"},
        findings=findings,
    )


def licenses_check() -> CheckResult:
    findings = (
        _f(
            "licenses",
            "license-denied",
            Severity.HIGH,
            "gplthing 2.0 is licensed GPL-3.0-only, which the policy denies",
            blocking=True,
            package=Package("gplthing", "2.0"),
            properties={"license": "GPL-3.0-only", "raw": "GNU General Public License v3 (GPLv3)"},
        ),
        _f(
            "licenses",
            "license-unknown",
            Severity.LOW,
            f"weird-lib 0.3 has an unknown license: {ATTR}",
            package=Package("weird-lib", "0.3"),
            properties={"license": "", "raw": ATTR},
        ),
    )
    packages = [
        {
            "name": "gplthing",
            "version": "2.0",
            "license": "GPL-3.0-only",
            "raw": "GNU General Public License v3 (GPLv3)",
            "verdict": "denied",
        },
        {
            "name": "requests",
            "version": "2.25.0",
            "license": "Apache-2.0",
            "raw": "Apache Software License",
            "verdict": "allowed",
        },
        {"name": "weird-lib", "version": "0.3", "license": "", "raw": ATTR, "verdict": "unknown"},
        {"name": "jinja2", "version": "3.1.2", "license": "BSD-3-Clause", "raw": "BSD License", "verdict": "allowed"},
    ]
    return CheckResult(
        name="licenses",
        status=Status.FAIL,
        summary="1 denied license, 1 unknown",
        tool_name="pip-licenses",
        tool_version="5.0.0",
        duration_s=0.7,
        metrics={"packages": packages, "allow": ["MIT", "BSD-3-Clause", "Apache-2.0"], "deny": ["GPL-3.0-only"]},
        findings=findings,
    )


def failing_result() -> GateResult:
    """A failing run over all five checkers, as ``gatekeeper check`` would produce it."""
    checks = (coverage_check(), security_check(), dependencies_check(), sbom_check(), licenses_check())
    return GateResult(
        verdict=Verdict.FAIL,
        checks=checks,
        tool_version="0.1.0",
        started_at="2026-11-29T02:40:00Z",
        finished_at="2026-11-29T02:40:09Z",
        duration_s=9.3,
        repository={
            "root": "/home/runner/work/shop/shop",
            "commit": "3f2c1e9a0b7d4c5e6f708192a3b4c5d6e7f80912",
            "branch": "feature/<login>",
        },
        policy={"path": "gatekeeper.toml", "sha256": "ab" * 32, "source": "file"},
        waivers={
            "applied": [
                {
                    "id": "w-asserts",
                    "check": "security",
                    "rule": "B101",
                    "path": "scripts/*.py",
                    "package": "",
                    "reason": WAIVER.reason,
                    "approved_by": WAIVER.approved_by,
                    "expires": WAIVER.expires,
                    "findings": 1,
                    "fingerprints": [],
                }
            ],
            "expired": [
                {
                    "id": "w-old",
                    "check": "licenses",
                    "rule": "GPL-3.0-only",
                    "path": "",
                    "package": "gplthing",
                    "reason": f"legacy exception {SCRIPT}",
                    "approved_by": "legal@example.com",
                    "expires": "2025-01-31",
                    "findings": 1,
                    "fingerprints": [],
                }
            ],
            "unused": [],
        },
        extra={"actor": "octocat"},
    )


def errored_result() -> GateResult:
    """A run where one check could not run (verdict error) and one was skipped."""
    base = failing_result()
    broken = CheckResult(
        name="dependencies", status=Status.ERROR, summary="pip-audit timed out", error="pip-audit timed out after 900s"
    )
    skipped = CheckResult(name="sbom", status=Status.SKIPPED, summary="skipped by --skip")
    checks = tuple(broken if c.name == "dependencies" else skipped if c.name == "sbom" else c for c in base.checks)
    return replace(base, verdict=Verdict.ERROR, checks=checks)


def passing_result() -> GateResult:
    """A run where every check passed."""
    base = failing_result()
    checks = tuple(replace(c, status=Status.PASS, findings=(), summary="ok") for c in base.checks)
    return replace(base, verdict=Verdict.PASS, checks=checks, waivers={"applied": [], "expired": [], "unused": []}, extra={})


def many_findings(n: int, check: str = "security") -> GateResult:
    """A run whose one check reports ``n`` findings of mixed severity (for GitHub's limits)."""
    sevs = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.INFO, Severity.CRITICAL)
    findings = tuple(
        Finding(
            rule_id=f"B{100 + i % 7}",
            severity=sevs[i % len(sevs)],
            message=f"finding number {i}",
            blocking=sevs[i % len(sevs)].rank >= 2,
            location=Location(f"src/mod{i % 97}.py", 1 + i % 400),
            fingerprint=fingerprint(check, i),
        )
        for i in range(n)
    )
    result = CheckResult(
        name=check, status=Status.FAIL, summary=f"{n} findings", tool_name="bandit", tool_version="1.7.9", findings=findings
    )
    return replace(failing_result(), checks=(result,))
