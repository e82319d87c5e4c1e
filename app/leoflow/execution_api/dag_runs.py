"""Execution API: what a task may read about DAG runs, and the runs it may trigger or clear.

`GET /dag-runs/{dag_id}/{run_id}` and `.../state`, `GET /dag-runs/count` and `/dag-runs/previous`
(ExternalTaskSensor, `get_previous_dagrun`), `POST /dag-runs/{dag_id}/{run_id}` and `.../clear`
(TriggerDagRunOperator). Before API version 2026-04-06 the previous run was `/dag-runs/{dag_id}/previous`
and a run's detail did not exist.
"""

from __future__ import annotations

from sqlalchemy import func, select

from ..store import dags as dag_store, runs
from ..store.tables import dag_run
from . import cross_dag, versions
from .http import HTTPError, no_content, not_found, parse_query_time, query_list, query_time, respond


def run_body(run) -> dict:
    """The `DagRun` model of the Execution API."""
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "logical_date": run.logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "run_after": run.run_after,
        "start_date": run.start_date,
        "end_date": run.end_date,
        "clear_number": run.clear_number,
        "run_type": run.run_type,
        "state": run.state,
        "conf": run.conf,
        "triggering_user_name": run.triggering_user_name,
        "consumed_asset_events": [],
        "partition_key": None,
        "note": run.note,
    }


def get_dag_run(call, dag_id, run_id):
    if call.version < versions.LATEST:
        if run_id == "previous":  # the older path of GET /dag-runs/previous
            return _previous(call, dag_id)
        return respond({"detail": "Not Found"}, 404)
    with call.engine.connect() as conn:
        run = runs.get_run(conn, dag_id, run_id)
    if run is None:
        raise not_found(f"Dag run '{run_id}' of '{dag_id}' not found")
    return respond(run_body(run))


def get_state(call, dag_id, run_id):
    with call.engine.connect() as conn:
        run = runs.get_run(conn, dag_id, run_id)
    if run is None:
        raise not_found(f"Dag run '{run_id}' of '{dag_id}' not found")
    return respond({"state": run.state})


def get_count(call):
    dag_id = call.query.get("dag_id")
    if not dag_id:
        raise HTTPError(422, [{"type": "missing", "loc": ["query", "dag_id"], "msg": "Field required",
                               "input": None}])
    q = select(func.count()).select_from(dag_run).where(dag_run.c.dag_id == dag_id)
    if dates := [parse_query_time(v, "logical_dates") for v in query_list(call.request, "logical_dates")]:
        q = q.where(dag_run.c.logical_date.in_(dates))
    if run_ids := query_list(call.request, "run_ids"):
        q = q.where(dag_run.c.run_id.in_(run_ids))
    if states := query_list(call.request, "states"):
        q = q.where(dag_run.c.state.in_(states))
    with call.engine.connect() as conn:
        return respond(conn.execute(q).scalar() or 0)


def get_previous(call):
    return _previous(call, call.query.get("dag_id"))


def _previous(call, dag_id):
    logical_date = query_time(call.request, "logical_date")
    missing = [n for n, v in (("dag_id", dag_id), ("logical_date", logical_date)) if not v]
    if missing:
        raise HTTPError(422, [{"type": "missing", "loc": ["query", n], "msg": "Field required"} for n in missing])
    query = select(dag_run).where(dag_run.c.dag_id == dag_id, dag_run.c.logical_date < logical_date)
    if call.query.get("state"):
        query = query.where(dag_run.c.state == call.query["state"])
    with call.engine.connect() as conn:
        row = conn.execute(query.order_by(dag_run.c.logical_date.desc()).limit(1)).first()
    return respond(versions.dag_run_for(call.version, run_body(row)) if row is not None else None)


def trigger(call, dag_id, run_id):
    with call.engine.connect() as conn:
        known = dag_store.get_dag(conn, dag_id) is not None
    if not known and cross_dag.dag_finder is not None:
        cross_dag.dag_finder(dag_id)
    fields = cross_dag.TRIGGER_FIELDS if call.version >= versions.LATEST else cross_dag.TRIGGER_FIELDS - {"partition_key"}
    with call.engine.begin() as conn:
        cross_dag.trigger_run(conn, dag_id, run_id, call.body, _notify(call), fields=fields)
    return no_content()


def clear(call, dag_id, run_id):
    with call.engine.begin() as conn:
        row = dag_store.get_dag(conn, dag_id)
        if row is None or row.is_stale:
            raise not_found(f"Dag with dag_id: '{dag_id}' not found")
        cross_dag.clear_run(conn, dag_id, run_id)
    _notify(call)(dag_id=dag_id, run_id=run_id)
    return no_content()


def _notify(call):
    def notify(**fields):
        call.notify_scheduler("run_triggered", **fields)

    return notify
