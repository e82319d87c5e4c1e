import datetime as dt

from leoflow.store.tables import job

from .conftest import reference


def test_health_shape_and_heartbeats(anon, services):
    now = dt.datetime.now(dt.UTC)
    with services.engine.begin() as conn:
        conn.execute(job.insert(), [
            {"job_type": "SchedulerJob", "state": "running", "latest_heartbeat": now},
            {"job_type": "DagProcessorJob", "state": "running", "latest_heartbeat": now - dt.timedelta(minutes=5)},
            {"job_type": "TriggererJob", "state": "success", "latest_heartbeat": now},
        ])
    body = anon.get("/api/v2/monitor/health").json()
    ref = reference("monitor_health.json")
    assert list(body) == list(ref)
    for key in ref:
        assert list(body[key]) == list(ref[key])
    assert body["metadatabase"] == {"status": "healthy"}
    assert body["scheduler"]["status"] == "healthy"
    assert body["scheduler"]["latest_scheduler_heartbeat"] == now.isoformat()
    assert body["dag_processor"]["status"] == "unhealthy"
    # A job that ended cleanly is not alive, however recent its last beat.
    assert body["triggerer"]["status"] == "unhealthy"


def test_health_with_no_jobs(anon):
    body = anon.get("/api/v2/monitor/health").json()
    assert body["scheduler"] == {"status": "unhealthy", "latest_scheduler_heartbeat": None}
    # No triggerer or DAG processor ever ran: Airflow reports no status rather than a failure.
    assert body["triggerer"] == {"status": None, "latest_triggerer_heartbeat": None}
    assert body["dag_processor"] == {"status": None, "latest_dag_processor_heartbeat": None}


def test_version_keys(anon):
    assert list(anon.get("/api/v2/version").json()) == list(reference("version.json"))


def test_triggerer_follows_the_scheduler_it_runs_in(anon, services):
    now = dt.datetime.now(dt.UTC)
    with services.engine.begin() as conn:
        conn.execute(job.insert(), [{"job_type": "SchedulerJob", "state": "running", "latest_heartbeat": now}])
    body = anon.get("/api/v2/monitor/health").json()
    assert body["triggerer"] == {"status": "healthy", "latest_triggerer_heartbeat": now.isoformat()}
    with services.engine.begin() as conn:
        conn.execute(job.update().values(state="success"))
    body = anon.get("/api/v2/monitor/health").json()
    assert body["triggerer"]["status"] == "unhealthy"


def test_a_scheduler_that_cannot_run_tasks_is_unhealthy_and_says_why(anon, services):
    from tests.api import openapi_check

    now = dt.datetime.now(dt.UTC)
    with services.engine.begin() as conn:
        conn.execute(job.insert(), [{"job_type": "SchedulerJob", "state": "running", "latest_heartbeat": now}])
    services.problems["scheduler"] = "cannot run tasks: the fork server (pid 7) ended unexpectedly"
    body = anon.get("/api/v2/monitor/health").json()
    assert body["scheduler"] == {"status": "unhealthy", "latest_scheduler_heartbeat": now.isoformat(),
                                 "detail": "cannot run tasks: the fork server (pid 7) ended unexpectedly"}
    assert body["triggerer"]["status"] == "healthy"  # its own thread still works
    assert openapi_check.validate_response(openapi_check.public_doc(), ("GET", "/api/v2/monitor/health"),
                                           200, body) == []
    services.problems.clear()
    assert anon.get("/api/v2/monitor/health").json()["scheduler"]["status"] == "healthy"
