"""/ui/dags: the DAG list page (each DAG with its latest runs) and a DAG's latest run."""

from __future__ import annotations

from sqlalchemy import func, select

from ...store import dags as store_dags
from ...store.tables import dag, dag_favorite, dag_run
from .. import dags as api_dags
from .. import queries, serializers
from ..validate import Query


def run_light(row) -> dict:
    """DAGRunLightResponse."""
    return {
        "id": row.id,
        "dag_id": row.dag_id,
        "run_id": row.run_id,
        "logical_date": serializers.iso(row.logical_date),
        "run_after": serializers.iso(row.run_after),
        "start_date": serializers.iso(row.start_date),
        "end_date": serializers.iso(row.end_date),
        "state": row.state,
        "duration": serializers.seconds_between(row.start_date, row.end_date),
    }


def latest_runs(conn, dag_ids, per_dag: int) -> dict[str, list]:
    """The newest `per_dag` runs of each DAG (by run_after), newest first."""
    out: dict[str, list] = {d: [] for d in dag_ids}
    if not dag_ids or per_dag <= 0:
        return out
    rank = func.row_number().over(partition_by=dag_run.c.dag_id,
                                  order_by=(dag_run.c.run_after.desc(), dag_run.c.id.desc())).label("rank")
    ranked = select(dag_run, rank).where(dag_run.c.dag_id.in_(list(dag_ids))).subquery()
    rows = conn.execute(select(ranked).where(ranked.c.rank <= per_dag)
                        .order_by(ranked.c.dag_id, ranked.c.rank)).all()
    for row in rows:
        out[row.dag_id].append(run_light(row))
    return out


def list_dags(services, request):
    """GET /ui/dags: the public list's filters and order, plus `latest_dag_runs` and favourites."""
    q = Query(request)
    limit, offset = q.paging()
    runs_limit = q.int("dag_runs_limit", 10, ge=0)
    dag_ids = q.list("dag_ids")
    q.bool("has_pending_actions")  # Leoflow has no human-in-the-loop actions: checked, never pending
    user = request.state.user.username
    query = api_dags.filtered_dags(q, user=user)
    if dag_ids:
        query = query.where(dag.c.dag_id.in_(dag_ids))
    query = queries.ordered(query, q.list("order_by"), api_dags._ORDER, ["dag_id"], tiebreak=dag.c.dag_id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
        ids = [r.dag_id for r in rows]
        bodies = api_dags._bodies(services, conn, rows)
        runs = latest_runs(conn, ids, runs_limit)
        favorites = set(conn.execute(select(dag_favorite.c.dag_id).where(
            dag_favorite.c.user_id == user, dag_favorite.c.dag_id.in_(ids))).scalars()) if ids else set()
    out = []
    for row, body in zip(rows, bodies):
        file_token = body.pop("file_token")
        body["asset_expression"] = row.asset_expression
        body["latest_dag_runs"] = runs[row.dag_id]
        body["pending_actions"] = []
        body["is_favorite"] = row.dag_id in favorites
        body["file_token"] = file_token
        out.append(body)
    return {"total_entries": total, "dags": out}


def latest_run(services, request):
    """GET /ui/dags/{dag_id}/latest_run: the newest run (by run_after), or null."""
    dag_id = request.path_params["dag_id"]
    with services.engine.connect() as conn:
        if store_dags.get_dag(conn, dag_id) is None:
            raise api_dags.dag_not_found(dag_id)
        row = conn.execute(select(dag_run).where(dag_run.c.dag_id == dag_id)
                           .order_by(dag_run.c.run_after.desc(), dag_run.c.id.desc()).limit(1)).first()
    return run_light(row) if row else None


ROUTES = [
    ("/ui/dags", ["GET"], list_dags),
    ("/ui/dags/{dag_id}/latest_run", ["GET"], latest_run),
]
