"""Every operation of Airflow 3.2.1's task-SDK client (`airflow.sdk.api.client.Client`, what Airflow's
supervisor calls) against Leoflow's `/execution`, over real HTTP: the models it parses, the errors it
turns into ErrorResponse, the status codes it raises on, its token refresh, the API versions."""

from __future__ import annotations

import datetime as dt
import json
import time

import jwt
import pytest

DAY = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


class Try:
    """One try as Airflow's supervisor holds it: one client, started with the workload's token."""

    def __init__(self, driver, leoflow, ti_id: str, token: str, version: str | None = None):
        self.driver, self.leoflow, self.id, self.token, self.version = driver, leoflow, ti_id, token, version

    def call(self, op: str, *args, **kwargs) -> dict:
        return self.driver.send(url=self.leoflow.url, token=self.token, version=self.version, op=op, args=list(args),
                                kwargs=kwargs)

    def ok(self, op: str, *args, **kwargs):
        answer = self.call(op, *args, **kwargs)
        assert "ok" in answer, answer
        return answer["ok"]

    def raw(self, method: str, path: str, **request) -> dict:
        return self.driver.send(url=self.leoflow.url, token=self.token, version=self.version, op="raw",
                                method=method, path=path, **request)

    def start(self, pid: int = 4242) -> dict:
        return self.ok("task_instances.start", self.id, pid, dt.datetime.now(dt.timezone.utc))


def model(name: str, **fields) -> dict:
    return {"__model__": f"airflow.sdk.execution_time.comms.{name}", "fields": fields}


def now():
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def etl(leoflow):
    leoflow.add_dag("etl", [{"task_id": "extract"}, {"task_id": "mapped"}, {"task_id": "load"},
                            {"task_id": "branch"}, {"task_id": "after"}], tags=["b", "a"])
    leoflow.add_run("etl", "r0", logical_date=DAY - dt.timedelta(days=1), state="success")
    leoflow.add_run("etl", "r1", logical_date=DAY)
    return leoflow


def start_try(driver, leoflow, task_id, run_id="r1", dag_id="etl", version=None) -> Try:
    ti_id, token = leoflow.queue(dag_id, run_id, task_id)
    t = Try(driver, leoflow, ti_id, token, version)
    t.context = t.start()
    return t


def test_start_returns_the_run_context_and_the_execution_token(driver, etl):
    ti_id, workload_token = etl.queue("etl", "r1", "extract")
    t = Try(driver, etl, ti_id, workload_token)
    answer = t.call("task_instances.start", ti_id, 4242, now())
    context = answer["ok"]
    assert context["__type__"] == "TIRunContext"
    assert context["dag_run"]["run_id"] == "r1" and context["dag_run"]["logical_date"].startswith("2026-01-05")
    assert context["max_tries"] == 0 and context["should_retry"] is False
    claims = jwt.decode(answer["token"], options={"verify_signature": False})
    assert claims["scope"] == "execution" and claims["sub"] == ti_id  # the client took the reissued token
    # another process starting the same try: Airflow's client reads Leoflow's 409 as Airflow's
    again = Try(driver, etl, ti_id, workload_token).call("task_instances.start", ti_id, 999, now())
    assert again["exception"] == "TaskAlreadyRunningError", again
    t.ok("task_instances.heartbeat", ti_id, 4242)
    elsewhere = t.call("task_instances.heartbeat", ti_id, 1)
    assert elsewhere["status"] == 409 and elsewhere["detail"]["reason"] == "running_elsewhere"
    t.ok("task_instances.succeed", ti_id, now(), [], [], None)
    assert etl.ti(ti_id).state == "success"
    gone = t.call("task_instances.heartbeat", ti_id, 4242)
    assert gone["status"] == 409 and gone["detail"]["reason"] == "not_running"
    late = t.call("task_instances.finish", ti_id, "failed", now(), None)
    assert late["status"] == 409


def test_variables_set_get_delete(driver, etl):
    t = start_try(driver, etl, "load")
    missing = t.ok("variables.get", "team/color")
    assert missing["__type__"] == "ErrorResponse" and missing["error"] == "VARIABLE_NOT_FOUND"
    assert t.ok("variables.set", "team/color", "blue", "set by a task")["ok"] is True
    got = t.ok("variables.get", "team/color")
    assert (got["__type__"], got["key"], got["value"]) == ("VariableResponse", "team/color", "blue")
    t.ok("variables.set", "nothing", None)
    assert t.ok("variables.get", "nothing")["value"] is None
    assert t.ok("variables.delete", "team/color")["ok"] is True
    assert t.ok("variables.get", "team/color")["error"] == "VARIABLE_NOT_FOUND"
    t.ok("variables.delete", "nothing")


def test_connections(driver, etl):
    from leoflow.store import connections

    with etl.engine.begin() as conn:
        connections.insert(conn, "pg", {"conn_type": "postgres", "host": "db", "login": "u",
                                  "password": "pw", "port": 5432, "schema": "s", "extra": '{"a": 1}'},
                           crypt=etl.services.crypt)
    t = start_try(driver, etl, "load")
    found = t.ok("connections.get", "pg")
    assert found["__type__"] == "ConnectionResponse"
    assert (found["conn_type"], found["host"], found["schema"], found["password"], found["port"]) == (
        "postgres", "db", "s", "pw", 5432)
    assert t.ok("connections.get", "nope")["error"] == "CONNECTION_NOT_FOUND"


def test_xcoms_head_get_set_delete_slice_item_and_mapped_upstreams(driver, etl):
    t = start_try(driver, etl, "mapped")
    assert t.ok("xcoms.head", "etl", "r1", "mapped", "return_value")["len"] == 0
    for i in range(3):
        t.ok("xcoms.set", "etl", "r1", "mapped", "return_value", i + 1, i, 3)
    assert t.ok("xcoms.head", "etl", "r1", "mapped", "return_value")["len"] == 3
    assert t.ok("xcoms.get", "etl", "r1", "mapped", "return_value", 1)["value"] == 2
    assert t.ok("xcoms.get", "etl", "r1", "mapped", "return_value")["value"] is None  # no unmapped value: None
    item = t.ok("xcoms.get_sequence_item", "etl", "r1", "mapped", "return_value", -1)
    assert (item["__type__"], item["root"]) == ("XComSequenceIndexResponse", 3)
    assert t.ok("xcoms.get_sequence_item", "etl", "r1", "mapped", "return_value", 7)["error"] == "XCOM_NOT_FOUND"
    assert t.ok("xcoms.get_sequence_slice", "etl", "r1", "mapped", "return_value", None, None, None)["root"] == [1, 2, 3]
    assert t.ok("xcoms.get_sequence_slice", "etl", "r1", "mapped", "return_value", 2, None, -1)["root"] == [3, 2, 1]
    t.ok("xcoms.set", "etl", "r1", "mapped", "a/b", {"n": 1})
    assert t.ok("xcoms.get", "etl", "r1", "mapped", "a/b")["value"] == {"n": 1}
    t.ok("xcoms.delete", "etl", "r1", "mapped", "a/b")
    assert t.ok("xcoms.get", "etl", "r1", "mapped", "a/b")["value"] is None
    too_long = t.call("xcoms.set", "etl", "r1", "mapped", "big", [0], None, 5000)
    assert too_long["status"] == 400 and too_long["detail"]["reason"] == "unmappable_return_value_length"


def test_xcoms_of_earlier_runs_with_include_prior_dates(driver, etl):
    from leoflow.store import xcoms

    with etl.engine.begin() as conn:
        xcoms.set(conn, "etl", "r0", "extract", "total", 41)
    t = start_try(driver, etl, "load")
    assert t.ok("xcoms.get", "etl", "r1", "extract", "total")["value"] is None
    assert t.ok("xcoms.get", "etl", "r1", "extract", "total", None, True)["value"] == 41
    assert t.ok("xcoms.get_sequence_slice", "etl", "r1", "extract", "total", None, None, None, True)["root"] == [41]
    assert t.ok("xcoms.get_sequence_slice", "etl", "r1", "extract", "total", None, None, None, False)["root"] == []


def test_final_states_reschedule_and_deferral(driver, etl):
    etl.add_dag("waits", [{"task_id": t} for t in ("fails", "retries", "sensor", "deferred")],
                default_args={"retries": 1})
    etl.add_run("waits", "w1", logical_date=DAY)
    failed = start_try(driver, etl, "fails", "w1", "waits")
    failed.ok("task_instances.finish", failed.id, "failed", now(), None)
    assert etl.ti(failed.id).state == "failed"

    retried = start_try(driver, etl, "retries", "w1", "waits")
    retried.ok("task_instances.retry", retried.id, now(), None)
    assert etl.ti(retried.id).state in ("up_for_retry", "failed")

    sensor = start_try(driver, etl, "sensor", "w1", "waits")
    first_poke = etl.ti(sensor.id).start_date
    sensor.ok("task_instances.reschedule", sensor.id, model("RescheduleTask", reschedule_date=now()
                                                            + dt.timedelta(seconds=5), end_date=now()))
    assert etl.ti(sensor.id).state == "up_for_reschedule"
    assert sensor.ok("task_instances.get_reschedule_start_date", sensor.id, 1)["start_date"].startswith(
        first_poke.isoformat()[:19])

    deferred = start_try(driver, etl, "deferred", "w1", "waits")
    deferred.ok("task_instances.defer", deferred.id, model(
        "DeferTask", classpath="airflow.providers.standard.triggers.temporal.DateTimeTrigger",
        trigger_kwargs={"moment": {"__classname__": "pendulum.datetime.DateTime", "__version__": 2,
                                   "__data__": {"timestamp": time.time() + 3600, "tz": "UTC"}}},
        next_method="execute_complete", next_kwargs={"x": 1}, trigger_timeout=dt.timedelta(minutes=5)))
    row = etl.ti(deferred.id)
    assert (row.state, row.next_method, row.next_kwargs) == ("deferred", "execute_complete", {"x": 1})
    with etl.engine.begin() as conn:  # the trigger fired: the same try resumes where it said
        from leoflow.store import triggers

        triggers.fire(conn, row.trigger_id, {"fired": True})
    resumed_id, token = etl.queue("waits", "w1", "deferred")
    resumed = Try(driver, etl, resumed_id, token).start()
    assert resumed["next_method"] == "execute_complete"
    assert resumed["next_kwargs"] == {"x": 1, "event": {"fired": True}}


def test_branching_rendered_fields_and_previous_runs(driver, etl):
    t = start_try(driver, etl, "branch")
    t.ok("task_instances.skip_downstream_tasks", t.id, model("SkipDownstreamTasks", tasks=["after", ["load", -1]]))
    with etl.engine.connect() as conn:
        from leoflow.store import tis

        assert tis.get_ti_by_key(conn, "etl", "r1", "after").state == "skipped"
    assert t.ok("task_instances.set_rtif", t.id, {"bash_command": "echo 1"})["ok"] is True
    assert t.ok("task_instances.set_rendered_map_index", t.id, "label")["ok"] is True
    previous = t.ok("task_instances.get_previous_successful_dagrun", t.id)
    assert previous["__type__"] == "PrevSuccessfulDagRunResponse" and previous["start_date"] is not None
    prior = t.ok("dag_runs.get_previous", "etl", DAY)
    assert prior["dag_run"]["run_id"] == "r0"
    assert t.ok("dag_runs.get_previous", "etl", DAY - dt.timedelta(days=9))["dag_run"] is None
    assert t.ok("task_instances.get_previous", "etl", "branch", DAY)["__type__"] == "PreviousTIResult"


def test_counts_states_and_breadcrumbs_for_other_dags(driver, etl):
    t = start_try(driver, etl, "load")
    assert t.ok("dag_runs.get_count", "etl")["count"] == 2
    assert t.ok("dag_runs.get_count", "etl", None, None, ["success"])["count"] == 1
    assert t.ok("dag_runs.get_state", "etl", "r0")["state"] == "success"
    missing = t.call("dag_runs.get_state", "etl", "nope")
    assert missing["status"] == 404
    assert t.ok("dag_runs.get_detail", "etl", "r1")["run_id"] == "r1"
    assert t.ok("task_instances.get_count", "etl", None, ["extract", "load"], None, None, ["r1"])["count"] == 2
    states = t.ok("task_instances.get_task_states", "etl", None, None, None, None, ["r1"])
    assert set(states["task_states"]["r1"]) == {"extract", "mapped", "load", "branch", "after"}
    crumbs = t.ok("task_instances.get_task_breakcrumbs", "etl", "r1")
    assert crumbs["__type__"] == "TaskBreadcrumbsResponse"
    assert all(c["state"] in ("success", "failed", "skipped", "upstream_failed", "removed") for c in crumbs["breadcrumbs"])
    dag = t.ok("dags.get", "etl")
    assert dag["__type__"] == "DagResponse" and dag["tags"] == ["a", "b"] and dag["relative_fileloc"] == "etl.py"
    assert t.call("dags.get", "nope")["status"] == 404


def test_trigger_and_clear_other_dags(driver, etl):
    etl.add_dag("target", [{"task_id": "t"}])
    t = start_try(driver, etl, "load")
    assert t.ok("dag_runs.trigger", "target", "from-task", {"n": 1}, DAY, False, "a note")["ok"] is True
    again = t.ok("dag_runs.trigger", "target", "from-task")
    assert again["__type__"] == "ErrorResponse" and again["error"] == "DAGRUN_ALREADY_EXISTS"
    assert t.ok("dag_runs.trigger", "target", "from-task", None, None, True)["ok"] is True  # reset: cleared
    assert t.ok("dag_runs.clear", "target", "from-task")["ok"] is True
    assert t.call("dag_runs.trigger", "nope", "x")["status"] == 404


def test_assets_and_asset_events(driver, etl):
    asset = {"type": "asset", "name": "orders", "uri": "s3://b/orders", "group": "asset", "extra": {}}
    etl.add_dag("producer", [{"task_id": "p", "outlets": [asset]}])
    etl.add_run("producer", "p1")
    t = start_try(driver, etl, "p", "p1", "producer")
    assert t.ok("task_instances.validate_inlets_and_outlets", t.id)["inactive_assets"] == []
    other = start_try(driver, etl, "load")
    assert other.call("task_instances.validate_inlets_and_outlets", t.id)["status"] == 403  # not its own
    found = t.ok("assets.get", "orders")
    assert (found["__type__"], found["uri"]) == ("AssetResponse", "s3://b/orders")
    assert t.ok("assets.get", None, "s3://b/orders")["name"] == "orders"
    assert t.ok("assets.get", "nope")["error"] == "ASSET_NOT_FOUND"
    t.ok("task_instances.succeed", t.id, now(), [{"name": "orders", "uri": "s3://b/orders", "type": "Asset"}],
         [{"dest_asset_key": {"name": "orders", "uri": "s3://b/orders"}, "extra": {"rows": 7}}], None)
    events = t.ok("asset_events.get", "orders")
    assert events["__type__"] == "AssetEventsResponse" and len(events["asset_events"]) == 1
    event = events["asset_events"][0]
    assert event["extra"] == {"rows": 7} and event["source_task_id"] == "p" and event["timestamp"]
    assert len(t.ok("asset_events.get", None, "s3://b/orders", None, None, None, False, 1)["asset_events"]) == 1
    assert t.ok("asset_events.get", None, None, "no-alias")["asset_events"] == []


def test_human_in_the_loop(driver, etl):
    t = start_try(driver, etl, "extract", "r0")
    asked = t.ok("hitl.add_response", ti_id=t.id, options=["yes", "no"], subject="Ship it?", params={},
                 assigned_users=[{"__model__": "airflow.sdk.api.datamodels._generated.HITLUser",
                                  "fields": {"id": "1", "name": "ann"}}])
    assert asked["__type__"] == "HITLDetailRequest" and asked["options"] == ["yes", "no"]
    assert asked["assigned_users"] == [{"id": "1", "name": "ann"}]
    waiting = t.ok("hitl.get_detail_response", t.id)
    assert waiting["response_received"] is False
    answered = t.ok("hitl.update_response", ti_id=t.id, chosen_options=["yes"], params_input={})
    assert answered["response_received"] is True and answered["chosen_options"] == ["yes"]
    assert t.call("hitl.update_response", ti_id=t.id, chosen_options=["no"], params_input={})["status"] == 409


def test_token_expiry_and_refresh(driver, etl, monkeypatch):
    from leoflow.execution_api import tokens

    monkeypatch.setattr(tokens, "LEEWAY", 0)  # the server runs in this process: tokens expire on the second

    t = start_try(driver, etl, "load")
    try_number = etl.ti(t.id).try_number
    expired = tokens.issue(etl.secret, t.id, lifetime=-10, try_number=try_number)
    refused = Try(driver, etl, t.id, expired).call("variables.get", "x")
    assert refused["status"] == 403 and "expired" in refused["message"].lower()
    anonymous = driver.send(url=etl.url, token="", op="variables.get", args=["x"], fresh=True)
    assert anonymous["status"] == 401  # the client sends no Authorization header without a token
    # A token with 2 s left is reissued on its next answer; the client takes it up and goes on when the
    # first one has expired.
    short = tokens.issue(etl.secret, t.id, lifetime=2, try_number=try_number)
    holder = Try(driver, etl, t.id, short)
    first = holder.call("variables.get", "x")
    assert first["ok"]["error"] == "VARIABLE_NOT_FOUND" and first["token"] != short and jwt.decode(first["token"], options={"verify_signature": False})["exp"] > time.time() + 500
    time.sleep(3)
    stale = driver.send(url=etl.url, token=short, op="variables.get", args=["y"], fresh=True)
    assert stale["status"] == 403  # a client that kept the first token
    later = holder.call("variables.get", "x")
    assert later.get("ok", {}).get("error") == "VARIABLE_NOT_FOUND", later


def test_a_finished_try_loses_its_token(driver, etl, monkeypatch):
    from leoflow.execution_api import endpoint

    t = start_try(driver, etl, "extract", "r0")
    t.ok("task_instances.succeed", t.id, now(), [], [], None)
    assert "ok" in t.call("variables.get", "x")  # Airflow's success callbacks still run: a grace
    monkeypatch.setattr(endpoint, "FINISHED_TRY_GRACE", 0.0)
    monkeypatch.setattr(endpoint, "LIVE_RECHECK", 0.0)
    assert t.call("variables.get", "x")["status"] == 403
    assert t.call("connections.get", "pg")["status"] == 403


def test_api_versions(driver, etl, previous_sdk_models):
    t = Try(driver, etl, *etl.queue("etl", "r1", "after"), version="garbage")
    refused = t.call("task_instances.start", t.id, 1, now())
    assert refused["status"] == 422 and refused["detail"][0]["loc"] == ["header", "Airflow-API-Version"]
    old = Try(driver, etl, *etl.queue("etl", "r1", "after"), version="2025-08-10")
    too_old = old.call("task_instances.start", old.id, 1, now())
    assert too_old["status"] == 400 and "2025-11-05" in too_old["detail"]["message"]
    # Airflow 3.1's task SDK (API 2025-11-05) reads what it gets with its own models
    v31 = Try(driver, etl, *etl.queue("etl", "r1", "after"), version="2025-11-05")
    started = v31.raw("PATCH", f"task-instances/{v31.id}/run", json={
        "state": "running", "hostname": "h", "unixname": "u", "pid": 77, "start_date": now().isoformat()})
    assert "ok" in started, started
    assert started["ok"]["status"] == 200 and started["ok"]["headers"]["airflow-api-version"] == "2025-11-05"
    context = json.loads(started["ok"]["body"])
    checked = driver.send(op="previous_sdk", models=previous_sdk_models, model="TIRunContext", body=context)
    assert "ok" in checked, checked
    assert checked["ok"]["upstream_map_indexes"] is None and checked["ok"]["dag_run"]["start_date"]
    previous = v31.raw("GET", "dag-runs/etl/previous", params={"logical_date": DAY.isoformat()})
    assert "ok" in driver.send(op="previous_sdk", models=previous_sdk_models, model="DagRun",
                               body=json.loads(previous["ok"]["body"]))
    assert v31.call("dags.get", "etl")["status"] == 404  # the route came with 2026-04-06
    latest = start_try(driver, etl, "after", version="2026-04-06")
    assert latest.context["dag_run"]["run_id"] == "r1"


def test_the_queued_workload_is_airflows_execute_task(driver, etl):
    from leoflow.executors.workload import execute_task
    from leoflow.store import tis

    with etl.engine.connect() as conn:
        row = conn.execute(tis.TI.select().where(tis.TI.c.dag_id == "etl", tis.TI.c.task_id == "load")).first()
    document = json.loads(json.dumps(execute_task(row, "/dags/etl.py", dags_folder="/dags", token_secret=etl.secret)))
    checked = driver.send(op="workload", document=document)
    assert checked.get("type") == "ExecuteTask", checked
    assert checked["ok"] == document  # Airflow's model dumps it back unchanged: nothing missing, nothing extra
