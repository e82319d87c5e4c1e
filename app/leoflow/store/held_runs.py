"""Runs a `leoflow dags test` process holds: it runs them in the home's own database, beside a lite or a server
that may be running on it, and only that process may schedule, queue, time out or recover their task instances.

Airflow 3.2 marks a `dags test` run `run_type="manual"`, `triggered_by="test"`; Leoflow adds the test process's
job (`creating_job_id`, Airflow's column). A run is held while that job is running and heart-beating; once the
process is gone (killed), the run is an ordinary one again and the home's scheduler treats what it left as it
treats what a killed lite left (zombies, retries). A process that ends on its own finishes its run first.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, or_, select

from .tables import dag_run, job

TRIGGERED_BY = "test"
# The test process's scheduler beats every few seconds (JOB_HEARTBEAT_INTERVAL); this much silence means gone.
ALIVE_SECONDS = 30.0


def _live_jobs(now: dt.datetime):
    return select(job.c.id).where(job.c.state == "running",
                                  job.c.latest_heartbeat >= now - dt.timedelta(seconds=ALIVE_SECONDS))


def held_clause(now: dt.datetime, dag_id_column, run_id_column):
    """SQL: the run named by these columns (a task instance's) is held by a live `dags test` process."""
    return exists().where(and_(dag_run.c.dag_id == dag_id_column, dag_run.c.run_id == run_id_column,
                               dag_run.c.triggered_by == TRIGGERED_BY,
                               dag_run.c.creating_job_id.in_(_live_jobs(now))))


def run_not_held(now: dt.datetime):
    """SQL on the dag_run table itself (a query that joins it): the run is not held. The live jobs are one
    uncorrelated subquery, so a window of 10,000 scheduled task instances costs no probe per row."""
    return or_(dag_run.c.triggered_by.is_(None), dag_run.c.triggered_by != TRIGGERED_BY,
               dag_run.c.creating_job_id.is_(None), dag_run.c.creating_job_id.not_in(_live_jobs(now)))


def is_held(conn, run, now: dt.datetime, *, by_job: int | None = None) -> bool:
    """Whether `run` (a dag_run row) is held by a live `dags test` process other than `by_job`. Costs no query
    for an ordinary run."""
    creator = getattr(run, "creating_job_id", None)
    if run.triggered_by != TRIGGERED_BY or creator is None or creator == by_job:
        return False
    return conn.execute(_live_jobs(now).where(job.c.id == creator)).first() is not None


def held_runs(conn, now: dt.datetime) -> set[tuple[str, str]]:
    """(dag_id, run_id) of every unfinished run a live `dags test` process holds."""
    rows = conn.execute(select(dag_run.c.dag_id, dag_run.c.run_id).where(
        dag_run.c.state.in_(("queued", "running")), dag_run.c.triggered_by == TRIGGERED_BY,
        dag_run.c.creating_job_id.in_(_live_jobs(now))))
    return {(r.dag_id, r.run_id) for r in rows}
