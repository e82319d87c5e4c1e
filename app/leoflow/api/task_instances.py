"""GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances[/{task_id}] (`~` = any DAG / run)."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import delete, or_, select

from ..store import dags as store_dags
from ..store import runs as store_runs
from ..store.tables import (
    dag_run,
    dag_version,
    rendered_task_instance_fields,
    task_instance,
    task_instance_history,
    xcom,
)
from . import actions, queries, serializers
from .dags import dag_not_found
from .errors import HTTPError, not_found
from .validate import Query

TI_STATES = ("removed", "scheduled", "queued", "running", "success", "restarting", "failed", "up_for_retry",
             "up_for_reschedule", "upstream_failed", "skipped", "deferred")
_NO_STATE = ("none", "no_status", "null")

_RUN_LOGICAL = dag_run.c.logical_date.label("run_logical_date")
_RUN_AFTER = dag_run.c.run_after.label("run_run_after")

_ORDER = {
    "id": task_instance.c.id,
    "task_id": task_instance.c.task_id,
    "state": task_instance.c.state,
    "duration": task_instance.c.duration,
    "start_date": task_instance.c.start_date,
    "end_date": task_instance.c.end_date,
    "map_index": task_instance.c.map_index,
    "try_number": task_instance.c.try_number,
    "logical_date": dag_run.c.logical_date,
    "run_after": dag_run.c.run_after,
    "data_interval_start": dag_run.c.data_interval_start,
    "data_interval_end": dag_run.c.data_interval_end,
    "rendered_map_index": task_instance.c.rendered_map_index,
    "operator": task_instance.c.operator,
    "pool": task_instance.c.pool,
    "queue": task_instance.c.queue,
    "priority_weight": task_instance.c.priority_weight,
}


def ti_not_found(dag_id, run_id, task_id, map_index=-1):
    return not_found(f"The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, task_id: `{task_id}` "
                     f"and map_index: `{map_index}` was not found")


def _joined():
    return select(task_instance, _RUN_LOGICAL, _RUN_AFTER).join(
        dag_run, (dag_run.c.dag_id == task_instance.c.dag_id) & (dag_run.c.run_id == task_instance.c.run_id))


def _run_of(row):
    return SimpleNamespace(logical_date=row.run_logical_date, run_after=row.run_run_after)


def ti_bodies(conn, rows, rendered: dict | None = None) -> list[dict]:
    versions = queries.versions_by_id(conn, [r.dag_version_id for r in rows])
    return queries.with_display_names(
        conn, [serializers.task_instance(r, _run_of(r), versions.get(r.dag_version_id), rendered) for r in rows])


def filtered_tis(q: Query, query):
    """Apply a task-instance list's query parameters to `query` (a `_joined()` select)."""
    query = queries.date_range(q, query, task_instance, ("start_date", "end_date", "updated_at"))
    query = queries.date_range(q, query, dag_run, ("run_after", "logical_date"))
    for name, op in (("duration_gte", "__ge__"), ("duration_gt", "__gt__"),
                     ("duration_lte", "__le__"), ("duration_lt", "__lt__")):
        if (value := q.float(name)) is not None:
            query = query.where(getattr(task_instance.c.duration, op)(value))
    states = q.list("state")
    for s in states:
        if s not in TI_STATES and s not in _NO_STATE:
            q.fail("state", f"Invalid value for state. Valid values are {', '.join(TI_STATES)}", s, "value_error")
    try_numbers = [q.int("try_number")] if q.has("try_number") else []
    map_indexes = [q.int("map_index")] if q.has("map_index") else []
    numbers = []
    for raw in q.list("version_number"):
        try:
            number = int(raw)
        except ValueError:
            q.fail("version_number", "Input should be a valid integer, unable to parse string as an integer", raw,
                   "int_parsing")
            continue
        if q._int64("version_number", number, raw):
            numbers.append(number)
    q.done()
    if states:
        query = query.where(state_filter(states))
    for column, param in ((task_instance.c.pool, "pool"), (task_instance.c.queue, "queue"),
                          (task_instance.c.executor, "executor"), (task_instance.c.operator, "operator")):
        if q.list(param):
            query = query.where(column.in_(q.list(param)))
    if try_numbers:
        query = query.where(task_instance.c.try_number.in_(try_numbers))
    if map_indexes:
        query = query.where(task_instance.c.map_index.in_(map_indexes))
    if numbers:
        query = query.where(task_instance.c.dag_version_id.in_(
            select(dag_version.c.id).where(dag_version.c.version_number.in_(numbers))))
    for column, param in ((task_instance.c.task_id, "task_display_name_pattern"),
                          (task_instance.c.dag_id, "dag_id_pattern"), (task_instance.c.run_id, "run_id_pattern"),
                          (task_instance.c.pool, "pool_name_pattern"), (task_instance.c.queue, "queue_name_pattern"),
                          (task_instance.c.custom_operator_name, "operator_name_pattern")):
        if (cond := queries.like_any(column, q.str(param))) is not None:
            query = query.where(cond)
    if q.str("task_id"):
        query = query.where(task_instance.c.task_id == q.str("task_id"))
    if q.str("task_group_id"):
        group = q.str("task_group_id")
        query = query.where(or_(task_instance.c.task_id == group, task_instance.c.task_id.like(f"{group}.%")))
    return query


def state_filter(states):
    """`state IN (...)`, where none/no_status/null (or None) stand for a task instance without state."""
    known = [s for s in states if s in TI_STATES]
    cond = task_instance.c.state.in_(known)
    if any(s is None or s in _NO_STATE for s in states):
        cond = or_(cond, task_instance.c.state.is_(None))
    return cond


def default_order(query, order_by):
    # Airflow's ids are time-ordered, so its default order is creation order; ours are random
    # ids, so fall back on start time then task id to keep lists stable and natural.
    query = queries.ordered(query, order_by, _ORDER, ["map_index"])
    return query.order_by(task_instance.c.start_date.is_(None), task_instance.c.start_date, task_instance.c.task_id)


def scoped(conn, query, dag_id: str, run_id: str):
    """Restrict to a DAG and run (`~` = any), 404 when the named DAG or run does not exist."""
    if dag_id == "~" and run_id != "~":
        raise HTTPError(400, "dag_id is required when dag_run_id is specified")
    if dag_id != "~":
        if store_dags.get_dag(conn, dag_id) is None:
            raise dag_not_found(dag_id)
        query = query.where(task_instance.c.dag_id == dag_id)
        if run_id != "~" and store_runs.get_run(conn, dag_id, run_id) is None:
            raise not_found(f"DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found")
    if run_id != "~":
        query = query.where(task_instance.c.run_id == run_id)
    return query


def list_tis(services, request):
    dag_id, run_id = request.path_params["dag_id"], request.path_params["dag_run_id"]
    q = Query(request)
    limit, offset = q.paging()
    query = default_order(filtered_tis(q, _joined()), q.list("order_by"))
    with services.engine.connect() as conn:
        query = scoped(conn, query, dag_id, run_id)
        rows, total = queries.page(conn, query, limit, offset)
        return {"task_instances": ti_bodies(conn, rows), "total_entries": total}


def list_mapped(services, request):
    """GET .../taskInstances/{task_id}/listMapped: the expanded instances (map_index >= 0) of a task."""
    p = request.path_params
    dag_id, run_id, task_id = p["dag_id"], p["dag_run_id"], p["task_id"]
    q = Query(request)
    limit, offset = q.paging()
    query = filtered_tis(q, _joined()).where(task_instance.c.task_id == task_id, task_instance.c.map_index >= 0)
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["map_index"], tiebreak=task_instance.c.map_index)
    with services.engine.connect() as conn:
        query = scoped(conn, query, dag_id, run_id)
        rows, total = queries.page(conn, query, limit, offset)
        if total == 0:
            latest = store_dags.latest_serialized(conn, dag_id)
            task = next((t for t in (latest[1] if latest else {}).get("tasks", []) if t["task_id"] == task_id), None)
            if task is None:
                raise not_found(f"Task id {task_id} not found")
            if not task.get("is_mapped"):
                raise not_found(f"Task id {task_id} is not mapped")
        return {"task_instances": ti_bodies(conn, rows), "total_entries": total}


def find_ti(conn, dag_id, run_id, task_id, map_index=-1):
    return conn.execute(_joined().where(
        task_instance.c.dag_id == dag_id, task_instance.c.run_id == run_id,
        task_instance.c.task_id == task_id, task_instance.c.map_index == map_index)).first()


def rendered_fields(conn, dag_id, run_id, task_id, map_index):
    r = rendered_task_instance_fields
    return conn.execute(select(r.c.rendered_fields).where(
        r.c.dag_id == dag_id, r.c.run_id == run_id, r.c.task_id == task_id, r.c.map_index == map_index)).scalar()


def one_ti(services, dag_id, run_id, task_id, map_index=-1) -> dict:
    with services.engine.connect() as conn:
        row = find_ti(conn, dag_id, run_id, task_id, map_index)
        if row is None:
            if map_index == -1 and conn.execute(select(task_instance.c.id).where(
                    task_instance.c.dag_id == dag_id, task_instance.c.run_id == run_id,
                    task_instance.c.task_id == task_id, task_instance.c.map_index >= 0).limit(1)).first():
                raise not_found("Task instance is mapped, add the map_index value to the URL")
            raise ti_not_found(dag_id, run_id, task_id, map_index)
        return ti_bodies(conn, [row], rendered_fields(conn, dag_id, run_id, task_id, map_index))[0]


def get_ti(services, request):
    p = request.path_params
    return one_ti(services, p["dag_id"], p["dag_run_id"], p["task_id"])


def delete_ti(services, request):
    p = request.path_params
    dag_id, run_id, task_id = p["dag_id"], p["dag_run_id"], p["task_id"]
    q = Query(request)
    map_index = q.int("map_index", -1, ge=-1)
    q.done()
    with services.engine.begin() as conn:
        row = find_ti(conn, dag_id, run_id, task_id, map_index)
        if row is None:
            raise ti_not_found(dag_id, run_id, task_id, map_index)
        for table in (xcom, rendered_task_instance_fields, task_instance_history):
            keys = (table.c.dag_id == dag_id) & (table.c.run_id == run_id) & (table.c.task_id == task_id)
            conn.execute(delete(table).where(keys, table.c.map_index == map_index))
        conn.execute(delete(task_instance).where(task_instance.c.id == row.id))
        actions.record(conn, request, "delete_task_instance", dag_id=dag_id, run_id=run_id, task_id=task_id,
                       map_index=map_index)
    return None


ROUTES = [
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances", ["GET"], list_tis),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", ["GET"], get_ti),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}", ["DELETE"], delete_ti),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/listMapped", ["GET"], list_mapped),
]
