"""/variables: CRUD, bulk import semantics, masking of sensitive values, encryption at rest, audit events."""

import json

import pytest
from sqlalchemy import select

from leoflow.store.tables import log, variable

from .conftest import make_client, login


@pytest.fixture
def db_client(db_services):
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def test_crud_round_trip_on_both_databases(db_client, db_services):
    resp = db_client.post("/api/v2/variables", json={"key": "color", "value": "blue", "description": "d"})
    assert resp.status_code == 201
    assert resp.json() == {"key": "color", "value": "blue", "description": "d", "is_encrypted": True,
                           "team_name": None}
    assert db_client.get("/api/v2/variables/color").json()["value"] == "blue"
    # Stored encrypted, not as the clear text.
    with db_services.engine.connect() as conn:
        stored = conn.execute(select(variable.c.val).where(variable.c.key == "color")).scalar()
    assert stored != "blue" and db_services.crypt.decrypt(stored) == "blue"

    resp = db_client.patch("/api/v2/variables/color", json={"key": "color", "value": "red"})
    assert resp.status_code == 200 and resp.json()["value"] == "red" and resp.json()["description"] == "d"  # unset fields kept
    resp = db_client.patch("/api/v2/variables/color?update_mask=description",
                           json={"key": "color", "value": "ignored", "description": "only this"})
    assert resp.json()["value"] == "red" and resp.json()["description"] == "only this"

    listing = db_client.get("/api/v2/variables").json()
    assert listing["total_entries"] == 1 and listing["variables"][0]["key"] == "color"
    assert db_client.delete("/api/v2/variables/color").status_code == 204
    assert db_client.get("/api/v2/variables/color").status_code == 404


def test_json_values_are_stored_as_json_text(client):
    client.post("/api/v2/variables", json={"key": "cfg", "value": {"a": 1, "password": "p4ssw0rd"}})
    # Sensitive keys inside a JSON value are masked too.
    assert json.loads(client.get("/api/v2/variables/cfg").json()["value"]) == {"a": 1, "password": "***"}


def test_sensitive_keys_are_masked(client):
    client.post("/api/v2/variables", json={"key": "db_password", "value": "hunter22"})
    client.post("/api/v2/variables", json={"key": "my_api_key", "value": "k-123456"})
    assert client.get("/api/v2/variables/db_password").json()["value"] == "***"
    values = {v["key"]: v["value"] for v in client.get("/api/v2/variables").json()["variables"]}
    assert values == {"db_password": "***", "my_api_key": "***"}


def test_errors_name_what_was_wrong(client, anon):
    assert anon.get("/api/v2/variables").status_code == 401
    resp = client.get("/api/v2/variables/nope")
    assert resp.status_code == 404 and resp.json()["detail"] == "The Variable with key: `nope` was not found"
    resp = client.post("/api/v2/variables", json={"value": "x", "colour": 1})
    assert resp.status_code == 422
    assert {tuple(e["loc"]) for e in resp.json()["detail"]} == {("body", "key"), ("body", "colour")}
    resp = client.post("/api/v2/variables", json={"key": "k" * 251, "value": "x"})
    assert resp.json()["detail"][0]["type"] == "string_too_long"
    client.post("/api/v2/variables", json={"key": "dup", "value": "x"})
    resp = client.post("/api/v2/variables", json={"key": "dup", "value": "x"})
    assert resp.status_code == 409 and "`dup` already exists" in resp.json()["detail"]
    resp = client.patch("/api/v2/variables/dup", json={"key": "other", "value": "x"})
    assert resp.status_code == 400 and "doesn't match" in resp.json()["detail"]
    assert client.get("/api/v2/variables?order_by=colour").status_code == 400
    assert client.delete("/api/v2/variables/nope").status_code == 404


def test_bulk_create_follows_action_on_existence(client):
    client.post("/api/v2/variables", json={"key": "a", "value": "old"})
    body = {"actions": [{"action": "create", "entities": [{"key": "a", "value": "new"}, {"key": "b", "value": "1"}]}]}
    resp = client.patch("/api/v2/variables", json=body).json()
    assert resp == {"create": {"success": [], "errors": [
        {"error": "The variables with these keys: {'a'} already exist.", "status_code": 409}]}}
    assert client.get("/api/v2/variables/b").status_code == 404  # a failed action writes nothing

    body["actions"][0]["action_on_existence"] = "skip"
    assert client.patch("/api/v2/variables", json=body).json()["create"]["success"] == ["b"]
    assert client.get("/api/v2/variables/a").json()["value"] == "old"

    body["actions"][0]["action_on_existence"] = "overwrite"
    assert client.patch("/api/v2/variables", json=body).json()["create"]["success"] == ["a", "b"]
    assert client.get("/api/v2/variables/a").json()["value"] == "new"


def test_bulk_update_and_delete(client):
    client.post("/api/v2/variables", json={"key": "a", "value": "1"})
    resp = client.patch("/api/v2/variables", json={"actions": [
        {"action": "update", "entities": [{"key": "a", "value": "2"}, {"key": "zz", "value": "3"}],
         "action_on_non_existence": "skip"},
        {"action": "delete", "entities": ["a", "missing"]},
    ]}).json()
    assert resp["update"] == {"success": ["a"], "errors": []}
    assert resp["delete"]["errors"][0]["status_code"] == 404 and "'missing'" in resp["delete"]["errors"][0]["error"]
    resp = client.patch("/api/v2/variables", json={"actions": [{"action": "delete", "entities": ["a"]}]}).json()
    assert resp == {"delete": {"success": ["a"], "errors": []}}
    resp = client.patch("/api/v2/variables", json={"actions": [{"action": "explode", "entities": []}]})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"][:3] == ["body", "actions", 0]
    resp = client.patch("/api/v2/variables", json={"actions": [
        {"action": "create", "entities": [{"key": "x"}], "action_on_existence": "maybe"}]})
    locs = [e["loc"] for e in resp.json()["detail"]]
    assert ["body", "actions", 0, "create", "action_on_existence"] in locs
    assert ["body", "actions", 0, "create", "entities", 0, "value"] in locs


def test_changes_are_audited_with_masked_values(client, services):
    client.post("/api/v2/variables", json={"key": "api_token", "value": "tok-secret-1"})
    client.patch("/api/v2/variables/api_token", json={"key": "api_token", "value": "tok-secret-2"})
    client.delete("/api/v2/variables/api_token")
    with services.engine.connect() as conn:
        rows = conn.execute(select(log).where(log.c.event.like("%connection%") | log.c.event.like("%variable%"))
                            .order_by(log.c.id)).all()
    assert [r.event for r in rows] == ["post_variable", "patch_variable", "delete_variable"]
    assert all(r.owner == "admin" for r in rows)
    assert json.loads(rows[0].extra) == {"key": "api_token", "value": "***", "method": "POST"}
    assert "tok-secret" not in "".join(r.extra for r in rows)


def test_saving_back_the_masked_value_keeps_the_secret(client, services):
    client.post("/api/v2/variables", json={"key": "db_password", "value": "hunter22"})
    client.post("/api/v2/variables", json={"key": "cfg", "value": {"user": "u", "token": "t-123456"}})
    client.patch("/api/v2/variables/db_password", json={"key": "db_password", "value": "***", "description": "x"})
    shown = json.loads(client.get("/api/v2/variables/cfg").json()["value"])
    client.patch("/api/v2/variables/cfg", json={"key": "cfg", "value": {**shown, "user": "v"}})
    from leoflow.store import variables

    with services.engine.connect() as conn:
        assert variables.value_of(variables.get(conn, "db_password"), services.crypt) == "hunter22"
        assert json.loads(variables.value_of(variables.get(conn, "cfg"), services.crypt)) == \
            {"user": "v", "token": "t-123456"}


def test_bulk_changes_are_audited_with_masked_values(client, services):
    client.patch("/api/v2/variables", json={"actions": [
        {"action": "create", "entities": [{"key": "db_password", "value": "bulk-secret-1"}, {"key": "c", "value": "red"}]}]})
    with services.engine.connect() as conn:
        extra = json.loads(conn.execute(select(log.c.extra).where(log.c.event == "bulk_variables")).scalar())
    entities = extra["actions"][0]["entities"]
    assert entities == [{"key": "db_password", "value": "***"}, {"key": "c", "value": "red"}]
