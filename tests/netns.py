"""Other "hosts" for tests: network namespaces joined to this one by veth pairs, made and removed by the test.

A `Host` has its own loopback and one link to the root namespace (10.77.N.2 there, 10.77.N.1 here);
`cut()` takes the link down (a partition), `restore()` brings it back. Only addresses inside these
namespaces and loopback are used. `TcpProxy` forwards an address on the link to a loopback service
(the machine's Postgres listens on 127.0.0.1 only).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import threading

import pytest

_counter = itertools.count(1)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


def netns_available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


class Host:
    def __init__(self):
        if not netns_available():
            if os.environ.get("LEOFLOW_REQUIRE_SERVICES") == "1":
                pytest.fail("network namespaces need root and iproute2 (ip) for this test")
            pytest.skip("network namespaces need root and iproute2 (ip)")
        count = next(_counter)
        self.index = (os.getpid() * 7 + count) % 250 + 1  # 10.77.<index>.0/24, one per host
        tag = f"{os.getpid() % 100000}x{count}"
        self.name = f"lf{tag}"
        self.outside, self.inside = f"lfo{tag}"[:15], f"lfi{tag}"[:15]
        self.gateway = f"10.77.{self.index}.1"  # this side of the link
        self.address = f"10.77.{self.index}.2"  # the host's side
        _ip("netns", "add", self.name)
        try:
            _ip("link", "add", self.outside, "type", "veth", "peer", "name", self.inside)
            _ip("link", "set", self.inside, "netns", self.name)
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.outside)
            _ip("link", "set", self.outside, "up")
            _ip("-n", self.name, "addr", "add", f"{self.address}/24", "dev", self.inside)
            _ip("-n", self.name, "link", "set", self.inside, "up")
            _ip("-n", self.name, "link", "set", "lo", "up")
        except Exception:
            self.close()
            raise

    def cut(self) -> None:
        _ip("link", "set", self.outside, "down")

    def restore(self) -> None:
        _ip("link", "set", self.outside, "up")

    def close(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", self.outside], capture_output=True, timeout=10)


class TcpProxy:
    """Forward connections to (listen_host, listen_port) to (target_host, target_port), in a thread."""

    def __init__(self, listen_host: str, target_host: str, target_port: int, listen_port: int = 0):
        self.listen_host, self.listen_port = listen_host, listen_port
        self.target = (target_host, target_port)
        self.loop = asyncio.new_event_loop()
        self._server = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tcp-proxy")
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def pipe(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(reader, writer):
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def start():
            self._server = await asyncio.start_server(handle, self.listen_host, self.listen_port)
            self.listen_port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def close(self) -> None:
        def stop():
            self._server.close()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.stop()

        self.loop.call_soon_threadsafe(stop)
        self._thread.join(5)
