import datetime as dt
import json
from pathlib import Path

from leoflow.store import runs
from leoflow.store.tables import rendered_task_instance_fields, task_instance, xcom
from sqlalchemy import update

from .conftest import BODIES, reference

T0 = dt.datetime(2026, 11, 29, 6, 16, 19, 957045, tzinfo=dt.UTC)


def make_run(client, services, state="success"):
    """A triggered run whose `transform` task ran once (state, times, XCom, rendered fields)."""
    run_id = client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": None}).json()["dag_run_id"]
    with services.engine.begin() as conn:
        run = runs.get_run(conn, "xcom3", run_id)
        conn.execute(update(task_instance).where(task_instance.c.run_id == run_id,
                                                 task_instance.c.task_id == "transform").values(
            state=state, try_number=1, start_date=T0, end_date=T0 + dt.timedelta(microseconds=184869),
            hostname="vm", unixname="root", pid=7280, queued_dttm=T0, scheduled_dttm=T0))
        conn.execute(xcom.insert().values(dag_run_id=run.id, task_id="transform", map_index=-1, key="return_value",
                                          dag_id="xcom3", run_id=run_id, value={"rows": 200}, timestamp=T0))
        conn.execute(rendered_task_instance_fields.insert().values(
            dag_id="xcom3", task_id="transform", run_id=run_id, map_index=-1,
            rendered_fields={"templates_dict": None, "op_args": [{"rows": 100}], "op_kwargs": {}}))
    return run_id


def test_task_instance_bodies(client, services):
    run_id = make_run(client, services)
    body = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances/transform").json()
    ref = reference("taskinstance_xcom3_transform.json")
    assert list(body) == list(ref)
    assert list(body["dag_version"]) == list(ref["dag_version"])
    assert body["state"] == "success" and body["try_number"] == 1 and body["operator_name"] == "@task"
    assert body["operator"] == "_PythonDecoratedOperator" and body["executor_config"] == "{}"
    assert body["duration"] == 0.184869 and body["start_date"] == "2026-11-29T06:16:19.957045Z"
    assert body["rendered_fields"] == ref["rendered_fields"]

    listing = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances").json()
    assert list(listing) == list(reference("taskinstances_xcom3_run.json"))
    assert listing["total_entries"] == 3
    assert list(listing["task_instances"][0]) == list(ref)
    states = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances", params={"state": "success"}).json()
    assert [t["task_id"] for t in states["task_instances"]] == ["transform"]
    none = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances", params={"state": "no_status"}).json()
    assert none["total_entries"] == 2
    everywhere = client.get("/api/v2/dags/~/dagRuns/~/taskInstances").json()
    assert everywhere["total_entries"] == 3


def test_task_instance_404s(client, services):
    run_id = make_run(client, services)
    resp = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances/nope")
    assert resp.status_code == 404
    assert resp.json()["detail"] == (f"The Task Instance with dag_id: `xcom3`, run_id: `{run_id}`, task_id: `nope` "
                                     f"and map_index: `-1` was not found")
    assert client.get("/api/v2/dags/xcom3/dagRuns/nope/taskInstances").status_code == 404


def test_xcom_entries(client, services):
    run_id = make_run(client, services)
    base = f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances/transform/xcomEntries"
    one = client.get(f"{base}/return_value").json()
    ref = reference("xcomentry_xcom3_transform_return_value.json")
    assert list(one) == list(ref)
    assert one["value"] == {"rows": 200} and one["timestamp"] == "2026-11-29T06:16:19.957045Z"
    assert client.get(f"{base}/return_value", params={"stringify": "true"}).json()["value"] == "{'rows': 200}"
    listing = client.get(base).json()
    assert list(listing) == list(reference("xcomentries_xcom3_transform.json"))
    assert list(listing["xcom_entries"][0]) == list(reference("xcomentries_xcom3_transform.json")["xcom_entries"][0])
    assert client.get("/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries").json()["total_entries"] == 1
    resp = client.get(f"{base}/missing")
    assert resp.status_code == 404 and resp.json() == {"detail": "XCom entry with key: `missing` not found"}
    assert client.get(f"{base}/return_value", params={"map_index": 0}).status_code == 404
    assert client.get(f"{base}/return_value", params={"map_index": "x"}).status_code == 422



RAW = str(BODIES / "raw_task_log_xcom3_transform_attempt=1.log")


def write_log(services, run_id):
    path = (services.settings.logs_folder / "dag_id=xcom3" / f"run_id={run_id}" / "task_id=transform"
            / "attempt=1.log")
    path.parent.mkdir(parents=True)
    path.write_text(Path(RAW).read_text())
    return path


def test_logs_json_ndjson_and_406(client, services):
    run_id = make_run(client, services)
    path = write_log(services, run_id)
    url = f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances/transform/logs/1"

    body = client.get(url, headers={"Accept": "application/json"}).json()
    ref = reference("logs_xcom3_transform_1_json.json")
    assert list(body) == ["content", "continuation_token"] and body["continuation_token"] is None
    assert body["content"][0] == {"event": "::group::Log message source details", "sources": [str(path)]}
    # Same records, same key order, same (time) order as Airflow's answer.
    assert body["content"][1:] == ref["content"][1:]
    assert [list(r) for r in body["content"]] == [list(r) for r in ref["content"]]

    resp = client.get(url, headers={"Accept": "application/x-ndjson"})
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in resp.text.splitlines()]
    ref_lines = [json.loads(line) for line in (BODIES / "logs_xcom3_transform_1_ndjson.ndjson").read_text().splitlines()]
    assert [list(r) for r in lines] == [list(r) for r in ref_lines]
    assert lines[2:] == ref_lines[2:]

    resp = client.get(url, headers={"Accept": "text/plain"})
    assert resp.status_code == 406
    assert resp.json() == reference("logs_xcom3_transform_1_text.json")


def test_logs_missing_file_and_unknown_attempt(client, services):
    run_id = make_run(client, services)
    url = f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances/transform/logs"
    body = client.get(f"{url}/1").json()
    assert body == {"content": [{"event": "::group::Log message source details", "sources": []},
                                {"event": "::endgroup::"}], "continuation_token": None}
    assert client.get(f"{url}/7").status_code == 404
    assert client.get(f"{url}/one").status_code == 422


def test_logs_of_a_running_task_continue(client, services):
    run_id = make_run(client, services, state="running")
    write_log(services, run_id)
    url = f"/api/v2/dags/xcom3/dagRuns/{run_id}/taskInstances/transform/logs/1"
    first = client.get(url).json()
    assert first["continuation_token"] and len(first["content"]) == 7
    more = client.get(url, params={"token": first["continuation_token"]}).json()
    assert more["content"] == []
    assert client.get(url, params={"token": "forged"}).status_code == 400
