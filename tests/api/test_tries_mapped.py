"""Tries (history + current), mapped instances, dependencies, links: shapes as Airflow 3.2.1's and the 404/422s."""

from leoflow.store import xcoms

from .conftest import add_dag, reference, serialized
from .seed import add_mapped, run_with_states

TI = "/api/v2/dags/xcom3/dagRuns/{run}/taskInstances"


def test_tries_match_the_reference_shape(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    body = client.get(f"{TI.format(run=run_id)}/transform/tries").json()
    ref = reference("taskinstance_xcom3_transform_tries.json")
    assert list(body) == list(ref)
    assert list(body["task_instances"][0]) == list(ref["task_instances"][0])
    assert [t["try_number"] for t in body["task_instances"]] == [1]
    one = client.get(f"{TI.format(run=run_id)}/transform/tries/1").json()
    assert list(one) == list(ref["task_instances"][0]) and one["state"] == "success"
    missing = client.get(f"{TI.format(run=run_id)}/transform/tries/5")
    assert missing.status_code == 404 and "try_number: `5`" in missing.json()["detail"]
    bad = client.get(f"{TI.format(run=run_id)}/transform/tries/first")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "task_try_number"]


def test_mapped_listing_tries_and_dependencies(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    add_mapped(services, run_id)
    listing = client.get(f"{TI.format(run=run_id)}/transform/listMapped", params={"order_by": "-map_index"}).json()
    assert [t["map_index"] for t in listing["task_instances"]] == [2, 1, 0] and listing["total_entries"] == 3
    tries = client.get(f"{TI.format(run=run_id)}/transform/0/tries").json()
    assert [(t["try_number"], t["state"]) for t in tries["task_instances"]] == [(1, "failed"), (2, "success")]
    assert client.get(f"{TI.format(run=run_id)}/transform/0/tries/1").json()["state"] == "failed"
    deps = client.get(f"{TI.format(run=run_id)}/transform/1/dependencies").json()
    assert deps == {"dependencies": []}  # a finished task instance waits for nothing
    from leoflow.store.tables import task_instance
    from sqlalchemy import delete

    with services.engine.begin() as conn:  # once expanded, only the indexed instances remain
        conn.execute(delete(task_instance).where(task_instance.c.task_id == "transform",
                                                 task_instance.c.map_index == -1))
    hint = client.get(f"{TI.format(run=run_id)}/transform")
    assert hint.status_code == 404 and "add the map_index" in hint.json()["detail"]
    none = client.get(f"{TI.format(run=run_id)}/extract/listMapped")
    assert none.status_code == 404 and none.json()["detail"] == "Task id extract is not mapped"
    assert client.get(f"{TI.format(run=run_id)}/ghost/listMapped").status_code == 404


def test_dependencies_of_a_waiting_task(client, services):
    run_id = run_with_states(client, services, {"extract": "running", "transform": None}, run_state="queued")
    client.patch("/api/v2/dags/xcom3", json={"is_paused": True})
    deps = client.get(f"{TI.format(run=run_id)}/transform/dependencies").json()["dependencies"]
    assert [d["name"] for d in deps] == ["Dag Not Paused", "Dagrun Running", "Task Instance State"]
    assert deps[1]["reason"].endswith("but in the state 'queued'.")
    assert client.get(f"{TI.format(run=run_id)}/nope/dependencies").status_code == 404


def test_links_and_external_logs(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    assert client.get(f"{TI.format(run=run_id)}/transform/links").json() == {"extra_links": {}, "total_entries": 0}
    assert client.get(f"{TI.format(run=run_id)}/nope/links").status_code == 404
    ext = client.get(f"{TI.format(run=run_id)}/transform/externalLogUrl/1")
    assert ext.status_code == 400 and "external logs" in ext.json()["detail"]
    services.settings.log_external_url = "https://logs.example/{dag_id}/{run_id}/{task_id}/{map_index}/{try_number}"
    url = client.get(f"{TI.format(run=run_id)}/transform/externalLogUrl/1").json()["url"]
    assert url == f"https://logs.example/xcom3/{run_id.replace(':', '%3A').replace('+', '%2B')}/transform/-1/1"


def test_extra_links_come_from_the_tries_link_xcoms(client, services):
    data = serialized("controller")
    data["tasks"][1].update(extra_links=["External DAG", "Triggered DAG"],
                            extra_link_keys={"External DAG": "_link_ExternalDagLink",
                                             "Triggered DAG": "_link_TriggerDagRunLink"})
    add_dag(services, data)
    run_id = run_with_states(client, services, {"transform": "success"}, dag_id="controller")
    url = f"/api/v2/dags/controller/dagRuns/{run_id}/taskInstances/transform/links"
    # No try has resolved them yet: every link the task has, without a URL (as Airflow answers).
    assert client.get(url).json() == {"extra_links": {"External DAG": None, "Triggered DAG": None},
                                      "total_entries": 2}
    with services.engine.begin() as conn:
        xcoms.set(conn, "controller", run_id, "transform", "_link_TriggerDagRunLink", "/dags/target/runs/r1")
    assert client.get(url).json() == {"extra_links": {"External DAG": None, "Triggered DAG": "/dags/target/runs/r1"},
                                      "total_entries": 2}
    assert client.get(url.replace("/transform/", "/extract/")).json() == {"extra_links": {}, "total_entries": 0}


def test_batch_list_of_task_instances(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "failed"})
    url = "/api/v2/dags/~/dagRuns/~/taskInstances/list"
    body = client.post(url, json={"dag_ids": ["xcom3"], "state": ["failed"]}).json()
    assert [(t["dag_run_id"], t["task_id"]) for t in body["task_instances"]] == [(run_id, "transform")]
    none_state = client.post(url, json={"state": [None]}).json()
    assert [t["task_id"] for t in none_state["task_instances"]] == ["load"]
    paged = client.post(url, json={"page_limit": 1, "order_by": "-task_id"}).json()
    assert paged["total_entries"] == 3 and paged["task_instances"][0]["task_id"] == "transform"
    bad = client.post(url, json={"state": ["exploded"], "page_limit": -1, "colour": 1})
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {("body", "state", 0), ("body", "page_limit"),
                                                               ("body", "colour")}
    wildcard = client.get("/api/v2/dags/~/dagRuns/~/taskInstances", params={"task_display_name_pattern": "trans"})
    assert [t["task_id"] for t in wildcard.json()["task_instances"]] == ["transform"]


def test_run_without_dag_is_a_400(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    resp = client.get(f"/api/v2/dags/~/dagRuns/{run_id}/taskInstances")
    assert resp.status_code == 400 and "dag_id is required" in resp.json()["detail"]
    missing = client.get(f"{TI.format(run=run_id)}/transform/3")
    assert missing.status_code == 404 and "Mapped Task Instance" in missing.json()["detail"]
