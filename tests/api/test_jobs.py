"""/jobs: the heart-beating components, with is_alive and filters."""

import datetime as dt

import pytest

from leoflow.store.tables import job
from leoflow.store.types import utcnow

from .conftest import make_client, login, reference


@pytest.fixture
def db_client(db_services):
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def test_jobs(db_client, db_services):
    now = utcnow()
    with db_services.engine.begin() as conn:
        conn.execute(job.insert(), [
            {"job_type": "SchedulerJob", "state": "running", "start_date": now, "latest_heartbeat": now,
             "hostname": "vm", "unixname": "root"},
            {"job_type": "DagProcessorJob", "state": "running", "start_date": now,
             "latest_heartbeat": now - dt.timedelta(minutes=10), "hostname": "vm", "unixname": "root"},
        ])
    body = db_client.get("/api/v2/jobs").json()
    assert body["total_entries"] == 2
    assert list(body["jobs"][0]) == list(reference("jobs.json")["jobs"][0])
    alive = db_client.get("/api/v2/jobs?is_alive=true").json()["jobs"]
    assert [j["job_type"] for j in alive] == ["SchedulerJob"]
    assert db_client.get("/api/v2/jobs?job_type=DagProcessorJob").json()["total_entries"] == 1
    assert db_client.get("/api/v2/jobs?is_alive=maybe").status_code == 422
