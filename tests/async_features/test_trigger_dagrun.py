"""The runtime side of TriggerDagRunOperator against the real Execution API routes."""

import datetime as dt

import pytest

from leoflow.runner import trigger_dagrun
from leoflow.runner.client import ApiError
from leoflow.sdk.exceptions import DagRunTriggerException
from leoflow.store import runs, xcoms

DAY = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


class Client:
    """ExecutionClient's `request` over the test client, with the same errors."""

    def __init__(self, world, ti_id):
        self.world, self.ti_id = world, ti_id

    def request(self, method, path, body=None, params=None):
        resp = self.world.call(self.ti_id, method.lower(), f"/execution/{path}",
                               **({"json": body} if body is not None else {}), params=params)
        parsed = resp.json() if resp.content else None
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, parsed)
        return parsed


class TI:
    dag_id, run_id, task_id, map_index = "controller", "r1", "t", -1


def exc(**kw):
    args = dict(trigger_dag_id="target", dag_run_id="trig", conf={"message": "hi"}, logical_date=DAY,
                reset_dag_run=False, skip_when_already_exists=False, wait_for_completion=False,
                allowed_states=["success"], failed_states=["failed"], poke_interval=0, deferrable=False)
    args.update(kw)
    return DagRunTriggerException(**args)


@pytest.fixture
def client(world):
    world.add_dag("controller")
    world.add_dag("target")
    world.add_run("controller")
    ti_id, _ = world.start("controller")
    return Client(world, ti_id)


def test_triggers_the_run_and_pushes_its_id(world, client):
    assert trigger_dagrun.handle(exc(), client, TI()) == "success"
    with world.engine.connect() as conn:
        assert runs.get_run(conn, "target", "trig").conf == {"message": "hi"}
        assert xcoms.get(conn, "controller", "r1", "t", "trigger_run_id", -1).value == "trig"


def test_existing_run_fails_skips_or_is_cleared(world, client):
    assert trigger_dagrun.handle(exc(), client, TI()) == "success"
    assert trigger_dagrun.handle(exc(), client, TI()) == "failed"
    assert trigger_dagrun.handle(exc(skip_when_already_exists=True), client, TI()) == "skipped"
    with world.engine.begin() as conn:
        runs.set_run_state(conn, "target", "trig", "failed")
    assert trigger_dagrun.handle(exc(reset_dag_run=True), client, TI()) == "success"
    with world.engine.connect() as conn:
        assert runs.get_run(conn, "target", "trig").state == "queued"


def test_waits_for_an_allowed_or_failed_state(world, client):
    states = iter(["running", "success"])

    def sleep(_):  # the target run moves on while the task waits
        with world.engine.begin() as conn:
            runs.set_run_state(conn, "target", "trig", next(states))

    assert trigger_dagrun.handle(exc(wait_for_completion=True), client, TI(), sleep=sleep) == "success"
    failing = iter(["failed"])

    def sleep_fail(_):
        with world.engine.begin() as conn:
            runs.set_run_state(conn, "target", "trig2", next(failing))

    got = trigger_dagrun.handle(exc(dag_run_id="trig2", wait_for_completion=True), client, TI(), sleep=sleep_fail)
    assert got == "failed"


def test_unknown_target_fails(world, client):
    assert trigger_dagrun.handle(exc(trigger_dag_id="nope"), client, TI()) == "failed"
