"""GET .../taskInstances/{task_id}/xcomEntries[/{xcom_key}] (`~` = any DAG / run / task)."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from ..store.tables import dag_run, xcom
from . import queries, serializers
from .errors import not_found
from .validate import Query

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
    return {"xcom_entries": [serializers.xcom(r, _run_of(r)) for r in rows], "total_entries": total}


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


ROUTES = [
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries", ["GET"], list_xcoms),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}", ["GET"], get_xcom),
]
