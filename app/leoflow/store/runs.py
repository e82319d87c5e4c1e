"""dag_run: creating runs (with their task instances) and reading them."""

from __future__ import annotations

import datetime as dt
import re
import sys

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from .tables import dag_run, task_instance
from .ids import uuid7
from .types import utcnow


class RunExists(Exception):
    """A run with this run_id or logical date already exists for the DAG."""


class InvalidRunId(ValueError):
    """A run id Airflow 3.2.1 refuses (its message is the answer's detail)."""


# The run ids Airflow 3.2.1 accepts (`[scheduler] allowed_run_id_pattern`'s default): no `/`, no spaces,
# no control characters, so a run id is always one safe path segment. The ids Leoflow makes itself
# (`manual__2026-01-01T00:00:00+00:00`, `asset_triggered__..._1f2e`) match it too.
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.~:+-]+$")
# Named in the refusal, as Airflow names it; every id it matches also matches RUN_ID_PATTERN.
GENERATED_RUN_ID_PATTERN = r"^(?:manual|scheduled|asset_triggered)__(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00)$"
RUN_ID_MAX_LENGTH = 250  # the run_id column
RUN_TYPES = ("backfill", "scheduled", "manual", "asset_triggered", "asset_materialization")


def run_id_problem(run_id: str, run_type: str = "manual") -> str | None:
    """Why Airflow would refuse `run_id` for a run of `run_type`, or None when it is good."""
    if not isinstance(run_id, str):
        return f"`run_id` should be a str, not {type(run_id)}"
    # fullmatch: with `match`, `$` also lets one trailing newline through.
    if not RUN_ID_PATTERN.fullmatch(run_id):
        return (f"The run_id provided '{run_id}' does not match regex pattern '{RUN_ID_PATTERN.pattern}' "
                f"or '{GENERATED_RUN_ID_PATTERN}'")
    if len(run_id) > RUN_ID_MAX_LENGTH:
        return f"The run_id provided '{run_id}' is longer than {RUN_ID_MAX_LENGTH} characters"
    if run_type == "manual":  # a manual run may not pass itself off as another kind
        reserved = next((t for t in RUN_TYPES if t != "manual" and run_id.startswith(f"{t}__")), None)
        if reserved:
            return f"A manual DAG run cannot use ID {run_id!r} since it is reserved for {reserved} runs"
    return None


def check_run_id(run_id: str, run_type: str = "manual") -> None:
    if (problem := run_id_problem(run_id, run_type)) is not None:
        raise InvalidRunId(problem)


def make_run_id(run_type: str, when: dt.datetime) -> str:
    """Airflow's run ids: `<run_type>__<ISO time>`, the logical date or else run_after."""
    return f"{run_type}__{when.isoformat()}"


def _bundle_for_new_run(conn) -> str | None:
    """The DAG bundle the run's tries will run (agents/bundles.py), where this process publishes one."""
    bundles = sys.modules.get("leoflow.agents.bundles")  # not imported: nothing here publishes one
    return bundles.for_new_run(conn) if bundles is not None else None


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
    creating_job_id: int | None = None,
) -> dict:
    """Insert a run and one task instance (state none) per task; return the run row.

    A run id Airflow would refuse raises InvalidRunId: every way a run is made (API, CLI, operator,
    scheduler) passes here, so no run row can name a path outside its folder."""
    dag_id = serialized["dag_id"]
    run_id = run_id or make_run_id(run_type, logical_date or run_after)
    check_run_id(run_id, run_type)
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
        start_date=now if state == "running" else None,
        state=state,
        run_type=run_type,
        triggered_by=triggered_by,
        triggering_user_name=triggering_user_name,
        conf=conf or {},
        data_interval_start=data_interval[0] if data_interval else None,
        data_interval_end=data_interval[1] if data_interval else None,
        created_dag_version_id=dag_version_id,
        bundle_version=_bundle_for_new_run(conn),
        clear_number=0,
        note=note,
        updated_at=now,
        creating_job_id=creating_job_id,
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
