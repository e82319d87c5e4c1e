"""Serve the ASGI app with Leoflow's HTTP/1.1 server (http11.py), in the calling thread or in a
background thread, on uvloop where it is installed (Linux, macOS) and the standard loop elsewhere.
The server's limits come from the settings (`request_limits`); TLS from an `ssl.SSLContext` (tls.py)."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading

log = logging.getLogger(__name__)

# The routes that take a username and a password and nothing else: a small body is plenty (ADR 16).
# Paths as the app serves them (api/app.py's /auth/token, api/login.py's LOGIN_PATH); tests hold them to it.
LOGIN_ROUTES = (("POST", "/auth/token"), ("POST", "/api/v2/auth/login"))
LOGIN_BODY_LIMIT = 16 * 1024

# Settings name -> http11.Limits field.
_LIMIT_SETTINGS = {
    "http_max_url": "max_url", "http_max_header_bytes": "max_header_bytes", "http_max_headers": "max_headers",
    "http_max_body": "max_body", "http_head_timeout": "head_timeout", "http_body_timeout": "body_timeout",
    "http_max_connections": "max_connections", "http_max_connections_per_client": "max_connections_per_client",
}
_ZERO_ALLOWED = {"http_max_connections", "http_max_connections_per_client"}  # 0: the default cap / no cap


def request_limits(settings=None):
    """The HTTP server's limits: Leoflow's login routes get a small body limit, and `LEOFLOW_HTTP_*`
    settings override the server's defaults."""
    from .http11 import Limits

    given = {name: getattr(settings, name, None) for name in (*_LIMIT_SETTINGS, "http_max_login_body")}
    for name, value in given.items():
        if value is not None and (value < 0 or (value == 0 and name not in _ZERO_ALLOWED)):
            raise SystemExit(f"leoflow: setting {name!r} must be {'0 or more' if name in _ZERO_ALLOWED else 'above 0'}"
                             f", got {value!r}")
    limits = Limits(**{field: given[name] for name, field in _LIMIT_SETTINGS.items() if given[name] is not None})
    login = given["http_max_login_body"] or min(LOGIN_BODY_LIMIT, limits.max_body)
    limits.route_body_limits = {route: login for route in LOGIN_ROUTES}
    return limits


def _loop_factory():
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def serve_forever(app, host: str, port: int, on_ready=None, on_signal=None, *, limits=None,
                  ssl_context=None) -> None:
    """Block until stopped: by SIGINT/SIGTERM, or, given `on_signal(stop)`, by the `stop` it is handed on
    each of those signals (safe to call from any thread: lite keeps serving while its tasks finish).
    `limits`: http11.Limits (default: `request_limits()`); TLS with `ssl_context`."""
    from .http11 import Server

    server = Server(app, host, port, limits=limits or request_limits(), ssl_context=ssl_context)

    async def main():
        loop = asyncio.get_running_loop()

        def stop() -> None:
            loop.call_soon_threadsafe(server.stop)

        handler = server.stop if on_signal is None else (lambda: on_signal(stop))
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, handler)
        await server.serve(on_listening=on_ready)

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())


class BackgroundServer:
    """For one-shot commands (`dags test`) that need the Execution API inside the process."""

    def __init__(self, app, host: str = "127.0.0.1", *, limits=None, ssl_context=None):
        from .http11 import Server

        with socket.socket() as s:
            s.bind((host, 0))
            self.port = s.getsockname()[1]
        self.host = host
        self._server = Server(app, host, self.port, limits=limits or request_limits(), ssl_context=ssl_context)
        self._thread = threading.Thread(target=self._run, daemon=True, name="http")

    def _run(self) -> None:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(self._server.serve())

    def start(self) -> "BackgroundServer":
        import time

        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self._server.started:
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        if self._server.loop is not None:
            self._server.loop.call_soon_threadsafe(self._server.stop)
        self._thread.join(5)
