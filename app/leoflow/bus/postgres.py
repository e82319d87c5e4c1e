"""The bus over Postgres LISTEN/NOTIFY, for servers without Redis: replicas still wake each other at once.

A notification reaches every process listening on the queue's channel (Redis lists hand an event to
one consumer; here only the leading scheduler waits on the scheduler's queue, so that makes no
difference). As with Redis, nothing here is the truth: a lost notification only means the scheduler
notices on its next sweep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import select
import threading
import time

from .bus import Bus

log = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # after a failure, poll (no bus) this long before connecting again
MAX_PAYLOAD = 7900  # Postgres refuses notifications over 8000 bytes


def libpq_url(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    from ..store.engine import normalize_url

    url = make_url(normalize_url(database_url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def channel(queue: str) -> str:
    """A valid channel name for any queue name (channel names are identifiers of at most 63 bytes)."""
    return "leoflow_" + hashlib.sha1(queue.encode()).hexdigest()[:20]


class PostgresBus(Bus):
    def __init__(self, database_url: str):
        self.kind = "postgres"
        self._url = libpq_url(database_url)
        self._send_conn = None
        self._send_lock = threading.Lock()
        self._listeners: dict[str, tuple] = {}  # queue -> (its LISTENing connection, payloads received)
        self._down_until = 0.0
        self._broken_logged = False

    def _connect(self):
        import psycopg

        return psycopg.connect(self._url, autocommit=True, connect_timeout=3)

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER
        if not self._broken_logged:
            log.warning("bus (Postgres LISTEN/NOTIFY) unavailable (%s); falling back to polling",
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self._broken_logged = True

    def push(self, queue: str, event: dict) -> None:
        payload = json.dumps(event)
        if len(payload.encode()) > MAX_PAYLOAD:
            payload = json.dumps({k: event[k] for k in ("kind", "dag_id", "run_id") if k in event})
        if time.monotonic() < self._down_until:
            return
        with self._send_lock:
            try:
                if self._send_conn is None or self._send_conn.closed:
                    self._send_conn = self._connect()
                self._send_conn.execute("SELECT pg_notify(%s, %s)", (channel(queue), payload))
                self._broken_logged = False
            except Exception as exc:  # noqa: BLE001 - the bus is an accelerator: never fail the caller
                self._send_conn = None
                self._failed(exc)

    def wait(self, queue: str, timeout: float) -> list[dict]:
        if time.monotonic() < self._down_until:
            threading.Event().wait(timeout)
            return []
        try:
            listener = self._listeners.get(queue)
            if listener is None or listener[0].closed:
                conn, received = self._connect(), []
                conn.add_notify_handler(lambda n: received.append(n.payload))
                conn.execute(f"LISTEN {channel(queue)}")
                listener = self._listeners[queue] = (conn, received)
            conn, received = listener
            if not received:
                # Wait on the socket ourselves: psycopg's notifies(timeout=) waits for ever when its
                # deadline has passed by the time it looks (a process resumed after SIGSTOP).
                ready, _, _ = select.select([conn.fileno()], [], [], max(timeout, 0.0))
                if ready:
                    conn.execute("SELECT 1")  # reads what arrived: the handler collects the notifications
            events = [json.loads(payload) for payload in received]
            received.clear()
            self._broken_logged = False
            return events
        except Exception as exc:  # noqa: BLE001
            self._listeners.pop(queue, None)
            self._failed(exc)
            threading.Event().wait(min(timeout, RETRY_AFTER))
            return []

    def healthy(self) -> bool:
        try:
            with self._connect() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # noqa: BLE001
            return False
