"""Clearing task instances: selection (run window, graph, state), dry runs, XCom purge, runs re-queued."""

import datetime as dt

from leoflow.store import runs
from leoflow.store.tables import log, task_instance_history
from sqlalchemy import select

from .seed import T0, run_with_states, states, ti_row, xcom_tasks


def clear(client, **body):
    return client.post("/api/v2/dags/xcom3/clearTaskInstances", json=body)


def test_dry_run_is_the_default_and_changes_nothing(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "failed", "load": "upstream_failed"})
    resp = clear(client, dag_run_id=run_id)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {t["task_id"] for t in body["task_instances"]} == {"transform", "load"}  # only_failed by default
    assert body["total_entries"] == 2
    assert states(services, run_id) == {"extract": "success", "transform": "failed", "load": "upstream_failed"}


def test_clear_resets_purges_xcom_keeps_history_and_requeues_the_run(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "success", "load": "failed"})
    assert xcom_tasks(services, run_id) == {"extract", "transform"}
    resp = clear(client, dry_run=False, dag_run_id=run_id, task_ids=["transform"], only_failed=False,
                 include_downstream=True)
    assert resp.status_code == 200, resp.text
    assert {t["task_id"] for t in resp.json()["task_instances"]} == {"transform", "load"}
    assert states(services, run_id) == {"extract": "success", "transform": None, "load": None}
    assert xcom_tasks(services, run_id) == {"extract"}  # clearing purges the cleared tasks' XCom
    with services.engine.connect() as conn:
        run = runs.get_run(conn, "xcom3", run_id)
        history = conn.execute(select(task_instance_history.c.task_id, task_instance_history.c.try_number)).all()
        events = conn.execute(select(log.c.event).where(log.c.run_id == run_id)).scalars().all()
    assert run.state == "queued" and run.clear_number == 1
    assert sorted(history) == [("load", 1), ("transform", 1)]
    assert "post_clear_task_instances" in events
    woken = services.bus.wait("leoflow:scheduler:wake", 0.1)
    assert any(e.get("run_id") == run_id for e in woken)


def test_upstream_and_only_running(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "running", "load": None},
                             run_state="running")
    body = clear(client, dag_run_id=run_id, task_ids=["load"], include_upstream=True, only_failed=False).json()
    assert {t["task_id"] for t in body["task_instances"]} == {"extract", "transform", "load"}
    body = clear(client, dag_run_id=run_id, only_failed=False, only_running=True).json()
    assert [t["task_id"] for t in body["task_instances"]] == ["transform"]
    clear(client, dry_run=False, dag_run_id=run_id, only_failed=False, only_running=True)
    assert states(services, run_id)["transform"] == "restarting"  # the runner is told at its next heartbeat
    with services.engine.connect() as conn:
        run = runs.get_run(conn, "xcom3", run_id)
    assert (run.state, run.clear_number) == ("running", 1)  # only finished runs go back to queued
    resp = clear(client, dag_run_id=run_id, only_failed=False, prevent_running_task=True, task_ids=["extract"])
    assert resp.status_code == 200
    run_with_states(client, services, {"transform": "running"}, run_state="running")
    resp = clear(client, only_failed=False, prevent_running_task=True, task_ids=["transform"])
    assert resp.status_code == 409 and "prevent_running_task" in resp.json()["detail"]


def test_past_and_future_follow_logical_dates(client, services):
    day = dt.timedelta(days=1)
    early = run_with_states(client, services, {"transform": "failed"}, logical_date=T0)
    middle = run_with_states(client, services, {"transform": "failed"}, logical_date=T0 + day)
    late = run_with_states(client, services, {"transform": "failed"}, logical_date=T0 + 2 * day)

    def cleared_runs(**flags):
        body = clear(client, dag_run_id=middle, task_ids=["transform"], **flags).json()
        return {t["dag_run_id"] for t in body["task_instances"]}

    assert cleared_runs() == {middle}
    assert cleared_runs(include_past=True) == {early, middle}
    assert cleared_runs(include_future=True) == {middle, late}
    assert cleared_runs(include_past=True, include_future=True) == {early, middle, late}
    window = clear(client, start_date=(T0 + day).isoformat(), task_ids=["transform"]).json()
    assert {t["dag_run_id"] for t in window["task_instances"]} == {middle, late}


def test_mapped_pairs_clear_one_instance(client, services):
    from .seed import add_mapped

    run_id = run_with_states(client, services, {"transform": "success"})
    add_mapped(services, run_id)
    body = clear(client, dry_run=False, dag_run_id=run_id, task_ids=[["transform", 1]], only_failed=False).json()
    assert [(t["task_id"], t["map_index"]) for t in body["task_instances"]] == [("transform", 1)]
    assert ti_row(services, run_id, "transform", 1).state is None
    assert ti_row(services, run_id, "transform", 0).state == "success"


def test_clear_errors_name_the_problem(client, services):
    run_id = run_with_states(client, services, {"transform": "failed"})
    resp = clear(client, dag_run_id=run_id, dry_run="maybe", task_ids="transform", surprise=1)
    assert resp.status_code == 422
    locs = {tuple(e["loc"]) for e in resp.json()["detail"]}
    assert {("body", "dry_run"), ("body", "task_ids"), ("body", "surprise")} <= locs
    resp = client.post("/api/v2/dags/nope/clearTaskInstances", json={})
    assert resp.status_code == 404 and "nope" in resp.json()["detail"]
    resp = clear(client, dag_run_id="no-such-run")
    assert resp.status_code == 404 and resp.json()["detail"] == "Dag Run id no-such-run not found in dag xcom3"
    resp = clear(client, dag_run_id=run_id, include_past=True)  # a manual run has no logical date
    assert resp.status_code == 400 and "logical_date" in resp.json()["detail"]


def test_clear_dag_run(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "failed", "load": "upstream_failed"})
    url = f"/api/v2/dags/xcom3/dagRuns/{run_id}/clear"
    dry = client.post(url, json={"only_failed": True}).json()
    assert {t["task_id"] for t in dry["task_instances"]} == {"transform", "load"}
    done = client.post(url, json={"dry_run": False})
    assert done.status_code == 200
    assert done.json()["dag_run_id"] == run_id and done.json()["state"] == "queued"
    assert set(states(services, run_id).values()) == {None}
    assert xcom_tasks(services, run_id) == set()
    assert client.post("/api/v2/dags/xcom3/dagRuns/nope/clear", json={}).status_code == 404
    bad = client.post(url, json={"dry_run": False, "only_failed": "often"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "only_failed"]


def test_a_restarting_task_whose_runner_is_gone_waits_to_run_again(client, services):
    from leoflow.store import tis
    from leoflow.store.tables import task_instance
    from sqlalchemy import update

    run_id = run_with_states(client, services, {"transform": "running"}, run_state="running")
    clear(client, dry_run=False, dag_run_id=run_id, only_failed=False, only_running=True)
    ti = ti_row(services, run_id, "transform")
    assert ti.state == "restarting"
    with services.engine.begin() as conn:
        conn.execute(update(task_instance).where(task_instance.c.id == ti.id).values(last_heartbeat_at=T0))
        assert tis.stale_restarting(conn, T0 - dt.timedelta(seconds=1)) == []
        assert tis.stale_restarting(conn, T0 + dt.timedelta(seconds=1)) == [ti.id]
        assert ti.id in {r.id for r in tis.active_tis_of_other_jobs(conn, job_id=-1)}
        tis.restart_cleared(conn, ti.id)
    assert ti_row(services, run_id, "transform").state is None
