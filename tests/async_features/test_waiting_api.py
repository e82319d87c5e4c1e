"""Deferral and reschedule through the Execution API, then back through the scheduler's side."""

import datetime as dt

from leoflow.scheduler import serde, waits
from leoflow.store import reschedules, runs, triggers, xcoms
from leoflow.store.types import utcnow

SENSOR = [{"task_id": "t", "upstream": [], "downstream": [],
           "sensor": {"mode": "reschedule", "poke_interval": 5, "timeout": 60, "soft_fail": False}}]


def test_deferral_stores_the_trigger_and_resumes_with_the_event(world):
    world.add_dag("d")
    world.add_run("d")
    ti_id, first = world.start("d")
    assert first["next_method"] is None and first["task_reschedule_count"] == 0
    world.call(ti_id, "post", f"/execution/xcoms/d/r1/t/kept", json="before the deferral")
    moment = dt.datetime(2026, 1, 5, 12, tzinfo=dt.timezone.utc)
    resp = world.finish(ti_id, "deferred", classpath="some.module.Trigger",
                        trigger_kwargs={"moment": serde.encode(moment)}, trigger_timeout="PT1M",
                        next_method="execute_complete", next_kwargs={"n": 1})
    assert resp.status_code == 204, resp.text
    ti = world.ti("d", "r1")
    assert ti.state == "deferred" and ti.next_method == "execute_complete" and ti.next_kwargs == {"n": 1}
    assert abs((ti.trigger_timeout - utcnow()).total_seconds() - 60) < 5
    with world.engine.begin() as conn:
        (waiting,) = triggers.waiting(conn)
        assert waiting.classpath == "some.module.Trigger"
        assert serde.decode(waiting.kwargs)["moment"] == moment
        assert triggers.fire(conn, waiting.id, serde.encode(moment)) == [("d", "r1")]
    ti = world.ti("d", "r1")
    assert ti.state == "scheduled" and ti.try_number == 1 and ti.trigger_id is None
    _, resumed = world.start("d")
    assert resumed["next_method"] == "execute_complete"
    assert resumed["next_kwargs"]["n"] == 1 and serde.decode(resumed["next_kwargs"]["event"]) == moment
    with world.engine.connect() as conn:  # resuming keeps what the first half pushed
        assert xcoms.get(conn, "d", "r1", "t", "kept", -1).value == "before the deferral"


def test_deferral_body_errors_name_the_field(world):
    world.add_dag("d")
    world.add_run("d")
    ti_id, _ = world.start("d")
    missing = world.finish(ti_id, "deferred", classpath="x.Y")
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "next_method"]
    bad = world.finish(ti_id, "deferred", classpath="x.Y", next_method="m", trigger_timeout="soon")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "trigger_timeout"]
    assert world.ti("d", "r1").state == "running"


def test_trigger_timeout_resumes_into_failure(world):
    world.add_dag("d")
    world.add_run("d")
    ti_id, _ = world.start("d")
    world.finish(ti_id, "deferred", classpath="x.Y", next_method="execute_complete", trigger_timeout=0)
    with world.engine.begin() as conn:
        assert triggers.time_out(conn, utcnow() + dt.timedelta(seconds=1)) == [("d", "r1")]
    ti = world.ti("d", "r1")
    assert ti.state == "scheduled" and ti.next_method == "__fail__"
    assert ti.next_kwargs == {"error": "Trigger timeout"}


def test_reschedule_keeps_the_try_and_counts_from_the_first_poke(world):
    world.add_dag("s", tasks=SENSOR)
    world.add_run("s")
    ti_id, _ = world.start("s")
    first_start = world.ti("s", "r1").start_date
    soon = utcnow() + dt.timedelta(seconds=30)
    resp = world.finish(ti_id, "up_for_reschedule", reschedule_date=soon.isoformat())
    assert resp.status_code == 204, resp.text
    assert world.ti("s", "r1").state == "up_for_reschedule"
    with world.engine.begin() as conn:
        run = runs.get_run(conn, "s", "r1")
        hold = waits.before_decide(conn, {"tasks": SENSOR}, run, utcnow())
    assert abs((hold.next_check - soon).total_seconds()) < 1  # not yet: wake up then
    assert world.ti("s", "r1").state == "up_for_reschedule"
    with world.engine.begin() as conn:
        waits.before_decide(conn, {"tasks": SENSOR}, run, soon + dt.timedelta(seconds=1))
    ti = world.ti("s", "r1")
    assert ti.state == "scheduled" and ti.try_number == 1
    _, context = world.start("s")
    assert context["task_reschedule_count"] == 1
    got = world.call(ti_id, "get", f"/execution/task-reschedules/{ti_id}/start_date")
    assert got.status_code == 200
    assert dt.datetime.fromisoformat(got.json().replace("Z", "+00:00")) == first_start
    with world.engine.begin() as conn:
        reschedules.clear(conn, ti_id)  # what a retry does
        assert reschedules.first_start_date(conn, ti_id) is None


def test_reschedule_start_date_is_null_before_any_reschedule(world):
    world.add_dag("s", tasks=SENSOR)
    world.add_run("s")
    ti_id, _ = world.start("s")
    got = world.call(ti_id, "get", f"/execution/task-reschedules/{ti_id}/start_date")
    assert got.status_code == 200 and got.json() is None


def test_dagrun_timeout_fails_the_run_and_skips_what_is_unfinished(world):
    world.add_dag("slow", tasks=[{"task_id": "t", "upstream": [], "downstream": ["u"]},
                                 {"task_id": "u", "upstream": ["t"], "downstream": []}], dagrun_timeout=60)
    world.add_run("slow")
    world.start("slow")
    with world.engine.begin() as conn:
        run = runs.get_run(conn, "slow", "r1")
        serialized = {"dagrun_timeout": 60}
        assert not waits.before_decide(conn, serialized, run, run.start_date + dt.timedelta(seconds=59)).timed_out
        assert waits.before_decide(conn, serialized, run, run.start_date + dt.timedelta(seconds=61)).timed_out
    assert world.ti("slow", "r1", "t").state == "skipped"
    assert world.ti("slow", "r1", "u").state == "skipped"
