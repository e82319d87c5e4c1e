"""job: one row per running component, heart-beating, so health and recovery can tell who is alive."""

from __future__ import annotations

import getpass

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ..config import hostname
from .tables import job
from .types import utcnow


def start_job(engine: Engine, job_type: str, executor_class: str | None = None) -> int:
    now = utcnow()
    with engine.begin() as conn:
        return conn.execute(job.insert().values(
            job_type=job_type, state="running", start_date=now, latest_heartbeat=now,
            executor_class=executor_class, hostname=hostname(), unixname=getpass.getuser(),
        )).inserted_primary_key[0]


def latest_jobs(conn) -> dict[str, tuple]:
    """job_type -> (latest heartbeat, state) of the job of that type that beat last."""
    out: dict[str, tuple] = {}
    for row in conn.execute(select(job.c.job_type, job.c.latest_heartbeat, job.c.state)
                            .where(job.c.latest_heartbeat.is_not(None))):
        if row.job_type not in out or row.latest_heartbeat > out[row.job_type][0]:
            out[row.job_type] = (row.latest_heartbeat, row.state)
    return out


def live_jobs(conn, since) -> list:
    """Running jobs that beat since `since`: every live scheduler, DAG processor and triggerer, with host."""
    return conn.execute(select(job.c.id, job.c.job_type, job.c.hostname, job.c.latest_heartbeat)
                        .where(job.c.state == "running", job.c.latest_heartbeat >= since)
                        .order_by(job.c.job_type, job.c.id)).all()


def lease_holders(conn) -> dict[str, int]:
    """Lease name ("scheduler", "triggerer") -> the job id holding it now (server mode)."""
    from sqlalchemy import func

    from .tables import scheduler_lease

    rows = conn.execute(select(scheduler_lease.c.name, scheduler_lease.c.holder_job_id)
                        .where(scheduler_lease.c.expires_at > func.now())).all()
    return {r.name: r.holder_job_id for r in rows}


def heartbeat(engine: Engine, job_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(job).where(job.c.id == job_id).values(latest_heartbeat=utcnow()))


def end_job(engine: Engine, job_id: int, state: str = "success") -> None:
    with engine.begin() as conn:
        conn.execute(update(job).where(job.c.id == job_id).values(state=state, end_date=utcnow()))
