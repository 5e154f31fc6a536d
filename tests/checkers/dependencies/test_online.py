"""Online mode: the real pip-audit, run by the checker, talking to loopback stand-ins for its services.

Only the network is replaced. pip-audit's PyPI service asks https://pypi.org/pypi/<name>/<version>/json
(a fixed URL), so the test runs an HTTPS proxy on 127.0.0.1 that pip-audit reaches through the
standard HTTPS_PROXY variable (honoured by requests); the proxy answers CONNECT pypi.org:443 with
a certificate for pypi.org from a throw-away CA that REQUESTS_CA_BUNDLE names, and serves
responses shaped like PyPI's JSON API. The OSV service takes its URL from ``osv_url`` (pip-audit's
``--osv-url``), so a plain loopback HTTP server stands in for api.osv.dev. Any other connection
goes to a closed port: these tests cannot reach the internet.
"""

from __future__ import annotations

import http.server
import json
import socketserver
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.findings import GateResult, Severity, Status, Verdict
from tests.helpers.osv import RECORDS, dep_result, found
from tests.helpers.services import LoopbackServer, serve

Project = Callable[..., Path]
Gate = Callable[[Path], GateResult]

RANGE = next(r for r in RECORDS if r["id"] == "TEST-2024-RANGE")
WITHDRAWN = next(r for r in RECORDS if r["id"] == "TEST-2024-WITHDRAWN")
PROJECT_CLOSURE = {
    ("alpha", "1.4"),
    ("beta-pkg", "2.0.1"),
    ("gamma", "3.1"),
    ("delta", "0.5"),
    ("foo-bar-baz", "1.0"),
    ("safe", "5.0"),
}


# --------------------------------------------------------------------------- OSV API stand-in


def test_osv_service_audits_the_target_environment_and_maps_results(
    osv_service: tuple[str, list[dict[str, Any]], dict[tuple[str, str], list[Mapping[str, Any]]]],
    deps_project: Project,
    run_deps: Gate,
) -> None:
    url, queries, answers = osv_service
    answers[("alpha", "1.4")] = [RANGE]
    answers[("delta", "0.5")] = [WITHDRAWN]  # pip-audit drops withdrawn records itself
    root = deps_project(checks=f'service = "osv"\nosv_url = "{url}"', environment='scope = "project"')
    gate = run_deps(root)
    result = dep_result(gate)

    # pip-audit asked about exactly the packages of the project's closure in the target environment
    assert {(q["package"]["name"], q["version"]) for q in queries} == PROJECT_CLOSURE
    assert all(q["package"]["ecosystem"] == "PyPI" for q in queries)
    # pip-audit makes a PYSEC or CVE id the primary one (pip_audit/_service/interface.py, _id_comparison_key)
    assert found(result) == {("CVE-2024-0001", "alpha")}
    (f,) = result.findings
    assert f.properties["aliases"] == ["GHSA-aaaa-bbbb-cccc", "TEST-2024-RANGE"]
    assert f.properties["fixed_versions"] == ["1.5"]
    assert f.properties["description"] == "alpha: path traversal"
    assert f.severity is Severity.HIGH and f.properties["severity_source"] == "unknown"
    assert f.help_uri == "https://osv.dev/vulnerability/CVE-2024-0001"
    assert f.blocking and result.status is Status.FAIL and gate.verdict is Verdict.FAIL
    assert result.tool_name == "pip-audit" and result.tool_version
    m = result.metrics
    assert (m["service"], m["packages_audited"], m["unaudited"], m["vulnerabilities"]) == ("osv", 6, [], 1)
    # an online audit names the service it asked and when: its data is as of the query
    assert m["database"]["kind"] == "online" and m["database"]["location"] == url and m["db_as_of"] == m["database"]["queried_at"]
    assert result.summary == f"1 vulnerability in 1 of 6 packages (osv, scope project; queried {m['db_as_of']})"


# --------------------------------------------------------------------------- PyPI through an HTTPS proxy


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(CA certificate, pypi.org certificate, its key), made with openssl for this test module only."""
    d = tmp_path_factory.mktemp("certs")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=gatekeeper test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=pypi.org")
    (d / "ext.cnf").write_text(
        "subjectAltName=DNS:pypi.org\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n"
    )
    run(
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    return d / "ca.pem", d / "leaf.pem", d / "leaf.key"


def _pypi_json(name: str, version: str, records: list[Mapping[str, Any]]) -> dict[str, Any]:
    """A response shaped like https://pypi.org/pypi/<name>/<version>/json (the keys pip-audit reads, and more)."""
    vulns = []
    for rec in records:
        fixed = [
            e["fixed"]
            for a in rec["affected"]
            for r in a.get("ranges", [])
            if r["type"] == "ECOSYSTEM"
            for e in r["events"]
            if "fixed" in e
        ]
        vulns.append({
            "aliases": rec.get("aliases", []), "details": rec.get("details") or rec.get("summary", ""),
            "summary": rec.get("summary"),
            "fixed_in": fixed, "id": rec["id"], "link": f"https://osv.dev/vulnerability/{rec['id']}", "source": "osv",
            "withdrawn": rec.get("withdrawn"),
        })  # fmt: skip
    return {"info": {"name": name, "version": version}, "last_serial": 1, "urls": [], "vulnerabilities": vulns}


@pytest.fixture
def pypi(
    offline_env: None, certs: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[list[str], dict[tuple[str, str], list[Mapping[str, Any]] | None]]]:
    """(paths requested, {(name, version): records, or None for 404}); unknown packages get 404."""
    ca, leaf, key = certs
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(leaf, key)
    asked: list[str] = []
    answers: dict[tuple[str, str], list[Mapping[str, Any]] | None] = {}

    class PyPI(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            asked.append(self.path)
            parts = self.path.strip("/").split("/")
            records = answers.get((parts[1], parts[2])) if len(parts) == 4 and parts[0] == "pypi" else None
            if records is None:
                data, status = b'{"message": "Not Found"}', 404
            else:
                data, status = json.dumps(_pypi_json(parts[1], parts[2], records)).encode(), 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class Tunnel(socketserver.StreamRequestHandler):
        rbufsize = 0  # read the CONNECT head byte by byte: the TLS handshake must stay in the socket

        def handle(self) -> None:
            head = self.rfile.readline().decode("latin-1").split()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            if head[:2] != ["CONNECT", "pypi.org:443"]:
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            try:
                conn = tls.wrap_socket(self.connection, server_side=True)
            except (ssl.SSLError, OSError):
                return
            try:
                PyPI(conn, self.client_address, self.server)
            finally:
                conn.close()

    server = LoopbackServer(("127.0.0.1", 0), Tunnel)
    proxy = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.setenv("https_proxy", proxy)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    with serve(server):
        yield asked, answers


def test_pypi_service_maps_vulnerabilities_and_skipped_packages(
    pypi: tuple[list[str], dict[tuple[str, str], list[Mapping[str, Any]] | None]], deps_project: Project, run_deps: Gate
) -> None:
    asked, answers = pypi
    for name, version in PROJECT_CLOSURE:
        answers[(name, version)] = []
    answers[("alpha", "1.4")] = [RANGE]
    answers[("gamma", "3.1")] = None  # not on PyPI: pip-audit skips it
    root = deps_project(checks='service = "pypi"', environment='scope = "project"')
    result = dep_result(run_deps(root))

    assert {p for p in asked} == {f"/pypi/{n}/{v}/json" for n, v in PROJECT_CLOSURE}
    assert found(result) == {("CVE-2024-0001", "alpha")}
    vuln = next(f for f in result.findings if f.rule_id == "CVE-2024-0001")
    assert vuln.properties["aliases"] == ["GHSA-aaaa-bbbb-cccc", "TEST-2024-RANGE"] and vuln.properties["fixed_versions"] == [
        "1.5"
    ]
    assert result.metrics["unaudited"] == ["gamma"]
    assert "Dependency not found on PyPI" in result.metrics["unaudited_reasons"]["gamma"]
    assert result.metrics["packages_audited"] == 5 and result.metrics["service"] == "pypi"


def test_a_service_that_knows_no_package_is_an_error_not_pip_audits_silent_pass(
    pypi: tuple[list[str], dict[tuple[str, str], list[Mapping[str, Any]] | None]],
    deps_project: Project,
    run_deps: Gate,
    deps_python: Path,
    tmp_path: Path,
) -> None:
    # nothing is known to the stand-in PyPI: every query answers 404, as a proxy or mirror
    # without PyPI's JSON API does (the machine reaches PyPI, but not pypi.org/pypi/<name>/<version>/json)
    asked, _ = pypi
    reqs = tmp_path / "pins.txt"
    reqs.write_text("".join(f"{n}=={v}\n" for n, v in sorted(PROJECT_CLOSURE)))
    by_hand = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-r", str(reqs), "--no-deps", "--disable-pip", "-f", "json",
         "--progress-spinner", "off", "--cache-dir", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert by_hand.returncode == 0 and "No known vulnerabilities found" in by_hand.stderr  # pip-audit's own verdict

    root = deps_project(checks='service = "pypi"', environment='scope = "project"')
    gate = run_deps(root)
    result = dep_result(gate)
    assert len(asked) >= 2 * len(PROJECT_CLOSURE)  # the service was asked (by hand, then by the check)
    # an audit of nothing is not good news: the check could not run, and says how to audit offline
    assert result.status is Status.ERROR and gate.verdict is Verdict.ERROR and result.error is not None
    assert "no known vulnerabilities" not in result.summary
    assert f"the PyPI vulnerability service knew none of the {len(PROJECT_CLOSURE)} packages" in result.error
    assert "Dependency not found on PyPI" in result.error and "checks.dependencies.advisory_db" in result.error


def test_network_down_is_an_error_that_points_to_offline_mode(offline_env: None, deps_project: Project, run_deps: Gate) -> None:
    root = deps_project(checks='service = "pypi"', environment='scope = "project"')
    gate = run_deps(root)
    result = dep_result(gate)
    assert result.status is Status.ERROR and gate.verdict is Verdict.ERROR
    assert result.error is not None
    assert "could not reach the PyPI vulnerability service" in result.error and "advisory_db" in result.error


def test_pip_audit_missing_from_the_tool_interpreter_is_reported(
    offline_env: None, deps_project: Project, checkers: dict[str, Any], deps_python: Path
) -> None:
    import time

    from gatekeeper.checkers.base import CheckContext
    from gatekeeper.errors import ToolMissing
    from gatekeeper.policy import load_policy

    root = deps_project(checks='service = "pypi"', environment='scope = "project"')
    policy = load_policy(root, {n: c.options for n, c in checkers.items()})
    # the fake environment has no pip-audit: running the online mode with it as the tool interpreter
    ctx = CheckContext(
        root=root, output_dir=root / "out", policy=policy, deadline=time.monotonic() + 120, tool_python=str(deps_python)
    )
    with pytest.raises(ToolMissing, match="pip-audit is not installed"):
        checkers["dependencies"].run(policy.checks["dependencies"], ctx)
