"""`leoflow server` when things fail: a stop, the schema, Postgres and Redis going away, a partitioned leader.

Real processes, a Postgres and a Redis of the test's own where the test stops them, and a replica on
another "host" (a network namespace) whose link the test cuts.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.lite_process import free_port
from tests.server.cluster import Replica, leader, server_env, wait_for
from tests.server.conftest import migrate
from tests.server.test_replicas import assert_each_try_ran_once, trigger_runs, wait_finished

pytestmark = [pytest.mark.postgres, pytest.mark.server]


def _engine(url):
    from leoflow.store.engine import make_engine

    return make_engine(url)


@pytest.mark.timeout(300)
def test_sigterm_hands_scheduling_over_at_once_and_exits_within_30_s(make_cluster):
    replicas = make_cluster(2, WIDE20_SLEEP="0.2")
    engine = _engine(make_cluster.database_url)
    try:
        run_ids = trigger_runs(replicas, 3)
        old = wait_for(lambda: leader(engine, replicas), 30, "a leader")
        other = next(r for r in replicas if r is not old)
        asked = time.monotonic()
        old.signal(signal.SIGTERM)
        wait_for(lambda: leader(engine, replicas) is other, 10, "the other replica leads", interval=0.05)
        handed_over = time.monotonic() - asked
        assert handed_over < 2.5, f"handed over after {handed_over:.1f} s"  # not after the 4 s lease
        assert old.proc.wait(30) == 0
        assert time.monotonic() - asked < 30
        assert set(wait_finished(engine, run_ids, 180).values()) == {"success"}
        assert_each_try_ran_once(engine)
    finally:
        engine.dispose()


@pytest.mark.timeout(200)
def test_a_schema_behind_waits_for_migrate_and_one_ahead_is_refused(tmp_path, dags, database_url_of_own):
    env = server_env(database_url_of_own, LEOFLOW_SCHEMA_WAIT_TIMEOUT="60")
    replica = Replica("waiting", tmp_path, dags, env).start(wait=False)
    try:
        wait_for(lambda: "Waiting for `leoflow migrate`: the schema is empty" in replica.output(), 30,
                 "the waiting message")
        assert replica.proc.poll() is None
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{replica.base}/readyz", timeout=1)  # not serving until the schema is right
        migrate(env, tmp_path / "migrate-home")
        replica.wait_ready(60)
    finally:
        replica.stop()
    engine = _engine(database_url_of_own)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999z'"))
    engine.dispose()
    proc = subprocess.run([sys.executable, "-m", "leoflow", "server", "--home", str(tmp_path / "ahead"),
                           "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "the database schema is at revision 9999z, newer than this Leoflow's" in proc.stderr


def test_sqlite_and_missing_keys_are_refused_with_what_to_do(tmp_path):
    env = server_env(f"sqlite:///{tmp_path / 'x.db'}")
    del env["LEOFLOW_FERNET_KEY"], env["LEOFLOW_SECRET_KEY"]
    proc = subprocess.run([sys.executable, "-m", "leoflow", "server", "--home", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "must be a Postgres URL" in proc.stderr and "use `leoflow lite`" in proc.stderr
    assert "LEOFLOW_FERNET_KEY is not set" in proc.stderr and "LEOFLOW_SECRET_KEY is not set" in proc.stderr


@pytest.mark.timeout(300)
def test_postgres_away_for_30_s_mid_run(tmp_path, dags):
    from tests.services import own_postgres_server

    with own_postgres_server() as pg:
        # 30 s without the database: within the zombie threshold, so the tries it interrupts report late,
        # not as zombies (the runner asks again for up to 60 s).
        env = server_env(pg.url, WIDE20_SLEEP="0.3", LEOFLOW_ZOMBIE_THRESHOLD="60")
        migrate(env, tmp_path / "migrate-home")
        replicas = [Replica(f"replica-{n}", tmp_path, dags, env).start() for n in "ab"]
        engine = _engine(pg.url)
        try:
            run_ids = trigger_runs(replicas, 4)
            with engine.connect() as conn:
                wait_for(lambda: conn.execute(text("SELECT count(*) FROM task_instance WHERE state = 'success'"))
                         .scalar(), 60, "some tasks done")
            engine.dispose()
            pg.stop()
            stopped = time.monotonic()
            wait_for(lambda: httpx.get(f"{replicas[0].base}/readyz", timeout=5).status_code == 503, 15,
                     "not ready without the database")
            health = httpx.get(f"{replicas[0].base}/api/v2/monitor/health", timeout=5).json()
            assert health["metadatabase"]["status"] == "unhealthy"
            time.sleep(max(0.0, 30 - (time.monotonic() - stopped)))
            pg.start()
            for r in replicas:
                wait_for(lambda r=r: httpx.get(f"{r.base}/readyz", timeout=5).status_code == 200, 30, "ready again")
            states = wait_finished(engine, run_ids, 180)
            assert set(states.values()) == {"success"}, states
            assert_each_try_ran_once(engine)
        finally:
            for r in replicas:
                r.stop()
            engine.dispose()


@pytest.mark.timeout(300)
def test_redis_stopped_mid_run_scheduling_goes_on_by_polling(make_cluster):
    from tests.services import own_redis_server

    with own_redis_server() as redis_server:
        replicas = make_cluster(2, redis_url=redis_server.url + "/0", WIDE20_SLEEP="0.1")
        engine = _engine(make_cluster.database_url)
        try:
            run_ids = trigger_runs(replicas, 3)
            redis_server.stop()
            more = trigger_runs(replicas, 2)
            states = wait_finished(engine, run_ids + more, 180)
            assert set(states.values()) == {"success"}, states
            assert_each_try_ran_once(engine)
            said = sum(r.output(200000).count("bus unavailable") for r in replicas)
            assert 1 <= said <= 2 * len(replicas)  # once per process and bus direction, not per event
        finally:
            engine.dispose()


@pytest.mark.timeout(400)
def test_a_leader_cut_off_from_the_database_never_commits_after_the_takeover(tmp_path, dags, database_url_of_own):
    """The leader runs on another "host" (a network namespace) that reaches Postgres through one link."""
    from sqlalchemy.engine import make_url

    from tests.netns import Host, TcpProxy

    host = Host()
    pg = make_url(database_url_of_own)
    proxy = TcpProxy(host.gateway, pg.host or "127.0.0.1", pg.port or 5432)
    try:
        env = server_env(database_url_of_own, WIDE20_SLEEP="0.3")
        migrate(env, tmp_path / "migrate-home")
        inside_url = pg.set(host=host.gateway, port=proxy.listen_port).render_as_string(hide_password=False)
        cut_off = Replica("replica-a", tmp_path, dags, {**env, "LEOFLOW_DATABASE_URL": inside_url},
                          netns=host.name, host=host.address)
        cut_off.start()
        engine = _engine(database_url_of_own)
        others: list[Replica] = []
        try:
            wait_for(lambda: leader(engine, [cut_off]) is cut_off, 30, "the namespaced replica leads")
            others = [Replica(f"replica-{n}", tmp_path, dags, env).start() for n in "bc"]
            replicas = [cut_off, *others]
            run_ids = trigger_runs(others, 6)
            with engine.connect() as conn:
                wait_for(lambda: conn.execute(text("SELECT count(*) FROM task_instance WHERE state = 'running'"))
                         .scalar(), 60, "tasks running on the leader")
            host.cut()
            try:
                wait_for(lambda: leader(engine, replicas) in others, 30, "a replica on this side leads")
                time.sleep(12)  # past the idle-in-transaction timeout: Postgres ended the cut-off sessions
            finally:
                host.restore()
            states = wait_finished(engine, run_ids, 240)
            assert set(states.values()) == {"success"}, states
            assert_each_try_ran_once(engine)
            wait_for(lambda: "stands by: another scheduler leads" in cut_off.output(200000), 30,
                     "the cut-off replica stood by")
        finally:
            for r in [cut_off, *others]:
                r.stop()
            engine.dispose()
    finally:
        proxy.close()
        host.close()
