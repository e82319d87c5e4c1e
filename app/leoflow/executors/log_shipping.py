"""Ship the log files of running tries, whole lines at a time, to where every server can read them.

A try's runner (Leoflow's or Airflow's) writes its log to a local file; this follows the file while the
try runs and sends what was added every `interval` seconds, then the rest once the try's process ended.
The sink is the database on a server replica (`database_sink`) or the agent API on an agent host.
A chunk is numbered: resending one whose answer was lost stores it once. A sink that takes many chunks
at once (the database's) gets every followed try's new lines of a round together: one transaction for a
round, however many tries ended in it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

MAX_CHUNK_BYTES = 256 * 1024
MAX_BATCH_BYTES = 1024 * 1024  # what one call of a batch sink carries at most
FAILURE_LOG_INTERVAL = 60.0  # while the sink stays away, a line this often


@dataclass
class _Followed:
    key: tuple  # (dag_id, run_id, task_id, map_index, try_number)
    path: Path
    offset: int = 0
    seq: int = 0
    ended: bool = False


Chunk = tuple[tuple, int, str]  # (the try's key, seq, whole lines)


class LogShipper:
    def __init__(self, sink: Callable[[tuple, int, str], None], *, interval: float = 1.0,
                 sink_many: Callable[[list[Chunk]], None] | None = None):
        self.sink = sink
        self.sink_many = sink_many
        self.interval = interval
        self._followed: dict[tuple, _Followed] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._failing_since: float | None = None  # monotonic time of the first failure in a row
        self._last_failure_log = 0.0
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
        if self.sink_many is not None:
            self._flush_batched(followed)
            return
        for item in followed:
            ended = item.ended  # read before the file: a try that ends meanwhile keeps its last line for next time
            try:
                sent = self._ship(item)
            except Exception:  # noqa: BLE001 - the sink is away; the lines wait for the next round
                self._failed(f"the log of {item.key}")
                continue
            if sent:
                self._shipped()
            if ended:
                self._forget(item)

    def _failed(self, what: str) -> None:
        """The sink is away (the server restarting, the network cut): the first failure is logged with its
        traceback, then one line a minute until a round goes through, not a traceback every round."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = self._last_failure_log = now
            log.warning("Could not ship %s; retrying every %g s", what, self.interval, exc_info=True)
        elif now - self._last_failure_log >= FAILURE_LOG_INTERVAL:
            self._last_failure_log = now
            log.warning("Still cannot ship %s (for %.0f s); retrying", what, now - self._failing_since)

    def _shipped(self) -> None:
        if self._failing_since is not None:
            log.info("Shipping logs again after %.0f s", time.monotonic() - self._failing_since)
            self._failing_since = None

    def _forget(self, item: _Followed) -> None:
        with self._lock:
            self._followed.pop(item.key, None)

    def _ship(self, item: _Followed) -> int:
        """Send the item's whole lines chunk by chunk; how many chunks went."""
        sent = 0
        while True:
            chunk = self._next_chunk(item)
            if chunk is None:
                return sent
            text, end = chunk
            self.sink(item.key, item.seq, text)
            item.offset += end
            item.seq += 1
            sent += 1

    def _flush_batched(self, followed: list[_Followed]) -> None:
        """Rounds of at most MAX_BATCH_BYTES over every followed try until none has whole lines left."""
        ended = [item for item in followed if item.ended]  # before the files are read (see flush)
        while True:
            batch: list[Chunk] = []
            advanced: list[tuple[_Followed, int]] = []
            size = 0
            for item in followed:
                offset, seq = item.offset, item.seq
                while size < MAX_BATCH_BYTES:
                    chunk = self._next_chunk(item, offset)
                    if chunk is None:
                        break
                    text, end = chunk
                    batch.append((item.key, seq, text))
                    offset, seq, size = offset + end, seq + 1, size + len(text)
                advanced.append((item, offset))
            if batch:
                try:
                    self.sink_many(batch)
                    self._shipped()
                except Exception:  # noqa: BLE001 - the sink is away; the lines wait for the next round
                    self._failed(f"the logs of {len(followed)} tries")
                    return
            for item, offset in advanced:
                item.seq += sum(1 for key, _seq, _text in batch if key == item.key)
                item.offset = offset
            if size < MAX_BATCH_BYTES:  # everything whole was sent
                for item in ended:
                    self._forget(item)
                return

    def _next_chunk(self, item: _Followed, offset: int | None = None) -> tuple[str, int] | None:
        """The whole lines after `offset` (the item's own by default), at most MAX_CHUNK_BYTES, and how many
        bytes of the file they take; None when there are none yet. An ended try's last line counts whole."""
        try:
            with open(item.path, "rb") as f:
                f.seek(item.offset if offset is None else offset)
                data = f.read(MAX_CHUNK_BYTES)
        except FileNotFoundError:
            return None
        if not data:
            return None
        end = data.rfind(b"\n") + 1
        if item.ended and len(data) < MAX_CHUNK_BYTES:
            end = len(data)  # the try ended and this is the rest of its file: its last line is whole
        if end == 0:
            if not item.ended and len(data) < MAX_CHUNK_BYTES:
                return None  # half a line: wait for the rest
            end, data = len(data), data + b"\n"
        text = data[:end].decode("utf-8", "replace")
        if not text.endswith("\n"):
            text += "\n"
        return text, end

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


def database_sink_many(engine) -> Callable[[list[Chunk]], None]:
    """Every chunk of a round in one transaction (a fan-out's tries end together)."""
    from ..store import log_chunks

    def sink_many(chunks: list[Chunk]) -> None:
        with engine.begin() as conn:
            log_chunks.append_many(conn, chunks)

    return sink_many
