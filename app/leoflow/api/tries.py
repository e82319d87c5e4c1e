"""GET .../taskInstances/{task_id}[/{map_index}]/tries[/{try_number}]: every try of a task instance.

Finished tries live in task_instance_history; the current one is the task_instance row itself.
"""

from __future__ import annotations

from sqlalchemy import select

from ..store.tables import task_instance, task_instance_history
from . import queries, serializers
from .errors import not_found
from .task_instances import ti_not_found
from .validate import Query, path_int


def try_body(row, version) -> dict:
    """TaskInstanceHistoryResponse."""
    body = serializers.task_instance(row, _NoRun, version)
    for name in ("id", "logical_date", "run_after", "note", "rendered_map_index", "rendered_fields", "trigger",
                 "triggerer_job"):
        body.pop(name, None)
    return body


class _NoRun:  # tries carry no run dates
    logical_date = None
    run_after = None


def _tries(conn, dag_id, run_id, task_id, map_index):
    def keys(t):
        return ((t.c.dag_id == dag_id) & (t.c.run_id == run_id) & (t.c.task_id == task_id)
                & (t.c.map_index == map_index))

    current = conn.execute(select(task_instance).where(keys(task_instance))).first()
    if current is None:
        raise ti_not_found(dag_id, run_id, task_id, map_index)
    past = conn.execute(select(task_instance_history).where(keys(task_instance_history))
                        .order_by(task_instance_history.c.try_number, task_instance_history.c.id)).all()
    by_try = {row.try_number: row for row in past}  # a try recorded twice keeps its last record
    if current.try_number not in by_try:  # a task that never ran shows its try 0, as in Airflow
        by_try[current.try_number] = current
    rows = [by_try[n] for n in sorted(by_try)]
    versions = queries.versions_by_id(conn, [r.dag_version_id for r in rows])
    return [(r, versions.get(r.dag_version_id)) for r in rows]


def _list(services, request, map_index: int):
    p = request.path_params
    with services.engine.connect() as conn:
        tries = _tries(conn, p["dag_id"], p["dag_run_id"], p["task_id"], map_index)
    return {"task_instances": [try_body(r, v) for r, v in tries], "total_entries": len(tries)}


def _one(services, request, map_index: int):
    p = request.path_params
    number = path_int(request, "task_try_number")
    with services.engine.connect() as conn:
        tries = _tries(conn, p["dag_id"], p["dag_run_id"], p["task_id"], map_index)
    for row, version in tries:
        if row.try_number == number:
            return try_body(row, version)
    raise not_found(f"The Task Instance with dag_id: `{p['dag_id']}`, run_id: `{p['dag_run_id']}`, task_id: "
                    f"`{p['task_id']}`, try_number: `{number}` and map_index: `{map_index}` was not found")


def _map_index(request) -> int:
    q = Query(request)
    map_index = q.int("map_index", -1)
    q.done()
    return map_index


def list_tries(services, request):
    return _list(services, request, _map_index(request))


def get_try(services, request):
    return _one(services, request, _map_index(request))


def list_mapped_tries(services, request):
    return _list(services, request, path_int(request, "map_index"))


def get_mapped_try(services, request):
    return _one(services, request, path_int(request, "map_index"))


_TI = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"

ROUTES = [
    (_TI + "/tries", ["GET"], list_tries),
    (_TI + "/tries/{task_try_number}", ["GET"], get_try),
    (_TI + "/{map_index}/tries", ["GET"], list_mapped_tries),
    (_TI + "/{map_index}/tries/{task_try_number}", ["GET"], get_mapped_try),
]
