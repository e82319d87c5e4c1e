"""Raw-socket helpers for the HTTP server tests: what a hostile or careless client does on the wire."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from leoflow.httpserver import BackgroundServer


async def echo(request):
    body = await request.body()
    return JSONResponse({"len": len(body), "path": request.url.path})


def echo_app(*routes) -> Starlette:
    return Starlette(routes=[*routes, Route("/{x:path}", echo, methods=["GET", "POST", "PUT"])])


@contextlib.contextmanager
def serving(app=None, **kw):
    srv = BackgroundServer(app or echo_app(), **kw).start()
    try:
        yield srv
    finally:
        srv.stop()


def connect(port: int, source: str | None = None) -> socket.socket:
    """A connection to the server, from `source` (an address of this host) when given."""
    return socket.create_connection(("127.0.0.1", port), timeout=10,
                                    source_address=(source, 0) if source else None)


def read_response(s: socket.socket, timeout: float = 5.0) -> tuple[int | None, dict, bytes]:
    """(status, headers, body) of one response, or (None, {}, b"") if the server closed without one."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            chunk = b""
        if not chunk:
            return None, {}, b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def detail(body: bytes) -> str:
    return json.loads(body)["detail"]


def closed_by_server(s: socket.socket, timeout: float = 5.0) -> bool:
    """True once the server has closed its side (whatever it sent first is read and dropped)."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def send_in_background(s: socket.socket, *pieces: bytes) -> threading.Thread:
    """Send `pieces` from a thread (the server may refuse halfway: errors are the point, not a failure)."""

    def run():
        try:
            for piece in pieces:
                s.sendall(piece)
        except OSError:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def get(port: int, path: str = "/ok", source: str | None = None, timeout: float = 5.0) -> int | None:
    with connect(port, source) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return read_response(s, timeout)[0]


def wait_until(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False
