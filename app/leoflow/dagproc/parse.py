"""Parse one DAG file into serialized DAGs, or into an import error with file and line.

Runs inside a child process (forked from the warm fork server) so a DAG file
that hangs, crashes or calls sys.exit cannot take the server down.
"""

from __future__ import annotations

import json
import os
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class ParseResult:
    path: str
    dags: list[dict] = field(default_factory=list)
    error: str | None = None  # the import error text: where in the file, and what


def parse_file(path: str, reader=None) -> ParseResult:
    """`reader`: how top-level `Variable.get` / `Connection.get` reach the store (see store_access)."""
    from leoflow.sdk import collect, plugins
    from leoflow.sdk.serialize import serialize_dag

    try:
        plugins.load()  # the plugins folder's timetables / weight strategies, once per process
        with _parse_time_comms(reader):
            dags = collect.dags_from_file(path)
        return ParseResult(path, dags=[with_priority_weights(serialize_dag(d)) for d in dags])
    except BaseException as exc:  # SystemExit and KeyboardInterrupt in a DAG file are import errors too
        return ParseResult(path, error=format_import_error(path, exc))


@contextmanager
def _parse_time_comms(reader):
    """Install the parse-time reader unless this process already talks to a server (a running task)."""
    from leoflow.sdk import comms

    try:
        comms.get_comms()
        busy = True
    except RuntimeError:
        busy = False
    if reader is None or busy:
        yield
        return
    comms.set_comms(reader)
    try:
        yield
    finally:
        comms.set_comms(None)


def format_import_error(path: str, exc: BaseException) -> str:
    """The traceback frames that lie in the DAG file itself, then the exception: file and line first."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if f.filename == path] or frames[-2:]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(own)]
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def with_priority_weights(data: dict) -> dict:
    """Add each task's effective priority (weight_rule downstream/upstream/absolute), as Airflow computes it."""
    tasks = {t["task_id"]: t for t in data["tasks"]}

    def reach(task_id: str, direction: str, seen: set[str]) -> set[str]:
        for other in tasks[task_id].get(direction, []):
            if other not in seen and other in tasks:
                seen.add(other)
                reach(other, direction, seen)
        return seen

    for t in data["tasks"]:
        if "weight_by_try" in t:  # a plugin's strategy: computed by the serializer
            continue
        rule = t.get("weight_rule", "downstream")
        own = t.get("priority_weight", 1)
        if rule == "absolute":
            t["priority_weight_total"] = own
        else:
            related = reach(t["task_id"], "downstream" if rule == "downstream" else "upstream", set())
            t["priority_weight_total"] = own + sum(tasks[r].get("priority_weight", 1) for r in related)
    return data


def parse_to_file(path: str, out: str) -> int:
    """In a parse child: the DAG processor serves store reads on a socket beside `out` (store_access)."""
    from .store_access import SOCKET_NAME, SocketReader

    sock = os.path.join(os.path.dirname(out), SOCKET_NAME)
    result = parse_file(path, SocketReader(sock) if os.path.exists(sock) else None)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"path": result.path, "dags": result.dags, "error": result.error}, f, default=str)
    return 0
