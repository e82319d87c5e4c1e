"""A small HTTP/1.1 server for ASGI apps: the httptools parser on an asyncio (uvloop) event loop.

Why Leoflow has its own (ADR 14): every task speaks to the Execution API three times, and lite must
answer health a fraction of a second after it starts. A general-purpose server cost 37 ms of imports
and more CPU per request than this does. It implements what Leoflow's clients use: keep-alive,
request bodies of any size (Content-Length or chunked), streamed responses (chunked when the app sets
no Content-Length), HEAD, `Expect: 100-continue`, flow control both ways, `http.disconnect`, a
keep-alive timeout and a graceful stop. No TLS, no HTTP/2, no WebSockets: lite listens on a local port,
and server mode sits behind whatever terminates TLS.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import urllib.parse
from email.utils import formatdate

import httptools

log = logging.getLogger("leoflow.http")

READ_BUFFER_LIMIT = 256 * 1024  # request body bytes held before reading from the socket pauses
REASONS = {}  # status -> reason phrase, filled on first use from http.HTTPStatus


def _status_line(status: int) -> bytes:
    reason = REASONS.get(status)
    if reason is None:
        import http

        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        REASONS[status] = reason
    return b"HTTP/1.1 %d %s\r\n" % (status, reason.encode("latin-1"))


class _Clock:
    """The Date header, formatted at most once a second."""

    second = -1
    value = b""

    @classmethod
    def date(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.second, cls.value = now, formatdate(now, usegmt=True).encode("latin-1")
        return cls.value


class _Exchange:
    """One request and its response on a connection."""

    def __init__(self, conn: "_Connection", scope: dict, keep_alive: bool, expect_continue: bool):
        self.conn, self.scope, self.keep_alive = conn, scope, keep_alive
        self.expect_continue = expect_continue
        self.body = collections.deque()
        self.buffered = 0
        self.body_complete = False  # the parser has seen the whole request body
        self.body_delivered = False  # ... and the app has received all of it
        self.wakeup = asyncio.Event()
        self.started = self.complete = False
        self.chunked = False
        self.head = scope["method"] == "HEAD"

    # --- what the app calls ---------------------------------------------------------------

    async def receive(self) -> dict:
        conn = self.conn
        if self.body_delivered or conn.lost:
            # After the body: block until the response is done or the client goes away (ASGI 2.3).
            while not (self.complete or conn.lost):
                self.wakeup.clear()
                await self.wakeup.wait()
            return {"type": "http.disconnect"}
        if self.expect_continue:
            self.expect_continue = False
            conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        while not self.body and not self.body_complete and not conn.lost:
            self.wakeup.clear()
            await self.wakeup.wait()
        if conn.lost:
            return {"type": "http.disconnect"}
        data = b"".join(self.body)
        self.body.clear()
        self.buffered = 0
        conn.resume_reading()
        self.body_delivered = self.body_complete
        return {"type": "http.request", "body": data, "more_body": not self.body_complete}

    async def send(self, message: dict) -> None:
        conn = self.conn
        if conn.lost or self.complete:
            return  # the client is gone, or the response already ended: nothing to send to
        if conn.write_paused:
            await conn.drained()
        kind = message["type"]
        if kind == "http.response.start" and not self.started:
            self.started = True
            head = [_status_line(message["status"]), b"date: ", _Clock.date(), b"\r\n"]
            has_length = False
            for name, value in message.get("headers", ()):
                low = name.lower()
                if low == b"content-length":
                    has_length = True
                elif low == b"connection" and value.lower() == b"close":
                    self.keep_alive = False
                elif low == b"transfer-encoding":
                    continue  # decided below
                head += [name, b": ", value, b"\r\n"]
            if not has_length and not self.head and message["status"] not in (204, 304) and message["status"] >= 200:
                if self.scope["http_version"] == "1.0":
                    self.keep_alive = False  # no chunked encoding in HTTP/1.0: the closed connection ends the body
                else:
                    self.chunked = True
                    head.append(b"transfer-encoding: chunked\r\n")
            if not self.keep_alive:
                head.append(b"connection: close\r\n")
            head.append(b"\r\n")
            conn.write(b"".join(head))
        elif kind == "http.response.body" and self.started:
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if self.head:
                pass
            elif self.chunked:
                out = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
                conn.write(out + b"0\r\n\r\n" if not more else out)
            elif body:
                conn.write(body)
            if not more:
                self.complete = True
                self.wakeup.set()
                conn.exchange_done(self)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}"
                               f"{' after the response started' if self.started else ''}")

    # --- what the parser feeds --------------------------------------------------------------

    def add_body(self, data: bytes) -> None:
        if self.complete:
            return  # answered without reading it (a refused upload): the rest is read and dropped
        self.body.append(data)
        self.buffered += len(data)
        if self.buffered > READ_BUFFER_LIMIT:
            self.conn.pause_reading()
        self.wakeup.set()

    def end_body(self) -> None:
        self.body_complete = True
        self.wakeup.set()


class _Connection(asyncio.Protocol):
    def __init__(self, server: "Server"):
        self.server = server
        self.app = server.app
        self.loop = server.loop
        self.parser = httptools.HttpRequestParser(self)
        self.transport = None
        self.lost = False
        self.write_paused = False
        self.read_paused = False
        self._drain: asyncio.Future | None = None
        self.current: _Exchange | None = None  # the exchange the app is answering
        self.waiting: collections.deque = collections.deque()  # pipelined requests behind it
        self.receiving: _Exchange | None = None  # the exchange the parser is filling
        self.idle_timer = None
        self._url = b""
        self._headers: list = []

    # --- transport events ---------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections.add(self)
        self.client = transport.get_extra_info("peername")
        self.local = transport.get_extra_info("sockname")
        self._start_idle_timer()

    def connection_lost(self, exc) -> None:
        self.lost = True
        self.server.connections.discard(self)
        self._cancel_idle_timer()
        for exchange in (self.current, self.receiving, *self.waiting):
            if exchange is not None:
                exchange.wakeup.set()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._cancel_idle_timer()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(b"426 Upgrade Required", b"Leoflow does not upgrade connections")
        except httptools.HttpParserError as exc:
            self._refuse(b"400 Bad Request", f"Invalid HTTP request: {exc}".encode())
        else:
            if self.current is None:  # idle, or a request still without its headers: the clock runs
                self._start_idle_timer()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    async def drained(self) -> None:
        if self.write_paused and not self.lost:
            self._drain = self.loop.create_future()
            await self._drain

    def pause_reading(self) -> None:
        if not self.read_paused and not self.lost:
            self.read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused and not self.lost:
            self.read_paused = False
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        if not self.lost:
            self.transport.write(data)

    # --- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        parsed = httptools.parse_url(self._url)
        raw_path = parsed.path or b"/"
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        method = self.parser.get_method().decode("ascii")
        expect = any(n == b"expect" and v.lower() == b"100-continue" for n, v in self._headers)
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": self.parser.get_http_version(), "method": method, "scheme": "http",
            "path": path, "raw_path": raw_path, "query_string": parsed.query or b"", "root_path": "",
            "headers": self._headers, "client": self.client, "server": self.local,
        }
        exchange = _Exchange(self, scope, self.parser.should_keep_alive() and not self.server.stopping, expect)
        self.receiving = exchange
        if self.current is None:
            self._start(exchange)
        else:
            self.waiting.append(exchange)
            self.pause_reading()  # one pipelined request at a time is plenty

    def on_body(self, body: bytes) -> None:
        if self.receiving is not None:
            self.receiving.add_body(body)

    def on_message_complete(self) -> None:
        if self.receiving is not None:
            self.receiving.end_body()
            self.receiving = None

    # --- exchanges ----------------------------------------------------------------------------

    def _start(self, exchange: _Exchange) -> None:
        self.current = exchange
        task = self.loop.create_task(self._run(exchange))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _run(self, exchange: _Exchange) -> None:
        try:
            await self.app(exchange.scope, exchange.receive, exchange.send)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                raise
            log.exception("The app failed on %s %s", exchange.scope["method"], exchange.scope["path"])
            if not exchange.started:
                await self._internal_error(exchange)
            elif not exchange.complete:
                self.transport.close()  # a half-sent response cannot be finished
            return
        if not exchange.started:
            log.error("The app sent no response to %s %s", exchange.scope["method"], exchange.scope["path"])
            await self._internal_error(exchange)
        elif not exchange.complete:
            self.transport.close()

    async def _internal_error(self, exchange: _Exchange) -> None:
        exchange.keep_alive = False
        await exchange.send({"type": "http.response.start", "status": 500,
                             "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                         (b"content-length", b"21")]})
        await exchange.send({"type": "http.response.body", "body": b"Internal Server Error"})

    def exchange_done(self, exchange: _Exchange) -> None:
        self.current = None
        if not exchange.keep_alive or self.lost:
            self.transport.close()
            return
        if self.waiting:
            self._start(self.waiting.popleft())
            self.resume_reading()
        elif self.server.stopping:
            self.transport.close()
        else:
            self.resume_reading()
            self._start_idle_timer()

    def _refuse(self, status: bytes, message: bytes) -> None:
        if self.current is None or not self.current.started:
            self.write(b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
                       b"content-length: %d\r\nconnection: close\r\n\r\n" % len(message) + message)
        self.transport.close()

    # --- idle connections ---------------------------------------------------------------------

    def _start_idle_timer(self) -> None:
        self._cancel_idle_timer()
        self.idle_timer = self.loop.call_later(self.server.keep_alive_timeout, self.close_if_idle)

    def _cancel_idle_timer(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def close_if_idle(self) -> None:
        """Close a connection with no request being answered (one still sending its headers counts)."""
        if self.current is None and not self.lost:
            self.transport.close()


class Server:
    """Serve `app` on host:port until `stop()`; `started` once listening."""

    def __init__(self, app, host: str, port: int, *, keep_alive_timeout: float = 75.0, graceful_timeout: float = 2.0):
        self.app, self.host, self.port = app, host, port
        self.keep_alive_timeout, self.graceful_timeout = keep_alive_timeout, graceful_timeout
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task] = set()
        self.started = False
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def serve(self, on_listening=None) -> None:
        """Until stop(); `on_listening()` is called (on the loop) as soon as connections are accepted."""
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await self.loop.create_server(lambda: _Connection(self), self.host, self.port, backlog=2048,
                                               reuse_address=True)
        self.started = True
        if on_listening is not None:
            on_listening()
        try:
            await self._stop.wait()
        finally:
            self.stopping = True
            server.close()
            for conn in list(self.connections):
                conn.close_if_idle()  # busy ones close once their response is sent
            deadline = self.loop.time() + self.graceful_timeout
            while self.tasks and self.loop.time() < deadline:
                await asyncio.sleep(0.02)
            for task in list(self.tasks):
                task.cancel()
            for conn in list(self.connections):
                conn.transport.close()

    def stop(self) -> None:
        """From the loop's thread (a signal handler) or, via call_soon_threadsafe, from another."""
        if self._stop is not None:
            self._stop.set()
