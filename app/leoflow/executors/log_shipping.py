"""Ship the log files of running tries, whole lines at a time, to where every server can read them.

A try's runner (Leoflow's or Airflow's) writes its log to a local file; this follows the file while the
try runs and sends what was added every `interval` seconds, then the rest once the try's process ended.
The sink is the database on a server replica (`database_sink`) or the agent API on an agent host.
A chunk is numbered: resending one whose answer was lost stores it once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

MAX_CHUNK_BYTES = 256 * 1024


@dataclass
class _Followed:
    key: tuple  # (dag_id, run_id, task_id, map_index, try_number)
    path: Path
    offset: int = 0
    seq: int = 0
    ended: bool = False


class LogShipper:
    def __init__(self, sink: Callable[[tuple, int, str], None], *, interval: float = 1.0):
        self.sink = sink
        self.interval = interval
        self._followed: dict[tuple, _Followed] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._thread.start()

    def follow(self, key: tuple, path: Path, *, first_seq: int = 0) -> None:
        with self._lock:
            self._followed.setdefault(key, _Followed(key, Path(path), seq=first_seq))

    def finished(self, key: tuple) -> None:
        """The try's process ended: what is left goes at once (the last line even without its newline),
        from the shipper's own thread: the caller (the executor's event reader) never waits for it."""
        with self._lock:
            followed = self._followed.get(key)
            if followed is not None:
                followed.ended = True
        self._wake.set()

    def pending(self) -> bool:
        """Some followed log is not all sent yet."""
        with self._lock:
            return bool(self._followed)

    def flush(self) -> None:
        with self._lock:
            followed = list(self._followed.values())
        for item in followed:
            try:
                self._ship(item)
            except Exception:  # noqa: BLE001 - the sink is away; the lines wait for the next round
                log.warning("Could not ship the log of %s; retrying", item.key, exc_info=True)
                continue
            if item.ended:
                with self._lock:
                    self._followed.pop(item.key, None)

    def _ship(self, item: _Followed) -> None:
        while True:
            try:
                with open(item.path, "rb") as f:
                    f.seek(item.offset)
                    data = f.read(MAX_CHUNK_BYTES)
            except FileNotFoundError:
                return
            if not data:
                return
            end = data.rfind(b"\n") + 1
            if end == 0:
                if not item.ended and len(data) < MAX_CHUNK_BYTES:
                    return  # half a line: wait for the rest
                end, data = len(data), data + b"\n"
            text = data[:end].decode("utf-8", "replace")
            if not text.endswith("\n"):
                text += "\n"
            self.sink(item.key, item.seq, text)
            item.offset += end
            item.seq += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
        self.flush()


def database_sink(engine) -> Callable[[tuple, int, str], None]:
    from ..store import log_chunks

    def sink(key: tuple, seq: int, lines: str) -> None:
        with engine.begin() as conn:
            log_chunks.append(conn, key, seq, lines)

    return sink
