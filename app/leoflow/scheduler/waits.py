"""What the scheduler checks for a run before the trigger rules: sensors due again, dagrun_timeout.

Plain functions over one run in one transaction; `loop.Scheduler.evaluate_run` calls `before_decide`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update

from ..store import reschedules
from ..store.tables import task_instance as TI

UNFINISHED = ("scheduled", "queued", "running", "up_for_retry", "up_for_reschedule", "deferred", "restarting")


@dataclass
class Hold:
    next_check: dt.datetime | None = None  # when this run needs looking at again
    timed_out: bool = False  # dagrun_timeout passed: the run has been failed
    rescheduled: bool = False  # sensors due again were set scheduled: task instances read before are stale


def run_deadline(serialized: dict, run, now: dt.datetime) -> dt.datetime | None:
    timeout = serialized.get("dagrun_timeout")
    if not timeout:
        return None
    # A run read before it was started this pass starts now.
    return (run.start_date or now) + dt.timedelta(seconds=float(timeout))


def before_decide(conn, serialized: dict, run, now: dt.datetime, *, poking: bool = True) -> Hold:
    """`poking`: some task instance of the run is up_for_reschedule (False spares the query for due ones)."""
    hold = Hold()
    deadline = run_deadline(serialized, run, now)
    if deadline is not None and deadline <= now:
        # As Airflow: unfinished task instances are skipped (running ones see it at their next heartbeat)
        conn.execute(update(TI).where(TI.c.dag_id == run.dag_id, TI.c.run_id == run.run_id,
                                      (TI.c.state.is_(None)) | TI.c.state.in_(UNFINISHED))
                     .values(state="skipped", end_date=now, updated_at=now, trigger_id=None))
        hold.timed_out = True
        return hold
    ready, soonest = reschedules.due(conn, run.dag_id, run.run_id, now) if poking else ([], None)
    reschedules.set_rescheduled(conn, ready, now)
    hold.rescheduled = bool(ready)
    hold.next_check = min(d for d in (soonest, deadline) if d is not None) if (soonest or deadline) else None
    return hold


def merge_wakeup(wakeups: dict, key, when: dt.datetime | None) -> None:
    if when is not None and (key not in wakeups or when < wakeups[key]):
        wakeups[key] = when
