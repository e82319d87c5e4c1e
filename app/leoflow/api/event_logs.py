"""/eventLogs: the audit log, user actions and task state changes, with Airflow's filters."""

from __future__ import annotations

from sqlalchemy import select

from ..store.tables import log
from . import queries
from .errors import not_found
from .serializers import iso
from .validate import Query, path_int

_ORDER = {
    "id": log.c.id, "event_log_id": log.c.id, "dttm": log.c.dttm, "when": log.c.dttm, "dag_id": log.c.dag_id,
    "task_id": log.c.task_id, "run_id": log.c.run_id, "event": log.c.event, "logical_date": log.c.logical_date,
    "owner": log.c.owner, "extra": log.c.extra,
}


def serialize(row) -> dict:
    return {
        "event_log_id": row.id,
        "when": iso(row.dttm),
        "dag_id": row.dag_id,
        "task_id": row.task_id,
        "run_id": row.run_id,
        "map_index": row.map_index,
        "try_number": row.try_number,
        "event": row.event,
        "logical_date": iso(row.logical_date),
        "owner": row.owner,
        "extra": row.extra,
        "dag_display_name": row.dag_id,
        "task_display_name": row.task_id,
    }


def get_event_logs(services, request):
    q = Query(request)
    limit, offset = q.paging()
    query = select(log)
    for name in ("dag_id", "task_id", "run_id", "owner", "event"):
        if (value := q.str(name)) is not None:
            query = query.where(log.c[name] == value)
    for name in ("map_index", "try_number"):
        if (value := q.int(name)) is not None:
            query = query.where(log.c[name] == value)
    if excluded := q.list("excluded_events"):
        query = query.where(log.c.event.not_in(excluded))
    if included := q.list("included_events"):
        query = query.where(log.c.event.in_(included))
    if (before := q.datetime("before")) is not None:
        query = query.where(log.c.dttm < before)
    if (after := q.datetime("after")) is not None:
        query = query.where(log.c.dttm > after)
    for name in ("dag_id", "task_id", "run_id", "owner", "event"):
        if (cond := queries.like_any(log.c[name], q.str(f"{name}_pattern"))) is not None:
            query = query.where(cond)
    q.done()
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["id"], tiebreak=log.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    return {"event_logs": [serialize(r) for r in rows], "total_entries": total}


def get_event_log(services, request):
    event_log_id = path_int(request, "event_log_id")
    with services.engine.connect() as conn:
        row = conn.execute(select(log).where(log.c.id == event_log_id)).first()
    if row is None:
        raise not_found(f"The Event Log with id: `{event_log_id}` not found")
    return serialize(row)


ROUTES = [
    ("/eventLogs", ["GET"], get_event_logs),
    ("/eventLogs/{event_log_id}", ["GET"], get_event_log),
]
