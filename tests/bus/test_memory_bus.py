"""Lite's in-process bus keeps the Redis bus's contract, and fakeredis stays usable behind the same class."""

import threading
import time

import fakeredis
import pytest

from leoflow.bus import SCHEDULER_QUEUE, Bus, MemoryBus, connect


@pytest.fixture(params=["memory", "fakeredis"])
def local_bus(request):
    if request.param == "memory":
        return MemoryBus()
    return Bus(fakeredis.FakeRedis(server=fakeredis.FakeServer()), kind="fakeredis")


def test_lite_gets_the_memory_bus():
    bus = connect(None)
    assert isinstance(bus, MemoryBus) and bus.kind == "memory" and bus.healthy()


def test_events_come_back_in_order_as_fresh_copies(local_bus):
    event = {"kind": "ti_finished", "dag_id": "d", "run_id": "r1", "extra": {"n": 1}}
    local_bus.notify_scheduler(**event)
    event["extra"]["n"] = 2  # a sender changing its dict afterwards changes nothing already sent
    local_bus.notify_scheduler(kind="run_created", dag_id="d", run_id="r2")
    got = local_bus.wait(SCHEDULER_QUEUE, 1.0)
    assert [(e["kind"], e["run_id"]) for e in got] == [("ti_finished", "r1"), ("run_created", "r2")]
    assert got[0]["extra"] == {"n": 1}
    assert local_bus.wait(SCHEDULER_QUEUE, 0.05) == []


def test_a_waiter_wakes_at_once_and_queues_are_separate(local_bus):
    got = []
    waiter = threading.Thread(target=lambda: got.extend(local_bus.wait(SCHEDULER_QUEUE, 5.0)))
    waiter.start()
    time.sleep(0.05)
    local_bus.push("other", {"x": 1})
    sent = time.perf_counter()
    local_bus.notify_scheduler(kind="run_created")
    waiter.join(5)
    assert [e["kind"] for e in got] == ["run_created"] and time.perf_counter() - sent < 0.5
    assert local_bus.wait("other", 0.01) == [{"x": 1}]


def test_the_memory_bus_offers_redis_commands_for_other_uses():
    bus = MemoryBus()
    bus.redis.set("k", "v")
    assert bus.redis.get("k") == b"v"
