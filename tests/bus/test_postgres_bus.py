"""Without Redis, server replicas wake each other through Postgres LISTEN/NOTIFY (real Postgres)."""

import threading
import time

import pytest

from leoflow.bus import SCHEDULER_QUEUE, connect
from tests.services import POSTGRES_URL, _unavailable


@pytest.fixture
def pg_url():
    if not POSTGRES_URL:
        _unavailable("Postgres", "LEOFLOW_TEST_POSTGRES_URL is not set")
    return POSTGRES_URL


def test_another_replica_is_woken_at_once(pg_url):
    queue = f"test:{time.monotonic_ns()}"  # a channel of this test's own
    listener, sender = connect(None, database_url=pg_url), connect(None, database_url=pg_url)
    assert listener.kind == "postgres" and listener.healthy()
    assert listener.wait(queue, 0.05) == []  # listening from now on
    got = []
    waiter = threading.Thread(target=lambda: got.extend(listener.wait(queue, 5.0)))
    waiter.start()
    time.sleep(0.1)
    sent = time.perf_counter()
    sender.push(queue, {"kind": "ti_finished", "dag_id": "d", "run_id": "r1"})
    sender.push(queue, {"kind": "ti_finished", "dag_id": "d", "run_id": "r2"})
    waiter.join(5)
    assert time.perf_counter() - sent < 1.0
    got += listener.wait(queue, 0.2)
    assert [e["run_id"] for e in got] == ["r1", "r2"]


def test_an_unreachable_postgres_degrades_to_polling_without_raising():
    bus = connect(None, database_url="postgresql://nobody@127.0.0.1:1/none")
    bus.notify_scheduler(kind="x")
    started = time.perf_counter()
    assert bus.wait(SCHEDULER_QUEUE, 0.2) == []
    assert time.perf_counter() - started >= 0.15 and bus.healthy() is False


def test_redis_going_away_and_coming_back(caplog):
    from tests.services import own_redis_server

    with own_redis_server() as server:
        bus = connect(server.url + "/0")
        bus.notify_scheduler(kind="a")
        assert [e["kind"] for e in bus.wait(SCHEDULER_QUEUE, 0.5)] == ["a"]
        server.stop()
        with caplog.at_level("WARNING", logger="leoflow.bus.bus"):
            for _ in range(3):
                bus.notify_scheduler(kind="lost")  # no error for the caller
                started = time.perf_counter()
                assert bus.wait(SCHEDULER_QUEUE, 0.1) == []
                assert time.perf_counter() - started < 1.0  # no connect timeout paid on every wait
        assert len([r for r in caplog.records if "bus unavailable" in r.getMessage()]) == 1  # said once
        server.start()
        bus._down_until = 0.0  # the retry pause over
        bus.notify_scheduler(kind="b")
        assert [e["kind"] for e in bus.wait(SCHEDULER_QUEUE, 0.5)] == ["b"]
