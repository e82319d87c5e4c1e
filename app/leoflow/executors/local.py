"""The local executor: every task instance runs as a child of the fork server on this machine."""

from __future__ import annotations

import logging
import threading

from .forkserver import ForkServer

log = logging.getLogger(__name__)


class LocalExecutor:
    name = "LocalExecutor"

    def __init__(self, forkserver: ForkServer, parallelism: int):
        self.forkserver = forkserver
        self.parallelism = parallelism
        self._lock = threading.Lock()
        self._running: dict[str, dict] = {}  # ti id -> workload
        self._exits: list[dict] = []
        self.on_event = lambda: None  # set by the scheduler: wake up
        forkserver.add_listener(self._on_forkserver_event)

    def free_slots(self) -> int:
        with self._lock:
            return max(self.parallelism - len(self._running), 0)

    def submit(self, workload: dict) -> None:
        with self._lock:
            self._running[workload["ti_id"]] = workload
        self.forkserver.submit(workload["ti_id"], "task", workload)

    def kill(self, ti_id: str) -> None:
        self.forkserver.kill(ti_id)

    def drain_exits(self) -> list[dict]:
        """Workloads whose process has ended, with `exit_code`: the scheduler checks their state was reported."""
        with self._lock:
            exits, self._exits = self._exits, []
        return exits

    def _on_forkserver_event(self, event: dict) -> None:
        if event.get("event") != "exited":
            return
        with self._lock:
            workload = self._running.pop(event["id"], None)
            if workload is None:
                return
            self._exits.append({**workload, "exit_code": event["code"]})
        self.on_event()
