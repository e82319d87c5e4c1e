"""Audit-log entries for user actions, named and shaped as Airflow 3.2.1 writes them.

The event is the API operation's name (`trigger_dag_run`, `patch_dag`, ...) and `extra` is the
request body plus the HTTP method.
"""

from __future__ import annotations

import json

from ..store import audit


def record(conn, request, event: str, *, dag_id=None, run_id=None, task_id=None, map_index=None,
           extra: dict | None = None) -> None:
    body = extra
    if body is None:
        try:
            body = json.loads(request.state.body) if request.state.body.strip() else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {"body": body}
    audit.record(conn, event, dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index,
                 owner=request.state.user.username, extra={**body, "method": request.method})
