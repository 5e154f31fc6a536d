"""A real RFC 3161 timestamp authority on the loopback: OpenSSL's ``openssl ts -reply`` signs every
token; a tiny HTTP server (127.0.0.1, port 0) carries ``application/timestamp-query`` requests to it.

``make_pki`` writes a test CA and a TSA certificate it issued (extendedKeyUsage critical
timeStamping), both generated with openssl in the test's own folder; ``LocalTSA`` serves tokens
signed with them. Its ``mode`` makes it misbehave on purpose: ``"refuse"`` answers HTTP 503,
``"garbage"`` answers bytes that are no timestamp reply.
"""

from __future__ import annotations

import datetime as dt
import http.server
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.services import LoopbackServer, serve

_TS_CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
certs = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class Pki:
    """A test CA (``ca``: its certificate, PEM) and a TSA certificate it issued, with the ts config."""

    folder: Path
    ca: Path
    tsa_cert: Path
    config: Path


def make_pki(folder: Path, name: str = "Test", tsa_window: tuple[dt.datetime, dt.datetime] | None = None) -> Pki:
    """A fresh CA and TSA key pair and certificates in ``folder`` (created), generated with openssl;
    ``tsa_window``: the TSA certificate's validity (not before, not after), else 30 days from now."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
        "-subj", f"/CN={name} Root CA", "-addext", "basicConstraints=critical,CA:true",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name} TSA", cwd=folder
    )  # fmt: skip
    (folder / "tsa.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n"
    )
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tsa.pem",
        "-days", "30", "-extfile", "tsa.ext", cwd=folder,
    )  # fmt: skip
    if tsa_window is not None:
        _reissue(folder, *tsa_window)
    (folder / "serial").write_text("01\n")
    config = folder / "ts.cnf"
    config.write_text(_TS_CONFIG.format(dir=folder))
    return Pki(folder=folder, ca=folder / "ca.pem", tsa_cert=folder / "tsa.pem", config=config)


def _reissue(folder: Path, not_before: dt.datetime, not_after: dt.datetime) -> None:
    """Issue ``tsa.pem`` again from its request, with the CA's key, valid from ``not_before`` to
    ``not_after`` (openssl x509 -req takes only a number of days from now)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    csr = x509.load_pem_x509_csr((folder / "tsa.csr").read_bytes())
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    (folder / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def sign_token(pki: Pki, digest_hex: str, folder: Path) -> bytes:
    """The DER TimeStampToken ``openssl ts -reply`` signs now over ``digest_hex`` with ``pki``'s TSA
    (whatever its certificate's validity: openssl signs with an expired one too)."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("ts", "-query", "-digest", digest_hex, "-sha256", "-cert", "-out", "q.tsq", cwd=folder)
    _openssl("ts", "-reply", "-config", str(pki.config), "-queryfile", "q.tsq", "-out", "r.tsr", cwd=folder)
    _openssl("ts", "-reply", "-in", "r.tsr", "-token_out", "-out", "t.der", cwd=folder)
    return (folder / "t.der").read_bytes()


class LocalTSA:
    """The authority's state: its PKI, the requests it answered, and how it behaves (``mode``)."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.mode = "ok"
        self.requests = 0
        self.url = ""
        self._lock = threading.Lock()  # one openssl ts -reply at a time: they share the serial file

    def reply(self, query: bytes) -> bytes:
        """The DER TimeStampResp ``openssl ts -reply`` makes for ``query``."""
        with self._lock:
            self.requests += 1
            request = self.pki.folder / f"q{self.requests}.tsq"
            answer = self.pki.folder / f"r{self.requests}.tsr"
            request.write_bytes(query)
            done = subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(self.pki.config), "-queryfile", str(request), "-out", str(answer)],
                cwd=self.pki.folder, capture_output=True, timeout=60,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(done.stderr.decode())
            return answer.read_bytes()


def _handler(tsa: LocalTSA) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if tsa.mode == "refuse":
                self.send_response(503, "Service Unavailable")
                self.end_headers()
                return
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_response(415)
                self.end_headers()
                return
            data = b"not a timestamp reply" if tsa.mode == "garbage" else tsa.reply(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # the signature http.server defines
            return

    return Handler


@contextmanager
def running_tsa(folder: Path, pki: Pki | None = None) -> Iterator[LocalTSA]:
    """A ``LocalTSA`` with ``pki`` (default: a fresh PKI in ``folder``), served at ``tsa.url`` for the ``with`` block."""
    tsa = LocalTSA(pki or make_pki(folder))
    server = LoopbackServer(("127.0.0.1", 0), _handler(tsa))
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    with serve(server):
        yield tsa
