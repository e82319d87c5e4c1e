"""Serve the ASGI app with uvicorn (httptools parser, uvloop where it exists), in the calling thread or in
a background thread. ADR 14 says why this server: every task speaks to the Execution API three times, so
the per-request cost of the HTTP layer is paid on every task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading

log = logging.getLogger(__name__)


def _loop_factory():
    """uvloop where it is installed (Linux, macOS); the standard loop elsewhere."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def _server(app, host: str, port: int):
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            # The caller owns SIGINT/SIGTERM: lite's shutdown (scheduler, fork server, job rows) must run,
            # where uvicorn would re-raise the signal and end the process once it has stopped serving.
            yield

    config = uvicorn.Config(
        app, host=host, port=port,
        # Passed as classes and names that need no import by string: the single executable finds them.
        http=HttpToolsProtocol, ws="none", lifespan="off", loop="none",
        log_config=None, access_log=False,
        timeout_keep_alive=75, timeout_graceful_shutdown=2,
    )
    return Server(config)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def _when_listening(host: str, port: int, callback, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    from .config import client_host

    target = client_host(host)
    while time.monotonic() < deadline:
        try:
            socket.create_connection((target, port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.005)
    callback()


def serve_forever(app, host: str, port: int, on_ready=None) -> None:
    """Block until SIGINT/SIGTERM."""
    server = _server(app, host, port)

    async def main():
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _request_exit, server)
        if on_ready:
            threading.Thread(target=_when_listening, args=(host, port, on_ready), daemon=True).start()
        await server.serve()

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())


def _request_exit(server) -> None:
    if server.should_exit:  # a second Ctrl-C: stop without waiting for open requests
        server.force_exit = True
    server.should_exit = True


class BackgroundServer:
    """For one-shot commands (`dags test`) that need the Execution API inside the process."""

    def __init__(self, app, host: str = "127.0.0.1"):
        with socket.socket() as s:
            s.bind((host, 0))
            self.port = s.getsockname()[1]
        self.host = host
        self._server = _server(app, host, self.port)
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
        self._server.should_exit = True
        self._thread.join(5)
