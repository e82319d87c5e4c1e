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


# The logs folder and the folders under it: only the user Leoflow runs as reads task logs (they may
# hold what a task printed), as only it reads the key files in the home.
FOLDER_MODE = 0o700
FILE_MODE = 0o600


class UnsafeLogPath(ValueError):
    """A log path that would leave the logs folder (from an id no API would accept, e.g. a row written
    straight into the database)."""


def log_relative_path(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
    """Where one try's log lives under the logs folder, as Airflow 3.2.1 names it."""
    mapped = f"map_index={map_index}/" if map_index >= 0 else ""
    return f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/{mapped}attempt={try_number}.log"


def resolve_log_path(logs_folder, relative) -> Path:
    """`relative` joined under `logs_folder`, or UnsafeLogPath if the result could be anywhere else.

    Refused: a NUL, an absolute path, a `..` segment, and a path whose existing folders lead (through a
    symlink) out of the folder. Every log path built from ids goes through here, so an id can only
    ever name a file inside the logs folder.
    """
    text = str(relative)
    if "\x00" in text:
        raise UnsafeLogPath(f"log path {text!r} contains a NUL character")
    rel = Path(text)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UnsafeLogPath(f"log path {text!r} is not a plain path inside the logs folder")
    root = Path(logs_folder)
    path = root / rel
    real_root = root.resolve()
    if not path.resolve().is_relative_to(real_root):  # resolve() follows every symlink that exists
        raise UnsafeLogPath(f"log path {text!r} leads out of the logs folder {str(root)!r}")
    return path


def make_log_folders(path: Path, logs_folder: Path | None = None) -> None:
    """The folders of a log file, private to this user (FOLDER_MODE whatever the umask)."""
    missing = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        if folder == logs_folder or folder.parent == folder:
            break
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # another try of the same task made it meanwhile
            pass
        else:
            os.chmod(folder, FOLDER_MODE)  # mkdir's mode is filtered by the umask


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JsonLinesFile:
    def __init__(self, path: Path, logs_folder: Path | None = None):
        make_log_folders(path, logs_folder)
        # O_NOFOLLOW: a symlink put where the log file goes is not followed out of the folder.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        self._f = open(fd, "a", encoding="utf-8", buffering=1)
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

    def __init__(self, path: Path, logs_folder: Path | None = None):
        self.path = path
        self.out = JsonLinesFile(path, logs_folder)
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
