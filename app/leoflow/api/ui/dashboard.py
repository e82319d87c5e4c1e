"""/ui/dashboard: the home page's DAG counts and run / task-instance state totals."""

from __future__ import annotations

from sqlalchemy import func, select

from ...store.tables import dag, dag_run, task_instance
from ...store.types import utcnow
from ..validate import Query

TI_STATES = ["no_status", "removed", "scheduled", "queued", "running", "success", "restarting", "failed",
             "up_for_retry", "up_for_reschedule", "upstream_failed", "skipped", "deferred"]
STATE_COUNT_LIMIT = 1000  # counts stop here (Airflow 3.2.1 caps them the same way)


def dag_stats(services, request):
    """Active = neither stale nor paused. Failed/running/queued: DAGs whose newest run is in that state —
    the same "newest run" the DAG list's `last_dag_run_state` filter uses, so the dashboard's links agree
    with the lists they open (Airflow looks only at runs with a logical date, missing manual runs)."""
    latest = select(dag_run.c.dag_id, func.max(dag_run.c.id).label("id")).group_by(dag_run.c.dag_id).subquery()
    with services.engine.connect() as conn:
        active = conn.execute(select(func.count()).select_from(dag).where(
            dag.c.is_stale.is_(False), dag.c.is_paused.is_(False))).scalar()
        states = dict(conn.execute(
            select(dag_run.c.state, func.count())
            .join(latest, latest.c.id == dag_run.c.id)
            .join(dag, dag.c.dag_id == dag_run.c.dag_id)
            .where(dag.c.is_stale.is_(False))
            .group_by(dag_run.c.state)).all())
    return {"active_dag_count": active, "failed_dag_count": states.get("failed", 0),
            "running_dag_count": states.get("running", 0), "queued_dag_count": states.get("queued", 0)}


def historical_metrics(services, request):
    """Runs and task instances by state, for runs that started at or after `start_date` and ended by
    `end_date` (unfinished ones count as now). Each count stops at `state_count_limit`, as in Airflow."""
    q = Query(request)
    start, end = q.datetime("start_date"), q.datetime("end_date")
    if "start_date" not in request.query_params:
        q.fail("start_date", "Field required", None, "missing")
    q.done()
    now = utcnow()
    window = [func.coalesce(dag_run.c.start_date, now) >= start,
              func.coalesce(dag_run.c.end_date, now) <= (end or now)]
    runs = select(dag_run.c.state, func.count()).where(*window).group_by(dag_run.c.state)
    tis = (select(task_instance.c.state, func.count())
           .join(dag_run, (dag_run.c.dag_id == task_instance.c.dag_id) & (dag_run.c.run_id == task_instance.c.run_id))
           .where(*window).group_by(task_instance.c.state))
    with services.engine.connect() as conn:
        run_counts = dict(conn.execute(runs).all())
        ti_counts = dict(conn.execute(tis).all())
    cap = lambda n: min(n, STATE_COUNT_LIMIT)  # noqa: E731
    return {
        "dag_run_states": {s: cap(run_counts.get(s, 0)) for s in ("queued", "running", "success", "failed")},
        "task_instance_states": {s: cap(ti_counts.get(None if s == "no_status" else s, 0)) for s in TI_STATES},
        "state_count_limit": STATE_COUNT_LIMIT,
    }


ROUTES = [
    ("/ui/dashboard/dag_stats", ["GET"], dag_stats),
    ("/ui/dashboard/historical_metrics_data", ["GET"], historical_metrics),
]
