"""Smaller /ui reads: backfills, a DAG's asset triggers, deadlines, teams, partitioned runs.

Leoflow has no deadline alerts, teams or partitioned asset schedules: those answer
with empty collections (or 404 for one partition), shaped as Airflow's.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, select

from ...store import dags as store_dags
from ...store.tables import (
    asset,
    asset_active,
    asset_dag_run_queue,
    asset_event,
    backfill,
    dag,
    dag_run,
    dag_schedule_asset_reference,
)
from .. import dags as api_dags
from .. import queries, serializers
from ..errors import not_found
from ..validate import Query

BACKFILL_ORDER = {"id": backfill.c.id, "dag_id": backfill.c.dag_id, "from_date": backfill.c.from_date,
                  "to_date": backfill.c.to_date, "created_at": backfill.c.created_at,
                  "completed_at": backfill.c.completed_at, "updated_at": backfill.c.updated_at}


def backfill_body(row, display_name: str) -> dict:
    """BackfillResponse."""
    return {
        "id": row.id, "dag_id": row.dag_id, "from_date": serializers.iso(row.from_date),
        "to_date": serializers.iso(row.to_date), "dag_run_conf": row.dag_run_conf, "is_paused": bool(row.is_paused),
        "reprocess_behavior": row.reprocess_behavior, "max_active_runs": row.max_active_runs,
        "created_at": serializers.iso(row.created_at), "completed_at": serializers.iso(row.completed_at),
        "updated_at": serializers.iso(row.updated_at), "dag_display_name": display_name,
    }


def list_backfills(services, request):
    """GET /ui/backfills: `dag_id` and `active` (not completed) filters, paged."""
    q = Query(request)
    limit, offset = q.paging()
    active = q.bool("active")
    dag_id = q.str("dag_id")
    query = select(backfill, func.coalesce(dag.c.dag_display_name, backfill.c.dag_id).label("display"))
    query = query.outerjoin(dag, dag.c.dag_id == backfill.c.dag_id)
    if dag_id:
        query = query.where(backfill.c.dag_id == dag_id)
    if active is not None:
        query = query.where(backfill.c.completed_at.is_(None) if active else backfill.c.completed_at.is_not(None))
    query = queries.ordered(query, q.list("order_by"), BACKFILL_ORDER, ["id"])
    q.done()
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    return {"backfills": [backfill_body(r, r.display) for r in rows], "total_entries": total}


def next_run_assets(services, request):
    """GET /ui/next_run_assets/{dag_id}: the DAG's asset condition and, per asset it waits on, whether an
    update is queued for it (with when the newest one came)."""
    dag_id = request.path_params["dag_id"]
    with services.engine.connect() as conn:
        row = store_dags.get_dag(conn, dag_id)
        if row is None:
            raise not_found(f"Dag with id {dag_id} was not found")
        last = conn.execute(select(dag_run.c.logical_date).where(dag_run.c.dag_id == dag_id)
                            .order_by(dag_run.c.id.desc()).limit(1)).scalar()
        since = asset_event.c.timestamp >= last if last is not None else True
        queued = func.max(case((asset_dag_run_queue.c.asset_id.is_not(None), 1), else_=0))
        query = (
            select(asset.c.id, asset.c.uri, asset.c.name, func.max(asset_event.c.timestamp).label("lastUpdate"),
                   queued.label("queued"))
            .join(dag_schedule_asset_reference, dag_schedule_asset_reference.c.asset_id == asset.c.id)
            .join(asset_active, and_(asset_active.c.name == asset.c.name, asset_active.c.uri == asset.c.uri))
            .outerjoin(asset_event, and_(asset_event.c.asset_id == asset.c.id, since))
            .outerjoin(asset_dag_run_queue, and_(asset_dag_run_queue.c.asset_id == asset.c.id,
                                                 asset_dag_run_queue.c.target_dag_id == dag_id))
            .where(dag_schedule_asset_reference.c.dag_id == dag_id)
            .group_by(asset.c.id, asset.c.uri, asset.c.name)
            .order_by(asset.c.uri)
        )
        events = [{"id": r.id, "uri": r.uri, "name": r.name,
                   "lastUpdate": serializers.iso(r.lastUpdate) if r.queued else None}
                  for r in conn.execute(query)]
    return {"asset_expression": row.asset_expression, "events": events}


def deadlines(services, request):
    """GET /ui/dags/{dag_id}/dagRuns/{dag_run_id}/deadlines: Leoflow sets no deadlines; the run must exist."""
    dag_id, run_id = request.path_params["dag_id"], request.path_params["dag_run_id"]
    q = Query(request)
    q.paging()
    q.done()
    with services.engine.connect() as conn:
        found = conn.execute(select(dag_run.c.id).where(dag_run.c.dag_id == dag_id,
                                                        dag_run.c.run_id == run_id)).first()
    if found is None:
        raise not_found(f"No DagRun found for dag_id={dag_id} run_id={run_id}")
    return {"deadlines": [], "total_entries": 0}


def teams(services, request):
    """GET /ui/teams: Leoflow has no multi-team mode, so no teams (Airflow answers 403 in that case)."""
    q = Query(request)
    q.paging()
    q.done()
    return {"teams": [], "total_entries": 0}


def partitioned_runs(services, request):
    """GET /ui/partitioned_dag_runs: none (no partitioned asset schedules in Leoflow)."""
    q = Query(request)
    dag_id = q.str("dag_id")
    q.bool("has_created_dag_run_id")
    q.done()
    if dag_id:
        with services.engine.connect() as conn:
            if store_dags.get_dag(conn, dag_id) is None:
                raise api_dags.dag_not_found(dag_id)
    return {"partitioned_dag_runs": [], "total": 0, "asset_expressions": None}


def pending_partitioned_run(services, request):
    dag_id, key = request.path_params["dag_id"], request.path_params["partition_key"]
    raise not_found(f"No pending partitioned Dag run found for dag_id={dag_id} partition_key={key}")


ROUTES = [
    ("/ui/backfills", ["GET"], list_backfills),
    ("/ui/next_run_assets/{dag_id}", ["GET"], next_run_assets),
    ("/ui/dags/{dag_id}/dagRuns/{dag_run_id}/deadlines", ["GET"], deadlines),
    ("/ui/teams", ["GET"], teams),
    ("/ui/partitioned_dag_runs", ["GET"], partitioned_runs),
    ("/ui/pending_partitioned_dag_run/{dag_id}/{partition_key}", ["GET"], pending_partitioned_run),
]
