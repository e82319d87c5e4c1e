"""A big run is not re-evaluated in full on every event: events within its hold are decided together."""

import time

from leoflow.scheduler import loop
from leoflow.scheduler.loop import Scheduler
from leoflow.store import tis
from leoflow.store.types import utcnow

from .test_queue_window import RecordingExecutor, scheduled_run, serialized, services  # noqa: F401


def quiet_scheduler(services):
    scheduler = Scheduler(services, RecordingExecutor(slots=0), token_secret="s", create_scheduled_runs=False)
    scheduler._last_sweep = scheduler._last_full_sweep = float("inf")
    scheduler._last_zombie_check = scheduler._last_heartbeat = float("inf")
    return scheduler


def test_events_for_a_big_run_are_decided_together_after_its_hold(services, monkeypatch):  # noqa: F811
    monkeypatch.setattr(loop, "BIG_RUN_MAX_DELAY", 60.0)
    monkeypatch.setattr(loop, "BIG_RUN_DUTY", 1000.0)  # the hold is the cap: deterministic on a busy machine
    run_id = scheduled_run(services, serialized("big", loop.BIG_RUN_TIS))
    scheduler = quiet_scheduler(services)
    scheduler._dirty.add(("big", run_id))
    scheduler.tick()
    assert scheduler.stats["runs_evaluated"] == 1
    with services.engine.begin() as conn:  # every task ends: the run is done, but held for now
        conn.execute(tis.TI.update().where(tis.TI.c.dag_id == "big").values(state="success", end_date=utcnow()))
    for _ in range(3):
        scheduler._dirty.add(("big", run_id))
        scheduler.tick()
    assert scheduler.stats["runs_evaluated"] == 1 and ("big", run_id) in scheduler._held
    key = ("big", run_id)
    scheduler._big_cost[key] = (time.monotonic() - 61, scheduler._big_cost[key][1])  # as if a minute passed
    scheduler._held[key] = 0.0
    scheduler.tick()  # the hold is over: one evaluation sees every change
    assert scheduler.stats["runs_evaluated"] == 2 and not scheduler._held
    with services.engine.connect() as conn:
        from leoflow.store import runs

        assert runs.get_run(conn, "big", run_id).state == "success"


def test_a_small_run_is_evaluated_on_every_event(services):  # noqa: F811
    run_id = scheduled_run(services, serialized("small", 3))
    scheduler = quiet_scheduler(services)
    for n in range(1, 4):
        scheduler._dirty.add(("small", run_id))
        scheduler.tick()
        assert scheduler.stats["runs_evaluated"] == n
    assert not scheduler._held
