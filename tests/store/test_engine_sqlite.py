"""Lite's SQLite engine: writers take the lock up front, readers never wait for them (WAL)."""

import threading
import time

from sqlalchemy import text

from leoflow.store.engine import make_engine


def make(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    return engine


def test_a_reader_does_not_wait_for_an_open_write_transaction(tmp_path):
    engine = make(tmp_path)
    holding, release = threading.Event(), threading.Event()

    def writer():
        with engine.begin() as conn:
            conn.execute(text("UPDATE t SET n = 2"))
            holding.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert holding.wait(5)
    started = time.monotonic()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar() == 1  # the last committed value
    waited = time.monotonic() - started
    release.set()
    t.join(10)
    assert waited < 1.0, f"a read waited {waited:.1f}s for the writer"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar() == 2


def test_concurrent_writers_all_commit(tmp_path):
    engine = make(tmp_path)
    errors = []

    def bump():
        try:
            for _ in range(20):
                with engine.begin() as conn:
                    n = conn.execute(text("SELECT n FROM t")).scalar()
                    conn.execute(text("UPDATE t SET n = :n"), {"n": n + 1})
        except Exception as exc:  # "database is locked" would land here
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar() == 1 + 6 * 20  # no lost update


def test_writers_take_turns_without_long_stalls(tmp_path):
    """SQLite's busy handler alone let some writers sleep ~0.5 s while others went round and round."""
    engine = make(tmp_path)
    waits = []

    def write():
        for _ in range(25):
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text("UPDATE t SET n = n + 1"))
                time.sleep(0.001)
            waits.append(time.perf_counter() - started)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(waits) == 200
    # Fair turns: even the longest wait is about a round of the other 7 writers, not a backoff sleep.
    assert max(waits) < 0.35, f"longest write waited {max(waits) * 1000:.0f} ms"
