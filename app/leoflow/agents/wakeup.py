"""Waking the agents' long-poll claims at once when work arrives.

A replica's own submits wake its waiting claims directly; other replicas hear it on the bus
(`AGENT_WORK_QUEUE`: Postgres NOTIFY reaches every replica, a Redis list one of them). A claim also
looks at the table every second, so a lost wake-up costs at most that.
"""

from __future__ import annotations

import asyncio
import logging
import threading

log = logging.getLogger(__name__)

AGENT_WORK_QUEUE = "leoflow:agents:work"
POLL_SECONDS = 1.0


class WorkSignal:
    def __init__(self):
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._listening = False

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed
                pass

    async def wait(self, timeout: float) -> None:
        """Return when work may have arrived, or after `timeout` (at most POLL_SECONDS)."""
        item = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(item)
        try:
            await asyncio.wait_for(item[1].wait(), max(0.0, min(timeout, POLL_SECONDS)))
        except asyncio.TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(item)

    def listen(self, bus) -> None:
        """Relay the bus's wake-ups to this process's waiting claims (one thread per process)."""
        with self._lock:
            if self._listening:
                return
            self._listening = True

        def run():
            while True:
                try:
                    if bus.wait(AGENT_WORK_QUEUE, 5.0):
                        self.notify()
                except Exception:  # noqa: BLE001 - the bus is an accelerator; claims poll anyway
                    log.debug("agent wake-up listener failed", exc_info=True)
                    threading.Event().wait(1.0)

        threading.Thread(target=run, name="agent-wakeups", daemon=True).start()


SIGNAL = WorkSignal()


def work_arrived(bus) -> None:
    SIGNAL.notify()
    bus.push(AGENT_WORK_QUEUE, {"kind": "agent_work"})
