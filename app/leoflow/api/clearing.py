"""Clearing task instances: which ones a request selects, and resetting them for a new try.

Shared by `POST /dags/{dag_id}/clearTaskInstances`, `POST .../dagRuns/{run_id}/clear` and the
`include_*` options of marking states. Works from the database alone (mapped task instances are
whatever rows exist), so it is correct whatever the scheduler expanded.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, or_, select, update

from ..store import reschedules, tis as store_tis
from ..store.tables import dag_run, rendered_task_instance_fields, task_instance, xcom
from ..store.types import utcnow
from .errors import HTTPError

FAILED_STATES = ("failed", "upstream_failed")


def relatives(serialized: dict, task_ids, *, upstream: bool, downstream: bool) -> set[str]:
    """The tasks plus, transitively, their upstream and/or downstream tasks."""
    tasks = {t["task_id"]: t for t in serialized.get("tasks", [])}
    found = set(task_ids)
    for direction, wanted in (("upstream", upstream), ("downstream", downstream)):
        if not wanted:
            continue
        todo = list(task_ids)
        while todo:
            task = tasks.get(todo.pop())
            for other in (task or {}).get(direction, []):
                if other not in found:
                    found.add(other)
                    todo.append(other)
    return found


def run_window(conn, dag_id: str, run_id: str, *, past: bool, future: bool):
    """The runs an action on `run_id` reaches: itself, and those before/after it by logical date.

    None when the run does not exist; a 400 when past/future are asked of a run without a logical
    date (manual or asset-triggered), as in Airflow.
    """
    run = conn.execute(select(dag_run.c.logical_date).where(
        dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id)).first()
    if run is None:
        return None
    if not (past or future):
        return dag_run.c.run_id == run_id
    if run.logical_date is None:
        raise HTTPError(400, "Cannot use include_past or include_future with no logical_date(e.g. manually or "
                             "asset-triggered).")
    terms = [dag_run.c.logical_date.is_not(None)]
    if not past:
        terms.append(dag_run.c.logical_date >= run.logical_date)
    if not future:
        terms.append(dag_run.c.logical_date <= run.logical_date)
    return and_(*terms)


def select_tis(conn, dag_id: str, *, run_filter=None, tasks=None, states=None, start_date=None, end_date=None):
    """Task-instance rows (with their run's dates) of `dag_id` matching the filters.

    `tasks` holds task ids and `(task_id, map_index)` pairs; `start_date`/`end_date` bound the
    runs' logical dates, as Airflow's clear does.
    """
    query = (select(task_instance, dag_run.c.logical_date.label("run_logical_date"),
                    dag_run.c.run_after.label("run_run_after"))
             .join(dag_run, (dag_run.c.dag_id == task_instance.c.dag_id) & (dag_run.c.run_id == task_instance.c.run_id))
             .where(task_instance.c.dag_id == dag_id))
    if run_filter is not None:
        query = query.where(run_filter)
    if tasks is not None:
        whole = [t for t in tasks if isinstance(t, str)]
        pairs = [t for t in tasks if not isinstance(t, str)]
        terms = [task_instance.c.task_id.in_(whole)] if whole else []
        terms += [and_(task_instance.c.task_id == t, task_instance.c.map_index == i) for t, i in pairs]
        query = query.where(or_(*terms) if terms else False)
    if states is not None:
        known = [s for s in states if s is not None]
        cond = task_instance.c.state.in_(known)
        if None in states:
            cond = or_(cond, task_instance.c.state.is_(None))
        query = query.where(cond)
    if start_date is not None:
        query = query.where(dag_run.c.logical_date >= start_date)
    if end_date is not None:
        query = query.where(dag_run.c.logical_date <= end_date)
    return conn.execute(query.order_by(dag_run.c.id, task_instance.c.task_id, task_instance.c.map_index)).all()


def clear(conn, rows, serialized: dict, *, reset_runs: bool = True, latest_version_id: str | None = None) -> None:
    """Reset task instances for a new try: history kept, XCom purged, the runs queued again.

    A running task instance becomes `restarting` (its runner is told at its next heartbeat);
    the others lose their state, so the scheduler schedules them again.
    """
    if not rows:
        return
    now = utcnow()
    retries = {t["task_id"]: int(t.get("retries") or 0) for t in serialized.get("tasks", [])}
    for ti in rows:
        if ti.try_number > 0 and ti.state is not None:
            store_tis.record_history(conn, ti.id)
        # A new try may retry as often as the task allows again (Airflow's max_tries rule).
        max_tries = ti.try_number + retries[ti.task_id] if ti.task_id in retries else max(ti.max_tries,
                                                                                            ti.try_number)
        values = dict(state="restarting" if ti.state == "running" else None, updated_at=now, max_tries=max_tries,
                      next_method=None, next_kwargs=None)
        if latest_version_id:
            values["dag_version_id"] = latest_version_id
        conn.execute(update(task_instance).where(task_instance.c.id == ti.id).values(**values))
        where = ((xcom.c.dag_id == ti.dag_id) & (xcom.c.run_id == ti.run_id) & (xcom.c.task_id == ti.task_id)
                 & (xcom.c.map_index == ti.map_index))
        conn.execute(delete(xcom).where(where))
        r = rendered_task_instance_fields
        conn.execute(delete(r).where((r.c.dag_id == ti.dag_id) & (r.c.run_id == ti.run_id)
                                     & (r.c.task_id == ti.task_id) & (r.c.map_index == ti.map_index)))
        reschedules.clear(conn, ti.id)  # the new try's sensor pokes (and its timeout) count from zero
    if reset_runs:
        queue_runs(conn, rows[0].dag_id, {ti.run_id for ti in rows}, latest_version_id=latest_version_id)


def queue_runs(conn, dag_id: str, run_ids, *, latest_version_id: str | None = None) -> None:
    """Count the clear on each run; finished runs go back to `queued`, so the scheduler starts them again."""
    now = utcnow()
    of_runs = (dag_run.c.dag_id == dag_id) & dag_run.c.run_id.in_(list(run_ids))
    counted = dict(clear_number=dag_run.c.clear_number + 1, queued_at=now, updated_at=now)
    if latest_version_id:  # and the latest DAG code: its next queued try records the bundle then current
        counted["bundle_version"] = None
    conn.execute(update(dag_run).where(of_runs).values(**counted))
    values = dict(state="queued", start_date=now, end_date=None, last_scheduling_decision=None)
    if latest_version_id:
        values["created_dag_version_id"] = latest_version_id
    conn.execute(update(dag_run).where(of_runs, dag_run.c.state.in_(("success", "failed"))).values(**values))
