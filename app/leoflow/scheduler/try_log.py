"""Why Leoflow ended a try, written into that try's own log (the file its runner writes, same format).

A try that stopped heart-beating, was ended at shutdown or outlived the process that ran it has a log
that stops mid-way; this line is what its reader sees last.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

from ..runner.logfile import log_relative_path

log = logging.getLogger(__name__)

LOGGER = "leoflow.scheduler"  # the record's `logger`: shown as its source in the UI


def log_path(logs_folder, ti) -> Path | None:
    """Where the try's runner writes its log; None if the ids would lead outside the logs folder."""
    folder = Path(logs_folder).absolute()
    path = Path(os.path.normpath(folder / log_relative_path(ti.dag_id, ti.run_id, ti.task_id, ti.map_index,
                                                             ti.try_number)))
    return path if path.is_relative_to(folder) and path != folder else None


def write(logs_folder, ti, event: str, level: str = "error") -> None:
    """Append one record to the try's log. A log that cannot be written only costs this line."""
    path = log_path(logs_folder, ti)
    if path is None:
        return
    record = {"timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
              "event": event, "level": level, "logger": LOGGER}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one line, appended: safe beside a runner still writing the same file.
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    except OSError as exc:
        log.warning("Could not write to the log of %s.%s (run %s, try %s): %s", ti.dag_id, ti.task_id,
                    ti.run_id, ti.try_number, exc)
