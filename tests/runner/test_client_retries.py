"""The runner's Execution API client: a 503 (the server's database away for a moment) is asked again within
the client's patience, and an HTTPS server is checked against the CA file it is given."""

from __future__ import annotations

import http.server
import json
import ssl
import threading

import pytest

from leoflow.runner.client import ApiError, ExecutionClient
from tests.pki import CA


class Answers(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first `unavailable` requests, then 200 with the request's path."""

    unavailable = 0
    seen: list[str] = []

    def do_PATCH(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append(self.path)
        status = 503 if len(self.seen) <= self.unavailable else 200
        body = json.dumps({"path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(request):
    def start(unavailable: int, tls: ssl.SSLContext | None = None):
        handler = type("Handler", (Answers,), {"unavailable": unavailable, "seen": []})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls:
            httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        request.addfinalizer(httpd.shutdown)
        scheme = "https" if tls else "http"
        return f"{scheme}://127.0.0.1:{httpd.server_address[1]}/execution", handler.seen

    return start


def test_a_503_is_asked_again_until_the_server_answers(server):
    url, seen = server(unavailable=3)
    client = ExecutionClient(url, "token", connect_patience=30)
    assert client.request("PATCH", "task-instances/x/state", body={"state": "success"}) == {
        "path": "/execution/task-instances/x/state"}
    assert len(seen) == 4


def test_a_503_past_the_patience_is_the_servers_answer(server):
    url, seen = server(unavailable=1000)
    client = ExecutionClient(url, "token", connect_patience=0.5)
    with pytest.raises(ApiError) as refused:
        client.request("PATCH", "task-instances/x/state", body={"state": "success"})
    assert refused.value.status == 503 and 2 <= len(seen) < 50


def _tls(tmp_path, ca_name: str, loopback: bool):
    ca = CA(tmp_path, ca_name)
    cert, key = ca.issue(f"{ca_name}-server", server=True, loopback=loopback)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return ca, cert, context


def test_https_is_checked_against_the_given_ca(server, tmp_path):
    ca, _cert, context = _tls(tmp_path, "ours", loopback=True)
    url, _seen = server(unavailable=0, tls=context)
    assert ExecutionClient(url, "t", ca_file=str(ca.pem)).request("PATCH", "a", body={})["path"] == "/execution/a"
    other = CA(tmp_path, "theirs")
    with pytest.raises(ssl.SSLCertVerificationError):
        ExecutionClient(url, "t", ca_file=str(other.pem)).request("PATCH", "a", body={})
    with pytest.raises(ssl.SSLCertVerificationError):  # the system's CAs do not know the test's CA
        ExecutionClient(url, "t").request("PATCH", "a", body={})


def test_a_pinned_certificate_is_trusted_whatever_its_name(server, tmp_path):
    ca, cert, context = _tls(tmp_path, "pinned", loopback=False)  # named for another host only
    url, _seen = server(unavailable=0, tls=context)
    with pytest.raises(ssl.SSLCertVerificationError):  # by name, 127.0.0.1 is not that host
        ExecutionClient(url, "t", ca_file=str(ca.pem)).request("PATCH", "a", body={})
    assert ExecutionClient(url, "t", ca_file=str(cert), pinned=True).request("PATCH", "a", body={})["path"] == "/execution/a"
    other_ca, other_cert, _ = _tls(tmp_path, "stranger", loopback=False)
    with pytest.raises(ssl.SSLCertVerificationError):  # pinning trusts that certificate, no other
        ExecutionClient(url, "t", ca_file=str(other_cert), pinned=True).request("PATCH", "a", body={})
