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


def test_actions_flow(db_services):
    """Marking, clearing, batch lists, favourites, XCom writes, HITL and deletes on each database."""
    import datetime as dt

    from leoflow.store.tables import hitl_detail

    from .seed import T0, add_mapped, run_with_states, states, ti_row

    svc = db_services
    with make_client(svc) as client:
        client.headers.update(login(client))
        run_id = run_with_states(client, svc, {"extract": "success", "transform": "failed", "load": "upstream_failed"},
                                 logical_date=T0)
        later = run_with_states(client, svc, {"transform": "failed"}, logical_date=T0 + dt.timedelta(days=1))
        base = f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances"

        assert client.get("/api/v2/dags", params={"last_dag_run_state": "failed",
                                                  "order_by": "-last_run_start_date"}).json()["total_entries"] == 1
        cleared = client.post("/api/v2/dags/xcom3/clearTaskInstances",
                              json={"dry_run": False, "dag_run_id": run_id, "task_ids": ["transform"],
                                    "include_downstream": True, "include_future": True}).json()
        assert {(t["dag_run_id"], t["task_id"]) for t in cleared["task_instances"]} == {
            (run_id, "transform"), (run_id, "load"), (later, "transform")}
        assert states(svc, run_id) == {"extract": "success", "transform": None, "load": None}

        marked = client.patch(f"{base}/transform", json={"new_state": "success", "note": "by hand"})
        assert marked.status_code == 200, marked.text
        assert client.get(f"{base}/transform").json()["note"] == "by hand"

        add_mapped(svc, run_id, task_id="load")
        mapped = client.get(f"{base}/load/listMapped", params={"order_by": "-map_index"}).json()
        assert [t["map_index"] for t in mapped["task_instances"]] == [2, 1, 0]
        assert [t["try_number"] for t in client.get(f"{base}/load/0/tries").json()["task_instances"]] == [1, 2]

        batch = client.post("/api/v2/dags/~/dagRuns/list", json={"states": ["queued"], "duration_gte": 0,
                                                                 "order_by": "-duration"}).json()
        assert batch["total_entries"] >= 0
        tis = client.post("/api/v2/dags/~/dagRuns/~/taskInstances/list",
                          json={"dag_ids": ["xcom3"], "state": [None, "success"], "order_by": "-start_date"}).json()
        assert tis["total_entries"] >= 4

        assert client.post("/api/v2/dags/xcom3/favorite").status_code == 204
        assert client.get("/api/v2/dags", params={"is_favorite": True}).json()["total_entries"] == 1
        made = client.post(f"{base}/extract/xcomEntries", json={"key": "k", "value": {"a": [1]}})
        assert made.status_code == 201 and made.json()["value"] == {"a": [1]}
        assert client.patch(f"{base}/extract/xcomEntries/k", json={"value": 2}).json()["value"] == 2

        ti = ti_row(svc, run_id, "extract")
        with svc.engine.begin() as conn:
            conn.execute(hitl_detail.insert().values(ti_id=ti.id, options=["Yes", "No"], subject="Go?", params={},
                                                     created_at=T0, params_input={}))
        answered = client.patch(f"{base}/extract/-1/hitlDetails", json={"chosen_options": ["Yes"]})
        assert answered.status_code == 200, answered.text
        found = client.get("/api/v2/dags/~/dagRuns/~/hitlDetails",
                           params={"response_received": True, "responded_by_user_name": "admin"}).json()
        assert found["total_entries"] == 1

        assert client.delete(f"/api/v2/dags/xcom3/dagRuns/{later}").status_code == 204
        assert client.delete("/api/v2/dags/xcom3").status_code == 204
        assert client.get("/api/v2/dags/xcom3").status_code == 404
