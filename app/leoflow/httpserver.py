"""Serve the ASGI app with Hypercorn, in the calling thread or in a background thread."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading

log = logging.getLogger(__name__)


def _config(host: str, port: int):
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 2.0
    config.keep_alive_timeout = 75.0
    return config


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
    from hypercorn.asyncio import serve

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if on_ready:
            threading.Thread(target=_when_listening, args=(host, port, on_ready), daemon=True).start()
        await serve(app, _config(host, port), shutdown_trigger=stop.wait)

    asyncio.run(main())


class BackgroundServer:
    """For one-shot commands (`dags test`) that need the Execution API inside the process."""

    def __init__(self, app, host: str = "127.0.0.1"):
        with socket.socket() as s:
            s.bind((host, 0))
            self.port = s.getsockname()[1]
        self.host = host
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(app,), daemon=True, name="http")

    def _run(self, app) -> None:
        from hypercorn.asyncio import serve

        async def main():
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._loop.call_soon(self._ready.set)
            await serve(app, _config(self.host, self.port), shutdown_trigger=self._stop.wait)

        asyncio.run(main())

    def start(self) -> "BackgroundServer":
        import time

        self._thread.start()
        self._ready.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # serve() binds a moment after the loop starts
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)
