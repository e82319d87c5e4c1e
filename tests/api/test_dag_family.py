"""DAG list filters, bulk pause, delete, favourites; tasks, versions and sources against Airflow 3.2.1's bodies."""

from leoflow.store.tables import dag_run, log, task_instance
from sqlalchemy import func, select

from .conftest import add_dag, reference, serialized
from .seed import run_with_states


def test_tasks_versions_sources_match_reference(client):
    tasks = client.get("/api/v2/dags/xcom3/tasks").json()
    ref = reference("tasks_xcom3.json")
    assert list(tasks) == list(ref) and tasks["total_entries"] == 3
    assert [t["task_id"] for t in tasks["tasks"]] == [t["task_id"] for t in ref["tasks"]]
    task = client.get("/api/v2/dags/xcom3/tasks/transform").json()
    want = reference("task_xcom3_transform.json")
    assert list(task) == list(want)
    for key in ("task_id", "owner", "trigger_rule", "retries", "queue", "pool", "pool_slots", "retry_delay",
                "downstream_task_ids", "operator_name", "class_ref", "is_mapped", "extra_links", "ui_color"):
        assert task[key] == want[key], key
    desc = client.get("/api/v2/dags/xcom3/tasks", params={"order_by": "-task_id"}).json()
    assert [t["task_id"] for t in desc["tasks"]] == ["transform", "load", "extract"]
    assert client.get("/api/v2/dags/xcom3/tasks/nope").json() == {"detail": "Task with id nope was not found"}
    assert client.get("/api/v2/dags/nope/tasks").status_code == 404
    assert client.get("/api/v2/dags/xcom3/tasks", params={"order_by": "colour"}).status_code == 400

    versions = client.get("/api/v2/dags/xcom3/dagVersions").json()
    vref = reference("dagversions_xcom3.json")
    assert list(versions) == list(vref) and list(versions["dag_versions"][0]) == list(vref["dag_versions"][0])
    assert client.get("/api/v2/dags/xcom3/dagVersions/1").json()["version_number"] == 1
    assert client.get("/api/v2/dags/~/dagVersions").json()["total_entries"] == 1
    assert client.get("/api/v2/dags/xcom3/dagVersions/9").status_code == 404
    bad = client.get("/api/v2/dags/xcom3/dagVersions/one")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "version_number"]

    source = client.get("/api/v2/dagSources/xcom3").json()
    assert list(source) == list(reference("dagsources_xcom3.json"))
    assert source["content"] == "# dag\n" and source["version_number"] == 1
    text = client.get("/api/v2/dagSources/xcom3", headers={"Accept": "text/plain"})
    assert text.text == "# dag\n" and text.headers["content-type"].startswith("text/plain")
    assert client.get("/api/v2/dagSources/xcom3", params={"version_number": 4}).status_code == 404
    assert client.get("/api/v2/dagSources/xcom3", headers={"Accept": "image/png"}).status_code == 406


def test_list_filters_by_last_run_state_pattern_and_favourite(client, services):
    add_dag(services, serialized("other", tags=("b",)))
    add_dag(services, serialized("third", tags=()))
    run_with_states(client, services, {"transform": "failed"}, run_state="failed")
    run_with_states(client, services, {"transform": "success"}, dag_id="other", run_state="success")

    def ids(**params):
        resp = client.get("/api/v2/dags", params=params)
        assert resp.status_code == 200, resp.text
        return [d["dag_id"] for d in resp.json()["dags"]]

    assert ids(last_dag_run_state="failed") == ["xcom3"]
    assert ids(dag_id_pattern="thi|xc") == ["third", "xcom3"]
    ordered = [d for d in ids(order_by="-last_run_state") if d != "third"]
    assert ordered == ["other", "xcom3"]  # success after failed, descending
    assert client.post("/api/v2/dags/other/favorite").status_code == 204
    assert ids(is_favorite="true") == ["other"]
    assert client.get("/api/v2/dags/other/details").json()["is_favorite"] is True
    assert client.post("/api/v2/dags/other/unfavorite").status_code == 204
    assert client.post("/api/v2/dags/other/unfavorite").status_code == 409
    assert client.post("/api/v2/dags/nope/favorite").status_code == 404
    bad = client.get("/api/v2/dags", params={"last_dag_run_state": "exploded"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "last_dag_run_state"]


def test_bulk_pause_by_pattern(client, services):
    add_dag(services, serialized("other"))
    resp = client.patch("/api/v2/dags", params={"dag_id_pattern": "oth"}, json={"is_paused": True})
    assert resp.status_code == 200, resp.text
    assert [(d["dag_id"], d["is_paused"]) for d in resp.json()["dags"]] == [("other", True)]
    assert client.get("/api/v2/dags/xcom3").json()["is_paused"] is False
    bad = client.patch("/api/v2/dags", json={"is_paused": "perhaps"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "is_paused"]
    with services.engine.connect() as conn:
        assert conn.execute(select(log.c.event).where(log.c.dag_id == "other")).scalars().all() == ["patch_dags"]


def test_delete_dag_removes_its_runs(client, services):
    run_with_states(client, services, {"transform": "success"})
    deleted = client.delete("/api/v2/dags/xcom3")
    assert deleted.status_code == 204 and deleted.content == b""  # as Airflow 3.2.1's route answers
    assert client.get("/api/v2/dags/xcom3").status_code == 404
    with services.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dag_run)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(task_instance)).scalar() == 0
    assert client.delete("/api/v2/dags/xcom3").status_code == 404


def test_delete_refuses_a_running_dag(client, services):
    run_with_states(client, services, {"transform": "running"}, run_state="running")
    resp = client.delete("/api/v2/dags/xcom3")
    assert resp.status_code == 409 and "running" in resp.json()["detail"]


def test_params_are_shown_as_param_dumps(client, services):
    data = serialized("with_params")
    data["params"] = {"rows": {"value": 10, "description": "how many", "schema": {"type": "integer"}}, "plain": 3}
    add_dag(services, data)
    params = client.get("/api/v2/dags/with_params/details").json()["params"]
    assert params["rows"] == {"__class": "airflow.sdk.definitions.param.Param", "value": 10,
                              "description": "how many", "schema": {"type": "integer"}, "source": None}
    assert params["plain"]["value"] == 3 and params["plain"]["schema"] == {}
    task = client.get("/api/v2/dags/with_params/tasks/extract").json()
    assert task["params"]["rows"]["value"] == 10


def test_display_name_shows_everywhere(client, services):
    from leoflow.store.tables import dag
    from sqlalchemy import update

    run_id = run_with_states(client, services, {"transform": "success"})
    with services.engine.begin() as conn:
        conn.execute(update(dag).where(dag.c.dag_id == "xcom3").values(dag_display_name="Three XComs"))
    assert client.get("/api/v2/dags/xcom3").json()["dag_display_name"] == "Three XComs"
    run = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}").json()
    assert run["dag_display_name"] == "Three XComs"
    assert run["dag_versions"][0]["dag_display_name"] == "Three XComs"
    ti = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances/transform").json()
    assert ti["dag_display_name"] == "Three XComs" and ti["dag_version"]["dag_display_name"] == "Three XComs"
    xcoms = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances/transform/xcomEntries").json()
    assert xcoms["xcom_entries"][0]["dag_display_name"] == "Three XComs"
    assert client.get("/api/v2/dags", params={"dag_display_name_pattern": "three"}).json()["total_entries"] == 1


def test_filter_by_asset_dependency(client, services):
    from leoflow.store.tables import asset, dag_schedule_asset_reference

    from .seed import T0

    add_dag(services, serialized("consumer"))
    with services.engine.begin() as conn:
        asset_id = conn.execute(asset.insert().values(name="orders", uri="s3://lake/orders", group="asset", extra={},
                                                      created_at=T0, updated_at=T0)).inserted_primary_key[0]
        conn.execute(dag_schedule_asset_reference.insert().values(asset_id=asset_id, dag_id="consumer",
                                                                  created_at=T0, updated_at=T0))
    found = client.get("/api/v2/dags", params={"asset_dependency": "lake/orders"}).json()
    assert [d["dag_id"] for d in found["dags"]] == ["consumer"]
    assert client.get("/api/v2/dags", params={"has_asset_schedule": "true"}).json()["dags"][0]["dag_id"] == "consumer"
    assert client.get("/api/v2/dags", params={"asset_dependency": "nothing"}).json()["total_entries"] == 0


def test_pages_are_capped_at_the_maximum_page_limit(client, services):
    for name in ("a1", "a2", "a3"):
        add_dag(services, serialized(name))
    services.settings.maximum_page_limit = 2
    body = client.get("/api/v2/dags", params={"limit": 1000}).json()
    assert len(body["dags"]) == 2 and body["total_entries"] == 4
    assert len(client.get("/api/v2/dags", params={"limit": 1}).json()["dags"]) == 1
