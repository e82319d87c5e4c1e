"""XCom entries: list (`~` = any DAG / run / task), get, create, update, delete."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select
from starlette.responses import Response

from ..store import dags as store_dags
from ..store import runs as store_runs
from ..store import xcoms as store_xcoms
from ..store.tables import dag_run, xcom
from . import actions, queries, serializers
from .errors import HTTPError, not_found
from .validate import Body, Query, json_body

_RUN_LOGICAL = dag_run.c.logical_date.label("run_logical_date")
_RUN_AFTER = dag_run.c.run_after.label("run_run_after")


def _joined():
    return select(xcom, _RUN_LOGICAL, _RUN_AFTER).join(dag_run, dag_run.c.id == xcom.c.dag_run_id)


def _run_of(row):
    return SimpleNamespace(logical_date=row.run_logical_date, run_after=row.run_run_after)


def _scope(query, params):
    for column, name in ((xcom.c.dag_id, "dag_id"), (xcom.c.run_id, "dag_run_id"), (xcom.c.task_id, "task_id")):
        if params[name] != "~":
            query = query.where(column == params[name])
    return query


def display_value(value, *, deserialize: bool, stringify: bool):
    """What Airflow returns for a stored value: the JSON itself, or its Python text when stringified."""
    if stringify:
        return str(value)
    return value


def list_xcoms(services, request):
    q = Query(request)
    limit, offset = q.paging()
    map_index = q.int("map_index", None, ge=-1)
    map_index_filter = q.int("map_index_filter")
    query = _scope(_joined(), request.path_params)
    query = queries.date_range(q, query, dag_run, ("logical_date", "run_after"))
    q.done()
    if q.str("xcom_key"):
        query = query.where(xcom.c.key == q.str("xcom_key"))
    for index in (map_index, map_index_filter):
        if index is not None:
            query = query.where(xcom.c.map_index == index)
    for column, param in ((xcom.c.key, "xcom_key_pattern"), (xcom.c.dag_id, "dag_display_name_pattern"),
                          (xcom.c.run_id, "run_id_pattern"), (xcom.c.task_id, "task_id_pattern")):
        if (cond := queries.like_any(column, q.str(param))) is not None:
            query = query.where(cond)
    query = query.order_by(xcom.c.dag_id, xcom.c.run_id, xcom.c.task_id, xcom.c.map_index, xcom.c.key)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
        bodies = queries.with_display_names(conn, [serializers.xcom(r, _run_of(r)) for r in rows])
    return {"xcom_entries": bodies, "total_entries": total}


def get_xcom(services, request):
    q = Query(request)
    map_index = q.int("map_index", -1, ge=-1)
    deserialize = q.bool("deserialize", False)
    stringify = q.bool("stringify", False)
    q.done()
    key = request.path_params["xcom_key"]
    query = _scope(_joined(), request.path_params).where(xcom.c.key == key, xcom.c.map_index == map_index)
    with services.engine.connect() as conn:
        row = conn.execute(query.order_by(xcom.c.timestamp.desc()).limit(1)).first()
    if row is None:
        raise not_found(f"XCom entry with key: `{key}` not found")
    value = display_value(row.value, deserialize=deserialize, stringify=stringify)
    return serializers.xcom(row, _run_of(row), value)


def _one(conn, dag_id, run_id, task_id, key, map_index):
    return conn.execute(_joined().where(
        xcom.c.dag_id == dag_id, xcom.c.run_id == run_id, xcom.c.task_id == task_id, xcom.c.key == key,
        xcom.c.map_index == map_index)).first()


def _missing(key):
    return not_found(f"The XCom with key: `{key}` with mentioned task instance doesn't exist.")


def create_xcom(services, request):
    p = request.path_params
    dag_id, run_id, task_id = p["dag_id"], p["dag_run_id"], p["task_id"]
    body = Body(json_body(request), allowed={"key", "value", "map_index"}, required={"key", "value"})
    key = body.str("key", nullable=False, max_length=512)  # the key column's length
    map_index = body.int("map_index", -1, ge=-1)
    body.done()
    with services.engine.begin() as conn:
        found = store_dags.latest_serialized(conn, dag_id)
        if found is None:
            raise not_found(f"The Dag with ID: `{dag_id}` was not found")
        if not any(t["task_id"] == task_id for t in found[1].get("tasks", [])):
            raise not_found(f"Task with ID: `{task_id}` not found in dag: `{dag_id}`")
        if store_runs.get_run(conn, dag_id, run_id) is None:
            raise not_found(f"Dag Run with ID: `{run_id}` not found for dag: `{dag_id}`")
        if _one(conn, dag_id, run_id, task_id, key, map_index) is not None:
            raise HTTPError(400, f"The XCom with key: `{key}` with mentioned task instance already exists.")
        store_xcoms.set(conn, dag_id, run_id, task_id, key, body.data["value"], map_index)
        actions.record(conn, request, "create_xcom_entry", dag_id=dag_id, run_id=run_id, task_id=task_id,
                       map_index=map_index)
        row = _one(conn, dag_id, run_id, task_id, key, map_index)
    return serializers.xcom(row, _run_of(row), row.value), 201


def update_xcom(services, request):
    p = request.path_params
    dag_id, run_id, task_id, key = p["dag_id"], p["dag_run_id"], p["task_id"], p["xcom_key"]
    body = Body(json_body(request), allowed={"value", "map_index"}, required={"value"})
    map_index = body.int("map_index", -1, ge=-1)
    body.done()
    with services.engine.begin() as conn:
        if _one(conn, dag_id, run_id, task_id, key, map_index) is None:
            raise _missing(key)
        store_xcoms.set(conn, dag_id, run_id, task_id, key, body.data["value"], map_index)
        actions.record(conn, request, "update_xcom_entry", dag_id=dag_id, run_id=run_id, task_id=task_id,
                       map_index=map_index)
        row = _one(conn, dag_id, run_id, task_id, key, map_index)
    return serializers.xcom(row, _run_of(row), row.value)


def delete_xcom(services, request):
    p = request.path_params
    dag_id, run_id, task_id, key = p["dag_id"], p["dag_run_id"], p["task_id"], p["xcom_key"]
    q = Query(request)
    map_index = q.int("map_index", -1, ge=-1)
    q.done()
    with services.engine.begin() as conn:
        if _one(conn, dag_id, run_id, task_id, key, map_index) is None:
            raise _missing(key)
        store_xcoms.delete_(conn, dag_id, run_id, task_id, key, map_index)
        actions.record(conn, request, "delete_xcom_entry", dag_id=dag_id, run_id=run_id, task_id=task_id,
                       map_index=map_index)
    return Response(status_code=204)


_ENTRIES = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries"

ROUTES = [
    (_ENTRIES, ["GET"], list_xcoms),
    (_ENTRIES, ["POST"], create_xcom),
    (_ENTRIES + "/{xcom_key}", ["GET"], get_xcom),
    (_ENTRIES + "/{xcom_key}", ["PATCH"], update_xcom),
    (_ENTRIES + "/{xcom_key}", ["DELETE"], delete_xcom),
]
