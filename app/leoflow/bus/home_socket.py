"""Lite's wake-up socket: a `leoflow ...` command in another process wakes a running lite at once.

Lite's bus lives in its own memory, so a command run beside it (`leoflow dags trigger`, `tasks clear`)
could only wait for the scheduler's next sweep. Lite listens on a Unix datagram socket in its home
(`HOME/wake.sock`; the home is its user's only, so only that user can send) and puts what arrives on its
in-memory queue. As with every bus, a lost datagram (no lite running, a full buffer) costs only the wait.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from pathlib import Path

from .bus import DAG_PROCESSOR_QUEUE, SCHEDULER_QUEUE, Bus, MemoryBus

log = logging.getLogger(__name__)

SOCKET_NAME = "wake.sock"
MAX_DATAGRAM = 4096  # a wake-up is a few names; anything longer is not one
QUEUES = (SCHEDULER_QUEUE, DAG_PROCESSOR_QUEUE)
FIELDS = ("kind", "dag_id", "run_id", "path")  # what the parts read from an event; strings only
_SUN_PATH_MAX = 100  # sockaddr_un holds 108 bytes; longer homes are reached through /proc/self/fd


class _Address:
    """The socket's path, short enough for sockaddr_un: a long home is reached through an open descriptor
    of the home folder."""

    def __init__(self, home: Path):
        self.path = Path(home) / SOCKET_NAME
        self._dir_fd = None
        if len(os.fsencode(str(self.path))) > _SUN_PATH_MAX:
            self._dir_fd = os.open(home, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
            self.name = f"/proc/self/fd/{self._dir_fd}/{SOCKET_NAME}"
        else:
            self.name = str(self.path)

    def close(self) -> None:
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None


def event_of(data: bytes) -> tuple[str, dict] | None:
    """(queue, event) from a datagram, or None for anything that is not a wake-up."""
    try:
        message = json.loads(data)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("queue") not in QUEUES:
        return None
    event = message.get("event")
    if not isinstance(event, dict):
        return None
    return message["queue"], {k: event[k] for k in FIELDS if isinstance(event.get(k), str) and len(event[k]) < 1024}


class Listener:
    """Lite's end: a thread that moves each datagram onto the in-memory bus."""

    def __init__(self, bus: Bus, home: Path):
        self.bus = bus
        self._address = _Address(home)
        self._address.path.unlink(missing_ok=True)  # left by a lite that was killed (lite holds the home lock)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        old = os.umask(0o177)  # the socket file is 0600 from the start
        try:
            self._sock.bind(self._address.name)
        finally:
            os.umask(old)
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, name="wake-socket", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped:
            try:
                data = self._sock.recv(MAX_DATAGRAM)
            except OSError:
                return
            found = event_of(data)
            if found is not None:
                self.bus.push(*found)

    def close(self) -> None:
        self._stopped = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._address.path.unlink(missing_ok=True)
        self._address.close()


def listen(bus: Bus, home: Path) -> Listener | None:
    """Start listening, or None (logged) where the socket cannot be made: lite then relies on its sweeps."""
    try:
        return Listener(bus, home)
    except OSError as exc:
        log.warning("Commands run beside lite wake it on its next sweep only: no wake-up socket in %s (%s)",
                    home, exc.strerror or exc)
        return None


def send(home: Path, queue: str, event: dict) -> bool:
    """Hand a wake-up to the lite running on `home`; False when none listens."""
    address = _Address(home)
    try:
        if not address.path.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)  # a lite that does not read must not hold up the command
            sock.sendto(json.dumps({"queue": queue, "event": event}).encode()[:MAX_DATAGRAM], address.name)
        return True
    except OSError:
        return False
    finally:
        address.close()


class WakingBus(Bus):
    """A command's bus: each event goes to the lite on the home (if one runs) and to the configured bus
    (Redis, or Postgres for a server), whichever the running scheduler listens on."""

    def __init__(self, home: Path, inner: Bus):
        self.home = Path(home)
        self.inner = inner
        self.kind = inner.kind

    @property
    def redis(self):
        return self.inner.redis

    def push(self, queue: str, event: dict) -> None:
        send(self.home, queue, event)
        if not isinstance(self.inner, MemoryBus):  # this process's own memory reaches no one
            self.inner.push(queue, event)

    def wait(self, queue: str, timeout: float) -> list[dict]:
        return self.inner.wait(queue, timeout)

    def healthy(self) -> bool:
        return self.inner.healthy()
