"""task_instance (+ task_instance_history): reads and the state changes the scheduler and Execution API make."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, bindparam, func, insert, or_, select, tuple_, update
from sqlalchemy.engine import Connection

from .tables import dag, dag_run, slot_pool, task_instance, task_instance_history, xcom
from .types import utcnow

TI = task_instance

FINISHED = ("success", "failed", "skipped", "upstream_failed", "removed")
ACTIVE = ("scheduled", "queued", "running")


def tis_of_run(conn: Connection, dag_id: str, run_id: str):
    return conn.execute(select(TI).where(TI.c.dag_id == dag_id, TI.c.run_id == run_id)).all()


# What the scheduler's rules read of a task instance, in rules.TIView's order: a 1,000-TI run is read on
# every decision, and decoding every column (JSON, dates) of every row was most of that cost.
DECISION_COLUMNS = (TI.c.id, TI.c.task_id, TI.c.state, TI.c.try_number, TI.c.max_tries, TI.c.end_date,
                    TI.c.map_index)
DECISION_STATE = 2  # where the state is in a decision row


BRANCH_KEY = "skipmixin_key"  # the XCom a branch or short-circuit task leaves: which downstream tasks it followed

# The statements every task's life runs several times are built once: building and keying a statement cost
# more CPU than SQLite took to run it.
_DECISION_ROWS = select(*DECISION_COLUMNS).where(TI.c.dag_id == bindparam("dag_id"), TI.c.run_id == bindparam("run_id"))
_DECISION_ROWS_WITH_BRANCHES = select(*DECISION_COLUMNS, xcom.c.key, xcom.c.value).select_from(TI.outerjoin(xcom, and_(
    xcom.c.dag_id == TI.c.dag_id, xcom.c.run_id == TI.c.run_id, xcom.c.task_id == TI.c.task_id,
    TI.c.map_index == -1, xcom.c.map_index == -1, xcom.c.key == BRANCH_KEY))).where(
    TI.c.dag_id == bindparam("dag_id"), TI.c.run_id == bindparam("run_id"))
_GET_TI = select(TI).where(TI.c.id == bindparam("ti_id"))
_TRY_OF = select(TI.c.start_date, TI.c.state, TI.c.try_number).where(TI.c.id == bindparam("ti_id"))
_UPDATE_TI = update(TI).where(TI.c.id == bindparam("ti_id"))  # SET: the columns given at execution
_QUEUE_TI = update(TI).where(TI.c.id == bindparam("ti_id"), TI.c.state == "scheduled")


def decision_rows_and_branches(conn: Connection, dag_id: str, run_id: str) -> tuple[list, dict]:
    """A run's decision rows and {task_id: value} of its branch results (`skipmixin_key` XComs).

    On Postgres one statement (a round trip there costs more than the join; every scheduling pass of a
    run reads both); on SQLite, whose statements cost microseconds, two, so that a 1,000-task run's rows
    are not joined on every pass."""
    params = {"dag_id": dag_id, "run_id": run_id}
    if conn.dialect.name != "postgresql":
        from .xcoms import values_of_key

        return conn.execute(_DECISION_ROWS, params).all(), values_of_key(conn, dag_id, run_id, BRANCH_KEY)
    width = len(DECISION_COLUMNS)
    rows, branches = [], {}
    for row in conn.execute(_DECISION_ROWS_WITH_BRANCHES, params):
        rows.append(row[:width])
        if row[width] is not None:
            branches[row.task_id] = row[width + 1]
    return rows, branches


def get_ti(conn: Connection, ti_id: str):
    return conn.execute(_GET_TI, {"ti_id": ti_id}).first()


def states_by_id(conn: Connection, ti_ids: list[str]) -> dict[str, str | None]:
    """{id: state} of the task instances that exist among `ti_ids`, in one statement."""
    if not ti_ids:
        return {}
    return dict(conn.execute(select(TI.c.id, TI.c.state).where(TI.c.id.in_(sorted(set(ti_ids))))).all())


def update_ti(conn: Connection, ti_id: str, **values) -> int:
    """Set columns of one task instance; the number of rows changed."""
    return conn.execute(_UPDATE_TI, {"ti_id": ti_id, **values}).rowcount


def get_ti_by_key(conn: Connection, dag_id: str, run_id: str, task_id: str, map_index: int = -1):
    return conn.execute(
        select(TI).where(TI.c.dag_id == dag_id, TI.c.run_id == run_id, TI.c.task_id == task_id, TI.c.map_index == map_index)
    ).first()


def record_history(conn: Connection, ti_id: str) -> None:
    """Keep the finished try in task_instance_history before the row starts a new one."""
    cols = [c for c in TI.c if c.name != "id"]
    conn.execute(
        insert(task_instance_history).from_select(
            ["task_instance_id", *[c.name for c in cols]],
            select(TI.c.id, *cols).where(TI.c.id == ti_id, TI.c.try_number > 0),
        )
    )


# The states the scheduler's rules decide from; its writes apply only to rows still in them, so a change
# another process committed meanwhile (a user marking a task, a clear) is never overwritten.
_UNDECIDED = TI.c.state.is_(None) | TI.c.state.in_(("none", ""))


def set_scheduled(conn: Connection, ti_ids: list[str], now: dt.datetime) -> None:
    """none/up_for_retry → scheduled, starting a new try."""
    if not ti_ids:
        return
    conn.execute(
        update(TI)
        .where(TI.c.id.in_(ti_ids), _UNDECIDED | (TI.c.state == "up_for_retry"))
        .values(state="scheduled", try_number=TI.c.try_number + 1, scheduled_dttm=now, updated_at=now,
                start_date=None, end_date=None, duration=None, hostname=None, pid=None, next_method=None,
                next_kwargs=None, last_heartbeat_at=None)
    )


def set_finished_without_running(conn: Connection, ti_ids: list[str], state: str, now: dt.datetime) -> None:
    """Rule outcomes that never run the task: upstream_failed, skipped."""
    if ti_ids:
        conn.execute(
            update(TI).where(TI.c.id.in_(ti_ids), _UNDECIDED)
            .values(state=state, start_date=now, end_date=now, duration=0.0, updated_at=now)
        )


def scheduled_candidates(conn: Connection, limit: int, *, pools: list[str] | None = None,
                         full_runs: list[tuple[str, str]] = (), only_run: tuple[str, str] | None = None):
    """Scheduled task instances of running runs, most important first.

    `pools` (those with a free slot) and `full_runs` (at their max_active_tasks) keep task
    instances that cannot start now out of the window, so they never starve the ones that can.
    Runs a `leoflow dags test` process holds are left out, unless `only_run` names the one run wanted
    (that process's own).
    """
    from .held_runs import run_not_held

    query = (
        select(TI.c.id, TI.c.dag_id, TI.c.run_id, TI.c.task_id, TI.c.map_index, TI.c.try_number,
               TI.c.pool, TI.c.pool_slots, TI.c.priority_weight, TI.c.dag_version_id, TI.c.queue,
               dag.c.max_active_tasks)  # the run's limit comes along: no query per DAG while choosing
        .join(dag_run, (dag_run.c.dag_id == TI.c.dag_id) & (dag_run.c.run_id == TI.c.run_id))
        .outerjoin(dag, dag.c.dag_id == TI.c.dag_id)
        .where(TI.c.state == "scheduled", dag_run.c.state == "running")
    )
    if only_run is not None:
        query = query.where(TI.c.dag_id == only_run[0], TI.c.run_id == only_run[1])
    else:
        query = query.where(run_not_held(utcnow()))
    if pools is not None:
        query = query.where(TI.c.pool.in_(pools))
    if full_runs:
        query = query.where(tuple_(TI.c.dag_id, TI.c.run_id).not_in(list(full_runs)))
    return conn.execute(query.order_by(TI.c.priority_weight.desc(), TI.c.scheduled_dttm).limit(limit)).all()


# A pool's slots and what queued and running tries hold of them, in one query.
_POOL_ROOM = select(slot_pool.c.pool, slot_pool.c.slots, func.coalesce(
    select(func.sum(TI.c.pool_slots)).where(TI.c.pool == slot_pool.c.pool, TI.c.state.in_(("queued", "running")))
    .scalar_subquery(), 0))
# Active tries per run, with the DAG's max_active_tasks.
_ACTIVE_BY_RUN = (select(TI.c.dag_id, TI.c.run_id, func.count(), dag.c.max_active_tasks)
                  .outerjoin(dag, dag.c.dag_id == TI.c.dag_id).where(TI.c.state.in_(("queued", "running")))
                  .group_by(TI.c.dag_id, TI.c.run_id, dag.c.max_active_tasks))
_ANY_SCHEDULED = select(TI.c.id).where(TI.c.state == "scheduled").limit(1)


def any_scheduled(conn: Connection) -> bool:
    return conn.execute(_ANY_SCHEDULED).first() is not None


def pool_room(conn: Connection) -> dict[str, tuple[int, int]]:
    """pool -> (its slots, the slots queued and running tries hold), for the pools that exist."""
    return {pool: (slots, int(used or 0)) for pool, slots, used in conn.execute(_POOL_ROOM).all()}


def active_count_by_run(conn: Connection) -> dict[tuple[str, str], tuple[int, int | None]]:
    """(dag_id, run_id) -> (its queued and running tries, the DAG's max_active_tasks)."""
    return {(d, r): (n, limit) for d, r, n, limit in conn.execute(_ACTIVE_BY_RUN).all()}


def active_count_by_task(conn: Connection) -> tuple[dict, dict]:
    """Queued/running instances per (dag, task) and per (dag, run, task): max_active_tis_per_dag(run)."""
    rows = conn.execute(
        select(TI.c.dag_id, TI.c.run_id, TI.c.task_id, func.count()).where(TI.c.state.in_(("queued", "running")))
        .group_by(TI.c.dag_id, TI.c.run_id, TI.c.task_id)
    ).all()
    per_task: dict[tuple[str, str], int] = {}
    per_run: dict[tuple[str, str, str], int] = {}
    for dag_id, run_id, task_id, n in rows:
        per_task[(dag_id, task_id)] = per_task.get((dag_id, task_id), 0) + n
        per_run[(dag_id, run_id, task_id)] = n
    return per_task, per_run


def set_queued(conn: Connection, ti_id: str, job_id: int | None, executor: str, now: dt.datetime) -> bool:
    return conn.execute(_QUEUE_TI, {"ti_id": ti_id, "state": "queued", "queued_dttm": now, "queued_by_job_id": job_id,
                                    "executor": executor, "updated_at": now}).rowcount == 1


def start_try(conn: Connection, ti_id: str, expected_state: str, try_number: int, **values) -> bool:
    """Mark the try running if the row is still in `expected_state` and `try_number` (compare-and-set)."""
    return conn.execute(update(TI).where(TI.c.id == ti_id, TI.c.state == expected_state,
                                         TI.c.try_number == try_number)
                        .values(state="running", **values)).rowcount == 1


def finish_try(conn: Connection, ti_id: str, state: str, now: dt.datetime | None = None, *,
               only_if: tuple[str, ...] = ("queued", "running"), try_number: int | None = None,
               current=None) -> bool:
    """End the current try in `state` (success, failed, up_for_retry, skipped) if it is still active.
    `current`: the row as this transaction already read it (its state, try_number and start_date)."""
    now = now or utcnow()
    row = current if current is not None else conn.execute(_TRY_OF, {"ti_id": ti_id}).first()
    if row is None or row.state not in only_if or (try_number is not None and row.try_number != try_number):
        return False
    duration = (now - row.start_date).total_seconds() if row.start_date else None
    # Compare-and-set: another process (a server replica, a task's own report) may have ended this try
    # since the read above; then this one changes nothing.
    changed = conn.execute(update(TI).where(TI.c.id == ti_id, TI.c.state.in_(only_if),
                                            TI.c.try_number == row.try_number)
                           .values(state=state, end_date=now, duration=duration, updated_at=now,
                                   start_date=row.start_date or now))
    return changed.rowcount == 1


# What ending a try needs: its log's path, its retries, and where its process ran.
_TRY_COLUMNS = (TI.c.id, TI.c.dag_id, TI.c.run_id, TI.c.task_id, TI.c.map_index, TI.c.try_number, TI.c.max_tries,
                TI.c.hostname, TI.c.pid, TI.c.start_date)


def stale_running(conn: Connection, older_than: dt.datetime):
    """Running task instances whose runner stopped heart-beating: zombies."""
    return conn.execute(
        select(*_TRY_COLUMNS).where(
            TI.c.state == "running",
            func.coalesce(TI.c.last_heartbeat_at, TI.c.start_date, TI.c.queued_dttm) < older_than)
    ).all()


def active_tis_of_other_jobs(conn: Connection, job_id: int):
    """Queued/running/restarting task instances a previous process handed out (lite start-up recovery)."""
    return conn.execute(
        select(*_TRY_COLUMNS, TI.c.state).where(
            TI.c.state.in_(("queued", "running", "restarting")),
            (TI.c.queued_by_job_id != job_id) | TI.c.queued_by_job_id.is_(None))
    ).all()


# Executors whose tries live in a table of their own and outlive the scheduler that queued them (agents):
# a scheduler that stops or dies leaves those to the next leader.
DETACHED_EXECUTORS = ("AgentExecutor",)


def _not_detached():
    return or_(TI.c.executor.is_(None), TI.c.executor.not_in(DETACHED_EXECUTORS))


def active_tis_of_job(conn: Connection, job_id: int):
    """Queued/running task instances this scheduler handed out (what is left at shutdown)."""
    return conn.execute(
        select(*_TRY_COLUMNS, TI.c.state, TI.c.executor).where(TI.c.state.in_(("queued", "running")),
                                                               TI.c.queued_by_job_id == job_id, _not_detached())
    ).all()


def queued_by_gone_schedulers(conn: Connection, older_than: dt.datetime) -> list[str]:
    """Ids of task instances still `queued` by a scheduler that ended or stopped heart-beating: the
    process that would have run them is gone (a server replica that died between queueing and starting)."""
    from .tables import job

    gone = select(job.c.id).where((job.c.state != "running") | (job.c.latest_heartbeat < older_than))
    return list(conn.execute(select(TI.c.id).where(
        TI.c.state == "queued", TI.c.queued_by_job_id.in_(gone), _not_detached(),
        func.coalesce(TI.c.queued_dttm, TI.c.updated_at) < older_than)).scalars())


def queued_too_long(conn: Connection, older_than: dt.datetime):
    """Task instances queued before `older_than` and never started (Airflow's task_queued_timeout)."""
    return conn.execute(
        select(TI.c.id, TI.c.dag_id, TI.c.run_id, TI.c.task_id, TI.c.map_index, TI.c.try_number, TI.c.max_tries,
               TI.c.hostname, TI.c.pid, TI.c.start_date)
        .where(TI.c.state == "queued", TI.c.queued_dttm < older_than)).all()


def reset_to_scheduled(conn: Connection, ti_id: str) -> None:
    conn.execute(update(TI).where(TI.c.id == ti_id, TI.c.state == "queued")
                 .values(state="scheduled", queued_dttm=None, queued_by_job_id=None, updated_at=utcnow()))


def restart_cleared(conn: Connection, ti_id: str) -> None:
    """A task instance cleared while running (`restarting`) whose process has ended waits to run again."""
    conn.execute(update(TI).where(TI.c.id == ti_id, TI.c.state == "restarting")
                 .values(state=None, updated_at=utcnow()))


def stale_restarting(conn: Connection, older_than: dt.datetime) -> list[str]:
    """Ids of cleared-while-running task instances whose runner has stopped heart-beating."""
    return list(conn.execute(
        select(TI.c.id).where(TI.c.state == "restarting",
                              func.coalesce(TI.c.last_heartbeat_at, TI.c.start_date, TI.c.updated_at) < older_than)
    ).scalars())


def expand_mapped(conn: Connection, placeholder_id: str, task: dict, length: int, now: dt.datetime) -> None:
    """A mapped task's one unexpanded instance (map_index -1) becomes map indexes 0..length-1."""
    from .runs import new_ti_row

    row = get_ti(conn, placeholder_id)
    if row is None or row.map_index != -1 or length <= 0:
        return
    conn.execute(update(TI).where(TI.c.id == placeholder_id).values(map_index=0, updated_at=now))
    rows = [new_ti_row(row.dag_id, row.run_id, task, row.dag_version_id, now, map_index=i) for i in range(1, length)]
    if rows:
        conn.execute(insert(TI), rows)


def past_states(conn: Connection, dag_id: str, run_id: str, task_ids: list[str]) -> dict[tuple[str, int], str | None]:
    """States of `task_ids` in the run before `run_id` (by logical date, else run_after): for depends_on_past."""
    this = conn.execute(select(dag_run.c.logical_date, dag_run.c.run_after)
                        .where(dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id)).first()
    if this is None or not task_ids:
        return {}
    when = this.logical_date or this.run_after
    order = func.coalesce(dag_run.c.logical_date, dag_run.c.run_after)
    prev = conn.execute(select(dag_run.c.run_id).where(dag_run.c.dag_id == dag_id, order < when)
                        .order_by(order.desc()).limit(1)).scalar()
    if prev is None:
        return {}
    rows = conn.execute(select(TI.c.task_id, TI.c.map_index, TI.c.state).where(
        TI.c.dag_id == dag_id, TI.c.run_id == prev, TI.c.task_id.in_(task_ids))).all()
    return {(r.task_id, r.map_index): r.state for r in rows}


def set_priority(conn: Connection, ti_id: str, weight: int) -> None:
    conn.execute(update(TI).where(TI.c.id == ti_id).values(priority_weight=int(weight)))
