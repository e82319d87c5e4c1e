"""GET/DELETE /dags/{dag_id}/assets[/{asset_id}]/queuedEvents: asset updates a DAG has not consumed yet."""

from __future__ import annotations

from sqlalchemy import delete, select
from starlette.responses import Response

from ..store.tables import asset_dag_run_queue, dag
from . import actions, serializers
from .errors import not_found
from .validate import Query, path_int

ADRQ = asset_dag_run_queue


def _filters(request, dag_id: str, asset_id: int | None):
    q = Query(request)
    before = q.datetime("before")
    q.done()
    conds = [ADRQ.c.target_dag_id == dag_id]
    if asset_id is not None:
        conds.append(ADRQ.c.asset_id == asset_id)
    if before is not None:
        conds.append(ADRQ.c.created_at < before)
    return conds


def _asset_id(request) -> int:
    return path_int(request, "asset_id")


def _bodies(conn, conds) -> list[dict]:
    rows = conn.execute(select(ADRQ, dag.c.dag_display_name).join(dag, dag.c.dag_id == ADRQ.c.target_dag_id,
                                                                   isouter=True)
                        .where(*conds).order_by(ADRQ.c.created_at, ADRQ.c.asset_id)).all()
    return [{"dag_id": r.target_dag_id, "asset_id": r.asset_id, "created_at": serializers.iso(r.created_at),
             "dag_display_name": r.dag_display_name or r.target_dag_id} for r in rows]


def _missing(dag_id, asset_id=None):
    if asset_id is None:
        return not_found(f"Queue event with dag_id: `{dag_id}` was not found")
    return not_found(f"Queued event with dag_id: `{dag_id}` and asset_id: `{asset_id}` was not found")


def list_queued(services, request):
    dag_id = request.path_params["dag_id"]
    conds = _filters(request, dag_id, None)
    with services.engine.connect() as conn:
        bodies = _bodies(conn, conds)
    if not bodies:
        raise _missing(dag_id)
    return {"queued_events": bodies, "total_entries": len(bodies)}


def delete_queued(services, request):
    dag_id = request.path_params["dag_id"]
    conds = _filters(request, dag_id, None)
    with services.engine.begin() as conn:
        if conn.execute(delete(ADRQ).where(*conds)).rowcount == 0:
            raise _missing(dag_id)
        actions.record(conn, request, "delete_dag_asset_queued_events", dag_id=dag_id)
    return Response(status_code=204)


def get_queued(services, request):
    dag_id, asset_id = request.path_params["dag_id"], _asset_id(request)
    conds = _filters(request, dag_id, asset_id)
    with services.engine.connect() as conn:
        bodies = _bodies(conn, conds)
    if not bodies:
        raise _missing(dag_id, asset_id)
    return bodies[0]


def delete_one_queued(services, request):
    dag_id, asset_id = request.path_params["dag_id"], _asset_id(request)
    conds = _filters(request, dag_id, asset_id)
    with services.engine.begin() as conn:
        if conn.execute(delete(ADRQ).where(*conds)).rowcount == 0:
            raise _missing(dag_id, asset_id)
        actions.record(conn, request, "delete_dag_asset_queued_event", dag_id=dag_id)
    return Response(status_code=204)


ROUTES = [
    ("/dags/{dag_id}/assets/queuedEvents", ["GET"], list_queued),
    ("/dags/{dag_id}/assets/queuedEvents", ["DELETE"], delete_queued),
    ("/dags/{dag_id}/assets/{asset_id}/queuedEvents", ["GET"], get_queued),
    ("/dags/{dag_id}/assets/{asset_id}/queuedEvents", ["DELETE"], delete_one_queued),
]
