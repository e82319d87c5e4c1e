"""The in-process triggerer: a real asyncio loop running real trigger classes against the database."""

import datetime as dt
import time

from leoflow.scheduler import serde
from leoflow.scheduler.triggerer import Triggerer

from .sample_triggers import ForeverTrigger

MOMENT = dt.datetime(2026, 1, 5, 12, tzinfo=dt.timezone.utc)


def defer(world, dag_id, classpath, kwargs=None, timeout=None):
    world.add_dag(dag_id)
    world.add_run(dag_id)
    ti_id, _ = world.start(dag_id)
    body = {"classpath": classpath, "trigger_kwargs": serde.encode(kwargs or {}), "next_method": "execute_complete",
            "next_kwargs": {"keep": True}}
    if timeout is not None:
        body["trigger_timeout"] = timeout
    assert world.finish(ti_id, "deferred", **body).status_code == 204
    return ti_id


def wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_an_event_resumes_the_task_with_the_payload(world):
    defer(world, "d", "tests.async_features.sample_triggers.SleepTrigger", {"seconds": 0.05, "moment": MOMENT})
    triggerer = Triggerer(world.services)
    try:
        assert triggerer.sync() == set()
        assert triggerer.running_count() == 1
        assert wait_for(lambda: world.ti("d", "r1").state == "scheduled")
        ti = world.ti("d", "r1")
        assert ti.next_method == "execute_complete" and ti.try_number == 1
        assert ti.next_kwargs["keep"] is True
        assert serde.decode(ti.next_kwargs["event"]) == {"slept": 0.05, "moment": MOMENT}
        assert triggerer.fired == 1
        assert wait_for(lambda: triggerer.running_count() == 0)
        triggerer.sync()  # nothing left to wait for: the loop thread goes away
        assert triggerer._thread is None
    finally:
        triggerer.stop()


def test_a_crashing_or_silent_trigger_fails_the_task(world):
    defer(world, "broken", "tests.async_features.sample_triggers.BrokenTrigger")
    defer(world, "silent", "tests.async_features.sample_triggers.SilentTrigger")
    defer(world, "missing", "tests.async_features.sample_triggers.NoSuchTrigger")
    triggerer = Triggerer(world.services)
    try:
        triggerer.sync()
        for dag_id in ("broken", "silent", "missing"):
            assert wait_for(lambda: world.ti(dag_id, "r1").state == "scheduled"), dag_id
            ti = world.ti(dag_id, "r1")
            assert ti.next_method == "__fail__", dag_id
        assert "the trigger broke" in "".join(world.ti("broken", "r1").next_kwargs["traceback"])
        assert "without sending an event" in "".join(world.ti("silent", "r1").next_kwargs["traceback"])
    finally:
        triggerer.stop()


def test_timeouts_and_cancellation(world):
    defer(world, "slow", "tests.async_features.sample_triggers.ForeverTrigger", timeout=0.2)
    triggerer = Triggerer(world.services)
    try:
        triggerer.sync()
        assert triggerer.running_count() == 1
        time.sleep(0.3)
        assert triggerer.sync() == {("slow", "r1")}  # timed out: resumed into failure, watcher cancelled
        ti = world.ti("slow", "r1")
        assert ti.state == "scheduled" and ti.next_method == "__fail__"
        assert ti.next_kwargs == {"error": "Trigger timeout"}
        assert wait_for(lambda: ForeverTrigger.cancelled >= 1)
    finally:
        triggerer.stop()


def test_end_from_trigger_finishes_the_task_without_resuming(world):
    from leoflow.store import xcoms

    defer(world, "ended", "tests.async_features.sample_triggers.EndTrigger")
    triggerer = Triggerer(world.services)
    try:
        triggerer.sync()
        assert wait_for(lambda: world.ti("ended", "r1").state == "success")
        assert world.ti("ended", "r1").next_method is None
        with world.engine.connect() as conn:
            assert xcoms.get(conn, "ended", "r1", "t", "return_value", -1).value == {"done": True}
    finally:
        triggerer.stop()


def test_a_trigger_module_beside_the_dag_files_is_found(world, tmp_path):
    import textwrap

    (world.services.settings.dags_folder / "my_triggers_beside_dags.py").write_text(textwrap.dedent('''
        class Now:
            def __init__(self, value):
                self.value = value

            async def run(self):
                class Event:
                    payload = None
                Event.payload = self.value
                yield Event
    '''))
    defer(world, "beside", "my_triggers_beside_dags.Now", {"value": 5})
    triggerer = Triggerer(world.services)
    try:
        triggerer.sync()
        assert wait_for(lambda: world.ti("beside", "r1").state == "scheduled")
        assert world.ti("beside", "r1").next_kwargs["event"] == 5
    finally:
        triggerer.stop()
