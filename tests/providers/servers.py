"""The real servers the providers' end-to-end DAGs talk to: a database of their own on the machine's
Postgres and MariaDB, an HTTP server and an SMTP server (aiosmtpd) in the test process."""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.services import _unavailable

MARIADB = dict(host=os.environ.get("LEOFLOW_TEST_MARIADB_HOST", "127.0.0.1"),
               port=int(os.environ.get("LEOFLOW_TEST_MARIADB_PORT", "3306")), user="root")


def _mariadb(sql: str) -> None:
    done = subprocess.run(["mariadb", "-h", MARIADB["host"], "-P", str(MARIADB["port"]), "-u", MARIADB["user"],
                           "-e", sql], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())


@contextmanager
def mariadb_database():
    """A fresh MariaDB database's name, dropped afterwards."""
    name = "leoflow_t_" + uuid.uuid4().hex[:12]
    try:
        _mariadb(f"CREATE DATABASE `{name}`")
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        _unavailable("MariaDB", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    try:
        yield name
    finally:
        _mariadb(f"DROP DATABASE IF EXISTS `{name}`")


class HttpServer:
    """`GET /hello` answers JSON; `GET /ready` and `GET /later` are each 404 until `ready_after` requests
    have asked for that page, then 200."""

    def __init__(self, ready_after: int = 2):
        self.requests: list[tuple[str, str, bytes]] = []
        self.ready_after = ready_after
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1 << 20)) if length else b""
                outer.requests.append((self.command, self.path, body))
                page = self.path.split("?")[0]
                if page in ("/ready", "/later"):
                    asked = sum(1 for _, p, _ in outer.requests if p.split("?")[0] == page)
                    status, text = (200, b"ready") if asked > outer.ready_after else (404, b"not yet")
                elif self.path.startswith("/hello"):
                    status, text = 200, b'{"greeting": "hello from the test server"}'
                else:
                    status, text = 404, b"no such page"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SmtpServer:
    """aiosmtpd on a free loopback port; the messages it received, parsed."""

    def __init__(self):
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            _unavailable("aiosmtpd", "not installed (pyproject's test extra)")
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.messages: list = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                import email

                outer.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                       email.message_from_bytes(envelope.content)))
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
