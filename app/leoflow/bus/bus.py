"""The bus: wake-ups and live data that may be lost without harm.

Real Redis in server mode; in lite mode, where every part lives in one process,
plain queues in memory (`MemoryBus`). Nothing here is the truth: the database
is. A lost message only means the scheduler notices on its next poll instead
of at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict, deque

log = logging.getLogger(__name__)

SCHEDULER_QUEUE = "leoflow:scheduler:wake"
RETRY_AFTER = 5.0  # after Redis failed, poll without it this long before trying again
DAG_PROCESSOR_QUEUE = "leoflow:dagproc:parse"  # a parse request was stored: take it now
WAKE_BATCH = 10_000  # events one wake-up takes at most (the rest wake the next wait at once)


class Bus:
    def __init__(self, redis_client, *, kind: str):
        self.redis = redis_client
        self.kind = kind  # "redis" or "fakeredis", for health reports
        self._broken_logged = False
        self._down_until = 0.0
        self._blmpop = True  # Redis 7's BLMPOP takes every waiting event in the wake-up's round trip

    def _failed(self, exc: Exception, what: str) -> None:
        # Each attempt on a dead Redis costs a connect timeout: the parts poll without it for a while.
        self._down_until = time.monotonic() + RETRY_AFTER
        if not self._broken_logged:
            log.warning("bus unavailable (%s); %s", exc, what)
            self._broken_logged = True

    def notify_scheduler(self, **event) -> None:
        """Tell the scheduler something changed (a task finished, a run was triggered)."""
        self.push(SCHEDULER_QUEUE, event)

    def notify_dag_processor(self, **event) -> None:
        """Tell the DAG processor a file was asked to be parsed again (the request itself is in the store)."""
        self.push(DAG_PROCESSOR_QUEUE, event)

    def push(self, queue: str, event: dict) -> None:
        if time.monotonic() < self._down_until:
            return
        try:
            self.redis.rpush(queue, json.dumps(event))
            if self._broken_logged:
                log.info("bus available again")
            self._broken_logged = False
        except Exception as exc:  # the bus is an accelerator: never fail the caller
            self._failed(exc, "components fall back to polling")

    def wait(self, queue: str, timeout: float) -> list[dict]:
        """Block up to `timeout` seconds for events; return every event waiting."""
        if time.monotonic() < self._down_until:
            threading.Event().wait(timeout)
            return []
        try:
            events = self._take(queue, max(timeout, 0.01))
            if events is None:
                return []
            if self._broken_logged:
                log.info("bus available again")
            self._broken_logged = False
            return events
        except Exception as exc:
            self._failed(exc, "falling back to polling")
            threading.Event().wait(timeout)
            return []

    def _take(self, queue: str, timeout: float) -> list[dict] | None:
        """Block for the first event, then take all waiting: one round trip on Redis 7 (BLMPOP), two on
        older servers (BLPOP, then the rest in one transaction)."""
        if self._blmpop:
            from redis.exceptions import ResponseError

            try:
                got = self.redis.execute_command("BLMPOP", timeout, 1, queue, "LEFT", "COUNT", WAKE_BATCH)
            except ResponseError as exc:  # an older Redis: "unknown command"
                if "unknown command" not in str(exc).lower():
                    raise
                self._blmpop = False
            else:
                return None if got is None else [json.loads(raw) for raw in got[1]]
        first = self.redis.blpop([queue], timeout=timeout)
        if first is None:
            return None
        with self.redis.pipeline() as pipe:
            pipe.lrange(queue, 0, -1)
            pipe.delete(queue)
            rest, _ = pipe.execute()
        return [json.loads(first[1]), *(json.loads(raw) for raw in rest)]

    def healthy(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:
            return False


class MemoryBus(Bus):
    """Lite's bus: queues in this process, a condition variable for the wake-up.

    Every part of `leoflow lite` runs in one process, so a Redis protocol (even fakeredis's,
    which parses RESP through a fake socket) only costs start-up time, memory and CPU per
    event. Code that needs Redis commands beyond push/wait still gets a fakeredis from `.redis`.
    """

    def __init__(self):
        self.kind = "memory"
        self._broken_logged = False
        self._queues: dict[str, deque] = defaultdict(deque)
        self._cond = threading.Condition()
        self._fake = None

    @property
    def redis(self):
        if self._fake is None:
            import fakeredis

            self._fake = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        return self._fake

    def push(self, queue: str, event: dict) -> None:
        data = json.dumps(event)  # the same contract as Redis: JSON in, a fresh copy out
        with self._cond:
            self._queues[queue].append(data)
            self._cond.notify_all()

    def wait(self, queue: str, timeout: float) -> list[dict]:
        with self._cond:
            items = self._queues[queue]
            if not items:
                self._cond.wait_for(lambda: items, max(timeout, 0.0))
            raw = list(items)
            items.clear()
        return [json.loads(r) for r in raw]

    def healthy(self) -> bool:
        return True


def connect(redis_url: str | None, *, database_url: str | None = None) -> Bus:
    """Real Redis at `redis_url`; else Postgres LISTEN/NOTIFY when a server gives its `database_url`;
    else the in-process MemoryBus (lite)."""
    if redis_url:
        import redis

        # A read never blocks longer than a wait's timeout plus this: a Redis cut off silently is noticed.
        client = redis.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=2,
                                      socket_keepalive=True, health_check_interval=15)
        return Bus(client, kind="redis")
    if database_url and database_url.startswith(("postgres", "postgresql")):
        from .postgres import PostgresBus

        return PostgresBus(database_url)
    return MemoryBus()
