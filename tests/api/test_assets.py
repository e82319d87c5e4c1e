"""/assets: assets with their references, aliases, events (list/create), queued events, materialize."""

import pytest
from sqlalchemy import select

from leoflow.store.tables import (
    asset,
    asset_active,
    asset_alias,
    asset_alias_asset,
    asset_dag_run_queue,
    dag_run,
    dag_schedule_asset_reference,
    log,
    task_outlet_asset_reference,
)
from leoflow.store.types import utcnow

from .conftest import add_dag, make_client, login, serialized


def seed(services):
    """xcom3 produces `s3://bucket/raw` (task load); `consumer` is scheduled on it."""
    add_dag(services, serialized("consumer", tags=()))
    now = utcnow()
    with services.engine.begin() as conn:
        raw = conn.execute(asset.insert().values(name="raw", uri="s3://bucket/raw", group="asset", extra={"k": 1},
                                                 created_at=now, updated_at=now)).inserted_primary_key[0]
        old = conn.execute(asset.insert().values(name="old", uri="s3://bucket/old", group="asset", extra={},
                                                 created_at=now, updated_at=now)).inserted_primary_key[0]
        conn.execute(asset_active.insert().values(name="raw", uri="s3://bucket/raw"))
        alias = conn.execute(asset_alias.insert().values(name="raw-alias", group="asset")).inserted_primary_key[0]
        conn.execute(asset_alias_asset.insert().values(alias_id=alias, asset_id=raw))
        conn.execute(task_outlet_asset_reference.insert().values(asset_id=raw, dag_id="xcom3", task_id="load",
                                                                 created_at=now, updated_at=now))
        conn.execute(dag_schedule_asset_reference.insert().values(asset_id=raw, dag_id="consumer", created_at=now,
                                                                  updated_at=now))
    return raw, old, alias


@pytest.fixture
def db_client(db_services):
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def test_assets_and_aliases_on_both_databases(db_client, db_services):
    raw, old, alias = seed(db_services)
    body = db_client.get("/api/v2/assets").json()
    assert body["total_entries"] == 1  # only active assets by default
    got = body["assets"][0]
    assert (got["id"], got["name"], got["uri"], got["extra"]) == (raw, "raw", "s3://bucket/raw", {"k": 1})
    assert [t["task_id"] for t in got["producing_tasks"]] == ["load"]
    assert [d["dag_id"] for d in got["scheduled_dags"]] == ["consumer"]
    assert got["aliases"] == [{"id": alias, "name": "raw-alias", "group": "asset"}]
    assert got["last_asset_event"] == {"id": None, "timestamp": None}
    assert db_client.get("/api/v2/assets?only_active=false").json()["total_entries"] == 2
    assert db_client.get("/api/v2/assets?only_active=false&uri_pattern=old").json()["assets"][0]["id"] == old
    assert db_client.get("/api/v2/assets?dag_ids=consumer").json()["total_entries"] == 1
    assert db_client.get(f"/api/v2/assets/{raw}").json()["name"] == "raw"
    assert db_client.get("/api/v2/assets/aliases").json()["asset_aliases"][0]["name"] == "raw-alias"
    assert db_client.get(f"/api/v2/assets/aliases/{alias}").json()["id"] == alias


def test_create_event_queues_scheduled_dags(db_client, db_services):
    raw, _, _ = seed(db_services)
    resp = db_client.post("/api/v2/assets/events", json={"asset_id": raw, "extra": {"rows": 5}})
    assert resp.status_code == 200, resp.text
    event = resp.json()
    assert event["extra"] == {"rows": 5, "from_rest_api": True} and event["uri"] == "s3://bucket/raw"
    assert event["source_map_index"] == -1 and event["created_dagruns"] == []
    listing = db_client.get(f"/api/v2/assets/events?asset_id={raw}").json()
    assert listing["total_entries"] == 1 and listing["asset_events"][0]["id"] == event["id"]
    assert db_client.get(f"/api/v2/assets/{raw}").json()["last_asset_event"]["id"] == event["id"]
    queued = db_client.get(f"/api/v2/assets/{raw}/queuedEvents").json()
    assert [q["dag_id"] for q in queued["queued_events"]] == ["consumer"]
    assert db_client.delete(f"/api/v2/assets/{raw}/queuedEvents").status_code == 204
    with db_services.engine.connect() as conn:
        assert conn.execute(select(asset_dag_run_queue)).first() is None
    resp = db_client.delete(f"/api/v2/assets/{raw}/queuedEvents")
    assert resp.status_code == 404 and resp.json()["detail"] == f"Queue event with asset_id: `{raw}` was not found"


def test_materialize_triggers_the_producing_dag(client, services):
    raw, old, _ = seed(services)
    resp = client.post(f"/api/v2/assets/{raw}/materialize")
    assert resp.status_code == 200, resp.text
    run = resp.json()
    assert (run["dag_id"], run["run_type"], run["state"], run["triggered_by"]) == \
        ("xcom3", "asset_materialization", "queued", "rest_api")
    with services.engine.connect() as conn:
        assert conn.execute(select(dag_run.c.run_type).where(dag_run.c.run_id == run["dag_run_id"])).scalar() == \
            "asset_materialization"
        events = conn.execute(select(log.c.event).where(log.c.event == "materialize_asset")).scalars().all()
    assert events == ["materialize_asset"]
    resp = client.post(f"/api/v2/assets/{old}/materialize")
    assert resp.status_code == 404 and resp.json()["detail"] == f"No DAG materializes asset with ID: {old}"


def test_errors_name_what_was_wrong(client, anon):
    assert anon.get("/api/v2/assets").status_code == 401
    assert client.get("/api/v2/assets/77").json()["detail"] == "The Asset with ID: `77` was not found"
    assert client.get("/api/v2/assets/x").json()["detail"][0]["loc"] == ["path", "asset_id"]
    assert client.get("/api/v2/assets/aliases/5").json()["detail"] == "The Asset Alias with ID: `5` was not found"
    resp = client.post("/api/v2/assets/events", json={"asset_id": 77})
    assert resp.status_code == 404 and resp.json()["detail"] == "Asset with ID: `77` was not found"
    resp = client.post("/api/v2/assets/events", json={"extra": []})
    assert {tuple(e["loc"]) for e in resp.json()["detail"]} == {("body", "asset_id"), ("body", "extra")}
    assert client.get("/api/v2/assets/events?timestamp_gte=never").status_code == 422
