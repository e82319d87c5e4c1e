"""Marking task instances: state and note, dry runs, the graph options, bulk, and the errors."""

from leoflow.store.tables import log
from sqlalchemy import select

from .seed import add_mapped, run_with_states, states, ti_row, xcom_tasks

TI = "/api/v2/dags/xcom3/dagRuns/{run}/taskInstances"


def test_mark_success_resumes_failed_downstream(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "failed", "load": "upstream_failed"})
    resp = client.patch(f"{TI.format(run=run_id)}/transform", json={"new_state": "success"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [(t["task_id"], t["state"]) for t in body["task_instances"]] == [("transform", "success")]
    # Its failed downstream task is cleared so the run can go on, as in Airflow.
    assert states(services, run_id) == {"extract": "success", "transform": "success", "load": None}
    with services.engine.connect() as conn:
        events = conn.execute(select(log.c.event, log.c.owner, log.c.extra).where(log.c.run_id == run_id)).all()
    assert ("patch_task_instance", "admin") in [(e.event, e.owner) for e in events]


def test_dry_run_lists_what_would_change(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "success", "load": "success"})
    url = f"{TI.format(run=run_id)}/extract/dry_run"
    body = client.patch(url, json={"new_state": "failed", "include_downstream": True}).json()
    assert {t["task_id"] for t in body["task_instances"]} == {"extract", "transform", "load"}
    assert states(services, run_id) == {"extract": "success", "transform": "success", "load": "success"}
    same = client.patch(url, json={"new_state": "success", "include_downstream": True}).json()
    assert same["total_entries"] == 0  # nothing would change


def test_note_only_and_update_mask(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    url = f"{TI.format(run=run_id)}/transform"
    body = client.patch(url, json={"note": "checked", "new_state": "failed"}, params={"update_mask": "note"}).json()
    assert body["task_instances"][0]["note"] == "checked"
    assert ti_row(services, run_id, "transform").state == "success"  # the mask left the state alone
    assert client.get(url).json()["note"] == "checked"
    assert xcom_tasks(services, run_id) == {"transform"}


def test_mapped_instances_by_index(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    add_mapped(services, run_id)
    resp = client.patch(f"{TI.format(run=run_id)}/transform/2", json={"new_state": "failed"})
    assert resp.status_code == 200, resp.text
    assert [(t["map_index"], t["state"]) for t in resp.json()["task_instances"]] == [(2, "failed")]
    assert ti_row(services, run_id, "transform", 1).state == "success"
    got = client.get(f"{TI.format(run=run_id)}/transform/2").json()
    assert got["map_index"] == 2 and got["state"] == "failed" and got["rendered_map_index"] == "item 2"
    dry = client.patch(f"{TI.format(run=run_id)}/transform/1/dry_run", json={"new_state": "skipped"}).json()
    assert [t["map_index"] for t in dry["task_instances"]] == [1]
    assert client.get(f"{TI.format(run=run_id)}/transform/7").status_code == 404


def test_patch_errors_name_the_field(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    url = f"{TI.format(run=run_id)}/transform"
    resp = client.patch(url, json={"new_state": "running", "include_past": "sometimes", "colour": "red"})
    assert resp.status_code == 422
    locs = {tuple(e["loc"]): e for e in resp.json()["detail"]}
    assert {("body", "new_state"), ("body", "include_past"), ("body", "colour")} <= set(locs)
    assert "'success', 'failed' or 'skipped'" in locs[("body", "new_state")]["msg"]
    resp = client.patch(url, json={"note": "x"}, params={"update_mask": "colour"})
    assert resp.status_code == 422 and "colour" in str(resp.json()["detail"])
    resp = client.patch(f"{TI.format(run=run_id)}/nope", json={"new_state": "success"})
    assert resp.status_code == 404 and "nope" in resp.json()["detail"]
    resp = client.patch(f"{TI.format(run=run_id)}/transform/abc", json={"new_state": "success"})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["path", "map_index"]


def test_bulk_update_and_delete(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "failed", "load": "failed"})
    resp = client.patch(TI.format(run=run_id), json={"actions": [
        {"action": "update", "entities": [{"task_id": "transform", "new_state": "skipped"},
                                          {"task_id": "ghost", "new_state": "skipped"}]},
        {"action": "delete", "entities": ["load"]},
        {"action": "create", "entities": [{"task_id": "new"}]},
    ]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["update"]["success"] == [f"xcom3.{run_id}.transform[-1]"]
    assert body["update"]["errors"][0]["status_code"] == 404
    assert body["delete"]["success"] == [f"xcom3.{run_id}.load[-1]"]
    assert body["create"]["errors"][0]["status_code"] == 405
    assert states(services, run_id) == {"extract": "success", "transform": "skipped"}
    bad = client.patch(TI.format(run=run_id), json={"actions": [{"action": "rename", "entities": []}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "actions", 0]
    assert client.patch(TI.format(run=run_id), json={}).json()["detail"][0]["loc"] == ["body", "actions"]


def test_delete_task_instance(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    assert client.delete(f"{TI.format(run=run_id)}/transform").status_code == 200
    assert ti_row(services, run_id, "transform") is None
    assert xcom_tasks(services, run_id) == set()
    assert client.delete(f"{TI.format(run=run_id)}/transform").status_code == 404


def test_marking_twice_is_a_409_and_unknown_tasks_a_404(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    again = client.patch(f"{TI.format(run=run_id)}/transform", json={"new_state": "success"})
    assert again.status_code == 409 and again.json()["detail"] == "Task id transform is already in success state"
    ghost = client.patch(f"{TI.format(run=run_id)}/ghost", json={"new_state": "success"})
    assert ghost.json()["detail"] == "Task 'ghost' not found in DAG 'xcom3'"
    kept = client.patch(f"{TI.format(run=run_id)}/transform", json={"new_state": "failed"},
                        params={"update_mask": "note"})
    assert kept.status_code == 200 and ti_row(services, run_id, "transform").state == "success"


def test_mark_across_runs_with_past_and_future(client, services):
    import datetime as dt

    from .seed import T0

    day = dt.timedelta(days=1)
    runs_ = [run_with_states(client, services, {"transform": "failed"}, logical_date=T0 + i * day) for i in range(3)]
    url = f"{TI.format(run=runs_[1])}/transform/dry_run"
    past = client.patch(url, json={"new_state": "success", "include_past": True}).json()
    assert {t["dag_run_id"] for t in past["task_instances"]} == {runs_[0], runs_[1]}
    future = client.patch(url, json={"new_state": "success", "include_future": True}).json()
    assert {t["dag_run_id"] for t in future["task_instances"]} == {runs_[1], runs_[2]}
    done = client.patch(url.removesuffix("/dry_run"), json={"new_state": "success", "include_future": True})
    assert done.status_code == 200
    assert [states(services, r)["transform"] for r in runs_] == ["failed", "success", "success"]
