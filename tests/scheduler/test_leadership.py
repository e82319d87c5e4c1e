"""Exactly one scheduler commits decisions on Postgres, whatever happens to the others (real Postgres)."""

import threading
import time

import pytest
from sqlalchemy import text

from leoflow.scheduler.leadership import LeaseLeader, NotLeader, SoleLeader, leadership_for
from tests.services import postgres_database_url


@pytest.fixture
def pg_url():
    with postgres_database_url() as url:  # advisory locks are per database: one of the test's own
        yield url


def _engines(url, n, **kw):
    from leoflow.store import migrate
    from leoflow.store.engine import make_engine

    engines = [make_engine(url, **kw) for _ in range(n)]
    migrate.upgrade(engines[0])
    return engines


def _decide(leader, value):
    """A scheduling decision: a row only the leader may write."""
    with leader.begin() as conn:
        conn.execute(text("INSERT INTO log (dttm, event, extra) VALUES (now(), 'decision', :v)"), {"v": value})


def _decisions(engine):
    with engine.connect() as conn:
        return [r.extra for r in conn.execute(text("SELECT extra FROM log WHERE event = 'decision' ORDER BY id"))]


def test_one_leader_and_a_standby_that_takes_over_when_the_lease_expires(pg_url):
    a_engine, b_engine = _engines(pg_url, 2)
    a = LeaseLeader(a_engine, 1, lease_seconds=0.5)
    b = LeaseLeader(b_engine, 2, lease_seconds=0.5)
    assert a.renew() and not b.renew()
    _decide(a, "a1")
    with pytest.raises(NotLeader):
        _decide(b, "b-while-standby")
    # a stops renewing (killed, frozen): after the lease, b leads, and a can no longer commit.
    time.sleep(0.7)
    assert b.renew()
    _decide(b, "b1")
    a.is_leader = True  # a wakes up still believing it leads
    with pytest.raises(NotLeader):
        _decide(a, "a-stale")
    assert not a.is_leader and not a.renew()  # and it now stands by
    assert _decisions(a_engine) == ["a1", "b1"]


def test_a_frozen_leader_holding_a_transaction_open_cannot_commit_after_the_takeover(pg_url):
    # Postgres ends a session idle in its transaction after 1 s here (10 s in production).
    a_engine, b_engine = _engines(pg_url, 2, idle_in_transaction_ms=1000)
    a = LeaseLeader(a_engine, 1, lease_seconds=0.5)
    b = LeaseLeader(b_engine, 2, lease_seconds=0.5)
    assert a.renew()
    frozen = threading.Event()
    outcome = {}

    def stale_decision():
        try:
            with a.begin() as conn:  # holds the advisory lock ...
                conn.execute(text("INSERT INTO log (dttm, event, extra) VALUES (now(), 'decision', 'a-frozen')"))
                frozen.set()
                time.sleep(2.5)  # ... while "frozen" (SIGSTOP) past the lease and the idle timeout
            outcome["a"] = "committed"
        except Exception as exc:  # noqa: BLE001 - Postgres ended the session: the commit is lost
            outcome["a"] = type(exc).__name__

    t = threading.Thread(target=stale_decision)
    t.start()
    frozen.wait(5)
    deadline = time.monotonic() + 5
    while not b.renew():  # refused while a's transaction holds the lock, granted once Postgres ends it
        assert time.monotonic() < deadline, "the standby never took over"
        time.sleep(0.1)
    _decide(b, "b1")
    t.join(10)
    assert outcome["a"] != "committed"
    assert _decisions(b_engine) == ["b1"]


def test_a_clean_stop_hands_over_at_once(pg_url):
    a_engine, b_engine = _engines(pg_url, 2)
    a = LeaseLeader(a_engine, 1, lease_seconds=30)
    b = LeaseLeader(b_engine, 2, lease_seconds=30)
    assert a.renew() and not b.renew()
    a.release()
    assert b.renew() and not a.renew()


def test_sqlite_has_a_sole_leader(tmp_path):
    from leoflow.store.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    leader = leadership_for(engine, 1)
    assert isinstance(leader, SoleLeader) and leader.renew()


def test_a_decision_soon_after_a_renewal_skips_the_lease_read_and_a_late_one_reads_it(pg_url):
    """Within half a lease of a committed renewal no takeover is possible: the decision takes the lock
    and no more. Past it (a replica frozen or slow), it reads the lease and finds the new holder."""
    from sqlalchemy import event

    a_engine, b_engine = _engines(pg_url, 2)
    reads = []
    event.listen(a_engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: reads.append(statement)
                 if statement.startswith("SELECT holder_job_id FROM scheduler_lease") else None)
    a = LeaseLeader(a_engine, 1, lease_seconds=2.0)
    b = LeaseLeader(b_engine, 2, lease_seconds=2.0)
    assert a.renew()
    reads.clear()
    _decide(a, "a1")
    assert reads == []  # within 1 s of the renewal
    time.sleep(2.3)  # a "frozen" past the lease: b takes over
    assert b.renew()
    with pytest.raises(NotLeader):
        _decide(a, "a-stale")
    assert len(reads) == 1 and not a.is_leader
    assert _decisions(a_engine) == ["a1"]
