"""`dags test` shows the work: each task's log lines as they are written, prefixed with the task id.

The tries write Airflow's JSON log lines to `logs/dag_id=.../run_id=.../task_id=T/attempt=N.log`; a thread
follows every such file under the run's logs folder and prints each whole line as text. An error's
`error_detail` is printed as the traceback it was, and kept for the summary at the end.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

_TASK = re.compile(r"task_id=([^/]+)/(?:map_index=(-?\d+)/)?attempt=(\d+)\.log$")
POLL = 0.1


def traceback_lines(error_detail: list) -> list[str]:
    """The Python traceback an `error_detail` describes (the causes first, as Python prints them)."""
    lines: list[str] = []
    for i, exc in enumerate(error_detail or []):
        if not isinstance(exc, dict):
            continue
        if i:
            lines.append("")
            lines.append("The above exception was the direct cause of the following exception:" if exc.get(
                "is_cause") else "During handling of the above exception, another exception occurred:")
            lines.append("")
        lines.append("Traceback (most recent call last):")
        for frame in exc.get("frames") or []:
            lines.append(f'  File "{frame.get("filename")}", line {frame.get("lineno")}, in {frame.get("name")}')
        value = exc.get("exc_value")
        lines.append(f"{exc.get('exc_type')}: {value}" if value else str(exc.get("exc_type")))
    return lines


def text_lines(raw: str) -> list[str]:
    """One log line (JSON, or plain text from a task's own handler) as the lines to print."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return [raw]
    if not isinstance(entry, dict):
        return [raw]
    when = str(entry.get("timestamp", ""))[11:19]
    level = str(entry.get("level", "")).upper()
    lines = [f"{when} {level} {entry.get('event', '')}".strip()]
    if entry.get("error_detail"):
        lines += traceback_lines(entry["error_detail"])
    return lines


class LogTail:
    """Follows the task logs under `folder`, printing through `write(line)`."""

    def __init__(self, folder: Path, write):
        self.folder = Path(folder)
        self.write = write
        self.errors: dict[str, list[str]] = {}  # task label -> the traceback lines of its last error
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dags-test-logs", daemon=True)

    def start(self) -> "LogTail":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Print what is left (the last lines of every file), then stop."""
        self._stop.set()
        self._thread.join(5)
        self._read_all(final=True)

    def _run(self) -> None:
        while not self._stop.wait(POLL):
            self._read_all()

    def _read_all(self, final: bool = False) -> None:
        try:
            files = sorted(self.folder.rglob("*.log"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for path in files:
            self._read(path, final)

    def _read(self, path: Path, final: bool) -> None:
        match = _TASK.search(path.as_posix())
        if match is None:
            return
        task_id, map_index, attempt = match.groups()
        label = task_id + (f"[{map_index}]" if map_index and map_index != "-1" else "")
        try:
            with open(path, "rb") as f:
                f.seek(self._offsets.get(path, 0))
                data = f.read()
        except OSError:
            return
        if not data and not (final and self._partial.get(path)):
            return
        self._offsets[path] = self._offsets.get(path, 0) + len(data)
        text = self._partial.pop(path, "") + data.decode("utf-8", "replace")
        lines = text.split("\n")
        if not final:
            self._partial[path] = lines.pop()  # a line still being written waits for its end
        for raw in lines:
            if not raw.strip():
                continue
            shown = text_lines(raw)
            if len(shown) > 1 and shown[1].startswith("Traceback"):
                self.errors[label] = shown[1:]
            prefix = f"{label}" + (f" (try {attempt})" if attempt != "1" else "")
            for line in shown:
                self.write(f"[{prefix}] {line}")
