"""Task logs in Airflow 3.2.1's format: one JSON object per line, one file per try.

Everything the task prints, at the Python or the file-descriptor level, is
captured and written as `task.stdout` / `task.stderr` records.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import sys
import threading
from pathlib import Path

from ..secrets import masker


def log_relative_path(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
    mapped = f"map_index={map_index}/" if map_index >= 0 else ""
    return f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/{mapped}attempt={try_number}.log"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JsonLinesFile:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(path, "a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, record: dict) -> None:
        record = masker.redact_record(record)  # secrets the task read never reach the log file
        line = json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._f.write(line + "\n")

    def close(self) -> None:
        with self._lock:
            self._f.close()


class JsonLinesHandler(logging.Handler):
    def __init__(self, out: JsonLinesFile):
        super().__init__()
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = {
                "timestamp": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "level": record.levelname.lower(),
                "event": record.getMessage(),
                "logger": record.name,
                "filename": record.filename,
                "lineno": record.lineno,
            }
            if record.exc_info:
                entry["error_detail"] = _error_detail(record.exc_info)
            self.out.write(entry)
        except Exception:
            self.handleError(record)


def _error_detail(exc_info) -> list[dict]:
    import traceback

    etype, value, tb = exc_info
    frames = [{"filename": f.filename, "lineno": f.lineno, "name": f.name} for f in traceback.extract_tb(tb)]
    return [{"exc_type": etype.__name__, "exc_value": str(value), "syntax_error": None, "is_cause": False,
             "frames": frames, "exc_notes": [], "exceptions": []}]


class _FdPump:
    """Reads the pipes that replaced fds 1 and 2 and turns each line into a log record.

    One thread for both, started without the start handshake of threading.Thread: in a freshly forked
    task on a busy machine, each thread start cost milliseconds of a no-op task's life."""

    def __init__(self, fds: list[tuple[int, str, str]], out: JsonLinesFile):
        self.fds, self.out = fds, out
        self.done = threading.Event()

    def start(self) -> None:
        import _thread

        _thread.start_new_thread(self.run, ())

    def join(self, timeout: float) -> None:
        self.done.wait(timeout)

    def run(self) -> None:
        import selectors

        try:
            sel = selectors.DefaultSelector()
            pending = {}
            for fd, logger, level in self.fds:
                sel.register(fd, selectors.EVENT_READ, (logger, level))
                pending[fd] = b""
            while pending:
                for key, _ in sel.select():
                    fd, (logger, level) = key.fd, key.data
                    chunk = os.read(fd, 65536)
                    data = pending[fd] + chunk
                    lines = data.split(b"\n")
                    pending[fd] = lines.pop() if chunk else b""
                    if not chunk and lines and lines[-1] == b"":
                        lines.pop()
                    for line in lines:
                        self.out.write({"timestamp": _now(), "level": level,
                                        "event": line.decode("utf-8", "replace"), "logger": logger})
                    if not chunk:  # the end: a last line without a newline was written above
                        sel.unregister(fd)
                        os.close(fd)
                        del pending[fd]
        finally:
            self.done.set()


class TaskLog:
    """Route logging, sys.stdout/err and fds 1/2 of this (forked) process into the try's log file."""

    def __init__(self, path: Path):
        self.path = path
        self.out = JsonLinesFile(path)
        self._pumps: list[_FdPump] = []

    def __enter__(self) -> "TaskLog":
        handler = JsonLinesHandler(self.out)
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        fds = []
        for fd, name, level in ((1, "task.stdout", "info"), (2, "task.stderr", "error")):
            r, w = os.pipe()
            os.dup2(w, fd)
            os.close(w)
            fds.append((r, name, level))
        pump = _FdPump(fds, self.out)
        pump.start()
        self._pumps.append(pump)
        sys.stdout = io.TextIOWrapper(os.fdopen(os.dup(1), "wb", 0), encoding="utf-8", line_buffering=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(2), "wb", 0), encoding="utf-8", line_buffering=True)
        return self

    def __exit__(self, *exc) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
                stream.close()
            except Exception:
                pass
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
        for pump in self._pumps:
            pump.join(timeout=5)
        self.out.close()
