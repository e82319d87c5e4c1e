"""/pools: CRUD, bulk, slot counts, and the rules for default_pool."""

import pytest

from leoflow.store import runs
from leoflow.store.tables import task_instance
from leoflow.store.types import utcnow

from .conftest import make_client, login, reference, serialized


@pytest.fixture
def db_client(db_services):
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def test_default_pool_matches_airflow(client):
    assert client.get("/api/v2/pools").json() == reference("pools.json")


def test_crud_and_slot_counts_on_both_databases(db_client, db_services):
    resp = db_client.post("/api/v2/pools", json={"name": "gpu", "slots": 4, "description": "cards"})
    assert resp.status_code == 201
    assert resp.json()["open_slots"] == 4 and resp.json()["include_deferred"] is False
    with db_services.engine.begin() as conn:
        runs.create_dag_run(conn, serialized(), dag_version_id=None, run_type="manual", run_after=utcnow())
        conn.execute(task_instance.update().where(task_instance.c.task_id == "extract")
                     .values(pool="gpu", pool_slots=2, state="running"))
        conn.execute(task_instance.update().where(task_instance.c.task_id == "transform")
                     .values(pool="gpu", state="queued"))
        conn.execute(task_instance.update().where(task_instance.c.task_id == "load")
                     .values(pool="gpu", state="deferred"))
    body = db_client.get("/api/v2/pools/gpu").json()
    # Deferred tasks hold no slot unless the pool says so.
    assert (body["running_slots"], body["queued_slots"], body["deferred_slots"], body["occupied_slots"],
            body["open_slots"]) == (2, 1, 1, 3, 1)
    resp = db_client.patch("/api/v2/pools/gpu", json={"slots": 8})
    assert resp.json()["slots"] == 8 and resp.json()["description"] == "cards"
    resp = db_client.patch("/api/v2/pools/gpu", json={"name": "tpu"})
    assert resp.json()["name"] == "tpu"
    assert db_client.delete("/api/v2/pools/tpu").status_code == 204
    assert db_client.get("/api/v2/pools/tpu").status_code == 404


def test_default_pool_rules(client):
    resp = client.delete("/api/v2/pools/default_pool")
    assert resp.status_code == 400 and resp.json()["detail"] == "Default Pool can't be deleted"
    resp = client.patch("/api/v2/pools/default_pool", json={"description": "x"})
    assert resp.status_code == 400 and "Only slots and included_deferred" in resp.json()["detail"]
    resp = client.patch("/api/v2/pools/default_pool?update_mask=slots", json={"slots": 7})
    assert resp.status_code == 200 and resp.json()["slots"] == 7


def test_errors_name_what_was_wrong(client, anon):
    assert anon.get("/api/v2/pools").status_code == 401
    assert client.get("/api/v2/pools/nope").json()["detail"] == "The Pool with name: `nope` was not found"
    resp = client.post("/api/v2/pools", json={"name": "p", "slots": -5})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "slots"]
    resp = client.post("/api/v2/pools", json={"slots": "many"})
    assert {tuple(e["loc"]) for e in resp.json()["detail"]} == {("body", "name"), ("body", "slots")}
    client.post("/api/v2/pools", json={"name": "p", "slots": 1})
    assert client.post("/api/v2/pools", json={"name": "p", "slots": 1}).status_code == 409


def test_bulk(client):
    resp = client.patch("/api/v2/pools", json={"actions": [
        {"action": "create", "entities": [{"name": "a", "slots": 1}, {"name": "b", "slots": 2}]},
        {"action": "update", "entities": [{"name": "a", "slots": 5}]},
        {"action": "delete", "entities": ["default_pool"]},
    ]}).json()
    assert resp["create"] == {"success": ["a", "b"], "errors": []}
    assert resp["update"] == {"success": ["a"], "errors": []}
    assert resp["delete"]["errors"] == [{"error": "Default Pool can't be deleted", "status_code": 400}]
    assert client.get("/api/v2/pools/a").json()["slots"] == 5
