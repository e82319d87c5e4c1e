"""trigger: what deferred task instances wait for, and the state changes the triggerer makes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from .tables import task_instance as TI, trigger
from .types import utcnow

# Bumped on every new deferral in this process, so the triggerer can skip its query when nothing changed
# (another process's deferrals are still found by the triggerer's periodic look).
generation = 0


def create(conn: Connection, classpath: str, kwargs) -> int:
    return conn.execute(trigger.insert().values(
        classpath=classpath, kwargs=kwargs, created_date=utcnow())).inserted_primary_key[0]


def defer_ti(conn: Connection, ti_id: str, *, trigger_id: int, next_method: str, next_kwargs,
             timeout_at: dt.datetime | None) -> bool:
    global generation
    generation += 1
    return conn.execute(update(TI).where(TI.c.id == ti_id, TI.c.state == "running").values(
        state="deferred", trigger_id=trigger_id, next_method=next_method, next_kwargs=next_kwargs,
        trigger_timeout=timeout_at, updated_at=utcnow())).rowcount == 1


def waiting(conn: Connection, ti_filter=None):
    """Triggers some deferred task instance still waits for: (id, classpath, kwargs). `ti_filter(now)`, when
    given, is a condition on those task instances (which runs this triggerer serves: store/held_runs.py)."""
    deferred = select(TI.c.trigger_id).where(TI.c.state == "deferred", TI.c.trigger_id.is_not(None))
    if ti_filter is not None:
        deferred = deferred.where(ti_filter(utcnow()))
    return conn.execute(
        select(trigger.c.id, trigger.c.classpath, trigger.c.kwargs)
        .where(trigger.c.id.in_(deferred))
        .order_by(trigger.c.id)).all()


def tis_of_trigger(conn: Connection, trigger_id: int):
    return conn.execute(select(TI.c.id, TI.c.dag_id, TI.c.run_id, TI.c.next_kwargs)
                        .where(TI.c.trigger_id == trigger_id, TI.c.state == "deferred")).all()


def fire(conn: Connection, trigger_id: int, payload) -> list[tuple[str, str]]:
    """The trigger's event resumes its task instances: scheduled again (same try), `event` in next_kwargs."""
    now = utcnow()
    resumed = []
    for ti in tis_of_trigger(conn, trigger_id):
        kwargs = dict(ti.next_kwargs or {}) if isinstance(ti.next_kwargs, dict) else {}
        kwargs["event"] = payload
        conn.execute(update(TI).where(TI.c.id == ti.id, TI.c.state == "deferred").values(
            state="scheduled", trigger_id=None, trigger_timeout=None, next_kwargs=kwargs,
            scheduled_dttm=now, updated_at=now))
        resumed.append((ti.dag_id, ti.run_id))
    return resumed


def end_tis(conn: Connection, trigger_id: int, state: str, xcoms: dict | None = None) -> list[tuple[str, str]]:
    """A task-end event (`end_from_trigger`): the task instances finish in `state` without resuming."""
    from . import xcoms as xcom_store

    now = utcnow()
    rows = conn.execute(select(TI.c.id, TI.c.dag_id, TI.c.run_id, TI.c.task_id, TI.c.map_index, TI.c.start_date)
                        .where(TI.c.trigger_id == trigger_id, TI.c.state == "deferred")).all()
    for ti in rows:
        for key, value in (xcoms or {}).items():
            xcom_store.set(conn, ti.dag_id, ti.run_id, ti.task_id, str(key), value, ti.map_index)
        conn.execute(update(TI).where(TI.c.id == ti.id, TI.c.state == "deferred").values(
            state=state, trigger_id=None, trigger_timeout=None, next_method=None, next_kwargs=None,
            end_date=now, duration=(now - ti.start_date).total_seconds() if ti.start_date else None,
            updated_at=now))
    return [(r.dag_id, r.run_id) for r in rows]


def time_out(conn: Connection, now: dt.datetime, ti_filter=None) -> list[tuple[str, str]]:
    """Deferred task instances past their trigger timeout resume in `execute_complete`'s place with
    `next_method="__fail__"`, as Airflow does, so the task fails (or retries) with a timeout error."""
    query = select(TI.c.id, TI.c.dag_id, TI.c.run_id).where(
        TI.c.state == "deferred", TI.c.trigger_timeout.is_not(None), TI.c.trigger_timeout < now)
    rows = conn.execute(query.where(ti_filter(now)) if ti_filter is not None else query).all()
    for ti in rows:
        conn.execute(update(TI).where(TI.c.id == ti.id, TI.c.state == "deferred").values(
            state="scheduled", trigger_id=None, trigger_timeout=None, next_method="__fail__",
            next_kwargs={"error": "Trigger timeout"}, scheduled_dttm=now, updated_at=now))
    return [(r.dag_id, r.run_id) for r in rows]


def fail_trigger(conn: Connection, trigger_id: int, error: str) -> list[tuple[str, str]]:
    """A trigger that crashed: its task instances resume into `__fail__` with the error."""
    now = utcnow()
    rows = tis_of_trigger(conn, trigger_id)
    for ti in rows:
        conn.execute(update(TI).where(TI.c.id == ti.id, TI.c.state == "deferred").values(
            state="scheduled", trigger_id=None, trigger_timeout=None, next_method="__fail__",
            next_kwargs={"error": "Trigger failure", "traceback": error.splitlines()},
            scheduled_dttm=now, updated_at=now))
    return [(r.dag_id, r.run_id) for r in rows]


def clean_unused(conn: Connection) -> int:
    """Triggers no task instance points at any more."""
    used = select(TI.c.trigger_id).where(TI.c.trigger_id.is_not(None))
    return conn.execute(delete(trigger).where(trigger.c.id.not_in(used))).rowcount
