"""DAG-run actions: patch state/note, delete, batch list, wait, asset events, trigger conf checked against params."""

import json

from leoflow.store.tables import asset, asset_event, dag_run, dagrun_asset_event, log
from sqlalchemy import select

from .conftest import add_dag, serialized
from .seed import T0, run_with_states, states

RUN = "/api/v2/dags/xcom3/dagRuns/{run}"


def test_mark_run_success_and_failed(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "running", "load": None},
                             run_state="running")
    resp = client.patch(RUN.format(run=run_id), json={"state": "failed", "note": "stopped by hand"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "failed" and resp.json()["note"] == "stopped by hand"
    assert states(services, run_id) == {"extract": "success", "transform": "failed", "load": "skipped"}
    resp = client.patch(RUN.format(run=run_id), json={"state": "success"})
    assert resp.json()["state"] == "success"
    assert states(services, run_id)["transform"] == "success"
    note = client.patch(RUN.format(run=run_id), json={"state": "queued", "note": "only this"},
                        params={"update_mask": "note"}).json()
    assert note["state"] == "success" and note["note"] == "only this"
    with services.engine.connect() as conn:
        events = conn.execute(select(log.c.event).where(log.c.run_id == run_id)).scalars().all()
    assert events.count("patch_dag_run") == 3


def test_patch_and_delete_errors(client, services):
    run_id = run_with_states(client, services, {})
    bad = client.patch(RUN.format(run=run_id), json={"state": "running"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "state"]
    assert "'queued', 'success' or 'failed'" in bad.json()["detail"][0]["msg"]
    assert client.patch(RUN.format(run=run_id), json={"note": 5}).json()["detail"][0]["loc"] == ["body", "note"]
    assert client.patch(RUN.format(run="nope"), json={"note": "x"}).status_code == 404
    masked = client.patch(RUN.format(run=run_id), json={"note": "x"}, params={"update_mask": "conf"})
    assert masked.status_code == 400 and "conf" in masked.json()["detail"]
    running = run_with_states(client, services, {}, run_state="running")
    busy = client.delete(RUN.format(run=running))
    assert busy.status_code == 409 and "cannot be deleted in running state" in busy.json()["detail"]
    assert client.delete(RUN.format(run=run_id)).status_code == 204
    assert client.get(RUN.format(run=run_id)).status_code == 404
    gone = client.delete(RUN.format(run=run_id))
    assert gone.status_code == 404 and run_id in gone.json()["detail"]


def test_batch_list_of_runs(client, services):
    add_dag(services, serialized("other"))
    first = run_with_states(client, services, {}, run_state="success")
    second = run_with_states(client, services, {}, dag_id="other", run_state="failed")
    url = "/api/v2/dags/~/dagRuns/list"
    body = client.post(url, json={"states": ["failed"]}).json()
    assert [r["dag_run_id"] for r in body["dag_runs"]] == [second]
    body = client.post(url, json={"dag_ids": ["xcom3", "other"], "order_by": "-id", "page_limit": 1}).json()
    assert body["total_entries"] == 2 and [r["dag_run_id"] for r in body["dag_runs"]] == [second]
    body = client.post(url, json={"duration_gte": 30}).json()
    assert {r["dag_run_id"] for r in body["dag_runs"]} == {first, second}
    assert client.post(url, json={"duration_gt": 3600}).json()["total_entries"] == 0
    one_dag = client.post("/api/v2/dags/other/dagRuns/list", json={}).json()
    assert [r["dag_run_id"] for r in one_dag["dag_runs"]] == [second]
    bad = client.post(url, json={"states": ["exploded"], "start_date_gte": "yesterday", "order_by": "colour"})
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {("body", "states", 0), ("body", "start_date_gte")}


def test_wait_streams_until_finished_with_results(client, services):
    run_id = run_with_states(client, services, {"extract": "success", "transform": "success"}, run_state="success")
    resp = client.get(f"{RUN.format(run=run_id)}/wait", params={"interval": 0.05, "result": ["transform"]})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in resp.text.splitlines()]
    assert lines == [{"state": "success", "results": {"transform": {"from": "transform"}}}]
    missing = client.get(f"{RUN.format(run=run_id)}/wait")
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["query", "interval"]
    assert client.get(f"{RUN.format(run='nope')}/wait", params={"interval": 1}).status_code == 404


def test_upstream_asset_events(client, services):
    run_id = run_with_states(client, services, {})
    with services.engine.begin() as conn:
        from leoflow.store import runs

        run = runs.get_run(conn, "xcom3", run_id)
        asset_id = conn.execute(asset.insert().values(name="a", uri="s3://a", group="asset", extra={},
                                                      created_at=T0, updated_at=T0)).inserted_primary_key[0]
        event_id = conn.execute(asset_event.insert().values(asset_id=asset_id, extra={"rows": 1}, timestamp=T0,
                                                            source_dag_id="up", source_task_id="t",
                                                            source_run_id="r", source_map_index=-1)
                                ).inserted_primary_key[0]
        conn.execute(dagrun_asset_event.insert().values(dag_run_id=run.id, event_id=event_id))
    body = client.get(f"{RUN.format(run=run_id)}/upstreamAssetEvents").json()
    assert body["total_entries"] == 1
    event = body["asset_events"][0]
    assert event["uri"] == "s3://a" and event["extra"] == {"rows": 1} and event["source_dag_id"] == "up"
    assert [r["run_id"] for r in event["created_dagruns"]] == [run_id]
    assert client.get(f"{RUN.format(run='nope')}/upstreamAssetEvents").status_code == 404


def _dag_with_params() -> dict:
    """A real DAG's document, params as a DAG file declares them (one required, no default)."""
    from leoflow.sdk.dag import DAG
    from leoflow.sdk.operators.empty import EmptyOperator
    from leoflow.sdk.params import Param
    from leoflow.sdk.serialize import serialize_dag

    with DAG("with_params", schedule=None, params={"rows": Param(10, type="integer"),
                                                   "mode": Param("fast", enum=["fast", "slow"]),
                                                   "target": Param(type="string")}) as dag:
        EmptyOperator(task_id="t")
    data = serialize_dag(dag)
    data.setdefault("fileloc", "/dags/with_params.py")
    return data


def test_trigger_checks_conf_against_params(client, services):
    add_dag(services, _dag_with_params())
    url = "/api/v2/dags/with_params/dagRuns"
    ok = client.post(url, json={"logical_date": None, "conf": {"rows": 5, "target": "db"}})
    assert ok.status_code == 200, ok.text
    assert ok.json()["conf"] == {"rows": 5, "target": "db"}
    bad = client.post(url, json={"logical_date": None, "conf": {"rows": "many", "target": "db"}})
    assert bad.status_code == 400
    assert bad.json()["detail"] == "Invalid input for param rows: 'many' is not of type 'integer'"
    bad = client.post(url, json={"logical_date": None, "conf": {"mode": "medium", "target": "db"}})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("Invalid input for param mode: ")
    missing = client.post(url, json={"logical_date": None})
    assert missing.status_code == 400
    assert missing.json()["detail"] == "Invalid input for param target: No value passed and Param has no default value"
    with services.engine.connect() as conn:
        runs = conn.execute(select(dag_run.c.run_id).where(dag_run.c.dag_id == "with_params")).all()
        events = conn.execute(select(log.c.event, log.c.extra).where(log.c.dag_id == "with_params")).all()
    assert len(runs) == 1  # only the valid trigger created a run
    assert [e.event for e in events] == ["trigger_dag_run"]
    assert json.loads(events[0].extra)["method"] == "POST"


def test_order_runs_by_duration(db_services):
    from .conftest import login, make_client

    with make_client(db_services) as client:
        client.headers.update(login(client))
        import datetime as dt

        from leoflow.store import runs

        ids = [run_with_states(client, db_services, {}, run_state="success") for _ in range(3)]
        with db_services.engine.begin() as conn:
            for i, run_id in enumerate(ids):  # durations 30s, 10s, 20s
                runs.set_run_state(conn, "xcom3", run_id, "success", start_date=T0,
                                   end_date=T0 + dt.timedelta(seconds=(30, 10, 20)[i]))
        body = client.get("/api/v2/dags/xcom3/dagRuns", params={"order_by": "-duration"}).json()
        assert [r["duration"] for r in body["dag_runs"]] == [30.0, 20.0, 10.0]


def test_list_runs_by_duration_and_version(client, services):
    import datetime as dt

    from leoflow.store import runs

    short, long_ = (run_with_states(client, services, {}, run_state="success") for _ in range(2))
    with services.engine.begin() as conn:
        runs.set_run_state(conn, "xcom3", short, "success", start_date=T0, end_date=T0 + dt.timedelta(seconds=5))
        runs.set_run_state(conn, "xcom3", long_, "success", start_date=T0, end_date=T0 + dt.timedelta(seconds=500))
    listed = client.get("/api/v2/dags/xcom3/dagRuns", params={"duration_gte": 60}).json()
    assert [r["dag_run_id"] for r in listed["dag_runs"]] == [long_]
    assert client.get("/api/v2/dags/xcom3/dagRuns", params={"dag_version": 1}).json()["total_entries"] == 2
    assert client.get("/api/v2/dags/xcom3/dagRuns", params={"dag_version": 2}).json()["total_entries"] == 0
    bad = client.get("/api/v2/dags/xcom3/dagRuns", params={"duration_lt": "long"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "duration_lt"]


def test_manual_run_ids_follow_the_trigger_time(client, services):
    resp = client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": "2020-01-01T00:00:00Z"})
    body = resp.json()
    assert body["logical_date"] == "2020-01-01T00:00:00Z"
    assert body["dag_run_id"] == f"manual__{body['run_after'].replace('Z', '+00:00')}"
    assert body["data_interval_start"] == body["data_interval_end"] == "2020-01-01T00:00:00Z"


def test_audit_entries_are_shaped_like_airflows(client, services):
    client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": None})
    client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": None, "dag_run_id": "named"})
    client.patch("/api/v2/dags/xcom3", json={"is_paused": True}, params={"update_mask": "is_paused"})
    with services.engine.connect() as conn:
        rows = conn.execute(select(log.c.event, log.c.dag_id, log.c.run_id, log.c.owner, log.c.extra)
                            .order_by(log.c.id)).all()
    trigger, named, paused = [r for r in rows if r.event in ("trigger_dag_run", "patch_dag")]
    assert (trigger.dag_id, trigger.run_id, trigger.owner) == ("xcom3", None, "admin")
    assert json.loads(trigger.extra) == {"logical_date": None, "method": "POST"}  # as in bodies/eventlogs.json
    assert named.run_id == "named"
    assert json.loads(paused.extra) == {"update_mask": "is_paused", "is_paused": True, "method": "PATCH"}
