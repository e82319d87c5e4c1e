import datetime as dt

from leoflow.store.tables import job

from .conftest import reference


def test_health_shape_and_heartbeats(anon, services):
    now = dt.datetime.now(dt.timezone.utc)
    with services.engine.begin() as conn:
        conn.execute(job.insert(), [
            {"job_type": "SchedulerJob", "state": "running", "latest_heartbeat": now},
            {"job_type": "DagProcessorJob", "state": "running", "latest_heartbeat": now - dt.timedelta(minutes=5)},
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
    # No triggerer ever ran: Airflow reports no status rather than a failure.
    assert body["triggerer"] == {"status": None, "latest_triggerer_heartbeat": None}


def test_version_keys(anon):
    assert list(anon.get("/api/v2/version").json()) == list(reference("version.json"))
