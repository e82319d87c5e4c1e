"""/jobs: the components that heart-beat in the `job` table (scheduler, DAG processor, ...)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..store.tables import job
from . import queries
from .monitor import HEARTBEAT_LIMIT
from .serializers import iso
from .validate import Query

_ORDER = {name: job.c[name] for name in ("id", "dag_id", "state", "job_type", "start_date", "end_date",
                                          "latest_heartbeat", "executor_class", "hostname", "unixname")}


def serialize(row) -> dict:
    return {
        "id": row.id, "dag_id": row.dag_id, "state": row.state, "job_type": row.job_type,
        "start_date": iso(row.start_date), "end_date": iso(row.end_date),
        "latest_heartbeat": iso(row.latest_heartbeat), "executor_class": row.executor_class,
        "hostname": row.hostname, "unixname": row.unixname, "dag_display_name": row.dag_id,
    }


def is_alive(row, now) -> bool:
    return row.state == "running" and row.latest_heartbeat is not None and \
        now - row.latest_heartbeat <= HEARTBEAT_LIMIT


def get_jobs(services, request):
    q = Query(request)
    limit, offset = q.paging()
    alive = q.bool("is_alive")
    query = queries.date_range(q, select(job), job, ["start_date", "end_date"])
    for param, column in (("job_state", job.c.state), ("job_type", job.c.job_type), ("hostname", job.c.hostname),
                          ("executor_class", job.c.executor_class)):
        if (value := q.str(param)) is not None:
            query = query.where(column == value)
    q.done()
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["id"], tiebreak=job.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    if alive is not None:  # as Airflow: filtered after paging, total counts every job
        now = dt.datetime.now(dt.UTC)
        rows = [r for r in rows if is_alive(r, now) == alive]
    return {"jobs": [serialize(r) for r in rows], "total_entries": total}


ROUTES = [("/jobs", ["GET"], get_jobs)]
