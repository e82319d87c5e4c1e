"""/dagStats and /dagTags: run counts per state for each DAG, and the tags in use."""

from __future__ import annotations

from sqlalchemy import func, select

from ..store.tables import dag_run, dag_tag
from . import queries
from .validate import Query

STATES = ("queued", "running", "success", "failed")


def get_dag_stats(services, request):
    q = Query(request)
    dag_ids = q.list("dag_ids")
    q.done()
    query = (select(dag_run.c.dag_id, dag_run.c.state, func.count())
             .group_by(dag_run.c.dag_id, dag_run.c.state).order_by(dag_run.c.dag_id))
    if dag_ids:
        query = query.where(dag_run.c.dag_id.in_(dag_ids))
    counts: dict[str, dict[str, int]] = {}
    with services.engine.connect() as conn:
        for dag_id, state, count in conn.execute(query):
            counts.setdefault(dag_id, {})[state] = count
    dags = [{"dag_id": d, "dag_display_name": d,
             "stats": [{"state": s, "count": counts[d].get(s, 0)} for s in STATES]} for d in sorted(counts)]
    return {"dags": dags, "total_entries": len(dags)}


def get_dag_tags(services, request):
    q = Query(request)
    limit, offset = q.paging()
    q.done()
    query = select(dag_tag.c.name).group_by(dag_tag.c.name)
    if (cond := queries.like_any(dag_tag.c.name, q.str("tag_name_pattern"))) is not None:
        query = query.where(cond)
    query = queries.ordered(query, q.list("order_by"), {"name": dag_tag.c.name}, ["name"])
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    return {"tags": [r.name for r in rows], "total_entries": total}


ROUTES = [
    ("/dagStats", ["GET"], get_dag_stats),
    ("/dagTags", ["GET"], get_dag_tags),
]
