"""Three `leoflow server` replicas on one Postgres: every try runs exactly once, whatever happens to the leader.

Checked from the database (one start per try, no try twice, nothing left queued or running) and
through the API of replicas other than the one that ran the task.
"""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import text

from tests.server.cluster import leader, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.server]


def _engine(url):
    from leoflow.store.engine import make_engine

    return make_engine(url)


def trigger_runs(replicas, count: int) -> list[str]:
    """`count` runs of wide20, each through the next replica in turn."""
    wait_for(lambda: replicas[0].api("GET", "/api/v2/dags/wide20").status_code == 200, 60, "wide20 parsed")
    run_ids = []
    for i in range(count):
        r = replicas[i % len(replicas)].api("POST", "/api/v2/dags/wide20/dagRuns", json={"logical_date": None})
        assert r.status_code == 200, r.text
        run_ids.append(r.json()["dag_run_id"])
    return run_ids


def wait_finished(engine, run_ids, timeout: float) -> dict[str, str]:
    def states():
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT run_id, state FROM dag_run WHERE dag_id = 'wide20'")).all())
        done = {r: rows.get(r) for r in run_ids}
        return done if all(s in ("success", "failed") for s in done.values()) else None

    return wait_for(states, timeout, "every run finished", interval=0.5)


def assert_each_try_ran_once(engine) -> None:
    """One `running` audit record per (task instance, try): no try started twice, by any replica."""
    with engine.connect() as conn:
        twice = conn.execute(text(
            "SELECT dag_id, run_id, task_id, map_index, try_number, count(*) FROM log WHERE event = 'running' "
            "GROUP BY dag_id, run_id, task_id, map_index, try_number HAVING count(*) > 1")).all()
        active = conn.execute(text("SELECT count(*) FROM task_instance WHERE state IN "
                                   "('queued', 'running', 'scheduled', 'restarting')")).scalar()
    assert twice == [], f"tries started more than once: {twice}"
    assert active == 0


@pytest.mark.timeout(600)
def test_fifty_runs_through_three_replicas_run_every_task_exactly_once(make_cluster):
    replicas = make_cluster(3)
    engine = _engine(make_cluster.database_url)
    try:
        run_ids = trigger_runs(replicas, 50)
        states = wait_finished(engine, run_ids, 420)
        assert set(states.values()) == {"success"}
        with engine.connect() as conn:
            tries = conn.execute(text("SELECT try_number, count(*) FROM task_instance GROUP BY try_number")).all()
            history = conn.execute(text("SELECT count(*) FROM task_instance_history")).scalar()
            starts = conn.execute(text("SELECT count(*) FROM log WHERE event = 'running'")).scalar()
        assert tries == [(1, 1000)] and history == 0 and starts == 1000
        assert_each_try_ran_once(engine)

        # A token one replica made works on the others, and a log written where a task ran is read elsewhere.
        ran_on = leader(engine, replicas) or replicas[0]
        other = next(r for r in replicas if r is not ran_on)
        body = other.api("GET", f"/api/v2/dags/wide20/dagRuns/{run_ids[0]}/taskInstances/t00/logs/1",
                         token=ran_on.token()).json()
        events = [line.get("event", "") for line in body["content"]]
        assert any("Done. Returned value" in e or "Returned value" in e for e in events) or len(events) > 3, events
        health = other.api("GET", "/api/v2/monitor/health").json()
        hosts = {i["hostname"] for i in health["scheduler"]["instances"]}
        assert hosts == {"replica-a", "replica-b", "replica-c"}
        for part in ("scheduler", "dag_processor", "triggerer"):  # one of each leads
            assert sum(i["leader"] for i in health[part]["instances"]) == 1, (part, health[part])
        assert "duplicate key" not in "".join(r.output(10**6) for r in replicas)  # one processor parsed
    finally:
        engine.dispose()


@pytest.mark.timeout(400)
def test_kill_9_of_the_leader_another_takes_over_within_5_s_and_every_run_finishes(make_cluster):
    replicas = make_cluster(3, WIDE20_SLEEP="0.5")
    engine = _engine(make_cluster.database_url)
    try:
        run_ids = trigger_runs(replicas, 6)
        with engine.connect() as conn:
            wait_for(lambda: conn.execute(text("SELECT count(*) FROM task_instance WHERE state = 'running'"))
                     .scalar(), 60, "tasks running")
        old = leader(engine, replicas)
        assert old is not None
        old.kill9()
        killed_at = time.monotonic()
        new = wait_for(lambda: leader(engine, replicas) not in (None, old) and leader(engine, replicas), 15,
                       "a new leader")
        took_over = time.monotonic() - killed_at
        assert took_over <= 5.5, f"took over after {took_over:.1f} s"
        states = wait_finished(engine, run_ids, 240)
        assert set(states.values()) == {"success"}, states  # the killed tries were retried (retries=1)
        assert_each_try_ran_once(engine)
        assert new is not old
    finally:
        engine.dispose()


@pytest.mark.timeout(400)
def test_a_leader_frozen_for_20_s_never_commits_after_the_takeover(make_cluster):
    replicas = make_cluster(3, WIDE20_SLEEP="0.3")
    engine = _engine(make_cluster.database_url)
    try:
        run_ids = trigger_runs(replicas, 6)
        with engine.connect() as conn:
            wait_for(lambda: conn.execute(text("SELECT count(*) FROM task_instance WHERE state = 'success'"))
                     .scalar(), 60, "some tasks done")
        frozen = leader(engine, replicas)
        frozen.signal(signal.SIGSTOP)
        try:
            new = wait_for(lambda: leader(engine, replicas) not in (None, frozen) and leader(engine, replicas), 25,
                           "a new leader while the old one is frozen")
            time.sleep(max(0.0, 20 - 5))
        finally:
            frozen.signal(signal.SIGCONT)
        states = wait_finished(engine, run_ids, 240)
        assert set(states.values()) == {"success"}, states
        assert_each_try_ran_once(engine)
        # The thawed replica found the lease taken and stood by.
        wait_for(lambda: "stands by: another scheduler leads" in frozen.output(200000), 10, "the stale one stood by")
        assert leader(engine, replicas) in (new, None) or leader(engine, replicas) is not frozen
    finally:
        engine.dispose()
