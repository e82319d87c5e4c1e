"""The Execution API's contract: paths, bodies, status codes and the per-task-instance token."""

import datetime as dt

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from leoflow import config
from leoflow.execution_api import execution_routes, tokens
from leoflow.services import open_services
from leoflow.store import dags, runs, tis
from leoflow.store.types import utcnow

SERIALIZED = {"dag_id": "etl", "fileloc": "/dags/etl.py", "tasks": [
    {"task_id": "extract", "upstream": [], "downstream": [], "retries": 1}]}


@pytest.fixture
def setup(tmp_path, database_url):
    services = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    with services.engine.begin() as conn:
        v = dags.sync_dag(conn, SERIALIZED, source_code="", relative_fileloc="etl.py")
        run = runs.create_dag_run(conn, SERIALIZED, dag_version_id=v.version_id, run_type="manual",
                                  run_after=utcnow(), conf={"a": 1})
        ti = tis.tis_of_run(conn, "etl", run["run_id"])[0]
        tis.set_scheduled(conn, [ti.id], utcnow())
        tis.set_queued(conn, ti.id, None, "LocalExecutor", utcnow())
    client = TestClient(Starlette(routes=[Mount("/execution", routes=execution_routes(services))]))
    token = tokens.issue(services.settings.secret("jwt-execution"), ti.id)
    client.headers["Authorization"] = f"Bearer {token}"
    yield client, services, ti.id, run["run_id"]
    services.engine.dispose()


def start(client, ti_id, pid=4242):
    return client.patch(f"/execution/task-instances/{ti_id}/run", json={
        "state": "running", "hostname": "h", "unixname": "u", "pid": pid,
        "start_date": dt.datetime.now(dt.timezone.utc).isoformat()})


def test_run_returns_the_run_context_and_refuses_a_second_start(setup):
    client, services, ti_id, run_id = setup
    resp = start(client, ti_id)
    assert resp.status_code == 200
    body = resp.json()
    assert body["dag_run"]["run_id"] == run_id and body["dag_run"]["conf"] == {"a": 1}
    assert body["max_tries"] == 1 and body["should_retry"] is True
    assert set(body) >= {"dag_run", "task_reschedule_count", "max_tries", "variables", "connections",
                         "xcom_keys_to_clear", "should_retry"}
    assert start(client, ti_id).status_code == 200  # the same process asking again is fine
    again = start(client, ti_id, pid=9999)
    assert again.status_code == 409 and again.json()["detail"]["reason"] == "invalid_state"


def test_heartbeat_and_state(setup):
    client, services, ti_id, _ = setup
    start(client, ti_id)
    assert client.put(f"/execution/task-instances/{ti_id}/heartbeat", json={"hostname": "h", "pid": 4242}).status_code == 204
    elsewhere = client.put(f"/execution/task-instances/{ti_id}/heartbeat", json={"hostname": "x", "pid": 1})
    assert elsewhere.status_code == 409 and elsewhere.json()["detail"]["reason"] == "running_elsewhere"
    done = client.patch(f"/execution/task-instances/{ti_id}/state",
                        json={"state": "success", "end_date": dt.datetime.now(dt.timezone.utc).isoformat()})
    assert done.status_code == 204
    with services.engine.connect() as conn:
        assert tis.get_ti(conn, ti_id).state == "success"
    late = client.patch(f"/execution/task-instances/{ti_id}/state", json={"state": "failed"})
    assert late.status_code == 409
    gone = client.put(f"/execution/task-instances/{ti_id}/heartbeat", json={"hostname": "h", "pid": 4242})
    assert gone.status_code == 409 and gone.json()["detail"]["reason"] == "not_running"


def test_the_final_state_carries_the_rendered_fields_in_its_transaction(setup):
    from leoflow.store.tables import rendered_task_instance_fields as rtif

    client, services, ti_id, _ = setup
    start(client, ti_id)
    bad = client.patch(f"/execution/task-instances/{ti_id}/state", json={"state": "success", "rendered_fields": [1]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "rendered_fields"]
    with services.engine.connect() as conn:
        assert tis.get_ti(conn, ti_id).state == "running"  # a refused report changes nothing
    client.put(f"/execution/task-instances/{ti_id}/rtif", json={"bash_command": "old"})
    done = client.patch(f"/execution/task-instances/{ti_id}/state",
                        json={"state": "success", "rendered_fields": {"bash_command": "echo 1", "env": None}})
    assert done.status_code == 204
    with services.engine.connect() as conn:
        rows = conn.execute(rtif.select().where(rtif.c.dag_id == "etl")).all()
    assert [r.rendered_fields for r in rows] == [{"bash_command": "echo 1", "env": None}]


def test_bad_bodies_are_422_naming_the_field(setup):
    client, _, ti_id, _ = setup
    missing = client.patch(f"/execution/task-instances/{ti_id}/run", json={"state": "running"})
    assert missing.status_code == 422
    assert {tuple(e["loc"]) for e in missing.json()["detail"]} >= {("body", "hostname"), ("body", "pid")}
    wrong = start(client, ti_id)
    assert wrong.status_code == 200
    bad_state = client.patch(f"/execution/task-instances/{ti_id}/state", json={"state": "sleepy"})
    assert bad_state.status_code == 422 and bad_state.json()["detail"][0]["loc"] == ["body", "state"]
    not_json = client.patch(f"/execution/task-instances/{ti_id}/state", content=b"{nope",
                            headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422


def test_a_token_acts_only_on_its_own_task_instance(setup):
    client, services, ti_id, _ = setup
    other = tokens.issue(services.settings.secret("jwt-execution"), "00000000-0000-0000-0000-000000000000")
    resp = client.put(f"/execution/task-instances/{ti_id}/heartbeat", json={"hostname": "h", "pid": 1},
                      headers={"Authorization": f"Bearer {other}"})
    assert resp.status_code == 403
    assert client.get("/execution/variables/x", headers={"Authorization": "Bearer forged"}).status_code == 403
    assert client.get("/execution/variables/x", headers={"Authorization": ""}).status_code == 401
    unknown = client.patch("/execution/task-instances/00000000-0000-0000-0000-000000000000/run",
                           json={}, headers={"Authorization": f"Bearer {other}"})
    assert unknown.status_code in (404, 422)


def test_xcom_variable_connection_round_trips(setup):
    client, services, ti_id, run_id = setup
    path = f"/execution/xcoms/etl/{run_id}/extract/return_value"
    assert client.get(path).status_code == 404
    assert client.post(path, json={"rows": 100}).status_code == 201
    assert client.get(path).json() == {"key": "return_value", "value": {"rows": 100}}
    assert client.head(path).status_code == 200
    assert client.post(path, params={"map_index": "x"}, json=1).status_code == 422
    assert client.delete(path).status_code == 200
    assert client.get(path).status_code == 404

    assert client.get("/execution/variables/color").status_code == 404
    assert client.put("/execution/variables/color", json={"val": "blue"}).status_code == 201
    assert client.get("/execution/variables/color").json() == {"key": "color", "value": "blue"}
    assert client.get("/execution/connections/nope").json()["detail"]["reason"] == "not_found"
