"""What Airflow 3.2.1's task SDK expects of `/execution` beyond the basics: HEAD on XComs, slices over
earlier runs, keys with `/`, API-version negotiation, and the routes of the 2026-04-06 version."""

import datetime as dt

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from leoflow import config
from leoflow.execution_api import execution_routes, tokens
from leoflow.services import open_services
from leoflow.store import dags, runs, tis, xcoms
from leoflow.store.types import utcnow

DAY = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
SERIALIZED = {"dag_id": "m", "fileloc": "/dags/m.py", "tags": ["b", "a"], "tasks": [
    {"task_id": t, "upstream": [], "downstream": []} for t in ("mapped", "sum")]}


@pytest.fixture
def world(tmp_path, database_url):
    services = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    with services.engine.begin() as conn:
        v = dags.sync_dag(conn, SERIALIZED, source_code="", relative_fileloc="sub/m.py")
        made = {}
        for n, day in enumerate((DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1), DAY)):
            run = runs.create_dag_run(conn, SERIALIZED, dag_version_id=v.version_id, run_type="scheduled",
                                      run_after=day, logical_date=day, data_interval=(day, day))
            made[n] = run["run_id"]
        rows = {r.task_id: r for r in tis.tis_of_run(conn, "m", made[2])}
        tis.set_scheduled(conn, [rows["sum"].id], utcnow())
    client = TestClient(Starlette(routes=[Mount("/execution", routes=execution_routes(services))]))
    token = tokens.issue(services.settings.secret("jwt-execution"), rows["sum"].id)
    client.headers["Authorization"] = f"Bearer {token}"
    yield client, services, made, rows
    services.engine.dispose()


def push(services, run_id, task_id, key, value, map_index=-1):
    with services.engine.begin() as conn:
        assert xcoms.set(conn, "m", run_id, task_id, key, value, map_index)


def test_head_counts_every_map_index_in_content_range_and_zero_is_an_answer(world):
    client, services, made, _ = world
    path = f"/execution/xcoms/m/{made[2]}/mapped/return_value"
    empty = client.head(path)
    assert empty.status_code == 200 and empty.headers["content-range"] == "map_indexes 0"
    for i in range(3):
        push(services, made[2], "mapped", "return_value", i * 10, map_index=i)
    head = client.head(path)
    assert head.status_code == 200 and head.headers["content-range"] == "map_indexes 3"
    assert head.content == b""
    assert client.head(path, params={"map_index": 0}).status_code == 400
    # GET is its own route: a mapped upstream has no map_index -1 value
    assert client.get(path).status_code == 404
    assert client.get(path, params={"map_index": 2}).json() == {"key": "return_value", "value": 20}
    assert client.get(path, params={"offset": -1}).json()["value"] == 20
    assert client.get(f"{path}/slice").json() == [0, 10, 20]
    assert client.get(f"{path}/slice", params={"start": -2}).json() == [10, 20]
    assert client.get(f"{path}/item/-3").json() == 0
    assert client.get(f"{path}/item/3").status_code == 404
    assert client.request("OPTIONS", path).status_code == 405


def test_slice_and_get_include_prior_dates(world):
    client, services, made, _ = world
    push(services, made[0], "sum", "total", 1)
    push(services, made[1], "sum", "total", 2)
    path = f"/execution/xcoms/m/{made[2]}/sum/total"
    assert client.get(f"{path}/slice").json() == []
    assert client.get(f"{path}/slice", params={"include_prior_dates": "true"}).json() == [1, 2]
    assert client.get(path).status_code == 404
    assert client.get(path, params={"include_prior_dates": "true"}).json()["value"] == 2  # the newest run
    # the earliest run sees none of the later runs' values
    early = f"/execution/xcoms/m/{made[0]}/sum/total/slice"
    assert client.get(early, params={"include_prior_dates": "true"}).json() == [1]


def test_xcom_keys_may_contain_slashes(world):
    client, _, made, _ = world
    path = f"/execution/xcoms/m/{made[2]}/sum/a/b/c"
    assert client.post(path, json={"v": 1}).status_code == 201
    assert client.get(path).json() == {"key": "a/b/c", "value": {"v": 1}}
    assert client.head(path).headers["content-range"] == "map_indexes 1"
    assert client.get(f"{path}/slice").json() == [{"v": 1}]
    assert client.delete(path).status_code == 200
    assert client.get(path).status_code == 404


def test_variables_take_airflows_val_field_and_keys_with_slashes(world):
    client, _, _, _ = world
    assert client.put("/execution/variables/team/color", json={"val": "blue", "description": "d"}).status_code == 201
    assert client.get("/execution/variables/team/color").json() == {"key": "team/color", "value": "blue"}
    wrong = client.put("/execution/variables/color", json={"value": "blue"})
    assert wrong.status_code == 422
    assert {tuple(e["loc"]) for e in wrong.json()["detail"]} == {("body", "val"), ("body", "value")}
    assert client.put("/execution/variables/color", json={"val": 3}).json()["detail"][0]["loc"] == ["body", "val"]
    assert client.put("/execution/variables/empty", json={"val": None}).status_code == 201
    assert client.get("/execution/variables/empty").json() == {"key": "empty", "value": None}
    assert client.delete("/execution/variables/team/color").status_code == 204
    assert client.get("/execution/variables/team/color").status_code == 404


def test_api_version_negotiation(world):
    client, _, _, _ = world
    latest = client.get("/execution/dags/m")
    assert latest.status_code == 200 and latest.headers["airflow-api-version"] == "2026-04-06"
    later = client.get("/execution/dags/m", headers={"Airflow-API-Version": "2027-01-01"})
    assert later.status_code == 200 and later.headers["airflow-api-version"] == "2027-01-01"
    garbage = client.get("/execution/dags/m", headers={"Airflow-API-Version": "garbage"})
    assert garbage.status_code == 422 and garbage.json()["detail"][0]["loc"] == ["header", "Airflow-API-Version"]
    old = client.get("/execution/dags/m", headers={"Airflow-API-Version": "2025-08-10"})
    assert old.status_code == 400
    assert "2025-11-05" in old.json()["detail"]["message"] and "2026-04-06" in old.json()["detail"]["message"]
    # Airflow 3.1's task SDK: the 2026-04-06 routes do not exist for it
    v31 = {"Airflow-API-Version": "2025-11-05"}
    assert client.get("/execution/dags/m", headers=v31).status_code == 404
    assert client.get("/execution/health", headers={"Airflow-API-Version": "nope"}).status_code == 422


def test_the_previous_task_sdk_gets_its_own_shapes(world):
    client, services, made, rows = world
    v31 = {"Airflow-API-Version": "2025-11-05"}
    with services.engine.begin() as conn:
        tis.set_queued(conn, rows["sum"].id, None, "LocalExecutor", utcnow())
    started = client.patch(f"/execution/task-instances/{rows['sum'].id}/run", headers=v31, json={
        "state": "running", "hostname": "h", "unixname": "u", "pid": 1, "start_date": utcnow().isoformat()})
    assert started.status_code == 200, started.text
    context = started.json()
    assert context["upstream_map_indexes"] is None
    assert "partition_key" not in context["dag_run"] and "note" not in context["dag_run"]
    assert context["dag_run"]["start_date"] is not None
    previous = client.get("/execution/dag-runs/m/previous", headers=v31,
                          params={"logical_date": DAY.isoformat()})
    assert previous.status_code == 200 and previous.json()["run_id"] == made[1]
    assert "partition_key" not in previous.json()
    assert client.get(f"/execution/dag-runs/m/{made[1]}", headers=v31).status_code == 404
    assert client.get("/execution/dag-runs/previous", headers=v31,
                      params={"dag_id": "m", "logical_date": DAY.isoformat()}).status_code == 404
    # the current SDK: previous-run and run detail routes of 2026-04-06
    now = client.get("/execution/dag-runs/previous", params={"dag_id": "m", "logical_date": DAY.isoformat()})
    assert now.json()["run_id"] == made[1] and "partition_key" in now.json()
    assert client.get(f"/execution/dag-runs/m/{made[1]}").json()["run_id"] == made[1]
    assert client.post("/execution/dag-runs/m/new-run", headers=v31,
                       json={"partition_key": "p"}).status_code == 422


def test_deferral_kwargs_reach_the_previous_sdk_in_its_serialization():
    from leoflow.execution_api import versions

    context = {"dag_run": {"run_after": "x", "start_date": None, "partition_key": None, "note": None},
               "next_kwargs": {"__type": "dict", "__var": {"a": 1}, "event": {"k": [1, {"n": 2}]}}}
    old = versions.run_context_for("2025-11-05", context)
    assert old["next_kwargs"] == {"__type": "dict", "__var": {
        "a": 1, "event": {"__type": "dict", "__var": {"k": [1, {"__type": "dict", "__var": {"n": 2}}]}}}}
    assert old["dag_run"] == {"run_after": "x", "start_date": "x"}
    assert versions.run_context_for("2026-04-06", context) is context


def test_dag_breadcrumbs_and_hitl_routes(world):
    client, services, made, rows = world
    dag = client.get("/execution/dags/m").json()
    assert dag == {"dag_id": "m", "is_paused": False, "bundle_name": dag["bundle_name"], "bundle_version": None,
                   "relative_fileloc": "sub/m.py", "owners": dag["owners"], "tags": ["a", "b"],
                   "next_dagrun": dag["next_dagrun"]}
    assert client.get("/execution/dags/nope").status_code == 404
    with services.engine.begin() as conn:
        tis.set_scheduled(conn, [rows["mapped"].id], utcnow())
        tis.finish_try(conn, rows["mapped"].id, "success", only_if=("scheduled",))
    crumbs = client.get("/execution/task-instances/breadcrumbs", params={"dag_id": "m", "run_id": made[2]})
    assert crumbs.status_code == 200
    assert [(c["task_id"], c["map_index"], c["state"]) for c in crumbs.json()["breadcrumbs"]] == [
        ("mapped", -1, "success")]
    assert set(crumbs.json()["breadcrumbs"][0]) == {"task_id", "map_index", "state", "operator", "duration"}
    assert client.get("/execution/task-instances/breadcrumbs", params={"dag_id": "m"}).status_code == 422

    ti_id = rows["sum"].id
    hitl = f"/execution/hitlDetails/{ti_id}"
    assert client.get(hitl).status_code == 404
    asked = client.post(hitl, json={"ti_id": ti_id, "options": ["yes", "no"], "subject": "Ship it?",
                                    "assigned_users": [{"id": "1", "name": "ann"}]})
    assert asked.status_code == 201
    assert asked.json() == {"ti_id": ti_id, "options": ["yes", "no"], "subject": "Ship it?", "body": None,
                            "defaults": None, "multiple": False, "params": {},
                            "assigned_users": [{"id": "1", "name": "ann"}]}
    waiting = client.get(hitl).json()
    assert waiting["response_received"] is False and waiting["chosen_options"] == []
    assert client.post(hitl, json={"ti_id": ti_id, "options": [], "subject": "s"}).status_code == 422
    answered = client.patch(hitl, json={"ti_id": ti_id, "chosen_options": ["yes"], "params_input": {"n": 1}})
    assert answered.status_code == 200 and answered.json()["response_received"] is True
    assert answered.json()["chosen_options"] == ["yes"] and answered.json()["params_input"] == {"n": 1}
    assert client.patch(hitl, json={"ti_id": ti_id, "chosen_options": ["no"]}).status_code == 409
    # a new try asks again: the old answer is gone
    assert client.post(hitl, json={"ti_id": ti_id, "options": ["yes", "no"], "subject": "Ship it?"}).status_code == 201
    assert client.get(hitl).json()["response_received"] is False
    other = f"/execution/hitlDetails/{rows['mapped'].id}"
    assert client.get(other).status_code == 403  # another task instance's detail
