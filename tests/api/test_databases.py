"""The main API flow on every database Leoflow supports (Postgres when LEOFLOW_TEST_POSTGRES_URL is set)."""

from leoflow.store import runs as store_runs
from leoflow.store.tables import xcom
from leoflow.store.types import utcnow

from .conftest import add_dag, login, make_client, reference, serialized


def test_api_flow(db_services):
    svc = db_services
    add_dag(svc, serialized("bash1", tags=("anchor", "bash")))
    with make_client(svc) as client:
        assert client.get("/api/v2/dags").status_code == 401
        client.headers.update(login(client))

        dags = client.get("/api/v2/dags", params={"tags": ["bash"], "dag_id_pattern": "BASH"}).json()
        assert [d["dag_id"] for d in dags["dags"]] == ["bash1"]
        assert client.patch("/api/v2/dags/bash1", json={"is_paused": True}).json()["is_paused"] is True
        assert client.get("/api/v2/dags", params={"paused": True}).json()["total_entries"] == 1

        run = client.post("/api/v2/dags/xcom3/dagRuns",
                          json={"logical_date": "2026-01-01T00:00:00Z", "dag_run_id": "r1", "conf": {"k": "v"}})
        assert run.status_code == 200 and list(run.json()) == list(reference("dagrun_xcom3_one.json"))
        again = client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": None, "dag_run_id": "r1"})
        assert again.status_code == 409
        runs = client.get("/api/v2/dags/~/dagRuns", params={"conf_contains": "k", "order_by": "-run_after"}).json()
        assert [r["dag_run_id"] for r in runs["dag_runs"]] == ["r1"]
        assert client.get("/api/v2/dags/xcom3/dagRuns", params={"logical_date_gte": "2026-01-01T00:00:00Z"}
                          ).json()["total_entries"] == 1

        tis = client.get("/api/v2/dags/xcom3/dagRuns/r1/taskInstances").json()
        assert tis["total_entries"] == 3
        assert client.get("/api/v2/dags/xcom3/dagRuns/r1/taskInstances/load").json()["logical_date"] == \
            "2026-01-01T00:00:00Z"

        with svc.engine.begin() as conn:
            pk = store_runs.get_run(conn, "xcom3", "r1").id
            conn.execute(xcom.insert().values(dag_run_id=pk, task_id="load", map_index=-1, key="k", dag_id="xcom3",
                                              run_id="r1", value=[1, "two"], timestamp=utcnow()))
        entry = client.get("/api/v2/dags/xcom3/dagRuns/r1/taskInstances/load/xcomEntries/k").json()
        assert entry["value"] == [1, "two"]
        assert client.get("/api/v2/importErrors").json()["total_entries"] == 0
        assert client.get("/api/v2/monitor/health").json()["metadatabase"] == {"status": "healthy"}
