"""task_reschedule: one row per poke of a sensor in reschedule mode."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from .tables import task_instance as TI, task_reschedule
from .types import utcnow


def reschedule_ti(conn: Connection, ti_id: str, *, start_date: dt.datetime | None, end_date: dt.datetime,
                  reschedule_date: dt.datetime) -> bool:
    """running → up_for_reschedule, keeping the poke in task_reschedule. The try number stays."""
    start = start_date or end_date
    conn.execute(task_reschedule.insert().values(
        ti_id=ti_id, start_date=start, end_date=end_date,
        duration=int((end_date - start).total_seconds()), reschedule_date=reschedule_date))
    return conn.execute(update(TI).where(TI.c.id == ti_id, TI.c.state == "running").values(
        state="up_for_reschedule", end_date=end_date, duration=(end_date - start).total_seconds(),
        next_method=None, next_kwargs=None, updated_at=utcnow())).rowcount == 1


# Built once: every task start counts its reschedules, every run decision looks for due ones.
_COUNT = select(func.count()).select_from(task_reschedule).where(task_reschedule.c.ti_id == bindparam("ti_id"))
_LATEST = (select(task_reschedule.c.ti_id, func.max(task_reschedule.c.reschedule_date).label("at"))
           .group_by(task_reschedule.c.ti_id).subquery())
_DUE = (select(TI.c.id, _LATEST.c.at).select_from(TI).outerjoin(_LATEST, _LATEST.c.ti_id == TI.c.id)
        .where(TI.c.dag_id == bindparam("dag_id"), TI.c.run_id == bindparam("run_id"),
               TI.c.state == "up_for_reschedule"))


def count(conn: Connection, ti_id: str) -> int:
    return conn.execute(_COUNT, {"ti_id": ti_id}).scalar() or 0


def first_start_date(conn: Connection, ti_id: str) -> dt.datetime | None:
    """When the sensor first poked: its `timeout` counts from here across reschedules."""
    return conn.execute(select(task_reschedule.c.start_date).where(task_reschedule.c.ti_id == ti_id)
                        .order_by(task_reschedule.c.id.asc()).limit(1)).scalar()


def due(conn: Connection, dag_id: str, run_id: str, now: dt.datetime) -> tuple[list[str], dt.datetime | None]:
    """Rescheduled task instances of a run whose date has come, and the soonest date still ahead."""
    rows = conn.execute(_DUE, {"dag_id": dag_id, "run_id": run_id}).all()
    ready, soonest = [], None
    for row in rows:
        if row.at is None or row.at <= now:
            ready.append(row.id)
        elif soonest is None or row.at < soonest:
            soonest = row.at
    return ready, soonest


def set_rescheduled(conn: Connection, ti_ids: list[str], now: dt.datetime) -> None:
    """up_for_reschedule → scheduled: the same try pokes again."""
    if ti_ids:
        conn.execute(update(TI).where(TI.c.id.in_(ti_ids), TI.c.state == "up_for_reschedule").values(
            state="scheduled", scheduled_dttm=now, updated_at=now, end_date=None, hostname=None, pid=None))


def clear(conn: Connection, ti_id: str) -> None:
    """A new try (retry or clear) starts counting its sensor timeout afresh."""
    conn.execute(task_reschedule.delete().where(task_reschedule.c.ti_id == ti_id))
