"""The bus: wake-ups and live data that may be lost without harm.

Real Redis in server mode, fakeredis inside the process in lite mode; the same
code drives both. Nothing here is the truth: the database is. A lost message
only means the scheduler notices on its next poll instead of at once.
"""

from __future__ import annotations

import json
import logging
import threading

log = logging.getLogger(__name__)

SCHEDULER_QUEUE = "leoflow:scheduler:wake"


class Bus:
    def __init__(self, redis_client, *, kind: str):
        self.redis = redis_client
        self.kind = kind  # "redis" or "fakeredis", for health reports
        self._broken_logged = False

    def notify_scheduler(self, **event) -> None:
        """Tell the scheduler something changed (a task finished, a run was triggered)."""
        self.push(SCHEDULER_QUEUE, event)

    def push(self, queue: str, event: dict) -> None:
        try:
            self.redis.rpush(queue, json.dumps(event))
            self._broken_logged = False
        except Exception as exc:  # the bus is an accelerator: never fail the caller
            if not self._broken_logged:
                log.warning("bus unavailable (%s); components fall back to polling", exc)
                self._broken_logged = True

    def wait(self, queue: str, timeout: float) -> list[dict]:
        """Block up to `timeout` seconds for events; return every event waiting."""
        try:
            first = self.redis.blpop([queue], timeout=max(timeout, 0.01))
            if first is None:
                return []
            events = [json.loads(first[1])]
            with self.redis.pipeline() as pipe:
                pipe.lrange(queue, 0, -1)
                pipe.delete(queue)
                rest, _ = pipe.execute()
            events.extend(json.loads(raw) for raw in rest)
            return events
        except Exception as exc:
            if not self._broken_logged:
                log.warning("bus unavailable (%s); falling back to polling", exc)
                self._broken_logged = True
            threading.Event().wait(timeout)
            return []

    def healthy(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:
            return False


def connect(redis_url: str | None) -> Bus:
    """Real Redis at `redis_url`, or an in-process fakeredis when None."""
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=None, socket_connect_timeout=2)
        return Bus(client, kind="redis")
    import fakeredis

    return Bus(fakeredis.FakeRedis(server=fakeredis.FakeServer()), kind="fakeredis")
