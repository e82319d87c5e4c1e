"""POST .../dagRuns/list and .../taskInstances/list: the list filters in a JSON body (dag_id/run `~` = any)."""

from __future__ import annotations

from sqlalchemy import Text, select, type_coerce

from ..store.tables import dag_run, task_instance
from . import queries
from .dag_runs import _ORDER as RUN_ORDER
from .dag_runs import run_bodies
from .task_instances import _ORDER as TI_ORDER
from .task_instances import TI_STATES, _joined, scoped, state_filter, ti_bodies
from .validate import Body, json_body

RUN_STATES = ["queued", "running", "success", "failed"]
_RANGES = ("gte", "gt", "lte", "lt")
_OPS = {"gte": "__ge__", "gt": "__gt__", "lte": "__le__", "lt": "__lt__"}


def _date_fields(names):
    return {f"{n}_{r}" for n in names for r in _RANGES}


def _ranges(body: Body, query, table, names, *, numeric=()):
    for name in names:
        for suffix in _RANGES:
            value = body.datetime(f"{name}_{suffix}")
            if value is not None:
                query = query.where(getattr(table.c[name], _OPS[suffix])(value))
    for name, column in numeric:
        for suffix in _RANGES:
            value = body.number(f"{name}_{suffix}")
            if value is not None:
                query = query.where(getattr(column, _OPS[suffix])(value))
    return query


def _order(body: Body, query, allowed, default, tiebreak):
    order_by = body.str("order_by")
    return queries.ordered(query, [order_by] if order_by else [], allowed, default, tiebreak=tiebreak)


_RUN_DATES = ("run_after", "logical_date", "start_date", "end_date")
_RUN_FIELDS = {"order_by", "page_offset", "page_limit", "dag_ids", "states", "conf_contains",
               *_date_fields(_RUN_DATES), *_date_fields(["duration"])}


def list_runs_batch(services, request):
    dag_id = request.path_params["dag_id"]
    body = Body(json_body(request), allowed=_RUN_FIELDS)
    offset = body.int("page_offset", 0, ge=0)
    limit = body.int("page_limit", 100, ge=0)
    dag_ids = body.str_list("dag_ids")
    states = body.str_list("states", choices=RUN_STATES, nullable_items=True)
    conf_contains = body.str("conf_contains")
    query = _ranges(body, select(dag_run), dag_run, _RUN_DATES)
    durations = [(suffix, body.number(f"duration_{suffix}")) for suffix in _RANGES]
    body.done()
    query = _order(body, query, RUN_ORDER, ["id"], dag_run.c.id)
    if dag_id != "~":
        query = query.where(dag_run.c.dag_id == dag_id)
    if dag_ids:
        query = query.where(dag_run.c.dag_id.in_(dag_ids))
    if states:
        query = query.where(dag_run.c.state.in_([s for s in states if s]))
    if conf_contains:
        query = query.where(type_coerce(dag_run.c.conf, Text).contains(conf_contains))
    with services.engine.connect() as conn:
        if any(v is not None for _s, v in durations):
            # Durations compare in Python: date arithmetic differs between SQLite and Postgres.
            rows = [r for r in conn.execute(query).all() if _duration_ok(r, durations)]
            total, rows = len(rows), rows[offset:offset + limit]
        else:
            rows, total = queries.page(conn, query, limit, offset)
        return {"dag_runs": run_bodies(conn, rows), "total_entries": total}


def _duration_ok(run, durations) -> bool:
    if run.start_date is None or run.end_date is None:
        return False
    seconds = (run.end_date - run.start_date).total_seconds()
    return all(value is None or getattr(seconds, _OPS[suffix])(value) for suffix, value in durations)


_TI_DATES = ("run_after", "logical_date", "start_date", "end_date")
_TI_FIELDS = {"dag_ids", "dag_run_ids", "task_ids", "state", "pool", "queue", "executor", "page_offset",
              "page_limit", "order_by", *_date_fields(_TI_DATES), *_date_fields(["duration"])}


def list_tis_batch(services, request):
    p = request.path_params
    body = Body(json_body(request), allowed=_TI_FIELDS)
    offset = body.int("page_offset", 0, ge=0)
    limit = body.int("page_limit", 100, ge=0)
    lists = {name: body.str_list(name) for name in ("dag_ids", "dag_run_ids", "task_ids", "pool", "queue",
                                                     "executor")}
    states = body.str_list("state", choices=list(TI_STATES), nullable_items=True)
    query = _ranges(body, _joined(), task_instance, ("start_date", "end_date"),
                    numeric=[("duration", task_instance.c.duration)])
    query = _ranges(body, query, dag_run, ("run_after", "logical_date"))
    body.done()
    query = _order(body, query, TI_ORDER, ["map_index"], task_instance.c.id)
    for name, column in (("dag_ids", task_instance.c.dag_id), ("dag_run_ids", task_instance.c.run_id),
                         ("task_ids", task_instance.c.task_id), ("pool", task_instance.c.pool),
                         ("queue", task_instance.c.queue), ("executor", task_instance.c.executor)):
        if lists[name]:
            query = query.where(column.in_(lists[name]))
    if states:
        query = query.where(state_filter(states))
    with services.engine.connect() as conn:
        query = scoped(conn, query, p["dag_id"], p["dag_run_id"])
        rows, total = queries.page(conn, query, limit, offset)
        return {"task_instances": ti_bodies(conn, rows), "total_entries": total}


ROUTES = [
    ("/dags/{dag_id}/dagRuns/list", ["POST"], list_runs_batch),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/list", ["POST"], list_tis_batch),
]
