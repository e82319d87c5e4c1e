import datetime as dt

from .conftest import add_dag, reference, serialized


def trigger(client, dag_id="xcom3", **body):
    body.setdefault("logical_date", None)
    return client.post(f"/api/v2/dags/{dag_id}/dagRuns", json=body)


def test_trigger_body_matches_reference(client, services):
    resp = trigger(client)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    ref = reference("dagrun_xcom3_one.json")
    assert list(body) == list(ref)
    assert list(body["dag_versions"][0]) == list(ref["dag_versions"][0])
    assert body["run_type"] == "manual" and body["state"] == "queued"
    assert body["triggered_by"] == "rest_api" and body["triggering_user_name"] == "admin"
    assert body["logical_date"] is None and body["conf"] == {}
    assert body["dag_run_id"].startswith("manual__") and body["queued_at"].endswith("Z")
    events = services.bus.wait("leoflow:scheduler:wake", 0.1)
    assert {"kind": "run_created", "dag_id": "xcom3", "run_id": body["dag_run_id"]} in events
    # Each task got a task instance with no state yet.
    tis = client.get(f"/api/v2/dags/xcom3/dagRuns/{body['dag_run_id']}/taskInstances").json()
    assert tis["total_entries"] == 3 and {t["state"] for t in tis["task_instances"]} == {None}


def test_trigger_with_everything(client):
    resp = trigger(client, dag_run_id="my_run", logical_date="2026-01-02T03:04:05Z", conf={"a": 1},
                   note="hello", run_after="2026-01-02T03:04:05+00:00")
    body = resp.json()
    assert resp.status_code == 200
    assert body["dag_run_id"] == "my_run" and body["conf"] == {"a": 1} and body["note"] == "hello"
    assert body["logical_date"] == "2026-01-02T03:04:05Z"
    assert body["data_interval_start"] == body["data_interval_end"] == "2026-01-02T03:04:05Z"
    got = client.get("/api/v2/dags/xcom3/dagRuns/my_run").json()
    assert got == body


def test_trigger_from_ui_is_marked(client):
    resp = client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": None},
                       headers={"Referer": "http://localhost:8080/dags/xcom3"})
    assert resp.json()["triggered_by"] == "ui"


def test_trigger_conflict_404_422(client):
    assert trigger(client, dag_run_id="r1").status_code == 200
    resp = trigger(client, dag_run_id="r1")
    assert resp.status_code == 409 and resp.json()["detail"]["reason"] == "Unique constraint violation"
    # Same logical date, different run id: also a conflict.
    assert trigger(client, dag_run_id="r2", logical_date="2026-01-01T00:00:00Z").status_code == 200
    assert trigger(client, dag_run_id="r3", logical_date="2026-01-01T00:00:00Z").status_code == 409

    resp = trigger(client, "nope")
    assert resp.status_code == 404 and resp.json() == {"detail": "DAG with dag_id: 'nope' not found"}

    resp = client.post("/api/v2/dags/xcom3/dagRuns", json={"conf": {}})
    assert resp.status_code == 422
    assert resp.json()["detail"] == [{"type": "missing", "loc": ["body", "logical_date"], "msg": "Field required",
                                      "input": {"conf": {}}}]
    resp = trigger(client, logical_date="yesterday")
    assert resp.json()["detail"][0]["loc"] == ["body", "logical_date"]
    resp = trigger(client, logical_date="2026-01-01T00:00:00")  # no time zone
    assert resp.status_code == 422 and resp.json()["detail"][0]["type"] == "timezone_aware"
    resp = trigger(client, conf=[1])
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "conf"]
    resp = trigger(client, bogus=1)
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "bogus"]
    resp = trigger(client, data_interval_start="2026-01-01T00:00:00Z")
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body"]
    resp = client.post("/api/v2/dags/xcom3/dagRuns", content=b"[", headers={"content-type": "application/json"})
    assert resp.status_code == 422


def test_list_runs_filters(client, services):
    add_dag(services, serialized("bash1"))
    for i in range(3):
        trigger(client, dag_run_id=f"x{i}", logical_date=f"2026-01-0{i + 1}T00:00:00Z")
    trigger(client, "bash1", dag_run_id="b0")
    body = client.get("/api/v2/dags/xcom3/dagRuns").json()
    assert list(body) == list(reference("dagruns_xcom3.json"))
    assert [r["dag_run_id"] for r in body["dag_runs"]] == ["x0", "x1", "x2"] and body["total_entries"] == 3

    def ids(dag_id="xcom3", **params):
        return [r["dag_run_id"] for r in client.get(f"/api/v2/dags/{dag_id}/dagRuns", params=params).json()["dag_runs"]]

    assert ids("~") == ["x0", "x1", "x2", "b0"]
    assert ids("~", dag_id_pattern="bash") == ["b0"]
    assert ids(order_by="-logical_date") == ["x2", "x1", "x0"]
    assert ids(logical_date_gte="2026-01-02T00:00:00Z") == ["x1", "x2"]
    assert ids(logical_date_lt="2026-01-02T00:00:00Z") == ["x0"]
    assert ids(state="queued", limit=2) == ["x0", "x1"]
    assert ids(state="success") == []
    assert ids(run_id_pattern="x1|x2") == ["x1", "x2"]
    assert client.get("/api/v2/dags/xcom3/dagRuns", params={"state": "bogus"}).status_code == 422
    assert client.get("/api/v2/dags/nope/dagRuns").status_code == 404


def test_get_run_404(client):
    resp = client.get("/api/v2/dags/xcom3/dagRuns/nope")
    assert resp.status_code == 404
    assert resp.json() == {"detail": "The DagRun with dag_id: `xcom3` and run_id: `nope` was not found"}


def test_duration_and_datetime_format(client, services):
    from leoflow.store import runs

    run_id = trigger(client).json()["dag_run_id"]
    start = dt.datetime(2026, 11, 29, 6, 16, 18, 974465, tzinfo=dt.UTC)
    with services.engine.begin() as conn:
        runs.set_run_state(conn, "xcom3", run_id, "success", start_date=start,
                           end_date=start + dt.timedelta(seconds=3, microseconds=330655))
    body = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}").json()
    assert body["start_date"] == "2026-11-29T06:16:18.974465Z"
    assert body["duration"] == 3.330655 and body["state"] == "success"


def test_a_run_lists_the_version_it_was_made_with_and_those_its_tasks_ran_with(db_services):
    """Runs and the grid read every version a run used in one query: the creating one, then the tasks'."""
    from sqlalchemy import update

    from leoflow.store.tables import task_instance

    from .conftest import make_client, login

    with make_client(db_services) as client:
        client.headers.update(login(client))
        first = trigger(client).json()
        other = trigger(client).json()  # a second run on the first version only
        changed = serialized()
        changed["description"] = "the DAG file changed while the run went"
        add_dag(db_services, changed)  # version 2
        with db_services.engine.begin() as conn:
            from leoflow.store import dags as dag_store

            v2, _ = dag_store.latest_serialized(conn, "xcom3")
            conn.execute(update(task_instance).where(task_instance.c.run_id == first["dag_run_id"],
                                                     task_instance.c.task_id == "load")
                         .values(dag_version_id=v2))
        got = client.get(f"/api/v2/dags/xcom3/dagRuns/{first['dag_run_id']}").json()
        assert [v["version_number"] for v in got["dag_versions"]] == [1, 2]
        listed = {r["dag_run_id"]: [v["version_number"] for v in r["dag_versions"]]
                  for r in client.get("/api/v2/dags/xcom3/dagRuns").json()["dag_runs"]}
        assert listed == {first["dag_run_id"]: [1, 2], other["dag_run_id"]: [1]}
