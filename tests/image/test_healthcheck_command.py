"""`leoflow healthcheck`, the image's HEALTHCHECK, against a real HTTP server (no image needed)."""

from __future__ import annotations

import http.server
import threading

import pytest

from leoflow.cli.main import main
from tests.e2e.lite_process import free_port


@pytest.fixture
def probe_server():
    answers = {"/livez": 200, "/readyz": 503}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(answers.get(self.path, 404))
            self.end_headers()
            self.wfile.write(b'{"status": "x"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answers
    server.shutdown()
    server.server_close()


def test_live_ready_and_down(probe_server, capsys):
    url, answers = probe_server
    assert main(["healthcheck", "--url", url]) == 0
    assert main(["healthcheck", "--url", url, "--ready"]) == 1
    assert "/readyz answered 503" in capsys.readouterr().err
    answers["/readyz"] = 200
    assert main(["healthcheck", "--url", url, "--ready"]) == 0


def test_nothing_listening_fails_quickly(capsys):
    assert main(["healthcheck", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2"]) == 1
    assert "Connection refused" in capsys.readouterr().err


def test_default_address_is_this_hosts_port(monkeypatch, probe_server, tmp_path):
    url, _ = probe_server
    monkeypatch.setenv("LEOFLOW_HOST", "0.0.0.0")
    monkeypatch.setenv("LEOFLOW_PORT", url.rsplit(":", 1)[1])
    monkeypatch.setenv("LEOFLOW_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("LEOFLOW_HOME", str(tmp_path / "home"))
    assert main(["healthcheck"]) == 0
