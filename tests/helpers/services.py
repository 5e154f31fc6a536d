"""Loopback stand-ins for the network services gatekeeper's tools talk to; nothing reaches the internet.

Servers listen on port 0 of 127.0.0.1 (the kernel picks a free port), so parallel test workers
never collide. The fixtures ``offline_env`` and ``osv_service`` are in tests/conftest.py.
"""

from __future__ import annotations

import http.server
import json
import socket
import socketserver
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

#: (package name, version) -> the OSV records the fake api.osv.dev answers
Answers = dict[tuple[str, str], list[Mapping[str, Any]]]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def route_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every proxied request goes to a closed loopback port unless a test routes it elsewhere."""
    dead = f"http://127.0.0.1:{closed_port()}"
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, dead)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("PIP_AUDIT_OSV_URL", raising=False)


class LoopbackServer(socketserver.ThreadingTCPServer):
    """A threading server whose request threads never keep the test process alive."""

    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def serve(server: socketserver.BaseServer) -> Iterator[None]:
    """Run ``server`` in a thread for the ``with`` block, then shut it down and close it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def osv_handler(queries: list[dict[str, Any]], answers: Answers) -> type[http.server.BaseHTTPRequestHandler]:
    """A request handler answering api.osv.dev's ``POST /v1/query`` from ``answers`` and recording each query."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            queries.append(body)
            name, version = body["package"]["name"], body["version"]
            vulns = answers.get((name, version), answers.get((name.lower(), version), []))
            data = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
