"""/dagWarnings, /dagStats and /dagTags."""

import datetime as dt

import pytest

from leoflow.store import runs
from leoflow.store.tables import dag_run, dag_warning
from leoflow.store.types import utcnow

from .conftest import add_dag, make_client, login, reference, serialized


@pytest.fixture
def db_client(db_services):
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def test_dag_warnings_stats_and_tags(db_client, db_services):
    assert db_client.get("/api/v2/dagWarnings").json() == reference("dagwarnings.json")
    add_dag(db_services, serialized("other", tags=("anchor", "beta")))
    with db_services.engine.begin() as conn:
        conn.execute(dag_warning.insert().values(dag_id="xcom3", warning_type="non-existent pool",
                                                 message="Dag 'xcom3' references non-existent pools: ['gpu']",
                                                 timestamp=utcnow()))
        for i in range(3):
            runs.create_dag_run(conn, serialized(), dag_version_id=None, run_type="manual",
                                run_after=utcnow() + dt.timedelta(seconds=i), run_id=f"r{i}")
        conn.execute(dag_run.update().where(dag_run.c.run_id == "r0").values(state="success"))
    warnings = db_client.get("/api/v2/dagWarnings?warning_type=non-existent pool").json()
    assert warnings["total_entries"] == 1 and warnings["dag_warnings"][0]["dag_display_name"] == "xcom3"
    assert db_client.get("/api/v2/dagWarnings?warning_type=bad").status_code == 422

    stats = db_client.get("/api/v2/dagStats").json()
    ref = reference("dagstats.json")
    assert [s["state"] for s in stats["dags"][0]["stats"]] == [s["state"] for s in ref["dags"][0]["stats"]]
    assert stats["dags"] == [{"dag_id": "xcom3", "dag_display_name": "xcom3", "stats": [
        {"state": "queued", "count": 2}, {"state": "running", "count": 0}, {"state": "success", "count": 1},
        {"state": "failed", "count": 0}]}]
    assert db_client.get("/api/v2/dagStats?dag_ids=other").json() == {"dags": [], "total_entries": 0}

    assert db_client.get("/api/v2/dagTags").json() == {"tags": ["anchor", "beta"], "total_entries": 2}
    assert db_client.get("/api/v2/dagTags?tag_name_pattern=bet").json()["tags"] == ["beta"]
    assert db_client.get("/api/v2/dagTags?order_by=-name&limit=1").json() == {"tags": ["beta"], "total_entries": 2}
