"""Parse one DAG file into serialized DAGs, or into an import error with file and line.

Runs inside a child process (forked from the warm fork server) so a DAG file
that hangs, crashes or calls sys.exit cannot take the server down; its address
space is capped there, so a file that allocates without bound fails alone.
"""

from __future__ import annotations

import errno
import json
import os
import traceback
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

MEMORY_SETTING = "LEOFLOW_DAG_PARSE_MEMORY_LIMIT"
LIMITS_NAME = "limits.json"  # beside a parse child's `out`: what the DAG processor's settings allow it


@dataclass
class ParseResult:
    path: str
    dags: list[dict] = field(default_factory=list)
    error: str | None = None  # the import error text: where in the file, and what


def parse_file(path: str, reader=None, memory_limit_mib: int = 0) -> ParseResult:
    """`reader`: how top-level `Variable.get` / `Connection.get` reach the store (see store_access).
    `memory_limit_mib`: cap this process's address space while the file runs (only in a parse child)."""
    from leoflow.sdk import collect, plugins
    from leoflow.sdk.serialize import serialize_dag

    try:
        plugins.load()  # the plugins folder's timetables / weight strategies, once per process
        with _parse_time_comms(reader), memory_cap(memory_limit_mib) if memory_limit_mib else nullcontext():
            dags = collect.dags_from_file(path)
            serialized = [with_priority_weights(serialize_dag(d)) for d in dags]
        return ParseResult(path, dags=serialized)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt in a DAG file are import errors too
        error = format_import_error(path, exc)
        if isinstance(exc, ModuleNotFoundError):  # a library the requirements file failed to install?
            from leoflow.providers.libraries import import_error_note

            error += import_error_note(exc)
        if memory_limit_mib and out_of_memory(exc):
            error += memory_limit_message(path, memory_limit_mib) + "\n"
        return ParseResult(path, error=error)


@contextmanager
def memory_cap(limit_mib: int):
    """Lower the soft address-space limit to `limit_mib` while the DAG file runs.

    Only the soft limit: once the file failed, the limit is lifted again so the import error can still be
    formatted and written (a file that raises its own soft limit on purpose could do worse anyway).
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = limit_mib << 20
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY:
        cap = min(cap, soft)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):  # a platform that refuses address-space limits: parse uncapped
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def out_of_memory(exc: BaseException) -> bool:
    """A failed allocation: MemoryError, or ENOMEM from mmap and friends."""
    return isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno == errno.ENOMEM)


def memory_limit_message(path: str, limit_mib: int) -> str:
    return (f"Parsing {path} exceeded the parse memory limit of {limit_mib} MiB; raise {MEMORY_SETTING} "
            f"(in MiB, 0 for no limit) if the file needs more")


@contextmanager
def _parse_time_comms(reader):
    """Install the parse-time reader unless this process already talks to a server (a running task)."""
    from leoflow.sdk import comms

    try:
        previous = comms.get_comms()
    except RuntimeError:
        previous = None
    # A task's comms stay (its DAG file is read with them); the database-side comms a triggerer installs
    # in this process give way to this parse's own reader for its duration.
    busy = previous is not None and not getattr(previous, "database_side", False)
    if reader is None or busy:
        yield
        return
    comms.set_comms(reader)
    try:
        yield
    finally:
        comms.set_comms(previous)


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
    """In a parse child: the DAG processor serves store reads on a socket beside `out` (store_access)
    and writes the child's limits beside it (`LIMITS_NAME`)."""
    from .store_access import SOCKET_NAME, SocketReader

    folder = os.path.dirname(out)
    sock = os.path.join(folder, SOCKET_NAME)
    result = parse_file(path, SocketReader(sock) if os.path.exists(sock) else None,
                        memory_limit_mib=read_limits(folder).get("memory_limit_mib", 0))
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"path": result.path, "dags": result.dags, "error": result.error}, f, default=str)
    return 0


def write_limits(folder: str, *, memory_limit_mib: int) -> None:
    """The DAG processor's side: what its parse children may use (they read it at start)."""
    tmp = os.path.join(folder, LIMITS_NAME + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"memory_limit_mib": max(int(memory_limit_mib), 0)}, f)
    os.replace(tmp, os.path.join(folder, LIMITS_NAME))


def read_limits(folder: str) -> dict:
    try:
        with open(os.path.join(folder, LIMITS_NAME), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
