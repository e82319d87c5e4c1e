"""TriggerDagRunOperator's and ExternalTaskSensor's calls to the Execution API."""

import datetime as dt

from leoflow.execution_api import cross_dag
from leoflow.store import runs, tis
from leoflow.store.types import utcnow

DAY = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


def test_trigger_creates_a_queued_manual_run_with_conf(world):
    world.add_dag("controller")
    world.add_dag("target", tasks=[{"task_id": "a", "upstream": [], "downstream": []},
                                   {"task_id": "b", "upstream": [], "downstream": [], "retries": 2}])
    world.add_run("controller")
    ti_id, _ = world.start("controller")
    resp = world.call(ti_id, "post", "/execution/dag-runs/target/trig1",
                      json={"logical_date": DAY.isoformat(), "conf": {"message": "Hello World"},
                            "reset_dag_run": False})
    assert resp.status_code == 204, resp.text
    with world.engine.connect() as conn:
        run = runs.get_run(conn, "target", "trig1")
        assert run.state == "queued" and run.run_type == "manual" and run.triggered_by == "operator"
        assert run.conf == {"message": "Hello World"} and run.logical_date == DAY
        assert len(tis.tis_of_run(conn, "target", "trig1")) == 2
    state = world.call(ti_id, "get", "/execution/dag-runs/target/trig1/state")
    assert state.json() == {"state": "queued"}
    again = world.call(ti_id, "post", "/execution/dag-runs/target/trig1", json={"conf": {}})
    assert again.status_code == 409 and again.json()["detail"]["reason"] == "already_exists"
    # reset_dag_run: the operator clears the existing run
    with world.engine.begin() as conn:
        t = tis.get_ti_by_key(conn, "target", "trig1", "b")
        tis.set_scheduled(conn, [t.id], utcnow())
        tis.set_queued(conn, t.id, None, "x", utcnow())
        tis.finish_try(conn, t.id, "failed")
        runs.set_run_state(conn, "target", "trig1", "failed")
    assert world.call(ti_id, "post", "/execution/dag-runs/target/trig1/clear").status_code == 204
    with world.engine.connect() as conn:
        assert runs.get_run(conn, "target", "trig1").state == "queued"
        cleared = tis.get_ti_by_key(conn, "target", "trig1", "b")
        assert cleared.state is None and cleared.try_number == 1 and cleared.max_tries == 3


def test_trigger_errors(world):
    world.add_dag("controller")
    world.add_run("controller")
    ti_id, _ = world.start("controller")
    missing = world.call(ti_id, "post", "/execution/dag-runs/nope/r", json={})
    assert missing.status_code == 404
    world.add_dag("target")
    bad = world.call(ti_id, "post", "/execution/dag-runs/target/r", json={"conf": [1]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "conf"]
    extra = world.call(ti_id, "post", "/execution/dag-runs/target/r", json={"confx": {}})
    assert extra.status_code == 422 and extra.json()["detail"][0]["loc"] == ["body", "confx"]
    when = world.call(ti_id, "post", "/execution/dag-runs/target/r", json={"logical_date": "monday"})
    assert when.status_code == 422 and when.json()["detail"][0]["loc"] == ["body", "logical_date"]


def test_dag_finder_hook_lets_a_one_shot_command_find_the_target(world, monkeypatch):
    world.add_dag("controller")
    world.add_run("controller")
    ti_id, _ = world.start("controller")
    asked = []

    def finder(dag_id):
        asked.append(dag_id)
        world.add_dag(dag_id)
        return True

    monkeypatch.setattr(cross_dag, "dag_finder", finder)
    assert world.call(ti_id, "post", "/execution/dag-runs/late/r", json={}).status_code == 204
    assert asked == ["late"]


def test_counts_and_states_for_external_task_sensors(world):
    world.add_dag("sensor")
    world.add_run("sensor")
    ti_id, _ = world.start("sensor")
    world.add_dag("other", tasks=[{"task_id": "a", "upstream": [], "downstream": [], "task_group_id": None},
                                  {"task_id": "g.b", "upstream": [], "downstream": [], "task_group_id": "g"}],
                  task_groups={"g": {"parent_group_id": None, "children": ["g.b"]}})
    world.add_run("other", "o1", logical_date=DAY)
    world.add_run("other", "o2", logical_date=DAY + dt.timedelta(days=1))
    with world.engine.begin() as conn:
        a = tis.get_ti_by_key(conn, "other", "o1", "a")
        tis.set_scheduled(conn, [a.id], utcnow())
        tis.set_queued(conn, a.id, None, "x", utcnow())
        tis.finish_try(conn, a.id, "success")
        runs.set_run_state(conn, "other", "o1", "success")

    def get(path, **params):
        resp = world.call(ti_id, "get", f"/execution/{path}", params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    assert get("dag-runs/count", dag_id="other") == 2
    assert get("dag-runs/count", dag_id="other", logical_dates=[DAY.isoformat()], states=["success"]) == 1
    assert get("dag-runs/count", dag_id="other", run_ids=["o2"], states=["success", "failed"]) == 0
    assert get("task-instances/count", dag_id="other", task_ids=["a"], states=["success"]) == 1
    assert get("task-instances/count", dag_id="other", logical_dates=[DAY.isoformat()]) == 2
    assert get("task-instances/count", dag_id="other", task_group_id="g", states=["null"]) == 2
    states = get("task-instances/states", dag_id="other", run_ids=["o1"])
    assert states == {"task_states": {"o1": {"a": "success", "g.b": None}}}
    missing = world.call(ti_id, "get", "/execution/task-instances/count", params={"dag_id": "other",
                                                                               "task_group_id": "zz"})
    assert missing.status_code == 404
    no_dag = world.call(ti_id, "get", "/execution/dag-runs/count")
    assert no_dag.status_code == 422 and no_dag.json()["detail"][0]["loc"] == ["query", "dag_id"]
