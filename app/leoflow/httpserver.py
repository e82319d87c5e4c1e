"""Serve the ASGI app with Leoflow's HTTP/1.1 server (http11.py), in the calling thread or in a
background thread, on uvloop where it is installed (Linux, macOS) and the standard loop elsewhere."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading

log = logging.getLogger(__name__)


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


def serve_forever(app, host: str, port: int, on_ready=None, on_signal=None) -> None:
    """Block until stopped: by SIGINT/SIGTERM, or, given `on_signal(stop)`, by the `stop` it is handed on
    each of those signals (safe to call from any thread: lite keeps serving while its tasks finish)."""
    from .http11 import Server

    server = Server(app, host, port)

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

    def __init__(self, app, host: str = "127.0.0.1"):
        from .http11 import Server

        with socket.socket() as s:
            s.bind((host, 0))
            self.port = s.getsockname()[1]
        self.host = host
        self._server = Server(app, host, self.port)
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
