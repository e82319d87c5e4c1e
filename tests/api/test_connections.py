"""/connections: CRUD, bulk, defaults, test; password never shown, extras masked, encrypted at rest."""

import json

import pytest
from sqlalchemy import select

from leoflow.store.tables import connection, log

from .conftest import make_client, login

PG = {"connection_id": "pg", "conn_type": "postgres", "host": "db", "login": "me", "password": "pw-123456",
      "port": 5432, "extra": json.dumps({"sslmode": "require", "api_token": "tok-abcdef"})}


@pytest.fixture
def db_client(db_services):
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def test_crud_round_trip_on_both_databases(db_client, db_services):
    resp = db_client.post("/api/v2/connections", json=PG)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert list(body) == ["connection_id", "conn_type", "description", "host", "login", "schema", "port",
                          "password", "extra", "team_name"]
    assert body["password"] == "***"
    assert json.loads(body["extra"]) == {"sslmode": "require", "api_token": "***"}
    with db_services.engine.connect() as conn:
        row = conn.execute(select(connection).where(connection.c.conn_id == "pg")).first()
    assert row.is_encrypted and row.is_extra_encrypted
    assert "pw-123456" not in row.password and "tok-abcdef" not in row.extra
    assert db_services.crypt.decrypt(row.password) == "pw-123456"

    resp = db_client.patch("/api/v2/connections/pg?update_mask=host",
                           json={"connection_id": "pg", "conn_type": "postgres", "host": "db2", "login": "x"})
    assert resp.json()["host"] == "db2" and resp.json()["login"] == "me"
    listing = db_client.get("/api/v2/connections?connection_id_pattern=p").json()
    assert listing["total_entries"] == 1
    assert db_client.delete("/api/v2/connections/pg").status_code == 204
    assert db_client.get("/api/v2/connections/pg").status_code == 404


def test_errors_name_what_was_wrong(client, anon):
    assert anon.get("/api/v2/connections").status_code == 401
    resp = client.get("/api/v2/connections/nope")
    assert resp.status_code == 404
    assert resp.json()["detail"] == "The Connection with connection_id: `nope` was not found"
    resp = client.post("/api/v2/connections", json={"connection_id": "bad id!", "port": "x", "extra": "[1]"})
    assert resp.status_code == 422
    locs = {tuple(e["loc"]): e["type"] for e in resp.json()["detail"]}
    assert locs == {("body", "conn_type"): "missing", ("body", "connection_id"): "string_pattern_mismatch",
                    ("body", "port"): "int_parsing", ("body", "extra"): "value_error"}
    client.post("/api/v2/connections", json=PG)
    assert client.post("/api/v2/connections", json=PG).status_code == 409
    resp = client.patch("/api/v2/connections/pg", json={**PG, "connection_id": "other"})
    assert resp.status_code == 400 and "does not match" in resp.json()["detail"]


def test_bulk(client):
    client.post("/api/v2/connections", json=PG)
    resp = client.patch("/api/v2/connections", json={"actions": [
        {"action": "create", "entities": [PG, {"connection_id": "h", "conn_type": "http"}]},
        {"action": "create", "action_on_existence": "overwrite",
         "entities": [{**PG, "host": "new"}, {"connection_id": "h", "conn_type": "http"}]},
    ]}).json()
    # The two creates share one result, as in Airflow's bulk response.
    assert resp["create"]["errors"][0]["status_code"] == 409
    assert resp["create"]["success"] == ["pg", "h"]
    assert client.get("/api/v2/connections/pg").json()["host"] == "new"
    resp = client.patch("/api/v2/connections", json={"actions": [
        {"action": "delete", "entities": ["h", "missing"], "action_on_non_existence": "skip"}]}).json()
    assert resp == {"delete": {"success": ["h"], "errors": []}}


def test_test_connection_is_disabled_by_default_and_reaches_the_host_when_enabled(client, monkeypatch):
    monkeypatch.delenv("LEOFLOW_TEST_CONNECTION", raising=False)  # the sweep's checks enable it
    monkeypatch.delenv("AIRFLOW__CORE__TEST_CONNECTION", raising=False)
    resp = client.post("/api/v2/connections/test", json={"connection_id": "t", "conn_type": "http"})
    assert resp.status_code == 403 and resp.json()["detail"].startswith("Testing connections is disabled")
    monkeypatch.setenv("LEOFLOW_TEST_CONNECTION", "Enabled")
    resp = client.post("/api/v2/connections/test",
                       json={"connection_id": "t", "conn_type": "http", "host": "127.0.0.1", "port": 1})
    assert resp.status_code == 200 and resp.json()["status"] is False
    assert resp.json()["message"].startswith("Cannot reach 127.0.0.1:1")


def test_defaults_keep_existing_connections(client):
    client.post("/api/v2/connections", json={"connection_id": "http_default", "conn_type": "http", "host": "mine"})
    assert client.post("/api/v2/connections/defaults").status_code == 204
    ids = [c["connection_id"] for c in client.get("/api/v2/connections?limit=100").json()["connections"]]
    assert {"postgres_default", "fs_default", "http_default"} <= set(ids)
    assert client.get("/api/v2/connections/http_default").json()["host"] == "mine"


def test_changes_are_audited_without_secrets(client, services):
    client.post("/api/v2/connections", json=PG)
    client.delete("/api/v2/connections/pg")
    with services.engine.connect() as conn:
        rows = conn.execute(select(log).where(log.c.event.like("%connection%") | log.c.event.like("%variable%"))
                            .order_by(log.c.id)).all()
    assert [r.event for r in rows] == ["post_connection", "delete_connection"]
    extra = json.loads(rows[0].extra)
    assert extra["password"] == "***" and extra["extra"] == {"sslmode": "require", "api_token": "***"}
    assert "pw-123456" not in rows[0].extra and "tok-abcdef" not in rows[0].extra


def test_saving_back_the_masked_form_keeps_the_secrets(client, services):
    client.post("/api/v2/connections", json=PG)
    shown = client.get("/api/v2/connections/pg").json()
    shown["host"] = "db9"
    assert client.patch("/api/v2/connections/pg", json=shown).status_code == 200
    with services.engine.connect() as conn:
        from leoflow.store import connections

        data = connections.clear(connections.get(conn, "pg"), services.crypt)
    assert data["host"] == "db9" and data["password"] == "pw-123456"
    assert json.loads(data["extra"]) == {"sslmode": "require", "api_token": "tok-abcdef"}


def test_bulk_changes_are_audited_without_secrets(client, services):
    client.patch("/api/v2/connections", json={"actions": [{"action": "create", "entities": [PG]}]})
    with services.engine.connect() as conn:
        raw = conn.execute(select(log.c.extra).where(log.c.event == "bulk_connections")).scalar()
    assert "pw-123456" not in raw and "tok-abcdef" not in raw
    entity = json.loads(raw)["actions"][0]["entities"][0]
    assert entity["password"] == "***" and entity["extra"] == {"sslmode": "require", "api_token": "***"}
