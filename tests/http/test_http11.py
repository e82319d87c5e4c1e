"""Leoflow's HTTP/1.1 server (leoflow.http11) against real sockets: what its clients rely on."""

import asyncio
import socket
import subprocess
import shutil
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from leoflow.http11 import Limits
from leoflow.httpserver import BackgroundServer


async def echo(request):
    body = await request.body()
    return JSONResponse({"len": len(body), "path": request.url.path, "raw": request.scope["raw_path"].decode(),
                         "query": dict(request.query_params), "method": request.method})


async def stream(request):
    async def lines():
        for i in range(3):
            yield f"line {i}\n"
            await asyncio.sleep(0.005)
    return StreamingResponse(lines(), media_type="text/plain")


async def fails(request):
    raise ValueError("the app broke")


async def silent(scope, receive, send):
    return None  # an app that answers nothing


async def refuse(request):
    return JSONResponse({"detail": "no"}, status_code=403)  # without reading the body


async def wait_for_disconnect(request):
    await request.body()
    message = await request.receive()  # blocks until the client goes away
    request.app.state.seen.append(message["type"])
    return JSONResponse({})


@pytest.fixture(scope="module")
def server():
    app = Starlette(routes=[Route("/echo/{x:path}", echo, methods=["GET", "POST", "HEAD", "PUT"]),
                            Route("/stream", stream), Route("/fails", fails), Route("/silent", silent),
                            Route("/disconnect", wait_for_disconnect, methods=["POST"]),
                            Route("/refuse", refuse, methods=["POST"])])
    app.state.seen = []
    srv = BackgroundServer(app).start()
    yield srv, app
    srv.stop()


def raw(port: int, data: bytes, wait: float = 0.3) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(data)
        s.settimeout(wait)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
        return out


def test_paths_queries_bodies_and_keep_alive(server):
    srv, _ = server
    with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}") as client:
        body = client.get("/echo/a%20b%2Fc?x=1&y=%2F").json()
        assert body == {"len": 0, "path": "/echo/a b/c", "raw": "/echo/a%20b%2Fc", "query": {"x": "1", "y": "/"},
                        "method": "GET"}
        assert client.post("/echo/big", content=b"x" * 3_000_000).json()["len"] == 3_000_000  # flow control
        chunked = client.put("/echo/chunks", content=(b"abc" * 1000 for _ in range(5))).json()
        assert chunked["len"] == 15_000 and chunked["method"] == "PUT"
        head = client.head("/echo/h")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        assert "date" in head.headers
        streamed = client.get("/stream")
        assert streamed.text == "line 0\nline 1\nline 2\n" and streamed.headers["transfer-encoding"] == "chunked"
        # All of it over one kept-alive connection.
        assert client.get("/echo/last").json()["path"] == "/echo/last"


def test_a_body_the_app_never_read_does_not_stall_the_connection(server):
    srv, _ = server
    with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10) as client:
        assert client.post("/refuse", content=b"x" * 3_000_000).status_code == 403
        assert client.get("/echo/next").json()["path"] == "/echo/next"  # the same connection goes on


def test_app_failures_are_500_and_the_server_goes_on(server):
    srv, _ = server
    with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}") as client:
        assert client.get("/fails").status_code == 500
        assert client.get("/silent").status_code == 500
        assert client.get("/echo/after").status_code == 200


def test_pipelined_requests_are_answered_in_order(server):
    srv, _ = server
    out = raw(srv.port, b"GET /echo/one HTTP/1.1\r\nHost: x\r\n\r\n"
                        b"GET /echo/two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200 OK") == 2
    assert out.index(b"/echo/one") < out.index(b"/echo/two") and b"connection: close" in out


def test_a_malformed_request_is_400_and_closed(server):
    srv, _ = server
    out = raw(srv.port, b"NOT HTTP AT ALL\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 Bad Request") and b"connection: close" in out


def test_http_1_0_closes_after_the_response(server):
    srv, _ = server
    out = raw(srv.port, b"GET /echo/old HTTP/1.0\r\n\r\n", wait=2)
    assert out.startswith(b"HTTP/1.1 200 OK") and out.endswith(b'"method":"GET"}')
    streamed = raw(srv.port, b"GET /stream HTTP/1.0\r\n\r\n", wait=2)  # no chunked encoding for 1.0
    assert b"transfer-encoding" not in streamed and streamed.endswith(b"\r\n\r\nline 0\nline 1\nline 2\n")


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_expect_100_continue(server):
    srv, _ = server
    out = subprocess.run(["curl", "-s", "-H", "Expect: 100-continue", "--data-binary", "x" * 2000,
                          f"http://127.0.0.1:{srv.port}/echo/curl"], capture_output=True, text=True, timeout=10)
    assert '"len":2000' in out.stdout


def test_the_app_hears_a_client_that_went_away(server):
    srv, app = server
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.sendall(b"POST /disconnect HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        time.sleep(0.1)
    deadline = time.monotonic() + 5
    while not app.state.seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.state.seen == ["http.disconnect"]


def test_idle_and_half_sent_requests_are_closed_after_their_timeouts():
    srv = BackgroundServer(Starlette(routes=[Route("/echo/{x:path}", echo)]), limits=Limits(head_timeout=0.3))
    srv._server.keep_alive_timeout = 0.3
    srv.start()
    try:
        # Idle: closed without a word. Headers never finished: the head deadline answers 408 (test_slowloris.py).
        for first_bytes, answer in ((b"", b""), (b"GET /echo/slow HTTP/1.1\r\nHost: x\r\n", b"HTTP/1.1 408 ")):
            with socket.create_connection(("127.0.0.1", srv.port)) as s:
                s.sendall(first_bytes)
                s.settimeout(5)
                started = time.monotonic()
                out = b""
                while chunk := s.recv(65536):  # until the server closes
                    out += chunk
                assert out.startswith(answer)
                assert time.monotonic() - started < 3
    finally:
        srv.stop()


def test_stop_waits_for_a_request_in_flight():
    async def slow(request):
        await asyncio.sleep(0.3)
        return JSONResponse({"done": True})

    srv = BackgroundServer(Starlette(routes=[Route("/slow", slow)])).start()
    result = {}

    def call():
        result["body"] = httpx.get(f"http://127.0.0.1:{srv.port}/slow", timeout=5).json()

    import threading

    t = threading.Thread(target=call)
    t.start()
    deadline = time.monotonic() + 10
    while not srv._server.tasks and time.monotonic() < deadline:  # the request is in flight (not a fixed
        time.sleep(0.005)  # sleep: on a loaded machine the client thread may take longer to connect)
    srv.stop()
    t.join(5)
    assert result["body"] == {"done": True}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{srv.port}/slow", timeout=1)
