"""GET /monitor/health and /version: public, as in Airflow."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import SQLAlchemyError

# Only the store here: lite answers health with this before the rest of the API is imported.
from ..store.jobs import latest_jobs, lease_holders, live_jobs

VERSION = "3.2.1"  # the Airflow API version Leoflow serves
HEARTBEAT_LIMIT = dt.timedelta(seconds=30)  # Airflow's scheduler_health_check_threshold

# body key -> (job_type in the job table, heartbeat field, status when no such job ever ran)
_COMPONENTS = {
    "scheduler": ("SchedulerJob", "latest_scheduler_heartbeat", "unhealthy"),
    "triggerer": ("TriggererJob", "latest_triggerer_heartbeat", None),
    "dag_processor": ("DagProcessorJob", "latest_dag_processor_heartbeat", None),
}


def health(services, request):
    database = "healthy"
    now = dt.datetime.now(dt.UTC)
    instances, leaders = [], {}
    try:
        with services.engine.connect() as conn:
            jobs = latest_jobs(conn)
            if getattr(services, "mode", "lite") == "server":
                instances = live_jobs(conn, now - HEARTBEAT_LIMIT)
                leaders = lease_holders(conn)
    except SQLAlchemyError:
        database, jobs = "unhealthy", {}
    body = {"metadatabase": {"status": database}}
    for key, (job_type, field, never) in _COMPONENTS.items():
        beat, state = jobs.get(job_type, (None, None))
        if key == "triggerer" and beat is None:
            # Leoflow's triggerer is a thread of the scheduler (lite and server): alive when it is.
            beat, state = jobs.get("SchedulerJob", (None, None))
        if beat is None:
            status = never if database == "healthy" else "unhealthy"
        else:
            # A job that stopped cleanly is not alive even if its last beat is recent.
            status = "healthy" if state == "running" and now - beat <= HEARTBEAT_LIMIT else "unhealthy"
        # Airflow writes these with isoformat(), not the API's `Z` format.
        body[key] = {"status": status, field: beat.isoformat() if beat else None}
        if getattr(services, "mode", "lite") == "server":  # every live one, for operators of several replicas
            lease = {"scheduler": "scheduler", "triggerer": "triggerer", "dag_processor": "dag-processor"}[key]
            body[key]["instances"] = [
                {"job_id": j.id, "hostname": j.hostname, "latest_heartbeat": j.latest_heartbeat.isoformat(),
                 "leader": leaders.get(lease) == j.id}
                for j in instances if j.job_type == job_type]
        problem = getattr(services, "problems", {}).get(key)
        if problem:  # alive, but unable to do its work (no fork server to run tasks); the schema allows more keys
            body[key]["status"] = "unhealthy"
            body[key]["detail"] = problem
    return body


def version(services, request):
    return {"version": VERSION, "git_version": None}


ROUTES = [
    ("/monitor/health", ["GET"], health, "public"),
    ("/version", ["GET"], version, "public"),
]
