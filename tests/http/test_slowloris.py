"""Slow and greedy clients against Leoflow's HTTP server on real sockets: the head deadline, the body
timeout, and the connection caps per client address and in all."""

import asyncio
import threading
import time

from starlette.responses import JSONResponse
from starlette.routing import Route

from leoflow.http11 import Limits

from .wire import closed_by_server, connect, detail, echo_app, get, read_response, serving, wait_until

LOOPBACK_2 = "127.0.0.2"  # another address of this host: Linux routes all of 127/8 to the loopback device


def test_headers_dripped_line_by_line_are_cut_off_by_the_head_deadline():
    with serving(limits=Limits(head_timeout=1.0)) as srv, connect(srv.port) as s:
        started = time.monotonic()
        s.sendall(b"GET /x HTTP/1.1\r\n")
        cut = None
        for i in range(25):  # a header line every 0.2 s: each resets an idle timer, none the deadline
            time.sleep(0.2)
            try:
                s.sendall(b"X-Drip-%d: 1\r\n" % i)
            except OSError:
                cut = time.monotonic() - started
                break
        status, _, body = read_response(s)
        assert status == 408 and "did not arrive within 1 s" in detail(body)
        assert cut is not None and 0.9 < cut < 2.5, cut
        assert get(srv.port) == 200


def test_a_body_that_stalls_gets_408_and_one_that_trickles_is_served():
    with serving(limits=Limits(body_timeout=0.5)) as srv:
        with connect(srv.port) as s:
            s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
            started = time.monotonic()
            status, _, body = read_response(s)
            assert status == 408 and "no progress for 0.5 s" in detail(body)
            assert 0.4 < time.monotonic() - started < 2
            assert closed_by_server(s)
        with connect(srv.port) as s:  # a byte every 0.2 s for 2 s: slow, but it moves
            s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
            for _ in range(10):
                time.sleep(0.2)
                s.sendall(b"x")
            status, _, body = read_response(s)
            assert status == 200 and body == b'{"len":10,"path":"/x"}'


def test_the_body_clock_stops_while_the_server_is_the_one_waiting():
    async def slow_reader(request):
        await asyncio.sleep(1.5)  # reading from the socket is paused meanwhile (flow control)
        return JSONResponse({"len": len(await request.body())})

    app = echo_app(Route("/slow", slow_reader, methods=["POST"]))
    with serving(app, limits=Limits(body_timeout=0.5)) as srv:
        with connect(srv.port) as s:
            s.sendall(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n")
            s.sendall(b"x" * 3_000_000)
            assert read_response(s)[2] == b'{"len":3000000}'
        with connect(srv.port) as s:  # 100-continue: the client waits until the app asks for the body
            s.sendall(b"POST /slow HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
            assert read_response(s)[0] == 100
            s.sendall(b"hello")
            assert read_response(s)[2] == b'{"len":5}'


def test_the_next_connection_from_a_capped_address_is_refused_while_others_are_answered():
    with serving(limits=Limits(max_connections_per_client=3, cap_loopback=True)) as srv:
        held = [connect(srv.port) for _ in range(3)]
        for s in held:  # each served, and kept alive
            s.sendall(b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(s)[0] == 200
        with connect(srv.port) as fourth:
            status, _, body = read_response(fourth)
            assert status == 429 and detail(body) == "Too many connections from 127.0.0.1: at most 3 at once"
            assert closed_by_server(fourth)
        assert get(srv.port, source=LOOPBACK_2) == 200  # another address is not held back
        held.pop().close()
        assert wait_until(lambda: srv._server.per_client.get("127.0.0.1") == 2)
        assert get(srv.port) == 200  # a place came free
        for s in held:
            s.sendall(b"GET /still HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(s)[0] == 200
            s.close()


def test_loopback_clients_are_not_capped_by_default():
    """Lite's own tasks all connect from 127.0.0.1, up to `parallelism` at once: the cap must not refuse them."""
    with serving(limits=Limits(max_connections_per_client=3)) as srv:
        held = [connect(srv.port, source) for source in ("127.0.0.1", LOOPBACK_2) for _ in range(6)]
        for s in held:
            s.sendall(b"GET /task HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(s)[0] == 200
        assert srv._server.per_client == {}
        for s in held:
            s.close()


def test_at_the_connection_cap_the_longest_idle_makes_room_and_health_answers():
    with serving(limits=Limits(max_connections=5, head_timeout=30)) as srv:
        connections = srv._server.connections

        def drip():
            s = connect(srv.port)
            s.sendall(b"GET /x HTTP/1.1\r\nX-A: 1\r\n")  # slowloris: a head that never ends
            time.sleep(0.01)  # the server's clock counts in milliseconds: each begins later than the last
            return s

        idle = connect(srv.port)
        assert wait_until(lambda: len(connections) == 1)
        dripping = [drip() for _ in range(4)]
        assert wait_until(lambda: len(connections) == 5 and sum(c.in_head for c in connections) == 4)
        assert get(srv.port, "/api/v2/monitor/health") == 200  # the idle one was closed to make room
        assert closed_by_server(idle, timeout=2)
        assert wait_until(lambda: len(connections) == 4)
        dripping.append(drip())
        assert wait_until(lambda: sum(c.in_head for c in connections) == 5)
        assert get(srv.port, "/api/v2/monitor/health") == 200  # then the oldest head, not the newest
        assert closed_by_server(dripping[0], timeout=2)
        assert not closed_by_server(dripping[-1], timeout=0.3)
        assert len(connections) <= 5
        for s in (idle, *dripping):
            s.close()


def test_at_the_connection_cap_with_every_connection_busy_the_next_is_refused():
    release = threading.Event()

    async def busy(request):
        while not release.is_set():
            await asyncio.sleep(0.01)
        return JSONResponse({})

    with serving(echo_app(Route("/busy", busy)), limits=Limits(max_connections=3)) as srv:
        held = [connect(srv.port) for _ in range(3)]
        for s in held:
            s.sendall(b"GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
        assert wait_until(lambda: len(srv._server.tasks) == 3)
        with connect(srv.port) as refused:
            status, _, body = read_response(refused)
            assert status == 503 and detail(body) == "The server has too many connections"
        release.set()
        for s in held:
            assert read_response(s)[0] == 200
            s.close()
        assert wait_until(lambda: get(srv.port) == 200)
