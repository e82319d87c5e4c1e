"""dag_run: creating runs (with their task instances) and reading them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from .tables import dag_run, task_instance
from .ids import uuid7
from .types import utcnow


class RunExists(Exception):
    """A run with this run_id or logical date already exists for the DAG."""


def make_run_id(run_type: str, when: dt.datetime) -> str:
    """Airflow's run ids: `<run_type>__<ISO time>`, the logical date or else run_after."""
    return f"{run_type}__{when.isoformat()}"


def create_dag_run(
    conn: Connection,
    serialized: dict,
    *,
    dag_version_id: str | None,
    run_type: str,
    run_after: dt.datetime,
    logical_date: dt.datetime | None = None,
    data_interval: tuple[dt.datetime, dt.datetime] | None = None,
    run_id: str | None = None,
    conf: dict | None = None,
    triggered_by: str | None = None,
    triggering_user_name: str | None = None,
    note: str | None = None,
    state: str = "queued",
) -> dict:
    """Insert a run and one task instance (state none) per task; return the run row."""
    dag_id = serialized["dag_id"]
    run_id = run_id or make_run_id(run_type, logical_date or run_after)
    clash = conn.execute(
        select(dag_run.c.run_id).where(
            dag_run.c.dag_id == dag_id,
            (dag_run.c.run_id == run_id)
            | ((dag_run.c.logical_date == logical_date) if logical_date is not None else False),
        )
    ).first()
    if clash is not None:
        raise RunExists(f"DAG run {clash.run_id!r} of DAG {dag_id!r} already exists")
    now = utcnow()
    values = dict(
        dag_id=dag_id,
        run_id=run_id,
        queued_at=now if state == "queued" else None,
        logical_date=logical_date,
        run_after=run_after,
        start_date=None,
        state=state,
        run_type=run_type,
        triggered_by=triggered_by,
        triggering_user_name=triggering_user_name,
        conf=conf or {},
        data_interval_start=data_interval[0] if data_interval else None,
        data_interval_end=data_interval[1] if data_interval else None,
        created_dag_version_id=dag_version_id,
        clear_number=0,
        note=note,
        updated_at=now,
    )
    run_pk = conn.execute(dag_run.insert().values(**values)).inserted_primary_key[0]
    tis = [new_ti_row(dag_id, run_id, task, dag_version_id, now) for task in serialized["tasks"]]
    if tis:
        conn.execute(task_instance.insert(), tis)
    return {"id": run_pk, **values}


def new_ti_row(dag_id: str, run_id: str, task: dict, dag_version_id, now, map_index: int = -1) -> dict:
    return dict(
        id=uuid7(),
        dag_id=dag_id,
        task_id=task["task_id"],
        run_id=run_id,
        map_index=map_index,
        try_number=0,
        max_tries=task.get("retries", 0),
        state=None,
        pool=task.get("pool") or "default_pool",
        pool_slots=task.get("pool_slots", 1),
        queue=task.get("queue") or "default",
        priority_weight=task.get("priority_weight_total", task.get("priority_weight", 1)),
        operator=task.get("task_type"),
        custom_operator_name=task.get("custom_operator_name"),
        dag_version_id=dag_version_id,
        executor_config={},
        updated_at=now,
    )


_GET_RUN = select(dag_run).where(dag_run.c.dag_id == bindparam("dag_id"), dag_run.c.run_id == bindparam("run_id"))
_UPDATE_RUN = update(dag_run).where(dag_run.c.dag_id == bindparam("b_dag_id"), dag_run.c.run_id == bindparam("b_run_id"))


def get_run(conn: Connection, dag_id: str, run_id: str):
    return conn.execute(_GET_RUN, {"dag_id": dag_id, "run_id": run_id}).first()


def get_run_by_pk(conn: Connection, pk: int):
    return conn.execute(select(dag_run).where(dag_run.c.id == pk)).first()


def unfinished_runs(conn: Connection, dag_id: str | None = None):
    q = select(dag_run.c.dag_id, dag_run.c.run_id).where(dag_run.c.state.in_(("queued", "running")))
    if dag_id:
        q = q.where(dag_run.c.dag_id == dag_id)
    return conn.execute(q).all()


def set_run_state(conn: Connection, dag_id: str, run_id: str, state: str, **values) -> None:
    update_run(conn, dag_id, run_id, state=state, updated_at=utcnow(), **values)


def update_run(conn: Connection, dag_id: str, run_id: str, **values) -> None:
    """Set columns of one run (a statement built once: the scheduler does this on every decision)."""
    conn.execute(_UPDATE_RUN, {"b_dag_id": dag_id, "b_run_id": run_id, **values})
