"""The bus carries wake-ups on fakeredis and on the machine's real Redis alike."""

import threading
import time

from leoflow.bus import SCHEDULER_QUEUE


def test_wait_returns_every_event_waiting(bus):
    bus.notify_scheduler(kind="ti_finished", dag_id="d", run_id="r1")
    bus.notify_scheduler(kind="ti_finished", dag_id="d", run_id="r2")
    events = bus.wait(SCHEDULER_QUEUE, 1.0)
    assert [e["run_id"] for e in events] == ["r1", "r2"]
    assert bus.wait(SCHEDULER_QUEUE, 0.05) == []


def test_a_blocked_waiter_wakes_at_once(bus):
    got = []
    waiter = threading.Thread(target=lambda: got.extend(bus.wait(SCHEDULER_QUEUE, 5.0)))
    waiter.start()
    time.sleep(0.1)
    sent = time.perf_counter()
    bus.notify_scheduler(kind="run_created", dag_id="d", run_id="r")
    waiter.join(5)
    assert got and got[0]["kind"] == "run_created"
    assert time.perf_counter() - sent < 1.0  # woken by the event, not by the 5 s timeout


def test_a_dead_redis_degrades_to_polling_without_raising():
    from leoflow.bus import connect

    dead = connect("redis://127.0.0.1:1/0")  # nothing listens on port 1
    dead.notify_scheduler(kind="x")
    started = time.perf_counter()
    assert dead.wait(SCHEDULER_QUEUE, 0.2) == []
    assert time.perf_counter() - started >= 0.15
    assert dead.healthy() is False


def test_redis_takes_every_waiting_event_in_order_with_blmpop_and_without():
    """Redis 7 hands a wake-up every waiting event in one BLMPOP; an older Redis (no BLMPOP) gets BLPOP and
    then the rest, with the same result."""
    from leoflow.bus import connect
    from tests.services import redis_url

    with redis_url() as url:
        for newer in (True, False):
            bus = connect(url)
            bus._blmpop = newer
            for n in range(3):
                bus.notify_scheduler(kind="ti_finished", dag_id="d", run_id=f"r{n}")
            assert [e["run_id"] for e in bus.wait(SCHEDULER_QUEUE, 1.0)] == ["r0", "r1", "r2"]
            assert bus.wait(SCHEDULER_QUEUE, 0.05) == []
            version = int(bus.redis.info("server")["redis_version"].split(".")[0])
            assert bus._blmpop is (newer and version >= 7)  # used where the server knows it
