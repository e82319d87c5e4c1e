"""GET .../taskInstances/{task_id}/logs/{try_number}: the task's JSON-lines log, as JSON or NDJSON.

The runner writes one JSON object per line under the logs folder; this reads the
file back, orders it by time and puts Airflow's "source details" group in front.
"""

from __future__ import annotations

import json
from pathlib import Path

import jwt
from sqlalchemy import select
from starlette.responses import Response

from ..runner.logfile import UnsafeLogPath, log_relative_path, resolve_log_path
from ..store.tables import task_instance, task_instance_history
from .errors import HTTPError
from .validate import Query, path_int

NDJSON = "application/x-ndjson"
_UNFINISHED_ATTEMPT = ("running", "deferred")  # the log may still grow
_TOKEN_AUDIENCE = "leoflow-log-position"


def log_path(logs_folder: Path, dag_id: str, run_id: str, task_id: str, try_number: int,
             map_index: int = -1) -> Path | None:
    """Where the runner writes one attempt's log; None when the ids would lead out of the logs folder
    (such a try never ran: the scheduler refuses it)."""
    try:
        return resolve_log_path(logs_folder, log_relative_path(dag_id, run_id, task_id, map_index, try_number))
    except UnsafeLogPath:
        return None


def read_log_text(path: Path | None) -> str | None:
    """The file's text; None when there is no such file (or the ids lead nowhere safe)."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def parse_log_text(text: str) -> list[dict]:
    """The records of a JSON-lines log, each `{"timestamp", "event", ...rest}`, in time order."""
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict):
            item = {"event": line}  # a stray non-JSON line (e.g. a crash message) still shows
        records.append({"timestamp": item.get("timestamp"), "event": item.get("event", ""),
                        **{k: v for k, v in item.items() if k not in ("timestamp", "event")}})
    # Several writers (task, supervisor, stdout) share the file; show them in time order.
    last = ""
    keyed = []
    for i, rec in enumerate(records):
        last = rec["timestamp"] or last
        keyed.append(((last, i), rec))
    return [rec for _key, rec in sorted(keyed, key=lambda kv: kv[0])]


def _accept(request) -> str:
    accept = request.headers.get("accept", "*/*")
    if accept.startswith(("*/*", "application/json")):
        return "application/json"
    if accept.startswith(NDJSON):
        return NDJSON
    raise HTTPError(406, "Only application/json or application/x-ndjson is supported")


def _find_attempt(conn, dag_id, run_id, task_id, map_index, try_number):
    def where(t):
        return (t.c.dag_id == dag_id) & (t.c.run_id == run_id) & (t.c.task_id == task_id) & (t.c.map_index == map_index)

    ti = conn.execute(select(task_instance).where(where(task_instance))).first()
    if ti is not None and ti.try_number == try_number:
        return ti, ti
    past = conn.execute(select(task_instance_history).where(
        where(task_instance_history), task_instance_history.c.try_number == try_number)).first()
    return ti, past


def get_log(services, request):
    p = request.path_params
    dag_id, run_id, task_id = p["dag_id"], p["dag_run_id"], p["task_id"]
    try_number = path_int(request, "try_number", ge=0)
    q = Query(request)
    map_index = q.int("map_index", -1)
    full_content = q.bool("full_content", False)
    token = q.str("token")
    q.done()
    mimetype = _accept(request)

    with services.engine.connect() as conn:
        current, attempt = _find_attempt(conn, dag_id, run_id, task_id, map_index, try_number)
    if attempt is None:
        raise HTTPError(404, "TaskInstance not found")

    key = services.settings.secret("jwt")
    log_pos = 0
    if token and not full_content:
        try:
            log_pos = int(jwt.decode(token, key, algorithms=["HS256"], audience=_TOKEN_AUDIENCE)["log_pos"])
        except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
            raise HTTPError(400, "Bad Signature. Please use only the tokens provided by the API.")

    path = log_path(services.settings.logs_folder, dag_id, run_id, task_id, try_number, map_index)
    text, sources = read_log_text(path), [str(path)] if path is not None else []
    if text is None and path is not None:  # the try ran on another host (replica, agent, pod): its shipped lines
        from ..store import log_chunks

        with services.engine.connect() as conn:
            text = log_chunks.read(conn, (dag_id, run_id, task_id, map_index, try_number))
        sources = ["database"] if text else []
    elif text is not None and services.mode == "server":
        text, sources = _with_shipped_lines(services, text, sources, (dag_id, run_id, task_id, map_index, try_number))
    lines = parse_log_text(text or "")
    header = [
        {"timestamp": None, "event": "::group::Log message source details", "sources": sources},
        {"timestamp": None, "event": "::endgroup::"},
    ]
    content = lines[log_pos:] if log_pos else header + lines
    end_of_log = current is None or current.try_number != try_number or current.state not in _UNFINISHED_ATTEMPT
    next_token = None if end_of_log else jwt.encode(
        {"aud": _TOKEN_AUDIENCE, "log_pos": len(lines), "end_of_log": False}, key, algorithm="HS256")

    if mimetype == NDJSON:
        text = "".join(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n" for rec in content)
        return Response(text, media_type=NDJSON)
    # The JSON form leaves out empty fields (the header has no timestamp).
    return {"content": [{k: v for k, v in rec.items() if v is not None} for rec in content],
            "continuation_token": next_token}


def _with_shipped_lines(services, text: str, sources: list, key: tuple):
    """A try that ran on an agent has, on a server, only what the scheduler wrote about it here (why it
    was ended): the runner's lines come first, from the database. A try run by this replica's own local
    executor has them all in its file already (the shipped lines are a prefix of it)."""
    from ..store import log_chunks

    with services.engine.connect() as conn:
        shipped = log_chunks.read(conn, key)
    if not shipped or text.startswith(shipped):
        return text, sources
    return shipped + text, ["database", *sources]


ROUTES = [
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}", ["GET"], get_log),
]
