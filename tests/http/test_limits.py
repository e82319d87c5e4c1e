"""Request limits of Leoflow's HTTP server on real sockets: request target (414), headers (431) and body
(413), refused without holding what is over the limit, and the server answering others meanwhile."""

import time

import httpx
import pytest

from leoflow import config
from leoflow.http11 import Limits
from leoflow.httpserver import LOGIN_BODY_LIMIT, LOGIN_ROUTES, request_limits

from .wire import closed_by_server, connect, detail, get, read_response, send_in_background, serving


def test_a_100_mb_header_is_refused_at_once_and_others_are_answered_meanwhile():
    with serving() as srv, connect(srv.port) as s:
        started = time.monotonic()
        big = b"a" * (100 * 1024 * 1024)
        send_in_background(s, b"GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ", memoryview(big), b"\r\n\r\n")
        assert get(srv.port, timeout=2) == 200  # not stalled by the other connection
        status, _, body = read_response(s)
        assert status == 431 and "larger than" in detail(body)
        assert time.monotonic() - started < 3
        assert closed_by_server(s)
        assert get(srv.port) == 200


@pytest.mark.parametrize("request_bytes, status, says", [
    (b"GET /" + b"a" * 17000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "longer than 16384 bytes"),
    (b"GET /x HTTP/1.1\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431,
     "more than 100 headers"),
    (b"GET /x HTTP/1.1\r\nX-One: " + b"a" * 70000 + b"\r\n\r\n", 431, "larger than 65536 bytes"),
    (b"GET /x HTTP/1.1\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 1500) for i in range(50)) + b"\r\n", 431,
     "larger than 65536 bytes"),
])
def test_request_target_and_headers_over_their_limits(request_bytes, status, says):
    with serving() as srv, connect(srv.port) as s:
        s.sendall(request_bytes)
        got, headers, body = read_response(s)
        assert (got, headers["connection"]) == (status, "close") and says in detail(body)
        assert closed_by_server(s)


def test_a_request_target_that_trickles_in_is_refused_once_it_passes_the_limit():
    with serving(limits=Limits(max_url=1000)) as srv, connect(srv.port) as s:
        s.sendall(b"GET /")
        for _ in range(12):
            s.sendall(b"a" * 100)
            time.sleep(0.01)
        assert read_response(s)[0] == 414  # the request line never ended: refused all the same


def test_just_within_the_limits_is_served():
    with serving() as srv, connect(srv.port) as s:
        s.sendall(b"GET /" + b"a" * 16000 + b" HTTP/1.1\r\nHost: x\r\n"
                  + b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 600) for i in range(98)) + b"\r\n")
        assert read_response(s)[0] == 200


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_read():
    limits = Limits(max_body=1_000_000, route_body_limits={("POST", "/login"): 1000})
    with serving(limits=limits) as srv:
        for path, length, status in (("/login", 300_000_000, 413), ("/login", 1001, 413), ("/other", 1_000_001, 413),
                                     ("/login", 1000, 200), ("/other", 1_000_000, 200)):
            with connect(srv.port) as s:
                s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (path.encode(), length))
                if status == 413:  # answered with the body still unsent
                    got, _, body = read_response(s, timeout=2)
                    assert got == 413 and detail(body) == \
                        f"The request body is larger than {1000 if path == '/login' else 1_000_000} bytes"
                else:
                    s.sendall(b"x" * length)
                    assert read_response(s)[0] == 200
        with connect(srv.port) as s:  # a client that waits for 100 Continue is answered without it
            s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
            status, _, _ = read_response(s)
            assert status == 413


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit():
    with serving(limits=Limits(max_body=100_000)) as srv, connect(srv.port) as s:
        s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(11):  # 110 kB sent, and the body goes on as far as the server can tell
            s.sendall(b"2710\r\n" + b"x" * 10_000 + b"\r\n")
        status, _, body = read_response(s)
        assert status == 413 and "larger than 100000 bytes" in detail(body)
        with connect(srv.port) as ok:  # within the limit, chunked: served
            ok.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       + b"2710\r\n" + b"x" * 10_000 + b"\r\n0\r\n\r\n")
            assert read_response(ok)[0] == 200


def test_an_ordinary_client_that_sends_too_much_reads_the_413_rather_than_a_reset():
    with serving(limits=Limits(route_body_limits={("POST", "/login"): 1000})) as srv:
        with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=10) as client:
            response = client.post("/login", content=b"x" * 5_000_000)
            assert response.status_code == 413 and "1000 bytes" in response.json()["detail"]
            assert client.post("/login", content=b"x" * 1000).json() == {"len": 1000, "path": "/login"}


def test_the_limits_come_from_leoflow_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LEOFLOW_CONFIG", str(tmp_path / "none.toml"))
    defaults = request_limits(config.load(home=tmp_path))
    assert defaults.max_body == Limits().max_body
    assert defaults.route_body_limits == {route: LOGIN_BODY_LIMIT for route in LOGIN_ROUTES}
    for name, value in (("LEOFLOW_HTTP_MAX_URL", "2000"), ("LEOFLOW_HTTP_MAX_HEADER_BYTES", "3000"),
                        ("LEOFLOW_HTTP_MAX_HEADERS", "20"), ("LEOFLOW_HTTP_MAX_BODY", "123456"),
                        ("LEOFLOW_HTTP_MAX_LOGIN_BODY", "4096"), ("LEOFLOW_HTTP_HEAD_TIMEOUT", "2.5"),
                        ("LEOFLOW_HTTP_BODY_TIMEOUT", "7"), ("LEOFLOW_HTTP_MAX_CONNECTIONS", "300"),
                        ("LEOFLOW_HTTP_MAX_CONNECTIONS_PER_CLIENT", "0")):
        monkeypatch.setenv(name, value)
    limits = request_limits(config.load(home=tmp_path))
    assert (limits.max_url, limits.max_header_bytes, limits.max_headers, limits.max_body) == (2000, 3000, 20, 123456)
    assert (limits.head_timeout, limits.body_timeout) == (2.5, 7.0)
    assert (limits.max_connections, limits.max_connections_per_client) == (300, 0)
    assert set(limits.route_body_limits.values()) == {4096}
    monkeypatch.setenv("LEOFLOW_HTTP_MAX_BODY", "0")
    with pytest.raises(SystemExit, match="http_max_body.*above 0"):
        request_limits(config.load(home=tmp_path))
    monkeypatch.setenv("LEOFLOW_HTTP_MAX_BODY", "lots")
    with pytest.raises(SystemExit, match="http_max_body.*must be a int"):
        config.load(home=tmp_path)
