"""/eventLogs: the audit log with Airflow's filters and patterns; every admin read needs a token."""

import datetime as dt

import pytest

from leoflow.store import audit

from .conftest import make_client, login, reference


@pytest.fixture
def db_client(db_services):
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def test_event_logs_filters_and_shape_on_both_databases(db_client, db_services):
    with db_services.engine.begin() as conn:
        audit.record(conn, "running", dag_id="xcom3", task_id="extract", run_id="r1", map_index=-1, try_number=1,
                     owner="airflow")
        audit.record(conn, "success", dag_id="xcom3", task_id="extract", run_id="r1", map_index=-1, try_number=1,
                     owner="airflow")
        audit.record(conn, "cli_scheduler", owner="root", extra={"host_name": "vm"})
    mine = "included_events=running&included_events=success&included_events=cli_scheduler"
    body = db_client.get(f"/api/v2/eventLogs?{mine}").json()  # (logging in is an event too)
    assert body["total_entries"] == 3
    assert list(body["event_logs"][0]) == list(reference("eventlog_one.json"))
    assert [e["event"] for e in db_client.get(f"/api/v2/eventLogs?order_by=-id&{mine}").json()["event_logs"]] == \
        ["cli_scheduler", "success", "running"]
    assert db_client.get("/api/v2/eventLogs?event=success").json()["total_entries"] == 1
    remaining = db_client.get("/api/v2/eventLogs?excluded_events=running&excluded_events=success").json()
    assert "cli_scheduler" in [e["event"] for e in remaining["event_logs"]]
    assert {"running", "success"}.isdisjoint(e["event"] for e in remaining["event_logs"])
    assert db_client.get("/api/v2/eventLogs?dag_id_pattern=xco&task_id=extract").json()["total_entries"] == 2
    assert db_client.get("/api/v2/eventLogs?owner_pattern=roo").json()["event_logs"][0]["event"] == "cli_scheduler"
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert db_client.get(f"/api/v2/eventLogs?after={future}").json()["total_entries"] == 0
    first = body["event_logs"][0]["event_log_id"]
    assert db_client.get(f"/api/v2/eventLogs/{first}").json()["event"] == "running"


def test_event_log_errors(client, anon):
    assert anon.get("/api/v2/eventLogs").status_code == 401
    resp = client.get("/api/v2/eventLogs/999")
    assert resp.status_code == 404 and resp.json()["detail"] == "The Event Log with id: `999` not found"
    resp = client.get("/api/v2/eventLogs/abc")
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["path", "event_log_id"]
    resp = client.get("/api/v2/eventLogs?map_index=x&before=yesterday")
    assert {e["loc"][1] for e in resp.json()["detail"]} == {"map_index", "before"}
    assert client.get("/api/v2/eventLogs?order_by=nope").status_code == 400


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/v2/config"), ("GET", "/api/v2/config/section/core/option/parallelism"), ("GET", "/api/v2/jobs"),
    ("GET", "/api/v2/plugins"), ("GET", "/api/v2/plugins/importErrors"), ("GET", "/api/v2/providers"),
    ("GET", "/api/v2/dagStats"), ("GET", "/api/v2/dagTags"), ("GET", "/api/v2/dagWarnings"),
    ("GET", "/api/v2/eventLogs/1"), ("PUT", "/api/v2/parseDagFile/x"), ("GET", "/api/v2/assets/aliases"),
    ("POST", "/api/v2/backfills/dry_run"), ("POST", "/api/v2/connections/defaults"),
])
def test_every_admin_read_needs_a_token(anon, method, path):
    resp = anon.request(method, path)
    assert resp.status_code == 401, (path, resp.text)
    assert resp.json()["detail"]
