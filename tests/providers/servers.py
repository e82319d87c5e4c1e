"""The real servers the providers' end-to-end DAGs talk to: a database of their own on the machine's
Postgres and MariaDB, an HTTP server and an SMTP server (aiosmtpd) in the test process, and Debian's
sshd on a loopback port."""

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


class _LoopbackHttp:
    """A ThreadingHTTPServer on a free loopback port, served from a thread while in its `with` block."""

    def __init__(self, handler):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class HttpServer(_LoopbackHttp):
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

        super().__init__(Handler)


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


class SshServer:
    """Debian's sshd on a free loopback port, with host and client keys of its own (key login only)."""

    SSHD = "/usr/sbin/sshd"

    def __init__(self, folder):
        import getpass
        import shutil
        import socket

        if not os.path.exists(self.SSHD) or shutil.which("ssh-keygen") is None:
            _unavailable("sshd", "Debian's openssh-server is not installed (apt-get install openssh-server)")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        for name in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True,
                           timeout=30)
        (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
        os.chmod(folder / "authorized_keys", 0o600)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.user = getpass.getuser()
        self.key_file = str(folder / "client_key")
        (folder / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_key'}",
            f"AuthorizedKeysFile {folder / 'authorized_keys'}", f"PidFile {folder / 'sshd.pid'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
            "StrictModes no", "UsePAM no", "Subsystem sftp internal-sftp", ""]))
        self.proc = None

    def __enter__(self):
        import socket
        import time

        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation folder
        self.proc = subprocess.Popen([self.SSHD, "-D", "-e", "-f", str(self.folder / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=open(self.folder / "sshd.log", "wb"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.folder / 'sshd.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not listen in 10 s")

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class AthenaServer(_LoopbackHttp):
    """Stands in for Amazon Athena's endpoint (no AWS is reachable here): the two calls AthenaOperator
    makes through botocore, StartQueryExecution and GetQueryExecution (AWS's JSON 1.1 protocol, the call
    named by the X-Amz-Target header). Every query has already succeeded. Signatures are not checked."""

    def __init__(self):
        import json

        self.calls: list[tuple[str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(min(length, 1 << 20)) or b"{}")
                action = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                outer.calls.append((action, body))
                if action == "StartQueryExecution":
                    status, answer = 200, {"QueryExecutionId": f"q-{len(outer.calls)}"}
                elif action == "GetQueryExecution":
                    status, answer = 200, {"QueryExecution": {"QueryExecutionId": body.get("QueryExecutionId"),
                                                              "Status": {"State": "SUCCEEDED"}}}
                else:
                    status, answer = 400, {"__type": "InvalidRequestException", "message": f"not faked: {action}"}
                text = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
