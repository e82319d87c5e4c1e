"""Execution API routes for branching and mapping: skip-downstream, rendered map index, XCom sequences,
mapped lengths, the previous successful run."""

import datetime as dt

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from leoflow import config
from leoflow.execution_api import execution_routes, tokens
from leoflow.services import open_services
from leoflow.store import dags, runs, task_map, tis
from leoflow.store.types import utcnow

SERIALIZED = {"dag_id": "br", "fileloc": "/dags/br.py", "tasks": [
    {"task_id": t, "upstream": [], "downstream": []} for t in ("branch", "a", "b", "c", "done")]}


@pytest.fixture
def setup(tmp_path, database_url):
    services = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    with services.engine.begin() as conn:
        v = dags.sync_dag(conn, SERIALIZED, source_code="", relative_fileloc="br.py")
        run = runs.create_dag_run(conn, SERIALIZED, dag_version_id=v.version_id, run_type="manual",
                                  run_after=utcnow(), logical_date=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc))
        rows = {r.task_id: r for r in tis.tis_of_run(conn, "br", run["run_id"])}
        tis.set_scheduled(conn, [rows["branch"].id, rows["done"].id], utcnow())
        tis.finish_try(conn, rows["done"].id, "success", only_if=("scheduled",))
    client = TestClient(Starlette(routes=[Mount("/execution", routes=execution_routes(services))]))
    token = tokens.issue(services.settings.secret("jwt-execution"), rows["branch"].id)
    client.headers["Authorization"] = f"Bearer {token}"
    yield client, services, rows, run["run_id"]
    services.engine.dispose()


def state_of(services, ti_id):
    with services.engine.connect() as conn:
        return tis.get_ti(conn, ti_id).state


def test_skip_downstream_skips_waiting_tasks_but_never_a_finished_one(setup):
    client, services, rows, _ = setup
    resp = client.patch(f"/execution/task-instances/{rows['branch'].id}/skip-downstream",
                        json={"tasks": ["a", ["b", -1], "done"]})
    assert resp.status_code == 204
    assert state_of(services, rows["a"].id) == "skipped" and state_of(services, rows["b"].id) == "skipped"
    assert state_of(services, rows["c"].id) is None
    assert state_of(services, rows["done"].id) == "success"


def test_skip_downstream_bad_bodies_name_the_field(setup):
    client, _, rows, _ = setup
    missing = client.patch(f"/execution/task-instances/{rows['branch'].id}/skip-downstream", json={})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "tasks"]
    bad = client.patch(f"/execution/task-instances/{rows['branch'].id}/skip-downstream", json={"tasks": [3]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "tasks", 0]
    other = client.patch(f"/execution/task-instances/{rows['a'].id}/skip-downstream", json={"tasks": []})
    assert other.status_code == 403  # the token belongs to "branch"


def test_rendered_map_index_is_stored(setup):
    client, services, rows, _ = setup
    ti_id = rows["branch"].id
    assert client.patch(f"/execution/task-instances/{ti_id}/rendered-map-index", json="file-3.csv").status_code == 204
    with services.engine.connect() as conn:
        assert tis.get_ti(conn, ti_id).rendered_map_index == "file-3.csv"
    assert client.patch(f"/execution/task-instances/{ti_id}/rendered-map-index", json="").status_code == 422


def test_xcom_sequence_slice_and_item_and_mapped_length(setup):
    client, services, _, run_id = setup
    base = f"/execution/xcoms/br/{run_id}/a/return_value"
    for i, value in enumerate(["x", "y", "z"]):
        assert client.post(base, params={"map_index": i}, json=value).status_code == 201
    assert client.get(f"{base}/slice").json() == ["x", "y", "z"]
    assert client.get(f"{base}/slice", params={"start": 1}).json() == ["y", "z"]
    assert client.get(f"{base}/slice", params={"step": -1}).json() == ["z", "y", "x"]
    assert client.get(f"{base}/item/-1").json() == "z"
    assert client.get(f"{base}/item/7").status_code == 404
    pushed = client.post(f"/execution/xcoms/br/{run_id}/b/return_value", params={"mapped_length": 2}, json=[1, 2])
    assert pushed.status_code == 201
    with services.engine.connect() as conn:
        assert task_map.lengths_of_run(conn, "br", run_id) == {"b": 2}
        assert task_map.result_counts_of_run(conn, "br", run_id) == {"a": 3}
    bad = client.post(f"/execution/xcoms/br/{run_id}/b/return_value", params={"mapped_length": "x"}, json=[])
    assert bad.status_code == 422


def test_a_key_with_spaces_round_trips_percent_encoded(setup):
    client, _, _, run_id = setup
    path = f"/execution/xcoms/br/{run_id.replace('+', '%2B')}/a/value%20from%20pusher"
    assert client.post(path, json=1).status_code == 201
    assert client.get(path).json()["value"] == 1


def test_previous_successful_dagrun(setup):
    client, services, rows, _ = setup
    url = f"/execution/task-instances/{rows['branch'].id}/previous-successful-dagrun"
    assert client.get(url).json() == {"data_interval_start": None, "data_interval_end": None,
                                      "start_date": None, "end_date": None}
    earlier = dt.datetime(2026, 1, 4, tzinfo=dt.timezone.utc)
    with services.engine.begin() as conn:
        runs.create_dag_run(conn, SERIALIZED, dag_version_id=None, run_type="scheduled", run_after=earlier,
                            logical_date=earlier, data_interval=(earlier, earlier), state="success")
    assert client.get(url).json()["data_interval_start"].startswith("2026-01-04")


def test_xcom_include_prior_dates_reads_the_latest_earlier_run(setup):
    client, services, _, run_id = setup
    earlier = dt.datetime(2026, 1, 4, tzinfo=dt.timezone.utc)
    later = dt.datetime(2026, 1, 6, tzinfo=dt.timezone.utc)
    with services.engine.begin() as conn:
        for when in (earlier, later):
            runs.create_dag_run(conn, SERIALIZED, dag_version_id=None, run_type="scheduled", run_after=when,
                                logical_date=when, data_interval=(when, when), state="success")
    for when, value in ((earlier, "old"), (later, "future")):
        assert client.post(f"/execution/xcoms/br/scheduled__{when.isoformat().replace('+', '%2B')}/a/k",
                           json=value).status_code == 201
    path = f"/execution/xcoms/br/{run_id.replace('+', '%2B')}/a/k"
    assert client.get(path).status_code == 404
    assert client.get(path, params={"include_prior_dates": "true"}).json()["value"] == "old"


def test_previous_dag_run_and_task_instance(setup):
    client, services, rows, run_id = setup
    earlier = dt.datetime(2026, 1, 4, tzinfo=dt.timezone.utc)
    with services.engine.begin() as conn:
        old = runs.create_dag_run(conn, SERIALIZED, dag_version_id=None, run_type="scheduled", run_after=earlier,
                                  logical_date=earlier, data_interval=(earlier, earlier), state="failed")
        old_a = next(r for r in tis.tis_of_run(conn, "br", old["run_id"]) if r.task_id == "a")
        tis.set_scheduled(conn, [old_a.id], utcnow())
        tis.finish_try(conn, old_a.id, "success", only_if=("scheduled",))
    prev = client.get("/execution/dag-runs/previous", params={"dag_id": "br", "logical_date": "2026-01-05T00:00:00Z"})
    assert prev.json()["run_id"] == old["run_id"] and prev.json()["state"] == "failed"
    none = client.get("/execution/dag-runs/previous", params={"dag_id": "br", "logical_date": "2026-01-05T00:00:00Z",
                                                              "state": "success"})
    assert none.status_code == 200 and none.json() is None
    assert client.get("/execution/dag-runs/previous", params={"dag_id": "br"}).status_code == 422
    ti = client.get("/execution/task-instances/previous/br/a", params={"logical_date": "2026-01-05T00:00:00Z"})
    assert ti.json()["run_id"] == old["run_id"] and ti.json()["state"] == "success" and ti.json()["try_number"] == 1


def test_a_new_try_starts_without_the_previous_trys_xcoms_and_mapped_length(setup):
    client, services, rows, run_id = setup
    ti_id = rows["branch"].id
    for task_id in ("branch", "a"):  # "a" is another task's: it stays
        pushed = client.post(f"/execution/xcoms/br/{run_id}/{task_id}/return_value", params={"mapped_length": 2},
                             json=[1, 2])
        assert pushed.status_code == 201
    client.post(f"/execution/xcoms/br/{run_id}/branch/other", json="kept?")
    with services.engine.begin() as conn:
        assert tis.set_queued(conn, ti_id, None, "LocalExecutor", utcnow())
    resp = client.patch(f"/execution/task-instances/{ti_id}/run", json={
        "state": "running", "hostname": "h", "unixname": "u", "pid": 1, "start_date": utcnow().isoformat()})
    assert resp.status_code == 200, resp.text
    with services.engine.connect() as conn:
        assert task_map.lengths_of_run(conn, "br", run_id) == {"a": 2}
    assert client.get(f"/execution/xcoms/br/{run_id}/branch/other").status_code == 404
    assert client.get(f"/execution/xcoms/br/{run_id}/branch/return_value").status_code == 404
    assert client.get(f"/execution/xcoms/br/{run_id}/a/return_value").json()["value"] == [1, 2]
