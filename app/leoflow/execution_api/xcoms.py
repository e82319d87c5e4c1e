"""Execution API: XComs, as Airflow 3.2.1's task runner pushes and pulls them.

`/xcoms/{dag_id}/{run_id}/{task_id}/{key}` (a key may contain `/`): GET one value, HEAD the count of
values over all map indexes (in `Content-Range: map_indexes N`), POST, DELETE; `.../slice` and
`.../item/{offset}` read a mapped task's values as a sequence in map-index order.
`include_prior_dates` widens GET and slice to earlier runs of the DAG (by logical date, else run_after).
"""

from __future__ import annotations

from sqlalchemy import func, select

from ..store import task_map, xcoms
from ..store.tables import dag_run, xcom
from .http import HTTPError, not_found, query_bool, query_int, respond

MAX_MAP_LENGTH = 1024  # Airflow's [core] max_map_length default


def _map_index(call) -> int:
    value = query_int(call.request, "map_index")
    return -1 if value is None else value


def _values(call, dag_id, run_id, task_id, key):
    """A SELECT of this key's rows: this run's, or with `include_prior_dates` every run up to this one."""
    query = select(xcom.c.value).where(xcom.c.dag_id == dag_id, xcom.c.task_id == task_id, xcom.c.key == key)
    if not query_bool(call.request, "include_prior_dates", False):
        return query.where(xcom.c.run_id == run_id)
    when = func.coalesce(dag_run.c.logical_date, dag_run.c.run_after)
    this_run = (select(func.coalesce(dag_run.c.logical_date, dag_run.c.run_after))
                .where(dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id).scalar_subquery())
    return query.join(dag_run, dag_run.c.id == xcom.c.dag_run_id).where(when <= this_run)


def get_xcom(call, dag_id, run_id, task_id, key):
    offset = query_int(call.request, "offset")
    map_index = _map_index(call)
    query = _values(call, dag_id, run_id, task_id, key)
    if offset is not None:  # the n-th value in map-index order (from the end when negative)
        query = query.where(xcom.c.value.is_not(None))
        order = xcom.c.map_index.asc() if offset >= 0 else xcom.c.map_index.desc()
        query = query.order_by(order).offset(offset if offset >= 0 else -1 - offset)
    else:
        query = query.where(xcom.c.map_index == map_index)
        if query_bool(call.request, "include_prior_dates", False):  # the newest run's value first
            query = query.order_by(func.coalesce(dag_run.c.logical_date, dag_run.c.run_after).desc(),
                                   xcom.c.timestamp.desc())
    with call.engine.connect() as conn:
        row = conn.execute(query.limit(1)).first()
    if row is None:
        where = f"map_index={map_index}" if offset is None else f"offset={offset}"
        raise not_found(f"XCom with key='{key}' {where} not found for task '{task_id}' in DAG run "
                        f"'{run_id}' of '{dag_id}'")
    return respond({"key": key, "value": row.value})


def head_xcom(call, dag_id, run_id, task_id, key):
    """How many values (one per map index) the task pushed under this key: 0 is an answer, not a 404."""
    if call.query.get("map_index") is not None:
        raise HTTPError(400, {"reason": "invalid_request", "message": "Cannot specify map_index in a HEAD request"})
    with call.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(xcom).where(
            xcom.c.dag_id == dag_id, xcom.c.run_id == run_id, xcom.c.task_id == task_id,
            xcom.c.key == key)).scalar()
    response = respond(None)
    response.headers["Content-Range"] = f"map_indexes {n}"
    return response


def set_xcom(call, dag_id, run_id, task_id, key):
    mapped_length = query_int(call.request, "mapped_length")
    map_index = _map_index(call)
    with call.engine.begin() as conn:
        if not xcoms.set(conn, dag_id, run_id, task_id, key, call.body, map_index):
            raise not_found(f"Dag run '{run_id}' of '{dag_id}' not found")
        if mapped_length is not None:  # the runner says tasks are mapped over this result
            if mapped_length > MAX_MAP_LENGTH:
                raise HTTPError(400, {"reason": "unmappable_return_value_length",
                                      "message": "pushed value is too large to map as a downstream's dependency"})
            task_map.record(conn, dag_id, run_id, task_id, map_index, mapped_length)
    return respond({"message": "XCom successfully set"}, 201)


def delete_xcom(call, dag_id, run_id, task_id, key):
    with call.engine.begin() as conn:
        xcoms.delete_(conn, dag_id, run_id, task_id, key, _map_index(call))
    return respond({"message": f"XCom with key: {key} successfully deleted."})


def get_xcom_slice(call, dag_id, run_id, task_id, key):
    start, stop, step = (query_int(call.request, n) for n in ("start", "stop", "step"))
    if step == 0:
        raise HTTPError(422, [{"type": "value_error", "loc": ["query", "step"], "msg": "slice step cannot be zero",
                               "input": 0}])
    query = _values(call, dag_id, run_id, task_id, key).order_by(xcom.c.map_index, xcom.c.timestamp)
    with call.engine.connect() as conn:
        values = [r.value for r in conn.execute(query).all()]
    return respond(values[slice(start, stop, step)])


def get_xcom_item(call, dag_id, run_id, task_id, key, offset):
    try:
        index = int(offset)
    except ValueError:
        raise HTTPError(422, [{"type": "int_parsing", "loc": ["path", "offset"],
                               "msg": "Input should be a valid integer", "input": offset}])
    order = xcom.c.map_index.asc() if index >= 0 else xcom.c.map_index.desc()
    query = (select(xcom.c.value).where(xcom.c.dag_id == dag_id, xcom.c.run_id == run_id,
                                        xcom.c.task_id == task_id, xcom.c.key == key)
             .order_by(order).offset(index if index >= 0 else -1 - index).limit(1))
    with call.engine.connect() as conn:
        row = conn.execute(query).first() if abs(index) < 2**62 else None
    if row is None:
        raise not_found(f"XCom with key='{key}' offset={index} not found for task '{task_id}' in DAG run "
                        f"'{run_id}' of '{dag_id}'")
    return respond(row.value)
