"""eventLogs, jobs, dagWarnings, dagStats, dagTags, plugins, providers, config, parseDagFile."""

import datetime as dt

import pytest
from sqlalchemy import select

from leoflow.api.dag_parsing import PARSE_QUEUE
from leoflow.store import audit, runs
from leoflow.store.tables import dag_run, dag_warning, job, log
from leoflow.store.types import utcnow

from .conftest import add_dag, make_client, login, reference, serialized


@pytest.fixture
def db_client(db_services):
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def _keys(ref):
    return list(ref)


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


def test_jobs(db_client, db_services):
    now = utcnow()
    with db_services.engine.begin() as conn:
        conn.execute(job.insert(), [
            {"job_type": "SchedulerJob", "state": "running", "start_date": now, "latest_heartbeat": now,
             "hostname": "vm", "unixname": "root"},
            {"job_type": "DagProcessorJob", "state": "running", "start_date": now,
             "latest_heartbeat": now - dt.timedelta(minutes=10), "hostname": "vm", "unixname": "root"},
        ])
    body = db_client.get("/api/v2/jobs").json()
    assert body["total_entries"] == 2
    assert list(body["jobs"][0]) == list(reference("jobs.json")["jobs"][0])
    alive = db_client.get("/api/v2/jobs?is_alive=true").json()["jobs"]
    assert [j["job_type"] for j in alive] == ["SchedulerJob"]
    assert db_client.get("/api/v2/jobs?job_type=DagProcessorJob").json()["total_entries"] == 1
    assert db_client.get("/api/v2/jobs?is_alive=maybe").status_code == 422


def test_dag_warnings_stats_and_tags(db_client, db_services):
    assert db_client.get("/api/v2/dagWarnings").json() == reference("dagwarnings.json")
    add_dag(db_services, serialized("other", tags=("anchor", "beta")))
    with db_services.engine.begin() as conn:
        conn.execute(dag_warning.insert().values(dag_id="xcom3", warning_type="non-existent pool",
                                                 message="Dag 'xcom3' references non-existent pools: ['gpu']",
                                                 timestamp=utcnow()))
        for i in range(3):
            runs.create_dag_run(conn, serialized(), dag_version_id=None, run_type="manual",
                                run_after=utcnow() + dt.timedelta(seconds=i), run_id=f"r{i}")
        conn.execute(dag_run.update().where(dag_run.c.run_id == "r0").values(state="success"))
    warnings = db_client.get("/api/v2/dagWarnings?warning_type=non-existent pool").json()
    assert warnings["total_entries"] == 1 and warnings["dag_warnings"][0]["dag_display_name"] == "xcom3"
    assert db_client.get("/api/v2/dagWarnings?warning_type=bad").status_code == 422

    stats = db_client.get("/api/v2/dagStats").json()
    ref = reference("dagstats.json")
    assert [s["state"] for s in stats["dags"][0]["stats"]] == [s["state"] for s in ref["dags"][0]["stats"]]
    assert stats["dags"] == [{"dag_id": "xcom3", "dag_display_name": "xcom3", "stats": [
        {"state": "queued", "count": 2}, {"state": "running", "count": 0}, {"state": "success", "count": 1},
        {"state": "failed", "count": 0}]}]
    assert db_client.get("/api/v2/dagStats?dag_ids=other").json() == {"dags": [], "total_entries": 0}

    assert db_client.get("/api/v2/dagTags").json() == {"tags": ["anchor", "beta"], "total_entries": 2}
    assert db_client.get("/api/v2/dagTags?tag_name_pattern=bet").json()["tags"] == ["beta"]
    assert db_client.get("/api/v2/dagTags?order_by=-name&limit=1").json() == {"tags": ["beta"], "total_entries": 2}


def test_plugins_and_providers(client):
    assert client.get("/api/v2/plugins").json() == reference("plugins.json")
    assert client.get("/api/v2/plugins/importErrors").json() == {"import_errors": [], "total_entries": 0}
    providers = client.get("/api/v2/providers").json()
    standard = [p for p in reference("providers.json")["providers"]
                if p["package_name"] == "apache-airflow-providers-standard"][0]
    assert providers["total_entries"] == 1
    assert providers["providers"][0]["package_name"] == standard["package_name"]
    assert providers["providers"][0]["version"] == standard["version"]
    assert client.get("/api/v2/providers?limit=x").status_code == 422


def test_config_hides_secrets_by_default(client, services):
    body = client.get("/api/v2/config").json()
    sections = {s["name"]: {o["key"]: o["value"] for o in s["options"]} for s in body["sections"]}
    assert sections["core"]["dags_folder"] == str(services.settings.dags_folder)
    assert sections["database"]["sql_alchemy_conn"] == "< hidden >"
    assert sections["core"]["fernet_key"] == "< hidden >"
    resp = client.get("/api/v2/config?section=core", headers={"Accept": "text/plain"})
    assert resp.text.startswith("[core]\ndags_folder = ")
    assert client.get("/api/v2/config?section=nope").json()["detail"] == "Section nope not found."
    value = client.get("/api/v2/config/section/core/option/parallelism").json()
    assert value == {"sections": [{"name": "core", "options": [{"key": "parallelism", "value": "32"}]}]}
    resp = client.get("/api/v2/config/section/core/option/nope")
    assert resp.status_code == 404 and resp.json()["detail"] == "Option [core/nope] not found."
    assert client.get("/api/v2/config", headers={"Accept": "image/png"}).status_code == 406


def test_config_not_exposed_is_airflows_403(client, services):
    services.settings.expose_config = "False"
    assert client.get("/api/v2/config").json() == reference("config.json")
    assert client.get("/api/v2/config/section/core/option/parallelism").status_code == 403


def test_parse_dag_file_records_the_request_and_wakes_the_processor(client, services):
    token = client.get("/api/v2/dags/xcom3").json()["file_token"]  # the token the UI passes back
    resp = client.put(f"/api/v2/parseDagFile/{token}")
    assert resp.status_code == 201 and resp.json() is None
    with services.engine.connect() as conn:
        requests = audit.parse_requests(conn)
        row = conn.execute(select(log).where(log.c.event == "reparse_dag_file")).first()
    assert [f for _, f in requests] == ["/dags/xcom3.py"] and row.owner == "admin"
    events = services.bus.wait(PARSE_QUEUE, 0.1)
    assert events and events[0]["fileloc"] == "/dags/xcom3.py"
    assert client.put("/api/v2/parseDagFile/forged.token").json()["detail"] == "File not found"


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


def test_reference_bodies_of_empty_families(client):
    assert client.get("/api/v2/variables").json() == reference("variables.json")
    assert client.get("/api/v2/connections").json() == reference("connections.json")

