"""Audit-log entries for user actions, named and shaped as Airflow 3.2.1 writes them.

The event is the API operation's name (`trigger_dag_run`, `patch_dag`, ...); `extra` holds the
query and path parameters (less the ids, which have their own columns), the JSON body and the
HTTP method; dag_id, task_id and run_id come from the path, query or body.
"""

from __future__ import annotations

import json

from ..store import audit

_NOT_EXTRA = {"csrf_token", "_csrf_token", "is_paused", "dag_id", "task_id", "dag_run_id", "run_id", "logical_date"}


def _body(request) -> dict:
    raw = getattr(request.state, "body", b"") or b""
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def record(conn, request, event: str, *, map_index=None, **ids) -> None:
    """One entry for this request; `ids` (dag_id, run_id, task_id) override what the request names."""
    body = _body(request)
    given = {**request.query_params, **request.path_params}
    extra = {k: v for k, v in given.items() if k not in _NOT_EXTRA}
    extra.update(body)
    params = {**given, **body}
    if "is_paused" in params:
        extra["is_paused"] = params["is_paused"]
    extra["method"] = request.method
    audit.record(conn, event, dag_id=ids.get("dag_id", params.get("dag_id")),
                 task_id=ids.get("task_id", params.get("task_id")),
                 run_id=ids.get("run_id", params.get("run_id") or params.get("dag_run_id")),
                 map_index=map_index, owner=request.state.user.username, extra=extra)
