"""A small HTTP/1.1 server for ASGI apps: the httptools parser on an asyncio (uvloop) event loop.

Why Leoflow has its own (ADR 14): every task speaks to the Execution API three times, and lite must
answer health a fraction of a second after it starts. A general-purpose server cost 37 ms of imports
and more CPU per request than this does. It implements what Leoflow's clients use: keep-alive,
request bodies of any size (Content-Length or chunked), streamed responses (chunked when the app sets
no Content-Length), HEAD, `Expect: 100-continue`, flow control both ways, `http.disconnect`, a
keep-alive timeout and a graceful stop; TLS when given an `ssl.SSLContext` (see tls.py). No HTTP/2, no
WebSockets.

Hostile clients are bounded (ADR 16, `Limits`): the request target, the header bytes and count, and the
body (per route where a route takes little) have limits answered 414, 431 and 413 without buffering past
them; a request head must arrive within a deadline and a body must keep moving (408); connections are
capped per client address and in all, below the open-file limit, so health keeps answering.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
import urllib.parse
from dataclasses import dataclass, field
from email.utils import formatdate

import httptools

log = logging.getLogger("leoflow.http")

READ_BUFFER_LIMIT = 256 * 1024  # request body bytes held before reading from the socket pauses
# After a refusal, what the client still sends is read and dropped this long: closing with unread bytes
# would reset the connection, and a client still sending its body would get the reset instead of the answer.
LINGER_SECONDS = 1.0
WARN_EVERY = 10.0  # seconds between two warnings of one kind of refusal (an attack would fill the log)
REASONS = {}  # status -> reason phrase, filled on first use from http.HTTPStatus


@dataclass
class Limits:
    """What one request, and one client address, may take (defaults and reasons: ADR 16)."""

    max_url: int = 16 * 1024  # bytes of the request target (path and query): 414 beyond
    max_header_bytes: int = 64 * 1024  # header names and values together: 431 beyond
    max_headers: int = 100  # 431 beyond
    max_body: int = 64 * 1024 * 1024  # a request body: 413 beyond, unless its route has a limit of its own
    route_body_limits: dict = field(default_factory=dict)  # (method, path) -> bytes, for routes that take little
    head_timeout: float = 10.0  # from a request's first byte to the end of its headers: 408 beyond
    body_timeout: float = 30.0  # a request body that makes no progress this long: 408
    max_connections: int = 0  # open connections in all; 0: half the process's open-file limit
    max_connections_per_client: int = 64  # open connections from one address; 0: no cap
    cap_loopback: bool = False  # loopback clients (lite's own tasks, a TLS proxy on the host) are not capped

    @property
    def max_head(self) -> int:
        """The bytes a request head may span, its framing included, before it is refused unparsed."""
        return self.max_url + self.max_header_bytes + 4 * self.max_headers + 1024


def default_max_connections() -> int:
    """Half the open-file limit: the other half stays for the database, logs, pipes and the listener."""
    try:
        import resource
    except ImportError:  # Windows
        return 512
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 32768 if soft == resource.RLIM_INFINITY else max(16, soft // 2)


def is_loopback(host: str) -> bool:
    return host.startswith("127.") or host == "::1" or host.startswith("::ffff:127.")


_FULL = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 49\r\n"
         b"connection: close\r\n\r\n{\"detail\": \"The server has too many connections\"}")


class _Refusal(Exception):
    """Raised where a limit is passed (often inside a parser callback, which stops the parser): answer and close."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


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

    def __init__(self, conn: "_Connection", scope: dict, keep_alive: bool, expect_continue: bool, body_limit: int):
        self.conn, self.scope, self.keep_alive = conn, scope, keep_alive
        self.expect_continue = expect_continue
        self.body_limit = body_limit
        self.body = collections.deque()
        self.buffered = 0
        self.received = 0  # body bytes so far (a chunked body's length is known only at its end)
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
            conn.body_progress = conn.loop.time()  # the client's body clock starts now
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
        self.received += len(data)
        if self.received > self.body_limit:
            raise _Refusal(413, f"The request body is larger than {self.body_limit} bytes")
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
        self.limits = server.limits
        self.parser = httptools.HttpRequestParser(self)
        self.transport = None
        self.lost = False  # closed, or refused: nothing more is read or written for the app
        self.lingering = False  # refused: what the client still sends is dropped until it closes
        self.write_paused = False
        self.read_paused = False
        self._drain: asyncio.Future | None = None
        self.current: _Exchange | None = None  # the exchange the app is answering
        self.waiting: collections.deque = collections.deque()  # pipelined requests behind it
        self.receiving: _Exchange | None = None  # the exchange the parser is filling
        self.client_key: str | None = None  # the address counted against the per-client cap
        self.scheme = server.scheme
        self.tls: dict | None = None  # the ASGI TLS extension of a TLS connection
        self.idle_timer = self.head_timer = self.body_timer = self.linger_timer = None
        self.head_started = self.body_progress = 0.0
        self.in_head = False  # a request has begun and its headers have not ended
        self._head_bytes = 0  # bytes of the reads that were all head, after the one it began in
        self._measure = False  # this read could hold headers over the limit: count them when they end
        self._url = b""
        self._headers: list = []

    # --- transport events ---------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        server = self.server
        self.client = transport.get_extra_info("peername")
        self.local = transport.get_extra_info("sockname")
        if len(server.connections) >= server.max_connections and not server.make_room():
            server.warn("full", f"Refused a connection from {self.client and self.client[0]}: "
                                f"{server.max_connections} connections are open and all are busy")
            self.lost = True
            transport.write(_FULL)
            transport.close()
            return
        server.connections.add(self)
        cap = self.limits.max_connections_per_client
        host = self.client[0] if cap and self.client else None
        if host is not None and (self.limits.cap_loopback or not is_loopback(host)):
            count = server.per_client.get(host, 0)
            if count >= cap:
                server.warn("per-client", f"Refused a connection from {host}: it has {cap} open already")
                self._refuse(429, f"Too many connections from {host}: at most {cap} at once")
                return
            server.per_client[host] = count + 1
            self.client_key = host
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            from .tls import scope_extension

            self.tls = scope_extension(ssl_object)
        self._start_idle_timer()

    def connection_lost(self, exc) -> None:
        self._abandon()
        if self.linger_timer is not None:
            self.linger_timer.cancel()
        server = self.server
        server.connections.discard(self)
        if self.client_key is not None:
            left = server.per_client.pop(self.client_key) - 1
            if left:
                server.per_client[self.client_key] = left
            self.client_key = None

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # refused: dropped unread
        self._cancel_idle_timer()
        if self.body_timer is not None:
            self.body_progress = self.loop.time()
        # Headers that end in the read they began in are no longer than it: count them only after a
        # read longer than the limit or a head spanning reads (requests are counted once, at their end).
        self._measure = self.in_head or len(data) > self.limits.max_header_bytes
        try:
            if self.in_head:  # the head began in an earlier read: all of this one is head, up to its end
                room = self.limits.max_head - self._head_bytes
                if len(data) > room:
                    headers = self._headers  # a new list once the next request begins
                    self.parser.feed_data(data[:room])
                    if self.in_head and self._headers is headers:
                        raise _Refusal(431, f"The request head is larger than {self.limits.max_head} bytes")
                    data = data[room:]
                else:
                    self._head_bytes += len(data)
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(426, "Leoflow does not upgrade connections")
        except httptools.HttpParserError as exc:
            refusal = exc.__context__
            if isinstance(refusal, _Refusal):
                self._refuse(refusal.status, refusal.detail)
            else:
                self._refuse(400, f"Invalid HTTP request: {exc}")
        except _Refusal as refusal:
            self._refuse(refusal.status, refusal.detail)
        else:
            # Timers only for what spans reads: a request that arrives whole sets none.
            if self.in_head:
                if self.head_timer is None:
                    self._head_bytes = 0
                    self.head_started = self.loop.time()
                    self.head_timer = self.loop.call_later(self.limits.head_timeout, self._head_timed_out)
            elif self.receiving is not None and self.body_timer is None:
                self.body_progress = self.loop.time()
                self.body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timed_out)
            if self.current is None and not self.in_head:  # idle: the keep-alive clock runs
                self._start_idle_timer()

    def eof_received(self):
        return None  # the client is done sending: close (a lingering refusal ends here too)

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
            self.body_progress = self.loop.time()  # time spent paused is ours, not the client's

    def write(self, data: bytes) -> None:
        if not self.lost:
            self.transport.write(data)

    # --- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self.in_head = True

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self.limits.max_url:
            raise _Refusal(414, f"The request target (path and query) is longer than {self.limits.max_url} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.in_head = False
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        limits = self.limits
        headers = self._headers
        if len(headers) > limits.max_headers:
            raise _Refusal(431, f"The request has more than {limits.max_headers} headers")
        if self._measure and sum(len(n) + len(v) for n, v in headers) > limits.max_header_bytes:
            raise _Refusal(431, f"The request headers are larger than {limits.max_header_bytes} bytes")
        parsed = httptools.parse_url(self._url)
        raw_path = parsed.path or b"/"
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        method = self.parser.get_method().decode("ascii")
        expect = False
        length = None
        for name, value in headers:
            if name == b"content-length":
                length = value
            elif name == b"expect":
                expect = value.lower() == b"100-continue"
        routes = limits.route_body_limits
        body_limit = routes.get((method, path), limits.max_body) if routes else limits.max_body
        if length is not None and int(length) > body_limit:  # refused before a byte of it is read
            raise _Refusal(413, f"The request body is larger than {body_limit} bytes")
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": self.parser.get_http_version(), "method": method, "scheme": self.scheme,
            "path": path, "raw_path": raw_path, "query_string": parsed.query or b"", "root_path": "",
            "headers": headers, "client": self.client, "server": self.local,
        }
        if self.tls is not None:
            scope["extensions"] = {"tls": self.tls}
        exchange = _Exchange(self, scope, self.parser.should_keep_alive() and not self.server.stopping, expect,
                             body_limit)
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
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None

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
            elif not exchange.complete and not self.lost:
                self.transport.close()  # a half-sent response cannot be finished
            return
        if self.lost:
            return  # the client went away, or was refused: nobody to answer
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

    # --- refusals -----------------------------------------------------------------------------

    def _refuse(self, status: int, detail: str, *, linger: bool = True) -> None:
        """Answer `status` with `{"detail": ...}` (unless a response has begun) and close; the app hears a
        disconnect. With `linger`, the connection is half-closed and drained first (LINGER_SECONDS)."""
        if self.lost:
            return
        if status != 429:  # the per-client cap warns for itself, with the address
            self.server.warn(str(status), f"Refused a request from {self.client and self.client[0]} with "
                                          f"{status}: {detail}")
        answered = ((self.current is not None and self.current.started)
                    or (self.receiving is not None and self.receiving.started))
        if not answered:  # else a response has begun (or ended, the body being dropped): no second one
            body = json.dumps({"detail": detail}).encode()
            self.transport.write(_status_line(status) + b"content-type: application/json\r\n"
                                 b"content-length: %d\r\nconnection: close\r\n\r\n%b" % (len(body), body))
        self._abandon()
        if linger and self.transport.can_write_eof():
            self.lingering = True
            self.transport.write_eof()
            if self.read_paused:
                self.read_paused = False
                self.transport.resume_reading()
            self.linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _abandon(self) -> None:
        """No more requests on this connection: timers off, and whatever waits on it wakes up."""
        self.lost = True
        for timer in (self.idle_timer, self.head_timer, self.body_timer):
            if timer is not None:
                timer.cancel()
        self.idle_timer = self.head_timer = self.body_timer = None
        for exchange in (self.current, self.receiving, *self.waiting):
            if exchange is not None:
                exchange.wakeup.set()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def evict(self) -> None:
        """Closed to make room for a new connection (see Server.make_room)."""
        self._abandon()
        self.transport.close()

    # --- timers -------------------------------------------------------------------------------

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

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.in_head and not self.lost:
            self._refuse(408, f"The request headers did not arrive within {self.limits.head_timeout:g} s",
                         linger=False)

    def _body_timed_out(self) -> None:
        self.body_timer = None
        exchange = self.receiving
        if exchange is None or self.lost:
            return
        timeout = self.limits.body_timeout
        now = self.loop.time()
        if self.read_paused or exchange.expect_continue:
            # Waiting on this side: the app has not taken what came, or has not asked for the body yet.
            self.body_progress = now
        elif now - self.body_progress >= timeout:
            self._refuse(408, f"The request body made no progress for {timeout:g} s", linger=False)
            return
        self.body_timer = self.loop.call_later(timeout - (now - self.body_progress), self._body_timed_out)


class Server:
    """Serve `app` on host:port until `stop()`; `started` once listening. TLS with `ssl_context`."""

    def __init__(self, app, host: str, port: int, *, keep_alive_timeout: float = 75.0, graceful_timeout: float = 2.0,
                 limits: Limits | None = None, ssl_context=None):
        self.app, self.host, self.port = app, host, port
        self.keep_alive_timeout, self.graceful_timeout = keep_alive_timeout, graceful_timeout
        self.limits = limits or Limits()
        self.max_connections = self.limits.max_connections or default_max_connections()
        self.ssl_context = ssl_context
        self.scheme = "http" if ssl_context is None else "https"
        self.connections: set[_Connection] = set()
        self.per_client: dict[str, int] = {}  # address -> open connections, for the capped addresses
        self.tasks: set[asyncio.Task] = set()
        self.started = False
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._warned: dict[str, tuple[float, int]] = {}

    async def serve(self, on_listening=None) -> None:
        """Until stop(); `on_listening()` is called (on the loop) as soon as connections are accepted."""
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        tls = {} if self.ssl_context is None else {"ssl": self.ssl_context,
                                                   "ssl_handshake_timeout": self.limits.head_timeout}
        server = await self.loop.create_server(lambda: _Connection(self), self.host, self.port, backlog=2048,
                                               reuse_address=True, **tls)
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

    def make_room(self) -> bool:
        """At the connection cap: close the connection that is cheapest to lose, so a new client (health, a
        task) still gets in. Refused and closing ones go first, then the longest idle, then the oldest still
        sending its head; one whose request is being answered or read is never closed. False if none."""
        best, best_rank = None, None
        for conn in self.connections:
            if conn.lost or conn.transport.is_closing():
                best = conn
                break
            if conn.current is not None or conn.receiving is not None or conn.waiting:
                continue
            if conn.in_head:
                rank = (1, conn.head_started)
            else:  # idle: the one whose keep-alive timer ends first has been idle longest
                rank = (0, conn.idle_timer.when() if conn.idle_timer is not None else 0.0)
            if best_rank is None or rank < best_rank:
                best, best_rank = conn, rank
        if best is None:
            return False
        self.connections.discard(best)
        best.evict()
        return True

    def warn(self, kind: str, message: str) -> None:
        """Log a refusal, at most once every WARN_EVERY seconds per kind, with how many were not logged."""
        now = time.monotonic()
        last, skipped = self._warned.get(kind, (-WARN_EVERY, 0))
        if now - last < WARN_EVERY:
            self._warned[kind] = (last, skipped + 1)
            return
        self._warned[kind] = (now, 0)
        log.warning("%s%s", message, f" ({skipped} more like it in the last {now - last:.0f} s)" if skipped else "")
