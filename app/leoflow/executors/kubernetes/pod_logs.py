"""A pod's log into its try's log (ADR 27): the executor reads the task container's log (`pods/log`)
while the pod runs and once more when it ended, and appends what is new to the try's log file on this
server; the server's log shipper sends that file to the database, where every replica reads it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from types import SimpleNamespace

from . import api

log = logging.getLogger(__name__)


class PodLog:
    """How much of one pod's log is in the try's log file already."""

    def __init__(self, path: Path | None, copied: int = 0):
        self.path = path
        self.copied = copied  # bytes of the pod's log (an adopting leader starts past what was shipped)
        self._lock = threading.Lock()  # a running read and the final one never append the same bytes twice

    def copy_new(self, pods, pod_name: str, *, ended: bool) -> None:
        """Append what the pod logged since the last look: whole lines while it runs, everything once it ended."""
        if self.path is None:
            return
        with self._lock:
            try:
                data = pods.log(pod_name)
            except api.ApiRefused as exc:
                log.info("Could not read the log of pod %s: %s", pod_name, exc)
                return
            new = data[self.copied:]
            end = len(new) if ended else new.rfind(b"\n") + 1
            if end <= 0:
                return
            chunk = new[:end] if new[:end].endswith(b"\n") else new[:end] + b"\n"
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "ab") as f:
                    f.write(chunk)
            except OSError as exc:
                log.warning("Could not write the log of pod %s: %s", pod_name, exc)
                return
            self.copied += end


def write_event(logs_folder, log_key: tuple, event: str) -> None:
    """One record of Leoflow's own in the try's log (why its pod failed or never started)."""
    from ...scheduler import try_log

    dag_id, run_id, task_id, map_index, try_number = log_key
    try_log.write(logs_folder, SimpleNamespace(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index,
                                               try_number=try_number), event)


def store_event(engine, log_key: tuple, event: str) -> None:
    """One record of Leoflow's own appended to the try's log in the database, after what its pod shipped."""
    import datetime as dt
    import json

    from ...scheduler.try_log import LOGGER
    from ...store import log_chunks

    record = {"timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
              "event": event, "level": "error", "logger": LOGGER}
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    for _ in range(5):  # a chunk numbered meanwhile (the pod's last one): the next number
        try:
            with engine.begin() as conn:
                if log_chunks.append(conn, log_key, log_chunks.next_seq(conn, log_key), line):
                    return
        except Exception as exc:  # noqa: BLE001 - the database is away: this line is lost, the try's end is not
            log.warning("Could not store a log record of %s: %s", log_key, exc)
            return


def shipped(engine, key: tuple) -> tuple[int, int]:
    """(bytes, next chunk number) of the try's log that reached the database already: what an adopted
    pod's previous leader shipped is not sent again, and the chunks go on from there."""
    if engine is None:
        return 0, 0
    from ...store import log_chunks

    try:
        with engine.connect() as conn:
            return len(log_chunks.read(conn, key).encode()), log_chunks.next_seq(conn, key)
    except Exception:  # noqa: BLE001 - the database is away: the log is sent whole (stored once per chunk)
        return 0, 0
